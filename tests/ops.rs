//! Operating xborder: Prometheus metrics moved by real RPCs, `/readyz` flipping during
//! drain, one JSON log line per RPC (never the token), and the README listing every flag.

mod common;

use std::process::Command;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use common::server::{ADMIN_TOKEN, TestServer, config, http_get, with_token};
use serde_json::Value;
use tokio_stream::StreamExt;
use xborder::api::pb;
use xborder::api::pb::assessment_service_client::AssessmentServiceClient;
use xborder::api::pb::rule_service_client::RuleServiceClient;
use xborder::api::pb::watch_service_client::WatchServiceClient;

fn flow(origin: &str, subjects: u64, safeguards: &[&str]) -> pb::AssessFlowRequest {
    pb::AssessFlowRequest {
        request_id: format!("ops-{origin}-{subjects}"),
        flow: Some(pb::Flow {
            origin: origin.into(),
            destination: "US".into(),
            data_categories: vec!["user.contact".into()],
            data_subject_count: Some(subjects),
            safeguards: safeguards.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

async fn sg_rule_set(
    rules: &mut RuleServiceClient<tonic::transport::Channel>,
) -> (pb::RuleSet, u64) {
    let current = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "SG".into(),
            ..Default::default()
        })
        .await
        .expect("SG")
        .into_inner();
    (current.rule_set.expect("content"), current.version)
}

#[tokio::test]
async fn metrics_move_by_the_right_amounts_and_readyz_flips_during_drain() {
    let mut server = TestServer::start_with_metrics(xborder::api::ApiConfig {
        drain_delay: Duration::from_millis(1_500),
        ..config()
    })
    .await;
    let metrics_address = server.metrics.expect("metrics listener");
    let (status, body) = http_get(metrics_address, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(sample(&body, "xborder_store_revision"), Some(1.0));
    assert_eq!(
        sample(
            &body,
            r#"xborder_rpc_requests_total{method="AssessFlow",code="OK"}"#
        ),
        None
    );

    let channel = server.channel().await;
    let mut assess = AssessmentServiceClient::new(channel.clone());
    let mut rules = RuleServiceClient::new(channel.clone());
    let mut watch = WatchServiceClient::new(channel);
    assess
        .assess_flow(flow("CN", 500_000, &[]))
        .await
        .expect("conditional");
    assess
        .assess_flow(flow("CN", 500_000, &["cn_standard_contract"]))
        .await
        .expect("permitted");
    assess.assess_flow(flow("FR", 5, &[])).await.expect("FR");
    assert!(assess.assess_flow(flow("XX", 5, &[])).await.is_err());

    let mut stream = watch
        .watch_rule_changes(pb::WatchRuleChangesRequest::default())
        .await
        .expect("watch")
        .into_inner();
    stream.next().await.expect("progress").expect("progress");
    let (mut rule_set, version) = sg_rule_set(&mut rules).await;
    rule_set.name = "Singapore (metrics test)".into();
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let reviewed = today
        .checked_sub(jiff::Span::new().days(30))
        .expect("a date");
    rule_set.reviewed_on = reviewed.to_string();
    let put = |expected_version: u64, rule_set: pb::RuleSet| {
        with_token(
            pb::PutRuleSetRequest {
                rule_set: Some(rule_set),
                expected_version,
                validate_only: false,
            },
            ADMIN_TOKEN,
        )
    };
    rules
        .put_rule_set(put(version, rule_set.clone()))
        .await
        .expect("committed");
    assert!(
        rules.put_rule_set(put(version, rule_set)).await.is_err(),
        "conflict"
    );
    let event = stream.next().await.expect("event").expect("event");
    assert_eq!(event.revision, 2);

    let (status, body) = http_get(metrics_address, "/metrics").await;
    assert_eq!(status, 200);
    let expect = [
        (
            r#"xborder_rpc_requests_total{method="AssessFlow",code="OK"}"#,
            3.0,
        ),
        (
            r#"xborder_rpc_requests_total{method="AssessFlow",code="INVALID_ARGUMENT"}"#,
            1.0,
        ),
        (
            r#"xborder_rpc_requests_total{method="PutRuleSet",code="OK"}"#,
            1.0,
        ),
        (
            r#"xborder_rpc_requests_total{method="PutRuleSet",code="ABORTED"}"#,
            1.0,
        ),
        (
            r#"xborder_rpc_requests_total{method="GetRuleSet",code="OK"}"#,
            1.0,
        ),
        (
            r#"xborder_rpc_requests_total{method="WatchRuleChanges",code="OK"}"#,
            1.0,
        ),
        (
            r#"xborder_decisions_total{decision="CONDITIONAL",origin="CN"}"#,
            1.0,
        ),
        (
            r#"xborder_decisions_total{decision="PERMITTED",origin="CN"}"#,
            1.0,
        ),
        (
            r#"xborder_decisions_total{decision="CONDITIONAL",origin="FR"}"#,
            1.0,
        ),
        (
            r#"xborder_writes_total{operation="put_rule_set",outcome="committed"}"#,
            1.0,
        ),
        (
            r#"xborder_writes_total{operation="put_rule_set",outcome="conflict"}"#,
            1.0,
        ),
        ("xborder_watch_events_delivered_total", 1.0),
        ("xborder_open_watch_streams", 1.0),
        ("xborder_store_revision", 2.0),
        (r#"xborder_entry_version{kind="rule_set",name="SG"}"#, 2.0),
        (r#"xborder_entry_version{kind="group",name="eu_eea"}"#, 1.0),
        ("xborder_assessment_duration_seconds_count", 3.0),
        (r#"xborder_rules_review_age_days{jurisdiction="SG"}"#, 30.0),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&body, series), Some(value), "{series} in:\n{body}");
    }

    assert_eq!(
        http_get(metrics_address, "/readyz").await,
        (200, "ready\n".to_owned())
    );
    drop((assess, rules, stream));
    server.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        http_get(metrics_address, "/readyz").await,
        (503, "draining\n".to_owned())
    );
    assert_eq!(http_get(metrics_address, "/healthz").await.0, 200);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn json_logs_have_one_line_per_rpc_with_its_fields_and_never_the_token() {
    let dir = std::env::temp_dir().join(format!("xborder-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("token"), ADMIN_TOKEN).expect("token");
    let token = dir.join("token");
    let (mut child, address, mut log, lines) = common::process::spawn_xborderd(&[
        "--drain-delay".as_ref(),
        "0s".as_ref(),
        "--admin-token-file".as_ref(),
        token.as_os_str(),
    ]);
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut assess = AssessmentServiceClient::new(channel.clone());
    let mut rules = RuleServiceClient::new(channel);
    assess
        .assess_flow(flow("CN", 500_000, &[]))
        .await
        .expect("assess");
    let (mut rule_set, version) = sg_rule_set(&mut rules).await;
    rule_set.name = "Singapore (log test)".into();
    rules
        .put_rule_set(with_token(
            pb::PutRuleSetRequest {
                rule_set: Some(rule_set),
                expected_version: version,
                validate_only: false,
            },
            ADMIN_TOKEN,
        ))
        .await
        .expect("write");
    // SIGTERM drains and exits 0 once the client has gone; the rest of stderr is then complete.
    drop((assess, rules));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let rest = tokio::task::spawn_blocking(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    log.extend(rest.await.expect("stderr reader"));
    assert!(child.wait().expect("exit").success());

    let records: Vec<Value> = log
        .iter()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    let rpcs: Vec<&Value> = records
        .iter()
        .filter(|r| r["fields"]["message"] == "rpc")
        .collect();
    let methods: Vec<&str> = rpcs
        .iter()
        .filter_map(|r| r["fields"]["method"].as_str())
        .collect();
    assert_eq!(
        methods,
        ["AssessFlow", "GetRuleSet", "PutRuleSet"],
        "one line per RPC"
    );
    let assessed = &rpcs[0]["fields"];
    assert_eq!(assessed["request_id"], "ops-CN-500000");
    assert_eq!(assessed["decision"], "CONDITIONAL");
    assert_eq!(assessed["code"], "OK");
    assert!(assessed["latency_us"].as_u64().is_some());
    let written = &rpcs[2]["fields"];
    assert_eq!(written["key"], "rule_set/SG");
    assert_eq!(
        (
            written["old_version"].as_u64(),
            written["new_version"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(written["token_id"], "admin");
    assert!(
        log.iter().all(|line| !line.contains(ADMIN_TOKEN)),
        "the token never appears in logs"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_readme_lists_every_flag_and_environment_variable() {
    let help = Command::cargo_bin("xborderd")
        .expect("xborderd")
        .arg("--help")
        .output()
        .expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let mut flags = 0;
    for word in
        help.split(|c: char| c.is_whitespace() || c == '[' || c == ']' || c == ',' || c == '=')
    {
        let word = word.trim_end_matches([':', '.', ')', ';']);
        let listed =
            word.starts_with("--") && word.len() > 2 && !["--help", "--version"].contains(&word)
                || word.starts_with("XBORDER_");
        if listed {
            flags += 1;
            assert!(
                readme.contains(&format!("`{word}`")),
                "README.md does not document `{word}`"
            );
        }
    }
    assert!(
        flags >= 20,
        "found only {flags} flags and variables in --help:\n{help}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_assess_flows_stops_the_server_assessing() {
    let server = TestServer::start_with_metrics(config()).await;
    let metrics_address = server.metrics.expect("metrics listener");
    let mut assess = AssessmentServiceClient::new(server.channel().await);
    const SENT: usize = 60_000;
    let requests = tokio_stream::iter((0..SENT).map(|index| pb::AssessFlowsRequest {
        request: Some(flow("CN", 500_000 + index as u64, &[])),
        read_mask: None,
    }));
    let mut answers = assess
        .assess_flows(requests)
        .await
        .expect("stream")
        .into_inner();
    let first = answers.next().await.expect("answer").expect("ok");
    assert!(first.result.is_some());

    // The client stops reading: flow control stops the server reading requests, so the
    // number of assessments stays bounded instead of racing through every request.
    let assessed = || async {
        let (_, body) = http_get(metrics_address, "/metrics").await;
        sample(&body, "xborder_assessment_duration_seconds_count").unwrap_or(0.0) as usize
    };
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let stalled = assessed().await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        assessed().await,
        stalled,
        "no progress while the client does not read"
    );
    println!("{stalled} of {SENT} flows assessed while the client was not reading");
    assert!(
        stalled < SENT / 10,
        "{stalled} of {SENT} assessed while the client was not reading"
    );

    // Reading again drains everything, in order.
    let mut count = 1;
    while let Some(answer) = answers.next().await {
        answer.expect("ok");
        count += 1;
    }
    assert_eq!(count, SENT);
    assert_eq!(assessed().await, SENT);
}
