//! The one place devlic opens files it did not get from a spec folder listing: capped reads of
//! regular files (`--plan`, `--snapshot`, spec files) and every write (`plan --out`,
//! `snapshot --out`, `export --out`, `apply --report`/`--junit`/`--summary-markdown`).
//!
//! The file system is input like any other. A path may name a FIFO (reading blocks forever), a
//! device (`/dev/zero` never ends), or a symlink an attacker planted where devlic will write.
//! So reads open only regular files, without blocking and with a byte cap; writes go to a
//! temporary file in the target's folder, created `0600` (every file devlic writes holds tenant
//! data: group names and ids, license counts), then renamed over the target, which replaces a
//! symlink there instead of following it and never leaves a half-written file. Appends (GitHub's
//! `$GITHUB_STEP_SUMMARY`) refuse a symlink at the target.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

/// Largest `--plan` file accepted (16 MiB). A plan for 10,000 groups is about 5 MiB of JSON.
pub const MAX_PLAN_BYTES: u64 = 16 * 1024 * 1024;

/// Largest `--snapshot` file accepted (64 MiB). A tenant with 50,000 licensed groups is about
/// 20 MiB of JSON.
pub const MAX_SNAPSHOT_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a regular file of at most `cap` bytes. A FIFO, socket or device is refused without
/// reading from it (the open does not block either); a larger file is refused after reading
/// `cap + 1` bytes at most.
pub fn read_regular(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the file is larger than the {} MiB limit",
                cap / (1024 * 1024)
            ),
        ));
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_text(path: &Path, cap: u64) -> io::Result<String> {
    String::from_utf8(read_regular(path, cap)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not valid UTF-8"))
}

/// Opens a file for reading only if it is a regular file (symlinks to one are followed).
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading blocks until a writer appears; non-blocking mode returns
        // at once so the type check below can refuse it.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    // The type of what was opened, not of what the path named a moment earlier.
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    Ok(file)
}

/// Why a file that exists is not a regular file, as an error.
fn not_regular(meta: &fs::Metadata) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file ({})", describe_type(meta)),
    )
}

/// "a folder", "a FIFO", "a socket", "a device", "a symlink" or "a special file".
pub fn describe_type(meta: &fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a folder";
    }
    if kind.is_symlink() {
        return "a symlink";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    "a special file"
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, created `0600`,
/// flushed to disk, then renamed over `path`. A symlink at `path` is replaced, never followed;
/// a folder or other non-regular file at `path` is refused. Readers see the old content or the
/// new one, never a partial file.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.file_type().is_symlink() => {
            return Err(not_regular(&meta));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile creates the file with O_EXCL (no symlink followed) and mode 0600.
    let mut temp = tempfile::Builder::new()
        .prefix(".devlic-")
        .suffix(".tmp")
        .tempfile_in(folder)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Appends `bytes` to `path`, creating it `0600` if missing (GitHub's `$GITHUB_STEP_SUMMARY`
/// is appended to by every step). A symlink at `path` is refused rather than followed, and so
/// is anything but a regular file.
pub fn append_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path is a symlink; devlic does not write through symlinks",
        ));
    }
    let mut file = options.open(path).map_err(|e| {
        // O_NOFOLLOW reports a symlink as ELOOP; say what it means.
        if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path is a symlink; devlic does not write through symlinks",
            )
        } else {
            e
        }
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_private_replaces_content_atomically_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        write_private(&path, b"one").unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn write_private_in_the_current_folder_has_a_parent() {
        // A bare file name has an empty parent; the temporary file goes to ".".
        assert_eq!(Path::new("x.json").parent(), Some(Path::new("")));
    }

    #[cfg(unix)]
    #[test]
    fn write_private_replaces_a_symlink_instead_of_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("out.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write_private(&link, b"new").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(fs::symlink_metadata(&link).unwrap().is_file());
        assert_eq!(fs::read(&link).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn append_private_refuses_a_symlink_and_appends_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("summary.md");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = append_private(&link, b"x").unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert_eq!(fs::read(&victim).unwrap(), b"keep");

        let file = dir.path().join("real.md");
        append_private(&file, b"a").unwrap();
        append_private(&file, b"b").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"ab");
    }

    #[cfg(unix)]
    #[test]
    fn reads_refuse_devices_and_fifos_and_cap_size() {
        let err = read_regular(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(err.to_string().contains("a device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = read_regular(&fifo, 10).unwrap_err();
        assert!(err.to_string().contains("a FIFO"), "{err}");
        let big = dir.path().join("big");
        fs::write(&big, vec![b'a'; 11]).unwrap();
        let err = read_regular(&big, 10).unwrap_err();
        assert!(err.to_string().contains("limit"), "{err}");
        fs::write(&big, vec![b'a'; 10]).unwrap();
        assert_eq!(read_regular(&big, 10).unwrap().len(), 10);
    }
}
