//! The evaluation steps of DESIGN.md section 2, each tested so that it fails if that step
//! is wrong.

mod common;

use common::{flow, now, snapshot};
use xborder::engine::{FlowError, assess};
use xborder::model::{Assessment, Decision, Effect, Flow};

fn run(flow: &Flow) -> Assessment {
    assess(&snapshot(), flow, now(), false).expect("valid flow")
}

fn explain(flow: &Flow) -> Assessment {
    assess(&snapshot(), flow, now(), true).expect("valid flow")
}

fn matched(answer: &Assessment) -> Vec<(String, String)> {
    answer
        .matched_rules
        .iter()
        .map(|m| (m.rule.rule_id.to_string(), m.leg.to_string()))
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn unknown_input_is_rejected_with_every_field_path() {
    let bad = Flow {
        origin: "XX".into(),
        destination: "us".into(),
        transit: vec!["SG".into(), "ZZ".into()],
        data_categories: vec![
            "user.contact".into(),
            "user.name".into(),
            "user.shoe_size".into(),
        ],
        safeguards: vec!["pinky_promise".into()],
        purpose: "world_domination".into(),
        protection: "rot13".into(),
        exporter: [("secret_agent".to_owned(), true)].into(),
        importer: [("double_agent".to_owned(), false)].into(),
        data_subject_count: Some(1),
    };
    let Err(FlowError::Invalid(violations)) = assess(&snapshot(), &bad, now(), false) else {
        panic!("invalid flow accepted");
    };
    let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "flow.origin",
            "flow.transit[1]",
            "flow.data_categories[2]",
            "flow.safeguards[0]",
            "flow.purpose",
            "flow.protection",
            "flow.exporter.secret_agent",
            "flow.importer.double_agent"
        ]
    );
    assert_eq!(
        violations[0].message,
        "`XX` is not an ISO 3166-1 alpha-2 country code"
    );
    assert_eq!(
        violations[2].message,
        "unknown data category `user.shoe_size`"
    );
}

#[test]
fn a_flow_needs_a_category_and_lower_case_codes_are_upper_cased() {
    let Err(FlowError::Invalid(violations)) =
        assess(&snapshot(), &flow("CN", "US", &[], 1), now(), false)
    else {
        panic!("flow without categories accepted");
    };
    assert_eq!(violations[0].path, "flow.data_categories");
    let answer = run(&flow("cn", "us", &["user.contact"], 200_000));
    assert_eq!(matched(&answer), pairs(&[("cn.volume", "CN->US")]));
}

#[test]
fn a_transit_leg_is_assessed_under_the_transit_country_law() {
    let mut via_sg = flow("CN", "US", &["user.contact"], 10);
    via_sg.transit = vec!["SG".into()];
    let answer = run(&via_sg);
    assert_eq!(answer.decision, Decision::Conditional);
    assert_eq!(matched(&answer), pairs(&[("sg.transfer", "SG->US")]));
    assert_eq!(
        answer.unmet_requirements[0].rule.jurisdiction.as_ref(),
        "SG"
    );

    via_sg.safeguards = vec!["consent".into()];
    assert_eq!(run(&via_sg).decision, Decision::Permitted);
}

#[test]
fn the_origin_law_applies_to_onward_transfers() {
    let mut via_sg = flow("CN", "US", &["user.contact"], 200_000);
    via_sg.transit = vec!["SG".into()];
    via_sg.safeguards = vec!["consent".into()];
    let answer = run(&via_sg);
    assert_eq!(
        matched(&answer),
        pairs(&[
            ("cn.volume", "CN->SG"),
            ("sg.transfer", "SG->US"),
            ("cn.volume", "CN=>US")
        ])
    );
    assert!(answer.legs_without_regime.is_empty());
    assert_eq!(answer.decision, Decision::Conditional);
    let legs: Vec<String> = answer
        .unmet_requirements
        .iter()
        .map(|r| r.leg.to_string())
        .collect();
    assert_eq!(legs, ["CN->SG", "CN=>US"]);
}

#[test]
fn an_eu_member_is_assessed_under_the_eu_bloc_rules() {
    let to_us = run(&flow("FR", "US", &["user.contact"], 10));
    assert_eq!(to_us.decision, Decision::Conditional);
    assert_eq!(matched(&to_us), pairs(&[("eu.safeguards", "FR->US")]));
    assert_eq!(to_us.rule_set_versions[0].jurisdiction.as_ref(), "EU");

    let to_de = run(&flow("FR", "DE", &["user.contact"], 10));
    assert_eq!(to_de.decision, Decision::Permitted);
    assert_eq!(matched(&to_de), pairs(&[("eu.intra_eea", "FR->DE")]));
    assert_eq!(to_de.matched_rules[0].effect, Effect::Permit);

    let to_ch = run(&flow("IE", "CH", &["user.contact"], 10));
    assert_eq!(matched(&to_ch), pairs(&[("eu.adequacy", "IE->CH")]));
}

