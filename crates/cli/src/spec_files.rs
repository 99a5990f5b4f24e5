//! Reading a spec from disk: one file, or a folder's `*.yaml`/`*.yml` files (not recursive).
//!
//! `plan` and `apply` read specs the same way as `validate`, through [`read_spec_path`].

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use devlic_spec::{MAX_FILE_BYTES, SourceFile};

/// Why a spec path could not be read. The spec's content is not looked at here.
#[derive(Debug, thiserror::Error)]
pub enum SpecPathError {
    /// The path does not exist.
    #[error("{path}: no such file or folder")]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// The path exists but could not be read (permissions, I/O error).
    #[error("{path}: cannot read: {source}")]
    Unreadable {
        /// The file or folder that failed.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A spec path, or a `*.yaml`/`*.yml` entry of a spec folder, is not a regular file (or a
    /// symlink to one): a dangling symlink, a symlink loop, a FIFO, a socket, a device or a
    /// folder. Never skipped silently: a spec file that vanished would make the plan revoke
    /// its groups.
    #[error("{path}: {what}, not a spec file")]
    NotRegular {
        /// The entry.
        path: PathBuf,
        /// What it is instead ("a dangling symlink", "a FIFO", ...).
        what: String,
    },
    /// A folder holds no `*.yaml` or `*.yml` file.
    #[error("{path}: the folder has no *.yaml or *.yml files")]
    NoYamlFiles {
        /// The folder.
        path: PathBuf,
    },
}

impl SpecPathError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            SpecPathError::NotFound { path }
            | SpecPathError::Unreadable { path, .. }
            | SpecPathError::NotRegular { path, .. }
            | SpecPathError::NoYamlFiles { path } => path,
        }
    }

    /// How to fix it.
    pub fn help(&self) -> &'static str {
        match self {
            SpecPathError::NotFound { .. } => {
                "check the path; give a spec file or a folder of *.yaml files"
            }
            SpecPathError::Unreadable { .. } => "check the file's permissions",
            SpecPathError::NotRegular { .. } => {
                "make it a regular file (or a symlink to one), or remove it or rename it so it no longer ends in .yaml or .yml"
            }
            SpecPathError::NoYamlFiles { .. } => {
                "put the spec in *.yaml files in this folder (sub-folders are not read), or give a file"
            }
        }
    }
}

/// Reads a spec file, or every `*.yaml`/`*.yml` file of a folder sorted by name.
///
/// Paths in the result are the given path (a file) or the given folder joined with each file
/// name, so messages show paths the way the user typed them. A file is read up to one byte past
/// [`MAX_FILE_BYTES`], so a huge file costs bounded memory and the spec loader reports it as too
/// large. A `*.yaml` entry that is not a regular file (or a symlink to one) is an error, never
/// skipped; sub-folders and other names in the folder are ignored.
pub fn read_spec_path(path: &Path) -> Result<Vec<SourceFile>, SpecPathError> {
    let meta = fs::metadata(path).map_err(|e| entry_error(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![read_capped(path)?]);
    }
    let entries = fs::read_dir(path).map_err(|e| io_error(path, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(path, e))?;
        let name = entry.file_name();
        let is_yaml = Path::new(&name)
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml");
        // Sub-folders are not read, whatever their name; everything else named *.yaml must be
        // a readable spec file (checked when it is read).
        let is_folder = fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
        if is_yaml && !is_folder {
            files.push(path.join(name));
        }
    }
    if files.is_empty() {
        return Err(SpecPathError::NoYamlFiles {
            path: path.to_owned(),
        });
    }
    files.sort();
    files.iter().map(|f| read_capped(f)).collect()
}

/// Reads one spec file: a regular file or a symlink to one, never a FIFO or device.
fn read_capped(path: &Path) -> Result<SourceFile, SpecPathError> {
    // `metadata` follows symlinks: a link to a spec file is fine, a dangling one or a loop is not.
    let meta = fs::metadata(path).map_err(|e| entry_error(path, e))?;
    if !meta.is_file() {
        return Err(SpecPathError::NotRegular {
            path: path.to_owned(),
            what: crate::file_io::describe_type(&meta).to_owned(),
        });
    }
    let cap = u64::try_from(MAX_FILE_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    let file = crate::file_io::open_regular(path).map_err(|e| io_error(path, e))?;
    file.take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    // UTF-16 and BOM-prefixed files become plain UTF-8 here, so the snippets shown with errors
    // come from the same text the loader parsed. Broken UTF-16 stays as is for the loader to
    // report.
    let bytes = match devlic_spec::to_utf8(&bytes) {
        Ok(std::borrow::Cow::Owned(decoded)) => decoded,
        Ok(std::borrow::Cow::Borrowed(rest)) if rest.len() != bytes.len() => rest.to_vec(),
        _ => bytes,
    };
    Ok(SourceFile {
        path: path.to_string_lossy().into_owned(),
        bytes,
    })
}

/// A failed `metadata` (which follows symlinks): a symlink whose target is missing, or a loop,
/// is named as such rather than "no such file".
fn entry_error(path: &Path, source: std::io::Error) -> SpecPathError {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        let what = if source.kind() == std::io::ErrorKind::NotFound {
            "a dangling symlink (its target does not exist)"
        } else if source.raw_os_error() == Some(ELOOP) {
            "a symlink loop"
        } else {
            return io_error(path, source);
        };
        return SpecPathError::NotRegular {
            path: path.to_owned(),
            what: what.to_owned(),
        };
    }
    io_error(path, source)
}

#[cfg(unix)]
const ELOOP: i32 = libc::ELOOP;
#[cfg(not(unix))]
const ELOOP: i32 = -1;

fn io_error(path: &Path, source: std::io::Error) -> SpecPathError {
    if source.kind() == std::io::ErrorKind::NotFound {
        SpecPathError::NotFound {
            path: path.to_owned(),
        }
    } else {
        SpecPathError::Unreadable {
            path: path.to_owned(),
            source,
        }
    }
}
