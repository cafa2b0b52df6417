//! Replaying a journal file into the store at start: every valid record goes through the
//! store's one install path; a torn last record (a crash mid-append) is cut; damage stops
//! the start with the file and byte offset unless `repair` keeps the longest valid prefix.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::store::Store;
use crate::store::record::Committed;

use super::error::{PersistError, io};
use super::frame::{Ending, JOURNAL_MAGIC, records};

/// Replays the journal at `path` into `store`; returns the file opened for appending after
/// the last valid record, and whether anything was cut. Only the `last` journal may end in a
/// torn record: in an earlier one that is damage.
pub(super) fn replay(
    store: &Store,
    path: &Path,
    repair: bool,
    last: bool,
) -> Result<(File, bool), PersistError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(io(path))?;
    let corrupt = |offset: usize, reason: String| PersistError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    let (found, ending) = records(&bytes, JOURNAL_MAGIC);
    let ending = match ending {
        Ending::TornTail(offset) if !last => Ending::Corrupt(
            offset,
            "the journal ends early but a later journal follows".into(),
        ),
        other => other,
    };
    let mut valid_end = match &ending {
        Ending::Clean => bytes.len(),
        Ending::TornTail(offset) => {
            tracing::warn!(path = %path.display(), bytes = bytes.len() - offset, "cutting a torn journal tail");
            *offset
        }
        Ending::Corrupt(offset, reason) if repair => {
            tracing::warn!(path = %path.display(), offset, reason = reason.as_str(), dropped = bytes.len() - offset, "repair: keeping the valid prefix");
            *offset
        }
        Ending::Corrupt(offset, reason) => return Err(corrupt(*offset, reason.clone())),
    };
    for (offset, payload) in found {
        let committed: Committed = match serde_json::from_slice(payload) {
            Ok(committed) => committed,
            Err(error) if repair => {
                tracing::warn!(offset, %error, "repair: keeping the valid prefix");
                valid_end = offset;
                break;
            }
            Err(error) => return Err(corrupt(offset, error.to_string())),
        };
        let revision = committed.revision;
        store
            .install_record(committed)
            .map_err(|source| PersistError::Replay {
                path: path.to_path_buf(),
                revision,
                source,
            })?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io(path))?;
    let end = valid_end.max(JOURNAL_MAGIC.len()) as u64;
    if valid_end < JOURNAL_MAGIC.len() {
        file.set_len(0)
            .and_then(|()| file.write_all(JOURNAL_MAGIC))
            .map_err(io(path))?;
    }
    file.set_len(end).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    file.seek(std::io::SeekFrom::End(0)).map_err(io(path))?;
    Ok((file, valid_end < bytes.len()))
}
