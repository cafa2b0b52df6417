//! The rule author's subcommands, which need no cargo and no running server: `check`
//! (validate a directory, warn about stale reviews), `test` (run scenario files, as `opa
//! test` does) and `schema` (write the JSON Schemas for editors).

use std::path::Path;
use std::process::ExitCode;

use jiff::{Span, SpanRelativeTo, Timestamp, Unit};

use xborder::engine::Snapshot;
use xborder::model::Library;
use xborder::rules_io::{self, LoadError, Positions};
use xborder::{scenario, schema};

/// Parses an age such as `365d`, `52w` or `1y` into whole days (`--stale-after`).
pub fn parse_days(text: &str) -> Result<i32, String> {
    let span: Span = text
        .parse()
        .map_err(|error| format!("`{text}` is not a duration such as 365d: {error}"))?;
    let relative = SpanRelativeTo::days_are_24_hours();
    let days = span
        .total((Unit::Day, relative))
        .map_err(|error| format!("`{text}`: {error}"))?;
    if days < 0.0 {
        return Err(format!("`{text}` must not be negative"));
    }
    Ok(days.floor() as i32)
}

/// `xborderd check DIR [--stale-after AGE]`.
pub fn check(dir: &Path, stale_after: Option<i32>) -> ExitCode {
    let library = match rules_io::load_dir(dir) {
        Ok(library) => library,
        Err(error) => {
            eprintln!("{error}");
            if let LoadError::Invalid(errors) = &error {
                eprintln!("{} problem(s) in {}", errors.len(), dir.display());
            }
            return ExitCode::FAILURE;
        }
    };
    let warnings = stale_after.map_or(0, |days| warn_stale(dir, &library, days));
    println!(
        "ok: {} jurisdictions, {} groups, {} rules in {}{}",
        library.rule_sets.len(),
        library.groups.len(),
        library.rule_count(),
        dir.display(),
        if warnings > 0 {
            format!("; {warnings} warning(s)")
        } else {
            String::new()
        }
    );
    ExitCode::SUCCESS
}

/// Prints a `file:line:column: warning: ...` line for each rule set not reviewed within
/// `days` (or never); returns how many.
fn warn_stale(dir: &Path, library: &Library, days: i32) -> usize {
    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut warnings = 0;
    for (jurisdiction, rule_set) in &library.rule_sets {
        let problem = match (rule_set.reviewed_on, rule_set.review_age_days(today)) {
            (Some(day), Some(age)) if age > days => {
                format!("reviewed_on {day} is {age} days ago (more than {days})")
            }
            (None, _) => "no reviewed_on: nobody has recorded reviewing this rule set".into(),
            _ => continue,
        };
        let file = ["yaml", "yml"]
            .iter()
            .map(|ext| {
                dir.join("jurisdictions")
                    .join(format!("{jurisdiction}.{ext}"))
            })
            .find(|path| path.exists())
            .unwrap_or_else(|| dir.join("jurisdictions").join(jurisdiction));
        let position = std::fs::read_to_string(&file)
            .map(|text| Positions::of(&text).find("reviewed_on"))
            .unwrap_or(rules_io::Position::START);
        println!(
            "{}:{}:{}: warning: {problem}",
            file.display(),
            position.line,
            position.column
        );
        warnings += 1;
    }
    warnings
}

/// `xborderd test SCENARIOS [--rules DIR]`.
pub fn test(scenarios: &Path, rules: Option<&Path>) -> ExitCode {
    let library = match super::load_rules(rules) {
        Ok(library) => library,
        Err(error) => {
            eprintln!("cannot load rules:\n{error}");
            return ExitCode::FAILURE;
        }
    };
    let files = match scenario::read(scenarios) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let snapshot = Snapshot::from_library(&library, 1, Timestamp::UNIX_EPOCH);
    let total: usize = files.iter().map(|file| file.scenarios.len()).sum();
    let mut failed = 0;
    for file in &files {
        let failures = scenario::run(&snapshot, file);
        let mut lines: Vec<u32> = failures.iter().map(|failure| failure.line).collect();
        lines.dedup();
        failed += lines.len();
        for failure in failures {
            println!("{failure}");
        }
    }
    let rules = rules.map_or_else(
        || "the built-in rules".into(),
        |dir| dir.display().to_string(),
    );
    if failed == 0 {
        println!("ok: {total} scenarios hold against {rules}");
        ExitCode::SUCCESS
    } else {
        println!("FAIL: {failed} of {total} scenarios failed against {rules}");
        ExitCode::FAILURE
    }
}

/// `xborderd schema DIR`.
pub fn schema(dir: &Path) -> ExitCode {
    if let Err(error) = std::fs::create_dir_all(dir) {
        eprintln!("cannot create {}: {error}", dir.display());
        return ExitCode::FAILURE;
    }
    for (name, text) in schema::all() {
        let path = dir.join(name);
        if let Err(error) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
