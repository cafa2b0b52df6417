//! Compiled forms of rule sets and country groups: every id interned, every group and
//! category set resolved into a fixed bitset, so evaluating a rule allocates nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::civil::Date;

use crate::model::rule::{GROUP_PREFIX, SET_PREFIX};
use crate::model::{
    Conditions, CountryCode, CountryGroup, CountrySet, Effect, IdSet, Kind, Rule, RuleSet,
    Vocabulary,
};

/// A country group at one version, with its members as a bitset.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group as written.
    pub group: Arc<CountryGroup>,
    /// Its version (1, 2, ...).
    pub version: u64,
    /// Every member listed, whatever its dates.
    pub members: CountrySet,
    /// Its members as of any day: the undated ones always, the others in their window.
    pub(crate) places: Places,
}

impl Group {
    /// Resolves a validated group's members.
    pub fn new(group: Arc<CountryGroup>, version: u64) -> Self {
        let mut members = CountrySet::EMPTY;
        let mut places = Places::default();
        let mut dated = Vec::new();
        for member in &group.members {
            let Some(code) = CountryCode::parse_assigned(member) else {
                continue;
            };
            members.insert(code);
            let from = group.joined.get(member).copied();
            let until = group.left.get(member).copied();
            if from.is_none() && until.is_none() {
                places.always.insert(code);
            } else {
                dated.push(Window { code, from, until });
            }
        }
        places.dated = dated.into();
        Self {
            group,
            version,
            members,
            places,
        }
    }
}

/// When a dated member counts: from `from` (inclusive) until `until` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) code: CountryCode,
    pub(crate) from: Option<Date>,
    pub(crate) until: Option<Date>,
}

/// A resolved list of places: codes that always count, and members of dated groups that
/// count only on the days of their window.
#[derive(Debug, Clone, Default)]
pub(crate) struct Places {
    pub(crate) always: CountrySet,
    pub(crate) dated: Arc<[Window]>,
}

impl Places {
    /// Whether `code` is one of the places on `today`.
    pub(crate) fn contains(&self, code: CountryCode, today: Date) -> bool {
        self.always.contains(code)
            || self.dated.iter().any(|window| {
                window.code == code
                    && window.from.is_none_or(|from| today >= from)
                    && window.until.is_none_or(|until| today < until)
            })
    }

    /// Every code that is one of the places on some day.
    pub(crate) fn ever(&self) -> CountrySet {
        let mut set = self.always;
        for window in self.dated.iter() {
            set.insert(window.code);
        }
        set
    }

    /// The days on which membership changes.
    pub(crate) fn dates(&self) -> impl Iterator<Item = Date> + '_ {
        self.dated
            .iter()
            .flat_map(|window| [window.from, window.until])
            .flatten()
    }

    fn extend(&mut self, other: &Places) {
        self.always.extend(&other.always);
        if !other.dated.is_empty() {
            self.dated = self
                .dated
                .iter()
                .chain(other.dated.iter())
                .copied()
                .collect();
        }
    }
}

/// Groups by name, as rule sets are compiled against them.
pub type Groups = BTreeMap<String, Arc<Group>>;

/// A block of conditions with every reference resolved. `None` means "not stated".
#[derive(Debug, Clone, Default)]
pub(crate) struct CompiledConditions {
    pub(crate) destinations_in: Option<Places>,
    pub(crate) destinations_not_in: Option<Places>,
    pub(crate) origin_in: Option<Places>,
    pub(crate) origin_not_in: Option<Places>,
    pub(crate) categories_any: Option<IdSet>,
    pub(crate) min_subjects: Option<u64>,
    pub(crate) max_subjects: Option<u64>,
    pub(crate) purposes_any: Option<IdSet>,
    pub(crate) protection_any: Option<IdSet>,
    /// Exporter attributes that must be `true` and those that must be `false`.
    pub(crate) exporter_true: IdSet,
    pub(crate) exporter_false: IdSet,
    pub(crate) importer_true: IdSet,
    pub(crate) importer_false: IdSet,
}

