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
    pub store: Arc<Store>,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), ServeError>>,
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
        let library = rules_io::embedded().expect("embedded library");
        let store = Store::new(&library, history, Arc::new(SystemClock));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(api::serve(Arc::clone(&store), config, listener, async {
            let _ = stopped.await;
        }));
        Self {
            address,
            store,
            stop: Some(stop),
            handle,
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

/// A request carrying `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().expect("header");
    request.metadata_mut().insert("authorization", value);
    request
}
