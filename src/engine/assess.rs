//! DESIGN.md section 2 "Evaluation": legs, applicable rule sets, matching, severity.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::model::{
    Assessment, Decision, Effect, Flow, Leg, MatchedRule, Obligation, Requirement, RuleRef,
    RuleSetVersion, TraceEntry,
};

use super::compile::{CompiledConditions, CompiledRule, CompiledRuleSet};
use super::input::{FlowError, ValidFlow};
use super::snapshot::Snapshot;

/// Assesses `flow` against `snapshot` as of `at`. With `explain`, the answer's trace lists
/// every rule that did not match and the first condition that failed.
///
/// Pure and deterministic: the same flow, snapshot and time give the same answer, in the
/// same order (legs in route order, rule sets by jurisdiction, rules in file order).
pub fn assess(
    snapshot: &Snapshot,
    flow: &Flow,
    at: Timestamp,
    explain: bool,
) -> Result<Assessment, FlowError> {
    let flow = ValidFlow::new(flow, &snapshot.vocabulary)?;
    let today = at.to_zoned(TimeZone::UTC).date();
    let mut answer = Answer::new(snapshot.revision, explain);
    for leg in legs(&flow.route) {
        let rule_sets = snapshot.applicable(leg.from);
        if rule_sets.is_empty() && !leg.onward {
            answer.legs_without_regime.push(leg);
        }
        for rule_set in rule_sets {
            answer.consult(rule_set);
            for rule in &rule_set.rules {
                match evaluate(rule, &flow, leg, today) {
                    Ok(()) => answer.matched(rule_set, rule, &flow, leg),
                    Err(failed) => answer.not_matched(rule_set, rule, leg, failed),
                }
            }
        }
    }
    Ok(answer.finish(&flow.route))
}

/// The legs of a route: each hop `X -> Y` with `X != Y` under X's law, then the origin's
/// law applied to every later stop (onward transfer) not already covered by a hop.
fn legs(route: &[crate::model::CountryCode]) -> impl Iterator<Item = Leg> + '_ {
    let hops = route
        .windows(2)
        .filter(|pair| pair[0] != pair[1])
        .map(|pair| Leg {
            from: pair[0],
            to: pair[1],
            onward: false,
        });
    let origin = route[0];
    let onward = route
        .iter()
        .enumerate()
        .skip(2)
        .filter(move |(index, stop)| {
            **stop != origin
                && !route
                    .windows(2)
                    .any(|pair| pair[0] == origin && pair[1] == **stop)
                && !route[2..*index].contains(stop)
        })
        .map(move |(_, stop)| Leg {
            from: origin,
            to: *stop,
            onward: true,
        });
    hops.chain(onward)
}

/// Whether `rule` matches on `leg`; otherwise the first failing condition's path.
fn evaluate(rule: &CompiledRule, flow: &ValidFlow, leg: Leg, today: Date) -> Result<(), String> {
    let matcher = &rule.matcher;
    if matcher.effective_from.is_some_and(|from| today < from) {
        return Err("effective_from".into());
    }
    if matcher.effective_until.is_some_and(|until| today >= until) {
        return Err("effective_until".into());
    }
    if let Err(condition) = holds(&matcher.when, flow, leg) {
        return Err(format!("when.{condition}"));
    }
    match rule
        .matcher
        .unless
        .iter()
        .position(|block| holds(block, flow, leg).is_ok())
    {
        Some(block) => Err(format!("unless[{block}]")),
        None => Ok(()),
    }
}

/// Whether every stated condition holds; otherwise the name of the first that fails.
fn holds(conditions: &CompiledConditions, flow: &ValidFlow, leg: Leg) -> Result<(), &'static str> {
    let check = |ok: bool, name: &'static str| if ok { Ok(()) } else { Err(name) };
    if let Some(set) = &conditions.destinations_in {
        check(set.contains(leg.to), "destinations_in")?;
    }
    if let Some(set) = &conditions.destinations_not_in {
        check(!set.contains(leg.to), "destinations_not_in")?;
    }
    if let Some(set) = &conditions.categories_any {
        check(set.intersects(&flow.categories), "categories_any")?;
    }
    if let Some(min) = conditions.min_subjects {
        check(flow.subjects >= min, "min_subjects")?;
    }
    if let Some(max) = conditions.max_subjects {
        check(flow.subjects < max, "max_subjects")?;
    }
    if let Some(set) = &conditions.purposes_any {
        check(
            flow.purpose.is_some_and(|purpose| set.contains(purpose)),
            "purposes_any",
        )?;
    }
    if let Some(set) = &conditions.protection_any {
        check(set.contains(flow.protection), "protection_any")?;
    }
    if !(conditions.exporter_true.is_empty() && conditions.exporter_false.is_empty()) {
        let ok = flow.exporter.is_superset(&conditions.exporter_true)
            && !flow.exporter.intersects(&conditions.exporter_false);
        check(ok, "exporter")?;
    }
    Ok(())
}

