//! `devlic init [DIR]`: a starter spec folder that works in the user's own repository.
//!
//! It writes four files and overwrites none of them without `--force`:
//! - `DIR/devlic.yaml`: online, the tenant as it is (the `export` spec: one entry per group
//!   holding a device subscription, `prune: false`, so the first plan is empty) with the
//!   tenant's device subscriptions listed in the header; offline (`--offline`, or no tenant to
//!   sign in to), a commented template that validates.
//! - `DIR/.devlic/devlic.schema.json`: the schema of this devlic version. The spec's first line
//!   points yaml-language-server at it by a path relative to the spec, which resolves wherever
//!   the folder lives (a path into devlic's repository or an unversioned URL would not). The
//!   folder is hidden and holds no `*.yaml`, so the spec loader never reads it.
//! - `DIR/.gitattributes` and `DIR/.editorconfig`: spec files are UTF-8 with LF line ends,
//!   whatever the platform's editor or shell would default to (Windows PowerShell 5.1's `>`
//!   writes UTF-16).
//!
//! Everything is computed before the first write, so a failed sign-in writes nothing.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use devlic_model::display::sanitize;
use devlic_model::{LiveState, known_skus};

use crate::cli::InitArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::export;

/// The spec file `init` writes in DIR.
const SPEC_FILE: &str = "devlic.yaml";
/// The schema copy, relative to DIR (and so to the spec file).
const SCHEMA_FILE: &str = ".devlic/devlic.schema.json";

/// The first line of every spec `init` writes.
const MODELINE: &str = "# yaml-language-server: $schema=.devlic/devlic.schema.json";

