//! Rule sets, rules and their conditions, exactly as rule files and the API write them.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// One jurisdiction's outbound-transfer regime, keyed by its jurisdiction code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// ISO 3166-1 alpha-2 code of a country, or a bloc code such as `EU`.
    pub jurisdiction: String,
    /// Human name of the regime.
    pub name: String,
    /// The IANA time zone its effective dates are local midnights in (`Asia/Shanghai`: a law
    /// that starts at 00:00 in Beijing starts at 16:00 UTC the day before); default UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The day a person last re-read the encoded law against its primary sources, so a
    /// compliance team sees which regimes nobody has checked for a year (`xborderd check
    /// --stale-after`, gauge `xborder_rules_review_age_days`). Unset = never reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", extend("format" = "date"))]
    pub reviewed_on: Option<Date>,
    /// Bloc rule sets only: the countries (codes or `group:NAME`) whose outbound data they govern.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<String>,
    /// One-line facts for the rule library's documentation (shared between versions).
    #[serde(default, skip_serializing_if = "Profile::is_unset")]
    pub profile: Arc<Profile>,
    /// Named category lists usable as `set:NAME`, because each law defines "sensitive" its
    /// own way (shared between versions).
    #[serde(default, skip_serializing_if = "no_category_sets")]
    pub category_sets: Arc<CategorySets>,
    /// The rules, in the order they are listed. Shared (`Arc`) so that versions of a rule
    /// set that differ in one rule share every other rule.
    pub rules: Vec<Arc<Rule>>,
}

impl RuleSet {
    /// Days from `reviewed_on` to `today`; `None` when the rule set was never reviewed.
    pub fn review_age_days(&self, today: Date) -> Option<i32> {
        self.reviewed_on
            .and_then(|day| day.until((jiff::Unit::Day, today)).ok())
            .map(|span| span.get_days())
    }
}

/// Documentation of a regime in one line per fact, rendered into `docs/RULES.md`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The laws and articles the rule set encodes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub law: String,
    /// The regime's default stance on outbound transfers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub default_stance: String,
    /// What must stay in the country.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub localization: String,
}

impl Profile {
    fn is_unset(profile: &Arc<Profile>) -> bool {
        **profile == Self::default()
    }
}

/// Category sets by name.
pub type CategorySets = BTreeMap<String, Vec<String>>;

fn no_category_sets(sets: &Arc<CategorySets>) -> bool {
    sets.is_empty()
}

/// What a matching rule does to the decision.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Informative: explains why a flow is free.
    Permit,
    /// One of the rule's `any_of` mechanisms must be in place.
    Require,
    /// The flow is prohibited.
    Prohibit,
    /// The flow needs case-by-case review.
    Review,
}

/// One rule of a rule set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique within its rule set and stable across versions.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Law and article.
    pub citation: String,
    /// URL of the source text.
    pub source: String,
    /// What the rule does when it matches.
    pub effect: Effect,
    /// For `require`: mechanism ids, any one of which satisfies the rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<String>,
    /// Obligation ids added to the answer whenever the rule matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub obligations: Vec<String>,
    /// Conditions that must all hold.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub when: Conditions,
    /// Exemptions: the rule does not match when any one block holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unless: Vec<Conditions>,
    /// First day (UTC) the rule applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", extend("format" = "date"))]
    pub effective_from: Option<Date>,
    /// First day (UTC) the rule no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", extend("format" = "date"))]
    pub effective_until: Option<Date>,
}

/// A block of conditions; it holds when every condition it states holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// The leg's destination is one of these codes or `group:NAME`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations_in: Vec<String>,
    /// The leg's destination is none of these codes or `group:NAME`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations_not_in: Vec<String>,
    /// The flow's origin (the first location of its route) is one of these codes or
    /// `group:NAME`s: for exemptions that depend on where the data was collected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origin_in: Vec<String>,
    /// The flow's origin is none of these codes or `group:NAME`s (China's exemption for
    /// personal information collected abroad, processed in China and sent back out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origin_not_in: Vec<String>,
    /// Some flow category equals or lies below one of these keys or `set:NAME`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories_any: Vec<String>,
    /// Inclusive lower bound on `data_subject_count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_subjects: Option<u64>,
    /// Exclusive upper bound on `data_subject_count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_subjects: Option<u64>,
    /// The flow's purpose is one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purposes_any: Vec<String>,
    /// The flow's protection state is one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protection_any: Vec<String>,
    /// Each named exporter attribute has this value (an absent attribute is `false`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exporter: BTreeMap<String, bool>,
    /// Each named importer attribute has this value (an absent attribute is `false`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub importer: BTreeMap<String, bool>,
}

impl Conditions {
    /// Whether the block states no condition at all (and so always holds).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// A named, versioned list of country codes shared by rule sets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountryGroup {
    /// The group's id, used as `group:NAME`.
    pub name: String,
    /// What the list is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The law and article that establish the list.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub citation: String,
    /// URL of the source.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// ISO 3166-1 alpha-2 codes of every country on the list, past and present.
    pub members: Vec<String>,
    /// Members that count only from a day (`GB: 2021-06-28`): a country added to a list
    /// counts from the day it joined, so a flow assessed at an earlier time gets the
    /// answer of that day. Dates are local midnights of the time zone of the rule set
    /// that uses the group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub joined: BTreeMap<String, Date>,
    /// Members that stop counting on a day (the first day they no longer count).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub left: BTreeMap<String, Date>,
}

/// Prefix of a country-group reference in `covers` and destination conditions.
pub const GROUP_PREFIX: &str = "group:";
/// Prefix of a category-set reference in `categories_any`.
pub const SET_PREFIX: &str = "set:";
