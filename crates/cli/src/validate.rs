//! `devlic validate PATH`: load a spec offline and report every problem.

use std::io::{self, Write};

use crate::cli::{Format, ValidateArgs};
use crate::exit::Exit;
use crate::render_errors::{self, plural};
use crate::spec_files::read_spec_path;

/// Runs `validate`. Text errors go to `err`; the success line and JSON go to `out`.
pub fn run(args: &ValidateArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Exit> {
    let sources = match read_spec_path(&args.path) {
        Ok(sources) => sources,
        Err(e) => {
            match args.format {
                Format::Text => {
                    err.write_all(render_errors::render_path_error_text(&e).as_bytes())?
                }
                Format::Json => writeln!(out, "{:#}", render_errors::path_error_json(&e))?,
            }
            return Ok(Exit::Error);
        }
    };
    match devlic_spec::load(&sources) {
        Ok(spec) => {
            match args.format {
                Format::Text => {
                    let (n, f) = (spec.assignments.len(), spec.files.len());
                    writeln!(
                        out,
                        "{}: valid ({n} {} in {f} {})",
                        args.path.display(),
                        plural(n, "assignment", "assignments"),
                        plural(f, "file", "files"),
                    )?;
                }
                Format::Json => writeln!(out, "[]")?,
            }
            Ok(Exit::Success)
        }
        Err(errors) => {
            match args.format {
                Format::Text => {
                    err.write_all(render_errors::render_text(&errors, &sources).as_bytes())?
                }
                Format::Json => writeln!(out, "{:#}", render_errors::render_json(&errors))?,
            }
            Ok(Exit::Error)
        }
    }
}
