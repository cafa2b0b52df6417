//! The store's identity in a data directory: the `store_id` made with revision 1 and kept in
//! `store-id`, so a restarted server answers with the same id and a watcher can tell a
//! continued history from a new one.

use std::path::Path;

use super::error::{PersistError, io};
use super::files::write_atomically;

/// The id kept in `dir`, or `new_id` written there when the directory has none (a new
/// directory, or one made before ids existed).
pub(super) fn load_or_create(
    dir: &Path,
    new_id: impl FnOnce() -> String,
) -> Result<String, PersistError> {
    let path = dir.join("store-id");
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        Ok(_) => create(dir, &path, new_id()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => create(dir, &path, new_id()),
        Err(error) => Err(io(&path)(error)),
    }
}

fn create(dir: &Path, path: &Path, id: String) -> Result<String, PersistError> {
    write_atomically(dir, path, format!("{id}\n").as_bytes())?;
    Ok(id)
}
