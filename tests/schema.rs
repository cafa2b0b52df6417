//! The JSON Schemas in `schemas/` are the ones the model types generate (regenerate with
//! `cargo run --bin xborderd -- schema schemas`), and every rule and scenario file of the
//! repository validates against them, so an editor using them flags exactly what the loader
//! would reject by shape, and nothing it accepts.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schemas").join(name))
        .unwrap_or_else(|error| panic!("schemas/{name}: {error}"));
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).unwrap_or_else(|error| panic!("schemas/{name}: {error}"))
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// Every problem the schema finds in the files of `dir`.
fn problems(validator: &jsonschema::Validator, dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for path in yaml_files(dir) {
        let text = std::fs::read_to_string(&path).expect("readable");
        let document: Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        for error in validator.iter_errors(&document) {
            problems.push(format!(
                "{}: {} at {}",
                path.display(),
                error,
                error.instance_path()
            ));
        }
    }
    problems
}

#[test]
fn the_committed_schemas_are_the_generated_ones() {
    for (name, generated) in xborder::schema::all() {
        let committed =
            std::fs::read_to_string(root().join("schemas").join(name)).unwrap_or_default();
        assert!(
            committed == generated,
            "schemas/{name} is stale: run `cargo run --bin xborderd -- schema schemas`"
        );
    }
}

#[test]
fn every_rule_and_scenario_file_validates_against_its_schema() {
    let rules = root().join("deploy/rules");
    let mut found = Vec::new();
    for (schema_name, dir) in [
        ("rule-set.schema.json", rules.join("jurisdictions")),
        ("country-group.schema.json", rules.join("groups")),
        ("vocabulary.schema.json", rules.join("vocabulary")),
        ("scenarios.schema.json", root().join("tests/scenarios")),
    ] {
        found.extend(problems(&schema(schema_name), &dir));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_schema_rejects_what_the_loader_rejects_by_shape() {
    let rule_set = schema("rule-set.schema.json");
    let document: Value = serde_saphyr::from_str(
        "jurisdiction: SG\nname: S\nrules:\n  - id: a\n    title: A\n    citation: C\n    source: https://example.org\n    effect: allow\n    colour: blue\n",
    )
    .expect("yaml");
    let paths: Vec<String> = rule_set
        .iter_errors(&document)
        .map(|error| error.instance_path().to_string())
        .collect();
    assert!(paths.contains(&"/rules/0/effect".to_owned()), "{paths:?}");
    assert!(
        paths.contains(&"/rules/0".to_owned()),
        "unknown field: {paths:?}"
    );
}
