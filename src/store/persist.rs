//! Durability: a journal of every commit, appended and fsynced before the commit is
//! acknowledged, plus periodic snapshots, in `--data-dir`.
//!
//! Files: `snapshot-<revision>.xbs` (the whole state at a revision) and
//! `journal-<first revision>.xbj` (the commits after that snapshot). Both start with an
//! 8-byte magic, then records framed as `[length u32 LE][CRC32C u32 LE][JSON payload]`.
//! On start the newest valid snapshot is loaded and its journal replayed; a torn last record
//! (a crash mid-append) is cut off; a bad record followed by more data, or a wrong magic, stops
//! the start with the file and byte offset unless `repair` keeps the longest valid prefix.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::engine::Snapshot;
use crate::model::{CountryGroup, Library, RuleSet, VocabularyFile};

use super::Store;
use super::clock::Clock;
use super::error::StoreError;
use super::schedule::boundary_change;
use super::write::{self, Change};

const JOURNAL_MAGIC: &[u8; 8] = b"XBJRNL01";
const SNAPSHOT_MAGIC: &[u8; 8] = b"XBSNAP01";
/// Largest record accepted when reading: anything bigger is corruption.
const MAX_RECORD: usize = 64 * 1024 * 1024;

/// The request behind a committed change, as the journal records it: replaying it against
/// the state before it reproduces the change exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Record {
    /// `PutRuleSet`.
    PutRuleSet {
        /// The rule set written.
        rule_set: RuleSet,
        /// Its expected version.
        expected_version: u64,
    },
    /// `DeleteRuleSet`.
    DeleteRuleSet {
        /// The jurisdiction deleted.
        jurisdiction: String,
        /// Its expected version.
        expected_version: u64,
    },
    /// `PutCountryGroup`.
    PutGroup {
        /// The group written.
        group: CountryGroup,
        /// Its expected version.
        expected_version: u64,
    },
    /// A rule's effective date passed for one jurisdiction.
    BecameEffective {
        /// The jurisdiction.
        jurisdiction: String,
        /// The moment.
        boundary: Timestamp,
        /// Whether this change moved the effective time on.
        last: bool,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    revision: u64,
    committed_at: Timestamp,
    record: Record,
}

