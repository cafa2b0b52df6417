//! Preparing writes: validation, compare-and-set, diff and compilation against the head
//! snapshot. Pure functions: deciding the revision and installing happen in the store.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::Timestamp;

use crate::engine::{CompiledRuleSet, Group, Snapshot};
use crate::model::{CountryCode, CountryGroup, RuleSet, validate};

use super::error::StoreError;
use super::event::{ChangeKind, Diff, Key, Value};
use super::record::Record;

/// A validated change, ready to be installed at some revision.
#[derive(Debug, Clone)]
pub struct Change {
    /// What it does.
    pub kind: ChangeKind,
    /// The entry it is about.
    pub key: Key,
    /// The entry's version after it (for a deletion, the version deleted).
    pub version: u64,
    /// What changes inside the entry.
    pub diff: Diff,
    /// Jurisdictions whose rules it affects.
    pub jurisdictions: Vec<String>,
    /// The new value of each entry it touches, with its version (`None` deletes).
    pub values: Vec<(Key, u64, Option<Value>)>,
    /// For `BECAME_EFFECTIVE`: the moment up to which effective dates are now accounted for.
    pub effective_as_of: Option<Timestamp>,
    /// The request that made the change, as the journal records it.
    pub record: Record,
    /// The commit time to record (replays keep the original); `None` = now.
    pub committed_at: Option<Timestamp>,
}

fn check_version(key: &Key, expected: u64, current: u64) -> Result<(), StoreError> {
    if expected == current {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            key: key.clone(),
            expected,
            current,
        })
    }
}

/// Prepares creating (`expected_version` 0) or replacing a rule set.
pub fn put_rule_set(
    head: &Snapshot,
    mut rule_set: RuleSet,
    expected_version: u64,
) -> Result<Change, StoreError> {
    let record = Record::PutRuleSet {
        rule_set: rule_set.clone(),
        expected_version,
    };
    let key = Key::RuleSet(rule_set.jurisdiction.clone());
    let violations = validate::rule_set(&rule_set, &head.vocabulary, &|name| {
        head.groups.contains_key(name)
    });
    if !violations.is_empty() {
        return Err(StoreError::Invalid { key, violations });
    }
    let current = head.rule_sets.get(&rule_set.jurisdiction);
    check_version(
        &key,
        expected_version,
        current.map_or(0, |current| current.version),
    )?;
    let mut diff = Diff::default();
    if let Some(current) = current {
        if current.source.profile == rule_set.profile {
            rule_set.profile = Arc::clone(&current.source.profile);
        }
        if current.source.category_sets == rule_set.category_sets {
            rule_set.category_sets = Arc::clone(&current.source.category_sets);
        }
        for rule in &mut rule_set.rules {
            match current.source.rules.iter().find(|old| old.id == rule.id) {
                Some(old) if old == rule => *rule = Arc::clone(old),
                Some(_) => diff.modified.push(rule.id.clone()),
                None => diff.added.push(rule.id.clone()),
            }
        }
        let new_ids: BTreeSet<&str> = rule_set.rules.iter().map(|rule| rule.id.as_str()).collect();
        diff.removed = current
            .source
            .rules
            .iter()
            .filter(|old| !new_ids.contains(old.id.as_str()))
            .map(|old| old.id.clone())
            .collect();
    } else {
        diff.added = rule_set.rules.iter().map(|rule| rule.id.clone()).collect();
    }
    // Versions never repeat for a key: a rule set created again after a deletion continues
    // from the version it was deleted at.
    let version = match current {
        Some(_) => expected_version + 1,
        None => {
            head.deleted_versions
                .get(&rule_set.jurisdiction)
                .copied()
                .unwrap_or(0)
                + 1
        }
    };
    let compiled = CompiledRuleSet::compile(
        Arc::new(rule_set),
        version,
        &head.vocabulary,
        &head.groups,
        current.map(Arc::as_ref),
    );
    let jurisdiction = compiled.jurisdiction.to_string();
    Ok(Change {
        kind: if current.is_some() {
            ChangeKind::Updated
        } else {
            ChangeKind::Created
        },
        version,
        diff,
        jurisdictions: vec![jurisdiction],
        values: vec![(
            key.clone(),
            version,
            Some(Value::RuleSet(Arc::new(compiled))),
        )],
        key,
        effective_as_of: None,
        record,
        committed_at: None,
    })
}

/// Prepares deleting a rule set at `expected_version`.
pub fn delete_rule_set(
    head: &Snapshot,
    jurisdiction: &str,
    expected_version: u64,
) -> Result<Change, StoreError> {
    let key = Key::RuleSet(jurisdiction.to_owned());
    let Some(current) = head.rule_sets.get(jurisdiction) else {
        return Err(StoreError::NotFound { key });
    };
    check_version(&key, expected_version, current.version)?;
    Ok(Change {
        kind: ChangeKind::Deleted,
        version: current.version,
        diff: Diff {
            removed: current
                .source
                .rules
                .iter()
                .map(|rule| rule.id.clone())
                .collect(),
            ..Diff::default()
        },
        jurisdictions: vec![jurisdiction.to_owned()],
        values: vec![(key.clone(), current.version, None)],
        key,
        effective_as_of: None,
        record: Record::DeleteRuleSet {
            jurisdiction: jurisdiction.to_owned(),
            expected_version,
        },
        committed_at: None,
    })
}

