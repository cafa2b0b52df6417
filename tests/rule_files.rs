//! Every class of rule-file error is reported as `file:line:column: message`, and a file
//! with several errors reports all of them.

mod common;

use xborder::rules_io::{self, RuleFile};

/// The fixture library with `path` replaced (or added) with `text`; returns the error lines.
fn errors_with(path: &str, text: &str) -> Vec<String> {
    let mut files: Vec<RuleFile> = common::files()
        .into_iter()
        .filter(|f| f.path != path)
        .collect();
    files.push(RuleFile {
        path: path.into(),
        text: text.into(),
    });
    match rules_io::load(&files, "rules") {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

const HEAD: &str = "jurisdiction: SG\nname: Singapore\nrules:\n";

fn rule(extra: &str) -> String {
    format!(
        "{HEAD}  - id: sg.a\n    title: A\n    citation: PDPA s.26\n    source: https://example.org\n{extra}"
    )
}

#[test]
fn the_fixture_library_is_valid() {
    assert_eq!(
        errors_with("jurisdictions/SG.yaml", common::SG),
        Vec::<String>::new()
    );
}

#[test]
fn syntax_error() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        "jurisdiction: SG\nname: \"unterminated\nrules: []\n",
    );
    assert_eq!(errors, ["rules/jurisdictions/SG.yaml:2:7: unclosed quote"]);
}

#[test]
fn unknown_field() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        &rule("    effect: permit\n    colour: blue\n"),
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("rules/jurisdictions/SG.yaml:9:5: "),
        "{errors:?}"
    );
    assert!(errors[0].contains("unknown field `colour`"), "{errors:?}");
}

#[test]
fn unknown_country_code() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        &rule("    effect: permit\n    when: {destinations_in: [US, XX]}\n"),
    );
    assert_eq!(
        errors,
        [
            "rules/jurisdictions/SG.yaml:9:34: `XX` is neither an ISO 3166-1 alpha-2 country code nor `group:NAME`"
        ]
    );
}

#[test]
fn unknown_group() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        &rule("    effect: permit\n    when:\n      destinations_not_in: [group:asean]\n"),
    );
    assert_eq!(
        errors,
        ["rules/jurisdictions/SG.yaml:10:29: unknown country group `asean`"]
    );
}

#[test]
fn unknown_category_and_category_set() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        &rule("    effect: permit\n    when: {categories_any: [set:sensitive, user.shoe_size]}\n"),
    );
    assert_eq!(
        errors,
        [
            "rules/jurisdictions/SG.yaml:9:29: unknown category set `sensitive` (define it under `category_sets`)",
            "rules/jurisdictions/SG.yaml:9:44: unknown data category `user.shoe_size`",
        ]
    );
}

#[test]
fn unknown_mechanism_purpose_obligation_protection_and_attribute() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        &rule(concat!(
            "    effect: require\n",
            "    any_of: [consent, handshake]\n",
            "    obligations: [pray]\n",
            "    when:\n",
            "      purposes_any: [fun]\n",
            "      protection_any: [rot13]\n",
            "      exporter: {famous: true}\n",
        )),
    );
    assert_eq!(
        errors,
        [
            "rules/jurisdictions/SG.yaml:9:23: unknown mechanism `handshake`",
            "rules/jurisdictions/SG.yaml:10:19: unknown obligation `pray`",
            "rules/jurisdictions/SG.yaml:12:22: unknown purpose `fun`",
            "rules/jurisdictions/SG.yaml:13:24: unknown protection state `rot13`",
            "rules/jurisdictions/SG.yaml:14:26: unknown exporter attribute `famous`",
        ]
    );
}

#[test]
fn duplicate_rule_ids() {
    let text = format!(
        "{}  - id: sg.a\n    title: B\n    citation: PDPA s.26\n    source: https://example.org\n    effect: permit\n",
        rule("    effect: permit\n")
    );
    let errors = errors_with("jurisdictions/SG.yaml", &text);
    assert_eq!(
        errors,
        ["rules/jurisdictions/SG.yaml:9:9: duplicate rule id `sg.a` (first at rules[0])"]
    );
}

