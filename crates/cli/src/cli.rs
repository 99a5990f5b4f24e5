//! The command line, as clap types. Parsing only: each command's behaviour lives in its module.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Keep Microsoft 365 Apps device licenses equal to a YAML spec in git.
#[derive(Debug, Parser)]
#[command(
    name = "devlic",
    version,
    about,
    after_help = "Start with `devlic validate examples/contoso`, then \
`devlic plan examples/contoso --snapshot examples/tenants/contoso.snapshot.json`.\n\
Exit codes: 0 success, 1 error, 2 changes (plan --detailed-exitcode), 3 a guard refused or the plan is stale."
)]
pub struct Cli {
    /// The command to run; without one, devlic prints a short guide.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Log more to stderr: -v for progress and one line per Graph request (method, path,
    /// status, request-id, duration, retries), -vv also the libraries' details.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// When to colour output (NO_COLOR in the environment means never, unless `always`).
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

/// devlic's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec offline: syntax, fields, GUIDs, duplicate groups, one subscription per group.
    #[command(
        after_help = "Examples:\n  devlic validate devlic.yaml\n  devlic validate specs/ --format json"
    )]
    Validate(ValidateArgs),
    /// Show what apply would change: the diff between the spec and the tenant (or a snapshot).
    #[command(after_help = "Examples:\n  \
devlic plan examples/contoso --snapshot examples/tenants/contoso.snapshot.json\n  \
devlic plan specs/ --format markdown > plan.md\n  \
devlic plan specs/ --out plan.json --detailed-exitcode   # exit 2 when there are changes\n\n\
Exit codes: 0 no changes, 1 error, 2 changes and 3 a guard tripped (both with --detailed-exitcode).")]
    Plan(PlanArgs),
    /// Make the tenant match the spec (or a saved plan), through Microsoft Graph.
    #[command(after_help = "Examples:\n  \
devlic apply specs/                          # plan, show, ask for `yes`, apply\n  \
devlic apply --plan plan.json --auto-approve # a reviewed plan, in CI\n  \
devlic apply specs/ --dry-run                # print the exact Graph requests, write nothing\n\n\
Exit codes: 0 applied and verified, 1 error or failed verification, 3 a guard refused or the plan is stale.")]
    Apply(Box<ApplyArgs>),
    /// Print a plan saved with `plan --out FILE` again, in any format (nothing is read from
    /// Graph).
    #[command(after_help = "Examples:\n  \
devlic show plan.json\n  \
devlic show plan.json --format markdown > comment.md")]
    Show(ShowArgs),
    /// Save the tenant's licensing state to a file, for offline `plan --snapshot`.
    #[command(after_help = "Examples:\n  \
devlic snapshot --out tenant.snapshot.json\n  \
devlic plan specs/ --snapshot tenant.snapshot.json   # no credentials needed")]
    Snapshot(SnapshotArgs),
    /// Write a spec for the tenant as it is: every group holding a device subscription.
    #[command(after_help = "Example (adopt an existing tenant):\n  \
devlic export > devlic.yaml && devlic plan devlic.yaml   # shows no changes")]
    Export(ExportArgs),
    /// Start a spec folder: the tenant's groups as they are (or, offline, a commented
    /// template), a copy of the schema for editors, and .gitattributes/.editorconfig.
    #[command(after_help = "Examples:\n  \
devlic init                      # ./licenses, from the tenant (or a template without credentials)\n  \
devlic init specs --offline      # the template, without reading the tenant\n\n\
Existing files are never replaced without --force.")]
    Init(InitArgs),
    /// List the tenant's device subscriptions: units and the groups holding each.
    #[command(after_help = "Examples:\n  devlic skus\n  devlic skus --format json")]
    Skus(SkusArgs),
    /// Print the JSON Schema of spec files (for editors: yaml-language-server).
    #[command(after_help = "Example:\n  devlic schema > schemas/devlic.schema.json")]
    Schema,
    /// Print a shell completion script.
    #[command(
        after_help = "Example (bash):\n  devlic completions bash > ~/.local/share/bash-completion/completions/devlic"
    )]
    Completions(CompletionsArgs),
}

/// Arguments of `devlic validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A spec file, or a folder whose *.yaml and *.yml files form one spec.
    pub path: PathBuf,
    /// How to print errors: `text` for people, `json` (an array on stdout) for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Output format of `validate` and `skus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For tools.
    Json,
}

/// Output format of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Terraform-like text for terminals.
    Text,
    /// A pull-request comment.
    Markdown,
    /// The versioned plan JSON (schemas/plan.schema.json).
    Json,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--cloud`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CloudArg {
    /// graph.microsoft.com.
    Global,
    /// US Government L4 (GCC High).
    Usgov,
    /// US Government L5 (DoD).
    Usgovdod,
    /// Microsoft 365 operated by 21Vianet.
    China,
}

/// `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// Choose from the tenant: cloud-licensing when it has an allotment assignable to devices
    /// for every subscription the spec assigns, group-licensing otherwise.
    Auto,
    /// Graph v1.0 `groups/{id}/assignLicense`.
    GroupLicensing,
    /// Graph beta `admin/cloudLicensing`.
    CloudLicensing,
}