#[derive(Debug, Serialize, Deserialize)]
struct SnapshotState {
    revision: u64,
    effective_as_of: Timestamp,
    vocabulary: VocabularyFile,
    groups: Vec<(CountryGroup, u64)>,
    rule_sets: Vec<(RuleSet, u64)>,
}

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is damaged.
    #[error("{}: corrupt at byte offset {offset}: {reason} (start with --repair to keep the longest valid prefix)", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A journal record could not be replayed.
    #[error("{}: replaying revision {revision}: {source}", path.display())]
    Replay {
        /// The journal.
        path: PathBuf,
        /// The revision.
        revision: u64,
        /// Why.
        source: StoreError,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Options of [`Store::open`].
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

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// How a file of records ends.
enum Ending {
    Clean,
    /// An incomplete or damaged last record starting here: a crash mid-append.
    TornTail(usize),
    /// A damaged record with more data after it.
    Corrupt(usize, String),
}

/// The records of `bytes` after the magic, each with its offset, and how the file ends.
fn records<'a>(bytes: &'a [u8], magic: &[u8; 8]) -> (Vec<(usize, &'a [u8])>, Ending) {
    if bytes.len() < magic.len() {
        return (Vec::new(), Ending::TornTail(0));
    }
    if &bytes[..magic.len()] != magic {
        return (
            Vec::new(),
            Ending::Corrupt(0, "wrong magic: not an xborder file of this kind".into()),
        );
    }
    let mut found = Vec::new();
    let mut at = magic.len();
    loop {
        let rest = &bytes[at..];
        if rest.is_empty() {
            return (found, Ending::Clean);
        }
        if rest.len() < 8 {
            return (found, Ending::TornTail(at));
        }
        let length = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if length > MAX_RECORD || 8 + length > rest.len() {
            // A length running past the end is a torn append; an absurd one with data
            // after it cannot be told from damage, so it is reported as damage.
            return if length <= MAX_RECORD {
                (found, Ending::TornTail(at))
            } else {
                (
                    found,
                    Ending::Corrupt(at, format!("record length {length} is not plausible")),
                )
            };
        }
        let payload = &rest[8..8 + length];
        if crc32c::crc32c(payload) != crc {
            return if 8 + length == rest.len() {
                (found, Ending::TornTail(at))
            } else {
                (found, Ending::Corrupt(at, "CRC32C mismatch".into()))
            };
        }
        found.push((at, payload));
        at += 8 + length;
    }
}

fn numbered(dir: &Path, prefix: &str, suffix: &str) -> Result<Vec<(u64, PathBuf)>, PersistError> {
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

fn snapshot_path(dir: &Path, revision: u64) -> PathBuf {
    dir.join(format!("snapshot-{revision:020}.xbs"))
}

fn journal_path(dir: &Path, first_revision: u64) -> PathBuf {
    dir.join(format!("journal-{first_revision:020}.xbj"))
}

fn sync_dir(dir: &Path) -> Result<(), PersistError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(io(dir))
}

/// Writes the snapshot of `snapshot` atomically (temporary file, fsync, rename).
fn write_snapshot(dir: &Path, snapshot: &Snapshot) -> Result<(), PersistError> {
    let (library, rule_set_versions, group_versions) = snapshot.to_versioned_library();
    let state = SnapshotState {
        revision: snapshot.revision,
        effective_as_of: snapshot.effective_as_of,
        vocabulary: library.vocabulary,
        groups: library
            .groups
            .into_iter()
            .map(|(name, group)| (group, group_versions.get(&name).copied().unwrap_or(1)))
            .collect(),
        rule_sets: library
            .rule_sets
            .into_iter()
            .map(|(jurisdiction, rule_set)| {
                (
                    rule_set,
                    rule_set_versions.get(&jurisdiction).copied().unwrap_or(1),
                )
            })
            .collect(),
    };
    let payload = serde_json::to_vec(&state).map_err(|error| PersistError::Corrupt {
        path: dir.to_path_buf(),
        offset: 0,
        reason: format!("cannot encode the snapshot: {error}"),
    })?;
    let path = snapshot_path(dir, snapshot.revision);
    let temporary = path.with_extension("tmp");
    let mut file = File::create(&temporary).map_err(io(&temporary))?;
    file.write_all(SNAPSHOT_MAGIC).map_err(io(&temporary))?;
    file.write_all(&frame(&payload)).map_err(io(&temporary))?;
    file.sync_all().map_err(io(&temporary))?;
    std::fs::rename(&temporary, &path).map_err(io(&path))?;
    sync_dir(dir)
}

fn read_snapshot(
    path: &Path,
    history: u64,
    clock: Arc<dyn Clock>,
) -> Result<Arc<Store>, PersistError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let corrupt = |offset: usize, reason: String| PersistError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    let (found, ending) = records(&bytes, SNAPSHOT_MAGIC);
    match ending {
        Ending::Clean => {}
        Ending::TornTail(offset) => return Err(corrupt(offset, "truncated snapshot".into())),
        Ending::Corrupt(offset, reason) => return Err(corrupt(offset, reason)),
    }
    let [(offset, payload)] = found.as_slice() else {
        return Err(corrupt(
            SNAPSHOT_MAGIC.len(),
            "a snapshot holds exactly one record".into(),
        ));
    };
    let state: SnapshotState =
        serde_json::from_slice(payload).map_err(|error| corrupt(*offset, error.to_string()))?;
    let rule_set_versions: BTreeMap<String, u64> = state
        .rule_sets
        .iter()
        .map(|(rule_set, version)| (rule_set.jurisdiction.clone(), *version))
        .collect();
    let group_versions: BTreeMap<String, u64> = state
        .groups
        .iter()
        .map(|(group, version)| (group.name.clone(), *version))
        .collect();
    let library = Library {
        vocabulary: state.vocabulary,
        groups: state
            .groups
            .into_iter()
            .map(|(group, _)| (group.name.clone(), group))
            .collect(),
        rule_sets: state
            .rule_sets
            .into_iter()
            .map(|(rule_set, _)| (rule_set.jurisdiction.clone(), rule_set))
            .collect(),
    };
    let snapshot = Snapshot::from_versioned_library(
        &library,
        state.revision,
        state.effective_as_of,
        &|jurisdiction| rule_set_versions.get(jurisdiction).copied().unwrap_or(1),
        &|name| group_versions.get(name).copied().unwrap_or(1),
    );
    Ok(Store::from_snapshot(snapshot, history, clock))
}

