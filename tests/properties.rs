//! Properties of the engine over generated flows: safeguards only help, a matching
//! `prohibit` always wins, and answers do not depend on input order.

mod common;

use proptest::prelude::*;
use proptest::sample::subsequence;
use xborder::engine::assess;
use xborder::model::{Decision, Effect, Flow};

const PLACES: &[&str] = &["CN", "FR", "DE", "CH", "SG", "US", "RU", "BR", "JP"];
const CATEGORIES: &[&str] = &[
    "user.contact",
    "user.financial",
    "user.biometric",
    "user.health_and_medical.genetic",
    "org.government",
    "user.workplace",
    "system.operations",
];
const SAFEGUARDS: &[&str] = &[
    "consent",
    "eu_scc",
    "bcr",
    "cn_standard_contract",
    "cn_security_assessment",
    "cisa_security_requirements",
];
const PURPOSES: &[&str] = &["", "hr_management", "marketing", "contract_performance"];
const PROTECTIONS: &[&str] = &[
    "",
    "none",
    "anonymized",
    "pseudonymized",
    "encrypted_in_use",
];

fn strings(items: Vec<&str>) -> Vec<String> {
    items.into_iter().map(str::to_owned).collect()
}

prop_compose! {
    fn flows()(
        origin in prop::sample::select(PLACES),
        destination in prop::sample::select(PLACES),
        transit in prop::collection::vec(prop::sample::select(PLACES), 0..3),
        categories in subsequence(CATEGORIES, 1..=CATEGORIES.len()),
        subjects in prop_oneof![0u64..200, 99_990u64..100_010, 999_990u64..1_000_010, 0u64..5_000_000],
        safeguards in subsequence(SAFEGUARDS, 0..=SAFEGUARDS.len()),
        purpose in prop::sample::select(PURPOSES),
        protection in prop::sample::select(PROTECTIONS),
        critical in any::<bool>(),
        public_authority in any::<bool>(),
    ) -> Flow {
        Flow {
            origin: origin.into(),
            destination: destination.into(),
            transit: strings(transit),
            data_categories: strings(categories),
            data_subject_count: Some(subjects),
            safeguards: strings(safeguards),
            purpose: purpose.into(),
            protection: protection.into(),
            exporter: [("critical_infrastructure".to_owned(), critical)].into(),
            importer: [("public_authority".to_owned(), public_authority)].into(),
        }
    }
}

proptest! {
    #[test]
    fn adding_a_safeguard_never_makes_a_decision_more_severe(
        flow in flows(),
        extra in prop::sample::select(SAFEGUARDS),
    ) {
        let snapshot = common::snapshot();
        let before = assess(&snapshot, &flow, common::now(), false).expect("valid flow");
        let mut safer = flow.clone();
        safer.safeguards.push(extra.to_owned());
        let after = assess(&snapshot, &safer, common::now(), false).expect("valid flow");
        prop_assert!(after.decision <= before.decision, "{} then {}", before.summary, after.summary);
        prop_assert!(after.unmet_requirements.len() <= before.unmet_requirements.len());
    }

    #[test]
    fn a_matching_prohibit_always_yields_prohibited(flow in flows()) {
        let answer = assess(&common::snapshot(), &flow, common::now(), false).expect("valid flow");
        let prohibit_matched = answer.matched_rules.iter().any(|rule| rule.effect == Effect::Prohibit);
        prop_assert_eq!(prohibit_matched, answer.decision == Decision::Prohibited);
    }

    #[test]
    fn bulk_genomic_data_to_a_country_of_concern_is_prohibited_whatever_else_is_true(
        mut flow in flows(),
        subjects in 101u64..10_000_000,
    ) {
        flow.origin = "US".into();
        flow.transit.clear();
        flow.destination = "CN".into();
        flow.data_categories.push("user.health_and_medical.genetic".into());
        flow.data_subject_count = Some(subjects);
        let answer = assess(&common::snapshot(), &flow, common::now(), false).expect("valid flow");
        prop_assert_eq!(answer.decision, Decision::Prohibited);
    }

    #[test]
    fn the_answer_does_not_depend_on_the_order_of_categories_or_safeguards(
        flow in flows(),
        seed in any::<u64>(),
    ) {
        let snapshot = common::snapshot();
        let mut shuffled = flow.clone();
        rotate(&mut shuffled.data_categories, seed);
        rotate(&mut shuffled.safeguards, seed / 7);
        shuffled.data_categories.reverse();
        let first = assess(&snapshot, &flow, common::now(), true).expect("valid flow");
        let second = assess(&snapshot, &shuffled, common::now(), true).expect("valid flow");
        prop_assert_eq!(first, second);
    }

    #[test]
    fn the_answer_does_not_depend_on_the_order_of_rule_files(
        flow in flows(),
        seed in any::<u64>(),
    ) {
        let mut files = common::files();
        rotate(&mut files, seed);
        files.reverse();
        let reordered = common::snapshot_of(&files);
        let first = assess(&common::snapshot(), &flow, common::now(), true).expect("valid flow");
        let second = assess(&reordered, &flow, common::now(), true).expect("valid flow");
        prop_assert_eq!(first, second);
    }
}

proptest! {
    /// Against the real library: an unstated purpose (or, for non-personal data, an
    /// unstated count) either gets an error naming the field or an answer at least as
    /// severe as the answer for every value the fact could have.
    #[test]
    fn an_unstated_fact_never_makes_an_answer_less_severe(
        mut flow in flows(),
        non_personal in any::<bool>(),
    ) {
        let library = xborder::rules_io::embedded().expect("library");
        let snapshot = xborder::engine::Snapshot::from_library(&library, 1, common::now());
        if non_personal {
            flow.data_categories.retain(|category| !category.starts_with("user"));
            if flow.data_categories.is_empty() {
                flow.data_categories.push("org.government".into());
            }
        }
        let purposes: Vec<String> = library.vocabulary.purposes.keys().cloned().collect();
        let mut unstated = flow.clone();
        unstated.purpose = String::new();
        if non_personal {
            unstated.data_subject_count = None;
        }
        let Ok(answer) = assess(&snapshot, &unstated, common::now(), false) else {
            return Ok(());
        };
        for purpose in &purposes {
            let mut stated = flow.clone();
            stated.purpose.clone_from(purpose);
            let known = assess(&snapshot, &stated, common::now(), false).expect("valid flow");
            prop_assert!(
                answer.decision >= known.decision,
                "unstated: {}; {purpose}: {}",
                answer.summary,
                known.summary
            );
        }
    }
}

fn rotate<T>(items: &mut [T], seed: u64) {
    if !items.is_empty() {
        let by = (seed % items.len() as u64) as usize;
        items.rotate_left(by);
    }
}
