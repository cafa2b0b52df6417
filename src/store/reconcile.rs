//! GitOps: reconciling the store with a rule directory, at start and on SIGHUP.
//!
//! A rule set or group whose file changed since it was last applied is committed as an
//! ordinary new version (with its event and diff); a removed rule-set file deletes the rule
//! set; unchanged files commit nothing, so writes made through the API are kept unless the
//! file for the same key changed — then the file wins, and the log says so. What was last
//! applied is remembered per key (in `applied-files.json` in the data directory, if any).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::Library;

use super::error::StoreError;
use super::event::Key;
use super::{Store, WriteOutcome};

/// What each file held when it was last applied, by key (`rule_set/CN`, `group/asean`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFiles(BTreeMap<String, String>);

fn key_name(key: &Key) -> String {
    match key {
        Key::RuleSet(jurisdiction) => format!("rule_set/{jurisdiction}"),
        Key::Group(name) => format!("group/{name}"),
    }
}

fn canonical<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl AppliedFiles {
    /// Every entry of `library`, as applied.
    pub fn of(library: &Library) -> Self {
        let rule_sets = library.rule_sets.iter().map(|(jurisdiction, rule_set)| {
            (
                key_name(&Key::RuleSet(jurisdiction.clone())),
                canonical(rule_set),
            )
        });
        let groups = library
            .groups
            .iter()
            .map(|(name, group)| (key_name(&Key::Group(name.clone())), canonical(group)));
        Self(rule_sets.chain(groups).collect())
    }

    /// Reads the record kept in a data directory (empty if there is none yet).
    pub fn load(dir: &Path) -> Result<Option<Self>, String> {
        let path = Self::path(dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|error| format!("{}: {error}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(format!("{}: {error}", path.display())),
        }
    }

    /// Writes the record into a data directory atomically.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        let path = Self::path(dir);
        let temporary = path.with_extension("tmp");
        let text = serde_json::to_vec(self).map_err(|error| error.to_string())?;
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|error| format!("{}: {error}", path.display()))
    }

    fn path(dir: &Path) -> PathBuf {
        dir.join("applied-files.json")
    }
}

/// What a reconciliation committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Revisions committed, in order.
    pub revisions: Vec<u64>,
}

/// Writes `wanted` unless the store holds it already; returns the revision written. A
/// compare-and-set conflict means another writer (another replica reconciling the same
/// file) changed the entry meanwhile: look again rather than fail.
fn converge<T: PartialEq>(
    current: impl Fn() -> Option<(u64, T)>,
    wanted: &T,
    put: impl Fn(u64) -> Result<WriteOutcome, StoreError>,
) -> Result<Option<u64>, StoreError> {
    let mut attempts = 0;
    loop {
        let now = current();
        if now.as_ref().is_some_and(|(_, value)| value == wanted) {
            return Ok(None);
        }
        match put(now.map_or(0, |(version, _)| version)) {
            Ok(outcome) => return Ok(Some(outcome.revision)),
            Err(StoreError::Conflict { .. }) if attempts < 10 => attempts += 1,
            Err(error) => return Err(error),
        }
    }
}

impl Store {
    /// Brings the store in line with `library` given what was `applied` before; returns
    /// what it committed and updates `applied`. Vocabulary changes are not applied (the
    /// vocabulary is fixed for the life of a store) and are reported as an error.
    pub fn reconcile(
        &self,
        library: &Library,
        applied: &mut AppliedFiles,
    ) -> Result<Reconciled, StoreError> {
        let head = self.snapshot();
        if library.vocabulary != head.vocabulary.definitions {
            tracing::warn!(
                "the rule directory's vocabulary changed: vocabulary changes need a new store (restart without --data-dir)"
            );
        }
        let mut done = Reconciled::default();
        let wanted = AppliedFiles::of(library);
        // Groups first, so rule sets that reference a new group validate.
        for (name, group) in &library.groups {
            let key = key_name(&Key::Group(name.clone()));
            if applied.0.get(&key) == wanted.0.get(&key) {
                continue;
            }
            let current = || {
                self.snapshot()
                    .groups
                    .get(name)
                    .map(|g| (g.version, g.group.as_ref().clone()))
            };
            if current().is_some_and(|(_, now)| now == *group) {
                continue;
            }
            if current().is_some() {
                tracing::info!(
                    group = name.as_str(),
                    "the group's file changed: the file replaces the current version"
                );
            }
            let put = |version| self.put_group(group.clone(), version, false);
            let Some(revision) = converge(current, group, put)? else {
                continue;
            };
            done.revisions.push(revision);
        }
        for (jurisdiction, rule_set) in &library.rule_sets {
            let key = key_name(&Key::RuleSet(jurisdiction.clone()));
            if applied.0.get(&key) == wanted.0.get(&key) {
                continue;
            }
            let current = || {
                self.snapshot()
                    .rule_sets
                    .get(jurisdiction)
                    .map(|r| (r.version, r.source.as_ref().clone()))
            };
            if current().is_some_and(|(_, now)| now == *rule_set) {
                continue;
            }
            if let Some((version, _)) = current() {
                tracing::info!(
                    jurisdiction = jurisdiction.as_str(),
                    replaced_version = version,
                    "the rule set's file changed: the file replaces the current version (including any API write)"
                );
            }
            let put = |version| self.put_rule_set(rule_set.clone(), version, false);
            let Some(revision) = converge(current, rule_set, put)? else {
                continue;
            };
            done.revisions.push(revision);
        }
        for key in applied.0.keys() {
            let Some(jurisdiction) = key.strip_prefix("rule_set/") else {
                if !wanted.0.contains_key(key) {
                    tracing::warn!(
                        key = key.as_str(),
                        "a group file was removed: groups are not deleted"
                    );
                }
                continue;
            };
            if library.rule_sets.contains_key(jurisdiction) {
                continue;
            }
            if let Some(current) = self.snapshot().rule_sets.get(jurisdiction) {
                tracing::info!(
                    jurisdiction,
                    "the rule set's file was removed: deleting the rule set"
                );
                match self.delete_rule_set(jurisdiction, current.version) {
                    Ok(outcome) => done.revisions.push(outcome.revision),
                    // Another replica reconciling the same directory deleted it first.
                    Err(StoreError::NotFound { .. } | StoreError::Conflict { .. })
                        if !self.snapshot().rule_sets.contains_key(jurisdiction) => {}
                    Err(error) => return Err(error),
                }
            }
        }
        *applied = wanted;
        Ok(done)
    }
}
