//! The versioned in-memory rule store (DESIGN.md section 3).
//!
//! One global revision (1 = the loaded library); a version per rule set and group. Readers
//! take the head [`Snapshot`] from an [`ArcSwap`] and never block writers. Every commit is
//! one [`ChangeEvent`] in a bounded history from which any retained revision can be read and
//! watchers catch up. Deciding the next revision ([`Store::put_rule_set`] and friends) is
//! kept apart from installing a change at a given revision ([`Store::install`]), so a later
//! replica can install changes whose revisions come from a shared source of truth.

mod clock;
mod error;
mod event;
mod history;
mod persist;
mod reconcile;
mod schedule;
mod watch;
mod write;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use arc_swap::ArcSwap;
use jiff::{SignedDuration, Timestamp};

use crate::engine::{CompiledRuleSet, Group, Snapshot};
use crate::model::{CountryGroup, Library, RuleSet};

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::StoreError;
pub use event::{ChangeEvent, ChangeKind, Diff, Key, Value};
pub use persist::{DurabilityOptions, PersistError, Record};
pub use reconcile::{AppliedFiles, Reconciled};
pub use watch::{WatchError, Watcher};
pub use write::Change;

use history::History;

/// Default number of revisions kept readable.
pub const DEFAULT_HISTORY_REVISIONS: u64 = 10_000;

/// Which state of an entry to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The head revision.
    Latest,
    /// A retained revision.
    Revision(u64),
    /// A retained version of the entry.
    Version(u64),
}

/// The result of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The revision the write created, or for `validate_only` the unchanged head revision.
    pub revision: u64,
    /// The entry's version after the write (what it would be, for `validate_only`).
    pub version: u64,
    /// What changed inside the entry.
    pub diff: Diff,
    /// Whether the write was committed (false for `validate_only`).
    pub committed: bool,
}

/// One version of an entry in the retained history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    /// The entry's version.
    pub version: u64,
    /// The revision that created it.
    pub revision: u64,
    /// The change that created it (`None` for the loaded library).
    pub kind: Option<ChangeKind>,
    /// When it was committed (`None` for the loaded library).
    pub committed_at: Option<Timestamp>,
}

/// The versioned store.
#[derive(Debug)]
pub struct Store {
    current: ArcSwap<Snapshot>,
    history: RwLock<History>,
    /// Serialises commits: prepare against the head, then install.
    writer: Mutex<()>,
    head_signal: tokio::sync::watch::Sender<u64>,
    clock: Arc<dyn Clock>,
    /// The journal commits are appended to before they are acknowledged (with a data dir).
    journal: std::sync::OnceLock<Mutex<persist::Journal>>,
}

impl Store {
    /// A store whose revision 1 is `library` (validated), keeping `history_revisions`
    /// revisions readable.
    pub fn new(library: &Library, history_revisions: u64, clock: Arc<dyn Clock>) -> Arc<Self> {
        let snapshot = Snapshot::from_library(library, 1, clock.now());
        Self::from_snapshot(snapshot, history_revisions, clock)
    }

    /// A store whose base revision is `snapshot`.
    fn from_snapshot(
        snapshot: Snapshot,
        history_revisions: u64,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let initial = snapshot
            .rule_sets
            .iter()
            .map(|(j, rule_set)| {
                (
                    Key::RuleSet(j.clone()),
                    rule_set.version,
                    Value::RuleSet(Arc::clone(rule_set)),
                )
            })
            .chain(snapshot.groups.iter().map(|(name, group)| {
                (
                    Key::Group(name.clone()),
                    group.version,
                    Value::Group(Arc::clone(group)),
                )
            }));
        let history = History::new(snapshot.revision, history_revisions, initial);
        Arc::new(Self {
            head_signal: tokio::sync::watch::Sender::new(snapshot.revision),
            current: ArcSwap::from_pointee(snapshot),
            history: RwLock::new(history),
            writer: Mutex::new(()),
            clock,
            journal: std::sync::OnceLock::new(),
        })
    }

    /// The head snapshot: one atomic load, never blocked by writers.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The head revision.
    pub fn head(&self) -> u64 {
        self.current.load().revision
    }

    /// The oldest revision still readable.
    pub fn oldest(&self) -> u64 {
        self.read_history().oldest()
    }

    /// The store's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The time a "now" assessment of `snapshot` uses: the clock, held just before the
    /// snapshot's next effective-date boundary until the scheduler has committed the
    /// `BECAME_EFFECTIVE` change for it, so decisions never change without an event.
    pub fn decision_time(&self, snapshot: &Snapshot) -> Timestamp {
        let now = self.clock.now();
        match snapshot.next_boundary {
            Some(boundary) if now >= boundary => boundary - SignedDuration::from_nanos(1),
            _ => now,
        }
    }

