//! Errors of the store layer; the gRPC layer maps each to one status code.

use crate::model::Violation;

use super::event::Key;

/// Why a store read or write failed. A failed write changes nothing and costs no revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The new content is invalid; every problem is listed by field path.
    #[error("invalid {key}: {}", .violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// The entry written.
        key: Key,
        /// Every problem found.
        violations: Vec<Violation>,
    },
    /// No such entry (at the requested revision).
    #[error("{key} not found")]
    NotFound {
        /// The entry asked for.
        key: Key,
    },
    /// The retained history holds no such version of the entry.
    #[error("{key} has no retained version {version}")]
    VersionNotFound {
        /// The entry asked for.
        key: Key,
        /// The version asked for.
        version: u64,
    },
    /// Compare-and-set failed.
    #[error("version conflict on {key}: expected version {expected}, current version is {current}")]
    Conflict {
        /// The entry written.
        key: Key,
        /// The version the writer expected (0 = must not exist).
        expected: u64,
        /// The version it has (0 = does not exist).
        current: u64,
    },
    /// The revision is older than the oldest retained one.
    #[error("revision {requested} has been compacted; the oldest retained revision is {oldest}")]
    Compacted {
        /// The revision asked for.
        requested: u64,
        /// The oldest revision still readable.
        oldest: u64,
    },
    /// The revision is newer than the head.
    #[error("revision {requested} is in the future; the current revision is {head}")]
    FutureRevision {
        /// The revision asked for.
        requested: u64,
        /// The current revision.
        head: u64,
    },
    /// The change could not be made durable; nothing was committed.
    #[error("{0}")]
    Journal(String),
    /// Another writer committed the revision this change was prepared for (another
    /// replica); the shared log's head is now `head`. The store catches up and retries.
    #[error("revision {head} was committed by another replica first")]
    Superseded {
        /// The shared log's head.
        head: u64,
    },
    /// A change was offered for installation at a revision other than the next one.
    #[error("cannot install revision {revision}: the next revision is {expected}")]
    OutOfOrder {
        /// The revision offered.
        revision: u64,
        /// The revision the store expects next.
        expected: u64,
    },
}
