//! The archive layout Azure Monitor writes to a storage account, and the hourly blobs in it.
//!
//! [`blob_path`] is the only place a blob path is made:
//! `insights-logs-auditevent/resourceId=/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/{RG}/PROVIDERS/
//! MICROSOFT.KEYVAULT/VAULTS/{NAME}/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`, upper-case ids,
//! UTC hour of receipt. A blob is JSON Lines, each line ending in `\n`; a vault with no
//! record in an hour has no blob for it, as in a real archive.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::GenerateError;
use super::event::Event;
use super::record;
use super::time::{Ticks, blob_hour_dir};
use super::world::{Vault, World};

/// The container folder under the output directory.
pub const CONTAINER: &str = "insights-logs-auditevent";

/// The blob holding the records received in the hour starting at `hour` for `vault`.
pub fn blob_path(root: &Path, vault: &Vault, hour: Ticks) -> PathBuf {
    // `resource_id` starts with '/', which `join` would treat as absolute.
    let resource = vault.resource_id.trim_start_matches('/');
    root.join(CONTAINER).join("resourceId=").join(resource).join(blob_hour_dir(hour)).join("PT1H.json")
}

/// Writes hourly blobs and counts what it wrote.
pub struct BlobWriter {
    root: PathBuf,
    line: Vec<u8>,
    pub files: u64,
    pub records: u64,
    pub bytes: u64,
}

impl BlobWriter {
    pub fn new(root: &Path) -> BlobWriter {
        BlobWriter { root: root.to_owned(), line: Vec::with_capacity(4096), files: 0, records: 0, bytes: 0 }
    }

    /// Writes `events` (already in order) as the blob of `vault` for `hour`.
    pub fn write_blob(
        &mut self,
        world: &World,
        vault: usize,
        hour: Ticks,
        events: &[Event],
    ) -> Result<(), GenerateError> {
        if events.is_empty() {
            return Ok(());
        }
        let path = blob_path(&self.root, &world.vaults[vault], hour);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|source| GenerateError::CreateDir { path: dir.to_owned(), source })?;
        }
        let file = File::create(&path).map_err(|source| GenerateError::Write { path: path.clone(), source })?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        for ev in events {
            self.line.clear();
            record::write_line(&mut self.line, ev, world);
            out.write_all(&self.line).map_err(|source| GenerateError::Write { path: path.clone(), source })?;
            self.bytes += self.line.len() as u64;
        }
        out.flush().map_err(|source| GenerateError::Write { path: path.clone(), source })?;
        self.files += 1;
        self.records += events.len() as u64;
        Ok(())
    }
}
