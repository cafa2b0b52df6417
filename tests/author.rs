//! The rule author's commands as a rule repository's CI runs them: `xborderd check
//! --stale-after`, `xborderd test` and `xborderd schema`, with their output and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn xborderd(args: &[&str]) -> Output {
    Command::cargo_bin("xborderd")
        .expect("xborderd is built")
        .args(args)
        .current_dir(root())
        .output()
        .expect("xborderd runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A scratch directory holding a copy of `deploy/rules` with `changes` applied.
fn rules_copy(name: &str, changes: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xborder-author-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["vocabulary", "groups", "jurisdictions"] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        for entry in std::fs::read_dir(root().join("deploy/rules").join(sub)).expect("readable") {
            let path = entry.expect("entry").path();
            let file_name = path.file_name().expect("name");
            std::fs::copy(&path, dir.join(sub).join(file_name)).expect("copy");
        }
    }
    for (path, text) in changes {
        std::fs::write(dir.join(path), text).expect("write");
    }
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const SG_REVIEWED_LONG_AGO: &str = "jurisdiction: SG\nname: Singapore (old)\nreviewed_on: 2020-01-01\nrules:\n  - id: sg.all\n    title: Everything needs consent\n    citation: Test Act s.1\n    source: https://example.org/sg\n    effect: require\n    any_of: [consent]\n    when: {categories_any: [user]}\n";

#[test]
fn check_warns_about_rule_sets_not_reviewed_within_the_age_and_still_exits_0() {
    let dir = rules_copy("stale", &[("jurisdictions/SG.yaml", SG_REVIEWED_LONG_AGO)]);
    let dir_text = dir.display().to_string();
    let output = xborderd(&["check", &dir_text, "--stale-after", "365d"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = stdout(&output);
    let sg_line =
        format!("{dir_text}/jurisdictions/SG.yaml:3:14: warning: reviewed_on 2020-01-01 is ");
    assert!(text.contains(&sg_line), "{text}");
    assert!(text.contains("days ago (more than 365)"), "{text}");
    let warnings = text
        .lines()
        .filter(|line| line.contains(": warning: "))
        .count();
    assert!(
        text.trim_end()
            .ends_with(&format!("; {warnings} warning(s)")),
        "{text}"
    );
    let quiet = xborderd(&["check", &dir_text]);
    assert!(
        !stdout(&quiet).contains("warning"),
        "no age given, no warning"
    );
    let bad = xborderd(&["check", &dir_text, "--stale-after", "soon"]);
    assert_eq!(bad.status.code(), Some(2), "a usage error");
}

#[test]
fn test_prints_each_failure_at_its_line_and_exits_1() {
    let rules = rules_copy("test", &[("jurisdictions/SG.yaml", SG_REVIEWED_LONG_AGO)]);
    let scenarios =
        std::env::temp_dir().join(format!("xborder-author-scenarios-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scenarios);
    write(
        &scenarios,
        "SG.yaml",
        "- name: with consent\n  why: Test Act s.1\n  flow: {origin: SG, destination: JP, data_categories: [user.contact], data_subject_count: 5, safeguards: [consent]}\n  expect: {decision: PERMITTED}\n- name: without consent\n  why: Test Act s.1\n  flow: {origin: SG, destination: JP, data_categories: [user.contact], data_subject_count: 5}\n  expect: {decision: PERMITTED}\n",
    );
    let rules_text = rules.display().to_string();
    let scenarios_text = scenarios.display().to_string();
    let output = xborderd(&["test", &scenarios_text, "--rules", &rules_text]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with(&format!(
            "{scenarios_text}/SG.yaml:5: without consent: want decision PERMITTED, got CONDITIONAL ("
        )),
        "{text}"
    );
    assert_eq!(
        lines[1],
        format!("FAIL: 1 of 2 scenarios failed against {rules_text}")
    );

    let library = xborderd(&["test", "tests/scenarios"]);
    assert_eq!(library.status.code(), Some(0), "{library:?}");
    assert!(
        stdout(&library).ends_with("scenarios hold against the built-in rules\n"),
        "{}",
        stdout(&library)
    );
}

#[test]
fn test_reports_an_unreadable_scenario_file_at_its_position() {
    let dir = std::env::temp_dir().join(format!("xborder-author-broken-{}", std::process::id()));
    let path = write(
        &dir,
        "broken.yaml",
        "- name: x\n  why: y\n  flow: {origin: SG}\n  expect: {decision: MAYBE}\n",
    );
    let output = xborderd(&["test", &path.display().to_string()]);
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.starts_with(&format!("{}:", path.display())),
        "{error}"
    );
}

#[test]
fn schema_writes_the_committed_schemas() {
    let dir = std::env::temp_dir().join(format!("xborder-author-schemas-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = xborderd(&["schema", &dir.display().to_string()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    for (name, text) in xborder::schema::all() {
        let written = std::fs::read_to_string(dir.join(name)).expect("written");
        assert_eq!(written, text, "{name}");
    }
}
