//! Reads: any retained revision as a snapshot, an entry at the head, a revision or a
//! version, and an entry's version history.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;

use crate::engine::{CompiledRuleSet, Group, Snapshot};

use super::error::StoreError;
use super::event::{ChangeKind, Key, Value};
use super::{At, Store, VersionRecord};

impl Store {
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
}