    /// The snapshot at `revision` (0 = head). Older snapshots are rebuilt from history.
    pub fn snapshot_at(&self, revision: u64) -> Result<Arc<Snapshot>, StoreError> {
        let head = self.snapshot();
        if revision == 0 || revision == head.revision {
            return Ok(head);
        }
        let history = self.read_history();
        history.check(revision)?;
        let mut groups = BTreeMap::new();
        let mut rule_sets = BTreeMap::new();
        for (key, value) in history.values_at(revision) {
            match (key, value) {
                (Key::Group(name), Value::Group(group)) => {
                    groups.insert(name.clone(), Arc::clone(group));
                }
                (Key::RuleSet(jurisdiction), Value::RuleSet(rule_set)) => {
                    rule_sets.insert(jurisdiction.clone(), Arc::clone(rule_set));
                }
                _ => {}
            }
        }
        // An old revision's effective dates are evaluated as written: no clamping.
        let vocabulary = Arc::clone(&head.vocabulary);
        Ok(Arc::new(Snapshot::new(
            revision,
            Timestamp::MAX,
            vocabulary,
            groups,
            rule_sets,
        )))
    }

    /// A rule set at the head, a revision or a version, with the revision it was read at.
    pub fn rule_set(
        &self,
        jurisdiction: &str,
        at: At,
    ) -> Result<(Arc<CompiledRuleSet>, u64), StoreError> {
        let key = Key::RuleSet(jurisdiction.to_owned());
        let (value, revision) = self.read(&key, at)?;
        match value {
            Value::RuleSet(rule_set) => Ok((rule_set, revision)),
            Value::Group(_) => Err(StoreError::NotFound { key }),
        }
    }

    /// A country group at the head, a revision or a version, with the revision it was read at.
    pub fn group(&self, name: &str, at: At) -> Result<(Arc<Group>, u64), StoreError> {
        let key = Key::Group(name.to_owned());
        let (value, revision) = self.read(&key, at)?;
        match value {
            Value::Group(group) => Ok((group, revision)),
            Value::RuleSet(_) => Err(StoreError::NotFound { key }),
        }
    }

    fn read(&self, key: &Key, at: At) -> Result<(Value, u64), StoreError> {
        let history = self.read_history();
        let not_found = || StoreError::NotFound { key: key.clone() };
        match at {
            At::Latest | At::Revision(0) => {
                let head = history.head();
                let link = history.link_at(key, head).ok_or_else(not_found)?;
                Ok((link.value.clone().ok_or_else(not_found)?, head))
            }
            At::Revision(revision) => {
                history.check(revision)?;
                let link = history.link_at(key, revision).ok_or_else(not_found)?;
                Ok((link.value.clone().ok_or_else(not_found)?, revision))
            }
            At::Version(version) => history
                .chain(key)
                .find(|link| link.version == version && link.value.is_some())
                .and_then(|link| Some((link.value.clone()?, link.revision)))
                .ok_or_else(|| match history.chain(key).next() {
                    Some(_) => StoreError::VersionNotFound {
                        key: key.clone(),
                        version,
                    },
                    None => not_found(),
                }),
        }
    }

    /// The retained versions of a rule set, oldest first (deletions included).
    pub fn rule_set_versions(&self, jurisdiction: &str) -> Result<Vec<VersionRecord>, StoreError> {
        let key = Key::RuleSet(jurisdiction.to_owned());
        let history = self.read_history();
        let mut records: Vec<VersionRecord> = Vec::new();
        for link in history.chain(&key) {
            let event = history
                .event(link.revision)
                .filter(|event| event.key == key);
            let kind = event.map(|event| event.kind);
            let is_new = records.last().is_none_or(|last| {
                last.version != link.version || kind == Some(ChangeKind::Deleted)
            });
            if is_new && kind != Some(ChangeKind::GroupUpdated) {
                records.push(VersionRecord {
                    version: link.version,
                    revision: link.revision,
                    kind,
                    committed_at: event.map(|event| event.committed_at),
                });
            }
        }
        if records.is_empty() {
            return Err(StoreError::NotFound { key });
        }
        Ok(records)
    }

    /// Creates (`expected_version` 0) or replaces a rule set.
    pub fn put_rule_set(
        &self,
        rule_set: RuleSet,
        expected_version: u64,
        validate_only: bool,
    ) -> Result<WriteOutcome, StoreError> {
        let writer = self.lock_writer();
        let change = write::put_rule_set(&self.snapshot(), rule_set, expected_version)?;
        self.commit(&writer, change, validate_only)
    }

    /// Deletes a rule set at `expected_version`.
    pub fn delete_rule_set(
        &self,
        jurisdiction: &str,
        expected_version: u64,
    ) -> Result<WriteOutcome, StoreError> {
        let writer = self.lock_writer();
        let change = write::delete_rule_set(&self.snapshot(), jurisdiction, expected_version)?;
        self.commit(&writer, change, false)
    }

