//! A real `xborderd` server on an ephemeral port, stopped with a oneshot.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use xborder::api::auth::{Auth, Token};
use xborder::api::{self, ApiConfig, ServeError};
use xborder::rules_io;
use xborder::store::{Store, SystemClock};

pub const ADMIN_TOKEN: &str = "admin-secret-token";
pub const READ_TOKEN: &str = "read-secret-token";

pub struct TestServer {
    pub address: SocketAddr,
    /// The plain-HTTP metrics address, when started with one.
    pub metrics: Option<SocketAddr>,
    pub store: Arc<Store>,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), ServeError>>,
    /// The etcd member the store lives in, with `XBORDER_TEST_STORE=etcd`.
    _etcd: Option<super::etcd::Etcd>,
}

/// The store under test: in memory, or with `XBORDER_TEST_STORE=etcd` (and the `etcd`
/// feature) in a real etcd member started for this server, so one suite covers both.
fn test_store(
    library: &xborder::model::Library,
    history: u64,
) -> (Arc<Store>, Option<super::etcd::Etcd>) {
    match std::env::var("XBORDER_TEST_STORE").as_deref() {
        Ok("etcd") => etcd_store(library, history),
        Ok("memory") | Err(_) => (Store::new(library, history, Arc::new(SystemClock)), None),
        Ok(other) => panic!("XBORDER_TEST_STORE={other}: use memory or etcd"),
    }
}

#[cfg(feature = "etcd")]
fn etcd_store(
    library: &xborder::model::Library,
    history: u64,
) -> (Arc<Store>, Option<super::etcd::Etcd>) {
    static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "server-{}",
        SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let etcd = super::etcd::Etcd::start(&name, 1);
    let options = xborder::store::EtcdOptions {
        endpoints: vec![etcd.endpoints()],
        prefix: "/xborder/".into(),
        timeout: Duration::from_secs(5),
        snapshot_every: 10_000,
        max_staleness: Duration::from_secs(5),
    };
    let store =
        Store::open_etcd(&options, library, history, Arc::new(SystemClock)).expect("store on etcd");
    (store, Some(etcd))
}

#[cfg(not(feature = "etcd"))]
fn etcd_store(_: &xborder::model::Library, _: u64) -> (Arc<Store>, Option<super::etcd::Etcd>) {
    panic!("XBORDER_TEST_STORE=etcd needs `--features etcd`")
}

/// Configuration with the admin token set and fast heartbeats.
pub fn config() -> ApiConfig {
    ApiConfig {
        auth: Auth {
            admin: Token::new(ADMIN_TOKEN),
            read: None,
        },
        progress_interval: Duration::from_secs(30),
        drain_delay: Duration::from_millis(300),
        ..ApiConfig::default()
    }
}

impl TestServer {
    /// Serves the embedded rule library.
    pub async fn start(config: ApiConfig) -> Self {
        Self::start_with_history(config, 10_000).await
    }

    pub async fn start_with_history(config: ApiConfig, history: u64) -> Self {
        Self::start_with(config, history, false).await
    }

    /// Also serves `/metrics`, `/healthz` and `/readyz` on an ephemeral port.
    pub async fn start_with_metrics(config: ApiConfig) -> Self {
        Self::start_with(config, 10_000, true).await
    }

    async fn start_with(config: ApiConfig, history: u64, with_metrics: bool) -> Self {
        let library = rules_io::embedded().expect("embedded library");
        let (store, etcd) = test_store(&library, history);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let metrics_listener = if with_metrics {
            Some(
                tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind metrics"),
            )
        } else {
            None
        };
        let metrics = metrics_listener
            .as_ref()
            .map(|l| l.local_addr().expect("metrics address"));
        let listeners = api::Listeners {
            grpc: listener,
            metrics: metrics_listener,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(api::serve(Arc::clone(&store), config, listeners, async {
            let _ = stopped.await;
        }));
        Self {
            address,
            metrics,
            store,
            stop: Some(stop),
            handle,
            _etcd: etcd,
        }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }

    /// Signals shutdown without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down and waits for the server to return.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        self.begin_shutdown();
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("server stops in time")
            .expect("server task")
    }
}

/// `GET path` over plain HTTP/1.0: the status code and the body.
pub async fn http_get(address: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A request carrying `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().expect("header");
    request.metadata_mut().insert("authorization", value);
    request
}

/// The typical request: CN -> US, contact data of 500,000 individuals, no safeguard
/// (CONDITIONAL under the built-in rules).
pub fn typical_request(request_id: &str) -> xborder::api::pb::AssessFlowRequest {
    xborder::api::pb::AssessFlowRequest {
        request_id: request_id.into(),
        flow: Some(xborder::api::pb::Flow {
            origin: "CN".into(),
            destination: "US".into(),
            data_categories: vec!["user.contact".into()],
            data_subject_count: Some(500_000),
            ..Default::default()
        }),
        ..Default::default()
    }
}
