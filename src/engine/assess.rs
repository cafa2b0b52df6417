//! DESIGN.md section 2 "Evaluation": legs, applicable rule sets, matching, severity.

use std::fmt::Write as _;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::model::{
    Assessment, Decision, Effect, Flow, IdSet, Leg, MatchedRule, Obligation, Requirement, RuleRef,
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
    let mut answer = Answer::new(snapshot.revision, explain);
    walk(snapshot, &flow, at, &mut answer)?;
    Ok(answer.finish(flow.route()))
}

/// The decision alone: the same evaluation as [`assess`] without building the answer, and
/// without allocating.
pub fn decide(snapshot: &Snapshot, flow: &Flow, at: Timestamp) -> Result<Decision, FlowError> {
    let flow = ValidFlow::new(flow, &snapshot.vocabulary)?;
    let mut severity = Severity(Decision::Permitted);
    walk(snapshot, &flow, at, &mut severity)?;
    Ok(severity.0)
}

/// Receives the outcome of every rule on every leg, in answer order.
trait Visitor {
    /// `leg` leaves a country to which no rule set applies.
    fn no_regime(&mut self, leg: Leg);
    /// `rule_set` applies to a leg.
    fn consult(&mut self, rule_set: &CompiledRuleSet);
    /// `rule` matched on `leg`.
    fn matched(
        &mut self,
        rule_set: &CompiledRuleSet,
        rule: &CompiledRule,
        flow: &ValidFlow,
        leg: Leg,
    );
    /// The most severe decision so far.
    fn decision(&self) -> Decision;
    /// `rule` did not match on `leg`, for the reason `failed`.
    fn not_matched(
        &mut self,
        rule_set: &CompiledRuleSet,
        rule: &CompiledRule,
        leg: Leg,
        failed: Failed,
    );
}

