//! What listing remembers between runs (`_state/blob-listing.json` in the lake): per
//! `az://` location, per resource folder (one per vault), the newest hour listed.
//!
//! It is only a narrowing: the next run lists that hour's day minus the grace period
//! onward. It is saved after a run's last commit, never before, so a run that dies keeps
//! the older, wider mark and the next run lists everything it might have missed.
//! A resource folder without a mark (a new vault) is listed whole.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::BlobError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingState {
    /// `az://ACCOUNT/CONTAINER/PREFIX` → resource folder → newest hour seen (`YYYY-MM-DDTHH`).
    pub locations: BTreeMap<String, BTreeMap<String, String>>,
}

impl ListingState {
    pub fn load(path: &Path) -> Result<Self, BlobError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| BlobError::State(format!("{}: {e}", path.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(BlobError::State(format!("{}: {e}", path.display()))),
        }
    }

    /// Saves atomically: a temporary file, synced, renamed over the old one.
    pub fn save(&self, path: &Path) -> Result<(), BlobError> {
        use std::io::Write;
        let err = |e: std::io::Error| BlobError::State(format!("{}: {e}", path.display()));
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut file = std::fs::File::create(&tmp).map_err(err)?;
        file.write_all(&serde_json::to_vec_pretty(self).expect("state serializes")).map_err(err)?;
        file.sync_all().map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }
}
