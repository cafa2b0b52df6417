//! `--store etcd`: real xborderd replicas on a real etcd. Writes spread over every replica,
//! including compare-and-set races on one jurisdiction, give one dense revision line with
//! exactly one winner per version; every replica has the same history and store id; a
//! watcher moving between replicas from last + 1 sees every event once.
#![cfg(feature = "etcd")]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Child;
use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use xborder::api::pb;
use xborder::api::pb::rule_service_client::RuleServiceClient;
use xborder::api::pb::watch_service_client::WatchServiceClient;

use common::etcd::Etcd;

const TOKEN: &str = "etcd-test-token";

struct Replica {
    child: Child,
    address: SocketAddr,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test's directory with the admin token file, removed on drop.
struct Workdir {
    dir: std::path::PathBuf,
    token: std::path::PathBuf,
}

impl Workdir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("xborder-etcd-test-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let token = dir.join("token");
        std::fs::write(&token, TOKEN).expect("token");
        Self { dir, token }
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An `xborderd --store etcd` replica on `etcd`, with the admin token and `extra` flags.
fn replica_with(etcd: &Etcd, work: &Workdir, extra: &[&str]) -> Replica {
    let endpoints = etcd.endpoints();
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--store".as_ref(),
        "etcd".as_ref(),
        "--etcd-endpoints".as_ref(),
        endpoints.as_ref(),
        "--admin-token-file".as_ref(),
        work.token.as_os_str(),
        "--progress-interval".as_ref(),
        "200ms".as_ref(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let (child, address, _, lines) = common::process::spawn_xborderd(&args);
    std::thread::spawn(move || for _ in lines {});
    Replica { child, address }
}

fn replica(etcd: &Etcd, work: &Workdir) -> Replica {
    replica_with(etcd, work, &[])
}

/// `count` replicas on `etcd` and a connection to each.
async fn replicas(etcd: &Etcd, work: &Workdir, count: usize) -> (Vec<Replica>, Vec<Channel>) {
    let replicas: Vec<Replica> = (0..count).map(|_| replica(etcd, work)).collect();
    let mut channels = Vec::new();
    for replica in &replicas {
        channels.push(channel(replica.address).await);
    }
    (replicas, channels)
}

use common::process::connect as channel;

fn authorized<T>(message: T) -> tonic::Request<T> {
    common::server::with_token(message, TOKEN)
}

/// Renames SG `count` times through `channel`, reading the version first and retrying on
/// a lost race; returns (revision, version, name) of each acknowledged write.
async fn rename_sg(channel: Channel, writer: usize, count: usize) -> Vec<(u64, u64, String)> {
    renames(vec![channel], "SG", writer, count, false).await
}

/// Renames `jurisdiction` through `channels` in turn until `count` writes are
/// acknowledged, retrying on lost races and, when `faults` are expected, on UNAVAILABLE (no
/// quorum, a dead replica); returns (revision, version, name) of each acknowledged write.
async fn renames(
    channels: Vec<Channel>,
    jurisdiction: &'static str,
    writer: usize,
    count: usize,
    faults: bool,
) -> Vec<(u64, u64, String)> {
    let transient = |code: Code| {
        code == Code::Aborted
            || (faults && matches!(code, Code::Unavailable | Code::Unknown | Code::Cancelled))
    };
    let mut done = Vec::new();
    let mut attempt = 0usize;
    while done.len() < count {
        attempt += 1;
        assert!(attempt < 2_000, "writes never got through");
        let mut rules = RuleServiceClient::new(channels[attempt % channels.len()].clone());
        let read = rules
            .get_rule_set(pb::GetRuleSetRequest {
                jurisdiction: jurisdiction.into(),
                ..Default::default()
            })
            .await;
        let current = match read {
            Ok(current) => current.into_inner(),
            Err(status) if transient(status.code()) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(status) => panic!("read failed: {status:?}"),
        };
        let mut rule_set = current.rule_set.unwrap_or_default();
        let name = format!("{jurisdiction} by writer {writer}, attempt {attempt}");
        rule_set.name.clone_from(&name);
        match rules
            .put_rule_set(authorized(pb::PutRuleSetRequest {
                rule_set: Some(rule_set),
                expected_version: current.version,
                validate_only: false,
            }))
            .await
        {
            Ok(answer) => {
                let answer = answer.into_inner();
                done.push((answer.revision, answer.version, name));
            }
            Err(status) if transient(status.code()) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(status) => panic!("write failed: {status:?}"),
        }
    }
    done
}

/// The change events of `start..=end` read through `channel`, PROGRESS skipped.
async fn events(channel: Channel, start: u64, end: u64, store_id: &str) -> Vec<(u64, String)> {
    let mut stream = WatchServiceClient::new(channel)
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            start_revision: start,
            expect_store_id: store_id.to_owned(),
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    let mut seen = Vec::new();
    while seen.last().is_none_or(|(revision, _)| *revision < end) {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("event in time")
            .expect("open")
            .expect("event");
        assert!(
            event.revision >= start.saturating_sub(1),
            "revisions never go down"
        );
        if event.kind() != pb::ChangeKind::Progress {
            seen.push((event.revision, event.jurisdiction.clone()));
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_etcd_share_one_dense_history() {
    let etcd = Etcd::start("replicas", 1);
    let work = Workdir::new("test");
    let (replicas, channels) = replicas(&etcd, &work, 3).await;

    // Three writers race on SG, each through its own replica.
    let writes = futures_util::future::join_all(
        channels
            .iter()
            .enumerate()
            .map(|(writer, channel)| rename_sg(channel.clone(), writer, 10)),
    )
    .await;
    let mut by_version: BTreeMap<u64, Vec<(u64, String)>> = BTreeMap::new();
    for (revision, version, name) in writes.into_iter().flatten() {
        by_version
            .entry(version)
            .or_default()
            .push((revision, name));
    }
    assert_eq!(
        by_version.len(),
        30,
        "30 acknowledged writes: {by_version:?}"
    );
    assert!(
        by_version.values().all(|winners| winners.len() == 1),
        "exactly one winner per version: {by_version:?}"
    );
    let revisions: Vec<u64> = by_version.values().map(|winners| winners[0].0).collect();
    assert_eq!(
        revisions,
        (2..=31).collect::<Vec<u64>>(),
        "one dense revision line"
    );

    // Every replica reaches the same head, store id and content at every revision.
    let mut ids = Vec::new();
    for channel in &channels {
        let mut rules = RuleServiceClient::new(channel.clone());
        let mut answer = rules
            .get_rule_set(pb::GetRuleSetRequest {
                jurisdiction: "SG".into(),
                ..Default::default()
            })
            .await
            .expect("read")
            .into_inner();
        for _ in 0..100 {
            if answer.revision == 31 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            answer = rules
                .get_rule_set(pb::GetRuleSetRequest {
                    jurisdiction: "SG".into(),
                    ..Default::default()
                })
                .await
                .expect("read")
                .into_inner();
        }
        assert_eq!((answer.revision, answer.version), (31, 31));
        for (version, winners) in &by_version {
            let at = rules
                .get_rule_set(pb::GetRuleSetRequest {
                    jurisdiction: "SG".into(),
                    at_revision: winners[0].0,
                    ..Default::default()
                })
                .await
                .expect("read at revision")
                .into_inner();
            assert_eq!(
                (at.version, at.rule_set.map(|r| r.name)),
                (*version, Some(winners[0].1.clone()))
            );
        }
        ids.push(answer.store_id);
    }
    assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "{ids:?}");

    // A watcher that moves to another replica after every few events sees each once.
    let mut seen = Vec::new();
    let mut next = 2;
    for (hop, channel) in channels.iter().cycle().take(6).enumerate() {
        let end = (next + 4).min(31);
        let got = events(channel.clone(), next, end, &ids[0]).await;
        assert!(
            got.iter().all(|(_, jurisdiction)| jurisdiction == "SG"),
            "hop {hop}: {got:?}"
        );
        next = got.last().map_or(next, |(revision, _)| revision + 1);
        seen.extend(got.into_iter().map(|(revision, _)| revision));
        if next > 31 {
            break;
        }
    }
    assert_eq!(seen, (2..=31).collect::<Vec<u64>>(), "no gap, no repeat");
    drop(replicas);
}

/// Runs `xborderd --store etcd` expecting it to refuse to start; returns its stderr.
fn refused_start(endpoints: &str, prefix: &str) -> String {
    use assert_cmd::cargo::CommandCargoExt;
    let started = std::time::Instant::now();
    let output = std::process::Command::cargo_bin("xborderd")
        .expect("xborderd")
        .args(["--listen", "127.0.0.1:0", "--store", "etcd"])
        .args(["--etcd-endpoints", endpoints, "--etcd-prefix", prefix])
        .args(["--etcd-timeout", "2s"])
        .output()
        .expect("run xborderd");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "no hang past the start timeout: {:?}",
        started.elapsed()
    );
    stderr
}

#[tokio::test]
async fn an_unreachable_etcd_or_a_prefix_of_foreign_data_is_refused_at_start() {
    // Nothing listens there, and a listener that never answers: both end the start.
    let closed = common::etcd::free_port();
    let stderr = refused_start(&format!("http://127.0.0.1:{closed}"), "/xborder/");
    assert!(stderr.contains("cannot open the store in etcd"), "{stderr}");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = silent.local_addr().expect("address");
    let stderr = refused_start(&format!("http://{address}"), "/xborder/");
    assert!(stderr.contains("cannot open the store in etcd"), "{stderr}");

    let etcd = Etcd::start("foreign", 1);
    let mut client = etcd_client::Client::connect([etcd.endpoints()], None)
        .await
        .expect("etcd client");
    client
        .put("/foreign/head", "not a revision", None)
        .await
        .expect("put");
    client
        .put("/foreign/store_id", "someone else's", None)
        .await
        .expect("put");
    let stderr = refused_start(&etcd.endpoints(), "/foreign/");
    assert!(
        stderr.contains("/foreign/head"),
        "the key is named: {stderr}"
    );

    // A store whose log holds a damaged entry: refused, nothing half-applied.
    let work = Workdir::new("foreign");
    drop(replica(&etcd, &work));
    let damaged = "/xborder/log/00000000000000000002";
    client
        .put(damaged, "{\"revision\": 2", None)
        .await
        .expect("put");
    let stderr = refused_start(&etcd.endpoints(), "/xborder/");
    assert!(stderr.contains(damaged), "the key is named: {stderr}");
}

/// The whole-server health status through `channel`.
async fn health(channel: Channel) -> tonic_health::pb::health_check_response::ServingStatus {
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_without_etcd_goes_not_serving_keeps_answering_and_recovers() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let mut etcd = Etcd::start("staleness", 1);
    let work = Workdir::new("stale");
    let replica = replica_with(
        &etcd,
        &work,
        &["--max-staleness", "1s", "--etcd-timeout", "1s"],
    );
    let channel = channel(replica.address).await;
    assert_eq!(health(channel.clone()).await, ServingStatus::Serving);

    etcd.kill(0);
    let mut status = ServingStatus::Serving;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = health(channel.clone()).await;
        if status == ServingStatus::NotServing {
            break;
        }
    }
    assert_eq!(
        status,
        ServingStatus::NotServing,
        "etcd gone longer than --max-staleness"
    );
    let answer =
        xborder::api::pb::assessment_service_client::AssessmentServiceClient::new(channel.clone())
            .assess_flow(pb::AssessFlowRequest {
                flow: Some(pb::Flow {
                    origin: "CN".into(),
                    destination: "US".into(),
                    data_categories: vec!["user.contact".into()],
                    data_subject_count: Some(500_000),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("assessments are answered from memory")
            .into_inner();
    assert_eq!(answer.decision(), pb::Decision::Conditional);
    let refused = rename_once(channel.clone())
        .await
        .expect_err("no etcd, no write");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");

    etcd.restart(0);
    for _ in 0..80 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = health(channel.clone()).await;
        if status == ServingStatus::Serving {
            break;
        }
    }
    assert_eq!(status, ServingStatus::Serving, "recovers by itself");
    let mut written = rename_once(channel.clone()).await;
    for _ in 0..20 {
        if written.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        written = rename_once(channel.clone()).await;
    }
    assert_eq!(written.expect("writes work again"), 2);
}

/// One rename of SG at its current version; the revision it created.
async fn rename_once(channel: Channel) -> Result<u64, tonic::Status> {
    let mut rules = RuleServiceClient::new(channel);
    let current = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "SG".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut rule_set = current.rule_set.unwrap_or_default();
    rule_set.name = format!("{} again", rule_set.name);
    Ok(rules
        .put_rule_set(authorized(pb::PutRuleSetRequest {
            rule_set: Some(rule_set),
            expected_version: current.version,
            validate_only: false,
        }))
        .await?
        .into_inner()
        .revision)
}

/// The index of the member that leads the cluster now.
async fn leader(etcd: &Etcd, size: usize) -> usize {
    for _ in 0..100 {
        for index in 0..size {
            let Ok(mut client) = etcd_client::Client::connect([etcd.endpoint(index)], None).await
            else {
                continue;
            };
            let Ok(status) = client.status().await else {
                continue;
            };
            let me = status.header().map(|header| header.member_id());
            if me == Some(status.leader()) {
                return index;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no etcd leader");
}

/// `renames` under faults, returning (revision, name).
async fn keep_writing(
    channels: Vec<Channel>,
    jurisdiction: &'static str,
    count: usize,
) -> Vec<(u64, String)> {
    renames(channels, jurisdiction, 0, count, true)
        .await
        .into_iter()
        .map(|(revision, _, name)| (revision, name))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_and_a_killed_etcd_leader_lose_no_acknowledged_write() {
    let mut etcd = Etcd::start("faults", 3);
    let work = Workdir::new("faults");
    let (started, channels) = replicas(&etcd, &work, 3).await;
    let mut replicas: Vec<Option<Replica>> = started.into_iter().map(Some).collect();
    let writers: Vec<_> = ["SG", "JP", "KR"]
        .into_iter()
        .map(|jurisdiction| tokio::spawn(keep_writing(channels.clone(), jurisdiction, 15)))
        .collect();

    tokio::time::sleep(Duration::from_millis(300)).await;
    replicas[0] = None; // SIGKILL the first replica
    let leader = leader(&etcd, 3).await;
    etcd.kill(leader);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    etcd.restart(leader);

    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.expect("writer"));
    }
    acknowledged.sort();
    let head = acknowledged.last().map_or(1, |(revision, _)| *revision);
    let revisions: Vec<u64> = acknowledged.iter().map(|(revision, _)| *revision).collect();
    assert!(
        revisions.windows(2).all(|pair| pair[0] < pair[1]),
        "no revision acknowledged twice: {revisions:?}"
    );

    // Every acknowledged write is readable at its revision on every surviving replica, and
    // a watcher there sees exactly the committed sequence.
    for channel in &channels[1..] {
        let mut rules = RuleServiceClient::new(channel.clone());
        for (revision, name) in &acknowledged {
            let jurisdiction = name.split_whitespace().next().expect("jurisdiction");
            let mut read = rules
                .get_rule_set(pb::GetRuleSetRequest {
                    jurisdiction: jurisdiction.into(),
                    at_revision: *revision,
                    ..Default::default()
                })
                .await;
            for _ in 0..50 {
                if read.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                read = rules
                    .get_rule_set(pb::GetRuleSetRequest {
                        jurisdiction: jurisdiction.into(),
                        at_revision: *revision,
                        ..Default::default()
                    })
                    .await;
            }
            let read = read.expect("acknowledged write readable").into_inner();
            assert_eq!(
                read.rule_set.map(|r| r.name).as_deref(),
                Some(name.as_str())
            );
        }
        let store_id = rules
            .list_rule_sets(pb::ListRuleSetsRequest::default())
            .await
            .expect("list")
            .into_inner()
            .store_id;
        let seen: Vec<u64> = events(channel.clone(), 2, head, &store_id)
            .await
            .into_iter()
            .map(|(revision, _)| revision)
            .collect();
        // A commit whose answer was lost in the faults was retried, so the log may hold a
        // write nobody saw acknowledged, but never lose or repeat one.
        assert_eq!(seen, (2..=head).collect::<Vec<u64>>(), "one dense line");
        assert!(revisions.iter().all(|revision| seen.contains(revision)));
    }
    // Without quorum a write is refused with UNAVAILABLE, and nothing is lost once it is back.
    etcd.kill(0);
    etcd.kill(1);
    let refused = rename_once(channels[2].clone())
        .await
        .expect_err("no quorum, no write");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    etcd.restart(0);
    etcd.restart(1);
    let mut after = rename_once(channels[2].clone()).await;
    for _ in 0..40 {
        if after.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = rename_once(channels[2].clone()).await;
    }
    assert!(after.expect("writes work again") > head);
    drop(replicas);
}

#[test]
fn replicas_with_the_same_changed_rule_files_commit_each_change_once() {
    let etcd = Etcd::start("reconcile", 1);
    let work = Workdir::new("reconcile");
    let rules = work.dir.join("rules");
    for sub in ["vocabulary", "groups", "jurisdictions"] {
        let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/rules")
            .join(sub);
        std::fs::create_dir_all(rules.join(sub)).expect("dir");
        for entry in std::fs::read_dir(from).expect("rules") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), rules.join(sub).join(entry.file_name())).expect("copy");
        }
    }
    let rules_dir = rules.display().to_string();
    let start = || replica_with(&etcd, &work, &["--rules-dir", &rules_dir]);
    drop(start()); // bootstraps revision 1 from the directory

    let sg = rules.join("jurisdictions/SG.yaml");
    let text = std::fs::read_to_string(&sg).expect("SG");
    std::fs::write(&sg, text.replacen("\nname: ", "\nname: Changed — ", 1)).expect("write");
    let replicas: Vec<Replica> = std::thread::scope(|scope| {
        let started: Vec<_> = (0..3).map(|_| scope.spawn(start)).collect();
        started
            .into_iter()
            .map(|handle| handle.join().expect("replica"))
            .collect()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for replica in &replicas {
            let mut client = RuleServiceClient::new(channel(replica.address).await);
            let versions = client
                .list_rule_set_versions(pb::ListRuleSetVersionsRequest {
                    jurisdiction: "SG".into(),
                })
                .await
                .expect("history")
                .into_inner()
                .versions;
            let seen: Vec<(u64, u64)> = versions.iter().map(|v| (v.version, v.revision)).collect();
            assert_eq!(seen, [(1, 1), (2, 2)], "the change was committed once");
        }
    });
    drop(replicas);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_compacted_with_the_history_and_a_new_replica_starts_from_a_snapshot_key() {
    let etcd = Etcd::start("compaction", 1);
    let work = Workdir::new("compact");
    let start = || {
        replica_with(
            &etcd,
            &work,
            &["--history-revisions", "5", "--snapshot-every", "10"],
        )
    };
    let a = start();
    let channel_a = channel(a.address).await;
    let written = rename_sg(channel_a.clone(), 0, 25).await;
    let head = written.last().map_or(1, |(revision, _, _)| *revision);
    assert_eq!(head, 26);

    let mut client = etcd_client::Client::connect([etcd.endpoints()], None)
        .await
        .expect("etcd client");
    let log_keys = |kvs: &[etcd_client::KeyValue]| -> Vec<String> {
        kvs.iter()
            .map(|kv| kv.key_str().unwrap_or_default().to_owned())
            .collect()
    };
    let mut kept = Vec::new();
    for _ in 0..50 {
        let listing = client
            .get(
                "/xborder/log/",
                Some(
                    etcd_client::GetOptions::new()
                        .with_prefix()
                        .with_keys_only(),
                ),
            )
            .await
            .expect("list log");
        kept = log_keys(listing.kvs());
        if kept.first().map(String::as_str) == Some("/xborder/log/00000000000000000011") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        kept.first().map(String::as_str),
        Some("/xborder/log/00000000000000000011"),
        "entries up to the snapshot at 10 are gone: {kept:?}"
    );
    // etcd's own compaction on top: nothing a replica needs is in old etcd revisions.
    let now = client
        .get("/xborder/head", None)
        .await
        .expect("head")
        .header()
        .map_or(0, |header| header.revision());
    client.compact(now, None).await.expect("etcd compaction");

    let c = start();
    let mut rules = RuleServiceClient::new(channel(c.address).await);
    let read = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "SG".into(),
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(
        (read.revision, read.version, read.rule_set.map(|r| r.name)),
        (26, 26, written.last().map(|(_, _, name)| name.clone()))
    );
    let oldest = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "SG".into(),
            at_revision: 22,
            ..Default::default()
        })
        .await
        .expect("the history window is there")
        .into_inner();
    assert_eq!(oldest.version, 22);
    drop((a, c));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_watchers_moving_between_replicas_see_the_same_sequence_during_200_writes() {
    let etcd = Etcd::start("watchers", 1);
    let work = Workdir::new("watchers");
    let (replicas, channels) = replicas(&etcd, &work, 3).await;
    let store_id = RuleServiceClient::new(channels[0].clone())
        .list_rule_sets(pb::ListRuleSetsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .store_id;
    const HEAD: u64 = 201;
    let watchers: Vec<_> = (0..30)
        .map(|watcher| {
            let (channels, store_id) = (channels.clone(), store_id.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let (mut next, mut hop) = (2, watcher);
                while next <= HEAD {
                    let end = (next + 4).min(HEAD);
                    let got =
                        events(channels[hop % channels.len()].clone(), next, end, &store_id).await;
                    next = got.last().map_or(next, |(revision, _)| revision + 1);
                    seen.extend(got.into_iter().map(|(revision, _)| revision));
                    hop += 1;
                }
                seen
            })
        })
        .collect();
    let writers: Vec<_> = [("SG", 67), ("JP", 67), ("KR", 66)]
        .into_iter()
        .map(|(jurisdiction, count)| {
            tokio::spawn(keep_writing(channels.clone(), jurisdiction, count))
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    for watcher in watchers {
        let seen = watcher.await.expect("watcher");
        assert_eq!(seen, (2..=HEAD).collect::<Vec<u64>>(), "no gap, no repeat");
    }
    drop(replicas);
}
