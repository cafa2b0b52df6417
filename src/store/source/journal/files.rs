//! File names in the data directory and the small file operations every part needs.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::{PersistError, io};
use super::frame::JOURNAL_MAGIC;

/// The files `<prefix><number><suffix>` in `dir`, by number.
pub(super) fn numbered(
    dir: &Path,
    prefix: &str,
    suffix: &str,
) -> Result<Vec<(u64, PathBuf)>, PersistError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let number = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .and_then(|number| number.parse().ok());
        if let Some(number) = number {
            found.push((number, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// The snapshots in `dir`, oldest first.
pub(super) fn snapshots(dir: &Path) -> Result<Vec<(u64, PathBuf)>, PersistError> {
    numbered(dir, "snapshot-", ".xbs")
}

/// The journals in `dir`, by first revision.
pub(super) fn journals(dir: &Path) -> Result<Vec<(u64, PathBuf)>, PersistError> {
    numbered(dir, "journal-", ".xbj")
}

/// Where the snapshot of `revision` lives.
pub(super) fn snapshot_path(dir: &Path, revision: u64) -> PathBuf {
    dir.join(format!("snapshot-{revision:020}.xbs"))
}

/// Where the journal starting at `first_revision` lives.
pub(super) fn journal_path(dir: &Path, first_revision: u64) -> PathBuf {
    dir.join(format!("journal-{first_revision:020}.xbj"))
}

/// fsyncs the directory itself, so created and renamed files survive a crash.
pub(super) fn sync_dir(dir: &Path) -> Result<(), PersistError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(io(dir))
}

/// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, directory fsync.
pub(super) fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    let temporary = path.with_extension("tmp");
    let mut file = File::create(&temporary).map_err(io(&temporary))?;
    file.write_all(bytes).map_err(io(&temporary))?;
    file.sync_all().map_err(io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io(path))?;
    sync_dir(dir)
}

/// Creates an empty journal whose first record will be `first_revision`.
pub(super) fn create_journal(
    dir: &Path,
    first_revision: u64,
) -> Result<(File, PathBuf), PersistError> {
    let path = journal_path(dir, first_revision);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    file.write_all(JOURNAL_MAGIC)
        .and_then(|()| file.sync_all())
        .map_err(io(&path))?;
    sync_dir(dir)?;
    Ok((file, path))
}
