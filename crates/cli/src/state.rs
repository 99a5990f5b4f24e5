//! What `plan`, `apply`, `snapshot`, `export` and `skus` share: loading the spec, reading the
//! live state from Graph or a snapshot, planning, and turning library errors into messages that
//! say what to do next.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anstyle::{AnsiColor, Style};
use devlic_applier::{AnyBackend, LicensingBackend, ReadError};
use devlic_graph::auth::{AuthError, TokenKind};
use devlic_graph::{GraphError, LiveQuery, SkuSelector};
use devlic_model::display::sanitize;
use devlic_model::{BackendChoice, GroupId, LiveState, Plan};
use devlic_planner::PlanErrors;
use devlic_spec::{GroupSelector, SourceFile, Spec};

use crate::error::CliError;
use crate::exit::Exit;
use crate::render_errors::{self, IndexedSource, plural, snippet};
use crate::spec_files::read_spec_path;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const HELP: Style = AnsiColor::Cyan.on_default().bold();
const BOLD: Style = Style::new().bold();

/// A loaded spec and the files it came from (for error snippets).
pub struct LoadedSpec {
    /// The validated spec.
    pub spec: Spec,
    /// Its source files.
    pub sources: Vec<SourceFile>,
}

/// Reads and validates a spec; errors are rendered exactly like `devlic validate` renders them.
pub fn load_spec(path: &Path) -> Result<LoadedSpec, CliError> {
    let sources = read_spec_path(path)
        .map_err(|e| CliError::rendered(render_errors::render_path_error_text(&e), Exit::Error))?;
    match devlic_spec::load(&sources) {
        Ok(spec) => Ok(LoadedSpec { spec, sources }),
        Err(errors) => Err(CliError::rendered(
            render_errors::render_text(&errors, &sources),
            Exit::Error,
        )),
    }
}

/// The Graph reads a spec needs: its extra device SKUs and the groups it names.
pub fn live_query(spec: &Spec) -> LiveQuery {
    let mut query = LiveQuery {
        device_skus: spec.settings.device_skus.iter().map(sku_selector).collect(),
        ..LiveQuery::default()
    };
    for a in &spec.assignments {
        match &a.group {
            GroupSelector::Id(id) => query.group_ids.push(*id),
            GroupSelector::Name(name) => query.group_names.push(name.clone()),
        }
    }
    query
}

/// The spec's SKU selector as the Graph client's.
pub fn sku_selector(s: &devlic_spec::SkuSelector) -> SkuSelector {
    match s {
        devlic_spec::SkuSelector::Id(id) => SkuSelector::Id(*id),
        devlic_spec::SkuSelector::PartNumber(p) => SkuSelector::PartNumber(p.clone()),
    }
}

/// Reads what planning `loaded` needs and plans it: the live state (recording `choice`, the
/// backend it was read for and why), then the member counts and license errors of the groups
/// the plan writes to or the tenant flags (only those: the counts cost requests). Returns the
/// live state the plan was made from, and the plan.
///
/// Member counts change no action and no error, only device numbers, warnings and guards (a
/// property test in the planner holds it to that). So the spec is planned once without them,
/// and again only when the details read changed the live state: a converged tenant is planned
/// once.
pub async fn read_and_plan(
    backend: &AnyBackend,
    loaded: &LoadedSpec,
    choice: BackendChoice,
) -> Result<(LiveState, Plan), CliError> {
    let query = live_query(&loaded.spec);
    // The listing of groups with license errors needs nothing from the live state, so it goes
    // out with the live read instead of after it: one dependent round trip less, and
    // `read_group_details_flagged` reuses it instead of listing again.
    let (live, with_errors) = futures::future::join(
        backend.read_live(&query),
        backend.groups_with_license_errors(),
    )
    .await;
    let mut live = live.map_err(|e| read_error(&e, backend))?;
    let with_errors = with_errors.map_err(|e| read_error(&e, backend))?;
    live.backend = Some(choice);
    let first = make_plan(loaded, &live)?;
    let mut touched = first.groups_written();
    // Groups the tenant reports with license errors are inspected too, so a run with nothing to
    // change still warns about devices left unlicensed (one extra request, not one per group).
    let flagged: BTreeSet<GroupId> = with_errors
        .into_iter()
        .filter(|id| live.groups.contains_key(id))
        .collect();
    touched.extend(flagged.iter().copied());
    touched.sort();
    touched.dedup();
    let plan = if touched.is_empty() {
        first
    } else {
        backend
            .read_group_details_flagged(&mut live, &touched, &flagged)
            .await
            .map_err(|e| read_error(&e, backend))?;
        make_plan(loaded, &live)?
    };
    tracing::info!(
        requests = backend.client().requests_made(),
        groups = live.groups.len(),
        "read the live state"
    );
    Ok((live, plan))
}

/// Plans, rendering resolution errors with `file:line:col`, the spec line and a fix.
pub fn make_plan(loaded: &LoadedSpec, live: &LiveState) -> Result<Plan, CliError> {
    devlic_planner::plan(&loaded.spec, live)
        .map_err(|e| CliError::rendered(render_plan_errors(&e, &loaded.sources), Exit::Error))
}

