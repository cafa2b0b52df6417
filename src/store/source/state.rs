//! A whole store state as bytes: what a journal snapshot file frames and an etcd snapshot
//! key holds, so a replica can start from either.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::engine::Snapshot;
use crate::model::{CountryGroup, Library, RuleSet, VocabularyFile};

#[derive(Debug, Serialize, Deserialize)]
struct State {
    revision: u64,
    effective_as_of: Timestamp,
    vocabulary: VocabularyFile,
    groups: Vec<(CountryGroup, u64)>,
    rule_sets: Vec<(RuleSet, u64)>,
    /// Deleted rule sets and the version they were deleted at (absent in round-1 files).
    #[serde(default)]
    deleted_versions: BTreeMap<String, u64>,
    /// Jurisdictions already committed for the open effective-date boundary.
    #[serde(default)]
    boundary_committed: std::collections::BTreeSet<String>,
}

/// `snapshot` as JSON bytes.
pub(crate) fn encode(snapshot: &Snapshot) -> Result<Vec<u8>, String> {
    let (library, rule_set_versions, group_versions) = snapshot.to_versioned_library();
    let state = State {
        revision: snapshot.revision,
        effective_as_of: snapshot.effective_as_of,
        vocabulary: library.vocabulary,
        groups: library
            .groups
            .into_iter()
            .map(|(name, group)| (group, group_versions.get(&name).copied().unwrap_or(1)))
            .collect(),
        rule_sets: library
            .rule_sets
            .into_iter()
            .map(|(jurisdiction, rule_set)| {
                (
                    rule_set,
                    rule_set_versions.get(&jurisdiction).copied().unwrap_or(1),
                )
            })
            .collect(),
        deleted_versions: snapshot.deleted_versions.clone(),
        boundary_committed: snapshot.boundary_committed.clone(),
    };
    serde_json::to_vec(&state).map_err(|error| format!("cannot encode the snapshot: {error}"))
}

/// The snapshot `bytes` hold.
pub(crate) fn decode(bytes: &[u8]) -> Result<Snapshot, String> {
    let state: State = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
    let rule_set_versions: BTreeMap<String, u64> = state
        .rule_sets
        .iter()
        .map(|(rule_set, version)| (rule_set.jurisdiction.clone(), *version))
        .collect();
    let group_versions: BTreeMap<String, u64> = state
        .groups
        .iter()
        .map(|(group, version)| (group.name.clone(), *version))
        .collect();
    let library = Library {
        vocabulary: state.vocabulary,
        groups: state
            .groups
            .into_iter()
            .map(|(group, _)| (group.name.clone(), group))
            .collect(),
        rule_sets: state
            .rule_sets
            .into_iter()
            .map(|(rule_set, _)| (rule_set.jurisdiction.clone(), rule_set))
            .collect(),
    };
    let mut snapshot = Snapshot::from_versioned_library(
        &library,
        state.revision,
        state.effective_as_of,
        &|jurisdiction| rule_set_versions.get(jurisdiction).copied().unwrap_or(1),
        &|name| group_versions.get(name).copied().unwrap_or(1),
    );
    snapshot.deleted_versions = state.deleted_versions;
    snapshot.boundary_committed = state.boundary_committed;
    Ok(snapshot)
}