/// The answer under construction.
struct Answer {
    explain: bool,
    revision: u64,
    decision: Decision,
    unmet: Vec<Requirement>,
    met: Vec<Requirement>,
    obligations: Vec<Obligation>,
    matched: Vec<MatchedRule>,
    legs_without_regime: Vec<Leg>,
    versions: Vec<RuleSetVersion>,
    trace: Vec<TraceEntry>,
}

impl Answer {
    fn new(revision: u64, explain: bool) -> Self {
        Self {
            explain,
            revision,
            decision: Decision::Permitted,
            unmet: Vec::new(),
            met: Vec::new(),
            obligations: Vec::new(),
            matched: Vec::new(),
            legs_without_regime: Vec::new(),
            versions: Vec::new(),
            trace: Vec::new(),
        }
    }

    fn consult(&mut self, rule_set: &CompiledRuleSet) {
        if !self
            .versions
            .iter()
            .any(|seen| seen.jurisdiction == rule_set.jurisdiction)
        {
            self.versions.push(RuleSetVersion {
                jurisdiction: Arc::clone(&rule_set.jurisdiction),
                version: rule_set.version,
            });
        }
    }

    fn matched(
        &mut self,
        rule_set: &CompiledRuleSet,
        rule: &CompiledRule,
        flow: &ValidFlow,
        leg: Leg,
    ) {
        let reference = rule_ref(rule_set, rule);
        let severity = match rule.effect {
            Effect::Permit => Decision::Permitted,
            Effect::Prohibit => Decision::Prohibited,
            Effect::Review => Decision::ReviewRequired,
            Effect::Require => {
                let met_by = rule
                    .any_of
                    .iter()
                    .position(|id| flow.safeguards.contains(*id));
                let requirement = Requirement {
                    rule: reference.clone(),
                    leg,
                    any_of: Arc::clone(&rule.any_of_names),
                    met_by: met_by.map(|index| Arc::clone(&rule.any_of_names[index])),
                };
                if met_by.is_some() {
                    self.met.push(requirement);
                    Decision::Permitted
                } else {
                    self.unmet.push(requirement);
                    Decision::Conditional
                }
            }
        };
        self.decision = self.decision.max(severity);
        for obligation in rule.obligations.iter() {
            self.obligations.push(Obligation {
                obligation: Arc::clone(obligation),
                rule: reference.clone(),
                leg,
            });
        }
        self.matched.push(MatchedRule {
            rule: reference,
            leg,
            effect: rule.effect,
        });
    }

    fn not_matched(
        &mut self,
        rule_set: &CompiledRuleSet,
        rule: &CompiledRule,
        leg: Leg,
        failed: String,
    ) {
        if self.explain {
            self.trace.push(TraceEntry {
                rule: rule_ref(rule_set, rule),
                leg,
                failed,
            });
        }
    }

    fn finish(mut self, route: &[crate::model::CountryCode]) -> Assessment {
        if !self.legs_without_regime.is_empty() {
            self.decision = self.decision.max(Decision::ReviewRequired);
        }
        self.versions.sort();
        let summary = self.summary(route);
        Assessment {
            decision: self.decision,
            unmet_requirements: self.unmet,
            met_requirements: self.met,
            obligations: self.obligations,
            matched_rules: self.matched,
            legs_without_regime: self.legs_without_regime,
            revision: self.revision,
            rule_set_versions: self.versions,
            summary,
            trace: self.trace,
        }
    }

    /// One line saying what decided the answer.
    fn summary(&self, route: &[crate::model::CountryCode]) -> String {
        let path = route
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" -> ");
        let by_effect = |effect: Effect| {
            self.matched
                .iter()
                .filter(|rule| rule.effect == effect)
                .map(|rule| format!("{} on {}", rule.rule.rule_id, rule.leg))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let reason = match self.decision {
            Decision::Prohibited => format!("prohibited by {}", by_effect(Effect::Prohibit)),
            Decision::ReviewRequired => {
                let mut reasons: Vec<String> = self
                    .legs_without_regime
                    .iter()
                    .map(|leg| format!("no known regime for data leaving {}", leg.from))
                    .collect();
                let rules = by_effect(Effect::Review);
                if !rules.is_empty() {
                    reasons.push(format!("review required by {rules}"));
                }
                reasons.join("; ")
            }
            Decision::Conditional => {
                let unmet = self
                    .unmet
                    .iter()
                    .map(|requirement| {
                        format!(
                            "{} on {} needs one of {}",
                            requirement.rule.rule_id,
                            requirement.leg,
                            requirement.any_of.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                format!("{} unmet requirement(s): {unmet}", self.unmet.len())
            }
            Decision::Permitted if route.windows(2).all(|pair| pair[0] == pair[1]) => {
                "no cross-border leg".to_owned()
            }
            Decision::Permitted => format!(
                "{} rule(s) matched, {} requirement(s) met, none unmet",
                self.matched.len(),
                self.met.len()
            ),
        };
        format!("{}: {path}: {reason}", self.decision)
    }
}

fn rule_ref(rule_set: &CompiledRuleSet, rule: &CompiledRule) -> RuleRef {
    RuleRef {
        rule_id: Arc::clone(&rule.id),
        jurisdiction: Arc::clone(&rule_set.jurisdiction),
        citation: Arc::clone(&rule.citation),
    }
}