/// The change a journal record makes to `head`.
fn change_for(head: &Snapshot, record: Record) -> Result<Change, StoreError> {
    match record {
        Record::PutRuleSet {
            rule_set,
            expected_version,
        } => write::put_rule_set(head, rule_set, expected_version),
        Record::DeleteRuleSet {
            jurisdiction,
            expected_version,
        } => write::delete_rule_set(head, &jurisdiction, expected_version),
        Record::PutGroup {
            group,
            expected_version,
        } => write::put_group(head, group, expected_version),
        Record::BecameEffective {
            jurisdiction,
            boundary,
            last,
        } => {
            let key = super::event::Key::RuleSet(jurisdiction.clone());
            head.rule_sets
                .get(&jurisdiction)
                .and_then(|rule_set| boundary_change(rule_set, boundary, last))
                .ok_or(StoreError::NotFound { key })
        }
    }
}

/// The open journal the store appends to.
#[derive(Debug)]
pub(crate) struct Journal {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    /// Revision of the snapshot this journal follows.
    base: u64,
    snapshot_every: u64,
    sync: bool,
}

impl Journal {
    /// Appends the record of `revision` and fsyncs it.
    pub(crate) fn append(
        &mut self,
        revision: u64,
        committed_at: Timestamp,
        record: &Record,
    ) -> Result<(), String> {
        let entry = serde_json::json!({"revision": revision, "committed_at": committed_at, "record": record});
        let payload = serde_json::to_vec(&entry).map_err(|error| error.to_string())?;
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
            return Err(format!("cannot append to {}: {error}", self.path.display()));
        }
        Ok(())
    }

    /// After `snapshot` was installed: every `snapshot_every` commits, writes a snapshot and
    /// starts a new journal; then removes the snapshots and journals that no retained
    /// revision needs (compaction of the journal follows compaction of the history: a
    /// restart replays from the newest snapshot at or before `oldest_retained`).
    pub(crate) fn maybe_snapshot(
        &mut self,
        snapshot: &Snapshot,
        oldest_retained: u64,
    ) -> Result<(), PersistError> {
        if snapshot.revision < self.base + self.snapshot_every {
            return Ok(());
        }
        write_snapshot(&self.dir, snapshot)?;
        let (file, path) = create_journal(&self.dir, snapshot.revision + 1)?;
        self.file = file;
        self.path = path;
        self.base = snapshot.revision;
        let snapshots = numbered(&self.dir, "snapshot-", ".xbs")?;
        let keep_from = snapshots
            .iter()
            .map(|(revision, _)| *revision)
            .filter(|revision| *revision <= oldest_retained)
            .max()
            .unwrap_or(self.base);
        for (revision, path) in &snapshots {
            if *revision < keep_from {
                let _ = std::fs::remove_file(path);
            }
        }
        for (first, path) in numbered(&self.dir, "journal-", ".xbj")? {
            if first <= keep_from {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }
}

fn create_journal(dir: &Path, first_revision: u64) -> Result<(File, PathBuf), PersistError> {
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

impl Store {
    /// Opens the store kept in `dir`: the newest valid snapshot plus its journal, or, for an
    /// empty directory, `library` as revision 1. Every later commit is journaled before it
    /// is acknowledged.
    pub fn open(
        dir: &Path,
        library: &Library,
        history_revisions: u64,
        clock: Arc<dyn Clock>,
        options: &DurabilityOptions,
    ) -> Result<Arc<Self>, PersistError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let snapshots = numbered(dir, "snapshot-", ".xbs")?;
        let mut store = None;
        // The oldest snapshot kept is the one at or before the oldest retained revision:
        // replaying from it rebuilds the whole history window.
        for (_, path) in &snapshots {
            match read_snapshot(path, history_revisions, Arc::clone(&clock)) {
                Ok(loaded) => {
                    store = Some(loaded);
                    break;
                }
                Err(error) if options.repair => {
                    tracing::warn!(%error, "repair: skipping a damaged snapshot")
                }
                Err(error) => return Err(error),
            }
        }
        let store = match store {
            Some(store) => store,
            None => {
                let store = Store::new(library, history_revisions, clock);
                write_snapshot(dir, &store.snapshot())?;
                store
            }
        };
        let journals = numbered(dir, "journal-", ".xbj")?;
        let mut base = store.head();
        let mut open_journal = None;
        loop {
            let path = journal_path(dir, store.head() + 1);
            if !path.exists() {
                break;
            }
            let first = store.head() + 1;
            let later = journals.iter().any(|(other, _)| *other > first);
            let (file, cut) = replay(&store, &path, options.repair, !later)?;
            base = first - 1;
            open_journal = Some((file, path));
            let advanced = store.head() >= first;
            if cut && later {
                // Repair kept the valid prefix of a journal that later files continue:
                // they cannot follow it any more.
                for (other, later_path) in journals.iter().filter(|(other, _)| *other > first) {
                    tracing::warn!(path = %later_path.display(), first_revision = other, "repair: dropping a journal after the damage");
                    let _ = std::fs::remove_file(later_path);
                }
                for (revision, snapshot) in snapshots
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
            "restored the store from {}",
            dir.display()
        );
        let journal = Journal {
            dir: dir.to_path_buf(),
            file,
            path,
            base,
            snapshot_every: options.snapshot_every.max(1),
            sync: options.sync,
        };
        // The store was built above and nothing else has set its journal.
        let _ = store.journal.set(std::sync::Mutex::new(journal));
        Ok(store)
    }
}

/// Replays the journal at `path` into `store`; returns the file opened for appending after
/// the last valid record, and whether anything was cut. Only the `last` journal may end in a
/// torn record: in an earlier one that is damage.
fn replay(
    store: &Store,
    path: &Path,
    repair: bool,
    last: bool,
) -> Result<(File, bool), PersistError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(io(path))?;
    let corrupt = |offset: usize, reason: String| PersistError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    let (found, ending) = records(&bytes, JOURNAL_MAGIC);
    let ending = match ending {
        Ending::TornTail(offset) if !last => Ending::Corrupt(
            offset,
            "the journal ends early but a later journal follows".into(),
        ),
        other => other,
    };
    let mut valid_end = match &ending {
        Ending::Clean => bytes.len(),
        Ending::TornTail(offset) => {
            tracing::warn!(path = %path.display(), bytes = bytes.len() - offset, "cutting a torn journal tail");
            *offset
        }
        Ending::Corrupt(offset, reason) if repair => {
            tracing::warn!(path = %path.display(), offset, reason = reason.as_str(), dropped = bytes.len() - offset, "repair: keeping the valid prefix");
            *offset
        }
        Ending::Corrupt(offset, reason) => return Err(corrupt(*offset, reason.clone())),
    };
    for (offset, payload) in found {
        let entry: Entry = match serde_json::from_slice(payload) {
            Ok(entry) => entry,
            Err(error) if repair => {
                tracing::warn!(offset, %error, "repair: keeping the valid prefix");
                valid_end = offset;
                break;
            }
            Err(error) => return Err(corrupt(offset, error.to_string())),
        };
        let head = store.snapshot();
        let replayed = change_for(&head, entry.record).and_then(|mut change| {
            change.committed_at = Some(entry.committed_at);
            store.install(entry.revision, change)
        });
        if let Err(source) = replayed {
            return Err(PersistError::Replay {
                path: path.to_path_buf(),
                revision: entry.revision,
                source,
            });
        }
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io(path))?;
    let end = valid_end.max(JOURNAL_MAGIC.len()) as u64;
    if valid_end < JOURNAL_MAGIC.len() {
        file.set_len(0)
            .and_then(|()| file.write_all(JOURNAL_MAGIC))
            .map_err(io(path))?;
    }
    file.set_len(end).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    file.seek(std::io::SeekFrom::End(0)).map_err(io(path))?;
    Ok((file, valid_end < bytes.len()))
}
