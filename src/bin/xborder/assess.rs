//! `xborder assess`: one flow (exit status tells the decision) or a JSON-lines file of flows
//! streamed through `AssessFlows`.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::StreamExt;

use xborder::api::convert::to_timestamp;
use xborder::api::pb;

use crate::args::{AssessArgs, Format};
use crate::client::{CliError, Client};
use crate::output;

/// The exit status of a decision.
fn exit_code(decision: pb::Decision) -> u8 {
    match decision {
        pb::Decision::Permitted => 0,
        pb::Decision::Conditional => 10,
        pb::Decision::ReviewRequired => 11,
        pb::Decision::Prohibited => 12,
        pb::Decision::Unspecified => 1,
    }
}

pub async fn run(client: Client, args: AssessArgs, format: Format) -> Result<ExitCode, CliError> {
    if let Some(file) = &args.file {
        return run_file(client, file).await;
    }
    let request = pb::AssessFlowRequest {
        request_id: String::new(),
        flow: Some(pb::Flow {
            origin: args.origin.unwrap_or_default(),
            destination: args.destination.unwrap_or_default(),
            transit: args.transit,
            data_categories: args.categories,
            data_subject_count: args.subjects,
            safeguards: args.safeguards,
            purpose: args.purpose.unwrap_or_default(),
            protection: args.protection.unwrap_or_default(),
            exporter: Some(pb::Exporter {
                critical_infrastructure: args.critical_infrastructure,
            }),
        }),
        at_revision: args.at_revision.unwrap_or_default(),
        at_time: args.at_time.map(to_timestamp),
        explain: args.explain,
    };
    let answer = client.assessment().assess_flow(request).await?.into_inner();
    match format {
        Format::Json => output::print(&answer_json(&answer).to_string()),
        Format::Table => print_answer(&answer),
    }
    Ok(ExitCode::from(exit_code(answer.decision())))
}

/// The stable JSON form of an answer.
pub fn answer_json(answer: &pb::AssessFlowResponse) -> Value {
    let requirement = |r: &pb::Requirement| {
        json!({"rule_id": r.rule_id, "jurisdiction": r.jurisdiction, "leg": output::leg(r.leg.as_ref()),
               "any_of": r.any_of, "citation": r.citation, "met_by": r.met_by})
    };
    json!({
        "request_id": answer.request_id,
        "decision": output::decision_name(answer.decision()),
        "revision": answer.revision,
        "summary": answer.summary,
        "unmet_requirements": answer.unmet_requirements.iter().map(requirement).collect::<Vec<_>>(),
        "met_requirements": answer.met_requirements.iter().map(requirement).collect::<Vec<_>>(),
        "obligations": answer.obligations.iter().map(|o| json!({
            "obligation": o.obligation, "rule_id": o.rule_id, "jurisdiction": o.jurisdiction,
            "leg": output::leg(o.leg.as_ref())})).collect::<Vec<_>>(),
        "matched_rules": answer.matched_rules.iter().map(|m| json!({
            "rule_id": m.rule_id, "jurisdiction": m.jurisdiction, "leg": output::leg(m.leg.as_ref()),
            "effect": m.effect().as_str_name(), "citation": m.citation})).collect::<Vec<_>>(),
        "rule_set_versions": answer.rule_set_versions.iter().map(|v| json!({
            "jurisdiction": v.jurisdiction, "version": v.version})).collect::<Vec<_>>(),
        "legs_without_regime": answer.legs_without_regime.iter().map(|l| output::leg(Some(l))).collect::<Vec<_>>(),
        "trace": answer.trace.iter().map(|t| json!({
            "rule_id": t.rule_id, "jurisdiction": t.jurisdiction, "leg": output::leg(t.leg.as_ref()),
            "failed_condition": t.failed_condition})).collect::<Vec<_>>(),
    })
}