const GITATTRIBUTES: &str = "\
# Written by `devlic init`: spec files are text with LF line ends on every platform, so
# reviews see line diffs and Windows checkouts do not rewrite them.
*.yaml text eol=lf
*.yml text eol=lf
.devlic/*.json text eol=lf
";

const EDITORCONFIG: &str = "\
# Written by `devlic init`: editors that follow EditorConfig save spec files as devlic and git
# read them best (UTF-8, not the UTF-16 of Windows PowerShell 5.1's `>`; LF; spaces).
[*.{yaml,yml}]
charset = utf-8
end_of_line = lf
indent_style = space
indent_size = 2
insert_final_newline = true
trim_trailing_whitespace = true
";

/// The offline template: valid as written (`devlic validate` passes), with every field a first
/// spec needs shown in comments.
fn template() -> String {
    format!(
        "{MODELINE}\n\
#
# Which Entra ID groups of devices hold a Microsoft 365 Apps device subscription.
# Written by `devlic init` (devlic {version}) without reading a tenant: name the tenant, list
# the groups, then `devlic validate` and `devlic plan` this folder. `devlic skus` lists the
# tenant's device subscriptions and the groups holding them; every field is described in
# docs/spec-reference.md, and the schema in .devlic/ lets your editor check this file.
apiVersion: devlic/v1
kind: DeviceLicenses
# The tenant this spec is for, a GUID or a verified domain: plan and apply refuse any other.
# tenant: contoso.onmicrosoft.com
settings:
  # Groups not listed below are reported, never touched. Turn it on once this file is the
  # whole truth (docs/adopting.md).
  prune: false
  # A plan revoking more groups than this needs --allow-revoke.
  maxRevocations: 0
# One entry per group. Replace `[]` with entries such as:
#   - group: \"Shared PCs - Warehouse\"        # display name (unique) or {{ id: GUID }}
#     subscription: OFFICE_PROPLUS_DEVICE1   # Microsoft 365 Apps for enterprise (device)
#     description: Shared PCs in the warehouse.
#   - group: \"Library Kiosks\"
#     subscription: OFFICE_PROPLUS_DEVICE_EDUCATION   # Microsoft 365 Apps for Education (device)
#   - group: \"Retired Call Center\"
#     state: absent                          # take the device subscription away
assignments: []
",
        version = env!("CARGO_PKG_VERSION")
    )
}

/// The spec for a tenant read online: `export`'s spec with `init`'s schema line, and the
/// tenant's device subscriptions (held or not) listed so the reader knows what to assign.
fn tenant_spec(live: &LiveState) -> String {
    let mut y =
        format!("{MODELINE}\n#\n# Written by `devlic init`. Device subscriptions of the tenant:\n");
    let device = export::device_skus(live);
    let mut skus: Vec<_> = live
        .skus
        .iter()
        .filter(|s| device.contains(&s.sku_id))
        .collect();
    skus.sort_by(|a, b| a.sku_part_number.cmp(&b.sku_part_number));
    if skus.is_empty() {
        y.push_str("#   none: buy or trial one before assigning it (devlic skus shows them)\n");
    }
    for s in skus {
        let product = known_skus::by_id(s.sku_id)
            .or_else(|| known_skus::by_part_number(&s.sku_part_number))
            .map_or(String::new(), |k| format!(" ({})", k.product));
        let _ = writeln!(
            y,
            "#   {}{product}: {} units, {} in use",
            sanitize(&s.sku_part_number),
            s.prepaid_units.enabled,
            s.consumed_units
        );
    }
    // `export` points at a schema beside the spec; init's copy is in .devlic/.
    let body = export::spec_yaml(live);
    for line in body.lines().filter(|l| {
        !l.starts_with("# yaml-language-server:") && !l.starts_with("# (write the schema")
    }) {
        y.push_str(line);
        y.push('\n');
    }
    y
}

/// Whether the environment or the flags name a tenant to sign in to. Without one there is no
/// tenant to read, so `init` writes the template (and says so) instead of failing. Only the
/// presence of `DEVLIC_ACCESS_TOKEN` is looked at; its value is read by `devlic_graph::auth`.
fn has_credentials(args: &InitArgs) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    args.connect.tenant_id.is_some() || set("AZURE_TENANT_ID") || set("DEVLIC_ACCESS_TOKEN")
}

/// Runs `init`.
pub async fn run(args: &InitArgs, err: &mut dyn Write) -> Result<Exit, CliError> {
    let dir = &args.dir;
    let files: [(PathBuf, &str); 4] = [
        (dir.join(SPEC_FILE), "the spec"),
        (dir.join(SCHEMA_FILE), "its schema, for editors"),
        (dir.join(".gitattributes"), "LF line ends in git"),
        (dir.join(".editorconfig"), "UTF-8 in editors"),
    ];
    check_folder(dir, &files, args.force)?;

    let offline = args.offline || !has_credentials(args);
    let (spec, source) = if offline {
        (template(), "a template".to_owned())
    } else {
        let live = export::read_tenant(&args.connect).await?;
        let name = live.tenant.display_name.as_deref().unwrap_or("the tenant");
        (
            tenant_spec(&live),
            format!("the groups of {}", sanitize(name)),
        )
    };
    let schema = serde_json::to_string_pretty(&devlic_spec::json_schema())
        .map_err(|e| CliError::new(format!("cannot render the schema: {e}"), "report this bug"))?
        + "\n";

    std::fs::create_dir_all(dir.join(".devlic"))
        .map_err(|e| CliError::write_file(&dir.join(".devlic"), &e))?;
    let contents = [spec.as_str(), &schema, GITATTRIBUTES, EDITORCONFIG];
    for ((path, what), bytes) in files.iter().zip(contents) {
        crate::file_io::write_private(path, bytes.as_bytes())
            .map_err(|e| CliError::write_file(path, &e))?;
        writeln!(err, "wrote {} ({what})", path.display())?;
    }
    if offline && !args.offline {
        writeln!(
            err,
            "no tenant to read (AZURE_TENANT_ID, --tenant-id and DEVLIC_ACCESS_TOKEN are unset): \
             the spec is {source}; sign in and run `devlic init --force {}` for your tenant's groups",
            dir.display()
        )?;
    }
    let next = if offline {
        "fill it in, then"
    } else {
        "the first plan should show no changes:"
    };
    writeln!(
        err,
        "{} holds {source}; {next} devlic validate {} && devlic plan {}",
        dir.join(SPEC_FILE).display(),
        dir.display(),
        dir.display()
    )?;
    Ok(Exit::Success)
}

/// Refuses, before anything is read or written, when a file `init` would write exists (unless
/// `force`) or when DIR already holds another spec file: devlic reads every `*.yaml` of a
/// folder as one spec, so a second spec there would merge with the new one.
fn check_folder(dir: &Path, files: &[(PathBuf, &str)], force: bool) -> Result<(), CliError> {
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(CliError::new(
                format!("{} exists and is not a folder", dir.display()),
                "give init a folder to write the spec into (default: licenses)",
            ));
        }
        Ok(_) => {}
        Err(_) => return Ok(()),
    }
    let others: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| CliError::read_file(dir, &e))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| (n.ends_with(".yaml") || n.ends_with(".yml")) && n != SPEC_FILE)
        .collect();
    if !others.is_empty() {
        let mut others = others;
        others.sort();
        return Err(CliError::new(
            format!(
                "{} already holds a spec ({})",
                dir.display(),
                others.join(", ")
            ),
            "devlic reads every *.yaml file of a folder as one spec: run init for a new folder",
        ));
    }
    if force {
        return Ok(());
    }
    let existing: Vec<String> = files
        .iter()
        .filter(|(path, _)| std::fs::symlink_metadata(path).is_ok())
        .map(|(path, _)| path.display().to_string())
        .collect();
    if existing.is_empty() {
        return Ok(());
    }
    Err(CliError::new(
        format!("not overwriting {}", existing.join(", ")),
        "remove them, pick another folder, or pass --force to replace them",
    ))
}