#[test]
fn unless_blocks_exempt_a_rule_and_explain_names_the_block() {
    let mut hr = flow("CN", "US", &["user.workplace"], 200_000);
    hr.purpose = "hr_management".into();
    let answer = explain(&hr);
    assert_eq!(answer.decision, Decision::Permitted);
    let volume = answer
        .trace
        .iter()
        .find(|t| t.rule.rule_id.as_ref() == "cn.volume")
        .expect("traced");
    assert_eq!(volume.failed, "unless[0]");

    let mut anonymized = flow("CN", "US", &["user.workplace"], 200_000);
    anonymized.protection = "anonymized".into();
    let answer = explain(&anonymized);
    let volume = answer
        .trace
        .iter()
        .find(|t| t.rule.rule_id.as_ref() == "cn.volume")
        .expect("traced");
    assert_eq!(volume.failed, "unless[1]");

    let mut pseudonymized = anonymized.clone();
    pseudonymized.protection = "pseudonymized".into();
    assert_eq!(run(&pseudonymized).decision, Decision::Conditional);
}

#[test]
fn explain_names_the_first_failing_condition_and_is_off_by_default() {
    let answer = explain(&flow("CN", "US", &["user.contact"], 99_999));
    let failed: Vec<(&str, &str)> = answer
        .trace
        .iter()
        .map(|t| (t.rule.rule_id.as_ref(), t.failed.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            ("cn.volume", "when.min_subjects"),
            ("cn.assessment", "when.min_subjects"),
            ("cn.ciio", "when.exporter"),
            ("cn.sensitive", "when.categories_any"),
            ("cn.future", "effective_from"),
            ("cn.ended", "effective_until"),
        ]
    );
    assert!(
        run(&flow("CN", "US", &["user.contact"], 99_999))
            .trace
            .is_empty()
    );
}

#[test]
fn subject_bounds_are_inclusive_below_and_exclusive_above() {
    let decisions: Vec<Vec<String>> = [99_999, 100_000, 999_999, 1_000_000]
        .iter()
        .map(|n| {
            let answer = run(&flow("CN", "US", &["user.contact"], *n));
            answer
                .matched_rules
                .iter()
                .map(|m| m.rule.rule_id.to_string())
                .collect()
        })
        .collect();
    assert_eq!(
        decisions,
        [
            vec![],
            vec!["cn.volume".to_owned()],
            vec!["cn.volume".to_owned()],
            vec!["cn.assessment".to_owned()]
        ]
    );
}

#[test]
fn categories_match_by_prefix_and_category_sets_expand() {
    let genetic = run(&flow("CN", "US", &["user.health_and_medical.genetic"], 5));
    assert_eq!(matched(&genetic), pairs(&[("cn.sensitive", "CN->US")]));
    let name = run(&flow("CN", "US", &["user.name"], 5));
    assert!(name.matched_rules.is_empty());
}

#[test]
fn rules_outside_their_effective_window_are_ignored() {
    let financial = flow("CN", "US", &["user.financial"], 5);
    assert_eq!(run(&financial).decision, Decision::Permitted);
    let in_2030 = "2030-01-01T00:00:00Z".parse().expect("timestamp");
    let later = assess(&snapshot(), &financial, in_2030, false).expect("valid");
    assert_eq!(later.decision, Decision::ReviewRequired);
    let last_day = "2029-12-31T23:59:59Z".parse().expect("timestamp");
    let before = assess(&snapshot(), &financial, last_day, false).expect("valid");
    assert_eq!(before.decision, Decision::Permitted);
    let in_2019 = "2019-12-31T12:00:00Z".parse().expect("timestamp");
    let old = assess(&snapshot(), &financial, in_2019, false).expect("valid");
    assert_eq!(
        old.decision,
        Decision::Prohibited,
        "cn.ended applied before 2020-01-01"
    );
}

