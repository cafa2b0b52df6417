//! A data flow as a caller describes it. Every field is raw text: the engine validates it
//! against the vocabulary and names each bad field by its path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// "May this data go from `origin` through `transit` to `destination`?"
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// ISO 3166-1 alpha-2 code where the data is now.
    pub origin: String,
    /// ISO 3166-1 alpha-2 code where the data ends up.
    pub destination: String,
    /// Countries the data passes through (or is stored or processed in) on the way, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transit: Vec<String>,
    /// Taxonomy keys of the data.
    pub data_categories: Vec<String>,
    /// Number of individuals whose data is in the flow; required when any category is
    /// personal data (under `user`), never read as zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_subject_count: Option<u64>,
    /// Mechanism ids the caller says are in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub safeguards: Vec<String>,
    /// Purpose id; empty when not stated. A rule that prohibits or requires something only
    /// for some purposes cannot be decided without it: the flow is then invalid, naming the
    /// rule, rather than assessed as if the purpose were another.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub purpose: String,
    /// Protection state id; empty means `none`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub protection: String,
    /// Exporter attributes (`critical_infrastructure: true`). An absent attribute is `false`:
    /// the attributes are designations an organisation is told of (China notifies operators
    /// of critical information infrastructure), so an exporter that has not been told is not one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exporter: BTreeMap<String, bool>,
    /// Importer attributes (`public_authority: true`). An absent attribute is `false`: the
    /// default importer is a private business (partial adequacy such as Japan's or
    /// Canada's covers private businesses and is decided by this fact).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub importer: BTreeMap<String, bool>,
}

/// The protection state a flow has when it states none.
pub const DEFAULT_PROTECTION: &str = "none";
