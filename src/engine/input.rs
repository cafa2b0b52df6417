//! Validation of a caller's flow into interned form. Unknown input is an error naming the
//! field path (`flow.data_categories[2]`), never silently ignored.

use std::collections::BTreeMap;

use crate::model::flow::DEFAULT_PROTECTION;
use crate::model::{CountryCode, Flow, IdSet, Kind, Violation, Vocabulary};

/// Why a flow cannot be assessed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// One or more fields are invalid; each violation names its field path.
    #[error("invalid flow: {}", summarize(.0))]
    Invalid(Vec<Violation>),
}

fn summarize(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Most transit countries a flow may name, so a route fits on the stack.
pub const MAX_TRANSIT: usize = 64;

/// A validated flow: codes parsed, ids interned; nothing on the heap.
#[derive(Debug, Clone)]
pub(crate) struct ValidFlow {
    /// `origin`, `transit...`, `destination`, in the first `route_len` slots.
    route: [CountryCode; MAX_TRANSIT + 2],
    route_len: usize,
    pub(crate) categories: IdSet,
    /// `None` when not stated (only allowed when no category is personal data).
    pub(crate) subjects: Option<u64>,
    pub(crate) safeguards: IdSet,
    pub(crate) purpose: Option<u8>,
    pub(crate) protection: u8,
    /// Exporter attributes that are `true`.
    pub(crate) exporter: IdSet,
    /// Importer attributes that are `true`.
    pub(crate) importer: IdSet,
}

impl ValidFlow {
    /// `origin`, `transit...`, `destination`.
    pub(crate) fn route(&self) -> &[CountryCode] {
        &self.route[..self.route_len]
    }

    pub(crate) fn new(flow: &Flow, vocabulary: &Vocabulary) -> Result<Self, FlowError> {
        let mut violations = Vec::new();
        // Paths are only formatted for invalid fields, so a valid flow allocates nothing.
        let mut code = |path: &dyn Fn() -> String, text: &str| {
            let parsed = CountryCode::parse_assigned(text);
            if parsed.is_none() {
                violations.push(Violation {
                    path: path(),
                    message: format!("`{text}` is not an ISO 3166-1 alpha-2 country code"),
                });
            }
            parsed
        };
        let mut route = [CountryCode::FIRST; MAX_TRANSIT + 2];
        let mut route_len = 0;
        let mut push = |stop: Option<CountryCode>| {
            if let (Some(stop), Some(slot)) = (stop, route.get_mut(route_len)) {
                *slot = stop;
                route_len += 1;
            }
        };
        push(code(&|| "flow.origin".into(), &flow.origin));
        for (index, text) in flow.transit.iter().enumerate() {
            push(code(&|| format!("flow.transit[{index}]"), text));
        }
        push(code(&|| "flow.destination".into(), &flow.destination));
        if flow.transit.len() > MAX_TRANSIT {
            violations.push(Violation {
                path: "flow.transit".into(),
                message: format!("at most {MAX_TRANSIT} transit countries are allowed"),
            });
        }

        let mut ids = |path: &str, names: &[String], kind: Kind| -> IdSet {
            let mut set = IdSet::EMPTY;
            for (index, name) in names.iter().enumerate() {
                match vocabulary.ids(kind).get(name) {
                    Some(id) => set.insert(id),
                    None => violations.push(Violation {
                        path: format!("{path}[{index}]"),
                        message: format!("unknown {} `{name}`", kind.noun()),
                    }),
                }
            }
            set
        };
        let categories = ids(
            "flow.data_categories",
            &flow.data_categories,
            Kind::Category,
        );
        // A stated mechanism also counts as every mechanism it implies (DESIGN section 9).
        let safeguards =
            vocabulary.with_implied(ids("flow.safeguards", &flow.safeguards, Kind::Mechanism));
        let personal = flow
            .data_categories
            .iter()
            .any(|category| category == "user" || category.starts_with("user."));
        if personal && flow.data_subject_count.is_none() {
            violations.push(Violation {
                path: "flow.data_subject_count".into(),
                message: "required when a category is personal data (under `user`): the number of individuals whose data the flow holds".into(),
            });
        }
        if flow.data_categories.is_empty() {
            violations.push(Violation {
                path: "flow.data_categories".into(),
                message: "name at least one data category".into(),
            });
        }
        let mut single = |path: &str, name: &str, kind: Kind| {
            let id = vocabulary.ids(kind).get(name);
            if id.is_none() {
                violations.push(Violation {
                    path: path.into(),
                    message: format!("unknown {} `{name}`", kind.noun()),
                });
            }
            id
        };
        let purpose = if flow.purpose.is_empty() {
            None
        } else {
            single("flow.purpose", &flow.purpose, Kind::Purpose)
        };
        let protection_name = if flow.protection.is_empty() {
            DEFAULT_PROTECTION
        } else {
            &flow.protection
        };
        let protection = single("flow.protection", protection_name, Kind::Protection);
        let mut attributes = |field: &str, kind: Kind, given: &BTreeMap<String, bool>| {
            let mut set = IdSet::EMPTY;
            for (attribute, value) in given {
                match vocabulary.ids(kind).get(attribute) {
                    Some(id) if *value => set.insert(id),
                    Some(_) => {}
                    None => violations.push(Violation {
                        path: format!("flow.{field}.{attribute}"),
                        message: format!("unknown {} `{attribute}`", kind.noun()),
                    }),
                }
            }
            set
        };
        let exporter = attributes("exporter", Kind::ExporterAttribute, &flow.exporter);
        let importer = attributes("importer", Kind::ImporterAttribute, &flow.importer);
        match (violations.is_empty(), protection) {
            (true, Some(protection)) => Ok(Self {
                route,
                route_len,
                categories,
                subjects: flow.data_subject_count,
                safeguards,
                purpose,
                protection,
                exporter,
                importer,
            }),
            _ => Err(FlowError::Invalid(violations)),
        }
    }
}