/// When a rule applies: its conditions and effective window, shared between versions of
/// the rule that change only its text.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    pub(crate) when: CompiledConditions,
    pub(crate) unless: Vec<CompiledConditions>,
    pub(crate) effective_from: Option<Date>,
    pub(crate) effective_until: Option<Date>,
}

impl Matcher {
    /// The days on which a member of a group its conditions name joins or leaves.
    pub(crate) fn membership_dates(&self) -> impl Iterator<Item = Date> + '_ {
        std::iter::once(&self.when)
            .chain(&self.unless)
            .flat_map(|block| {
                [
                    &block.destinations_in,
                    &block.destinations_not_in,
                    &block.origin_in,
                    &block.origin_not_in,
                ]
            })
            .flatten()
            .flat_map(Places::dates)
    }
}

/// A rule ready for evaluation.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    /// The rule as written; versions that keep a rule unchanged share it.
    pub(crate) source: Arc<Rule>,
    pub(crate) id: Arc<str>,
    pub(crate) citation: Arc<str>,
    pub(crate) effect: Effect,
    /// Mechanism ids in the order the rule lists them, with their names.
    pub(crate) any_of: Arc<[u8]>,
    pub(crate) any_of_names: Arc<[Arc<str>]>,
    pub(crate) obligations: Arc<[Arc<str>]>,
    pub(crate) matcher: Arc<Matcher>,
}

/// One jurisdiction's rule set at one version, compiled.
#[derive(Debug, Clone)]
pub struct CompiledRuleSet {
    /// The rule set as written.
    pub source: Arc<RuleSet>,
    /// Its version (1, 2, ...).
    pub version: u64,
    /// Jurisdiction code, shared by every answer that cites it.
    pub jurisdiction: Arc<str>,
    /// The countries it applies to on some day: itself, or for a bloc everything it covers.
    pub applies_to: CountrySet,
    /// The countries it applies to as of any day (a bloc covers a member from the day it
    /// joined).
    pub(crate) covers: Places,
    /// The days on which a group member its rules or `covers` name joins or leaves.
    pub(crate) membership_dates: Arc<[Date]>,
    /// Names of the groups its `covers` and conditions reference, so a group change can be
    /// routed to the jurisdictions it affects.
    pub groups_referenced: Arc<BTreeSet<String>>,
    /// The time zone its effective dates are local midnights in.
    pub time_zone: jiff::tz::TimeZone,
    pub(crate) rules: Vec<Arc<CompiledRule>>,
}

