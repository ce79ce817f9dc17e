//! [`DatasetLock`]: one writer per dataset directory. An advisory lock on `.pneumoflow.lock`
//! (`flock`; the operating system releases it when the holder exits or crashes), with the
//! holder's description in the file so a refused run can say who holds it.

use super::plan::LOCK_FILE;
use crate::data::error::DataError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The held lock of a dataset directory; released on drop (or when the process ends).
#[derive(Debug)]
pub struct DatasetLock {
    file: File,
}

impl DatasetLock {
    /// Takes the lock of `dir` (created if missing), recording `holder` (e.g. the command line)
    /// with this process's id and host. Another run holding it is [`DataError::Locked`].
    pub fn acquire(dir: &Path, holder: &str) -> Result<DatasetLock, DataError> {
        std::fs::create_dir_all(dir).map_err(|source| DataError::Io {
            path: dir.to_path_buf(),
            action: "creating",
            source,
        })?;
        let path = dir.join(LOCK_FILE);
        let io = |action: &'static str| {
            let path = path.clone();
            move |source| DataError::Io {
                path,
                action,
                source,
            }
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("opening the lock file"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = text.trim();
                return Err(DataError::Locked {
                    dir: dir.to_path_buf(),
                    holder: if holder.is_empty() {
                        "holder unknown".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io("locking")(e)),
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "this host".into());
        let me = format!("pid {} on {host}: {holder}\n", std::process::id());
        file.set_len(0).map_err(io("writing the lock file"))?;
        file.seek(SeekFrom::Start(0))
            .map_err(io("writing the lock file"))?;
        file.write_all(me.as_bytes())
            .map_err(io("writing the lock file"))?;
        Ok(DatasetLock { file })
    }
}

impl Drop for DatasetLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_naming_the_first() {
        let tmp = tempfile::tempdir().unwrap();
        let first = DatasetLock::acquire(tmp.path(), "pneumoflow prep --out x").unwrap();
        let err = DatasetLock::acquire(tmp.path(), "another")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("being written by another pneumoflow run")
                && err.contains(&format!("pid {}", std::process::id()))
                && err.contains("pneumoflow prep --out x"),
            "{err}"
        );
        drop(first);
        let again = DatasetLock::acquire(tmp.path(), "third").unwrap();
        drop(again);
    }
}
