//! The versioned store: CAS, validate-only, history reads, compaction, group fan-out,
//! effective-date events and watchers under concurrent writes.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use xborder::engine::assess;
use xborder::model::{CountryGroup, Decision, Rule, RuleSet};
use xborder::rules_io;
use xborder::store::watch::WatchError;
use xborder::store::{At, ChangeKind, Key, ManualClock, Store, StoreError, SystemClock};

fn library() -> xborder::model::Library {
    rules_io::load(&common::files(), "").expect("fixture library is valid")
}

fn store(history: u64) -> Arc<Store> {
    Store::new(&library(), history, Arc::new(SystemClock))
}

fn sg(store: &Store) -> RuleSet {
    store
        .rule_set("SG", At::Latest)
        .expect("SG exists")
        .0
        .source
        .as_ref()
        .clone()
}

fn rule(id: &str) -> Arc<Rule> {
    Arc::new(Rule {
        id: id.into(),
        title: format!("Rule {id}"),
        citation: "Test Act s.1".into(),
        source: "https://example.org/test".into(),
        effect: xborder::model::Effect::Review,
        any_of: Vec::new(),
        obligations: Vec::new(),
        when: xborder::model::Conditions {
            categories_any: vec!["user.financial".into()],
            ..Default::default()
        },
        unless: Vec::new(),
        effective_from: None,
        effective_until: None,
    })
}

#[test]
fn the_loaded_library_is_revision_1_with_every_entry_at_version_1() {
    let store = store(100);
    assert_eq!(store.head(), 1);
    assert_eq!(store.oldest(), 1);
    let (cn, revision) = store.rule_set("CN", At::Latest).expect("CN");
    assert_eq!((cn.version, revision), (1, 1));
    assert_eq!(
        store.group("eu_eea", At::Latest).expect("group").0.version,
        1
    );
    assert_eq!(
        store.rule_set("XX", At::Latest).unwrap_err(),
        StoreError::NotFound {
            key: Key::RuleSet("XX".into())
        }
    );
}

#[test]
fn writes_bump_the_revision_and_version_and_report_the_diff() {
    let store = store(100);
    let mut next = sg(&store);
    next.rules.push(rule("sg.new"));
    let outcome = store.put_rule_set(next, 1, false).expect("write");
    assert_eq!(
        (outcome.revision, outcome.version, outcome.committed),
        (2, 2, true)
    );
    assert_eq!(outcome.diff.added, ["sg.new"]);
    assert!(outcome.diff.removed.is_empty() && outcome.diff.modified.is_empty());

    let mut changed = sg(&store);
    Arc::make_mut(&mut changed.rules[0]).title = "Renamed".into();
    changed.rules.retain(|r| r.id != "sg.new");
    let outcome = store.put_rule_set(changed, 2, false).expect("write");
    assert_eq!(outcome.diff.modified, ["sg.transfer"]);
    assert_eq!(outcome.diff.removed, ["sg.new"]);
    assert_eq!(store.head(), 3);
}

#[test]
fn unchanged_rules_are_shared_between_versions() {
    let store = store(100);
    let before = store.rule_set("CN", At::Latest).expect("CN").0;
    let mut next = before.source.as_ref().clone();
    next.rules = next
        .rules
        .iter()
        .map(|r| Arc::new(r.as_ref().clone()))
        .collect();
    Arc::make_mut(&mut next.rules[0]).title = "Changed".into();
    store.put_rule_set(next, 1, false).expect("write");
    let after = store.rule_set("CN", At::Latest).expect("CN").0;
    assert!(!Arc::ptr_eq(
        &before.source.rules[0],
        &after.source.rules[0]
    ));
    for index in 1..before.source.rules.len() {
        assert!(
            Arc::ptr_eq(&before.source.rules[index], &after.source.rules[index]),
            "rule {index} shared"
        );
    }
}

