//! The versioned in-memory rule store (DESIGN.md section 3).
//!
//! One global revision (1 = the loaded library); a version per rule set and group. Readers
//! take the head [`Snapshot`] from an [`ArcSwap`] and never block writers. Every commit is
//! one [`ChangeEvent`] in a bounded history from which any retained revision can be read and
//! watchers catch up. Deciding the next revision ([`Store::put_rule_set`] and friends) is
//! kept apart from installing a change at a given revision ([`Store::install_record`]): every
//! committed record, whatever its source, is installed through that one path.
//!
//! Files: `record` (what is committed), `write` (preparing a change against the head),
//! `history`, `event`, `schedule` (effective dates), `reconcile` (GitOps), `watch` (cursors),
//! `read` (retained revisions and versions) and `source/` (where committed records go: the
//! `--data-dir` journal).

mod clock;
mod error;
mod event;
mod history;
mod read;
pub mod reconcile;
mod record;
mod schedule;
pub mod source;
pub mod watch;
mod write;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use arc_swap::ArcSwap;
use jiff::{SignedDuration, Timestamp};

use crate::engine::Snapshot;
use crate::model::{CountryGroup, Library, RuleSet};

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::StoreError;
pub use event::{ChangeEvent, ChangeKind, Diff, Key, Value};
pub use record::{Committed, Record};
#[cfg(feature = "etcd")]
pub use source::etcd::{EtcdError, EtcdOptions};
pub use source::journal::{DurabilityOptions, PersistError};
pub use write::Change;

use history::History;
pub use source::health::Freshness;
use source::health::SourceHealth;
use source::{AppendError, CommitLog};

/// How long a write waits to catch up with a revision another replica committed first.
const CATCH_UP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Where a change being installed comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A commit made here: it goes to the commit log first.
    Fresh,
    /// A record read back from the commit log.
    Log,
}

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
    /// The log commits are appended to before they are visible (with a data dir).
    log: std::sync::OnceLock<Mutex<Box<dyn CommitLog>>>,
    /// The store's identity: made with revision 1, kept with the data.
    store_id: String,
    /// Contact with a shared commit log (etcd); none for a store of its own.
    source_health: std::sync::OnceLock<Arc<SourceHealth>>,
}

impl Store {
    /// A store whose revision 1 is `library` (validated), keeping `history_revisions`
    /// revisions readable.
    /// The store gets a new random `store_id`.
    pub fn new(library: &Library, history_revisions: u64, clock: Arc<dyn Clock>) -> Arc<Self> {
        Self::from_library(library, history_revisions, clock, Self::new_id())
    }

    /// A new random store id (a ULID: unique, and sortable by when the store was made).
    pub(crate) fn new_id() -> String {
        ulid::Ulid::new().to_string()
    }

    /// A store whose revision 1 is `library`, with the given identity.
    pub(crate) fn from_library(
        library: &Library,
        history_revisions: u64,
        clock: Arc<dyn Clock>,
        store_id: String,
    ) -> Arc<Self> {
        let snapshot = Snapshot::from_library(library, 1, clock.now());
        Self::from_snapshot(snapshot, history_revisions, clock, store_id)
    }

