//! The data directory's exclusive lock: two servers appending to one journal would both
//! write "revision N" and corrupt it, so the second one refuses to start and names the
//! holder.
//!
//! The lock is `flock(2)` on `LOCK` (std's `File::try_lock`), released by the kernel when the
//! holder exits however it exits, so a crash never leaves a stale lock behind. The file holds
//! the holder's pid for the message only.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use super::error::{PersistError, io};

/// Held for the life of the store: dropping it releases the directory.
#[derive(Debug)]
pub(super) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock on `dir` or says who holds it.
    pub(super) fn acquire(dir: &Path) -> Result<Self, PersistError> {
        let path = dir.join("LOCK");
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "a process that has not written its pid yet".to_owned(),
                    text => text.to_owned(),
                };
                return Err(PersistError::Locked {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(io(&path)(error)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "pid {}", std::process::id()))
            .and_then(|()| file.sync_data())
            .map_err(io(&path))?;
        Ok(Self { _file: file })
    }
}