/// Every plan error, located in the spec when it has an origin.
pub fn render_plan_errors(errors: &PlanErrors, sources: &[SourceFile]) -> String {
    let mut out = String::new();
    // Lines indexed once per file: linear in the number of errors.
    let indexed: Vec<IndexedSource<'_>> = sources.iter().map(IndexedSource::new).collect();
    for e in errors {
        match e.origin() {
            Some(o) => {
                // The planner's message starts with the origin already; avoid saying it twice.
                let message = e.to_string();
                let prefix = format!("{o}: ");
                let message = message.strip_prefix(&prefix).unwrap_or(&message);
                // Messages quote the spec's group names and SKUs as written: anything a YAML
                // string can hold, escape sequences included.
                let _ = writeln!(
                    out,
                    "{BOLD}{}:{BOLD:#} {ERROR}error:{ERROR:#} {BOLD}{}{BOLD:#}",
                    sanitize(&o.to_string()),
                    sanitize(message)
                );
                if let Some(source) = indexed.iter().find(|s| s.path() == o.file) {
                    snippet(&mut out, source, o.line, o.column, 1);
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "{ERROR}error:{ERROR:#} {BOLD}{}{BOLD:#}",
                    sanitize(&e.to_string())
                );
            }
        }
        let _ = writeln!(out, "{HELP}help:{HELP:#} {}\n", sanitize(&e.help()));
    }
    let n = errors.len();
    let _ = writeln!(
        out,
        "{ERROR}error:{ERROR:#} the spec cannot be planned against this tenant: {n} {}",
        plural(n, "error", "errors")
    );
    out
}

/// A Graph failure as a message with the next step. `kind` is what the client's tokens carry
/// ([`devlic_graph::GraphClient::token_kind`]): a missing permission is an application
/// permission for an app and a delegated one for a person, granted in different places.
pub fn graph_error(e: &GraphError, doing: &str, kind: TokenKind) -> CliError {
    // Graph's 403 does not say which permission it wanted; devlic knows its routes.
    if let Some(missing) = e.missing_permission_for(kind) {
        return CliError::new(
            format!("{doing} failed: {} ({missing})", sanitize(&e.to_string())),
            missing.grant_help(),
        );
    }
    let help: String = match e {
        GraphError::Unreachable { loopback, .. } => unreachable_help(*loopback, "--graph-url"),
        GraphError::Auth(auth) if auth.is_unreachable() => unreachable_help(
            auth.unreachable_url()
                .and_then(|u| url::Url::parse(u).ok())
                .is_some_and(|u| devlic_graph::auth::is_loopback(&u)),
            "--authority-url",
        ),
        GraphError::Auth(AuthError::NoCredential { .. }) => {
            "choose the mode that fits where devlic runs: as yourself --auth device-code or \
             azure-cli; as an app --auth client-secret, certificate, workload-identity, github \
             or token (see docs/quickstart.md); or plan offline with --snapshot FILE"
                .to_owned()
        }
        GraphError::Auth(AuthError::AzureCli { .. }) => {
            "`az account show` tells which account and tenant the Azure CLI is signed in to; \
             docs/quickstart.md shows the other ways to sign in"
                .to_owned()
        }
        GraphError::Auth(AuthError::Entra(e))
            if e.error == "authorization_declined" || e.error == "expired_token" =>
        {
            "sign in again: devlic shows a new code each run".to_owned()
        }
        GraphError::Auth(_) => "check the credential settings (AZURE_TENANT_ID, AZURE_CLIENT_ID \
             and the secret, certificate or federated token); see SECURITY.md for the app \
             registration"
            .to_owned(),
        GraphError::Service {
            status: 401 | 403, ..
        } => "grant the app registration the Graph permissions listed in SECURITY.md \
             (plan: Group.Read.All, Organization.Read.All; apply also needs \
             LicenseAssignment.ReadWrite.All) and an admin's consent"
            .to_owned(),
        GraphError::Config(_) | GraphError::ForeignUrl { .. } => {
            "check --graph-url and --cloud; devlic only talks https (or http to loopback)"
                .to_owned()
        }
        _ => "retry later; if it persists, rerun with -v to see every request and quote the \
             request-id to Microsoft support"
            .to_owned(),
    };
    // Graph's messages are data: a line break in one shows as `\n`, not as a new line.
    CliError::new(
        format!("{doing} failed: {}", sanitize(&e.to_string())),
        help,
    )
}

/// What to do when nothing answers at a URL: on loopback it is almost always the simulator.
fn unreachable_help(loopback: bool, flag: &str) -> String {
    if loopback {
        format!(
            "is devlic-sim running? Start it (`devlic-sim serve --tenant \
             examples/tenants/contoso.json --listen 127.0.0.1:8080`) and give the address it \
             prints to {flag} (or set DEVLIC_GRAPH_URL and DEVLIC_AUTHORITY_URL); the ports \
             must match"
        )
    } else {
        format!(
            "check {flag} (or --cloud), the host name, DNS, a proxy (HTTPS_PROXY) and a TLS-inspecting \
             firewall; devlic does not retry this, nothing answered"
        )
    }
}

/// A failed read through `backend`, as a message with the next step.
pub fn read_error(e: &ReadError, backend: &AnyBackend) -> CliError {
    graph_error(&e.error, e.doing, backend.client().token_kind())
}
