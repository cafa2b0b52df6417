//! Watchers: cursors into the change log, woken by the head-revision signal. A watcher holds
//! no buffer: however slow, it costs its cursor and catches up from history. Only a watcher
//! that falls behind compaction is ended, with the revision to resume from.

use std::sync::Arc;

use tokio::sync::watch;

use super::Store;
use super::error::StoreError;
use super::event::ChangeEvent;
use super::history::Next;

/// Why a watcher stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    /// The watcher fell behind compaction: events from `resume_from` are gone.
    #[error(
        "watcher fell behind compaction: revision {resume_from} is gone, the oldest retained revision is {oldest}"
    )]
    Compacted {
        /// The next revision the watcher needed.
        resume_from: u64,
        /// The oldest retained revision.
        oldest: u64,
    },
    /// The store is gone.
    #[error("the store has shut down")]
    Closed,
}

/// A cursor over the change log for a set of jurisdictions (empty = all).
#[derive(Debug)]
pub struct Watcher {
    store: Arc<Store>,
    jurisdictions: Vec<String>,
    next: u64,
    head: watch::Receiver<u64>,
}

impl Watcher {
    pub(crate) fn new(store: Arc<Store>, jurisdictions: Vec<String>, next: u64) -> Self {
        let head = store.head_signal.subscribe();
        Self {
            store,
            jurisdictions,
            next,
            head,
        }
    }

    /// The next revision this watcher will look at: a reconnecting client resumes here.
    pub fn next_revision(&self) -> u64 {
        self.next
    }

    /// The next matching event that is already committed, without waiting.
    pub fn try_next(&mut self) -> Result<Option<Arc<ChangeEvent>>, WatchError> {
        let found = self
            .store
            .read_history()
            .next_matching(self.next, &self.jurisdictions);
        match found {
            Ok(Next::Event(event)) => {
                self.next = event.revision + 1;
                Ok(Some(event))
            }
            Ok(Next::UpToDate(head)) => {
                self.next = head + 1;
                Ok(None)
            }
            Err(StoreError::Compacted { oldest, .. }) => Err(WatchError::Compacted {
                resume_from: self.next,
                oldest,
            }),
            Err(_) => Err(WatchError::Closed),
        }
    }

    /// Waits for the next matching event.
    pub async fn next(&mut self) -> Result<Arc<ChangeEvent>, WatchError> {
        loop {
            if let Some(event) = self.try_next()? {
                return Ok(event);
            }
            let wanted = self.next;
            self.head
                .wait_for(|head| *head >= wanted)
                .await
                .map_err(|_| WatchError::Closed)?;
        }
    }
}

impl Store {
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

    /// Waits, at most `timeout`, until the head reaches `revision`, when this store follows
    /// a shared log (another replica may have committed it already); returns at once for a
    /// store that is its own source of truth, where a future revision stays an error.
    pub async fn catch_up_to(&self, revision: u64, timeout: std::time::Duration) {
        if self.freshness().is_none() || self.head() >= revision {
            return;
        }
        let mut head = self.head_signal.subscribe();
        let _ = tokio::time::timeout(timeout, head.wait_for(|head| *head >= revision)).await;
    }
}
