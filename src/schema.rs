//! JSON Schemas of the files people write by hand (rule sets, country groups, vocabulary,
//! scenarios), generated from the model types so they cannot drift from what the loader
//! accepts. `xborderd schema DIR` writes them; `schemas/` in the repository holds them for
//! editors (yaml-language-server), and a test checks those copies are current.

use schemars::{JsonSchema, generate::SchemaSettings};

use crate::model::{CountryGroup, RuleSet, VocabularyFile};
use crate::scenario::Scenario;

/// Each schema's file name with its text (pretty JSON, newline-terminated).
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        (
            "rule-set.schema.json",
            render::<RuleSet>("xborder rule set"),
        ),
        (
            "country-group.schema.json",
            render::<CountryGroup>("xborder country group"),
        ),
        (
            "vocabulary.schema.json",
            render::<VocabularyFile>("xborder vocabulary file"),
        ),
        (
            "scenarios.schema.json",
            render::<Vec<Scenario>>("xborder scenario file"),
        ),
    ]
}

fn render<T: JsonSchema>(title: &str) -> String {
    let mut schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<T>();
    schema.insert("title".into(), title.into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
