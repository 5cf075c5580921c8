//! Where log bytes come from. Each source kind lives in its own folder with its
//! configuration, discovery and tests; all of them hand the ingest pipeline the same thing:
//! a list of byte sources, each with a stable key, a current length and a fingerprint.

pub mod azure;
pub mod local;

use std::path::PathBuf;

/// Why sources could not be listed or read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The path given to `--from` does not exist.
    #[error("{0}: no such file or directory")]
    NotFound(PathBuf),
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Blob Storage could not be listed or read.
    #[error(transparent)]
    Blob(#[from] azure::BlobError),
}
