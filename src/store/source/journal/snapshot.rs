//! Snapshot files: the whole state at one revision, `snapshot-<revision>.xbs`, one framed
//! record (the shared state encoding). A restart loads one and replays the journals after it.

use std::path::Path;

use crate::engine::Snapshot;
use crate::store::source::state;

use super::error::{PersistError, io};
use super::files::{snapshot_path, write_atomically};
use super::frame::{Ending, SNAPSHOT_MAGIC, frame, records};

/// Writes the snapshot of `snapshot` atomically.
pub(super) fn write(dir: &Path, snapshot: &Snapshot) -> Result<(), PersistError> {
    let payload = state::encode(snapshot).map_err(|reason| PersistError::Corrupt {
        path: dir.to_path_buf(),
        offset: 0,
        reason,
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
    state::decode(payload).map_err(|reason| corrupt(*offset, reason))
}