#[test]
fn each_decision_level_and_the_most_severe_wins() {
    assert_eq!(
        run(&flow("US", "CN", &["user.contact"], 5)).decision,
        Decision::Permitted
    );
    assert_eq!(
        run(&flow("US", "CN", &["user.financial"], 10_001)).decision,
        Decision::Conditional
    );
    assert_eq!(
        run(&flow("US", "CN", &["org.government"], 1)).decision,
        Decision::ReviewRequired
    );
    assert_eq!(
        run(&flow("US", "CN", &["user.health_and_medical.genetic"], 101)).decision,
        Decision::Prohibited
    );
    assert_eq!(
        run(&flow("US", "CN", &["user.health_and_medical.genetic"], 100)).decision,
        Decision::Permitted
    );

    let everything = run(&flow(
        "US",
        "RU",
        &[
            "user.financial",
            "org.government",
            "user.health_and_medical.genetic",
        ],
        20_000,
    ));
    assert_eq!(everything.decision, Decision::Prohibited);
    assert_eq!(everything.matched_rules.len(), 3);
    assert!(
        everything
            .summary
            .starts_with("PROHIBITED: US -> RU: prohibited by us.genomic")
    );

    let review_over_conditional = run(&flow(
        "US",
        "RU",
        &["user.financial", "org.government"],
        20_000,
    ));
    assert_eq!(review_over_conditional.decision, Decision::ReviewRequired);
}

#[test]
fn a_leg_leaving_a_country_without_a_regime_needs_review() {
    let answer = run(&flow("BR", "US", &["user.contact"], 5));
    assert_eq!(answer.decision, Decision::ReviewRequired);
    assert_eq!(answer.legs_without_regime.len(), 1);
    assert_eq!(
        answer.summary,
        "REVIEW_REQUIRED: BR -> US: no known regime for data leaving BR"
    );

    let mut via_br = flow("SG", "US", &["user.contact"], 5);
    via_br.transit = vec!["BR".into()];
    via_br.safeguards = vec!["consent".into()];
    let answer = run(&via_br);
    assert_eq!(answer.decision, Decision::ReviewRequired);
    assert_eq!(answer.legs_without_regime[0].to_string(), "BR->US");

    let domestic = run(&flow("BR", "BR", &["user.contact"], 5));
    assert_eq!(domestic.decision, Decision::Permitted);
    assert_eq!(domestic.summary, "PERMITTED: BR -> BR: no cross-border leg");
}

#[test]
fn one_safeguard_of_any_of_meets_a_requirement_and_is_named() {
    let mut contract = flow("CN", "US", &["user.contact"], 200_000);
    contract.safeguards = vec!["consent".into(), "cn_pi_certification".into()];
    let answer = run(&contract);
    assert_eq!(answer.decision, Decision::Permitted);
    assert!(answer.unmet_requirements.is_empty());
    assert_eq!(answer.met_requirements.len(), 1);
    assert_eq!(
        answer.met_requirements[0].met_by.as_deref(),
        Some("cn_pi_certification")
    );
}

#[test]
fn obligations_of_every_matched_rule_are_collected() {
    let mut ciio = flow("CN", "US", &["user.contact"], 200_000);
    ciio.exporter = [("critical_infrastructure".to_owned(), true)].into();
    let answer = run(&ciio);
    let obligations: Vec<(String, String)> = answer
        .obligations
        .iter()
        .map(|o| (o.obligation.to_string(), o.rule.rule_id.to_string()))
        .collect();
    assert_eq!(
        obligations,
        pairs(&[("local_copy", "cn.ciio")]),
        "cn.volume is exempt for CIIOs"
    );

    let volume = run(&flow("CN", "US", &["user.contact"], 200_000));
    let ids: Vec<&str> = volume
        .obligations
        .iter()
        .map(|o| o.obligation.as_ref())
        .collect();
    assert_eq!(ids, ["separate_consent", "impact_assessment"]);
}

#[test]
fn answers_record_revision_and_rule_set_versions() {
    let mut via = flow("FR", "US", &["user.contact"], 5);
    via.transit = vec!["SG".into()];
    let answer = run(&via);
    assert_eq!(answer.revision, 7);
    let versions: Vec<(String, u64)> = answer
        .rule_set_versions
        .iter()
        .map(|v| (v.jurisdiction.to_string(), v.version))
        .collect();
    assert_eq!(versions, [("EU".to_owned(), 1), ("SG".to_owned(), 1)]);
}

#[test]
fn the_same_input_gives_byte_identical_answers() {
    let mut complex = flow(
        "CN",
        "RU",
        &["user.financial", "user.contact", "org.government"],
        500_000,
    );
    complex.transit = vec!["SG".into(), "US".into()];
    let first =
        serde_saphyr::to_string(&assess(&snapshot(), &complex, now(), true).expect("valid"))
            .expect("yaml");
    let second =
        serde_saphyr::to_string(&assess(&snapshot(), &complex, now(), true).expect("valid"))
            .expect("yaml");
    assert_eq!(first, second);
    assert!(
        first.contains("onward: true"),
        "onward leg serialised: {first}"
    );
}

