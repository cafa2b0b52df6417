//! Load generator for a real `xborderd` in a separate process on loopback.
//!
//! ```sh
//! cargo build --release --bin xborderd --example xborder-bench
//! target/release/examples/xborder-bench --server target/release/xborderd unary
//! target/release/examples/xborder-bench --server target/release/xborderd streaming
//! target/release/examples/xborder-bench --server target/release/xborderd fanout
//! target/release/examples/xborder-bench --server target/release/xborderd cold-start
//! ```
//!
//! Each mode starts its own server (so RSS and cold start are the server's alone) and
//! prints one block of figures; latencies come from HDR histograms.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use tokio::sync::Mutex;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use xborder::api::pb;
use xborder::api::pb::assessment_service_client::AssessmentServiceClient;
use xborder::api::pb::rule_service_client::RuleServiceClient;
use xborder::api::pb::watch_service_client::WatchServiceClient;

#[derive(Debug, Parser)]
struct Args {
    /// The xborderd binary to start.
    #[arg(long, default_value = "target/release/xborderd")]
    server: PathBuf,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Unary AssessFlow vs grpc.health.v1.Health/Check at the same concurrency, interleaved.
    Unary {
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Seconds per phase; phases alternate health, assess, health, assess.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// AssessFlows streaming throughput.
    Streaming {
        #[arg(long, default_value_t = 4)]
        streams: usize,
        #[arg(long, default_value_t = 200_000)]
        flows_per_stream: usize,
    },
    /// Watch fan-out: streams over connections, then rule-set writes.
    Fanout {
        #[arg(long, default_value_t = 10_000)]
        streams: usize,
        #[arg(long, default_value_t = 100)]
        connections: usize,
        #[arg(long, default_value_t = 100)]
        writes: usize,
    },
    /// Replicas on etcd (xborderd built with `--features etcd`; Debian's etcd on PATH):
    /// write on one replica to event on another, commit throughput, bootstrap time.
    Replicas {
        /// Writes timed from replica A to a watcher on replica B.
        #[arg(long, default_value_t = 500)]
        writes: usize,
        /// Revisions in the log before a new replica is started and timed.
        #[arg(long, default_value_t = 10_000)]
        bootstrap_revisions: u64,
    },
    /// Write one gRPC-framed request message to a file, for h2load (`scripts/bench-unary`).
    Frame {
        /// Which request.
        #[arg(value_enum)]
        rpc: FrameRpc,
        /// The file to write.
        out: PathBuf,
    },
    /// Time from process start to a SERVING health check.
    ColdStart {
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
}

/// The requests `frame` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FrameRpc {
    /// `grpc.health.v1.Health/Check` for the empty service name.
    Health,
    /// The typical AssessFlow: CN -> US, user.contact, 500,000 individuals (CONDITIONAL).
    Assess,
    /// The same with `read_mask` = `decision`.
    AssessDecision,
}

/// `message` with the 5-byte gRPC frame header (uncompressed, big-endian length).
fn grpc_frame(message: &impl prost::Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut frame = vec![0];
    frame.extend_from_slice(
        &u32::try_from(body.len())
            .expect("small message")
            .to_be_bytes(),
    );
    frame.extend_from_slice(&body);
    frame
}

fn write_frame(rpc: FrameRpc, out: &Path) {
    let conditional = || {
        let mut request = typical_request();
        if let Some(flow) = request.flow.as_mut() {
            flow.safeguards.clear();
        }
        request
    };
    let frame = match rpc {
        FrameRpc::Health => grpc_frame(&HealthCheckRequest::default()),
        FrameRpc::Assess => grpc_frame(&conditional()),
        FrameRpc::AssessDecision => grpc_frame(&pb::AssessFlowRequest {
            read_mask: Some(prost_types::FieldMask {
                paths: vec!["decision".into()],
            }),
            ..conditional()
        }),
    };
    std::fs::write(out, frame).unwrap_or_else(|error| panic!("{}: {error}", out.display()));
}

mod replicas;
mod server;

use server::{Server, TOKEN};

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram")
}

fn quantiles(histogram: &Histogram<u64>) -> String {
    format!(
        "p50 {} µs, p99 {} µs, p99.9 {} µs",
        histogram.value_at_quantile(0.5),
        histogram.value_at_quantile(0.99),
        histogram.value_at_quantile(0.999)
    )
}