#[test]
fn min_subjects_not_below_max_subjects() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        &rule("    effect: permit\n    when: {min_subjects: 1000, max_subjects: 10}\n"),
    );
    assert_eq!(
        errors,
        [
            "rules/jurisdictions/SG.yaml:9:26: `min_subjects` (1000) must be below `max_subjects` (10)"
        ]
    );
}

#[test]
fn effective_until_before_effective_from() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        &rule(
            "    effect: permit\n    effective_from: 2025-01-01\n    effective_until: 2024-01-01\n",
        ),
    );
    assert_eq!(
        errors,
        [
            "rules/jurisdictions/SG.yaml:10:22: `effective_until` (2024-01-01) must be after `effective_from` (2025-01-01)"
        ]
    );
}

#[test]
fn require_with_empty_any_of() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        &rule("    effect: require\n    any_of: []\n"),
    );
    assert_eq!(
        errors,
        [
            "rules/jurisdictions/SG.yaml:9:13: a `require` rule needs at least one mechanism in `any_of`"
        ]
    );
    let missing = errors_with("jurisdictions/SG.yaml", &rule("    effect: require\n"));
    assert_eq!(
        missing,
        [
            "rules/jurisdictions/SG.yaml:4:5: a `require` rule needs at least one mechanism in `any_of`"
        ]
    );
}

#[test]
fn bloc_covers_an_unknown_group_or_code() {
    let text = common::EU.replace("covers: [group:eu_eea]", "covers: [group:eu_eaa, QQ]");
    let errors = errors_with("jurisdictions/EU.yaml", &text);
    assert_eq!(
        errors,
        [
            "rules/jurisdictions/EU.yaml:4:10: unknown country group `eu_eaa`",
            "rules/jurisdictions/EU.yaml:4:24: `QQ` is neither an ISO 3166-1 alpha-2 country code nor `group:NAME`",
        ]
    );
    let no_covers = errors_with(
        "jurisdictions/EU.yaml",
        &common::EU.replace("covers: [group:eu_eea]\n", ""),
    );
    assert_eq!(
        no_covers,
        [
            "rules/jurisdictions/EU.yaml:2:15: `EU` is not an ISO 3166-1 country code; a bloc rule set must list the countries it `covers`"
        ]
    );
}

#[test]
fn group_with_unknown_member_and_wrong_file_name() {
    let errors = errors_with(
        "groups/concern.yaml",
        "name: concerns\nmembers: [CN, RU, SU]\n",
    );
    assert_eq!(
        errors,
        [
            "rules/groups/concern.yaml:1:7: group `concerns` must live in groups/concerns.yaml",
            "rules/groups/concern.yaml:2:19: `SU` is not an ISO 3166-1 alpha-2 country code",
            // The US fixture references group `concern`, which is now missing.
            "rules/jurisdictions/US.yaml:10:100: unknown country group `concern`",
            "rules/jurisdictions/US.yaml:16:64: unknown country group `concern`",
            "rules/jurisdictions/US.yaml:24:85: unknown country group `concern`",
        ]
    );
}

#[test]
fn vocabulary_id_defined_twice() {
    let errors = errors_with(
        "vocabulary/extra.yaml",
        "mechanisms:\n  consent: Again\n  handshake: New\n",
    );
    assert_eq!(
        errors,
        [
            "rules/vocabulary/extra.yaml:2:12: mechanism `consent` is defined twice (first in rules/vocabulary/core.yaml)"
        ]
    );
}

#[test]
fn one_file_with_several_errors_reports_all_of_them() {
    let text = concat!(
        "jurisdiction: SG\n",
        "name: Singapore\n",
        "rules:\n",
        "  - id: sg.a\n",
        "    title: A\n",
        "    citation: PDPA s.26\n",
        "    source: https://example.org\n",
        "    effect: require\n",
        "    any_of: [handshake]\n",
        "    when: {destinations_in: [XX], min_subjects: 5, max_subjects: 5}\n",
        "  - id: sg.a\n",
        "    title: B\n",
        "    citation: PDPA s.26\n",
        "    source: ftp://example.org\n",
        "    effect: permit\n",
        "    unless: [{}]\n",
    );
    let errors = errors_with("jurisdictions/SG.yaml", text);
    assert_eq!(
        errors,
        [
            "rules/jurisdictions/SG.yaml:9:14: unknown mechanism `handshake`",
            "rules/jurisdictions/SG.yaml:10:30: `XX` is neither an ISO 3166-1 alpha-2 country code nor `group:NAME`",
            "rules/jurisdictions/SG.yaml:10:49: `min_subjects` (5) must be below `max_subjects` (5)",
            "rules/jurisdictions/SG.yaml:11:9: duplicate rule id `sg.a` (first at rules[0])",
            "rules/jurisdictions/SG.yaml:14:13: `source` must be an http(s) URL of the legal text",
            "rules/jurisdictions/SG.yaml:16:14: an empty `unless` block would exempt every flow",
        ]
    );
}

