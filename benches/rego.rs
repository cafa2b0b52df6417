//! Side by side with a general-purpose policy engine: the CN, EU and US rules of the
//! library, evaluated by xborder's engine and by regorus (Rego) on the same 1,000 direct
//! flows. Both must give the same decisions first; then both are timed.
//!
//! `cargo bench --bench rego`

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use xborder::engine::{Snapshot, decide};
use xborder::model::rule::{GROUP_PREFIX, SET_PREFIX};
use xborder::model::{Conditions, Flow, Library, RuleSet};
use xborder::rules_io;

const JURISDICTIONS: [&str; 3] = ["CN", "EU", "US"];
const TODAY: &str = "2026-06-01";

fn library() -> Library {
    let mut library = match rules_io::embedded() {
        Ok(library) => library,
        Err(error) => panic!("embedded rule library is invalid:\n{error}"),
    };
    library
        .rule_sets
        .retain(|jurisdiction, _| JURISDICTIONS.contains(&jurisdiction.as_str()));
    library
}

/// Codes of `places` on `TODAY`, with `group:NAME` expanded to the members that count then.
fn places(library: &Library, places: &[String]) -> Vec<String> {
    let today: jiff::civil::Date = TODAY.parse().expect("date");
    places
        .iter()
        .flat_map(|place| match place.strip_prefix(GROUP_PREFIX) {
            Some(group) => library
                .groups
                .get(group)
                .map(|g| {
                    g.members
                        .iter()
                        .filter(|code| {
                            g.joined.get(*code).is_none_or(|from| today >= *from)
                                && g.left.get(*code).is_none_or(|until| today < *until)
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            None => vec![place.clone()],
        })
        .collect()
}

fn conditions(library: &Library, rule_set: &RuleSet, c: &Conditions) -> Value {
    let mut out = serde_json::Map::new();
    if !c.destinations_in.is_empty() {
        out.insert(
            "destinations_in".into(),
            json!(places(library, &c.destinations_in)),
        );
    }
    if !c.destinations_not_in.is_empty() {
        out.insert(
            "destinations_not_in".into(),
            json!(places(library, &c.destinations_not_in)),
        );
    }
    if !c.categories_any.is_empty() {
        let keys: Vec<String> = c
            .categories_any
            .iter()
            .flat_map(|key| match key.strip_prefix(SET_PREFIX) {
                Some(set) => rule_set.category_sets.get(set).cloned().unwrap_or_default(),
                None => vec![key.clone()],
            })
            .collect();
        out.insert("categories_any".into(), json!(keys));
    }
    if let Some(min) = c.min_subjects {
        out.insert("min_subjects".into(), json!(min));
    }
    if let Some(max) = c.max_subjects {
        out.insert("max_subjects".into(), json!(max));
    }
    if !c.purposes_any.is_empty() {
        out.insert("purposes_any".into(), json!(c.purposes_any));
    }
    if !c.protection_any.is_empty() {
        out.insert("protection_any".into(), json!(c.protection_any));
    }
    if !c.exporter.is_empty() {
        out.insert("exporter".into(), json!(c.exporter));
    }
    if !c.importer.is_empty() {
        out.insert("importer".into(), json!(c.importer));
    }
    for (name, list) in [
        ("origin_in", &c.origin_in),
        ("origin_not_in", &c.origin_not_in),
    ] {
        if !list.is_empty() {
            out.insert(name.into(), json!(places(library, list)));
        }
    }
    Value::Object(out)
}

/// The rule sets as Rego data: groups and category sets expanded.
fn rego_data(library: &Library) -> Value {
    let rule_sets: Vec<Value> = library
        .rule_sets
        .values()
        .map(|rule_set| {
            let mut applies_to = places(library, &rule_set.covers);
            applies_to.push(rule_set.jurisdiction.clone());
            let rules: Vec<Value> = rule_set
                .rules
                .iter()
                .map(|rule| {
                    let mut value = json!({
                        "id": rule.id,
                        "effect": format!("{:?}", rule.effect).to_lowercase(),
                        "any_of": rule.any_of,
                        "when": conditions(library, rule_set, &rule.when),
                        "unless": rule.unless.iter().map(|u| conditions(library, rule_set, u)).collect::<Vec<_>>(),
                    });
                    if let Some(from) = rule.effective_from {
                        value["effective_from"] = json!(from.to_string());
                    }
                    if let Some(until) = rule.effective_until {
                        value["effective_until"] = json!(until.to_string());
                    }
                    value
                })
                .collect();
            json!({"jurisdiction": rule_set.jurisdiction, "applies_to": applies_to, "rules": rules})
        })
        .collect();
    // Each mechanism with everything it implies, transitively (the vocabulary's `implies`).
    let implied: serde_json::Map<String, Value> = library
        .vocabulary
        .mechanisms
        .keys()
        .map(|start| {
            let mut all = vec![start.clone()];
            let mut index = 0;
            while let Some(next) = all.get(index).cloned() {
                for implied in library.vocabulary.mechanisms[&next].implies() {
                    if !all.contains(implied) {
                        all.push(implied.clone());
                    }
                }
                index += 1;
            }
            (start.clone(), json!(all))
        })
        .collect();
    json!({ "rule_sets": rule_sets, "implied": implied })
}

/// 1,000 direct flows from CN, FR, DE and US, across categories, volumes (both sides of the
/// thresholds), safeguards, purposes and protection states; a fixed sequence.
fn flows() -> Vec<Flow> {
    let origins = ["CN", "FR", "DE", "US"];
    let destinations = ["US", "CN", "JP", "IN", "RU", "CH", "HK", "SG", "DE", "BR"];
    let categories = [
        "user.contact",
        "user.financial",
        "user.biometric",
        "user.health_and_medical.genetic",
        "user.location.precise",
        "org.government",
        "org.important_data",
        "user.workplace",
        "system.operations",
    ];
    let subjects = [
        5, 101, 1_001, 9_999, 10_000, 10_001, 99_999, 100_000, 100_001, 999_999, 1_000_000,
        5_000_000,
    ];
    let safeguards = [
        "cn_standard_contract",
        "eu_scc",
        "dpf_certification",
        "cisa_security_requirements",
        "bcr",
    ];
    // Every flow states its purpose: the engine rejects a flow whose answer depends on an
    // unstated one, which the Rego port does not model.
    let purposes = [
        "research",
        "hr_management",
        "contract_performance",
        "data_brokerage",
        "marketing",
    ];
    let protections = ["", "anonymized", "pseudonymized", "encrypted_exporter_keys"];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % n
    };
    (0..1_000)
        .map(|_| Flow {
            origin: origins[next(origins.len())].into(),
            destination: destinations[next(destinations.len())].into(),
            data_categories: (0..1 + next(2))
                .map(|_| categories[next(categories.len())].to_owned())
                .collect(),
            data_subject_count: Some(subjects[next(subjects.len())]),
            safeguards: (0..next(3))
                .map(|_| safeguards[next(safeguards.len())].to_owned())
                .collect(),
            purpose: purposes[next(purposes.len())].into(),
            protection: protections[next(protections.len())].into(),
            exporter: BTreeMap::from([("critical_infrastructure".to_owned(), next(5) == 0)]),
            ..Flow::default()
        })
        .collect()
}

fn rego_input(flow: &Flow) -> regorus::Value {
    let input = json!({
        "origin": flow.origin, "destination": flow.destination, "data_categories": flow.data_categories,
        "data_subject_count": flow.data_subject_count, "safeguards": flow.safeguards, "purpose": flow.purpose,
        "protection": flow.protection, "exporter": flow.exporter, "importer": flow.importer, "today": TODAY,
    });
    regorus::Value::from_json_str(&input.to_string()).expect("input")
}

fn side_by_side(c: &mut Criterion) {
    let library = library();
    let snapshot = Snapshot::from_library(&library, 1, jiff::Timestamp::UNIX_EPOCH);
    let at: jiff::Timestamp = format!("{TODAY}T12:00:00Z").parse().expect("time");
    let mut engine = regorus::Engine::new();
    engine
        .add_policy(
            "xborder.rego".into(),
            include_str!("rego/xborder.rego").into(),
        )
        .expect("policy");
    engine
        .add_data(regorus::Value::from_json_str(&rego_data(&library).to_string()).expect("data"))
        .expect("data");
    let policy = engine
        .compile_with_entrypoint(&"data.xborder.decision".into())
        .expect("compile");
    let flows = flows();
    let inputs: Vec<regorus::Value> = flows.iter().map(rego_input).collect();

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (flow, input) in flows.iter().zip(&inputs) {
        let ours = decide(&snapshot, flow, at).expect("valid flow").as_str();
        let theirs = policy
            .eval_with_input(input.clone())
            .expect("rego evaluation");
        assert_eq!(
            theirs.as_string().map(|s| s.as_ref()).ok(),
            Some(ours),
            "decisions differ for {flow:?}"
        );
        *counts.entry(ours).or_default() += 1;
    }
    println!("1000 flows, same decisions from both engines: {counts:?}");

    let mut group = c.benchmark_group("1000_flows");
    group.sample_size(20);
    group.bench_function("xborder_decide", |b| {
        b.iter(|| {
            for flow in &flows {
                black_box(decide(&snapshot, flow, at).ok());
            }
        })
    });
    group.bench_function("xborder_assess", |b| {
        b.iter(|| {
            for flow in &flows {
                black_box(xborder::engine::assess(&snapshot, flow, at, false).ok());
            }
        })
    });
    group.bench_function("regorus", |b| {
        b.iter(|| {
            for input in &inputs {
                black_box(policy.eval_with_input(input.clone()).ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, side_by_side);
criterion_main!(benches);
