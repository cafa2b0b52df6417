//! Snapshot files: the whole state at one revision, `snapshot-<revision>.xbs`, one framed
//! JSON record. A restart loads one and replays the journals after it.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::engine::Snapshot;
use crate::model::{CountryGroup, Library, RuleSet, VocabularyFile};

use super::error::{PersistError, io};
use super::files::{snapshot_path, write_atomically};
use super::frame::{Ending, SNAPSHOT_MAGIC, frame, records};

#[derive(Debug, Serialize, Deserialize)]
struct SnapshotState {
    revision: u64,
    effective_as_of: Timestamp,
    vocabulary: VocabularyFile,
    groups: Vec<(CountryGroup, u64)>,
    rule_sets: Vec<(RuleSet, u64)>,
    /// Deleted rule sets and the version they were deleted at (absent in round-1 files).
    #[serde(default)]
    deleted_versions: BTreeMap<String, u64>,
}

/// Writes the snapshot of `snapshot` atomically.
pub(super) fn write(dir: &Path, snapshot: &Snapshot) -> Result<(), PersistError> {
    let (library, rule_set_versions, group_versions) = snapshot.to_versioned_library();
    let state = SnapshotState {
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
    };
    let payload = serde_json::to_vec(&state).map_err(|error| PersistError::Corrupt {
        path: dir.to_path_buf(),
        offset: 0,
        reason: format!("cannot encode the snapshot: {error}"),
    })?;
    let mut bytes = SNAPSHOT_MAGIC.to_vec();
    bytes.extend_from_slice(&frame(&payload));
    write_atomically(dir, &snapshot_path(dir, snapshot.revision), &bytes)
}

/// Reads the snapshot file at `path`.
pub(super) fn read(path: &Path) -> Result<Snapshot, PersistError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let corrupt = |offset: usize, reason: String| PersistError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    let (found, ending) = records(&bytes, SNAPSHOT_MAGIC);
    match ending {
        Ending::Clean => {}
        Ending::TornTail(offset) => return Err(corrupt(offset, "truncated snapshot".into())),
        Ending::Corrupt(offset, reason) => return Err(corrupt(offset, reason)),
    }
    let [(offset, payload)] = found.as_slice() else {
        return Err(corrupt(
            SNAPSHOT_MAGIC.len(),
            "a snapshot holds exactly one record".into(),
        ));
    };
    let state: SnapshotState =
        serde_json::from_slice(payload).map_err(|error| corrupt(*offset, error.to_string()))?;
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
    Ok(snapshot)
}
