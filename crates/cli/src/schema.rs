//! `devlic schema`: print the JSON Schema of spec files.

use std::io::{self, Write};

use crate::exit::Exit;

/// Prints the schema as pretty JSON with a trailing newline (the committed file's exact form).
pub fn run(out: &mut dyn Write) -> io::Result<Exit> {
    let text =
        serde_json::to_string_pretty(&devlic_spec::json_schema()).map_err(io::Error::other)?;
    writeln!(out, "{text}")?;
    Ok(Exit::Success)
}
