//! `read_mask` (AIP-157) on AssessFlow and AssessFlows: an answer holds exactly the named
//! fields, and an unknown path is INVALID_ARGUMENT naming `read_mask.paths[i]`.

mod common;

use common::server::{TestServer, config, typical_request};
use prost_types::FieldMask;
use tonic::Code;
use tonic_types::StatusExt;
use xborder::api::pb;
use xborder::api::pb::assessment_service_client::AssessmentServiceClient;

fn cn_to_us(mask: Option<&[&str]>) -> pb::AssessFlowRequest {
    pb::AssessFlowRequest {
        read_mask: mask.map(|paths| FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        ..typical_request("mask-1")
    }
}

/// `full` with every field outside `keep` reset to its default.
fn only(full: &pb::AssessFlowResponse, keep: &[&str]) -> pb::AssessFlowResponse {
    let mut expected = pb::AssessFlowResponse::default();
    for field in keep {
        match *field {
            "decision" => expected.decision = full.decision,
            "revision" => expected.revision = full.revision,
            "summary" => expected.summary.clone_from(&full.summary),
            "unmet_requirements" => expected
                .unmet_requirements
                .clone_from(&full.unmet_requirements),
            "request_id" => expected.request_id.clone_from(&full.request_id),
            other => panic!("test helper lacks {other}"),
        }
    }
    expected
}

#[tokio::test]
async fn a_masked_answer_holds_exactly_the_named_fields() {
    let server = TestServer::start(config()).await;
    let mut client = AssessmentServiceClient::new(server.channel().await);
    let full = client
        .assess_flow(cn_to_us(None))
        .await
        .expect("full")
        .into_inner();
    assert_eq!(full.decision(), pb::Decision::Conditional);
    assert!(!full.matched_rules.is_empty() && !full.store_id.is_empty());
    let empty_mask = client
        .assess_flow(cn_to_us(Some(&[])))
        .await
        .expect("empty mask")
        .into_inner();
    assert_eq!(empty_mask, full, "an empty mask is every field");
    for keep in [
        &["decision"][..],
        &["decision", "revision", "summary"],
        &["unmet_requirements", "request_id"],
    ] {
        let masked = client
            .assess_flow(cn_to_us(Some(keep)))
            .await
            .expect("masked")
            .into_inner();
        assert_eq!(masked, only(&full, keep), "{keep:?}");
    }
}

#[tokio::test]
async fn an_unknown_path_is_invalid_argument_naming_it() {
    let server = TestServer::start(config()).await;
    let mut client = AssessmentServiceClient::new(server.channel().await);
    let status = client
        .assess_flow(cn_to_us(Some(&["decision", "verdict", "flow.origin"])))
        .await
        .expect_err("unknown paths");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = status
        .get_details_bad_request()
        .expect("field violations")
        .field_violations
        .into_iter()
        .map(|violation| violation.field)
        .collect();
    assert_eq!(fields, ["read_mask.paths[1]", "read_mask.paths[2]"]);
}

#[tokio::test]
async fn a_stream_applies_the_outer_mask_unless_the_request_has_its_own() {
    let server = TestServer::start(config()).await;
    let mut client = AssessmentServiceClient::new(server.channel().await);
    let outer = Some(FieldMask {
        paths: vec!["decision".into()],
    });
    let requests = vec![
        pb::AssessFlowsRequest {
            request: Some(cn_to_us(None)),
            read_mask: outer.clone(),
        },
        pb::AssessFlowsRequest {
            request: Some(cn_to_us(Some(&["summary"]))),
            read_mask: outer,
        },
    ];
    let mut answers = client
        .assess_flows(tokio_stream::iter(requests))
        .await
        .expect("stream")
        .into_inner();
    let mut results = Vec::new();
    while let Some(answer) = answers.message().await.expect("answer") {
        assert_eq!(
            answer.request_id, "mask-1",
            "the stream message keeps its id"
        );
        match answer.result {
            Some(pb::assess_flows_response::Result::Assessment(assessment)) => {
                results.push(assessment);
            }
            other => panic!("not an assessment: {other:?}"),
        }
    }
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].decision(), pb::Decision::Conditional);
    assert_eq!(results[0].summary, "");
    assert_eq!(
        results[1].decision, 0,
        "its own mask names only the summary"
    );
    assert!(!results[1].summary.is_empty());
}
