//! The gRPC API against a real server on an ephemeral port: every RPC's happy path, every
//! error code with its field path or detail, auth, CAS, history reads and watch resume.

mod common;

use std::time::Duration;

use common::server::{ADMIN_TOKEN, READ_TOKEN, TestServer, config, with_token};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_types::StatusExt;
use xborder::api::auth::{Auth, Token};
use xborder::api::pb;
use xborder::api::pb::assessment_service_client::AssessmentServiceClient;
use xborder::api::pb::rule_service_client::RuleServiceClient;
use xborder::api::pb::watch_service_client::WatchServiceClient;

fn cn_to_us(subjects: u64, safeguards: &[&str]) -> pb::AssessFlowRequest {
    pb::AssessFlowRequest {
        request_id: "req-1".into(),
        flow: Some(pb::Flow {
            origin: "CN".into(),
            destination: "US".into(),
            data_categories: vec!["user.contact".into()],
            data_subject_count: Some(subjects),
            safeguards: safeguards.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn field_violations(status: &tonic::Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn assess_flow_returns_the_decision_with_requirements_and_citations() {
    let server = TestServer::start(config()).await;
    let mut client = AssessmentServiceClient::new(server.channel().await);

    let answer = client
        .assess_flow(cn_to_us(500_000, &[]))
        .await
        .expect("assessed")
        .into_inner();
    assert_eq!(answer.request_id, "req-1");
    assert_eq!(answer.decision(), pb::Decision::Conditional);
    assert_eq!(answer.revision, 1);
    let unmet = &answer.unmet_requirements[0];
    assert_eq!(unmet.jurisdiction, "CN");
    assert!(
        unmet.any_of.contains(&"cn_standard_contract".to_owned()),
        "{unmet:?}"
    );
    assert!(!unmet.citation.is_empty());
    assert_eq!(
        unmet
            .leg
            .as_ref()
            .map(|leg| (leg.from.as_str(), leg.to.as_str())),
        Some(("CN", "US"))
    );
    assert!(
        answer
            .rule_set_versions
            .iter()
            .any(|v| v.jurisdiction == "CN" && v.version == 1)
    );
    assert!(
        answer.summary.starts_with("CONDITIONAL: CN -> US"),
        "{}",
        answer.summary
    );

    let with_contract = client
        .assess_flow(cn_to_us(500_000, &["cn_standard_contract"]))
        .await
        .expect("assessed")
        .into_inner();
    assert_eq!(with_contract.decision(), pb::Decision::Permitted);
    assert!(
        with_contract
            .met_requirements
            .iter()
            .any(|r| r.met_by == "cn_standard_contract")
    );
    assert!(
        with_contract
            .obligations
            .iter()
            .any(|o| o.obligation == "separate_consent")
    );
    assert!(with_contract.trace.is_empty());

    let mut explained = cn_to_us(500_000, &["cn_standard_contract"]);
    explained.explain = true;
    let explained = client
        .assess_flow(explained)
        .await
        .expect("assessed")
        .into_inner();
    assert!(
        explained
            .trace
            .iter()
            .any(|t| t.failed_condition == "when.min_subjects"),
        "{:?}",
        explained.trace
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn invalid_flows_name_every_field() {
    let server = TestServer::start(config()).await;
    let mut client = AssessmentServiceClient::new(server.channel().await);
    let mut request = cn_to_us(10, &["pinky_promise"]);
    if let Some(flow) = request.flow.as_mut() {
        flow.data_categories = vec![
            "user.contact".into(),
            "user.name".into(),
            "user.shoe_size".into(),
        ];
        flow.origin = "XX".into();
    }
    let status = client.assess_flow(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = field_violations(&status)
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    assert_eq!(
        fields,
        [
            "flow.origin",
            "flow.data_categories[2]",
            "flow.safeguards[0]"
        ]
    );

    let mut too_long = cn_to_us(10, &[]);
    if let Some(flow) = too_long.flow.as_mut() {
        flow.transit = vec!["SG".into(); 65];
    }
    let status = client.assess_flow(too_long).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status),
        [(
            "flow.transit".to_owned(),
            "at most 64 entries are allowed, got 65".to_owned()
        )]
    );

    let status = client
        .assess_flow(pb::AssessFlowRequest::default())
        .await
        .unwrap_err();
    assert_eq!(field_violations(&status)[0].0, "flow");
}

#[tokio::test]
async fn assess_flows_answers_in_request_order_and_reports_errors_per_flow() {
    let server = TestServer::start(config()).await;
    let mut client = AssessmentServiceClient::new(server.channel().await);
    let mut bad = cn_to_us(10, &[]);
    if let Some(flow) = bad.flow.as_mut() {
        flow.destination = "ZZ".into();
    }
    let requests = [cn_to_us(500_000, &[]), bad, cn_to_us(5, &[])]
        .into_iter()
        .enumerate()
        .map(|(index, mut request)| {
            request.request_id = format!("flow-{index}");
            pb::AssessFlowsRequest {
                request: Some(request),
                read_mask: None,
            }
        })
        .collect::<Vec<_>>();
    let mut answers = client
        .assess_flows(tokio_stream::iter(requests))
        .await
        .expect("stream")
        .into_inner();
    let mut seen = Vec::new();
    while let Some(answer) = answers.next().await {
        let answer = answer.expect("answer");
        let outcome = match answer.result.expect("result") {
            pb::assess_flows_response::Result::Assessment(a) => format!("{:?}", a.decision()),
            pb::assess_flows_response::Result::Error(e) => {
                format!("error {} {}", e.code, e.field_violations[0].field)
            }
        };
        seen.push((answer.request_id, outcome));
    }
    assert_eq!(
        seen,
        [
            ("flow-0".to_owned(), "Conditional".to_owned()),
            ("flow-1".to_owned(), "error 3 flow.destination".to_owned()),
            ("flow-2".to_owned(), "Permitted".to_owned()),
        ]
    );
}

fn sg_rule_set(name: &str) -> pb::RuleSet {
    pb::RuleSet {
        jurisdiction: "SG".into(),
        name: name.into(),
        rules: vec![pb::Rule {
            id: "sg.test.transfer".into(),
            title: "Transfers need a contract".into(),
            citation: "PDPA s.26".into(),
            source: "https://laws.sg/legislation/sub-leg-2012-pdpa-s63-2021/reg-10".into(),
            effect: pb::Effect::Require.into(),
            any_of: vec!["consent".into()],
            when: Some(pb::Conditions {
                categories_any: vec!["user".into()],
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn rule_reads_cover_latest_revision_version_pages_and_groups() {
    let server = TestServer::start(config()).await;
    let mut rules = RuleServiceClient::new(server.channel().await);
    let cn = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "CN".into(),
            ..Default::default()
        })
        .await
        .expect("CN")
        .into_inner();
    assert_eq!((cn.version, cn.revision), (1, 1));
    let rule_set = cn.rule_set.expect("content");
    assert_eq!(rule_set.jurisdiction, "CN");
    assert!(
        rule_set
            .rules
            .iter()
            .all(|rule| !rule.citation.is_empty() && rule.source.starts_with("http"))
    );

    let missing = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "ZZ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (missing.code(), missing.message()),
        (Code::NotFound, "rule set ZZ not found")
    );

    let mut jurisdictions = Vec::new();
    let mut token = String::new();
    loop {
        let page = rules
            .list_rule_sets(pb::ListRuleSetsRequest {
                page_size: 5,
                page_token: token.clone(),
                at_revision: 0,
            })
            .await
            .expect("page")
            .into_inner();
        assert!(page.rule_sets.len() <= 5);
        jurisdictions.extend(
            page.rule_sets
                .into_iter()
                .map(|summary| summary.jurisdiction),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(jurisdictions.len(), server.store.snapshot().rule_sets.len());
    assert!(jurisdictions.windows(2).all(|pair| pair[0] < pair[1]));
    let bad_token = rules
        .list_rule_sets(pb::ListRuleSetsRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&bad_token)[0].0, "page_token");

    let groups = rules
        .list_country_groups(pb::ListCountryGroupsRequest::default())
        .await
        .expect("groups")
        .into_inner();
    assert!(
        groups
            .groups
            .iter()
            .any(|g| g.group.as_ref().is_some_and(|g| g.name == "eu_eea"))
    );
    let eea = rules
        .get_country_group(pb::GetCountryGroupRequest {
            name: "eu_eea".into(),
            at_revision: 0,
        })
        .await
        .expect("eu_eea")
        .into_inner();
    assert_eq!(eea.group.expect("group").members.len(), 30);

    let versions = rules
        .list_rule_set_versions(pb::ListRuleSetVersionsRequest {
            jurisdiction: "CN".into(),
        })
        .await
        .expect("versions")
        .into_inner();
    assert_eq!(versions.versions.len(), 1);
    assert_eq!(
        (versions.versions[0].version, versions.versions[0].revision),
        (1, 1)
    );
}

#[tokio::test]
async fn writes_need_the_admin_token() {
    let no_admin = TestServer::start(xborder::api::ApiConfig {
        auth: Auth::default(),
        ..config()
    })
    .await;
    let mut rules = RuleServiceClient::new(no_admin.channel().await);
    let refused = rules
        .put_rule_set(with_token(
            pb::PutRuleSetRequest {
                rule_set: Some(sg_rule_set("x")),
                expected_version: 1,
                validate_only: false,
            },
            "anything",
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("--admin-token-file"),
        "{}",
        refused.message()
    );

    let server = TestServer::start(xborder::api::ApiConfig {
        auth: Auth {
            admin: Token::new(ADMIN_TOKEN),
            read: Token::new(READ_TOKEN),
        },
        ..config()
    })
    .await;
    let mut rules = RuleServiceClient::new(server.channel().await);
    let put = |token: Option<&str>| {
        let request = pb::PutRuleSetRequest {
            rule_set: Some(sg_rule_set("Singapore (API)")),
            expected_version: 1,
            validate_only: false,
        };
        match token {
            Some(token) => with_token(request, token),
            None => tonic::Request::new(request),
        }
    };
    assert_eq!(
        rules.put_rule_set(put(None)).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(
        rules
            .put_rule_set(put(Some("wrong")))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    assert_eq!(
        rules
            .put_rule_set(put(Some(READ_TOKEN)))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let written = rules
        .put_rule_set(put(Some(ADMIN_TOKEN)))
        .await
        .expect("admin writes")
        .into_inner();
    assert_eq!(
        (written.revision, written.version, written.committed),
        (2, 2, true)
    );

    // With a read token configured, reads need it too.
    let unauthenticated = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "SG".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
    let read = rules
        .get_rule_set(with_token(
            pb::GetRuleSetRequest {
                jurisdiction: "SG".into(),
                ..Default::default()
            },
            READ_TOKEN,
        ))
        .await
        .expect("read token reads")
        .into_inner();
    assert_eq!(read.rule_set.expect("content").name, "Singapore (API)");
}

#[tokio::test]
async fn cas_validation_and_history_errors() {
    let server = TestServer::start_with_history(config(), 3).await;
    let mut rules = RuleServiceClient::new(server.channel().await);
    let put = |expected_version: u64, rule_set: pb::RuleSet, validate_only: bool| {
        with_token(
            pb::PutRuleSetRequest {
                rule_set: Some(rule_set),
                expected_version,
                validate_only,
            },
            ADMIN_TOKEN,
        )
    };

    let conflict = rules
        .put_rule_set(put(5, sg_rule_set("x"), false))
        .await
        .unwrap_err();
    assert_eq!(conflict.code(), Code::Aborted);
    assert_eq!(
        conflict.message(),
        "version conflict on rule set SG: expected version 5, current version is 1"
    );
    let info = conflict.get_details_error_info().expect("error info");
    assert_eq!(
        info.metadata.get("current_version").map(String::as_str),
        Some("1")
    );

    let mut invalid = sg_rule_set("x");
    invalid.rules[0].any_of = vec!["handshake".into()];
    invalid.rules.push(pb::Rule {
        id: "sg.no_effect".into(),
        ..invalid.rules[0].clone()
    });
    invalid.rules[1].effect = pb::Effect::Unspecified.into();
    invalid.rules[1].effective_from = "yesterday".into();
    let status = rules
        .put_rule_set(put(1, invalid.clone(), false))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = field_violations(&status)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "rule_set.rules[1].effect",
            "rule_set.rules[1].effective_from"
        ]
    );
    invalid.rules.truncate(1);
    let status = rules
        .put_rule_set(put(1, invalid, false))
        .await
        .unwrap_err();
    assert_eq!(
        field_violations(&status),
        [(
            "rule_set.rules[0].any_of[0]".to_owned(),
            "unknown mechanism `handshake`".to_owned()
        )]
    );

    let dry = rules
        .put_rule_set(put(1, sg_rule_set("dry"), true))
        .await
        .expect("validates")
        .into_inner();
    assert_eq!((dry.revision, dry.version, dry.committed), (1, 2, false));
    assert!(
        dry.diff
            .expect("diff")
            .added
            .contains(&"sg.test.transfer".to_owned())
    );
    assert_eq!(server.store.head(), 1, "validate_only commits nothing");

    for version in 1..=4 {
        rules
            .put_rule_set(put(
                version,
                sg_rule_set(&format!("v{}", version + 1)),
                false,
            ))
            .await
            .expect("write");
    }
    let mut assess = AssessmentServiceClient::new(server.channel().await);
    let mut old = cn_to_us(5, &[]);
    old.at_revision = 3;
    let answer = assess
        .assess_flow(old.clone())
        .await
        .expect("retained")
        .into_inner();
    assert_eq!(answer.revision, 3);
    old.at_revision = 1;
    let compacted = assess.assess_flow(old.clone()).await.unwrap_err();
    assert_eq!(compacted.code(), Code::OutOfRange);
    assert_eq!(
        compacted.message(),
        "revision 1 has been compacted; the oldest retained revision is 3"
    );
    old.at_revision = 99;
    let future = assess.assess_flow(old).await.unwrap_err();
    assert_eq!(
        (future.code(), future.message()),
        (
            Code::OutOfRange,
            "revision 99 is in the future; the current revision is 5"
        )
    );

    let v4 = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "SG".into(),
            at_revision: 4,
            version: 0,
        })
        .await
        .expect("retained")
        .into_inner();
    assert_eq!(
        (v4.rule_set.expect("content").name.as_str(), v4.version),
        ("v4", 4)
    );

    let deleted = rules
        .delete_rule_set(with_token(
            pb::DeleteRuleSetRequest {
                jurisdiction: "SG".into(),
                expected_version: 5,
            },
            ADMIN_TOKEN,
        ))
        .await
        .expect("deleted")
        .into_inner();
    assert_eq!((deleted.revision, deleted.version), (6, 5));

    let group = rules
        .put_country_group(with_token(
            pb::PutCountryGroupRequest {
                group: Some(pb::CountryGroup {
                    name: "asean".into(),
                    members: vec!["SU".into()],
                    ..Default::default()
                }),
                expected_version: 1,
                validate_only: false,
            },
            ADMIN_TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(field_violations(&group)[0].0, "group.members[0]");
}

async fn next_event(
    stream: &mut tonic::Streaming<pb::WatchRuleChangesResponse>,
) -> pb::WatchRuleChangesResponse {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("event in time")
        .expect("stream open")
        .expect("event")
}

#[tokio::test]
async fn watchers_get_progress_then_events_and_resume_without_gap_or_duplicate() {
    let server = TestServer::start(xborder::api::ApiConfig {
        progress_interval: Duration::from_millis(300),
        ..config()
    })
    .await;
    let channel = server.channel().await;
    let mut rules = RuleServiceClient::new(channel.clone());
    let mut watch = WatchServiceClient::new(channel);
    let mut stream = watch
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            jurisdictions: vec!["SG".into()],
            start_revision: 0,
            include_rule_set: true,
            expect_store_id: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = next_event(&mut stream).await;
    assert_eq!(
        (first.kind(), first.revision),
        (pb::ChangeKind::Progress, 1)
    );

    let writer = rules.clone();
    let write = |expected_version: u64, name: &str| {
        let request = with_token(
            pb::PutRuleSetRequest {
                rule_set: Some(sg_rule_set(name)),
                expected_version,
                validate_only: false,
            },
            ADMIN_TOKEN,
        );
        let mut writer = writer.clone();
        async move {
            writer
                .put_rule_set(request)
                .await
                .expect("write")
                .into_inner()
        }
    };
    write(1, "one").await;
    let event = next_event(&mut stream).await;
    assert_eq!(
        (event.kind(), event.revision, event.version),
        (pb::ChangeKind::Updated, 2, 2)
    );
    assert_eq!(event.jurisdiction, "SG");
    assert_eq!(
        event.rule_set.as_ref().map(|r| r.name.as_str()),
        Some("one")
    );
    assert!(event.committed_at.is_some());

    // Quiet: a PROGRESS heartbeat up to the last revision seen.
    let heartbeat = next_event(&mut stream).await;
    assert_eq!(
        (heartbeat.kind(), heartbeat.revision),
        (pb::ChangeKind::Progress, 2)
    );

    // Disconnect, miss two writes (and one for another jurisdiction), resume from last + 1.
    drop(stream);
    write(2, "two").await;
    rules
        .put_country_group(with_token(
            pb::PutCountryGroupRequest {
                group: Some(pb::CountryGroup {
                    name: "us_countries_of_concern".into(),
                    members: ["CN", "HK", "MO", "CU", "IR", "KP", "RU", "VE", "SY"]
                        .map(String::from)
                        .to_vec(),
                    ..Default::default()
                }),
                expected_version: 1,
                validate_only: false,
            },
            ADMIN_TOKEN,
        ))
        .await
        .expect("group write");
    write(3, "three").await;
    let mut resumed = watch
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            jurisdictions: vec!["SG".into(), "US".into()],
            start_revision: event.revision + 1,
            include_rule_set: false,
            expect_store_id: event.store_id.clone(),
        })
        .await
        .expect("resume")
        .into_inner();
    // Revisions never go down: first the promise for what precedes the resume point,
    // then the missed events, then the head once caught up.
    let progress = next_event(&mut resumed).await;
    assert_eq!(
        (progress.kind(), progress.revision),
        (pb::ChangeKind::Progress, 2)
    );
    let replay: Vec<(u64, pb::ChangeKind, String)> = [
        next_event(&mut resumed).await,
        next_event(&mut resumed).await,
        next_event(&mut resumed).await,
    ]
    .into_iter()
    .map(|e| {
        let key = if e.group.is_empty() {
            e.jurisdiction.clone()
        } else {
            e.group.clone()
        };
        (e.revision, e.kind(), key)
    })
    .collect();
    assert_eq!(
        replay,
        [
            (3, pb::ChangeKind::Updated, "SG".to_owned()),
            (
                4,
                pb::ChangeKind::GroupUpdated,
                "us_countries_of_concern".to_owned()
            ),
            (5, pb::ChangeKind::Updated, "SG".to_owned()),
        ]
    );
    let caught_up = next_event(&mut resumed).await;
    assert_eq!(
        (caught_up.kind(), caught_up.revision),
        (pb::ChangeKind::Progress, 5),
        "a PROGRESS at the head follows the catch-up"
    );
}

#[tokio::test]
async fn every_response_carries_the_store_id_and_a_resume_into_another_store_is_refused() {
    let server = TestServer::start(config()).await;
    let other = TestServer::start(config()).await;
    let store_id = server.store.store_id().to_owned();
    assert_ne!(
        store_id,
        other.store.store_id(),
        "each new store has its own id"
    );
    let channel = server.channel().await;
    let answer = AssessmentServiceClient::new(channel.clone())
        .assess_flow(cn_to_us(500_000, &[]))
        .await
        .expect("assess")
        .into_inner();
    assert_eq!(answer.store_id, store_id);
    let mut rules = RuleServiceClient::new(channel.clone());
    let got = rules
        .get_rule_set(pb::GetRuleSetRequest {
            jurisdiction: "SG".into(),
            ..Default::default()
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.store_id, store_id);
    let listed = rules
        .list_country_groups(pb::ListCountryGroupsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.store_id, store_id);
    let mut stream = WatchServiceClient::new(channel)
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            expect_store_id: store_id.clone(),
            ..Default::default()
        })
        .await
        .expect("same store")
        .into_inner();
    assert_eq!(next_event(&mut stream).await.store_id, store_id);

    let refused = WatchServiceClient::new(other.channel().await)
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            start_revision: 2,
            expect_store_id: store_id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("another store's history");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let info = refused.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "STORE_CHANGED");
    assert_eq!(info.metadata["expected_store_id"], store_id);
    assert_eq!(info.metadata["store_id"], other.store.store_id());
}

#[tokio::test]
async fn watch_limits_and_bad_requests() {
    let server = TestServer::start(xborder::api::ApiConfig {
        max_watch_streams: 1,
        ..config()
    })
    .await;
    let mut watch = WatchServiceClient::new(server.channel().await);
    let request = pb::WatchRuleChangesRequest::default();
    let _held = watch
        .watch_rule_changes(request.clone())
        .await
        .expect("first");
    let refused = watch.watch_rule_changes(request).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().contains("--max-watch-streams"));

    let future = watch
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            start_revision: 50,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        future.code(),
        Code::ResourceExhausted,
        "the slot is still held"
    );
    drop(_held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let future = watch
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            start_revision: 50,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(future.code(), Code::OutOfRange);
    let bad = watch
        .watch_rule_changes(pb::WatchRuleChangesRequest {
            jurisdictions: vec!["Chin4".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&bad)[0].0, "jurisdictions[0]");
}

#[tokio::test]
async fn health_and_reflection_are_served() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = TestServer::start(config()).await;
    let channel = server.channel().await;
    let mut health = HealthClient::new(channel.clone());
    for service in [
        "",
        "xborder.v1.AssessmentService",
        "xborder.v1.RuleService",
        "xborder.v1.WatchService",
    ] {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health")
            .into_inner();
        assert_eq!(
            status.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving
        );
    }

    let mut reflection = ServerReflectionClient::new(channel);
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = responses.next().await.expect("response").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "xborder.v1.AssessmentService",
            "xborder.v1.RuleService",
            "xborder.v1.WatchService"
        ]
    );
}

#[tokio::test]
async fn graceful_shutdown_ends_watch_streams_cleanly_and_reports_not_serving() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let mut server = TestServer::start(xborder::api::ApiConfig {
        drain_delay: Duration::from_millis(1_500),
        ..config()
    })
    .await;
    let channel = server.channel().await;
    let mut watch = WatchServiceClient::new(channel.clone());
    let mut stream = watch
        .watch_rule_changes(pb::WatchRuleChangesRequest::default())
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(
        next_event(&mut stream).await.kind(),
        pb::ChangeKind::Progress
    );
    // An AssessFlows stream whose client keeps its request side open.
    let (requests, requests_rx) = tokio::sync::mpsc::channel(4);
    let mut answers = AssessmentServiceClient::new(channel.clone())
        .assess_flows(tokio_stream::wrappers::ReceiverStream::new(requests_rx))
        .await
        .expect("assess flows")
        .into_inner();
    requests
        .send(pb::AssessFlowsRequest {
            request: Some(cn_to_us(5, &[])),
            read_mask: None,
        })
        .await
        .expect("send");
    let first = tokio::time::timeout(Duration::from_secs(5), answers.next())
        .await
        .expect("answer in time");
    assert!(matches!(first, Some(Ok(_))), "{first:?}");

    server.begin_shutdown();
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("stream ends in time");
    assert!(
        end.is_none(),
        "the stream ends with an OK status, not an error: {end:?}"
    );
    let end = tokio::time::timeout(Duration::from_secs(5), answers.next())
        .await
        .expect("the AssessFlows stream ends in time too");
    assert!(end.is_none(), "AssessFlows ends with OK on drain: {end:?}");
    let refused = AssessmentServiceClient::new(channel.clone())
        .assess_flows(tokio_stream::iter(Vec::<pb::AssessFlowsRequest>::new()))
        .await
        .expect_err("no new streams while draining");
    assert_eq!(refused.code(), Code::Unavailable);
    drop(requests);

    let mut health = HealthClient::new(channel);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers while draining")
        .into_inner();
    assert_eq!(status.status(), ServingStatus::NotServing);
    let mut assess = AssessmentServiceClient::new(server.channel().await);
    let during_drain = assess
        .assess_flow(cn_to_us(5, &[]))
        .await
        .expect("calls still served during the drain delay");
    assert_eq!(
        during_drain.into_inner().decision(),
        pb::Decision::Permitted
    );
    server.stop().await.expect("server returns Ok");
}

#[tokio::test]
async fn oversized_messages_are_resource_exhausted() {
    let server = TestServer::start(config()).await;
    let mut client = AssessmentServiceClient::new(server.channel().await);
    let mut huge = cn_to_us(5, &[]);
    huge.request_id = "x".repeat(5 * 1024 * 1024);
    let status = client.assess_flow(huge).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("the limit is: 4194304 bytes"),
        "{}",
        status.message()
    );
    // The connection stays usable.
    assert!(client.assess_flow(cn_to_us(5, &[])).await.is_ok());
}

#[tokio::test]
async fn a_missing_fact_is_an_error_naming_the_field_never_a_permissive_answer() {
    let server = TestServer::start(config()).await;
    let mut client = AssessmentServiceClient::new(server.channel().await);
    let mut no_count = cn_to_us(0, &[]);
    if let Some(flow) = no_count.flow.as_mut() {
        flow.data_subject_count = None;
    }
    let status = client.assess_flow(no_count).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status)
            .into_iter()
            .map(|(field, _)| field)
            .collect::<Vec<_>>(),
        ["flow.data_subject_count"]
    );

    // Brokerage of bulk biometrics to a country of concern is prohibited; without a
    // purpose the answer cannot be told, so it is not given.
    let biometrics = |purpose: &str| pb::AssessFlowRequest {
        flow: Some(pb::Flow {
            origin: "US".into(),
            destination: "CN".into(),
            data_categories: vec!["user.biometric".into()],
            data_subject_count: Some(5_000),
            purpose: purpose.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let status = client.assess_flow(biometrics("")).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let violations = field_violations(&status);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].0, "flow.purpose");
    assert!(
        violations[0]
            .1
            .contains("us.dsp.202_301.brokerage_biometric_geolocation"),
        "{violations:?}"
    );
    let brokerage = client
        .assess_flow(biometrics("data_brokerage"))
        .await
        .expect("stated")
        .into_inner();
    assert_eq!(brokerage.decision(), pb::Decision::Prohibited);
    let research = client
        .assess_flow(biometrics("research"))
        .await
        .expect("stated")
        .into_inner();
    assert_eq!(research.decision(), pb::Decision::Conditional);
}
