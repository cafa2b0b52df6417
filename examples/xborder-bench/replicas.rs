//! `xborder-bench replicas`: xborderd replicas on a local etcd (Debian's `etcd`, started here
//! on loopback). Measures write on replica A to event received by a watcher on replica B,
//! commit throughput of one writer and of eight, and the time a new replica takes to start
//! serving when the log already holds `bootstrap_revisions` revisions.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use xborder::api::pb;
use xborder::api::pb::rule_service_client::RuleServiceClient;
use xborder::api::pb::watch_service_client::WatchServiceClient;

use crate::server::{Server, TOKEN, TempDir, rand_suffix};

/// One etcd member on free loopback ports, killed on drop.
struct Etcd {
    child: Child,
    endpoint: String,
    _dir: TempDir,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("free port")
}

fn start_etcd() -> Etcd {
    let dir = std::env::temp_dir().join(format!("xborder-bench-etcd-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (client, peer) = (free_port(), free_port());
    let endpoint = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let child = Command::new("etcd")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args([
            "--listen-client-urls",
            &endpoint,
            "--advertise-client-urls",
            &endpoint,
        ])
        .args([
            "--listen-peer-urls",
            &peer_url,
            "--initial-advertise-peer-urls",
            &peer_url,
        ])
        .args(["--initial-cluster", &format!("default={peer_url}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start etcd (Debian package etcd-server)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", client)).is_err() {
        assert!(Instant::now() < deadline, "etcd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Etcd {
        child,
        endpoint,
        _dir: TempDir(dir),
    }
}

fn authorized<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {TOKEN}").parse().expect("header"),
    );
    request
}

/// Renames `jurisdiction` once at its current version (read first); the revision written,
/// or `None` when another writer won the race.
async fn rename(
    rules: &mut RuleServiceClient<Channel>,
    jurisdiction: &str,
    n: usize,
) -> Option<u64> {
    let current = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: jurisdiction.into(),
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner();
    let mut rule_set = current.rule_set.expect("rule set");
    rule_set.name = format!("{jurisdiction} bench {n}");
    match rules
        .put_rule_set(authorized(pb::PutRuleSetRequest {
            rule_set: Some(rule_set),
            expected_version: current.version,
            validate_only: false,
        }))
        .await
    {
        Ok(answer) => Some(answer.into_inner().revision),
        Err(status) if status.code() == Code::Aborted => None,
        Err(status) => panic!("write failed: {status:?}"),
    }
}

/// Commits per second of `writers` writers, each on its own jurisdiction, for `seconds`.
async fn throughput(channel: Channel, writers: usize, seconds: u64) -> f64 {
    const JURISDICTIONS: [&str; 8] = ["SG", "JP", "KR", "BR", "AU", "CA", "TH", "MY"];
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = JURISDICTIONS[..writers]
        .iter()
        .map(|jurisdiction| {
            let mut rules = RuleServiceClient::new(channel.clone());
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    if rename(&mut rules, jurisdiction, done as usize)
                        .await
                        .is_some()
                    {
                        done += 1;
                    }
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("writer");
    }
    total as f64 / seconds as f64
}

pub async fn run(binary: &Path, writes: usize, bootstrap_revisions: u64) {
    let etcd = start_etcd();
    let flags = [
        "--store",
        "etcd",
        "--etcd-endpoints",
        etcd.endpoint.as_str(),
    ];
    let (a, _) = Server::start(binary, &flags);
    let (b, _) = Server::start(binary, &flags);
    let mut rules = RuleServiceClient::new(a.channel().await);
    let mut events = WatchServiceClient::new(b.channel().await)
        .watch_rule_changes(pb::WatchRuleChangesRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let _ = events.next().await; // the first PROGRESS
    let mut latency = Histogram::<u64>::new(3).expect("histogram");
    for n in 0..writes {
        let sent = Instant::now();
        let revision = rename(&mut rules, "SG", n).await.expect("single writer");
        loop {
            let event = events.next().await.expect("open").expect("event");
            if event.revision >= revision && event.kind() != pb::ChangeKind::Progress {
                break;
            }
        }
        latency
            .record(sent.elapsed().as_micros() as u64)
            .expect("record");
    }
    println!(
        "write on replica A -> event on replica B, {writes} writes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latency.value_at_quantile(0.5) as f64 / 1000.0,
        latency.value_at_quantile(0.99) as f64 / 1000.0,
        latency.max() as f64 / 1000.0
    );
    let channel = a.channel().await;
    println!(
        "commit throughput through one replica: 1 writer {:.0}/s, 8 writers {:.0}/s",
        throughput(channel.clone(), 1, 5).await,
        throughput(channel.clone(), 8, 5).await
    );
    let mut head = rules
        .list_rule_sets(pb::ListRuleSetsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .revision;
    let mut n = writes;
    while head < bootstrap_revisions {
        n += 1;
        head = head.max(rename(&mut rules, "SG", n).await.unwrap_or(head));
    }
    let (c, started) = Server::start(binary, &flags);
    println!(
        "a new replica serving at revision {head} (log replayed from the snapshot key at or before its history window): {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    drop((a, b, c, etcd));
}
