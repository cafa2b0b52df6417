//! An immutable, consistent view of every rule set and group at one revision, with the
//! index the engine needs: which rule sets apply to data leaving each country.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;

use crate::model::country::SLOTS;
use crate::model::{CountryCode, Library, Vocabulary};

use super::compile::{CompiledRuleSet, Group, Groups};

/// Everything an assessment reads, frozen at one store revision.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The store revision this snapshot shows.
    pub revision: u64,
    /// The vocabulary flows are validated against.
    pub vocabulary: Arc<Vocabulary>,
    /// Country groups by name.
    pub groups: Groups,
    /// Rule sets by jurisdiction.
    pub rule_sets: BTreeMap<String, Arc<CompiledRuleSet>>,
    /// The time up to which rules' effective dates are accounted for by committed changes:
    /// the store commits a `BECAME_EFFECTIVE` change when a date passes and moves this on.
    pub effective_as_of: Timestamp,
    /// The first `effective_from` / `effective_until` moment after `effective_as_of`.
    pub next_boundary: Option<Timestamp>,
    /// Rule sets deleted at this revision's head, with the version they were deleted at, so
    /// one created again continues from that version + 1 (versions never repeat for a key).
    pub deleted_versions: BTreeMap<String, u64>,
    /// Jurisdictions whose `BECAME_EFFECTIVE` change for `next_boundary` is committed while
    /// the boundary is still open (the last change moves `effective_as_of` on and clears
    /// this), so a writer taking over a half-committed boundary commits each once.
    pub boundary_committed: std::collections::BTreeSet<String>,
    /// For each country index, the rule sets applying to data leaving it, by jurisdiction.
    applicable: Vec<Vec<Arc<CompiledRuleSet>>>,
}

impl Snapshot {
    /// Builds a snapshot from compiled parts.
    pub fn new(
        revision: u64,
        effective_as_of: Timestamp,
        vocabulary: Arc<Vocabulary>,
        groups: Groups,
        rule_sets: BTreeMap<String, Arc<CompiledRuleSet>>,
    ) -> Self {
        let mut applicable = vec![Vec::new(); SLOTS];
        for rule_set in rule_sets.values() {
            for country in rule_set.applies_to.iter() {
                applicable[country.index()].push(Arc::clone(rule_set));
            }
        }
        // A date's local midnight is after `effective_as_of` exactly when the date is after
        // the local date of `effective_as_of`: per rule set, compare dates in its time zone
        // and convert only its earliest date.
        let next_boundary = rule_sets
            .values()
            .filter_map(|rule_set| {
                let zone = &rule_set.time_zone;
                let as_of_date = effective_as_of.to_zoned(zone.clone()).date();
                rule_set
                    .rules
                    .iter()
                    .flat_map(|rule| [rule.matcher.effective_from, rule.matcher.effective_until])
                    .flatten()
                    .chain(rule_set.membership_dates.iter().copied())
                    .filter(|date| *date > as_of_date)
                    .min()
                    .and_then(|date| date.to_zoned(zone.clone()).ok())
                    .map(|midnight| midnight.timestamp())
            })
            .min();
        Self {
            revision,
            vocabulary,
            groups,
            rule_sets,
            effective_as_of,
            next_boundary,
            deleted_versions: BTreeMap::new(),
            boundary_committed: std::collections::BTreeSet::new(),
            applicable,
        }
    }

    /// Compiles a validated library, every entry at version 1, with effective dates
    /// accounted for up to `effective_as_of`.
    pub fn from_library(library: &Library, revision: u64, effective_as_of: Timestamp) -> Self {
        Self::from_versioned_library(library, revision, effective_as_of, &|_| 1, &|_| 1)
    }

    /// Compiles a validated library whose entries have the given versions (by jurisdiction
    /// and by group name): how a persisted snapshot is restored.
    pub fn from_versioned_library(
        library: &Library,
        revision: u64,
        effective_as_of: Timestamp,
        rule_set_version: &dyn Fn(&str) -> u64,
        group_version: &dyn Fn(&str) -> u64,
    ) -> Self {
        let vocabulary = Arc::new(Vocabulary::new(library.vocabulary.clone()));
        let groups: Groups = library
            .groups
            .iter()
            .map(|(name, group)| {
                let group = Group::new(Arc::new(group.clone()), group_version(name));
                (name.clone(), Arc::new(group))
            })
            .collect();
        let rule_sets = library
            .rule_sets
            .iter()
            .map(|(jurisdiction, rule_set)| {
                let version = rule_set_version(jurisdiction);
                let compiled = CompiledRuleSet::compile(
                    Arc::new(rule_set.clone()),
                    version,
                    &vocabulary,
                    &groups,
                    None,
                );
                (jurisdiction.clone(), Arc::new(compiled))
            })
            .collect();
        Self::new(revision, effective_as_of, vocabulary, groups, rule_sets)
    }

    /// The snapshot's content as a library, with each entry's version.
    pub fn to_versioned_library(&self) -> (Library, BTreeMap<String, u64>, BTreeMap<String, u64>) {
        let library = Library {
            vocabulary: self.vocabulary.definitions.clone(),
            groups: self
                .groups
                .iter()
                .map(|(name, group)| (name.clone(), group.group.as_ref().clone()))
                .collect(),
            rule_sets: self
                .rule_sets
                .iter()
                .map(|(jurisdiction, rule_set)| {
                    (jurisdiction.clone(), rule_set.source.as_ref().clone())
                })
                .collect(),
        };
        let rule_set_versions = self
            .rule_sets
            .iter()
            .map(|(j, r)| (j.clone(), r.version))
            .collect();
        let group_versions = self
            .groups
            .iter()
            .map(|(n, g)| (n.clone(), g.version))
            .collect();
        (library, rule_set_versions, group_versions)
    }

    /// The rule sets that apply to data leaving `country`, in jurisdiction order.
    pub fn applicable(&self, country: CountryCode) -> &[Arc<CompiledRuleSet>] {
        &self.applicable[country.index()]
    }
}