#[test]
fn unknown_origin_codes_are_named_at_their_position() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        &rule(
            "    effect: permit\n    when: {origin_in: [QQ]}\n    unless:\n      - origin_not_in: [group:nowhere]\n",
        ),
    );
    assert_eq!(
        errors,
        [
            "rules/jurisdictions/SG.yaml:9:24: `QQ` is neither an ISO 3166-1 alpha-2 country code nor `group:NAME`",
            "rules/jurisdictions/SG.yaml:11:25: unknown country group `nowhere`"
        ]
    );
}

#[test]
fn a_time_zone_that_is_not_an_iana_name() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        "jurisdiction: SG\nname: Singapore\ntime_zone: Asia/Singapur\nrules:\n  - id: sg.a\n    title: A\n    citation: PDPA s.26\n    source: https://example.org\n    effect: permit\n",
    );
    assert_eq!(
        errors,
        [
            "rules/jurisdictions/SG.yaml:3:12: `Asia/Singapur` is not an IANA time zone name (such as `Asia/Shanghai`)"
        ]
    );
}

#[test]
fn an_implies_cycle_and_an_unknown_implied_mechanism() {
    let errors = errors_with(
        "vocabulary/extra.yaml",
        "mechanisms:\n  aa_clauses:\n    description: A\n    implies: [bb_clauses]\n  bb_clauses:\n    description: B\n    implies: [aa_clauses, nonexistent]\n  cc_clauses: {description: C, implies: [aa_clauses]}\n",
    );
    assert_eq!(
        errors,
        [
            "rules/vocabulary/extra.yaml:4:15: `implies` cycle: aa_clauses -> bb_clauses -> aa_clauses",
            "rules/vocabulary/extra.yaml:7:15: `implies` cycle: bb_clauses -> aa_clauses -> bb_clauses",
            "rules/vocabulary/extra.yaml:7:27: unknown mechanism `nonexistent`",
        ]
    );
}

#[test]
fn implies_is_only_for_mechanisms_and_not_on_itself() {
    let errors = errors_with(
        "vocabulary/extra.yaml",
        "purposes:\n  audit: {description: Audits, implies: [research]}\nmechanisms:\n  selfish: {description: S, implies: [selfish]}\n",
    );
    assert_eq!(
        errors,
        [
            "rules/vocabulary/extra.yaml:2:41: only mechanisms may declare `implies`",
            "rules/vocabulary/extra.yaml:4:39: `implies` cycle: selfish -> selfish",
        ]
    );
}

#[test]
fn group_dates_name_members_and_leave_after_joining() {
    let errors = errors_with(
        "groups/concern.yaml",
        "name: concern\nmembers: [CN, RU]\njoined: {CN: 2024-01-01, IR: 2024-01-01}\nleft: {CN: 2023-06-01}\n",
    );
    assert_eq!(
        errors,
        [
            "rules/groups/concern.yaml:3:30: `IR` is not in members (list it there too)",
            "rules/groups/concern.yaml:4:12: `CN` leaves on 2023-06-01, not after it joined",
        ]
    );
}

#[test]
fn a_reviewed_on_that_is_not_a_date() {
    let errors = errors_with(
        "jurisdictions/SG.yaml",
        "jurisdiction: SG\nname: Singapore\nreviewed_on: last spring\nrules: []\n",
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("rules/jurisdictions/SG.yaml:3:14: "),
        "{errors:?}"
    );
}
