//! Conversion between protobuf messages and model types. Proto -> model collects every
//! field violation (with its path) instead of stopping at the first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::engine::CompiledRuleSet;
use crate::model::validate::Report;
use crate::model::{
    Conditions, CountryGroup, Decision, Effect, Flow, Leg, Profile, Rule, RuleSet, Violation,
};
use crate::store::{ChangeEvent, ChangeKind, Diff, Key};

use super::answer::ReadMask;
use super::pb;

/// Most entries a repeated field of a flow may have.
pub const MAX_REPEATED: usize = 64;

/// Records a violation when a repeated field of a flow is over the limit.
fn limit(violations: &mut Report, path: &str, len: usize) {
    if len > MAX_REPEATED {
        violations.add(
            path,
            format!("at most {MAX_REPEATED} entries are allowed, got {len}"),
        );
    }
}

/// A validated `AssessFlowRequest`.
#[derive(Debug, Clone)]
pub struct FlowQuery {
    /// Echoed in the answer.
    pub request_id: String,
    /// The flow.
    pub flow: Flow,
    /// Revision to assess at (0 = latest).
    pub at_revision: u64,
    /// Evaluation time (default: now).
    pub at_time: Option<Timestamp>,
    /// Whether to trace non-matching rules.
    pub explain: bool,
    /// The fields of the answer to fill.
    pub mask: ReadMask,
}

impl TryFrom<pb::AssessFlowRequest> for FlowQuery {
    type Error = Vec<Violation>;

    fn try_from(request: pb::AssessFlowRequest) -> Result<Self, Self::Error> {
        let mut violations = Report::default();
        let flow = request.flow.unwrap_or_else(|| {
            violations.add("flow", "a flow is required");
            pb::Flow::default()
        });
        limit(&mut violations, "flow.transit", flow.transit.len());
        limit(
            &mut violations,
            "flow.data_categories",
            flow.data_categories.len(),
        );
        limit(&mut violations, "flow.safeguards", flow.safeguards.len());
        let at_time = request.at_time.and_then(|time| {
            let parsed = timestamp(&time);
            if parsed.is_none() {
                violations.add("at_time", "not a valid timestamp");
            }
            parsed
        });
        let exporter = flow
            .exporter
            .map(|exporter| {
                BTreeMap::from([(
                    "critical_infrastructure".to_owned(),
                    exporter.critical_infrastructure,
                )])
            })
            .unwrap_or_default();
        let importer = flow
            .importer
            .map(|importer| {
                BTreeMap::from([("public_authority".to_owned(), importer.public_authority)])
            })
            .unwrap_or_default();
        let mask = ReadMask::parse(request.read_mask.as_ref(), "read_mask", &mut violations);
        violations.finish(FlowQuery {
            request_id: request.request_id,
            flow: Flow {
                origin: flow.origin,
                destination: flow.destination,
                transit: flow.transit,
                data_categories: flow.data_categories,
                data_subject_count: flow.data_subject_count,
                safeguards: flow.safeguards,
                purpose: flow.purpose,
                protection: flow.protection,
                exporter,
                importer,
            },
            at_revision: request.at_revision,
            at_time,
            explain: request.explain,
            mask,
        })
    }
}

fn timestamp(time: &prost_types::Timestamp) -> Option<Timestamp> {
    Timestamp::new(time.seconds, time.nanos).ok()
}

/// A model timestamp as protobuf.
pub fn to_timestamp(time: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.as_second(),
        nanos: time.subsec_nanosecond(),
    }
}

fn date(violations: &mut Report, path: String, text: &str) -> Option<Date> {
    if text.is_empty() {
        return None;
    }
    let parsed = text.parse::<Date>().ok();
    if parsed.is_none() {
        violations.add(path, format!("`{text}` is not a date (YYYY-MM-DD)"));
    }
    parsed
}

fn conditions(conditions: pb::Conditions) -> Conditions {
    Conditions {
        destinations_in: conditions.destinations_in,
        destinations_not_in: conditions.destinations_not_in,
        origin_in: conditions.origin_in,
        origin_not_in: conditions.origin_not_in,
        categories_any: conditions.categories_any,
        min_subjects: conditions.min_subjects,
        max_subjects: conditions.max_subjects,
        purposes_any: conditions.purposes_any,
        protection_any: conditions.protection_any,
        exporter: conditions.exporter.into_iter().collect(),
        importer: conditions.importer.into_iter().collect(),
    }
}

