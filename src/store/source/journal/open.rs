//! Opening a data directory: lock it, load the oldest kept snapshot, replay the journals
//! after it, and attach the journal the store appends to from then on.

use std::path::Path;
use std::sync::Arc;

use crate::model::Library;
use crate::store::Store;
use crate::store::clock::Clock;

use super::error::{PersistError, io};
use super::files::{create_journal, journal_path, journals, snapshots};
use super::lock::DirLock;
use super::replay::replay;
use super::{DurabilityOptions, Journal, identity, snapshot};

impl Store {
    /// Opens the store kept in `dir`: the newest valid snapshot plus its journal, or, for an
    /// empty directory, `library` as revision 1. Every later commit is journaled before it
    /// is acknowledged. The directory stays locked until the store is dropped.
    pub fn open(
        dir: &Path,
        library: &Library,
        history_revisions: u64,
        clock: Arc<dyn Clock>,
        options: &DurabilityOptions,
    ) -> Result<Arc<Self>, PersistError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock = DirLock::acquire(dir)?;
        let store_id = identity::load_or_create(dir, Store::new_id)?;
        let snapshot_files = snapshots(dir)?;
        let mut loaded = None;
        // The oldest snapshot kept is the one at or before the oldest retained revision:
        // replaying from it rebuilds the whole history window.
        for (_, path) in &snapshot_files {
            match snapshot::read(path) {
                Ok(found) => {
                    loaded = Some(found);
                    break;
                }
                Err(error) if options.repair => {
                    tracing::warn!(%error, "repair: skipping a damaged snapshot")
                }
                Err(error) => return Err(error),
            }
        }
        let store = match loaded {
            Some(found) => {
                Store::from_snapshot(found, history_revisions, Arc::clone(&clock), store_id)
            }
            None => {
                let store = Store::from_library(library, history_revisions, clock, store_id);
                snapshot::write(dir, &store.snapshot())?;
                store
            }
        };
        let journal_files = journals(dir)?;
        let mut base = store.head();
        let mut open_journal = None;
        loop {
            let path = journal_path(dir, store.head() + 1);
            if !path.exists() {
                break;
            }
            let first = store.head() + 1;
            let later = journal_files.iter().any(|(other, _)| *other > first);
            let (file, cut) = replay(&store, &path, options.repair, !later)?;
            base = first - 1;
            open_journal = Some((file, path));
            let advanced = store.head() >= first;
            if cut && later {
                // Repair kept the valid prefix of a journal that later files continue:
                // they cannot follow it any more.
                for (other, later_path) in journal_files.iter().filter(|(other, _)| *other > first)
                {
                    tracing::warn!(path = %later_path.display(), first_revision = other, "repair: dropping a journal after the damage");
                    let _ = std::fs::remove_file(later_path);
                }
                for (revision, snapshot) in snapshot_files
                    .iter()
                    .filter(|(revision, _)| *revision > store.head())
                {
                    tracing::warn!(path = %snapshot.display(), revision, "repair: dropping a snapshot after the damage");
                    let _ = std::fs::remove_file(snapshot);
                }
                break;
            }
            if !advanced {
                // An empty journal: the one commits were appended to last.
                break;
            }
        }
        let (file, path) = match open_journal {
            Some(open) => open,
            None => create_journal(dir, base + 1)?,
        };
        tracing::info!(
            revision = store.head(),
            snapshot = base,
            store_id = store.store_id(),
            "restored the store from {}",
            dir.display()
        );
        store.attach_log(Box::new(Journal {
            dir: dir.to_path_buf(),
            file,
            path,
            base,
            snapshot_every: options.snapshot_every.max(1),
            sync: options.sync,
            _lock: lock,
        }));
        Ok(store)
    }
}
