//! A small rule library for engine and property tests: a few rules per evaluation feature,
//! independent of the real library's legal content.
#![allow(dead_code)] // each test crate uses its own part of this module

use jiff::Timestamp;
use xborder::engine::Snapshot;
use xborder::model::Flow;
use xborder::rules_io::{self, RuleFile};

pub const GROUPS: &[(&str, &str)] = &[
    (
        "groups/eu_eea.yaml",
        "name: eu_eea\nmembers: [FR, DE, IE]\n",
    ),
    (
        "groups/eu_adequate.yaml",
        "name: eu_adequate\nmembers: [CH, JP]\n",
    ),
    ("groups/concern.yaml", "name: concern\nmembers: [CN, RU]\n"),
];

pub const CN: &str = r#"
jurisdiction: CN
name: China (test)
category_sets:
  sensitive: [user.biometric, user.health_and_medical]
rules:
  - id: cn.volume
    title: Contract or certification from 100,000 to under 1,000,000 individuals
    citation: Provisions (2024) Art. 8
    source: https://example.org/cn
    effect: require
    any_of: [cn_standard_contract, cn_pi_certification, cn_security_assessment]
    obligations: [separate_consent, impact_assessment]
    when: {categories_any: [user], min_subjects: 100000, max_subjects: 1000000}
    unless:
      - purposes_any: [hr_management, contract_performance]
      - protection_any: [anonymized]
      - exporter: {critical_infrastructure: true}
  - id: cn.assessment
    title: Security assessment from 1,000,000 individuals or for sensitive data from 10,000
    citation: Provisions (2024) Art. 7
    source: https://example.org/cn
    effect: require
    any_of: [cn_security_assessment]
    when: {categories_any: [user], min_subjects: 1000000}
  - id: cn.ciio
    title: CIIOs need the security assessment
    citation: PIPL Art. 40
    source: https://example.org/cn
    effect: require
    any_of: [cn_security_assessment]
    obligations: [local_copy]
    when: {categories_any: [user], exporter: {critical_infrastructure: true}}
  - id: cn.sensitive
    title: Sensitive data
    citation: PIPL Art. 28
    source: https://example.org/cn
    effect: require
    any_of: [cn_standard_contract]
    when: {categories_any: [set:sensitive]}
  - id: cn.future
    title: A rule that starts in 2030
    citation: Future Act Art. 1
    source: https://example.org/cn
    effect: review
    when: {categories_any: [user.financial]}
    effective_from: 2030-01-01
  - id: cn.ended
    title: A rule that ended in 2020
    citation: Old Act Art. 1
    source: https://example.org/cn
    effect: prohibit
    when: {categories_any: [user.financial]}
    effective_until: 2020-01-01
"#;

pub const EU: &str = r#"
jurisdiction: EU
name: EU (test)
covers: [group:eu_eea]
rules:
  - id: eu.intra_eea
    title: Free flow inside the EEA
    citation: GDPR Art. 1(3)
    source: https://example.org/eu
    effect: permit
    when: {destinations_in: [group:eu_eea]}
  - id: eu.adequacy
    title: Adequate destinations
    citation: GDPR Art. 45
    source: https://example.org/eu
    effect: permit
    when: {destinations_in: [group:eu_adequate]}
  - id: eu.safeguards
    title: Other destinations need safeguards
    citation: GDPR Art. 46
    source: https://example.org/eu
    effect: require
    any_of: [eu_scc, bcr]
    obligations: [impact_assessment]
    when: {categories_any: [user], destinations_not_in: [group:eu_eea, group:eu_adequate]}
    unless:
      - protection_any: [anonymized]
"#;

pub const SG: &str = r#"
jurisdiction: SG
name: Singapore (test)
rules:
  - id: sg.transfer
    title: Comparable protection
    citation: PDPA s.26
    source: https://example.org/sg
    effect: require
    any_of: [consent, cbpr_certification]
    when: {categories_any: [user]}
"#;

pub const US: &str = r#"
jurisdiction: US
name: United States (test)
rules:
  - id: us.genomic
    title: Bulk genomic data to countries of concern
    citation: 28 CFR 202.303
    source: https://example.org/us
    effect: prohibit
    when: {categories_any: [user.health_and_medical.genetic], min_subjects: 101, destinations_in: [group:concern]}
  - id: us.government
    title: Government-related data to countries of concern
    citation: 28 CFR 202.222
    source: https://example.org/us
    effect: review
    when: {categories_any: [org.government], destinations_in: [group:concern]}
  - id: us.vendor
    title: Restricted transactions
    citation: 28 CFR 202.401
    source: https://example.org/us
    effect: require
    any_of: [cisa_security_requirements]
    obligations: [record_transfer]
    when: {categories_any: [user.financial], min_subjects: 10001, destinations_in: [group:concern]}
"#;

/// The fixture's files, in a fixed order.
pub fn files() -> Vec<RuleFile> {
    let vocabulary = include_str!("../../deploy/rules/vocabulary/core.yaml");
    let mut files = vec![RuleFile {
        path: "vocabulary/core.yaml".into(),
        text: vocabulary.into(),
    }];
    for (path, text) in GROUPS {
        files.push(RuleFile {
            path: (*path).into(),
            text: (*text).into(),
        });
    }
    for (code, text) in [("CN", CN), ("EU", EU), ("SG", SG), ("US", US)] {
        files.push(RuleFile {
            path: format!("jurisdictions/{code}.yaml"),
            text: text.into(),
        });
    }
    files
}

pub fn snapshot_of(files: &[RuleFile]) -> Snapshot {
    let library = rules_io::load(files, "").unwrap_or_else(|errors| {
        panic!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    Snapshot::from_library(&library, 7, Timestamp::UNIX_EPOCH)
}

pub fn snapshot() -> Snapshot {
    snapshot_of(&files())
}

pub fn now() -> Timestamp {
    "2026-06-01T00:00:00Z".parse().expect("valid timestamp")
}

/// A flow from `origin` to `destination` with the given categories and subject count.
pub fn flow(origin: &str, destination: &str, categories: &[&str], subjects: u64) -> Flow {
    Flow {
        origin: origin.into(),
        destination: destination.into(),
        data_categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        data_subject_count: Some(subjects),
        ..Flow::default()
    }
}

pub mod etcd;
pub mod process;
pub mod server;