impl CompiledRuleSet {
    /// Compiles a validated rule set. References that do not resolve (which validation
    /// rejects) compile to empty sets.
    ///
    /// `previous` is an earlier compilation against the same vocabulary and groups: its
    /// compiled rules are reused for rules that are the same `Arc` in `source` when the
    /// category sets are unchanged, so a new version costs only the rules it changes.
    pub fn compile(
        source: Arc<RuleSet>,
        version: u64,
        vocabulary: &Vocabulary,
        groups: &Groups,
        previous: Option<&CompiledRuleSet>,
    ) -> Self {
        let resolver = Resolver {
            vocabulary,
            groups,
            category_sets: &source.category_sets,
        };
        let mut covers = resolver.places(&source.covers);
        if let Some(own) = CountryCode::parse_assigned(&source.jurisdiction) {
            covers.always.insert(own);
        }
        let applies_to = covers.ever();
        let reusable =
            previous.filter(|previous| previous.source.category_sets == source.category_sets);
        let rules: Vec<Arc<CompiledRule>> = source
            .rules
            .iter()
            .map(|rule| {
                let earlier = reusable.and_then(|previous| {
                    previous.rules.iter().find(|old| old.id.as_ref() == rule.id)
                });
                match earlier {
                    Some(old) if Arc::ptr_eq(&old.source, rule) => Arc::clone(old),
                    _ => Arc::new(resolver.rule(rule, earlier.map(Arc::as_ref))),
                }
            })
            .collect();
        let groups_referenced = referenced_groups(&source);
        let same_jurisdiction =
            previous.filter(|previous| previous.jurisdiction.as_ref() == source.jurisdiction);
        let jurisdiction = same_jurisdiction.map_or_else(
            || source.jurisdiction.as_str().into(),
            |previous| Arc::clone(&previous.jurisdiction),
        );
        let groups_referenced = match previous {
            Some(previous) if *previous.groups_referenced == groups_referenced => {
                Arc::clone(&previous.groups_referenced)
            }
            _ => Arc::new(groups_referenced),
        };
        // Validation rejects unknown names, so the fallback is never used for a stored rule set.
        let time_zone = source
            .time_zone
            .as_deref()
            .and_then(|name| jiff::tz::TimeZone::get(name).ok())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let mut membership_dates: Vec<Date> = covers
            .dates()
            .chain(
                rules
                    .iter()
                    .flat_map(|rule| rule.matcher.membership_dates()),
            )
            .collect();
        membership_dates.sort_unstable();
        membership_dates.dedup();
        Self {
            jurisdiction,
            groups_referenced,
            time_zone,
            applies_to,
            covers,
            membership_dates: membership_dates.into(),
            rules,
            version,
            source,
        }
    }
}

/// Every group named in a rule set's `covers` or destination conditions.
fn referenced_groups(rule_set: &RuleSet) -> BTreeSet<String> {
    let conditions = rule_set
        .rules
        .iter()
        .flat_map(|rule| std::iter::once(&rule.when).chain(&rule.unless));
    conditions
        .flat_map(|block| {
            block
                .destinations_in
                .iter()
                .chain(&block.destinations_not_in)
                .chain(&block.origin_in)
                .chain(&block.origin_not_in)
        })
        .chain(&rule_set.covers)
        .filter_map(|place| place.strip_prefix(GROUP_PREFIX))
        .map(str::to_owned)
        .collect()
}

/// `earlier` when `same`, else a new value: how versions share what they did not change.
fn reuse<T: ?Sized>(
    earlier: Option<&Arc<T>>,
    same: bool,
    build: impl FnOnce() -> Arc<T>,
) -> Arc<T> {
    match earlier {
        Some(earlier) if same => Arc::clone(earlier),
        _ => build(),
    }
}

struct Resolver<'a> {
    vocabulary: &'a Vocabulary,
    groups: &'a Groups,
    category_sets: &'a BTreeMap<String, Vec<String>>,
}