    /// Creates (`expected_version` 0) or replaces a country group.
    pub fn put_group(
        &self,
        group: CountryGroup,
        expected_version: u64,
        validate_only: bool,
    ) -> Result<WriteOutcome, StoreError> {
        let writer = self.lock_writer();
        let change = write::put_group(&self.snapshot(), group, expected_version)?;
        self.commit(&writer, change, validate_only)
    }

    /// Decides the next revision for a prepared change and installs it.
    fn commit(
        &self,
        writer: &MutexGuard<'_, ()>,
        change: Change,
        validate_only: bool,
    ) -> Result<WriteOutcome, StoreError> {
        let head = self.head();
        if validate_only {
            return Ok(WriteOutcome {
                revision: head,
                version: change.version,
                diff: change.diff,
                committed: false,
            });
        }
        let event = self.install_locked(writer, head + 1, change)?;
        Ok(WriteOutcome {
            revision: event.revision,
            version: event.version,
            diff: event.diff.clone(),
            committed: true,
        })
    }

    /// Installs a prepared change at `revision`, which must be the head revision + 1.
    pub fn install(&self, revision: u64, change: Change) -> Result<Arc<ChangeEvent>, StoreError> {
        let writer = self.lock_writer();
        self.install_locked(&writer, revision, change)
    }

    fn install_locked(
        &self,
        _writer: &MutexGuard<'_, ()>,
        revision: u64,
        change: Change,
    ) -> Result<Arc<ChangeEvent>, StoreError> {
        let head = self.snapshot();
        if revision != head.revision + 1 {
            return Err(StoreError::OutOfOrder {
                revision,
                expected: head.revision + 1,
            });
        }
        let mut groups = head.groups.clone();
        let mut rule_sets = head.rule_sets.clone();
        for (key, _, value) in &change.values {
            match (key, value) {
                (Key::Group(name), Some(Value::Group(group))) => {
                    groups.insert(name.clone(), Arc::clone(group));
                }
                (Key::Group(name), None) => {
                    groups.remove(name);
                }
                (Key::RuleSet(jurisdiction), Some(Value::RuleSet(rule_set))) => {
                    rule_sets.insert(jurisdiction.clone(), Arc::clone(rule_set));
                }
                (Key::RuleSet(jurisdiction), None) => {
                    rule_sets.remove(jurisdiction);
                }
                _ => {}
            }
        }
        let committed_at = change.committed_at.unwrap_or_else(|| self.clock.now());
        let mut journal = self
            .journal
            .get()
            .map(|journal| journal.lock().unwrap_or_else(PoisonError::into_inner));
        if let Some(journal) = journal.as_mut() {
            journal
                .append(revision, committed_at, &change.record)
                .map_err(StoreError::Journal)?;
        }
        let effective_as_of = change.effective_as_of.unwrap_or(head.effective_as_of);
        let vocabulary = Arc::clone(&head.vocabulary);
        let snapshot = Snapshot::new(revision, effective_as_of, vocabulary, groups, rule_sets);
        let value = change
            .values
            .iter()
            .find(|(key, _, _)| *key == change.key)
            .and_then(|(_, _, value)| value.clone());
        let event = Arc::new(ChangeEvent {
            revision,
            kind: change.kind,
            key: change.key,
            version: change.version,
            diff: change.diff,
            committed_at,
            jurisdictions: change.jurisdictions,
            value,
        });
        self.history
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .append(Arc::clone(&event), change.values);
        let snapshot = Arc::new(snapshot);
        self.current.store(Arc::clone(&snapshot));
        self.head_signal.send_replace(revision);
        let oldest_retained = self.oldest();
        if let Some(Err(error)) = journal
            .as_mut()
            .map(|journal| journal.maybe_snapshot(&snapshot, oldest_retained))
        {
            tracing::error!(%error, "cannot write a snapshot; the journal keeps growing");
        }
        Ok(event)
    }

    /// A watcher of `jurisdictions` (empty = all) from `start_revision` (inclusive; 0 = only
    /// changes after now).
    pub fn watch(
        self: &Arc<Self>,
        jurisdictions: Vec<String>,
        start_revision: u64,
    ) -> Result<Watcher, StoreError> {
        let history = self.read_history();
        let head = history.head();
        let next = match start_revision {
            0 => head + 1,
            start if start < history.oldest() => {
                return Err(StoreError::Compacted {
                    requested: start,
                    oldest: history.oldest(),
                });
            }
            start if start > head + 1 => {
                return Err(StoreError::FutureRevision {
                    requested: start,
                    head,
                });
            }
            start => start,
        };
        drop(history);
        Ok(Watcher::new(Arc::clone(self), jurisdictions, next))
    }

    fn lock_writer(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_history(&self) -> RwLockReadGuard<'_, History> {
        self.history.read().unwrap_or_else(PoisonError::into_inner)
    }
}
