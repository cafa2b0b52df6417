//! The effective-date scheduler: when a rule's `effective_from` or `effective_until` passes,
//! it commits a `BECAME_EFFECTIVE` change per affected jurisdiction, so no decision changes
//! without an event.

use std::future::Future;
use std::sync::Arc;

use jiff::Timestamp;

use super::error::StoreError;
use super::record::Record;
use super::write::{Change, boundary_change};
use super::{Origin, Store};

impl Store {
    /// Runs until `shutdown` completes, committing effective-date changes as the clock
    /// passes them.
    pub async fn run_effective_dates(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        let mut head = self.head_signal.subscribe();
        tokio::pin!(shutdown);
        loop {
            let next = self.snapshot().next_boundary;
            tokio::select! {
                () = &mut shutdown => return,
                () = sleep_until(&self, next) => {
                    if let Some(boundary) = next {
                        self.commit_boundary(boundary);
                    }
                }
                changed = head.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Commits the `BECAME_EFFECTIVE` changes of `boundary` if it is still the head's next
    /// boundary; returns the revisions committed.
    pub fn commit_boundary(&self, boundary: Timestamp) -> Vec<u64> {
        let writer = self.lock_writer();
        let head = self.snapshot();
        if head.next_boundary != Some(boundary) {
            return Vec::new();
        }
        // Jurisdictions another writer already committed for this boundary (a replica that
        // stopped half way) are not committed again.
        let mut changes: Vec<Change> = head
            .rule_sets
            .values()
            .filter(|rule_set| !head.boundary_committed.contains(&*rule_set.jurisdiction))
            .filter_map(|rule_set| boundary_change(rule_set, boundary, false))
            .collect();
        // Only the last change moves the effective time on, so no reader sees the new
        // dates in effect before every jurisdiction's event is committed.
        if let Some(last) = changes.last_mut() {
            last.effective_as_of = Some(boundary);
            last.record = Record::BecameEffective {
                jurisdiction: last.jurisdictions.concat(),
                boundary,
                last: true,
            };
        }
        let mut committed = Vec::new();
        for change in changes {
            let revision = self.snapshot().revision + 1;
            match self.install_locked(&writer, revision, change, Origin::Fresh) {
                Ok(event) => committed.push(event.revision),
                Err(StoreError::Superseded { head }) => {
                    // Another replica is committing this boundary: follow it instead.
                    drop(writer);
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                    if let Err(error) = self.wait_for_head(head, deadline) {
                        tracing::warn!(%error, "effective-date change");
                    }
                    return committed;
                }
                Err(error) => {
                    tracing::error!(%error, "cannot commit an effective-date change");
                    return committed;
                }
            }
        }
        committed
    }
}

async fn sleep_until(store: &Store, boundary: Option<Timestamp>) {
    match boundary {
        Some(boundary) => store.clock.sleep_until(boundary).await,
        None => std::future::pending().await,
    }
}
