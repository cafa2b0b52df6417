//! The answer to an assessment as protobuf, limited to the fields the caller's `read_mask`
//! (`google.protobuf.FieldMask`, AIP-157) names: a caller that needs only `decision`,
//! `revision` and `summary` gets a small answer, and the server builds only that.

use prost_types::FieldMask;

use crate::model::validate::Report;
use crate::model::{Assessment, Requirement, RuleRef};

use super::convert::{pb_decision, pb_effect, pb_leg};
use super::pb;

/// The fields of `AssessFlowResponse` a read mask may name, in field-number order.
pub const FIELDS: [&str; 12] = [
    "request_id",
    "decision",
    "unmet_requirements",
    "met_requirements",
    "obligations",
    "matched_rules",
    "revision",
    "rule_set_versions",
    "summary",
    "trace",
    "legs_without_regime",
    "store_id",
];

/// Which fields of the answer to fill: one bit per entry of [`FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMask(u16);

impl ReadMask {
    /// Every field: an absent or empty mask (AIP-157).
    pub const ALL: Self = Self(u16::MAX);

    /// The mask `mask` names; each unknown path is a violation at `{prefix}.paths[i]`.
    pub fn parse(mask: Option<&FieldMask>, prefix: &str, violations: &mut Report) -> Self {
        let Some(mask) = mask.filter(|mask| !mask.paths.is_empty()) else {
            return Self::ALL;
        };
        let mut bits = 0;
        for (index, path) in mask.paths.iter().enumerate() {
            match FIELDS.iter().position(|field| field == path) {
                Some(field) => bits |= 1 << field,
                None => violations.add(
                    format!("{prefix}.paths[{index}]"),
                    format!(
                        "`{path}` is not a field of AssessFlowResponse (one of: {})",
                        FIELDS.join(", ")
                    ),
                ),
            }
        }
        Self(bits)
    }

    fn has(self, field: &str) -> bool {
        FIELDS
            .iter()
            .position(|name| *name == field)
            .is_some_and(|index| self.0 & (1 << index) != 0)
    }
}

fn reference(rule: &RuleRef) -> (String, String, String) {
    (
        rule.rule_id.to_string(),
        rule.jurisdiction.to_string(),
        rule.citation.to_string(),
    )
}

fn requirement(requirement: &Requirement) -> pb::Requirement {
    let (rule_id, jurisdiction, citation) = reference(&requirement.rule);
    pb::Requirement {
        rule_id,
        jurisdiction,
        leg: Some(pb_leg(&requirement.leg)),
        any_of: requirement.any_of.iter().map(ToString::to_string).collect(),
        citation,
        met_by: requirement.met_by.as_deref().unwrap_or_default().to_owned(),
    }
}

/// An assessment as the protobuf answer to `request_id`, with only the fields in `mask`.
pub fn pb_assessment(
    request_id: String,
    assessment: &Assessment,
    store_id: &str,
    mask: ReadMask,
) -> pb::AssessFlowResponse {
    let mut answer = pb::AssessFlowResponse::default();
    let want = |field| mask.has(field);
    if want("request_id") {
        answer.request_id = request_id;
    }
    if want("decision") {
        answer.decision = pb_decision(assessment.decision).into();
    }
    if want("unmet_requirements") {
        answer.unmet_requirements = assessment
            .unmet_requirements
            .iter()
            .map(requirement)
            .collect();
    }
    if want("met_requirements") {
        answer.met_requirements = assessment
            .met_requirements
            .iter()
            .map(requirement)
            .collect();
    }
    if want("obligations") {
        answer.obligations = assessment
            .obligations
            .iter()
            .map(|obligation| pb::Obligation {
                obligation: obligation.obligation.to_string(),
                rule_id: obligation.rule.rule_id.to_string(),
                jurisdiction: obligation.rule.jurisdiction.to_string(),
                leg: Some(pb_leg(&obligation.leg)),
            })
            .collect();
    }
    if want("matched_rules") {
        answer.matched_rules = assessment
            .matched_rules
            .iter()
            .map(|matched| {
                let (rule_id, jurisdiction, citation) = reference(&matched.rule);
                pb::MatchedRule {
                    rule_id,
                    jurisdiction,
                    leg: Some(pb_leg(&matched.leg)),
                    effect: pb_effect(matched.effect).into(),
                    citation,
                }
            })
            .collect();
    }
    if want("revision") {
        answer.revision = assessment.revision;
    }
    if want("rule_set_versions") {
        answer.rule_set_versions = assessment
            .rule_set_versions
            .iter()
            .map(|version| pb::RuleSetVersion {
                jurisdiction: version.jurisdiction.to_string(),
                version: version.version,
            })
            .collect();
    }
    if want("summary") {
        answer.summary.clone_from(&assessment.summary);
    }
    if want("trace") {
        answer.trace = assessment
            .trace
            .iter()
            .map(|entry| {
                let (rule_id, jurisdiction, citation) = reference(&entry.rule);
                pb::TraceEntry {
                    rule_id,
                    jurisdiction,
                    leg: Some(pb_leg(&entry.leg)),
                    failed_condition: entry.failed.clone(),
                    citation,
                }
            })
            .collect();
    }
    if want("legs_without_regime") {
        answer.legs_without_regime = assessment.legs_without_regime.iter().map(pb_leg).collect();
    }
    if want("store_id") {
        answer.store_id = store_id.to_owned();
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::FIELDS;

    #[test]
    fn the_mask_knows_every_field_of_the_answer() {
        let pool = prost_reflect::DescriptorPool::decode(crate::api::pb::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let message = pool
            .get_message_by_name("xborder.v1.AssessFlowResponse")
            .expect("AssessFlowResponse");
        let names: Vec<String> = message.fields().map(|f| f.name().to_owned()).collect();
        assert_eq!(names, FIELDS);
    }
}