fn print_answer(answer: &pb::AssessFlowResponse) {
    output::print(&format!(
        "Decision:  {}   (revision {})",
        output::decision(answer.decision()),
        answer.revision
    ));
    output::print(&format!("Summary:   {}", answer.summary));
    if !answer.unmet_requirements.is_empty() {
        let mut table = output::table(&["Unmet requirement", "Leg", "Any one of", "Citation"]);
        for r in &answer.unmet_requirements {
            table.add_row([
                r.rule_id.clone(),
                output::leg(r.leg.as_ref()),
                r.any_of.join(", "),
                r.citation.clone(),
            ]);
        }
        output::print(&format!("\n{table}"));
    }
    if !answer.met_requirements.is_empty() {
        let mut table = output::table(&["Met requirement", "Leg", "Met by", "Citation"]);
        for r in &answer.met_requirements {
            table.add_row([
                r.rule_id.clone(),
                output::leg(r.leg.as_ref()),
                r.met_by.clone(),
                r.citation.clone(),
            ]);
        }
        output::print(&format!("\n{table}"));
    }
    if !answer.obligations.is_empty() {
        let mut table = output::table(&["Obligation", "Rule", "Leg"]);
        for o in &answer.obligations {
            table.add_row([
                o.obligation.clone(),
                o.rule_id.clone(),
                output::leg(o.leg.as_ref()),
            ]);
        }
        output::print(&format!("\n{table}"));
    }
    if !answer.trace.is_empty() {
        let mut table = output::table(&["Rule not matched", "Leg", "First failing condition"]);
        for t in &answer.trace {
            table.add_row([
                t.rule_id.clone(),
                output::leg(t.leg.as_ref()),
                t.failed_condition.clone(),
            ]);
        }
        output::print(&format!("\n{table}"));
    }
}

/// One line of a flows file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowLine {
    #[serde(default)]
    request_id: String,
    origin: String,
    destination: String,
    #[serde(default)]
    transit: Vec<String>,
    data_categories: Vec<String>,
    #[serde(default)]
    data_subject_count: u64,
    #[serde(default)]
    safeguards: Vec<String>,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    protection: String,
    #[serde(default)]
    critical_infrastructure: bool,
    #[serde(default)]
    at_revision: u64,
    #[serde(default)]
    explain: bool,
}

fn read_flows(path: &std::path::Path) -> Result<Vec<pb::AssessFlowsRequest>, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|error| CliError::File(format!("cannot open {}: {error}", path.display())))?;
    let mut requests = Vec::new();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line
            .map_err(|error| CliError::File(format!("cannot read {}: {error}", path.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let flow: FlowLine = serde_json::from_str(&line).map_err(|error| {
            CliError::File(format!("{}:{}: {error}", path.display(), index + 1))
        })?;
        let request_id = if flow.request_id.is_empty() {
            format!("line-{}", index + 1)
        } else {
            flow.request_id
        };
        requests.push(pb::AssessFlowsRequest {
            request: Some(pb::AssessFlowRequest {
                request_id,
                flow: Some(pb::Flow {
                    origin: flow.origin,
                    destination: flow.destination,
                    transit: flow.transit,
                    data_categories: flow.data_categories,
                    data_subject_count: flow.data_subject_count,
                    safeguards: flow.safeguards,
                    purpose: flow.purpose,
                    protection: flow.protection,
                    exporter: Some(pb::Exporter {
                        critical_infrastructure: flow.critical_infrastructure,
                    }),
                }),
                at_revision: flow.at_revision,
                at_time: None,
                explain: flow.explain,
            }),
        });
    }
    Ok(requests)
}

async fn run_file(client: Client, path: &std::path::Path) -> Result<ExitCode, CliError> {
    let requests = read_flows(path)?;
    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(requests.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut answers = client
        .assessment()
        .assess_flows(tokio_stream::iter(requests))
        .await?
        .into_inner();
    let mut worst = 0u8;
    let mut failed = false;
    while let Some(answer) = answers.next().await {
        let answer = answer?;
        let line = match answer.result {
            Some(pb::assess_flows_response::Result::Assessment(assessment)) => {
                worst = worst.max(exit_code(assessment.decision()));
                answer_json(&assessment)
            }
            Some(pb::assess_flows_response::Result::Error(error)) => {
                failed = true;
                json!({"request_id": answer.request_id, "error": {
                    "code": output::code_name(tonic::Code::from_i32(error.code)), "message": error.message,
                    "field_violations": error.field_violations.iter().map(|v| json!({
                        "field": v.field, "description": v.description})).collect::<Vec<_>>()}})
            }
            None => json!({"request_id": answer.request_id}),
        };
        progress.suspend(|| output::print(&line.to_string()));
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(ExitCode::from(if failed { 1 } else { worst }))
}
