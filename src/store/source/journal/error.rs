//! Why a data directory could not be used.

use std::path::{Path, PathBuf};

use crate::store::error::StoreError;

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is damaged.
    #[error("{}: corrupt at byte offset {offset}: {reason} (start with --repair to keep the longest valid prefix)", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A journal record could not be replayed.
    #[error("{}: replaying revision {revision}: {source}", path.display())]
    Replay {
        /// The journal.
        path: PathBuf,
        /// The revision.
        revision: u64,
        /// Why.
        source: StoreError,
    },
    /// Another process holds the data directory.
    #[error("{} is in use by another xborderd ({holder}); two servers on one data directory would corrupt it", dir.display())]
    Locked {
        /// The data directory.
        dir: PathBuf,
        /// Who holds it, as its lock file says (`pid 1234`).
        holder: String,
    },
}

/// Maps an I/O error on `path` to [`PersistError::Io`].
pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.to_path_buf(),
        source,
    }
}