impl Resolver<'_> {
    /// Compiles `rule`, reusing what it shares with `earlier` (the same rule id in the
    /// previous version, compiled against the same category sets and groups).
    fn rule(&self, rule: &Arc<Rule>, earlier: Option<&CompiledRule>) -> CompiledRule {
        let old = earlier.map(|earlier| earlier.source.as_ref());
        let same = |test: fn(&Rule, &Rule) -> bool| old.is_some_and(|old| test(old, rule));
        let names = |names: &[String]| names.iter().map(|name| Arc::from(name.as_str())).collect();
        CompiledRule {
            source: Arc::clone(rule),
            id: reuse(earlier.map(|e| &e.id), true, || rule.id.as_str().into()),
            citation: reuse(
                earlier.map(|e| &e.citation),
                same(|a, b| a.citation == b.citation),
                || rule.citation.as_str().into(),
            ),
            effect: rule.effect,
            any_of: reuse(
                earlier.map(|e| &e.any_of),
                same(|a, b| a.any_of == b.any_of),
                || self.ids(Kind::Mechanism, &rule.any_of).into(),
            ),
            any_of_names: reuse(
                earlier.map(|e| &e.any_of_names),
                same(|a, b| a.any_of == b.any_of),
                || names(&rule.any_of),
            ),
            obligations: reuse(
                earlier.map(|e| &e.obligations),
                same(|a, b| a.obligations == b.obligations),
                || names(&rule.obligations),
            ),
            matcher: reuse(
                earlier.map(|e| &e.matcher),
                same(|a, b| {
                    a.when == b.when
                        && a.unless == b.unless
                        && a.effective_from == b.effective_from
                        && a.effective_until == b.effective_until
                }),
                || {
                    Arc::new(Matcher {
                        when: self.conditions(&rule.when),
                        unless: rule
                            .unless
                            .iter()
                            .map(|block| self.conditions(block))
                            .collect(),
                        effective_from: rule.effective_from,
                        effective_until: rule.effective_until,
                    })
                },
            ),
        }
    }

    fn places(&self, places: &[String]) -> Places {
        let mut set = Places::default();
        for place in places {
            match place.strip_prefix(GROUP_PREFIX) {
                Some(name) => {
                    if let Some(group) = self.groups.get(name) {
                        set.extend(&group.places);
                    }
                }
                None => {
                    if let Some(code) = CountryCode::parse_assigned(place) {
                        set.always.insert(code);
                    }
                }
            }
        }
        set
    }

    fn ids(&self, kind: Kind, names: &[String]) -> Vec<u8> {
        names
            .iter()
            .filter_map(|name| self.vocabulary.ids(kind).get(name))
            .collect()
    }

    fn id_set(&self, kind: Kind, names: &[String]) -> IdSet {
        self.ids(kind, names).into_iter().collect()
    }

    fn categories(&self, keys: &[String]) -> IdSet {
        let mut set = IdSet::EMPTY;
        for key in keys {
            let expanded = match key.strip_prefix(SET_PREFIX) {
                Some(name) => self.category_sets.get(name).map_or(&[][..], Vec::as_slice),
                None => std::slice::from_ref(key),
            };
            for key in expanded {
                set.extend(&self.vocabulary.categories_under(key));
            }
        }
        set
    }

    fn conditions(&self, conditions: &Conditions) -> CompiledConditions {
        let stated = |list: &[String]| !list.is_empty();
        let (exporter_true, exporter_false) =
            self.attributes(Kind::ExporterAttribute, &conditions.exporter);
        let (importer_true, importer_false) =
            self.attributes(Kind::ImporterAttribute, &conditions.importer);
        CompiledConditions {
            destinations_in: stated(&conditions.destinations_in)
                .then(|| self.places(&conditions.destinations_in)),
            destinations_not_in: stated(&conditions.destinations_not_in)
                .then(|| self.places(&conditions.destinations_not_in)),
            origin_in: stated(&conditions.origin_in).then(|| self.places(&conditions.origin_in)),
            origin_not_in: stated(&conditions.origin_not_in)
                .then(|| self.places(&conditions.origin_not_in)),
            categories_any: stated(&conditions.categories_any)
                .then(|| self.categories(&conditions.categories_any)),
            min_subjects: conditions.min_subjects,
            max_subjects: conditions.max_subjects,
            purposes_any: stated(&conditions.purposes_any)
                .then(|| self.id_set(Kind::Purpose, &conditions.purposes_any)),
            protection_any: stated(&conditions.protection_any)
                .then(|| self.id_set(Kind::Protection, &conditions.protection_any)),
            exporter_true,
            exporter_false,
            importer_true,
            importer_false,
        }
    }

    /// The attributes required `true` and those required `false`, as id sets.
    fn attributes(&self, kind: Kind, attributes: &BTreeMap<String, bool>) -> (IdSet, IdSet) {
        let (mut yes, mut no) = (IdSet::EMPTY, IdSet::EMPTY);
        for (attribute, value) in attributes {
            if let Some(id) = self.vocabulary.ids(kind).get(attribute) {
                if *value {
                    yes.insert(id)
                } else {
                    no.insert(id)
                }
            }
        }
        (yes, no)
    }
}
