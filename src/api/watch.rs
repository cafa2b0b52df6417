//! `WatchService`: a stream per watcher cursor. The stream holds no buffer: it reads the
//! next event from the store's history only when the transport asks for the next message.

use std::pin::Pin;
use std::sync::Arc;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::model::{CountryCode, Violation};
use crate::store::watch::Watcher;

use super::auth::Access;
use super::convert::{pb_event, pb_progress};
use super::error::ApiError;
use super::pb;
use super::pb::watch_service_server::WatchService;
use super::state::{Shared, WatchPermit};

/// The service.
#[derive(Debug, Clone)]
pub struct WatchApi(pub Arc<Shared>);

/// One open stream.
struct WatchState {
    watcher: Watcher,
    /// The revision of the first `PROGRESS` message, until it is sent.
    first: Option<u64>,
    shared: Arc<Shared>,
    include_rule_set: bool,
    ended: bool,
    _permit: WatchPermit,
}

enum Step {
    Drained,
    Event(Result<Arc<crate::store::ChangeEvent>, crate::store::watch::WatchError>),
    Quiet,
}

async fn next_message(
    mut state: WatchState,
) -> Option<(Result<pb::WatchRuleChangesResponse, Status>, WatchState)> {
    if state.ended {
        return None;
    }
    if let Some(revision) = state.first.take() {
        return Some((Ok(pb_progress(revision)), state));
    }
    let mut draining = state.shared.draining.clone();
    let step = tokio::select! {
        biased;
        _ = draining.wait_for(|draining| *draining) => Step::Drained,
        event = state.watcher.next() => Step::Event(event),
        () = tokio::time::sleep(state.shared.config.progress_interval) => Step::Quiet,
    };
    match step {
        // Ending the stream sends an OK status: the server is going away cleanly.
        Step::Drained => None,
        Step::Event(Ok(event)) => {
            state.shared.telemetry.delivered();
            Some((Ok(pb_event(&event, state.include_rule_set)), state))
        }
        Step::Event(Err(error)) => {
            state.ended = true;
            Some((Err(ApiError::from(error).into()), state))
        }
        Step::Quiet => {
            let revision = state.watcher.next_revision().saturating_sub(1);
            Some((Ok(pb_progress(revision)), state))
        }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::WatchRuleChangesResponse, Status>> + Send>>;

/// Opens a watch stream after checking the request and the stream limit.
fn open(
    shared: &Arc<Shared>,
    request: pb::WatchRuleChangesRequest,
) -> Result<EventStream, ApiError> {
    if *shared.draining.borrow() {
        return Err(ApiError::Draining);
    }
    let mut violations = Vec::new();
    let jurisdictions: Vec<String> = request
        .jurisdictions
        .iter()
        .enumerate()
        .filter_map(|(index, code)| {
            let valid = CountryCode::parse_letters(code).map(|code| code.to_string());
            if valid.is_none() {
                violations.push(Violation {
                    path: format!("jurisdictions[{index}]"),
                    message: format!("`{code}` is not a jurisdiction code (two letters)"),
                });
            }
            valid
        })
        .collect();
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    let permit = shared.watch_permit()?;
    let watcher = shared.store.watch(jurisdictions, request.start_revision)?;
    let state = WatchState {
        first: Some(shared.store.head()),
        watcher,
        shared: Arc::clone(shared),
        include_rule_set: request.include_rule_set,
        ended: false,
        _permit: permit,
    };
    Ok(Box::pin(futures_util::stream::unfold(state, next_message)))
}

#[tonic::async_trait]
impl WatchService for WatchApi {
    type WatchRuleChangesStream = EventStream;

    async fn watch_rule_changes(
        &self,
        request: Request<pb::WatchRuleChangesRequest>,
    ) -> Result<Response<Self::WatchRuleChangesStream>, Status> {
        let shared = Arc::clone(&self.0);
        self.0
            .call(
                "WatchRuleChanges",
                Access::Read,
                request,
                move |_, request, _| open(&shared, request),
            )
            .await
    }
}