fn typical_request() -> pb::AssessFlowRequest {
    pb::AssessFlowRequest {
        request_id: "bench".into(),
        flow: Some(pb::Flow {
            origin: "CN".into(),
            destination: "US".into(),
            data_categories: vec!["user.contact".into()],
            data_subject_count: Some(500_000),
            safeguards: vec!["cn_standard_contract".into()],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Runs `concurrency` workers calling `call` for `seconds`; returns calls per second and
/// the latency histogram in microseconds.
async fn closed_loop<F, Fut>(
    channels: &[Channel],
    concurrency: usize,
    seconds: u64,
    call: F,
) -> (f64, Histogram<u64>)
where
    F: Fn(Channel) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(Mutex::new(histogram()));
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (stop, total, call) = (Arc::clone(&stop), Arc::clone(&total), call.clone());
        let channel = channels[worker % channels.len()].clone();
        workers.push(tokio::spawn(async move {
            let mut local = histogram();
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                assert!(call(channel.clone()).await, "call failed");
                let _ = local.record(start.elapsed().as_micros().max(1) as u64);
            }
            let _ = total.lock().await.add(&local);
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let histogram = Arc::try_unwrap(total)
        .map(Mutex::into_inner)
        .unwrap_or_else(|_| histogram());
    (histogram.len() as f64 / elapsed, histogram)
}

async fn unary(server: &Server, concurrency: usize, connections: usize, seconds: u64) {
    let mut channels = Vec::new();
    for _ in 0..connections {
        channels.push(server.channel().await);
    }
    let health = |channel: Channel| async move {
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .is_ok()
    };
    let assess = |channel: Channel| async move {
        AssessmentServiceClient::new(channel)
            .assess_flow(typical_request())
            .await
            .is_ok()
    };
    let sample = AssessmentServiceClient::new(channels[0].clone())
        .assess_flow(typical_request())
        .await
        .expect("assess")
        .into_inner();
    println!(
        "typical answer: {} ({} bytes encoded; a health answer is 2 bytes)",
        sample.decision().as_str_name(),
        prost::Message::encoded_len(&sample)
    );
    // Warm up both paths, then alternate phases so drift hits both sides alike.
    let _ = closed_loop(&channels, concurrency, 1, health).await;
    let _ = closed_loop(&channels, concurrency, 1, assess).await;
    let mut health_rates = Vec::new();
    let mut assess_rates = Vec::new();
    let mut health_latency = histogram();
    let mut assess_latency = histogram();
    for _ in 0..2 {
        let (rate, latency) = closed_loop(&channels, concurrency, seconds, health).await;
        health_rates.push(rate);
        let _ = health_latency.add(&latency);
        let (rate, latency) = closed_loop(&channels, concurrency, seconds, assess).await;
        assess_rates.push(rate);
        let _ = assess_latency.add(&latency);
    }
    let health_rate = health_rates.iter().sum::<f64>() / health_rates.len() as f64;
    let assess_rate = assess_rates.iter().sum::<f64>() / assess_rates.len() as f64;
    println!(
        "unary, concurrency {concurrency} over {connections} connections, 2 x {seconds}s per side, interleaved"
    );
    println!(
        "  Health/Check : {health_rate:>10.0} calls/s  {}",
        quantiles(&health_latency)
    );
    println!(
        "  AssessFlow   : {assess_rate:>10.0} calls/s  {}",
        quantiles(&assess_latency)
    );
    println!(
        "  ratio AssessFlow / Health: {:.1}%",
        100.0 * assess_rate / health_rate
    );
}

async fn streaming(server: &Server, streams: usize, flows_per_stream: usize) {
    let mut tasks = Vec::new();
    let started = Instant::now();
    for stream in 0..streams {
        let channel = server.channel().await;
        tasks.push(tokio::spawn(async move {
            let requests = tokio_stream::iter((0..flows_per_stream).map(move |index| {
                pb::AssessFlowsRequest {
                    request: Some(pb::AssessFlowRequest {
                        request_id: format!("{stream}-{index}"),
                        ..typical_request()
                    }),
                    read_mask: None,
                }
            }));
            let mut answers = AssessmentServiceClient::new(channel)
                .assess_flows(requests)
                .await
                .expect("stream")
                .into_inner();
            let mut count = 0usize;
            while let Some(answer) = answers.next().await {
                answer.expect("answer");
                count += 1;
            }
            count
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("stream task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "streaming AssessFlows: {total} flows over {streams} streams in {elapsed:.2}s = {:.0} flows/s",
        total as f64 / elapsed
    );
}

async fn fanout(server: &Server, streams: usize, connections: usize, writes: usize) {
    let rss_before = server.rss_kib();
    let mut channels = Vec::new();
    for _ in 0..connections {
        channels.push(server.channel().await);
    }
    let received = Arc::new(AtomicU64::new(0));
    let latency = Arc::new(std::sync::Mutex::new(histogram()));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(streams);
    for index in 0..streams {
        let channel = channels[index % connections].clone();
        let (received, latency, ready) = (
            Arc::clone(&received),
            Arc::clone(&latency),
            ready_tx.clone(),
        );
        tokio::spawn(async move {
            let mut stream = WatchServiceClient::new(channel)
                .watch_rule_changes(pb::WatchRuleChangesRequest {
                    jurisdictions: vec!["SG".into()],
                    ..Default::default()
                })
                .await
                .expect("watch")
                .into_inner();
            while let Some(Ok(event)) = stream.next().await {
                if event.kind() == pb::ChangeKind::Progress {
                    let _ = ready.send(()).await;
                    continue;
                }
                let now = jiff::Timestamp::now();
                if let Some(committed) = event.committed_at {
                    let committed =
                        jiff::Timestamp::new(committed.seconds, committed.nanos).unwrap_or(now);
                    let micros = now.duration_since(committed).as_micros().max(1) as u64;
                    if let Ok(mut histogram) = latency.lock() {
                        let _ = histogram.record(micros);
                    }
                }
                received.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    for _ in 0..streams {
        ready_rx.recv().await.expect("stream ready");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = server.rss_kib();
    let mut rules = RuleServiceClient::new(channels[0].clone());
    let current = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "SG".into(),
            ..Default::default()
        })
        .await
        .expect("SG")
        .into_inner();
    let mut rule_set = current.rule_set.expect("content");
    let mut version = current.version;
    let base_name = rule_set.name.clone();
    let started = Instant::now();
    for write in 0..writes {
        rule_set.name = format!("{base_name} #{write}");
        let mut request = tonic::Request::new(pb::PutRuleSetRequest {
            rule_set: Some(rule_set.clone()),
            expected_version: version,
            validate_only: false,
        });
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {TOKEN}").parse().expect("header"),
        );
        version = rules
            .put_rule_set(request)
            .await
            .expect("write")
            .into_inner()
            .version;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let expected = (streams * writes) as u64;
    while received.load(Ordering::Relaxed) < expected
        && started.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let histogram = latency
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|_| histogram());
    println!(
        "watch fan-out: {streams} streams over {connections} connections, {writes} writes 10 ms apart"
    );
    println!(
        "  delivered {} of {expected} events; commit-to-receipt p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        received.load(Ordering::Relaxed),
        histogram.value_at_quantile(0.5) as f64 / 1000.0,
        histogram.value_at_quantile(0.99) as f64 / 1000.0,
        histogram.max() as f64 / 1000.0
    );
    println!(
        "  server RSS: {rss_before} KiB before, {rss_open} KiB with the streams open = {:.2} KiB per stream",
        (rss_open.saturating_sub(rss_before)) as f64 / streams as f64
    );
}

async fn cold_start(binary: &Path, runs: usize) {
    let mut times = Vec::new();
    for _ in 0..runs {
        let (server, started) = Server::start(binary, &[]);
        let channel = loop {
            if let Ok(channel) = Channel::from_shared(format!("http://{}", server.address))
                .expect("uri")
                .connect()
                .await
            {
                break channel;
            }
        };
        let mut health = HealthClient::new(channel);
        loop {
            let status = health
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await;
            if status.is_ok_and(|s| s.into_inner().status() == ServingStatus::Serving) {
                break;
            }
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "cold start to SERVING (process spawn, embedded library load, bind, first health check), {runs} runs: median {:.1} ms, min {:.1} ms, max {:.1} ms",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    match args.mode {
        Mode::Unary {
            concurrency,
            connections,
            seconds,
        } => {
            let (server, _) = Server::start(&args.server, &[]);
            unary(&server, concurrency, connections, seconds).await;
        }
        Mode::Streaming {
            streams,
            flows_per_stream,
        } => {
            let (server, _) = Server::start(&args.server, &[]);
            streaming(&server, streams, flows_per_stream).await;
        }
        Mode::Fanout {
            streams,
            connections,
            writes,
        } => {
            let (server, _) = Server::start(&args.server, &["--progress-interval", "600s"]);
            fanout(&server, streams, connections, writes).await;
        }
        Mode::Frame { rpc, out } => write_frame(rpc, &out),
        Mode::ColdStart { runs } => cold_start(&args.server, runs).await,
        Mode::Replicas {
            writes,
            bootstrap_revisions,
        } => replicas::run(&args.server, writes, bootstrap_revisions).await,
    }
}