/// Converts a protobuf rule set whose fields sit under `prefix` (`rule_set`).
pub fn rule_set(message: pb::RuleSet, prefix: &str) -> Result<RuleSet, Vec<Violation>> {
    let mut violations = Report::default();
    let rules = message
        .rules
        .into_iter()
        .enumerate()
        .map(|(index, rule)| {
            let at = format!("{prefix}.rules[{index}]");
            let effect = match pb::Effect::try_from(rule.effect) {
                Ok(pb::Effect::Permit) => Effect::Permit,
                Ok(pb::Effect::Require) => Effect::Require,
                Ok(pb::Effect::Prohibit) => Effect::Prohibit,
                Ok(pb::Effect::Review) => Effect::Review,
                Ok(pb::Effect::Unspecified) | Err(_) => {
                    violations.add(
                        format!("{at}.effect"),
                        "set an effect: PERMIT, REQUIRE, PROHIBIT or REVIEW",
                    );
                    Effect::Review
                }
            };
            let effective_from = date(
                &mut violations,
                format!("{at}.effective_from"),
                &rule.effective_from,
            );
            let effective_until = date(
                &mut violations,
                format!("{at}.effective_until"),
                &rule.effective_until,
            );
            Arc::new(Rule {
                id: rule.id,
                title: rule.title,
                citation: rule.citation,
                source: rule.source,
                effect,
                any_of: rule.any_of,
                obligations: rule.obligations,
                when: rule.when.map(conditions).unwrap_or_default(),
                unless: rule.unless.into_iter().map(conditions).collect(),
                effective_from,
                effective_until,
            })
        })
        .collect();
    let profile = message.profile.unwrap_or_default();
    let reviewed_on = date(
        &mut violations,
        format!("{prefix}.reviewed_on"),
        &message.reviewed_on,
    );
    violations.finish(RuleSet {
        jurisdiction: message.jurisdiction,
        name: message.name,
        time_zone: Some(message.time_zone).filter(|zone| !zone.is_empty()),
        reviewed_on,
        covers: message.covers,
        profile: Arc::new(Profile {
            law: profile.law,
            default_stance: profile.default_stance,
            localization: profile.localization,
        }),
        category_sets: Arc::new(
            message
                .category_sets
                .into_iter()
                .map(|(name, list)| (name, list.categories))
                .collect(),
        ),
        rules,
    })
}

/// Converts a protobuf country group whose fields sit under `prefix` (`group`).
pub fn country_group(
    group: pb::CountryGroup,
    prefix: &str,
) -> Result<CountryGroup, Vec<Violation>> {
    let mut violations = Report::default();
    let mut dates = |section: &str, dates: HashMap<String, String>| {
        let mut parsed = BTreeMap::new();
        for (code, text) in dates {
            let path = format!("{prefix}.{section}.{code}");
            let day = date(&mut violations, path.clone(), &text);
            match day {
                Some(day) => {
                    parsed.insert(code, day);
                }
                None if text.is_empty() => violations.add(path, "set a date (YYYY-MM-DD)"),
                None => {}
            }
        }
        parsed
    };
    let joined = dates("joined", group.joined);
    let left = dates("left", group.left);
    violations.finish(CountryGroup {
        name: group.name,
        description: group.description,
        citation: group.citation,
        source: group.source,
        members: group.members,
        joined,
        left,
    })
}

fn pb_conditions(conditions: &Conditions) -> pb::Conditions {
    pb::Conditions {
        destinations_in: conditions.destinations_in.clone(),
        destinations_not_in: conditions.destinations_not_in.clone(),
        origin_in: conditions.origin_in.clone(),
        origin_not_in: conditions.origin_not_in.clone(),
        categories_any: conditions.categories_any.clone(),
        min_subjects: conditions.min_subjects,
        max_subjects: conditions.max_subjects,
        purposes_any: conditions.purposes_any.clone(),
        protection_any: conditions.protection_any.clone(),
        exporter: conditions
            .exporter
            .iter()
            .map(|(key, value)| (key.clone(), *value))
            .collect(),
        importer: conditions
            .importer
            .iter()
            .map(|(key, value)| (key.clone(), *value))
            .collect(),
    }
}

/// A model effect as protobuf.
pub fn pb_effect(effect: Effect) -> pb::Effect {
    match effect {
        Effect::Permit => pb::Effect::Permit,
        Effect::Require => pb::Effect::Require,
        Effect::Prohibit => pb::Effect::Prohibit,
        Effect::Review => pb::Effect::Review,
    }
}