    /// A store whose base revision is `snapshot`.
    pub(crate) fn from_snapshot(
        snapshot: Snapshot,
        history_revisions: u64,
        clock: Arc<dyn Clock>,
        store_id: String,
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
            log: std::sync::OnceLock::new(),
            store_id,
            source_health: std::sync::OnceLock::new(),
        })
    }

    /// Sends every later commit to `log` before it becomes visible. Set once, after the
    /// log's own records were installed.
    pub(crate) fn attach_log(&self, log: Box<dyn CommitLog>) {
        if self.log.set(Mutex::new(log)).is_err() {
            tracing::error!("a commit log was attached twice; keeping the first");
        }
    }

    /// How fresh this replica is; `None` for a store that is its own source of truth
    /// (always fresh).
    pub fn freshness(&self) -> Option<Freshness> {
        self.source_health
            .get()
            .map(|health| health.freshness(self.head()))
    }

    /// The store's identity: the same across restarts on one data directory, different for
    /// a store that starts a new history. Every response carries it.
    pub fn store_id(&self) -> &str {
        &self.store_id
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

    /// Creates (`expected_version` 0) or replaces a rule set.
    pub fn put_rule_set(
        &self,
        rule_set: RuleSet,
        expected_version: u64,
        validate_only: bool,
    ) -> Result<WriteOutcome, StoreError> {
        self.write(validate_only, |head| {
            write::put_rule_set(head, rule_set.clone(), expected_version)
        })
    }

    /// Deletes a rule set at `expected_version`.
    pub fn delete_rule_set(
        &self,
        jurisdiction: &str,
        expected_version: u64,
    ) -> Result<WriteOutcome, StoreError> {
        self.write(false, |head| {
            write::delete_rule_set(head, jurisdiction, expected_version)
        })
    }

    /// Creates (`expected_version` 0) or replaces a country group.
    pub fn put_group(
        &self,
        group: CountryGroup,
        expected_version: u64,
        validate_only: bool,
    ) -> Result<WriteOutcome, StoreError> {
        self.write(validate_only, |head| {
            write::put_group(head, group.clone(), expected_version)
        })
    }

    /// Prepares a change against the head and commits it. When the commit log says another
    /// writer committed that revision first (another replica), waits until this store has
    /// installed what it committed and prepares again: a compare-and-set conflict is then
    /// reported only when the entry's version really differs.
    fn write(
        &self,
        validate_only: bool,
        prepare: impl Fn(&Snapshot) -> Result<Change, StoreError>,
    ) -> Result<WriteOutcome, StoreError> {
        let deadline = std::time::Instant::now() + CATCH_UP_WAIT;
        loop {
            let writer = self.lock_writer();
            let change = prepare(&self.snapshot())?;
            match self.commit(&writer, change, validate_only) {
                Err(StoreError::Superseded { head }) => {
                    drop(writer);
                    self.wait_for_head(head, deadline)?;
                }
                outcome => return outcome,
            }
        }
    }

    /// Waits until the head reaches `revision` (installed from the commit log), at most
    /// until `deadline`.
    pub(crate) fn wait_for_head(
        &self,
        revision: u64,
        deadline: std::time::Instant,
    ) -> Result<(), StoreError> {
        while self.head() < revision {
            if std::time::Instant::now() >= deadline {
                return Err(StoreError::Journal(format!(
                    "another replica committed revision {revision}, and this replica has not caught up with it yet (at {}): try again",
                    self.head()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Ok(())
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
        let event = self.install_locked(writer, head + 1, change, Origin::Fresh)?;
        Ok(WriteOutcome {
            revision: event.revision,
            version: event.version,
            diff: event.diff.clone(),
            committed: true,
        })
    }

    /// Installs a committed record, which must be of the head revision + 1: the one path by
    /// which records read back from a source of truth become revisions.
    pub fn install_record(&self, committed: Committed) -> Result<Arc<ChangeEvent>, StoreError> {
        let writer = self.lock_writer();
        let mut change = write::prepare(&self.snapshot(), committed.record)?;
        change.committed_at = Some(committed.committed_at);
        self.install_locked(&writer, committed.revision, change, Origin::Log)
    }

    fn install_locked(
        &self,
        _writer: &MutexGuard<'_, ()>,
        revision: u64,
        change: Change,
        origin: Origin,
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
        let mut deleted_versions = head.deleted_versions.clone();
        for (key, version, value) in &change.values {
            if let Key::RuleSet(jurisdiction) = key {
                match value {
                    Some(_) => deleted_versions.remove(jurisdiction),
                    None => deleted_versions.insert(jurisdiction.clone(), *version),
                };
            }
        }
        let mut boundary_committed = head.boundary_committed.clone();
        if change.effective_as_of.is_some() {
            boundary_committed.clear();
        } else if change.kind == ChangeKind::BecameEffective {
            boundary_committed.extend(change.jurisdictions.iter().cloned());
        }
        let committed_at = change.committed_at.unwrap_or_else(|| self.clock.now());
        // Records read back from the log are in it already.
        let mut log = self
            .log
            .get()
            .filter(|_| origin == Origin::Fresh)
            .map(|log| log.lock().unwrap_or_else(PoisonError::into_inner));
        if let Some(log) = log.as_mut() {
            let committed = Committed {
                revision,
                committed_at,
                record: change.record,
            };
            log.append(&committed).map_err(|error| match error {
                AppendError::Superseded { head } => StoreError::Superseded { head },
                AppendError::Failed(reason) => StoreError::Journal(reason),
            })?;
        }
        let effective_as_of = change.effective_as_of.unwrap_or(head.effective_as_of);
        let vocabulary = Arc::clone(&head.vocabulary);
        let mut snapshot = Snapshot::new(revision, effective_as_of, vocabulary, groups, rule_sets);
        snapshot.deleted_versions = deleted_versions;
        snapshot.boundary_committed = boundary_committed;
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
        if let Some(log) = log.as_mut() {
            log.installed(&snapshot, oldest_retained);
        }
        Ok(event)
    }

    pub(crate) fn lock_writer(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn read_history(&self) -> RwLockReadGuard<'_, History> {
        self.history.read().unwrap_or_else(PoisonError::into_inner)
    }
}
