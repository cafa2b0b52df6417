//! `WatchService`: a stream per watcher cursor. The stream holds no buffer: it reads the
//! next event from the store's history only when the transport asks for the next message.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::model::{CountryCode, Violation};
use crate::store::Watcher;

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
    draining: watch::Receiver<bool>,
    progress_interval: Duration,
    include_rule_set: bool,
    ended: bool,
    _permit: WatchPermit,
}

enum Step {
    Drained,
    Event(Result<Arc<crate::store::ChangeEvent>, crate::store::WatchError>),
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
    let step = tokio::select! {
        biased;
        _ = state.draining.wait_for(|draining| *draining) => Step::Drained,
        event = state.watcher.next() => Step::Event(event),
        () = tokio::time::sleep(state.progress_interval) => Step::Quiet,
    };
    match step {
        // Ending the stream sends an OK status: the server is going away cleanly.
        Step::Drained => None,
        Step::Event(Ok(event)) => Some((Ok(pb_event(&event, state.include_rule_set)), state)),
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

#[tonic::async_trait]
impl WatchService for WatchApi {
    type WatchRuleChangesStream = EventStream;

    async fn watch_rule_changes(
        &self,
        request: Request<pb::WatchRuleChangesRequest>,
    ) -> Result<Response<Self::WatchRuleChangesStream>, Status> {
        let shared = &self.0;
        shared.config.auth.check(request.metadata(), Access::Read)?;
        if *shared.draining.borrow() {
            return Err(Status::unavailable(
                "the server is shutting down: reconnect to another replica",
            ));
        }
        let request = request.into_inner();
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
            return Err(ApiError::Invalid(violations).into());
        }
        let permit = shared.watch_permit()?;
        let watcher = shared
            .store
            .watch(jurisdictions, request.start_revision)
            .map_err(ApiError::from)?;
        let state = WatchState {
            first: Some(shared.store.head()),
            watcher,
            draining: shared.draining.clone(),
            progress_interval: shared.config.progress_interval,
            include_rule_set: request.include_rule_set,
            ended: false,
            _permit: permit,
        };
        Ok(Response::new(Box::pin(futures_util::stream::unfold(
            state,
            next_message,
        ))))
    }
}
