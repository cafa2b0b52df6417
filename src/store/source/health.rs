//! How fresh a replica is, as its source of truth reports it: whether the shared log
//! answered lately, and how far this replica's head is behind the log's head. Health turns
//! NOT_SERVING when the log has been out of reach longer than the allowed staleness; reads
//! keep being served from memory.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Contact with a shared commit log, updated by the source's own heartbeat.
#[derive(Debug)]
pub struct SourceHealth {
    last_contact: Mutex<Instant>,
    log_head: AtomicU64,
    max_staleness: Duration,
}

/// A replica's freshness at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// The log answered within the allowed staleness.
    pub source_up: bool,
    /// Revisions the log has that this replica has not installed.
    pub lag: u64,
}

impl SourceHealth {
    /// Contact made now, allowing `max_staleness` without it.
    pub fn new(max_staleness: Duration) -> Self {
        Self {
            last_contact: Mutex::new(Instant::now()),
            log_head: AtomicU64::new(0),
            max_staleness,
        }
    }

    /// The log answered and its head is `log_head`.
    pub fn contact(&self, log_head: u64) {
        *self
            .last_contact
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        self.log_head.fetch_max(log_head, Ordering::AcqRel);
    }

    /// The freshness of a replica whose head is `head`.
    pub fn freshness(&self, head: u64) -> Freshness {
        let since = self
            .last_contact
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .elapsed();
        Freshness {
            source_up: since <= self.max_staleness,
            lag: self.log_head.load(Ordering::Acquire).saturating_sub(head),
        }
    }
}
