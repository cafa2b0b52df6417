//! The effective-date scheduler: when a rule's `effective_from` or `effective_until` passes,
//! it commits a `BECAME_EFFECTIVE` change per affected jurisdiction, so no decision changes
//! without an event.

use std::future::Future;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::Store;
use super::event::{ChangeKind, Diff, Key, Value};
use super::persist::Record;
use super::write::Change;
use crate::engine::CompiledRuleSet;

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
        let mut changes: Vec<Change> = head
            .rule_sets
            .values()
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
        changes
            .into_iter()
            .filter_map(|change| {
                let revision = self.snapshot().revision + 1;
                self.install_locked(&writer, revision, change)
                    .ok()
                    .map(|event| event.revision)
            })
            .collect()
    }
}

/// The `BECAME_EFFECTIVE` change of `rule_set` at `boundary`, if any of its rules starts or
/// stops applying then. `last` marks the change that moves the effective time on.
pub(crate) fn boundary_change(
    rule_set: &Arc<CompiledRuleSet>,
    boundary: Timestamp,
    last: bool,
) -> Option<Change> {
    let date = boundary.to_zoned(TimeZone::UTC).date();
    let ids = |started: bool| -> Vec<String> {
        rule_set
            .source
            .rules
            .iter()
            .filter(|rule| if started { rule.effective_from } else { rule.effective_until } == Some(date))
            .map(|rule| rule.id.clone())
            .collect()
    };
    let diff = Diff {
        added: ids(true),
        removed: ids(false),
        modified: Vec::new(),
    };
    if diff.added.is_empty() && diff.removed.is_empty() {
        return None;
    }
    let jurisdiction = rule_set.jurisdiction.to_string();
    let key = Key::RuleSet(jurisdiction.clone());
    Some(Change {
        kind: ChangeKind::BecameEffective,
        version: rule_set.version,
        diff,
        jurisdictions: vec![jurisdiction.clone()],
        values: vec![(
            key.clone(),
            rule_set.version,
            Some(Value::RuleSet(Arc::clone(rule_set))),
        )],
        key,
        effective_as_of: last.then_some(boundary),
        record: Record::BecameEffective {
            jurisdiction,
            boundary,
            last,
        },
        committed_at: None,
    })
}

async fn sleep_until(store: &Store, boundary: Option<Timestamp>) {
    match boundary {
        Some(boundary) => store.clock.sleep_until(boundary).await,
        None => std::future::pending().await,
    }
}