#[test]
fn origin_conditions_look_at_where_the_route_starts() {
    // China's Provisions Art. 4 shape: data collected abroad and sent on from China is
    // exempt; data collected in China is not.
    let mut files = common::files();
    files.push(xborder::rules_io::RuleFile {
        path: "jurisdictions/SG.yaml".into(),
        text: "jurisdiction: SG\nname: Singapore (origin test)\nrules:\n  - id: sg.export\n    title: Exports need a contract\n    citation: Test Act s.1\n    source: https://example.org/sg\n    effect: require\n    any_of: [consent]\n    when: {categories_any: [user]}\n    unless:\n      - origin_not_in: [SG]\n  - id: sg.from_concern\n    title: Data first collected in a country of concern\n    citation: Test Act s.2\n    source: https://example.org/sg\n    effect: review\n    when: {origin_in: [group:concern]}\n".into(),
    });
    files.retain(|file| file.path != "jurisdictions/SG.yaml" || file.text.contains("origin test"));
    let snapshot = common::snapshot_of(&files);
    let assess = |flow: &Flow| {
        xborder::engine::assess(&snapshot, flow, common::now(), false).expect("valid flow")
    };
    let collected_here = common::flow("SG", "US", &["user.contact"], 10);
    assert_eq!(assess(&collected_here).decision, Decision::Conditional);
    let mut passing_through = common::flow("JP", "US", &["user.contact"], 10);
    passing_through.transit = vec!["SG".into()];
    let answer = assess(&passing_through);
    assert!(
        !answer
            .matched_rules
            .iter()
            .any(|rule| &*rule.rule.rule_id == "sg.export"),
        "collected abroad: exempt on the SG->US leg: {}",
        answer.summary
    );
    let mut from_concern = common::flow("CN", "US", &["user.contact"], 10);
    from_concern.transit = vec!["SG".into()];
    assert!(
        assess(&from_concern)
            .matched_rules
            .iter()
            .any(|rule| &*rule.rule.rule_id == "sg.from_concern")
    );
}

#[test]
fn importer_facts_decide_partial_adequacy_and_a_private_business_is_the_default() {
    let mut files = common::files();
    files.retain(|file| file.path != "jurisdictions/SG.yaml");
    files.push(xborder::rules_io::RuleFile {
        path: "jurisdictions/SG.yaml".into(),
        text: "jurisdiction: SG\nname: Singapore (importer test)\nrules:\n  - id: sg.public_bodies\n    title: Transfers to foreign public authorities need a contract\n    citation: Test Act s.3\n    source: https://example.org/sg\n    effect: require\n    any_of: [consent]\n    when: {categories_any: [user], importer: {public_authority: true}}\n".into(),
    });
    let snapshot = common::snapshot_of(&files);
    let decide = |flow: &Flow| {
        xborder::engine::assess(&snapshot, flow, now(), false)
            .expect("valid flow")
            .decision
    };
    let mut flow = common::flow("SG", "JP", &["user.contact"], 10);
    assert_eq!(
        decide(&flow),
        Decision::Permitted,
        "unset: a private business"
    );
    flow.importer = [("public_authority".to_owned(), true)].into();
    assert_eq!(decide(&flow), Decision::Conditional);
}

#[test]
fn effective_dates_are_local_midnights_of_the_rule_sets_time_zone() {
    let mut files = common::files();
    files.retain(|file| file.path != "jurisdictions/SG.yaml");
    files.push(xborder::rules_io::RuleFile {
        path: "jurisdictions/SG.yaml".into(),
        text: "jurisdiction: SG\nname: Singapore (time zone test)\ntime_zone: Asia/Shanghai\nrules:\n  - id: sg.new_law\n    title: A law from 1 January 2030, Beijing time\n    citation: Test Act s.4\n    source: https://example.org/sg\n    effect: review\n    when: {categories_any: [user]}\n    effective_from: 2030-01-01\n".into(),
    });
    let snapshot = common::snapshot_of(&files);
    let decide = |at: &str| {
        let flow = common::flow("SG", "JP", &["user.contact"], 10);
        xborder::engine::assess(&snapshot, &flow, at.parse().expect("time"), false)
            .expect("valid flow")
            .decision
    };
    assert_eq!(decide("2029-12-31T15:59:59Z"), Decision::Permitted);
    assert_eq!(
        decide("2029-12-31T16:00:00Z"),
        Decision::ReviewRequired,
        "00:00 in Beijing"
    );
    let boundary = xborder::engine::Snapshot::from_library(
        &xborder::rules_io::load(&files, "").expect("library"),
        1,
        "2029-06-01T00:00:00Z".parse().expect("time"),
    )
    .next_boundary;
    assert_eq!(
        boundary,
        Some("2029-12-31T16:00:00Z".parse().expect("time")),
        "the scheduler wakes at the local midnight"
    );
}