#[test]
fn a_cas_conflict_leaves_the_store_unchanged() {
    let store = store(100);
    let before = store.snapshot();
    let error = store.put_rule_set(sg(&store), 7, false).unwrap_err();
    assert_eq!(
        error,
        StoreError::Conflict {
            key: Key::RuleSet("SG".into()),
            expected: 7,
            current: 1
        }
    );
    assert_eq!(
        error.to_string(),
        "version conflict on rule set SG: expected version 7, current version is 1"
    );
    let created = store.put_rule_set(sg(&store), 0, false).unwrap_err();
    assert!(matches!(
        created,
        StoreError::Conflict {
            expected: 0,
            current: 1,
            ..
        }
    ));
    assert!(Arc::ptr_eq(&before, &store.snapshot()), "no new snapshot");
    assert_eq!(store.head(), 1);
    assert!(matches!(
        store.delete_rule_set("SG", 2).unwrap_err(),
        StoreError::Conflict {
            expected: 2,
            current: 1,
            ..
        }
    ));
    assert_eq!(store.head(), 1);
}

#[test]
fn an_invalid_write_names_every_field_and_changes_nothing() {
    let store = store(100);
    let mut bad = sg(&store);
    let broken = Arc::make_mut(&mut bad.rules[0]);
    broken.any_of = vec!["handshake".into()];
    broken.when.destinations_in = vec!["group:nowhere".into()];
    let StoreError::Invalid { violations, .. } = store.put_rule_set(bad, 1, false).unwrap_err()
    else {
        panic!("expected invalid");
    };
    let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        ["rules[0].any_of[0]", "rules[0].when.destinations_in[0]"]
    );
    assert_eq!(store.head(), 1);
}

#[test]
fn validate_only_reports_the_diff_and_commits_nothing() {
    let store = store(100);
    let mut watcher = store.watch(Vec::new(), 0).expect("watch");
    let mut next = sg(&store);
    next.rules.push(rule("sg.extra"));
    let outcome = store.put_rule_set(next, 1, true).expect("valid");
    assert_eq!(
        (outcome.revision, outcome.version, outcome.committed),
        (1, 2, false)
    );
    assert_eq!(outcome.diff.added, ["sg.extra"]);
    assert_eq!(store.head(), 1);
    assert_eq!(store.rule_set("SG", At::Latest).expect("SG").0.version, 1);
    assert!(watcher.try_next().expect("open").is_none());
}

#[test]
fn at_revision_returns_old_content_after_later_changes() {
    let store = store(100);
    let mut next = sg(&store);
    next.name = "Singapore v2".into();
    store.put_rule_set(next, 1, false).expect("write");
    store.delete_rule_set("SG", 2).expect("delete");
    assert_eq!(store.head(), 3);
    assert_eq!(
        store
            .rule_set("SG", At::Revision(1))
            .expect("v1")
            .0
            .source
            .name,
        "Singapore (test)"
    );
    assert_eq!(
        store
            .rule_set("SG", At::Revision(2))
            .expect("v2")
            .0
            .source
            .name,
        "Singapore v2"
    );
    assert_eq!(store.rule_set("SG", At::Version(2)).expect("v2").1, 2);
    assert!(matches!(
        store.rule_set("SG", At::Latest),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.rule_set("SG", At::Revision(3)),
        Err(StoreError::NotFound { .. })
    ));

    let mut flow = common::flow("SG", "US", &["user.contact"], 5);
    flow.safeguards = vec!["consent".into()];
    let old = store.snapshot_at(2).expect("revision 2");
    assert_eq!(
        assess(&old, &flow, common::now(), false)
            .expect("valid")
            .decision,
        Decision::Permitted
    );
    let now = store.snapshot_at(0).expect("head");
    let answer = assess(&now, &flow, common::now(), false).expect("valid");
    assert_eq!(
        (answer.decision, answer.revision),
        (Decision::ReviewRequired, 3)
    );

    let versions: Vec<(u64, u64, Option<ChangeKind>)> = store
        .rule_set_versions("SG")
        .expect("history")
        .iter()
        .map(|record| (record.version, record.revision, record.kind))
        .collect();
    assert_eq!(
        versions,
        [
            (1, 1, None),
            (2, 2, Some(ChangeKind::Updated)),
            (2, 3, Some(ChangeKind::Deleted))
        ]
    );
}

