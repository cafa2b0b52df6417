//! The answer to a flow: decision, requirements, obligations, matched rules and trace.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::country::CountryCode;
use super::rule::Effect;

/// The decision, ordered from least to most severe.
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
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Decision {
    /// No rule stands in the way.
    Permitted,
    /// A required mechanism is missing.
    Conditional,
    /// A rule asks for case-by-case review, or a leg leaves a country with no known regime.
    ReviewRequired,
    /// A prohibiting rule matched.
    Prohibited,
}

impl Decision {
    /// The decision's name as answers, logs and metrics spell it (`REVIEW_REQUIRED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Permitted => "PERMITTED",
            Decision::Conditional => "CONDITIONAL",
            Decision::ReviewRequired => "REVIEW_REQUIRED",
            Decision::Prohibited => "PROHIBITED",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hop `from -> to` under the law of `from`; `onward` marks the origin's law applied to a
/// later location of the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Leg {
    /// The country the data leaves (for onward legs, the origin).
    pub from: CountryCode,
    /// The country the data reaches.
    pub to: CountryCode,
    /// Whether this is the origin's law applied to a later stop (onward transfer).
    pub onward: bool,
}

impl fmt::Display for Leg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arrow = if self.onward { "=>" } else { "->" };
        write!(f, "{}{arrow}{}", self.from, self.to)
    }
}

/// Where a rule comes from: its id, rule set and citation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    /// Rule id.
    pub rule_id: Arc<str>,
    /// Jurisdiction of the rule set holding the rule.
    pub jurisdiction: Arc<str>,
    /// Law and article.
    pub citation: Arc<str>,
}

/// A `require` rule that matched, met or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    /// The rule.
    #[serde(flatten)]
    pub rule: RuleRef,
    /// The leg it applies to.
    pub leg: Leg,
    /// Mechanisms any one of which satisfies it.
    pub any_of: Arc<[Arc<str>]>,
    /// For met requirements: the first `any_of` mechanism that is among the safeguards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met_by: Option<Arc<str>>,
}

/// An obligation added by a matched rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligation {
    /// Obligation id.
    pub obligation: Arc<str>,
    /// The rule that adds it.
    #[serde(flatten)]
    pub rule: RuleRef,
    /// The leg.
    pub leg: Leg,
}

/// A rule that matched the flow on a leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedRule {
    /// The rule.
    #[serde(flatten)]
    pub rule: RuleRef,
    /// The leg.
    pub leg: Leg,
    /// Its effect.
    pub effect: Effect,
}

/// Why a rule did not match (with `explain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEntry {
    /// The rule.
    #[serde(flatten)]
    pub rule: RuleRef,
    /// The leg.
    pub leg: Leg,
    /// The first condition that failed, as a path into the rule (`when.min_subjects`,
    /// `unless[1]`, `effective_from`, `effective_until`).
    pub failed: String,
}

/// Which version of a rule set the answer used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RuleSetVersion {
    /// Jurisdiction.
    pub jurisdiction: Arc<str>,
    /// Its version at the evaluated revision.
    pub version: u64,
}

/// The full answer to one flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// The most severe outcome over all legs.
    pub decision: Decision,
    /// `require` rules none of whose mechanisms is among the safeguards.
    pub unmet_requirements: Vec<Requirement>,
    /// `require` rules met, with the safeguard that met each.
    pub met_requirements: Vec<Requirement>,
    /// Obligations of every matched rule.
    pub obligations: Vec<Obligation>,
    /// Every matched rule.
    pub matched_rules: Vec<MatchedRule>,
    /// Legs leaving a country to which no rule set applies.
    pub legs_without_regime: Vec<Leg>,
    /// Store revision the answer was computed at.
    pub revision: u64,
    /// Version of each rule set consulted, by jurisdiction.
    pub rule_set_versions: Vec<RuleSetVersion>,
    /// One line for people.
    pub summary: String,
    /// With `explain`: rules that did not match and the first condition that failed.
    pub trace: Vec<TraceEntry>,
}
