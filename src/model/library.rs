//! A whole rule library as loaded from a directory: vocabulary, groups and rule sets.

use std::collections::BTreeMap;

use super::rule::{CountryGroup, RuleSet};
use super::validate::{self, Violation};
use super::vocabulary::{Vocabulary, VocabularyFile};

/// Everything a rule directory defines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Library {
    /// The merged vocabulary.
    pub vocabulary: VocabularyFile,
    /// Country groups by name.
    pub groups: BTreeMap<String, CountryGroup>,
    /// Rule sets by jurisdiction.
    pub rule_sets: BTreeMap<String, RuleSet>,
}

/// Which entry of a library a violation is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Entry {
    /// The merged vocabulary.
    Vocabulary,
    /// A country group, by name.
    Group(String),
    /// A rule set, by jurisdiction.
    RuleSet(String),
}

impl Library {
    /// Validates every entry against the others; returns every violation found.
    pub fn validate(&self) -> Vec<(Entry, Violation)> {
        let mut found: Vec<(Entry, Violation)> = validate::vocabulary(&self.vocabulary)
            .into_iter()
            .map(|violation| (Entry::Vocabulary, violation))
            .collect();
        for (name, group) in &self.groups {
            found.extend(
                validate::group(group)
                    .into_iter()
                    .map(|v| (Entry::Group(name.clone()), v)),
            );
        }
        let vocabulary = Vocabulary::new(self.vocabulary.clone());
        let group_exists = |name: &str| self.groups.contains_key(name);
        for (jurisdiction, rule_set) in &self.rule_sets {
            found.extend(
                validate::rule_set(rule_set, &vocabulary, &group_exists)
                    .into_iter()
                    .map(|v| (Entry::RuleSet(jurisdiction.clone()), v)),
            );
        }
        found
    }

    /// Number of rules over all rule sets.
    pub fn rule_count(&self) -> usize {
        self.rule_sets
            .values()
            .map(|rule_set| rule_set.rules.len())
            .sum()
    }
}
