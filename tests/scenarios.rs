//! Runs every scenario of `tests/scenarios/*.yaml` (flow -> expected decision, unmet
//! requirements, obligations, matched rules, and the article that justifies it) against the
//! rule library in `deploy/rules/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Deserialize;

use xborder::engine::{Snapshot, assess};
use xborder::model::{Decision, Flow};
use xborder::rules_io;

/// One scenario as written in a scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    name: String,
    why: String,
    #[serde(default)]
    at: Option<Timestamp>,
    flow: Flow,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    decision: Decision,
    #[serde(default)]
    unmet: Option<Vec<Vec<String>>>,
    #[serde(default)]
    obligations: Option<BTreeSet<String>>,
    #[serde(default)]
    matched: Vec<String>,
    #[serde(default)]
    not_matched: Vec<String>,
}

const DEFAULT_AT: &str = "2026-06-01T00:00:00Z";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Scenario files by stem (`CN`, `ASEAN`), each with its scenarios.
fn scenario_files() -> BTreeMap<String, Vec<Scenario>> {
    let dir = root().join("tests/scenarios");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("tests/scenarios exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            let text = std::fs::read_to_string(&path).expect("readable scenario file");
            let scenarios: Vec<Scenario> = serde_saphyr::from_str(&text)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            let stem = path
                .file_stem()
                .expect("file stem")
                .to_string_lossy()
                .into_owned();
            files.insert(stem, scenarios);
        }
    }
    files
}

fn library_snapshot(dir: &Path) -> Snapshot {
    let library = rules_io::load_dir(dir).unwrap_or_else(|error| panic!("rule library:\n{error}"));
    Snapshot::from_library(&library, 1, Timestamp::UNIX_EPOCH)
}

/// Checks one scenario; returns what differs from the expectation.
fn check(snapshot: &Snapshot, scenario: &Scenario) -> Vec<String> {
    let at = scenario
        .at
        .unwrap_or_else(|| DEFAULT_AT.parse().expect("valid default time"));
    let answer = match assess(snapshot, &scenario.flow, at, false) {
        Ok(answer) => answer,
        Err(error) => return vec![format!("flow rejected: {error}")],
    };
    let mut problems = Vec::new();
    if answer.decision != scenario.expect.decision {
        problems.push(format!(
            "decision {} (expected {}); {}",
            answer.decision, scenario.expect.decision, answer.summary
        ));
    }
    if let Some(unmet) = &scenario.expect.unmet {
        let actual: Vec<Vec<String>> = answer
            .unmet_requirements
            .iter()
            .map(|requirement| requirement.any_of.iter().map(ToString::to_string).collect())
            .collect();
        if &actual != unmet {
            problems.push(format!("unmet any_of sets {actual:?} (expected {unmet:?})"));
        }
    }
    if let Some(obligations) = &scenario.expect.obligations {
        let actual: BTreeSet<String> = answer
            .obligations
            .iter()
            .map(|o| o.obligation.to_string())
            .collect();
        if &actual != obligations {
            problems.push(format!("obligations {actual:?} (expected {obligations:?})"));
        }
    }
    let matched: BTreeSet<String> = answer
        .matched_rules
        .iter()
        .map(|m| m.rule.rule_id.to_string())
        .collect();
    for id in &scenario.expect.matched {
        if !matched.contains(id) {
            problems.push(format!("rule {id} did not match (matched: {matched:?})"));
        }
    }
    for id in &scenario.expect.not_matched {
        if matched.contains(id) {
            problems.push(format!("rule {id} matched but should not"));
        }
    }
    problems
}

#[test]
fn scenarios_hold() {
    let snapshot = library_snapshot(&root().join("deploy/rules"));
    let mut failures = Vec::new();
    let mut count = 0;
    for (file, scenarios) in scenario_files() {
        for scenario in &scenarios {
            count += 1;
            assert!(
                !scenario.why.trim().is_empty(),
                "{file}: `{}` must say why",
                scenario.name
            );
            for problem in check(&snapshot, scenario) {
                failures.push(format!("{file}.yaml: {}: {problem}", scenario.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} scenarios failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("{count} scenarios hold");
}

#[test]
fn every_jurisdiction_has_enough_scenarios() {
    let library = rules_io::load_dir(&root().join("deploy/rules")).expect("valid library");
    let files = scenario_files();
    let total: usize = files.values().map(Vec::len).sum();
    assert!(total >= 150, "{total} scenarios; at least 150 are required");
    for jurisdiction in library.rule_sets.keys() {
        let needed = if ["CN", "US", "JP", "EU"].contains(&jurisdiction.as_str()) {
            15
        } else {
            5
        };
        let have = files.get(jurisdiction).map_or(0, Vec::len);
        assert!(
            have >= needed,
            "{jurisdiction}: {have} scenarios, at least {needed} required"
        );
    }
}

#[test]
fn the_embedded_library_is_the_one_on_disk() {
    let on_disk = rules_io::load_dir(&root().join("deploy/rules")).expect("valid library on disk");
    let embedded = rules_io::embedded().expect("valid embedded library");
    assert_eq!(
        embedded, on_disk,
        "rebuild: the embedded rules differ from deploy/rules"
    );
}