#[test]
fn a_rule_set_created_again_after_a_delete_continues_its_versions() {
    let store = store(100);
    let mut next = sg(&store);
    next.name = "Singapore v2".into();
    store.put_rule_set(next, 1, false).expect("write");
    store.delete_rule_set("SG", 2).expect("delete");
    let mut again = sg_from(&store, 2);
    again.name = "Singapore again".into();
    assert!(
        matches!(
            store.put_rule_set(again.clone(), 2, false),
            Err(StoreError::Conflict {
                expected: 2,
                current: 0,
                ..
            })
        ),
        "a deleted rule set does not exist: only expected_version 0 creates it"
    );
    let recreated = store.put_rule_set(again, 0, false).expect("re-create");
    assert_eq!((recreated.revision, recreated.version), (4, 3));
    let name_at = |version| {
        let (rule_set, revision) = store.rule_set("SG", At::Version(version)).expect("version");
        (rule_set.source.name.clone(), rule_set.version, revision)
    };
    assert_eq!(name_at(2), ("Singapore v2".to_owned(), 2, 2));
    assert_eq!(name_at(3), ("Singapore again".to_owned(), 3, 4));
    let versions: Vec<(u64, Option<ChangeKind>)> = store
        .rule_set_versions("SG")
        .expect("history")
        .iter()
        .map(|record| (record.version, record.kind))
        .collect();
    assert_eq!(
        versions,
        [
            (1, None),
            (2, Some(ChangeKind::Updated)),
            (2, Some(ChangeKind::Deleted)),
            (3, Some(ChangeKind::Created))
        ]
    );
}

fn sg_from(store: &Store, revision: u64) -> RuleSet {
    store
        .rule_set("SG", At::Revision(revision))
        .expect("retained")
        .0
        .source
        .as_ref()
        .clone()
}

#[test]
fn compacted_and_future_revisions_are_errors_naming_the_bounds() {
    let store = store(3);
    for version in 1..=5 {
        let mut next = sg(&store);
        next.name = format!("v{}", version + 1);
        store.put_rule_set(next, version, false).expect("write");
    }
    assert_eq!((store.head(), store.oldest()), (6, 4));
    let error = store.snapshot_at(3).unwrap_err();
    assert_eq!(
        error,
        StoreError::Compacted {
            requested: 3,
            oldest: 4
        }
    );
    assert_eq!(
        error.to_string(),
        "revision 3 has been compacted; the oldest retained revision is 4"
    );
    assert_eq!(
        store
            .rule_set("SG", At::Revision(4))
            .expect("retained")
            .0
            .source
            .name,
        "v4"
    );
    assert_eq!(
        store.snapshot_at(7).unwrap_err().to_string(),
        "revision 7 is in the future; the current revision is 6"
    );
    assert!(matches!(
        store.rule_set("SG", At::Version(1)),
        Err(StoreError::VersionNotFound { version: 1, .. })
    ));
    assert!(matches!(
        store.watch(Vec::new(), 3),
        Err(StoreError::Compacted {
            requested: 3,
            oldest: 4
        })
    ));
    assert!(matches!(
        store.watch(Vec::new(), 8),
        Err(StoreError::FutureRevision {
            requested: 8,
            head: 6
        })
    ));
    // Entries untouched since the base revision stay readable at every retained revision.
    assert_eq!(
        store.rule_set("CN", At::Revision(4)).expect("CN").0.version,
        1
    );
}

#[test]
fn a_watcher_behind_compaction_is_ended_with_its_resume_revision() {
    let store = store(2);
    let mut watcher = store.watch(vec!["SG".into()], 0).expect("watch");
    for version in 1..=4 {
        store
            .put_rule_set(sg(&store), version, false)
            .expect("write");
    }
    assert_eq!(
        watcher.try_next().unwrap_err(),
        WatchError::Compacted {
            resume_from: 2,
            oldest: 4
        }
    );
}

#[test]
fn a_group_change_reaches_watchers_of_dependent_jurisdictions_only() {
    let store = store(100);
    let mut us_watcher = store.watch(vec!["US".into()], 0).expect("watch");
    let mut sg_watcher = store.watch(vec!["SG".into()], 0).expect("watch");
    let group = CountryGroup {
        name: "concern".into(),
        description: String::new(),
        citation: String::new(),
        source: String::new(),
        members: vec!["CN".into(), "RU".into(), "IR".into()],
        ..CountryGroup::default()
    };
    let outcome = store.put_group(group, 1, false).expect("write");
    assert_eq!((outcome.revision, outcome.version), (2, 2));
    assert_eq!(outcome.diff.added, ["IR"]);
    let event = us_watcher.try_next().expect("open").expect("event");
    assert_eq!(event.kind, ChangeKind::GroupUpdated);
    assert_eq!(event.key, Key::Group("concern".into()));
    assert_eq!(event.jurisdictions, ["US"]);
    assert!(sg_watcher.try_next().expect("open").is_none());

    let genomic = common::flow("US", "IR", &["user.health_and_medical.genetic"], 500);
    let answer = assess(&store.snapshot(), &genomic, common::now(), false).expect("valid");
    assert_eq!(
        answer.decision,
        Decision::Prohibited,
        "US rules see the new member"
    );
    let before = store.snapshot_at(1).expect("revision 1");
    assert_eq!(
        assess(&before, &genomic, common::now(), false)
            .expect("valid")
            .decision,
        Decision::Permitted
    );
}

