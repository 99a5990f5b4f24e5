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
/// large.
pub fn read_spec_path(path: &Path) -> Result<Vec<SourceFile>, SpecPathError> {
    let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
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
        // `metadata` follows symlinks, so a link to a spec file counts; folders never do.
        let is_file = fs::metadata(entry.path()).is_ok_and(|m| m.is_file());
        if is_yaml && is_file {
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

fn read_capped(path: &Path) -> Result<SourceFile, SpecPathError> {
    let file = fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut bytes = Vec::new();
    let cap = u64::try_from(MAX_FILE_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    file.take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    Ok(SourceFile {
        path: path.to_string_lossy().into_owned(),
        bytes,
    })
}

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
