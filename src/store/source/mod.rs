//! Where committed records go to and come from: the seam between the in-memory store and
//! its source of truth.
//!
//! The store decides nothing about durability. Before a commit becomes visible it hands the
//! [`Committed`] record to its [`CommitLog`]; records read back from the log (a journal
//! replayed at start) are installed through the same path as fresh commits
//! (`Store::install_record`). `journal` is the `--data-dir` home of the log.

#[cfg(feature = "etcd")]
pub mod etcd;
pub mod health;
pub mod journal;
pub(crate) mod state;

use std::fmt::Debug;

use crate::engine::Snapshot;

use super::record::Committed;

/// A durable, ordered log of committed records that the store appends to.
pub trait CommitLog: Send + Debug {
    /// Makes `committed` durable. Called under the store's writer lock with the revision
    /// after the head; an error refuses the commit, and nothing of it may remain in the log.
    fn append(&mut self, committed: &Committed) -> Result<(), AppendError>;

    /// Told after `snapshot` was installed, with the oldest revision the history still
    /// retains, so the log can checkpoint and drop what no retained revision needs.
    fn installed(&mut self, snapshot: &Snapshot, oldest_retained: u64);
}

/// Why a record was not appended; nothing of it is in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendError {
    /// Another writer appended this revision first; the log's head is now `head`.
    Superseded {
        /// The log's head revision.
        head: u64,
    },
    /// The log could not take the record.
    Failed(String),
}
