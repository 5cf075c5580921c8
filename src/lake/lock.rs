//! One writer per lake (and one detector, and one service). The lock is an OS file lock on `_state/lake.lock`, so it is
//! released when the process dies, however it dies; the file holds the holder's pid and
//! start time only to tell a waiting user who has it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};

use super::{IoContext, LakeError, LakePaths, Result};

/// Held while a process writes the lake; dropping it releases the lock.
#[derive(Debug)]
pub struct LakeLock {
    _file: File,
}

impl LakeLock {
    /// Takes the writer lock (ingest, compaction), or says who holds it.
    pub fn acquire(lake: &LakePaths) -> Result<Self> {
        Self::acquire_file(lake, lake.lock_file())
    }

    /// Takes the detector's lock (baselines and alerts), or says who holds it. It is apart
    /// from the writer lock so that detection can run while ingest appends.
    pub fn acquire_detector(lake: &LakePaths) -> Result<Self> {
        Self::acquire_file(lake, lake.detect_lock_file())
    }

    /// Takes the service's lock: one `kvaudit serve` per lake. It is apart from the writer
    /// and detector locks, which the service takes and releases around each ingest and
    /// detection, so that a one-off command can still run between two cycles.
    pub fn acquire_service(lake: &LakePaths) -> Result<Self> {
        Self::acquire_file(lake, lake.service_lock_file())
    }

    fn acquire_file(lake: &LakePaths, path: std::path::PathBuf) -> Result<Self> {
        std::fs::create_dir_all(lake.state_dir()).at(lake.state_dir())?;
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).at(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(LakeError::Locked { lake: lake.root().to_path_buf(), holder: holder.trim().to_string() });
            }
            Err(TryLockError::Error(e)) => return Err(LakeError::Io { path, source: e }),
        }
        file.set_len(0).at(&path)?;
        file.rewind().at(&path)?;
        write!(file, "pid {} since {}", std::process::id(), chrono::Utc::now().to_rfc3339()).at(&path)?;
        Ok(LakeLock { _file: file })
    }
}
