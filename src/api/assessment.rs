//! `AssessmentService`: one flow, or a stream of flows answered in request order.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::engine;
use crate::model::CountryCode;

use super::answer;
use super::auth::Access;
use super::convert::FlowQuery;
use super::error::ApiError;
use super::pb;
use super::pb::assessment_service_server::AssessmentService;
use super::state::Shared;
use super::telemetry::CallFields;

/// The service.
#[derive(Debug, Clone)]
pub struct AssessmentApi(pub Arc<Shared>);

/// Assesses one request against the requested (or head) snapshot.
fn assess(
    shared: &Shared,
    request: pb::AssessFlowRequest,
    fields: &mut CallFields,
) -> Result<pb::AssessFlowResponse, ApiError> {
    fields.request_id.clone_from(&request.request_id);
    let query = FlowQuery::try_from(request).map_err(ApiError::Invalid)?;
    let snapshot = shared.store.snapshot_at(query.at_revision)?;
    let at = query
        .at_time
        .unwrap_or_else(|| shared.store.decision_time(&snapshot));
    let started = Instant::now();
    let assessment = engine::assess(&snapshot, &query.flow, at, query.explain)?;
    let seconds = started.elapsed().as_secs_f64();
    // The engine accepted the flow, so its origin is an assigned code.
    if let Some(origin) = CountryCode::parse_assigned(&query.flow.origin) {
        shared
            .telemetry
            .assessed(seconds, assessment.decision, origin);
    }
    fields.decision = Some(assessment.decision.as_str());
    Ok(answer::pb_assessment(
        query.request_id,
        &assessment,
        shared.store.store_id(),
        query.mask,
    ))
}

/// One answer of the stream: the assessment, or the error as data so the stream goes on.
fn stream_answer(shared: &Shared, request: pb::AssessFlowsRequest) -> pb::AssessFlowsResponse {
    let read_mask = request.read_mask;
    let mut request = request.request.unwrap_or_default();
    if request.read_mask.is_none() {
        request.read_mask = read_mask;
    }
    let request_id = request.request_id.clone();
    let result = match assess(shared, request, &mut CallFields::default()) {
        Ok(answer) => pb::assess_flows_response::Result::Assessment(answer),
        Err(error) => pb::assess_flows_response::Result::Error(error.into()),
    };
    pb::AssessFlowsResponse {
        request_id,
        result: Some(result),
        store_id: shared.store.store_id().to_owned(),
    }
}

/// The answers to a stream of requests, produced only as the client reads them (a client
/// that stops reading stops the server reading its requests, so its memory does not grow),
/// until the client ends its requests or the server drains.
fn answers(
    shared: Arc<Shared>,
    requests: Streaming<pb::AssessFlowsRequest>,
) -> Result<AnswerStream, ApiError> {
    if *shared.draining.borrow() {
        return Err(ApiError::Draining);
    }
    let mut draining = shared.draining.clone();
    let drained = async move {
        let _ = draining.wait_for(|draining| *draining).await;
    };
    let answers = requests
        .map(move |item| item.map(|request| stream_answer(&shared, request)))
        .take_until(drained);
    Ok(Box::pin(answers))
}

type AnswerStream = Pin<Box<dyn Stream<Item = Result<pb::AssessFlowsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AssessmentService for AssessmentApi {
    async fn assess_flow(
        &self,
        request: Request<pb::AssessFlowRequest>,
    ) -> Result<Response<pb::AssessFlowResponse>, Status> {
        self.0
            .call("AssessFlow", Access::Read, request, assess)
            .await
    }

    type AssessFlowsStream = AnswerStream;

    async fn assess_flows(
        &self,
        request: Request<Streaming<pb::AssessFlowsRequest>>,
    ) -> Result<Response<Self::AssessFlowsStream>, Status> {
        let shared = Arc::clone(&self.0);
        self.0
            .call(
                "AssessFlows",
                Access::Read,
                request,
                move |_, requests, _| answers(shared, requests),
            )
            .await
    }
}
