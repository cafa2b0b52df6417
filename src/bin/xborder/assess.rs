//! `xborder assess`: one flow (exit status tells the decision) or a JSON-lines file of flows
//! streamed through `AssessFlows`.

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use tokio_stream::StreamExt;

use xborder::api::convert::to_timestamp;
use xborder::api::pb;

use crate::args::{AssessArgs, Format};
use crate::client::{CliError, Client};
use crate::json::{from_json, to_json};
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

/// `xborder assess --from ... --to ...`.
pub async fn run(client: Client, args: AssessArgs, format: Format) -> Result<ExitCode, CliError> {
    if let Some(file) = &args.file {
        return run_file(client, file).await;
    }
    let personal = args
        .categories
        .iter()
        .any(|category| category == "user" || category.starts_with("user."));
    if personal && args.subjects.is_none() {
        return Err(CliError::Usage(
            "--subjects is required for personal data (a category under `user`): how many individuals' data the flow holds".into(),
        ));
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
            importer: Some(pb::Importer {
                public_authority: args.importer_public_authority,
            }),
        }),
        at_revision: args.at_revision.unwrap_or_default(),
        at_time: args.at_time.map(to_timestamp),
        explain: args.explain,
        read_mask: None,
    };
    let answer = client.assessment().assess_flow(request).await?.into_inner();
    match format {
        Format::Json => output::print(&to_json(&answer, "AssessFlowResponse")?),
        Format::Table => print_answer(&answer),
    }
    Ok(ExitCode::from(exit_code(answer.decision())))
}

fn print_answer(answer: &pb::AssessFlowResponse) {
    output::print(&format!(
        "Decision:  {}   (revision {})",
        output::decision(answer.decision()),
        answer.revision
    ));
    output::print(&format!("Summary:   {}", answer.summary));
    let requirements = |title: &str, third: &str, list: &[pb::Requirement], met: bool| {
        if list.is_empty() {
            return;
        }
        let mut table = output::table(&[title, "Leg", third, "Citation"]);
        for r in list {
            table.add_row([
                r.rule_id.clone(),
                output::leg(r.leg.as_ref()),
                if met {
                    r.met_by.clone()
                } else {
                    r.any_of.join(", ")
                },
                r.citation.clone(),
            ]);
        }
        output::print(&format!("\n{table}"));
    };
    requirements(
        "Unmet requirement",
        "Any one of",
        &answer.unmet_requirements,
        false,
    );
    requirements("Met requirement", "Met by", &answer.met_requirements, true);
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

/// The requests of a flows file: one `AssessFlowRequest` per line in the protobuf JSON
/// mapping; a line without a `requestId` gets `line-N`.
fn read_flows(path: &Path) -> Result<Vec<pb::AssessFlowsRequest>, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|error| CliError::File(format!("cannot open {}: {error}", path.display())))?;
    let mut requests = Vec::new();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line
            .map_err(|error| CliError::File(format!("cannot read {}: {error}", path.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let mut request: pb::AssessFlowRequest =
            from_json(&line, "AssessFlowRequest").map_err(|error| {
                CliError::File(format!("{}:{}: {error}", path.display(), index + 1))
            })?;
        if request.request_id.is_empty() {
            request.request_id = format!("line-{}", index + 1);
        }
        requests.push(pb::AssessFlowsRequest {
            request: Some(request),
            read_mask: None,
        });
    }
    Ok(requests)
}

/// `xborder assess --file FLOWS.jsonl`.
async fn run_file(client: Client, path: &Path) -> Result<ExitCode, CliError> {
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
        match &answer.result {
            Some(pb::assess_flows_response::Result::Assessment(assessment)) => {
                worst = worst.max(exit_code(assessment.decision()));
            }
            Some(pb::assess_flows_response::Result::Error(_)) | None => failed = true,
        }
        let line = to_json(&answer, "AssessFlowsResponse")?;
        progress.suspend(|| output::print(&line));
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(ExitCode::from(if failed { 1 } else { worst }))
}