/// Prepares creating or replacing a country group; every rule set referencing it is
/// recompiled against the new members (at its current version).
pub fn put_group(
    head: &Snapshot,
    group: CountryGroup,
    expected_version: u64,
) -> Result<Change, StoreError> {
    let record = Record::PutGroup {
        group: group.clone(),
        expected_version,
    };
    let key = Key::Group(group.name.clone());
    let violations = validate::group(&group);
    if !violations.is_empty() {
        return Err(StoreError::Invalid { key, violations });
    }
    let current = head.groups.get(&group.name);
    check_version(
        &key,
        expected_version,
        current.map_or(0, |current| current.version),
    )?;
    let version = expected_version + 1;
    let new_group = Arc::new(Group::new(Arc::new(group), version));
    let old_members = current.map(|current| current.members).unwrap_or_default();
    // Members on both lists whose joined or left day changed.
    let dates_changed = |code: &str| {
        current.is_some_and(|current| {
            current.group.joined.get(code) != new_group.group.joined.get(code)
                || current.group.left.get(code) != new_group.group.left.get(code)
        })
    };
    let diff = Diff {
        added: new_group
            .members
            .iter()
            .filter(|c| !old_members.contains(*c))
            .map(|c| c.to_string())
            .collect(),
        removed: old_members
            .iter()
            .filter(|c| !new_group.members.contains(*c))
            .map(|c| c.to_string())
            .collect(),
        modified: new_group
            .group
            .members
            .iter()
            .filter(|code| {
                CountryCode::parse_assigned(code).is_some_and(|c| old_members.contains(c))
                    && dates_changed(code)
            })
            .cloned()
            .collect(),
    };
    let mut groups = head.groups.clone();
    groups.insert(new_group.group.name.clone(), Arc::clone(&new_group));
    let mut values = vec![(key.clone(), version, Some(Value::Group(new_group)))];
    let mut jurisdictions = Vec::new();
    for (jurisdiction, rule_set) in &head.rule_sets {
        if rule_set.groups_referenced.contains(key_name(&key)) {
            let recompiled = CompiledRuleSet::compile(
                Arc::clone(&rule_set.source),
                rule_set.version,
                &head.vocabulary,
                &groups,
                None,
            );
            values.push((
                Key::RuleSet(jurisdiction.clone()),
                rule_set.version,
                Some(Value::RuleSet(Arc::new(recompiled))),
            ));
            jurisdictions.push(jurisdiction.clone());
        }
    }
    Ok(Change {
        kind: ChangeKind::GroupUpdated,
        key,
        version,
        diff,
        jurisdictions,
        values,
        effective_as_of: None,
        record,
        committed_at: None,
    })
}

fn key_name(key: &Key) -> &str {
    match key {
        Key::RuleSet(name) | Key::Group(name) => name,
    }
}

/// The `BECAME_EFFECTIVE` change of `rule_set` at `boundary`, if any of its rules starts or
/// stops applying then. `last` marks the change that moves the effective time on.
pub(crate) fn boundary_change(
    rule_set: &Arc<CompiledRuleSet>,
    boundary: Timestamp,
    last: bool,
) -> Option<Change> {
    let date = boundary.to_zoned(rule_set.time_zone.clone()).date();
    let ids = |started: bool| -> Vec<String> {
        rule_set
            .source
            .rules
            .iter()
            .filter(|rule| if started { rule.effective_from } else { rule.effective_until } == Some(date))
            .map(|rule| rule.id.clone())
            .collect()
    };
    // Rules naming a group a member joins or leaves that day change what they match.
    let covers_change = rule_set.covers.dates().any(|day| day == date);
    let modified = rule_set
        .rules
        .iter()
        .filter(|rule| covers_change || rule.matcher.membership_dates().any(|day| day == date))
        .map(|rule| rule.id.to_string())
        .collect();
    let diff = Diff {
        added: ids(true),
        removed: ids(false),
        modified,
    };
    if diff.added.is_empty() && diff.removed.is_empty() && diff.modified.is_empty() {
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

/// The change a committed record makes to `head`: how a record from any source (journal
/// replay, a replica following the shared log) becomes a change to install.
pub(crate) fn prepare(head: &Snapshot, record: Record) -> Result<Change, StoreError> {
    match record {
        Record::PutRuleSet {
            rule_set,
            expected_version,
        } => put_rule_set(head, rule_set, expected_version),
        Record::DeleteRuleSet {
            jurisdiction,
            expected_version,
        } => delete_rule_set(head, &jurisdiction, expected_version),
        Record::PutGroup {
            group,
            expected_version,
        } => put_group(head, group, expected_version),
        Record::BecameEffective {
            jurisdiction,
            boundary,
            last,
        } => {
            let key = Key::RuleSet(jurisdiction.clone());
            head.rule_sets
                .get(&jurisdiction)
                .and_then(|rule_set| boundary_change(rule_set, boundary, last))
                .ok_or(StoreError::NotFound { key })
        }
    }
}
