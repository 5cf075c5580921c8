//! Ingest from Blob Storage: list what can hold new data, plan each blob's new bytes
//! against its checkpoint, and feed them through the same pipeline as local files.
//!
//! Planning a blob (keyed `az://ACCOUNT/CONTAINER/NAME`, its checkpoint fingerprint
//! `blob:<creation time>:<etag>`):
//! - no checkpoint: read from 0;
//! - listed length equal to the offset: nothing to read, and no request is made (real
//!   Azure would answer `416` at the end of a blob, Azurite an empty `206`: both also mean
//!   "no new data" in the reader, for a blob that shrank between listing and reading);
//! - same creation time and length ≥ offset: the blob grew (an append blob's ETag changes
//!   with every append, so the ETag alone cannot tell growth from replacement);
//! - otherwise (new creation time, or shorter than the offset): the blob was replaced. Its
//!   new content is a new source, `…/NAME#created=<creation time>`, read from 0. The rows
//!   of the old content stay in the lake under the old key, as the evidence they are, and
//!   no `(source, source_offset)` of the new content can collide with them.
//!
//! The listing marks are saved only after the run's last commit, and only when the run
//! was not stopped early, so an interrupted run never narrows the next one's listing.

use std::sync::Arc;
use std::time::Instant;

use tokio::runtime::Handle;

use super::{IngestError, IngestOptions, IngestSummary, Opener, ReadSeek, ReadTask, run_planned};
use crate::lake::checkpoint::{Checkpoints, SourceCheckpoint};
use crate::lake::lock::LakeLock;
use crate::lake::{LakeError, commit};
use crate::source::SourceError;
use crate::source::azure::discover::discover;
use crate::source::azure::feed::{BlobFeed, BlobRange};
use crate::source::azure::state::ListingState;
use crate::source::azure::{BlobConfig, BlobStore, ListedBlob};

/// Blob Storage settings of an ingest run.
#[derive(Debug, Clone)]
pub struct BlobIngestOptions {
    pub config: BlobConfig,
    /// Bytes per range read.
    pub chunk_bytes: u64,
}

/// The checkpoint fingerprint of a listed blob.
fn identity(blob: &ListedBlob) -> String {
    format!("blob:{}:{}", blob.created.map_or_else(String::new, |c| c.to_string()), blob.etag)
}

fn created_of(fingerprint: &str) -> Option<&str> {
    fingerprint.strip_prefix("blob:")?.split(':').next().filter(|c| !c.is_empty())
}

/// Where to read a listed blob from: `(source key, start)`, and whether it was replaced.
fn plan(key: &str, blob: &ListedBlob, checkpoints: &Checkpoints) -> (String, u64, bool) {
    let Some(cp) = checkpoints.get(key) else { return (key.to_string(), 0, false) };
    let created = blob.created.map(|c| c.to_string());
    let recreated = match (cp.fingerprint.as_deref().and_then(created_of), created.as_deref()) {
        (Some(old), Some(new)) => old != new,
        _ => false,
    };
    if !recreated && blob.length >= cp.offset {
        return (key.to_string(), cp.offset, false);
    }
    let generation = format!("{key}#created={}", created.unwrap_or_else(|| blob.etag.clone()));
    match checkpoints.get(&generation) {
        Some(SourceCheckpoint { offset, .. }) if *offset <= blob.length => (generation, *offset, false),
        _ => (generation, 0, true),
    }
}

/// Opens planned blobs through the download feed, in plan order.
struct BlobOpener {
    feed: BlobFeed,
    ranges: std::vec::IntoIter<BlobRange>,
}

impl Opener for BlobOpener {
    fn open(&mut self, task: &ReadTask) -> Result<Box<dyn ReadSeek>, IngestError> {
        let range = self.ranges.next().expect("one range per task");
        debug_assert_eq!(range.start, task.start);
        Ok(Box::new(self.feed.open(&range).map_err(SourceError::from)?))
    }
}