/// A model rule set as protobuf.
pub fn pb_rule_set(rule_set: &RuleSet) -> pb::RuleSet {
    pb::RuleSet {
        jurisdiction: rule_set.jurisdiction.clone(),
        name: rule_set.name.clone(),
        time_zone: rule_set.time_zone.clone().unwrap_or_default(),
        reviewed_on: rule_set
            .reviewed_on
            .map(|day| day.to_string())
            .unwrap_or_default(),
        covers: rule_set.covers.clone(),
        profile: Some(pb::Profile {
            law: rule_set.profile.law.clone(),
            default_stance: rule_set.profile.default_stance.clone(),
            localization: rule_set.profile.localization.clone(),
        }),
        category_sets: rule_set
            .category_sets
            .iter()
            .map(|(name, categories)| {
                let list = pb::CategoryList {
                    categories: categories.clone(),
                };
                (name.clone(), list)
            })
            .collect(),
        rules: rule_set
            .rules
            .iter()
            .map(|rule| pb::Rule {
                id: rule.id.clone(),
                title: rule.title.clone(),
                citation: rule.citation.clone(),
                source: rule.source.clone(),
                effect: pb_effect(rule.effect).into(),
                any_of: rule.any_of.clone(),
                obligations: rule.obligations.clone(),
                when: Some(pb_conditions(&rule.when)),
                unless: rule.unless.iter().map(pb_conditions).collect(),
                effective_from: rule
                    .effective_from
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                effective_until: rule
                    .effective_until
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            })
            .collect(),
    }
}

/// A model country group as protobuf.
pub fn pb_country_group(group: &CountryGroup) -> pb::CountryGroup {
    pb::CountryGroup {
        name: group.name.clone(),
        members: group.members.clone(),
        description: group.description.clone(),
        citation: group.citation.clone(),
        source: group.source.clone(),
        joined: days(&group.joined),
        left: days(&group.left),
    }
}

fn days(dates: &BTreeMap<String, Date>) -> HashMap<String, String> {
    dates
        .iter()
        .map(|(code, day)| (code.clone(), day.to_string()))
        .collect()
}

/// A store diff as protobuf.
pub fn pb_diff(diff: &Diff) -> pb::Diff {
    pb::Diff {
        added: diff.added.clone(),
        removed: diff.removed.clone(),
        modified: diff.modified.clone(),
    }
}

/// As protobuf.
pub(crate) fn pb_leg(leg: &Leg) -> pb::Leg {
    pb::Leg {
        from: leg.from.to_string(),
        to: leg.to.to_string(),
        onward: leg.onward,
    }
}

/// As protobuf.
pub(crate) fn pb_decision(decision: Decision) -> pb::Decision {
    match decision {
        Decision::Permitted => pb::Decision::Permitted,
        Decision::Conditional => pb::Decision::Conditional,
        Decision::ReviewRequired => pb::Decision::ReviewRequired,
        Decision::Prohibited => pb::Decision::Prohibited,
    }
}

/// A change kind as protobuf.
pub fn pb_change_kind(kind: ChangeKind) -> pb::ChangeKind {
    match kind {
        ChangeKind::Created => pb::ChangeKind::Created,
        ChangeKind::Updated => pb::ChangeKind::Updated,
        ChangeKind::Deleted => pb::ChangeKind::Deleted,
        ChangeKind::GroupUpdated => pb::ChangeKind::GroupUpdated,
        ChangeKind::BecameEffective => pb::ChangeKind::BecameEffective,
    }
}

/// A change event as a watch message; the rule set's content only with `include_rule_set`.
pub fn pb_event(
    event: &ChangeEvent,
    include_rule_set: bool,
    store_id: &str,
) -> pb::WatchRuleChangesResponse {
    let (jurisdiction, group) = match &event.key {
        Key::RuleSet(jurisdiction) => (jurisdiction.clone(), String::new()),
        Key::Group(name) => (String::new(), name.clone()),
    };
    let rule_set = event
        .rule_set()
        .filter(|_| include_rule_set)
        .map(|compiled: &Arc<CompiledRuleSet>| pb_rule_set(&compiled.source));
    pb::WatchRuleChangesResponse {
        revision: event.revision,
        kind: pb_change_kind(event.kind).into(),
        jurisdiction,
        group,
        version: event.version,
        diff: Some(pb_diff(&event.diff)),
        committed_at: Some(to_timestamp(event.committed_at)),
        rule_set,
        affected_jurisdictions: event.jurisdictions.clone(),
        store_id: store_id.to_owned(),
    }
}

/// A `PROGRESS` watch message: every matching change up to `revision` has been sent.
pub fn pb_progress(revision: u64, store_id: &str) -> pb::WatchRuleChangesResponse {
    pb::WatchRuleChangesResponse {
        revision,
        kind: pb::ChangeKind::Progress.into(),
        store_id: store_id.to_owned(),
        ..Default::default()
    }
}

/// A duration flag (`10s`, `1m30s`, `250ms`), as every xborder command line takes them.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let duration: jiff::SignedDuration =
        text.parse().map_err(|error| format!("`{text}`: {error}"))?;
    std::time::Duration::try_from(duration).map_err(|_| format!("`{text}` must not be negative"))
}
