//! The etcd client runs on its own runtime thread: the store commits from synchronous code
//! under its writer lock (on whatever thread the caller is), and waits here for etcd without
//! ever blocking the runtime that drives the client.

use std::future::Future;
use std::time::Duration;

/// A runtime of its own for the etcd client and the follower.
#[derive(Debug)]
pub(super) struct Bridge {
    handle: tokio::runtime::Handle,
    _stop: std::sync::mpsc::Sender<()>,
}

impl Bridge {
    /// Starts the runtime thread.
    pub(super) fn start() -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("xborder-etcd")
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the etcd runtime: {error}"))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("xborder-etcd-owner".into())
            .spawn(move || {
                // Lives until the bridge is dropped; then the runtime and its tasks end.
                let _ = stopped.recv();
                runtime.shutdown_background();
            })
            .map_err(|error| format!("cannot start the etcd thread: {error}"))?;
        Ok(Self {
            handle,
            _stop: stop,
        })
    }

    /// Runs `work` on the etcd runtime and waits for it, at most `timeout`.
    pub(super) fn call<T: Send + 'static>(
        &self,
        timeout: Duration,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, String> {
        let (done, result) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = done.send(work.await);
        });
        result
            .recv_timeout(timeout)
            .map_err(|_| format!("etcd did not answer within {timeout:?}"))
    }

    /// Runs `work` in the background on the etcd runtime.
    pub(super) fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.handle.spawn(work);
    }
}
