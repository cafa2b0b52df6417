//! `docs/RULES.md` is generated from the rule files: this test renders it and fails when the
//! checked-in table and the files disagree. Regenerate with
//! `XBORDER_BLESS=1 cargo test --test rules_doc`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use xborder::model::{Effect, Library, RuleSet};
use xborder::rules_io;

fn render(library: &Library) -> String {
    let mut out = String::from(
        "# The rule library\n\n\
         Generated from `deploy/rules/` by `tests/rules_doc.rs`; do not edit by hand\n\
         (regenerate with `XBORDER_BLESS=1 cargo test --test rules_doc`). The rules, with\n\
         citations per rule, are in `deploy/rules/jurisdictions/`.\n",
    );
    for rule_set in library.rule_sets.values() {
        render_rule_set(&mut out, library, rule_set);
    }
    out.push_str("\n## Country groups\n\n| group | members | source |\n|---|---|---|\n");
    for group in library.groups.values() {
        let source = if group.citation.is_empty() {
            group.source.clone()
        } else {
            format!("{} — {}", group.citation, group.source)
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            group.name,
            members(group),
            cell(&source)
        );
    }
    out
}

/// Members with their days: `GB (from 2021-06-28)`.
fn members(group: &xborder::model::CountryGroup) -> String {
    group
        .members
        .iter()
        .map(|code| {
            let days: Vec<String> = [
                ("from", group.joined.get(code)),
                ("until", group.left.get(code)),
            ]
            .into_iter()
            .filter_map(|(word, day)| day.map(|day| format!("{word} {day}")))
            .collect();
            if days.is_empty() {
                code.clone()
            } else {
                format!("{code} ({})", days.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The mechanisms that imply `id`, directly or not.
fn implied_by(library: &Library, id: &str) -> Vec<String> {
    let mechanisms = &library.vocabulary.mechanisms;
    let mut found = BTreeSet::new();
    let mut pending = vec![id.to_owned()];
    while let Some(target) = pending.pop() {
        for (name, definition) in mechanisms {
            if definition.implies().contains(&target) && found.insert(name.clone()) {
                pending.push(name.clone());
            }
        }
    }
    found.into_iter().collect()
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn render_rule_set(out: &mut String, library: &Library, rule_set: &RuleSet) {
    let _ = write!(
        out,
        "\n## {} — {}\n\n| | |\n|---|---|\n",
        rule_set.jurisdiction, rule_set.name
    );
    let row = |out: &mut String, label: &str, value: &str| {
        let _ = writeln!(
            out,
            "| {label} | {} |",
            if value.is_empty() {
                "—".into()
            } else {
                cell(value)
            }
        );
    };
    if !rule_set.covers.is_empty() {
        row(out, "Covers", &rule_set.covers.join(", "));
    }
    row(out, "Law", &rule_set.profile.law);
    row(
        out,
        "Dates in",
        rule_set.time_zone.as_deref().unwrap_or("UTC"),
    );
    row(
        out,
        "Reviewed",
        &rule_set
            .reviewed_on
            .map_or_else(|| "never".to_owned(), |day| day.to_string()),
    );
    row(out, "Default stance", &rule_set.profile.default_stance);
    let mechanisms: BTreeSet<&str> = rule_set
        .rules
        .iter()
        .filter(|rule| rule.effect == Effect::Require)
        .flat_map(|rule| rule.any_of.iter().map(String::as_str))
        .collect();
    let mechanisms: Vec<String> = mechanisms
        .iter()
        .map(|id| {
            let description = library
                .vocabulary
                .mechanisms
                .get(*id)
                .map_or("", |definition| definition.description());
            let also: Vec<String> = implied_by(library, id)
                .iter()
                .map(|name| format!("`{name}`"))
                .collect();
            if also.is_empty() {
                format!("`{id}` ({description})")
            } else {
                format!("`{id}` ({description}; also met by {})", also.join(", "))
            }
        })
        .collect();
    row(out, "Accepted mechanisms", &mechanisms.join("; "));
    let thresholds: Vec<String> = rule_set
        .rules
        .iter()
        .filter_map(|rule| {
            let bounds = match (rule.when.min_subjects, rule.when.max_subjects) {
                (Some(min), Some(max)) => format!("{min} to under {max}"),
                (Some(min), None) => format!("{min} or more"),
                (None, Some(max)) => format!("under {max}"),
                (None, None) => return None,
            };
            Some(format!(
                "{bounds} individuals: {} `{}`",
                effect(rule.effect),
                rule.id
            ))
        })
        .collect();
    row(out, "Thresholds", &thresholds.join("; "));
    row(out, "Localization", &rule_set.profile.localization);
    let counts = [
        Effect::Permit,
        Effect::Require,
        Effect::Prohibit,
        Effect::Review,
    ]
    .iter()
    .map(|kind| {
        format!(
            "{} {}",
            rule_set
                .rules
                .iter()
                .filter(|rule| rule.effect == *kind)
                .count(),
            effect(*kind)
        )
    })
    .collect::<Vec<_>>()
    .join(", ");
    row(
        out,
        "Rules",
        &format!("{} ({counts})", rule_set.rules.len()),
    );
    let sources: BTreeSet<&str> = rule_set
        .rules
        .iter()
        .map(|rule| rule.source.as_str())
        .collect();
    row(
        out,
        "Sources",
        &sources.into_iter().collect::<Vec<_>>().join(" "),
    );
}

fn effect(effect: Effect) -> &'static str {
    match effect {
        Effect::Permit => "permit",
        Effect::Require => "require",
        Effect::Prohibit => "prohibit",
        Effect::Review => "review",
    }
}

#[test]
fn rules_md_matches_the_rule_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let library = rules_io::load_dir(&root.join("deploy/rules")).expect("valid library");
    let rendered = render(&library);
    let path = root.join("docs/RULES.md");
    if std::env::var_os("XBORDER_BLESS").is_some() {
        std::fs::write(&path, &rendered).expect("write docs/RULES.md");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == rendered,
        "docs/RULES.md is stale: run `XBORDER_BLESS=1 cargo test --test rules_doc`"
    );
}
