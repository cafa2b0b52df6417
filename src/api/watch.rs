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

/// How long a watch resumed on a lagging replica waits for it to catch up.
const CATCH_UP: std::time::Duration = std::time::Duration::from_secs(5);

/// The service.
#[derive(Debug, Clone)]
pub struct WatchApi(pub Arc<Shared>);

/// One open stream.
struct WatchState {
    watcher: Watcher,
    /// The revision of the first `PROGRESS` message, until it is sent.
    first: Option<u64>,
    /// Until the history up to the head at open time has been sent: then a `PROGRESS` at
    /// the head closes the catch-up.
    catching_up: bool,
    /// The revision of the last `PROGRESS` sent, so the catch-up's is not a repeat.
    last_progress: u64,
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
        state.last_progress = revision;
        return Some((
            Ok(pb_progress(revision, state.shared.store.store_id())),
            state,
        ));
    }
    while state.catching_up {
        match state.watcher.try_next() {
            Ok(Some(event)) => return Some(delivered(state, &event)),
            Ok(None) => {
                state.catching_up = false;
                let head = state.watcher.next_revision().saturating_sub(1);
                if head > state.last_progress {
                    state.last_progress = head;
                    return Some((Ok(pb_progress(head, state.shared.store.store_id())), state));
                }
            }
            Err(error) => {
                state.ended = true;
                return Some((Err(ApiError::from(error).into()), state));
            }
        }
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
        Step::Event(Ok(event)) => Some(delivered(state, &event)),
        Step::Event(Err(error)) => {
            state.ended = true;
            Some((Err(ApiError::from(error).into()), state))
        }
        Step::Quiet => {
            let revision = state.watcher.next_revision().saturating_sub(1);
            state.last_progress = revision;
            Some((
                Ok(pb_progress(revision, state.shared.store.store_id())),
                state,
            ))
        }
    }
}

type Message = (Result<pb::WatchRuleChangesResponse, Status>, WatchState);

/// A change event as the stream's next message.
fn delivered(state: WatchState, event: &crate::store::ChangeEvent) -> Message {
    state.shared.telemetry.delivered();
    let message = pb_event(event, state.include_rule_set, state.shared.store.store_id());
    (Ok(message), state)
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
    let store_id = shared.store.store_id();
    if !request.expect_store_id.is_empty() && request.expect_store_id != store_id {
        return Err(ApiError::StoreChanged {
            expected: request.expect_store_id,
            actual: store_id.to_owned(),
        });
    }
    let permit = shared.watch_permit()?;
    let watcher = shared.store.watch(jurisdictions, request.start_revision)?;
    // Everything before the watcher's first revision is "sent": the stream starts with the
    // promise it can keep (start_revision - 1, or the head for 0), so revisions never go down.
    let first = watcher.next_revision().saturating_sub(1);
    let state = WatchState {
        first: Some(first),
        catching_up: request.start_revision != 0,
        last_progress: first,
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
        // A replica of a shared log may not have installed a revision the client saw on
        // another replica yet: resuming there waits for it rather than refusing it.
        let resume_after = request.get_ref().start_revision.saturating_sub(1);
        self.0.store.catch_up_to(resume_after, CATCH_UP).await;
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
