//! What `devlic` with no arguments prints: a short guide to get going.

use std::io::{self, Write};

use anstyle::Style;

use crate::exit::Exit;

const BOLD: Style = Style::new().bold();

/// Prints the guide.
pub fn run(out: &mut dyn Write) -> io::Result<Exit> {
    writeln!(
        out,
        "{BOLD}devlic{BOLD:#} {} keeps Microsoft 365 Apps device licenses equal to a YAML spec in git.

{BOLD}Get started{BOLD:#} (offline, on the bundled example)
  devlic validate examples/contoso       check a spec offline (file or folder)
  devlic plan examples/contoso --snapshot examples/tenants/contoso.snapshot.json
                                         the diff against a saved tenant state

{BOLD}Against a tenant{BOLD:#} (sign in with AZURE_TENANT_ID, AZURE_CLIENT_ID and a credential)
  devlic export > devlic.yaml            adopt a tenant: a spec of what it holds today
  devlic plan devlic.yaml                the diff against the live tenant
  devlic apply devlic.yaml               apply it (asks for `yes`; --dry-run shows the requests)
  devlic snapshot --out tenant.json      save the state for offline `plan --snapshot`
  devlic skus                            device subscriptions, units and holders

{BOLD}Tools{BOLD:#}
  devlic schema > devlic.schema.json     JSON Schema for editor completion and checks
  devlic completions bash                shell completions (bash, zsh, fish, powershell, elvish)

A spec file starts with:
  # yaml-language-server: $schema=schemas/devlic.schema.json
  apiVersion: devlic/v1
  kind: DeviceLicenses
  assignments:
    - group: \"Kiosks - Front Desk\"
      subscription: OFFICE_PROPLUS_DEVICE1

Run `devlic help` or `devlic <command> --help` for details; docs/spec-reference.md describes
every field.",
        env!("CARGO_PKG_VERSION")
    )?;
    Ok(Exit::Success)
}