/// How to reach the tenant. Secrets have no flags: they come from the environment only
/// (`AZURE_CLIENT_SECRET`, `DEVLIC_ACCESS_TOKEN`, ...), so they never show in process listings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectArgs {
    /// The Microsoft cloud.
    #[arg(long, value_enum, default_value_t = CloudArg::Global)]
    pub cloud: CloudArg,
    /// Graph root overriding the cloud's, e.g. the simulator's http://127.0.0.1:PORT.
    #[arg(long, value_name = "URL", env = "DEVLIC_GRAPH_URL")]
    pub graph_url: Option<String>,
    /// Entra ID authority overriding the cloud's [default: env AZURE_AUTHORITY_HOST, else the
    /// cloud's].
    #[arg(long, value_name = "URL", env = "DEVLIC_AUTHORITY_URL")]
    pub authority_url: Option<String>,
    /// Tenant id or verified domain [default: env AZURE_TENANT_ID].
    #[arg(long, value_name = "ID")]
    pub tenant_id: Option<String>,
    /// Application (client) id [default: env AZURE_CLIENT_ID].
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Sign-in mode: client-secret, certificate, workload-identity, github, managed-identity,
    /// token, or as yourself device-code, azure-cli [default: detected from the environment; see
    /// docs/quickstart.md].
    #[arg(long = "auth", value_name = "MODE", env = "DEVLIC_AUTH")]
    pub auth: Option<String>,
    /// PEM file with the private key and certificate (implies --auth certificate).
    #[arg(long, value_name = "PATH")]
    pub certificate: Option<PathBuf>,
    /// Federated (workload identity) token file (implies --auth workload-identity).
    #[arg(long, value_name = "PATH")]
    pub federated_token_file: Option<PathBuf>,
    /// Graph requests in flight at most while reading.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub read_concurrency: usize,
    /// Seconds to set up one connection (TCP and TLS) to Graph or the sign-in service.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// Seconds for one request, connect to last byte; a read that times out is retried, a
    /// write's outcome is settled by re-reading.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub request_timeout: f64,
    /// Seconds the whole run may talk to Graph (retries and throttling waits included); then
    /// devlic stops and says so.
    #[arg(long, value_name = "SECS", default_value_t = 3600.0)]
    pub timeout: f64,
}

/// Arguments of `devlic show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `devlic plan --out FILE`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// Arguments of `devlic plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A spec file, or a folder whose *.yaml and *.yml files form one spec. Several paths plan
    /// several tenants concurrently (one section each); each spec must then name its `tenant`.
    #[arg(required = true, num_args = 1..)]
    pub paths: Vec<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also save the plan as JSON, for `devlic apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes or devices of the spec's groups are not licensed, and 3
    /// when a guard trips (0 = converged: nothing to write, every device licensed).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan offline against a file written by `devlic snapshot` (no credentials needed).
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Licensing API to plan for [default: the spec's settings.backend, which defaults to auto].
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Arguments of `devlic apply`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["path", "plan"])))]
pub struct ApplyArgs {
    /// A spec to plan and apply (or give --plan).
    pub path: Option<PathBuf>,
    /// Apply a plan saved with `devlic plan --out FILE`; refused (exit 3) if the tenant moved.
    /// Its guards are recomputed from the tenant, never taken from the file.
    #[arg(long, value_name = "FILE", conflicts_with = "path")]
    pub plan: Option<PathBuf>,
    /// With --plan: plan this spec again and refuse unless the saved plan asks for exactly the
    /// same writes; the spec's guard settings then apply.
    #[arg(long, value_name = "PATH", requires = "plan")]
    pub spec: Option<PathBuf>,
    /// Print the exact Graph request of each action and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Pass the revocation guards (settings.maxRevocations, settings.maxRevokePercent, unknown
    /// device counts): every action that takes Microsoft 365 Apps away from devices.
    #[arg(long)]
    pub allow_revoke: bool,
    /// Pass the shortfall guard: apply although a device subscription ends up without enough
    /// units, leaving some devices without the apps (or set settings.allowShortfall).
    #[arg(long)]
    pub allow_shortfall: bool,
    /// Groups written at once. A group waiting out its own 429 does not hold up the others;
    /// requests in flight stay within --read-concurrency and writes are paced to Graph's write
    /// budget, so this only needs to cover the waits.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// Do not wait for license processing nor check license errors after writing.
    #[arg(long)]
    pub no_verify: bool,
    /// How long to wait for license processing, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    pub verify_timeout: f64,
    /// Pause between two polls of the processing state, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub poll_interval: f64,
    /// Write the run report (JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Append a Markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    pub summary_markdown: Option<PathBuf>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Licensing API [default: the spec's settings.backend, or the saved plan's].
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Arguments of `devlic snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Where to write the snapshot (JSON).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// A spec whose settings.deviceSkus name more device SKUs to record.
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Arguments of `devlic export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the spec to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Arguments of `devlic init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to write the spec into (created if missing).
    #[arg(default_value = "licenses")]
    pub dir: PathBuf,
    /// Write the commented template without reading the tenant.
    #[arg(long)]
    pub offline: bool,
    /// Replace files init would write that already exist.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Arguments of `devlic skus`.
#[derive(Debug, Args)]
pub struct SkusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Arguments of `devlic completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print a completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