#[tokio::test]
async fn a_future_effective_from_produces_became_effective_and_only_then_changes_decisions() {
    let clock = ManualClock::new("2029-12-31T12:00:00Z".parse().expect("time"));
    let store = Store::new(&library(), 100, Arc::new(clock.clone()));
    let financial = common::flow("CN", "US", &["user.financial"], 5);
    let decide = |store: &Store| {
        let snapshot = store.snapshot();
        let at = store.decision_time(&snapshot);
        assess(&snapshot, &financial, at, false).expect("valid")
    };
    assert_eq!(decide(&store).decision, Decision::Permitted);

    // The clock passes the boundary but no event is committed yet: decisions hold still.
    clock.set("2030-01-01T00:00:05Z".parse().expect("time"));
    assert_eq!(decide(&store).decision, Decision::Permitted);
    assert_eq!(store.head(), 1);

    let mut watcher = store.watch(vec!["CN".into()], 0).expect("watch");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = tokio::spawn(Arc::clone(&store).run_effective_dates(async {
        let _ = stopped.await;
    }));
    let event = tokio::time::timeout(Duration::from_secs(5), watcher.next())
        .await
        .expect("in time")
        .expect("event");
    assert_eq!(event.kind, ChangeKind::BecameEffective);
    assert_eq!((event.revision, event.version), (2, 1));
    assert_eq!(event.diff.added, ["cn.future"]);
    let answer = decide(&store);
    assert_eq!(
        (answer.decision, answer.revision),
        (Decision::ReviewRequired, 2)
    );
    drop(stop);
    scheduler.await.expect("scheduler ends on shutdown");
}

#[test]
fn a_rule_ending_produces_became_effective_with_the_rule_removed() {
    let clock = ManualClock::new("2019-12-31T00:00:00Z".parse().expect("time"));
    let store = Store::new(&library(), 100, Arc::new(clock.clone()));
    let boundary: Timestamp = "2020-01-01T00:00:00Z".parse().expect("time");
    assert_eq!(store.snapshot().next_boundary, Some(boundary));
    assert_eq!(store.commit_boundary(boundary), [2]);
    let mut watcher = store.watch(Vec::new(), 2).expect("watch");
    let event = watcher.try_next().expect("open").expect("event");
    assert_eq!(event.diff.removed, ["cn.ended"]);
    assert_eq!(
        store.commit_boundary(boundary),
        Vec::<u64>::new(),
        "committed once"
    );
    assert_eq!(
        store.snapshot().next_boundary,
        Some("2030-01-01T00:00:00Z".parse().expect("time"))
    );
}

#[test]
fn a_member_joining_a_group_is_an_effective_date_boundary_of_the_rule_sets_using_it() {
    let clock = ManualClock::new("2024-01-01T00:00:00Z".parse().expect("time"));
    let store = Store::new(&library(), 100, Arc::new(clock.clone()));
    let mut watcher = store.watch(vec!["US".into()], 0).expect("watch");
    let group = CountryGroup {
        name: "concern".into(),
        members: vec!["CN".into(), "RU".into(), "IR".into()],
        joined: [("IR".to_owned(), "2025-06-01".parse().expect("date"))].into(),
        ..CountryGroup::default()
    };
    let outcome = store.put_group(group.clone(), 1, false).expect("write");
    assert_eq!(outcome.diff.added, ["IR"]);
    let boundary: Timestamp = "2025-06-01T00:00:00Z".parse().expect("time");
    assert_eq!(store.snapshot().next_boundary, Some(boundary));
    let government = common::flow("US", "IR", &["org.government"], 1);
    let decide = |at: &str| {
        assess(
            &store.snapshot(),
            &government,
            at.parse().expect("time"),
            false,
        )
        .expect("valid")
        .decision
    };
    assert_eq!(decide("2025-05-31T23:59:59Z"), Decision::Permitted);
    assert_eq!(decide("2025-06-01T00:00:00Z"), Decision::ReviewRequired);
    assert_eq!(store.commit_boundary(boundary), [3]);
    let kinds: Vec<(ChangeKind, Vec<String>)> = std::iter::from_fn(|| {
        watcher
            .try_next()
            .expect("open")
            .map(|event| (event.kind, event.diff.modified.clone()))
    })
    .collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::GroupUpdated, Vec::new()),
            (
                ChangeKind::BecameEffective,
                vec![
                    "us.genomic".into(),
                    "us.government".into(),
                    "us.vendor".into()
                ]
            )
        ],
        "the rules naming the group are reported as modified on the day"
    );
    let mut later = group;
    later.joined = [("IR".to_owned(), "2027-01-01".parse().expect("date"))].into();
    let moved = store.put_group(later, 2, false).expect("write");
    assert_eq!(
        moved.diff.modified,
        ["IR"],
        "a changed day is a modification"
    );
}