/// Evaluates every applicable rule on every leg of the flow's route. A rule that would
/// restrict the flow but depends on a fact the flow does not state makes the flow invalid:
/// a missing fact never makes an answer less severe.
fn walk(
    snapshot: &Snapshot,
    flow: &ValidFlow,
    at: Timestamp,
    visitor: &mut impl Visitor,
) -> Result<(), FlowError> {
    let utc_today = at.to_zoned(TimeZone::UTC).date();
    // The most severe rule that depends on an unstated fact: it only matters if it could
    // make the answer more severe than the rules that could be decided.
    let mut undetermined: Option<(Decision, &'static str, &CompiledRule, Leg)> = None;
    for leg in legs(flow.route()) {
        let mut governed = false;
        for rule_set in snapshot.applicable(leg.from) {
            // Effective dates are local midnights of the rule set's time zone.
            let today = if rule_set.source.time_zone.is_none() {
                utc_today
            } else {
                at.to_zoned(rule_set.time_zone.clone()).date()
            };
            // A bloc governs a member's data from the day it joined.
            if !rule_set.covers.contains(leg.from, today) {
                continue;
            }
            governed = true;
            visitor.consult(rule_set);
            for rule in &rule_set.rules {
                match evaluate(rule, flow, leg, today) {
                    Ok(()) => visitor.matched(rule_set, rule, flow, leg),
                    Err(Failed::Unstated(fact)) => {
                        let severity = severity(rule, flow);
                        if undetermined.is_none_or(|(worst, ..)| severity > worst) {
                            undetermined = Some((severity, fact, rule, leg));
                        }
                        visitor.not_matched(rule_set, rule, leg, Failed::Unstated(fact));
                    }
                    Err(failed) => visitor.not_matched(rule_set, rule, leg, failed),
                }
            }
        }
        if !governed && !leg.onward {
            visitor.no_regime(leg);
        }
    }
    match undetermined {
        Some((severity, fact, rule, leg)) if severity > visitor.decision() => {
            Err(unstated(fact, rule, leg))
        }
        _ => Ok(()),
    }
}

/// The error for a flow whose answer depends on a fact it does not state.
fn unstated(fact: &'static str, rule: &CompiledRule, leg: Leg) -> FlowError {
    FlowError::Invalid(vec![crate::model::Violation {
        path: format!("flow.{fact}"),
        message: format!(
            "required for this route: rule {} ({}) on {leg} depends on it",
            rule.id, rule.citation
        ),
    }])
}

/// The severity a matched rule contributes, given the flow's safeguards.
fn severity(rule: &CompiledRule, flow: &ValidFlow) -> Decision {
    match rule.effect {
        Effect::Permit => Decision::Permitted,
        Effect::Prohibit => Decision::Prohibited,
        Effect::Review => Decision::ReviewRequired,
        Effect::Require if met_by(rule, flow).is_some() => Decision::Permitted,
        Effect::Require => Decision::Conditional,
    }
}

/// Index in `any_of` of the first mechanism among the flow's safeguards.
fn met_by(rule: &CompiledRule, flow: &ValidFlow) -> Option<usize> {
    rule.any_of
        .iter()
        .position(|id| flow.safeguards.contains(*id))
}

/// Tracks only the most severe outcome.
struct Severity(Decision);

impl Visitor for Severity {
    fn no_regime(&mut self, _: Leg) {
        self.0 = self.0.max(Decision::ReviewRequired);
    }

    fn consult(&mut self, _: &CompiledRuleSet) {}

    fn matched(&mut self, _: &CompiledRuleSet, rule: &CompiledRule, flow: &ValidFlow, _: Leg) {
        self.0 = self.0.max(severity(rule, flow));
    }

    fn decision(&self) -> Decision {
        self.0
    }

    fn not_matched(&mut self, _: &CompiledRuleSet, _: &CompiledRule, _: Leg, _: Failed) {}
}

/// Why a rule did not match: the first condition that failed.
#[derive(Debug, Clone, Copy)]
enum Failed {
    EffectiveFrom,
    EffectiveUntil,
    When(&'static str),
    Unless(usize),
    /// Every stated condition holds, but one depends on this fact, which the flow does not
    /// state (`purpose`, `data_subject_count`).
    Unstated(&'static str),
}

impl Failed {
    /// The failed condition as a path into the rule (`when.min_subjects`, `unless[1]`).
    fn path(self) -> String {
        match self {
            Failed::EffectiveFrom => "effective_from".into(),
            Failed::EffectiveUntil => "effective_until".into(),
            Failed::When(condition) => format!("when.{condition}"),
            Failed::Unless(block) => format!("unless[{block}]"),
            Failed::Unstated(fact) => format!("when: flow.{fact} not stated"),
        }
    }
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

/// Whether `rule` matches on `leg`; otherwise the first failing condition.
fn evaluate(rule: &CompiledRule, flow: &ValidFlow, leg: Leg, today: Date) -> Result<(), Failed> {
    let matcher = &rule.matcher;
    if matcher.effective_from.is_some_and(|from| today < from) {
        return Err(Failed::EffectiveFrom);
    }
    if matcher.effective_until.is_some_and(|until| today >= until) {
        return Err(Failed::EffectiveUntil);
    }
    // A `when` condition on an unstated fact is assumed to hold (the severe reading); an
    // `unless` block with one does not exempt.
    let mut assumed = None;
    holds(&matcher.when, flow, leg, today, Some(&mut assumed)).map_err(Failed::When)?;
    if let Some(block) = matcher
        .unless
        .iter()
        .position(|block| holds(block, flow, leg, today, None).is_ok())
    {
        return Err(Failed::Unless(block));
    }
    match assumed {
        // A permit rule only explains why a flow is free: unproven, it does not match.
        Some(fact) if rule.effect == Effect::Permit => Err(Failed::When(fact)),
        Some(fact) => Err(Failed::Unstated(fact)),
        None => Ok(()),
    }
}

/// Whether every stated condition holds; otherwise the name of the first that fails. A
/// condition on a fact the flow does not state fails, unless `assumed` is given: then it
/// holds and the fact's name is recorded there.
fn holds(
    conditions: &CompiledConditions,
    flow: &ValidFlow,
    leg: Leg,
    today: Date,
    mut assumed: Option<&mut Option<&'static str>>,
) -> Result<(), &'static str> {
    let check = |ok: bool, name: &'static str| if ok { Ok(()) } else { Err(name) };
    let mut unstated = |name: &'static str, fact: &'static str| match assumed.as_mut() {
        Some(slot) => {
            slot.get_or_insert(fact);
            Ok(())
        }
        None => Err(name),
    };
    if let Some(set) = &conditions.destinations_in {
        check(set.contains(leg.to, today), "destinations_in")?;
    }
    if let Some(set) = &conditions.destinations_not_in {
        check(!set.contains(leg.to, today), "destinations_not_in")?;
    }
    let origin = flow.route().first().copied();
    if let Some(set) = &conditions.origin_in {
        check(origin.is_some_and(|o| set.contains(o, today)), "origin_in")?;
    }
    if let Some(set) = &conditions.origin_not_in {
        check(
            !origin.is_some_and(|o| set.contains(o, today)),
            "origin_not_in",
        )?;
    }
    if let Some(set) = &conditions.categories_any {
        check(set.intersects(&flow.categories), "categories_any")?;
    }
    if let Some(min) = conditions.min_subjects {
        match flow.subjects {
            Some(subjects) => check(subjects >= min, "min_subjects")?,
            None => unstated("min_subjects", "data_subject_count")?,
        }
    }
    if let Some(max) = conditions.max_subjects {
        match flow.subjects {
            Some(subjects) => check(subjects < max, "max_subjects")?,
            None => unstated("max_subjects", "data_subject_count")?,
        }
    }
    if let Some(set) = &conditions.purposes_any {
        match flow.purpose {
            Some(purpose) => check(set.contains(purpose), "purposes_any")?,
            None => unstated("purposes_any", "purpose")?,
        }
    }
    if let Some(set) = &conditions.protection_any {
        check(set.contains(flow.protection), "protection_any")?;
    }
    let attributes_hold =
        |has: &IdSet, yes: &IdSet, no: &IdSet| has.is_superset(yes) && !has.intersects(no);
    let exporter = (&conditions.exporter_true, &conditions.exporter_false);
    check(
        attributes_hold(&flow.exporter, exporter.0, exporter.1),
        "exporter",
    )?;
    let importer = (&conditions.importer_true, &conditions.importer_false);
    check(
        attributes_hold(&flow.importer, importer.0, importer.1),
        "importer",
    )?;
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
        // One buffer, written in place: the summary is on every answer's path.
        let mut out = String::with_capacity(160);
        let _ = write!(out, "{}: ", self.decision);
        for (index, stop) in route.iter().enumerate() {
            let _ = write!(out, "{}{stop}", if index == 0 { "" } else { " -> " });
        }
        out.push_str(": ");
        let list_rules = |out: &mut String, effect: Effect| {
            let rules = self.matched.iter().filter(|rule| rule.effect == effect);
            for (index, rule) in rules.enumerate() {
                let _ = write!(
                    out,
                    "{}{} on {}",
                    if index == 0 { "" } else { ", " },
                    rule.rule.rule_id,
                    rule.leg
                );
            }
        };
        match self.decision {
            Decision::Prohibited => {
                out.push_str("prohibited by ");
                list_rules(&mut out, Effect::Prohibit);
            }
            Decision::ReviewRequired => {
                for (index, leg) in self.legs_without_regime.iter().enumerate() {
                    let separator = if index == 0 { "" } else { "; " };
                    let _ = write!(
                        out,
                        "{separator}no known regime for data leaving {}",
                        leg.from
                    );
                }
                if self
                    .matched
                    .iter()
                    .any(|rule| rule.effect == Effect::Review)
                {
                    if !self.legs_without_regime.is_empty() {
                        out.push_str("; ");
                    }
                    out.push_str("review required by ");
                    list_rules(&mut out, Effect::Review);
                }
            }
            Decision::Conditional => {
                let _ = write!(out, "{} unmet requirement(s): ", self.unmet.len());
                for (index, requirement) in self.unmet.iter().enumerate() {
                    let separator = if index == 0 { "" } else { "; " };
                    let _ = write!(
                        out,
                        "{separator}{} on {} needs one of ",
                        requirement.rule.rule_id, requirement.leg
                    );
                    for (position, mechanism) in requirement.any_of.iter().enumerate() {
                        let _ = write!(out, "{}{mechanism}", if position == 0 { "" } else { ", " });
                    }
                }
            }
            Decision::Permitted if route.windows(2).all(|pair| pair[0] == pair[1]) => {
                out.push_str("no cross-border leg");
            }
            Decision::Permitted => {
                let _ = write!(
                    out,
                    "{} rule(s) matched, {} requirement(s) met, none unmet",
                    self.matched.len(),
                    self.met.len()
                );
            }
        }
        out
    }
}

impl Visitor for Answer {
    fn no_regime(&mut self, leg: Leg) {
        self.legs_without_regime.push(leg);
    }

    fn decision(&self) -> Decision {
        if self.legs_without_regime.is_empty() {
            self.decision
        } else {
            self.decision.max(Decision::ReviewRequired)
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
        if rule.effect == Effect::Require {
            let met_by = met_by(rule, flow);
            let requirement = Requirement {
                rule: reference.clone(),
                leg,
                any_of: Arc::clone(&rule.any_of_names),
                met_by: met_by.map(|index| Arc::clone(&rule.any_of_names[index])),
            };
            if met_by.is_some() {
                self.met.push(requirement);
            } else {
                self.unmet.push(requirement);
            }
        }
        self.decision = self.decision.max(severity(rule, flow));
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
        failed: Failed,
    ) {
        if self.explain {
            self.trace.push(TraceEntry {
                rule: rule_ref(rule_set, rule),
                leg,
                failed: failed.path(),
            });
        }
    }
}

fn rule_ref(rule_set: &CompiledRuleSet, rule: &CompiledRule) -> RuleRef {
    RuleRef {
        rule_id: Arc::clone(&rule.id),
        jurisdiction: Arc::clone(&rule_set.jurisdiction),
        citation: Arc::clone(&rule.citation),
    }
}
