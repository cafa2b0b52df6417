//! GitOps reload: on SIGHUP the rule directory is reconciled with the store — changed files
//! become new versions, removed files deletions, unchanged files nothing — and API writes
//! are kept unless their file changed. With a data directory it all survives a restart.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::transport::Channel;
use xborder::api::pb;
use xborder::api::pb::rule_service_client::RuleServiceClient;
use xborder::api::pb::watch_service_client::WatchServiceClient;

const TOKEN: &str = "reload-test-token";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn start(
    dir: &Path,
) -> (
    Child,
    Channel,
    Vec<String>,
    std::thread::JoinHandle<Vec<String>>,
) {
    let (rules, data, token) = (dir.join("rules"), dir.join("data"), dir.join("token"));
    let (child, address, log, lines) = common::process::spawn_xborderd(&[
        "--rules-dir".as_ref(),
        rules.as_os_str(),
        "--data-dir".as_ref(),
        data.as_os_str(),
        "--admin-token-file".as_ref(),
        token.as_os_str(),
        "--drain-delay".as_ref(),
        "0s".as_ref(),
    ]);
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect_lazy();
    (child, channel, log, rest)
}

fn signal(child: &Child, name: &str) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill")
            .success()
    );
}

async fn name_of(rules: &mut RuleServiceClient<Channel>, jurisdiction: &str) -> Option<String> {
    let answer = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: jurisdiction.into(),
            ..Default::default()
        })
        .await
        .ok()?;
    answer.into_inner().rule_set.map(|rule_set| rule_set.name)
}

async fn head(rules: &mut RuleServiceClient<Channel>) -> u64 {
    rules
        .list_rule_sets(pb::ListRuleSetsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .revision
}

fn rename_in_file(path: &PathBuf, name: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    let renamed: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with("name: ") {
                format!("name: {name}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    std::fs::write(path, renamed.join("\n") + "\n").expect("write");
}

async fn next_change(
    stream: &mut tonic::Streaming<pb::WatchRuleChangesResponse>,
) -> (u64, pb::ChangeKind, String) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("event in time")
            .expect("open")
            .expect("event");
        if event.kind() != pb::ChangeKind::Progress {
            return (event.revision, event.kind(), event.jurisdiction);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_changed_files_keeps_api_writes_and_survives_restarts() {
    let dir = std::env::temp_dir().join(format!("xborder-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/rules"),
        &dir.join("rules"),
    );
    std::fs::write(dir.join("token"), TOKEN).expect("token");
    let jurisdictions = dir.join("rules/jurisdictions");

    let (child, channel, _, rest) = start(&dir);
    let mut rules = RuleServiceClient::new(channel.clone());
    let mut stream = WatchServiceClient::new(channel.clone())
        .watch_rule_changes(pb::WatchRuleChangesRequest::default())
        .await
        .expect("watch")
        .into_inner();

    // An API write to JP.
    let jp = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "JP".into(),
            ..Default::default()
        })
        .await
        .expect("JP")
        .into_inner();
    let mut renamed = jp.rule_set.expect("content");
    renamed.name = "Japan (written through the API)".into();
    let mut request = tonic::Request::new(pb::PutRuleSetRequest {
        rule_set: Some(renamed),
        expected_version: jp.version,
        validate_only: false,
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {TOKEN}").parse().expect("header"),
    );
    rules.put_rule_set(request).await.expect("API write");
    assert_eq!(
        next_change(&mut stream).await,
        (2, pb::ChangeKind::Updated, "JP".to_owned())
    );

    // Files: SG changed, RU removed; SIGHUP.
    rename_in_file(&jurisdictions.join("SG.yaml"), "Singapore (from the file)");
    std::fs::remove_file(jurisdictions.join("RU.yaml")).expect("remove RU");
    signal(&child, "HUP");
    assert_eq!(
        next_change(&mut stream).await,
        (3, pb::ChangeKind::Updated, "SG".to_owned())
    );
    assert_eq!(
        next_change(&mut stream).await,
        (4, pb::ChangeKind::Deleted, "RU".to_owned())
    );
    assert_eq!(
        name_of(&mut rules, "SG").await.as_deref(),
        Some("Singapore (from the file)")
    );
    assert_eq!(
        name_of(&mut rules, "JP").await.as_deref(),
        Some("Japan (written through the API)"),
        "unchanged file: the API write is kept"
    );

    // A broken file changes nothing; an unchanged directory commits nothing.
    std::fs::write(jurisdictions.join("ZZ.yaml"), "jurisdiction: [").expect("broken file");
    signal(&child, "HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::fs::remove_file(jurisdictions.join("ZZ.yaml")).expect("remove broken");
    signal(&child, "HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(head(&mut rules).await, 4);

    // The JP file changes: the file wins over the API write.
    rename_in_file(&jurisdictions.join("JP.yaml"), "Japan (from the file)");
    signal(&child, "HUP");
    assert_eq!(
        next_change(&mut stream).await,
        (5, pb::ChangeKind::Updated, "JP".to_owned())
    );
    assert_eq!(
        name_of(&mut rules, "JP").await.as_deref(),
        Some("Japan (from the file)")
    );

    drop((rules, stream, channel));
    signal(&child, "TERM");
    let log = rest.join().expect("log");
    assert!(
        log.iter()
            .any(|line| line.contains("the rule set's file changed") && line.contains("\"JP\"")),
        "the log says the file replaced the API write"
    );
    assert!(
        log.iter()
            .any(|line| line.contains("the rule directory has errors")),
        "the broken file was reported"
    );

    // Restart with the same directories: same revision, nothing recommitted.
    let (child, channel, _, rest) = start(&dir);
    let mut rules = RuleServiceClient::new(channel.clone());
    assert_eq!(head(&mut rules).await, 5);
    assert_eq!(
        name_of(&mut rules, "JP").await.as_deref(),
        Some("Japan (from the file)")
    );
    assert_eq!(name_of(&mut rules, "RU").await, None);
    drop((rules, channel));
    signal(&child, "TERM");
    let _ = rest.join();
    let _ = std::fs::remove_dir_all(&dir);
}