/// Writers commit versions whose content encodes the version, so a reader can tell a torn
/// snapshot from a whole one.
fn generation(jurisdiction: &str, name_version: u64, base: &RuleSet) -> RuleSet {
    let mut next = base.clone();
    next.name = format!("{jurisdiction} generation {name_version}");
    next.rules.truncate(1);
    for extra in 0..(name_version % 3) {
        next.rules.push(rule(&format!(
            "{}.extra{extra}",
            jurisdiction.to_lowercase()
        )));
    }
    next
}

fn consistent(rule_set: &RuleSet, version: u64) -> bool {
    if version == 1 {
        return !rule_set.name.contains("generation");
    }
    rule_set.name.ends_with(&format!("generation {version}"))
        && rule_set.rules.len() as u64 == 1 + version % 3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_that_disconnect_and_resume_see_exactly_the_committed_sequence() {
    let store = store(10_000);
    let keys: [&'static str; 4] = ["CN", "EU", "SG", "US"];
    let done = Arc::new(AtomicBool::new(false));

    // Readers: every snapshot they see is whole and revisions never go back.
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        readers.push(tokio::spawn(async move {
            let mut last = 0;
            let mut reads = 0u64;
            while !done.load(Ordering::Relaxed) {
                let snapshot = store.snapshot();
                assert!(snapshot.revision >= last);
                last = snapshot.revision;
                for rule_set in snapshot.rule_sets.values() {
                    assert!(
                        consistent(&rule_set.source, rule_set.version),
                        "torn read at {last}"
                    );
                }
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        }));
    }

    // Watchers with different filters drop their cursor at random and resume from
    // the last revision seen + 1.
    let filters: Vec<Vec<String>> = (0..50)
        .map(|i| match i % 5 {
            0 => Vec::new(),
            1 => vec![keys[i % 4].to_owned()],
            2 => vec![keys[i % 4].to_owned(), keys[(i + 1) % 4].to_owned()],
            3 => vec!["US".to_owned()],
            _ => vec![keys[(i + 2) % 4].to_owned(), "JP".to_owned()],
        })
        .collect();
    let mut watchers = Vec::new();
    for (index, filter) in filters.iter().cloned().enumerate() {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        watchers.push(tokio::spawn(async move {
            let mut seen: Vec<u64> = Vec::new();
            let mut watcher = store
                .watch(filter.clone(), 2)
                .expect("watch from the first change");
            let mut rng = index as u64 * 7919 + 1;
            loop {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if rng >> 60 == 0 {
                    let resume = seen.last().map_or(2, |last| last + 1);
                    watcher = store.watch(filter.clone(), resume).expect("resume");
                }
                let finished = done.load(Ordering::Acquire);
                match tokio::time::timeout(Duration::from_millis(20), watcher.next()).await {
                    Ok(Ok(event)) => seen.push(event.revision),
                    Ok(Err(error)) => panic!("watcher {index}: {error}"),
                    Err(_) if finished => return seen,
                    Err(_) => {}
                }
            }
        }));
    }

    // Writers: 4 tasks, 500 commits each, each on its own jurisdiction; one also
    // updates the group US depends on.
    let mut writers = Vec::new();
    for (task, jurisdiction) in keys.into_iter().enumerate() {
        let store = Arc::clone(&store);
        writers.push(tokio::spawn(async move {
            let mut committed: Vec<(u64, Vec<String>)> = Vec::new();
            let base = store
                .rule_set(jurisdiction, At::Latest)
                .expect("exists")
                .0
                .source
                .as_ref()
                .clone();
            for step in 0..500u64 {
                let outcome = if task == 3 && step % 10 == 9 {
                    let version = store.group("concern", At::Latest).expect("group").0.version;
                    let members = if step % 20 == 9 {
                        vec!["CN".into(), "RU".into(), "IR".into()]
                    } else {
                        vec!["CN".into(), "RU".into()]
                    };
                    let group = CountryGroup {
                        name: "concern".into(),
                        description: String::new(),
                        citation: String::new(),
                        source: String::new(),
                        members,
                        ..CountryGroup::default()
                    };
                    store.put_group(group, version, false).expect("group write")
                } else {
                    let version = store
                        .rule_set(jurisdiction, At::Latest)
                        .expect("exists")
                        .0
                        .version;
                    let next = generation(jurisdiction, version + 1, &base);
                    store
                        .put_rule_set(next, version, false)
                        .expect("own key: no conflict")
                };
                committed.push((outcome.revision, vec![jurisdiction.to_owned()]));
                if step % 16 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            committed
        }));
    }
    let mut committed = Vec::new();
    for writer in writers {
        committed.extend(writer.await.expect("writer"));
    }
    committed.sort();
    assert_eq!(committed.len(), 2_000);
    let revisions: Vec<u64> = committed.iter().map(|(revision, _)| *revision).collect();
    assert_eq!(
        revisions,
        (2..2_002).collect::<Vec<u64>>(),
        "every commit has its own revision"
    );
    done.store(true, Ordering::Release);

    for (index, watcher) in watchers.into_iter().enumerate() {
        let seen = watcher.await.expect("watcher");
        let filter = &filters[index];
        let expected: Vec<u64> = committed
            .iter()
            .filter(|(_, jurisdictions)| {
                filter.is_empty() || jurisdictions.iter().any(|j| filter.contains(j))
            })
            .map(|(revision, _)| *revision)
            .collect();
        assert_eq!(seen, expected, "watcher {index} with filter {filter:?}");
        let unique: BTreeSet<u64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len());
    }
    for reader in readers {
        assert!(reader.await.expect("reader") > 0);
    }
}

#[test]
fn a_writer_taking_over_a_half_committed_boundary_commits_each_jurisdiction_once() {
    let clock = ManualClock::new("2029-12-31T12:00:00Z".parse().expect("time"));
    let store = Store::new(&library(), 100, Arc::new(clock.clone()));
    // SG gets a rule starting on the same day as CN's cn.future.
    let mut next = sg(&store);
    let mut starting = next.rules[0].as_ref().clone();
    starting.id = "sg.future".into();
    starting.effective_from = Some("2030-01-01".parse().expect("date"));
    next.rules.push(Arc::new(starting));
    store.put_rule_set(next, 1, false).expect("write");
    let boundary: Timestamp = "2030-01-01T00:00:00Z".parse().expect("time");
    assert_eq!(store.snapshot().next_boundary, Some(boundary));

    // Another replica committed CN's event for the boundary, then stopped before the last.
    store
        .install_record(xborder::store::Committed {
            revision: 3,
            committed_at: boundary,
            record: xborder::store::Record::BecameEffective {
                jurisdiction: "CN".into(),
                boundary,
                last: false,
            },
        })
        .expect("install");
    clock.set("2030-01-01T00:00:01Z".parse().expect("time"));
    assert_eq!(store.commit_boundary(boundary), [4], "only SG is left");
    let mut watcher = store.watch(Vec::new(), 3).expect("watch");
    let events: Vec<(u64, ChangeKind, Key)> =
        std::iter::from_fn(|| watcher.try_next().expect("open"))
            .map(|event| (event.revision, event.kind, event.key.clone()))
            .collect();
    assert_eq!(
        events,
        [
            (3, ChangeKind::BecameEffective, Key::RuleSet("CN".into())),
            (4, ChangeKind::BecameEffective, Key::RuleSet("SG".into()))
        ]
    );
    assert_ne!(
        store.snapshot().next_boundary,
        Some(boundary),
        "the boundary is closed"
    );
    assert!(store.commit_boundary(boundary).is_empty());
}