/// One ingest run over a container. `handle` is a runtime this thread is not part of.
pub fn ingest_blobs(
    options: &IngestOptions,
    blob: &BlobIngestOptions,
    handle: &Handle,
) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    let lake = &options.lake;
    std::fs::create_dir_all(lake.root()).map_err(|source| LakeError::Io { path: lake.root().to_path_buf(), source })?;
    let _lock = LakeLock::acquire(lake)?;
    let recovery = commit::recover(lake)?;
    let location = &blob.config.location;
    let store = Arc::new(BlobStore::new(blob.config.clone()).map_err(SourceError::from)?);
    handle.block_on(store.check()).map_err(SourceError::from)?;

    let listing_path = lake.blob_listing_file();
    let mut listing = ListingState::load(&listing_path).map_err(SourceError::from)?;
    let marks = listing.locations.get(&location.url()).cloned().unwrap_or_default();
    let now = chrono::Utc::now().naive_utc();
    let found = handle.block_on(discover(&store, &location.prefix, &marks, now)).map_err(SourceError::from)?;
    tracing::info!(
        blobs = found.blobs.len(),
        vault_folders = found.folders,
        new_vault_folders = found.new_folders,
        list_requests = found.requests,
        "Listed the container."
    );

    let checkpoints = Checkpoints::load(lake)?;
    let mut summary = IngestSummary {
        files: found.blobs.len() as u64,
        recovered_commits: recovery.commits_finished as u64,
        ..Default::default()
    };
    let mut tasks = Vec::new();
    let mut ranges = Vec::new();
    for listed in &found.blobs {
        let key = location.blob_key(&listed.name);
        let (source, start, replaced) = plan(&key, listed, &checkpoints);
        if replaced {
            tracing::warn!(source = %key, length = listed.length, "The blob was replaced since the last run; reading its new content from the start.");
            summary.files_replaced += 1;
        }
        if start < listed.length {
            ranges.push(BlobRange { name: listed.name.clone(), start, end: listed.length });
            tasks.push(ReadTask {
                path: source.clone().into(),
                key: Arc::from(source.as_str()),
                start,
                length: listed.length,
                fingerprint: Some(Arc::from(identity(listed).as_str())),
                // The checksum of `[0, start)`: nothing at 0, else the checkpoint's, if kept.
                crc64: if start == 0 { Some(0) } else { checkpoints.get(&source).and_then(|cp| cp.prefix_crc64) },
            });
        }
    }
    summary.files_read = tasks.len() as u64;
    let feed = BlobFeed::start(Arc::clone(&store), handle.clone(), ranges.clone(), blob.chunk_bytes);
    let mut opener = BlobOpener { feed, ranges: ranges.into_iter() };
    let summary = run_planned(options, tasks, &mut opener, summary, started)?;
    let stopped = options.stop.as_ref().is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed));
    if !stopped {
        listing.locations.insert(location.url(), found.marks);
        listing.save(&listing_path).map_err(SourceError::from)?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(length: u64, created: i64, etag: &str) -> ListedBlob {
        ListedBlob { name: "n".into(), length, etag: etag.into(), created: Some(created) }
    }

    #[test]
    fn growth_continues_and_replacement_starts_a_new_source() {
        let mut checkpoints = Checkpoints::default();
        assert_eq!(plan("k", &listed(10, 1, "e1"), &checkpoints), ("k".into(), 0, false));
        let first = listed(10, 1, "e1");
        checkpoints.sources.insert(
            "k".into(),
            SourceCheckpoint { offset: 10, length: 10, fingerprint: Some(identity(&first)), prefix_crc64: None },
        );
        // Grown: new ETag, same creation time.
        assert_eq!(plan("k", &listed(25, 1, "e2"), &checkpoints), ("k".into(), 10, false));
        // Shorter: replaced, whatever the creation time says.
        assert_eq!(plan("k", &listed(4, 1, "e3"), &checkpoints), ("k#created=1".into(), 0, true));
        // Created again, even if longer.
        assert_eq!(plan("k", &listed(40, 2, "e4"), &checkpoints), ("k#created=2".into(), 0, true));
        checkpoints
            .sources
            .insert("k#created=2".into(), SourceCheckpoint { offset: 40, length: 40, ..Default::default() });
        assert_eq!(plan("k", &listed(50, 2, "e5"), &checkpoints), ("k#created=2".into(), 40, false));
    }
}
