//! Access logs are off the request path: with stderr blocked (a writer that never returns),
//! RPCs still answer at once, and the lines the full queue drops are counted in
//! `xborder_log_lines_dropped_total`. One test per binary: the subscriber is process-global.

mod common;

use std::time::Duration;

use common::server::{TestServer, config, http_get, typical_request};
use xborder::api::pb;
use xborder::api::pb::assessment_service_client::AssessmentServiceClient;

/// A log destination that blocks forever on the first line, like a terminal nobody reads.
struct Blocked;

impl std::io::Write for Blocked {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        loop {
            std::thread::park();
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_full_log_queue_drops_and_counts_lines_and_never_blocks_an_rpc() {
    let log = xborder::api::logging::init(false, false, 8, Blocked);
    let server = TestServer::start_with_metrics(xborder::api::ApiConfig {
        log_drops: Some(log.drops.clone()),
        ..config()
    })
    .await;
    let metrics = server.metrics.expect("metrics listener");
    let mut client = AssessmentServiceClient::new(server.channel().await);
    let calls = async {
        for index in 0..300 {
            let answer = client
                .assess_flow(typical_request(&format!("log-{index}")))
                .await
                .expect("answered although the log is blocked");
            assert_eq!(answer.get_ref().decision(), pb::Decision::Conditional);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), calls)
        .await
        .expect("300 calls finish although stderr never takes a line");
    let (status, body) = http_get(metrics, "/metrics").await;
    assert_eq!(status, 200);
    let dropped: f64 = body
        .lines()
        .find_map(|line| line.strip_prefix("xborder_log_lines_dropped_total "))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no drop counter in:\n{body}"));
    assert!(
        dropped >= 300.0 - 8.0 - 1.0,
        "at least every line past the queue and the one being written is dropped: {dropped}"
    );
    assert!(log.drops.dropped() as f64 >= dropped);
    drop(client);
    // The writer thread is parked forever: leave it, and the guard, to the process exit.
    std::mem::forget(log);
}
