//! Runs every scenario of `tests/scenarios/*.yaml` (flow -> expected decision, unmet
//! requirements, obligations, matched rules, and the article that justifies it) against the
//! rule library in `deploy/rules/`, through the same code as `xborderd test`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use xborder::engine::Snapshot;
use xborder::rules_io;
use xborder::scenario::{self, ScenarioFile};

/// Scenarios the library must have in all, and for each jurisdiction.
const TOTAL_SCENARIOS: usize = 450;
const PER_JURISDICTION: usize = 12;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Scenario files by stem (`CN`, `ASEAN`).
fn scenario_files() -> BTreeMap<String, ScenarioFile> {
    scenario::read(&root().join("tests/scenarios"))
        .unwrap_or_else(|error| panic!("{error}"))
        .into_iter()
        .map(|file| {
            let stem = file
                .path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            (stem, file)
        })
        .collect()
}

fn library_snapshot(dir: &Path) -> Snapshot {
    let library = rules_io::load_dir(dir).unwrap_or_else(|error| panic!("rule library:\n{error}"));
    Snapshot::from_library(&library, 1, Timestamp::UNIX_EPOCH)
}

#[test]
fn scenarios_hold() {
    let snapshot = library_snapshot(&root().join("deploy/rules"));
    let mut failures = Vec::new();
    let mut count = 0;
    for file in scenario_files().values() {
        for (line, scenario) in &file.scenarios {
            count += 1;
            assert!(
                !scenario.why.trim().is_empty(),
                "{}:{line}: `{}` must say why",
                file.path.display(),
                scenario.name
            );
        }
        failures.extend(
            scenario::run(&snapshot, file)
                .iter()
                .map(ToString::to_string),
        );
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) in {count} scenarios:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("{count} scenarios hold");
}

#[test]
fn every_jurisdiction_has_enough_scenarios() {
    let library = rules_io::load_dir(&root().join("deploy/rules")).expect("valid library");
    let files = scenario_files();
    let total: usize = files.values().map(|file| file.scenarios.len()).sum();
    assert!(
        total >= TOTAL_SCENARIOS,
        "{total} scenarios; at least {TOTAL_SCENARIOS} are required"
    );
    for jurisdiction in library.rule_sets.keys() {
        let have = files
            .get(jurisdiction)
            .map_or(0, |file| file.scenarios.len());
        assert!(
            have >= PER_JURISDICTION,
            "{jurisdiction}: {have} scenarios, at least {PER_JURISDICTION} required"
        );
    }
}

#[test]
fn a_failing_scenario_is_reported_at_its_line_with_want_and_got() {
    let snapshot = library_snapshot(&root().join("deploy/rules"));
    let text = "\
# a comment line
- name: first holds
  why: DPDP Act 2023 s.16(1)
  flow: {origin: IN, destination: US, data_categories: [system.operations]}
  expect: {decision: PERMITTED}

- name: second is wrong on purpose
  why: the test of the runner itself
  at: 2026-06-01T00:00:00Z
  flow: {origin: IN, destination: US, data_categories: [system.operations]}
  expect: {decision: PROHIBITED, not_matched: [in.nonexistent]}
";
    let file = scenario::parse(Path::new("wrong.yaml"), text).expect("valid scenario file");
    let failures: Vec<String> = scenario::run(&snapshot, &file)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with(
            "wrong.yaml:7: second is wrong on purpose: want decision PROHIBITED, got PERMITTED ("
        ),
        "{}",
        failures[0]
    );
}

#[test]
fn a_flow_the_engine_rejects_is_a_failure_not_a_panic() {
    let snapshot = library_snapshot(&root().join("deploy/rules"));
    let text = "- name: count missing\n  why: x\n  flow: {origin: IN, destination: US, data_categories: [user.contact]}\n  expect: {decision: PERMITTED}\n";
    let file = scenario::parse(Path::new("bad.yaml"), text).expect("valid scenario file");
    let failures = scenario::run(&snapshot, &file);
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].got, "INVALID_ARGUMENT");
    assert!(
        failures[0].summary.contains("data_subject_count"),
        "{}",
        failures[0]
    );
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