/// The fixture with `path` replaced (or added) by `text`.
fn with_file(path: &str, text: &str) -> Vec<xborder::rules_io::RuleFile> {
    let mut files = common::files();
    files.retain(|file| file.path != path);
    files.push(xborder::rules_io::RuleFile {
        path: path.into(),
        text: text.into(),
    });
    files
}

#[test]
fn a_mechanism_counts_as_every_mechanism_it_implies_transitively() {
    let files = with_file(
        "vocabulary/extra.yaml",
        "mechanisms:\n  group_rules: {description: Group-wide rules, implies: [sg_chain]}\n  sg_chain: {description: A law-specific name for them, implies: [cbpr_certification]}\n",
    );
    let snapshot = common::snapshot_of(&files);
    let answer = |safeguards: &[&str]| {
        let mut flow = common::flow("SG", "JP", &["user.contact"], 10);
        flow.safeguards = safeguards.iter().map(|s| (*s).to_owned()).collect();
        assess(&snapshot, &flow, now(), false).expect("valid flow")
    };
    assert_eq!(answer(&[]).decision, Decision::Conditional);
    let stated_once = answer(&["group_rules"]);
    assert_eq!(stated_once.decision, Decision::Permitted);
    let met: Vec<&str> = stated_once
        .met_requirements
        .iter()
        .filter_map(|met| met.met_by.as_deref())
        .collect();
    assert_eq!(met, ["cbpr_certification"], "met by the implied mechanism");
    assert_eq!(
        answer(&["sg_chain"]).decision,
        Decision::Permitted,
        "an intermediate mechanism implies what it implies"
    );
}

#[test]
fn a_group_member_counts_from_the_day_it_joined_until_the_day_it_left() {
    let files = with_file(
        "groups/concern.yaml",
        "name: concern\nmembers: [CN, RU, IR]\njoined: {RU: 2030-01-01}\nleft: {IR: 2029-01-01}\n",
    );
    let snapshot = common::snapshot_of(&files);
    let decide = |destination: &str, at: &str| {
        let flow = common::flow("US", destination, &["org.government"], 1);
        assess(&snapshot, &flow, at.parse().expect("time"), false)
            .expect("valid flow")
            .decision
    };
    assert_eq!(
        decide("CN", "2029-12-31T23:59:59Z"),
        Decision::ReviewRequired
    );
    assert_eq!(decide("RU", "2029-12-31T23:59:59Z"), Decision::Permitted);
    assert_eq!(
        decide("RU", "2030-01-01T00:00:00Z"),
        Decision::ReviewRequired
    );
    assert_eq!(
        decide("IR", "2028-12-31T23:59:59Z"),
        Decision::ReviewRequired
    );
    assert_eq!(decide("IR", "2029-01-01T00:00:00Z"), Decision::Permitted);
    let library = xborder::rules_io::load(&files, "").expect("library");
    let boundary = |as_of: &str| {
        xborder::engine::Snapshot::from_library(&library, 1, as_of.parse().expect("time"))
            .next_boundary
    };
    assert_eq!(
        boundary("2028-06-01T00:00:00Z"),
        Some("2029-01-01T00:00:00Z".parse().expect("time")),
        "a member leaving is an effective-date boundary"
    );
    assert_eq!(
        boundary("2029-06-01T00:00:00Z"),
        Some("2030-01-01T00:00:00Z".parse().expect("time")),
        "a member joining is one too"
    );
}

#[test]
fn a_bloc_governs_a_members_data_from_the_day_it_joined() {
    let files = with_file(
        "groups/eu_eea.yaml",
        "name: eu_eea\nmembers: [FR, DE, IE]\njoined: {IE: 2030-01-01}\n",
    );
    let snapshot = common::snapshot_of(&files);
    let answer = |at: &str| {
        let flow = common::flow("IE", "US", &["user.contact"], 10);
        assess(&snapshot, &flow, at.parse().expect("time"), false).expect("valid flow")
    };
    let before = answer("2029-12-31T23:59:59Z");
    assert_eq!(before.decision, Decision::ReviewRequired, "no regime yet");
    assert!(before.rule_set_versions.is_empty(), "{before:?}");
    let after = answer("2030-01-01T00:00:00Z");
    assert_eq!(after.decision, Decision::Conditional);
    assert_eq!(matched(&after), pairs(&[("eu.safeguards", "IE->US")]));
}
