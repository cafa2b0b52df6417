//! Change events: the change log is the history itself, one event per committed revision.

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;

use crate::engine::{CompiledRuleSet, Group};

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A rule set was created.
    Created,
    /// A rule set was replaced by a new version.
    Updated,
    /// A rule set was deleted.
    Deleted,
    /// A country group was created or changed; delivered to watchers of every jurisdiction
    /// whose rules reference it.
    GroupUpdated,
    /// A rule's `effective_from` or `effective_until` passed, so decisions change now.
    BecameEffective,
}

/// The entry a change is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// A rule set, by jurisdiction.
    RuleSet(String),
    /// A country group, by name.
    Group(String),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::RuleSet(jurisdiction) => write!(f, "rule set {jurisdiction}"),
            Key::Group(name) => write!(f, "group {name}"),
        }
    }
}

/// What changed inside the entry: rule ids for rule sets, member codes for groups. For
/// `BECAME_EFFECTIVE`, `added` lists rules that started to apply and `removed` those that
/// stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Ids that are new.
    pub added: Vec<String>,
    /// Ids that are gone.
    pub removed: Vec<String>,
    /// Ids whose content changed.
    pub modified: Vec<String>,
}

/// The content an entry has after a change (`None` once deleted).
#[derive(Debug, Clone)]
pub enum Value {
    /// A compiled rule set.
    RuleSet(Arc<CompiledRuleSet>),
    /// A group.
    Group(Arc<Group>),
}

/// One committed change.
#[derive(Debug, Clone)]
pub struct ChangeEvent {
    /// The revision this change created.
    pub revision: u64,
    /// What it did.
    pub kind: ChangeKind,
    /// The entry it changed.
    pub key: Key,
    /// The entry's version after the change (for a deletion, the version deleted).
    pub version: u64,
    /// What changed inside the entry.
    pub diff: Diff,
    /// When it was committed.
    pub committed_at: Timestamp,
    /// Jurisdictions whose rules the change affects: the rule set itself, or every rule set
    /// referencing a changed group. Watch filters match on these.
    pub jurisdictions: Vec<String>,
    /// The entry's content after the change.
    pub value: Option<Value>,
}

impl ChangeEvent {
    /// Whether a watcher of `jurisdictions` (empty = all) should see this event.
    pub fn concerns(&self, jurisdictions: &[String]) -> bool {
        jurisdictions.is_empty() || self.jurisdictions.iter().any(|j| jurisdictions.contains(j))
    }

    /// The rule set's content after the change, for rule-set events.
    pub fn rule_set(&self) -> Option<&Arc<CompiledRuleSet>> {
        match &self.value {
            Some(Value::RuleSet(rule_set)) => Some(rule_set),
            _ => None,
        }
    }
}
