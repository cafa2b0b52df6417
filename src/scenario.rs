//! Scenario files: flows with the answer a lawyer expects, run against a rule library.
//!
//! Rule authors test their rules the way OPA's users run `opa test`: `xborderd test
//! SCENARIO_DIR [--rules DIR]` runs every scenario and prints each failure as
//! `file:line: scenario: want X, got Y (summary)`. The crate's own test suite
//! (`tests/scenarios.rs`) runs the library's scenarios through the same code.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::engine::{Snapshot, assess};
use crate::model::{Decision, Flow};
use crate::rules_io::{Position, Positions};

/// When a scenario without `at` is evaluated: a fixed instant, so a scenario's answer does
/// not change with the day the suite runs.
pub const DEFAULT_AT: Timestamp = Timestamp::constant(1_780_272_000, 0); // 2026-06-01T00:00:00Z

/// One scenario as written in a scenario file (a YAML list of these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the flow is, in a sentence; failures are reported under it.
    pub name: String,
    /// The law that decides it: act, article, and what it says.
    pub why: String,
    /// When the flow happens (RFC 3339); default [`DEFAULT_AT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub at: Option<Timestamp>,
    /// The flow, as `AssessFlow` takes it.
    pub flow: Flow,
    /// The expected answer.
    pub expect: Expect,
}

/// What a scenario expects of the answer; unset parts are not checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The decision.
    pub decision: Decision,
    /// The unmet requirements' `any_of` sets, in answer order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmet: Option<Vec<Vec<String>>>,
    /// Exactly the obligations of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligations: Option<BTreeSet<String>>,
    /// Rule ids that must be among the matched rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<String>,
    /// Rule ids that must not be among the matched rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_matched: Vec<String>,
}

/// A parsed scenario file: each scenario with the line it starts on.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    /// The file as reported.
    pub path: PathBuf,
    /// The scenarios in file order, with their 1-based line.
    pub scenarios: Vec<(u32, Scenario)>,
}

/// Why scenario files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not a list of scenarios.
    #[error("{}:{}:{}: {message}", path.display(), position.line, position.column)]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where.
        position: Position,
        /// What is wrong.
        message: String,
    },
    /// A directory holds no scenario file.
    #[error("no scenario files (*.yaml) in {}", .0.display())]
    Empty(PathBuf),
}

/// One way a scenario's answer differs from its expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The scenario file.
    pub path: PathBuf,
    /// The line the scenario starts on.
    pub line: u32,
    /// The scenario's name.
    pub name: String,
    /// What was expected (`decision CONDITIONAL`).
    pub want: String,
    /// What the answer had.
    pub got: String,
    /// The answer's one-line summary (or why the flow was rejected).
    pub summary: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: want {}, got {} ({})",
            self.path.display(),
            self.line,
            self.name,
            self.want,
            self.got,
            self.summary
        )
    }
}

/// Reads one scenario file, or every `*.yaml` file of a directory in name order.
pub fn read(path: &Path) -> Result<Vec<ScenarioFile>, ScenarioError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ScenarioError::Io { path, source }
    };
    if !path.is_dir() {
        return Ok(vec![read_file(path)?]);
    }
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io(path))? {
        let entry = entry.map_err(io(path))?.path();
        if entry
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            paths.push(entry);
        }
    }
    if paths.is_empty() {
        return Err(ScenarioError::Empty(path.to_owned()));
    }
    paths.sort();
    paths.iter().map(|path| read_file(path)).collect()
}

fn read_file(path: &Path) -> Result<ScenarioFile, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses the text of a scenario file reported as `path`.
pub fn parse(path: &Path, text: &str) -> Result<ScenarioFile, ScenarioError> {
    let scenarios: Vec<Scenario> = serde_saphyr::from_str(text).map_err(|error| {
        let position = error
            .location()
            .map_or(Position::START, |location| Position {
                line: location.line().max(1) as u32,
                column: location.column().max(1) as u32,
            });
        ScenarioError::Syntax {
            path: path.to_owned(),
            position,
            message: error.without_snippet().to_string(),
        }
    })?;
    let positions = Positions::of(text);
    let scenarios = scenarios
        .into_iter()
        .enumerate()
        .map(|(index, scenario)| (positions.find(&format!("[{index}]")).line, scenario))
        .collect();
    Ok(ScenarioFile {
        path: path.to_owned(),
        scenarios,
    })
}

/// Runs every scenario of `file` against `snapshot`; returns the failures in file order.
pub fn run(snapshot: &Snapshot, file: &ScenarioFile) -> Vec<Failure> {
    let mut failures = Vec::new();
    for (line, scenario) in &file.scenarios {
        for (want, got, summary) in check(snapshot, scenario) {
            failures.push(Failure {
                path: file.path.clone(),
                line: *line,
                name: scenario.name.clone(),
                want,
                got,
                summary,
            });
        }
    }
    failures
}

/// Each `(want, got, summary)` in which the answer differs from `scenario.expect`.
fn check(snapshot: &Snapshot, scenario: &Scenario) -> Vec<(String, String, String)> {
    let expect = &scenario.expect;
    let at = scenario.at.unwrap_or(DEFAULT_AT);
    let answer = match assess(snapshot, &scenario.flow, at, false) {
        Ok(answer) => answer,
        Err(error) => {
            return vec![(
                format!("decision {}", expect.decision),
                "INVALID_ARGUMENT".into(),
                error.to_string(),
            )];
        }
    };
    let summary = answer.summary.clone();
    let mut problems = Vec::new();
    let mut differ = |want: String, got: String| problems.push((want, got, summary.clone()));
    if answer.decision != expect.decision {
        differ(
            format!("decision {}", expect.decision),
            answer.decision.to_string(),
        );
    }
    if let Some(unmet) = &expect.unmet {
        let actual: Vec<Vec<String>> = answer
            .unmet_requirements
            .iter()
            .map(|requirement| requirement.any_of.iter().map(ToString::to_string).collect())
            .collect();
        if &actual != unmet {
            differ(format!("unmet {unmet:?}"), format!("{actual:?}"));
        }
    }
    if let Some(obligations) = &expect.obligations {
        let actual: BTreeSet<String> = answer
            .obligations
            .iter()
            .map(|o| o.obligation.to_string())
            .collect();
        if &actual != obligations {
            differ(
                format!("obligations {obligations:?}"),
                format!("{actual:?}"),
            );
        }
    }
    let matched: BTreeSet<String> = answer
        .matched_rules
        .iter()
        .map(|m| m.rule.rule_id.to_string())
        .collect();
    for id in &expect.matched {
        if !matched.contains(id) {
            differ(format!("rule {id} matched"), format!("{matched:?}"));
        }
    }
    for id in &expect.not_matched {
        if matched.contains(id) {
            differ(format!("rule {id} not matched"), "it matched".into());
        }
    }
    problems
}
