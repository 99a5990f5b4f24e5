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

{BOLD}Get started{BOLD:#}
  devlic validate examples/contoso       check a spec offline (file or folder)
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
