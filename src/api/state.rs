//! What every service shares: the store, the tokens, the limits and the drain signal.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

use super::auth::{Access, Auth};
use super::error::ApiError;
use super::telemetry::{CallFields, Telemetry};

/// Configuration of the gRPC layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Tokens for writes and reads.
    pub auth: Auth,
    /// Quiet time after which a watch stream gets a `PROGRESS` message.
    pub progress_interval: Duration,
    /// Most watch streams open at once.
    pub max_watch_streams: usize,
    /// Largest decoded request message, in bytes.
    pub max_message_bytes: usize,
    /// How long the server keeps answering (health says NOT_SERVING) after a shutdown
    /// signal before it stops accepting calls, so load balancers can move traffic away.
    pub drain_delay: Duration,
    /// How long, after the drain delay, in-flight calls and open connections get before
    /// the server closes them and returns.
    pub close_timeout: Duration,
    /// The log queue's drop counter, exported as `xborder_log_lines_dropped_total`; `None`
    /// when logging does not go through [`super::logging`].
    pub log_drops: Option<super::logging::LogDrops>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            auth: Auth::default(),
            progress_interval: Duration::from_secs(10),
            max_watch_streams: 10_000,
            max_message_bytes: 4 * 1024 * 1024,
            drain_delay: Duration::from_secs(1),
            close_timeout: Duration::from_secs(10),
            log_drops: None,
        }
    }
}

/// State shared by the services.
#[derive(Debug)]
pub struct Shared {
    /// The rule store.
    pub store: Arc<Store>,
    /// The configuration.
    pub config: ApiConfig,
    /// Becomes `true` when the server starts draining: streams end.
    pub draining: watch::Receiver<bool>,
    /// Metrics and the per-RPC log line.
    pub telemetry: Telemetry,
    open_watches: Arc<AtomicUsize>,
}

impl Shared {
    /// State over `store`, draining when `draining` turns true.
    pub fn new(store: Arc<Store>, config: ApiConfig, draining: watch::Receiver<bool>) -> Arc<Self> {
        let telemetry = Telemetry::new(config.log_drops.clone());
        Arc::new(Self {
            store,
            config,
            draining,
            telemetry,
            open_watches: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Reserves one of the `max_watch_streams` slots for the life of the returned permit.
    pub fn watch_permit(&self) -> Result<WatchPermit, ApiError> {
        let open = self.open_watches.fetch_add(1, Ordering::AcqRel);
        let permit = WatchPermit(Arc::clone(&self.open_watches));
        if open >= self.config.max_watch_streams {
            return Err(ApiError::ResourceExhausted(format!(
                "too many watch streams: at most {} may be open (--max-watch-streams)",
                self.config.max_watch_streams
            )));
        }
        Ok(permit)
    }

    /// Runs one RPC: checks the caller's token for `access`, runs `handler` on the message,
    /// and counts, times and logs the call.
    pub async fn call<Req, Resp>(
        &self,
        method: &'static str,
        access: Access,
        request: tonic::Request<Req>,
        handler: impl FnOnce(&Self, Req, &mut CallFields) -> Result<Resp, ApiError>,
    ) -> Result<tonic::Response<Resp>, tonic::Status> {
        self.telemetry
            .observe(method, async move {
                let mut fields = CallFields::default();
                let result = self
                    .config
                    .auth
                    .check(request.metadata(), access)
                    .and_then(|token| {
                        fields.token_id = token;
                        handler(self, request.into_inner(), &mut fields)
                    });
                (
                    result
                        .map(tonic::Response::new)
                        .map_err(tonic::Status::from),
                    fields,
                )
            })
            .await
    }

    /// Number of open watch streams.
    pub fn open_watches(&self) -> usize {
        self.open_watches.load(Ordering::Acquire)
    }
}

/// One open watch stream; releases its slot when dropped.
#[derive(Debug)]
pub struct WatchPermit(Arc<AtomicUsize>);

impl Drop for WatchPermit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
