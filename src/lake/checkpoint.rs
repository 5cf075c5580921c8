//! How far each source has been read.
//!
//! A source is a local file (keyed by its canonical path) or, later, a blob (keyed by its
//! URL). The offset always sits at a record boundary: everything before it is in the lake
//! (or in quarantine), nothing after it is. `length` and `fingerprint` describe the source
//! as it was when read, so that a replaced source can be told from one that grew.
//! A blob's checkpoint also keeps `prefix_crc64`, the checksum of exactly its bytes
//! `[0, offset)`: a blob created again whose first `offset` bytes have that checksum is the
//! same content grown, and is read on from the offset instead of from 0 (no row twice).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{IoContext, LakeError, LakePaths, Result, write_atomically};

/// The read position of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCheckpoint {
    /// Bytes consumed, at a record boundary.
    pub offset: u64,
    /// The source's length when it was last read.
    pub length: u64,
    /// An opaque identity of the source's content (a blob ETag, or for files a hash of
    /// their first bytes), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// CRC-64/NVME of the source's bytes `[0, offset)`, kept for blobs read from 0 under
    /// this kvaudit or later; absent for files and for blobs of older lakes (whose
    /// replacement is then always read as new content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_crc64: Option<u64>,
}

/// All checkpoints of a lake, ordered by source key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    pub sources: BTreeMap<String, SourceCheckpoint>,
}

impl Checkpoints {
    /// Loads the checkpoints; a lake without any yet has none.
    pub fn load(lake: &LakePaths) -> Result<Self> {
        let path = lake.checkpoints_file();
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| LakeError::CorruptState { path, reason: e.to_string() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Checkpoints::default()),
            Err(e) => Err(e).at(path),
        }
    }

    /// Saves them atomically.
    pub fn save(&self, lake: &LakePaths) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("checkpoints serialize");
        write_atomically(&lake.checkpoints_file(), &bytes)
    }

    pub fn get(&self, source: &str) -> Option<&SourceCheckpoint> {
        self.sources.get(source)
    }
}
