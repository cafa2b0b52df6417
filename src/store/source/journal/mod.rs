//! The `--data-dir` home of the commit log: a journal of every commit, appended and fsynced
//! before the commit is acknowledged, plus periodic snapshots.
//!
//! Files: `snapshot-<revision>.xbs` (the whole state at a revision), `journal-<first
//! revision>.xbj` (the commits after that snapshot), `store-id` (the store's identity) and
//! `LOCK` (held by the one server using the directory). On start the oldest kept snapshot is
//! loaded and the journals after it replayed.

mod error;
mod files;
mod frame;
mod identity;
mod lock;
mod open;
mod replay;
mod snapshot;

use std::fs::File;
use std::io::{Seek, Write};
use std::path::PathBuf;

use crate::engine::Snapshot;
use crate::store::record::Committed;

pub use error::PersistError;

use super::{AppendError, CommitLog};
use files::{create_journal, journals, snapshots};
use frame::frame;
use lock::DirLock;

/// Options of [`crate::store::Store::open`].
#[derive(Debug, Clone)]
pub struct DurabilityOptions {
    /// Keep the longest valid prefix of damaged files instead of refusing to start.
    pub repair: bool,
    /// Write a snapshot (and start a new journal) every this many commits.
    pub snapshot_every: u64,
    /// fsync each append (the default). `false` is only for benchmarks and tests that build
    /// large journals quickly: a crash may then lose acknowledged commits.
    pub sync: bool,
}

impl Default for DurabilityOptions {
    fn default() -> Self {
        Self {
            repair: false,
            snapshot_every: 10_000,
            sync: true,
        }
    }
}

/// The open journal the store appends to.
#[derive(Debug)]
struct Journal {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    /// Revision of the snapshot this journal follows.
    base: u64,
    snapshot_every: u64,
    sync: bool,
    _lock: DirLock,
}

impl CommitLog for Journal {
    fn append(&mut self, committed: &Committed) -> Result<(), AppendError> {
        let payload = serde_json::to_vec(committed)
            .map_err(|error| AppendError::Failed(error.to_string()))?;
        let sync = self.sync;
        let before = self.file.stream_position();
        let appended = self
            .file
            .write_all(&frame(&payload))
            .and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        if let Err(error) = appended {
            // The commit is refused: take back whatever part of the record reached the
            // file, so it cannot reappear after a restart.
            if let Ok(before) = before {
                let _ = self
                    .file
                    .set_len(before)
                    .and_then(|()| self.file.seek(std::io::SeekFrom::Start(before)));
            }
            return Err(AppendError::Failed(format!(
                "cannot append to {}: {error}",
                self.path.display()
            )));
        }
        Ok(())
    }

    fn installed(&mut self, snapshot: &Snapshot, oldest_retained: u64) {
        if let Err(error) = self.maybe_snapshot(snapshot, oldest_retained) {
            tracing::error!(%error, "cannot write a snapshot; the journal keeps growing");
        }
    }
}

impl Journal {
    /// Every `snapshot_every` commits, writes a snapshot and starts a new journal; then
    /// removes the snapshots and journals that no retained revision needs (compaction of
    /// the journal follows compaction of the history: a restart replays from the newest
    /// snapshot at or before `oldest_retained`).
    fn maybe_snapshot(
        &mut self,
        snapshot: &Snapshot,
        oldest_retained: u64,
    ) -> Result<(), PersistError> {
        if snapshot.revision < self.base + self.snapshot_every {
            return Ok(());
        }
        self::snapshot::write(&self.dir, snapshot)?;
        let (file, path) = create_journal(&self.dir, snapshot.revision + 1)?;
        self.file = file;
        self.path = path;
        self.base = snapshot.revision;
        let kept = snapshots(&self.dir)?;
        let keep_from = kept
            .iter()
            .map(|(revision, _)| *revision)
            .filter(|revision| *revision <= oldest_retained)
            .max()
            .unwrap_or(self.base);
        for (revision, path) in &kept {
            if *revision < keep_from {
                let _ = std::fs::remove_file(path);
            }
        }
        for (first, path) in journals(&self.dir)? {
            if first <= keep_from {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }
}
