//! The server: the three services plus `grpc.health.v1.Health` and server reflection, on a
//! listener the caller binds, until the caller's shutdown future completes.
//!
//! Shutdown: health turns NOT_SERVING and watch streams end at once; after the drain delay
//! the server stops accepting calls, finishes in-flight ones and returns.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::server::NamedService;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::store::Store;

use super::assessment::AssessmentApi;
use super::pb;
use super::pb::assessment_service_server::AssessmentServiceServer;
use super::pb::rule_service_server::RuleServiceServer;
use super::pb::watch_service_server::WatchServiceServer;
use super::rules::RuleApi;
use super::state::{ApiConfig, Shared};
use super::watch::WatchApi;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The transport failed.
    #[error("transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The reflection service could not be built from the descriptors.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Names of the services health reports on ("" is the whole server).
const SERVICES: [&str; 4] = [
    "",
    <AssessmentServiceServer<AssessmentApi> as NamedService>::NAME,
    <RuleServiceServer<RuleApi> as NamedService>::NAME,
    <WatchServiceServer<WatchApi> as NamedService>::NAME,
];

/// tonic reports a request message over the decoding limit as OUT_OF_RANGE; the contract
/// says limits are RESOURCE_EXHAUSTED (as grpc-go and grpc-java report it), so such
/// trailers-only responses are re-coded.
fn recode_size_limit<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    let out_of_range = headers
        .get("grpc-status")
        .is_some_and(|status| status == "11");
    let too_large = headers
        .get("grpc-message")
        .and_then(|message| message.to_str().ok())
        .is_some_and(|message| message.contains("message%20length%20too%20large"));
    if out_of_range && too_large {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    response
}

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    for service in SERVICES {
        reporter.set_service_status(service, status).await;
    }
}

/// Where to serve: gRPC, and optionally plain-HTTP `/metrics`, `/healthz` and `/readyz`.
#[derive(Debug)]
pub struct Listeners {
    /// The gRPC listener.
    pub grpc: TcpListener,
    /// The metrics and probes listener (off when `None`).
    pub metrics: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(grpc: TcpListener) -> Self {
        Self {
            grpc,
            metrics: None,
        }
    }
}

/// Every 10 s, logs how many log lines the full queue dropped since the last report (the
/// report itself goes through the queue, so it is retried until there is room).
async fn report_log_drops(drops: crate::api::logging::LogDrops) {
    let mut reported = 0;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    loop {
        tick.tick().await;
        let dropped = drops.dropped();
        if dropped > reported {
            tracing::warn!(
                dropped = dropped - reported,
                total = dropped,
                "log queue full: log lines dropped (stderr is slower than the log)"
            );
            reported = dropped;
        }
    }
}

/// `/metrics` in the Prometheus (OpenMetrics) text format.
async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let body = shared.telemetry.render(
        &shared.store.snapshot(),
        shared.open_watches(),
        shared.store.freshness(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}

/// `/readyz`: 200 while serving; 503 once draining or while the shared log (etcd) has been
/// out of reach longer than `--max-staleness`, for load balancers without gRPC health.
async fn readyz(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    if *shared.draining.borrow() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else if !fresh(&shared.store) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "stale: etcd out of reach\n",
        )
    } else {
        (StatusCode::OK, "ready\n")
    }
}

/// Whether the store's source of truth answered lately (always, for a store of its own).
fn fresh(store: &Store) -> bool {
    store
        .freshness()
        .is_none_or(|freshness| freshness.source_up)
}

/// How often health follows the store's freshness.
const FRESHNESS_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Keeps gRPC health in line with the store's freshness until draining starts.
async fn follow_freshness(
    store: Arc<Store>,
    reporter: HealthReporter,
    mut draining: watch::Receiver<bool>,
) {
    let mut serving = true;
    loop {
        tokio::select! {
            _ = draining.wait_for(|draining| *draining) => return,
            () = tokio::time::sleep(FRESHNESS_POLL) => {}
        }
        let now = fresh(&store);
        if now != serving {
            serving = now;
            if *draining.borrow() {
                return;
            }
            let status = if now {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            tracing::warn!(serving = now, "the store's freshness changed");
            set_health(&reporter, status).await;
        }
    }
}

/// Serves `store` on the listeners until `shutdown` completes, then drains and returns.
pub async fn serve(
    store: Arc<Store>,
    config: ApiConfig,
    listeners: impl Into<Listeners>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let Listeners {
        grpc: listener,
        metrics: metrics_listener,
    } = listeners.into();
    let (drain_tx, drain_rx) = watch::channel(false);
    let drain_delay = config.drain_delay;
    let close_timeout = config.close_timeout;
    let max_message = config.max_message_bytes;
    let log_drops = config.log_drops.clone();
    let shared = Shared::new(Arc::clone(&store), config, drain_rx.clone());
    let drop_reporter = log_drops.map(|drops| tokio::spawn(report_log_drops(drops)));

    let (health, health_service) = tonic_health::server::health_reporter();
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let mut scheduler_drain = drain_rx.clone();
    let scheduler = tokio::spawn(Arc::clone(&store).run_effective_dates(async move {
        let _ = scheduler_drain.wait_for(|draining| *draining).await;
    }));

    let (metrics_stop, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics_server = metrics_listener.map(|listener| {
        let app = axum::Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            let stopped = async {
                let _ = metrics_stopped.await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::error!(%error, "metrics server failed");
            }
        })
    });

    set_health(&health, ServingStatus::Serving).await;
    let freshness = tokio::spawn(follow_freshness(
        Arc::clone(&store),
        health.clone(),
        drain_rx.clone(),
    ));
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let drained = async move {
        shutdown.await;
        tracing::info!(drain_delay = ?drain_delay, "shutting down: draining");
        set_health(&health, ServingStatus::NotServing).await;
        let _ = drain_tx.send(true);
        tokio::time::sleep(drain_delay).await;
        let _ = stopping_tx.send(());
    };
    // tonic waits for every connection to close, with no deadline: idle client connections
    // would hold the process forever, so they get `close_timeout` after the drain.
    let close_timeout = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(close_timeout).await;
        } else {
            std::future::pending::<()>().await;
        }
    };

    let server = Server::builder()
        .layer(tower::util::MapResponseLayer::new(recode_size_limit))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            AssessmentServiceServer::new(AssessmentApi(Arc::clone(&shared)))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            RuleServiceServer::new(RuleApi(Arc::clone(&shared)))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            WatchServiceServer::new(WatchApi(shared)).max_decoding_message_size(max_message),
        )
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            drained,
        );
    let result = tokio::select! {
        result = server => result,
        () = close_timeout => {
            tracing::warn!("connections still open after the close timeout: closing them");
            Ok(())
        }
    };
    scheduler.abort();
    freshness.abort();
    if let Some(reporter) = drop_reporter {
        reporter.abort();
    }
    let _ = metrics_stop.send(());
    if let Some(metrics_server) = metrics_server {
        let _ = metrics_server.await;
    }
    result?;
    tracing::info!("server stopped");
    Ok(())
}
