//! Crash safety of `--data-dir`: a child xborderd takes concurrent writes while it is
//! SIGKILLed at random moments, 20 times. After every restart each acknowledged write is
//! present, no write is half-present, revisions only rise, and a watcher resuming from its
//! last revision + 1 receives exactly the events it had not seen, across journal rotations.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::transport::Channel;
use xborder::api::pb;
use xborder::api::pb::rule_service_client::RuleServiceClient;
use xborder::api::pb::watch_service_client::WatchServiceClient;

const TOKEN: &str = "crash-test-token";
const WRITERS: [&str; 3] = ["SG", "JP", "KR"];

use common::process::connect;

fn authorized<T>(message: T) -> tonic::Request<T> {
    common::server::with_token(message, TOKEN)
}

/// Writes new names for `jurisdiction` until the server dies; records every name attempted
/// and every write acknowledged as (revision, jurisdiction, name).
async fn writer(
    channel: Channel,
    jurisdiction: &'static str,
    round: usize,
    attempted: Arc<Mutex<BTreeSet<String>>>,
    acknowledged: Arc<Mutex<Vec<(u64, String, String)>>>,
) {
    let mut rules = RuleServiceClient::new(channel);
    for step in 0.. {
        let Ok(current) = rules
            .get_rule_set(pb::GetRuleSetRequest {
                jurisdiction: jurisdiction.into(),
                ..Default::default()
            })
            .await
        else {
            return;
        };
        let current = current.into_inner();
        let mut rule_set = current.rule_set.unwrap_or_default();
        let name = format!("{jurisdiction} round {round} step {step}");
        rule_set.name.clone_from(&name);
        attempted.lock().expect("lock").insert(name.clone());
        let request = authorized(pb::PutRuleSetRequest {
            rule_set: Some(rule_set),
            expected_version: current.version,
            validate_only: false,
        });
        match rules.put_rule_set(request).await {
            Ok(answer) => acknowledged.lock().expect("lock").push((
                answer.into_inner().revision,
                jurisdiction.into(),
                name,
            )),
            Err(_) => return,
        }
    }
}

/// Reads change events from `from` up to `head` inclusive.
async fn catch_up(channel: Channel, from: u64, head: u64) -> Vec<pb::WatchRuleChangesResponse> {
    let mut events = Vec::new();
    if from > head {
        return events;
    }
    let mut stream = WatchServiceClient::new(channel)
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            jurisdictions: Vec::new(),
            start_revision: from,
            include_rule_set: true,
            expect_store_id: String::new(),
        })
        .await
        .expect("resume")
        .into_inner();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("in time")
    {
        let event = message.expect("event");
        if event.kind() == pb::ChangeKind::Progress {
            continue;
        }
        let revision = event.revision;
        events.push(event);
        if revision >= head {
            break;
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_and_watchers_resume_exactly() {
    let dir = std::env::temp_dir().join(format!("xborder-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let token = dir.join("token");
    std::fs::write(&token, TOKEN).expect("token");
    let data = dir.join("data");
    let attempted = Arc::new(Mutex::new(BTreeSet::new()));
    let acknowledged = Arc::new(Mutex::new(Vec::<(u64, String, String)>::new()));
    let mut watcher_seen: Vec<u64> = Vec::new();
    let mut last_head = 1;
    let mut rng: u64 = 0x2545_f491_4f6c_dd1d ^ u64::from(std::process::id());

    // Rounds 0..20 write and are killed; round 20 only restarts and checks.
    for round in 0..=20 {
        let (mut child, address, _, lines) = common::process::spawn_xborderd(&[
            "--admin-token-file".as_ref(),
            token.as_os_str(),
            "--data-dir".as_ref(),
            data.as_os_str(),
            // Snapshots rotate the journal many times during the test.
            "--snapshot-every".as_ref(),
            "97".as_ref(),
        ]);
        std::thread::spawn(move || for _ in lines {});
        let channel = connect(address).await;
        let mut rules = RuleServiceClient::new(channel.clone());

        // Every acknowledged write is present at its revision, revisions only rise.
        let head = rules
            .list_rule_sets(pb::ListRuleSetsRequest::default())
            .await
            .expect("list")
            .into_inner()
            .revision;
        assert!(
            head >= last_head,
            "round {round}: revision went back from {last_head} to {head}"
        );
        let acked = acknowledged.lock().expect("lock").clone();
        for (revision, jurisdiction, name) in &acked {
            assert!(
                *revision <= head,
                "round {round}: acknowledged revision {revision} lost (head {head})"
            );
            let read = rules
                .get_rule_set(pb::GetRuleSetRequest {
                    jurisdiction: jurisdiction.clone(),
                    at_revision: *revision,
                    version: 0,
                })
                .await
                .expect("acknowledged write readable")
                .into_inner();
            assert_eq!(
                &read.rule_set.expect("content").name,
                name,
                "round {round}: revision {revision}"
            );
        }

        // The watcher resumes from its last revision + 1 and gets exactly what it missed;
        // each event is a whole write that some writer attempted.
        let resume = watcher_seen.last().map_or(2, |last| last + 1);
        let events = catch_up(channel.clone(), resume, head).await;
        let revisions: Vec<u64> = events.iter().map(|e| e.revision).collect();
        assert_eq!(
            revisions,
            (resume..=head).collect::<Vec<u64>>(),
            "round {round}: no gap, no duplicate"
        );
        {
            let attempted = attempted.lock().expect("lock");
            for event in &events {
                let name = event
                    .rule_set
                    .as_ref()
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                assert!(
                    attempted.contains(&name),
                    "round {round}: revision {} holds `{name}`, never written",
                    event.revision
                );
            }
        }
        watcher_seen.extend(revisions);
        last_head = head;
        if round == 20 {
            child.kill().expect("stop");
            let _ = child.wait();
            break;
        }

        // Concurrent writers, then SIGKILL at a random moment.
        let writers: Vec<_> = WRITERS
            .iter()
            .map(|jurisdiction| {
                tokio::spawn(writer(
                    channel.clone(),
                    jurisdiction,
                    round,
                    Arc::clone(&attempted),
                    Arc::clone(&acknowledged),
                ))
            })
            .collect();
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        tokio::time::sleep(Duration::from_millis(50 + (rng >> 33) % 250)).await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        for writer in writers {
            let _ = writer.await;
        }
    }

    let acked = acknowledged.lock().expect("lock").clone();
    assert!(
        acked.len() > 20,
        "the writers got writes in: {}",
        acked.len()
    );
    println!(
        "{} acknowledged writes over 20 SIGKILLs; head revision {last_head}",
        acked.len()
    );
    let by_revision: BTreeMap<u64, &(u64, String, String)> =
        acked.iter().map(|write| (write.0, write)).collect();
    assert_eq!(
        by_revision.len(),
        acked.len(),
        "every acknowledged write has its own revision"
    );
    let seen: BTreeSet<u64> = watcher_seen.iter().copied().collect();
    assert_eq!(
        seen.len(),
        watcher_seen.len(),
        "the watcher saw no revision twice"
    );
    assert_eq!(
        watcher_seen,
        (2..=last_head).collect::<Vec<u64>>(),
        "the watcher saw every revision once, in order"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
