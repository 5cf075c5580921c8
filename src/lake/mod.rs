//! The Parquet lake on local disk: its layout, the `events` schema, and the commit
//! protocol that makes ingest exactly-once.
//!
//! How a commit works (`commit.rs`): data and quarantine files are written completely into
//! `_state/staging/<run>/` and synced; then one commit file naming them and the new source
//! checkpoints is written atomically (write, sync, rename) — that rename is the commit
//! point; then the files are renamed into place, the checkpoints updated, and the commit
//! file removed. A crash before the commit point leaves only staging files, which the next
//! run deletes; a crash after it leaves a commit file, which the next run finishes. Either
//! way every source byte ends up in the lake exactly once.
//!
//! A lake can also live in an object store (`remote/`): the same layout, the same commit
//! steps, with a conditional put of the state object as the commit point.
//!
//! Compaction replaces a partition's files behind a partition manifest (`manifest.rs`):
//! readers see a partition before or after a compaction, never in between.

pub mod batch;
pub mod checkpoint;
pub mod commit;
pub mod durable;
pub mod lock;
pub mod manifest;
pub mod paths;
pub mod quarantine;
pub mod remote;
pub mod schema;
pub mod writer;

use std::path::PathBuf;

pub use paths::{LakePaths, RunId, StagedFile};

/// What can go wrong reading or writing the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// A file or directory of the lake could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Encoding a Parquet file failed.
    #[error("writing Parquet file {path}: {source}")]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    /// Building a record batch failed (a bug: the schema and the builders disagree).
    #[error("building a record batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Another process holds the lake's writer lock.
    #[error("the lake {lake} is locked by another kvaudit process ({holder}); wait for it to finish")]
    Locked { lake: PathBuf, holder: String },
    /// A state file exists but cannot be understood.
    #[error("state file {path} is not readable: {reason}")]
    CorruptState { path: PathBuf, reason: String },
    /// The lake in an object store could not be read or written.
    #[error(transparent)]
    Remote(#[from] remote::RemoteError),
}

/// `Result` with a [`LakeError`].
pub type Result<T, E = LakeError> = std::result::Result<T, E>;

/// Attaches a path to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| LakeError::Io { path: path.into(), source })
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or_else(|| std::path::Path::new("."));
    std::fs::create_dir_all(dir).at(dir)?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp).at(&tmp)?;
    file.write_all(bytes).at(&tmp)?;
    file.sync_all().at(&tmp)?;
    drop(file);
    std::fs::rename(&tmp, path).at(path)?;
    sync_dir(dir)
}

/// Syncs a directory so that renames into it survive a power loss.
pub(crate) fn sync_dir(dir: &std::path::Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).at(dir)
}
