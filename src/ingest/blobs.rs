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
//! - created again, at least as long as the offset, with a checkpoint that keeps the
//!   CRC-64 of `[0, offset)`: the new blob's first `offset` bytes are read (one range read
//!   per 4 MiB, only for such blobs) and checksummed. Equal: it is the same content grown
//!   (deleted and uploaded again, or re-created with the same lines first), read on from
//!   the offset under the old key, whose fingerprint takes the new creation time, so no
//!   record is stored twice;
//! - otherwise (shorter than the offset, a different beginning, or a checkpoint of an older
//!   kvaudit without a checksum): the blob was replaced. Its new content is a new source,
//!   `…/NAME#created=<creation time>`, read from 0. The rows of the old content stay in the
//!   lake under the old key, as the evidence they are, and no `(source, source_offset)` of
//!   the new content can collide with them.
//!
//! A name replaced more than once has several keys (`NAME` and its `#created=`
//! generations); the planner takes the one whose fingerprint has the blob's creation time,
//! and compares a re-created blob with the newest content seen under the name.
//!
//! The listing marks are saved only after the run's last commit, and only when the run
//! was not stopped early, so an interrupted run never narrows the next one's listing.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use tokio::runtime::Handle;

use super::{IngestError, IngestOptions, IngestSummary, Opener, ReadSeek, ReadTask, Target, crc64, run_planned};
use crate::lake::checkpoint::{Checkpoints, SourceCheckpoint};
use crate::lake::{RunId, commit};
use crate::source::SourceError;
use crate::source::azure::discover::discover;
use crate::source::azure::feed::{BlobFeed, BlobRange};
use crate::source::azure::state::ListingState;
use crate::source::azure::{BlobConfig, BlobError, BlobStore, ListedBlob, RangeRead};

/// Blob Storage settings of an ingest run.
#[derive(Debug, Clone)]
pub struct BlobIngestOptions {
    pub config: BlobConfig,
    /// Bytes per range read.
    pub chunk_bytes: u64,
    /// List the whole prefix this run, however recent the last full listing.
    pub full_listing: bool,
}

/// The checkpoint fingerprint of a listed blob.
fn identity(blob: &ListedBlob) -> String {
    format!("blob:{}:{}", blob.created.map_or_else(String::new, |c| c.to_string()), blob.etag)
}

fn created_of(fingerprint: &str) -> Option<&str> {
    fingerprint.strip_prefix("blob:")?.split(':').next().filter(|c| !c.is_empty())
}

/// Where to read a listed blob from: `[start, length)` under `source`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Read {
    source: String,
    start: u64,
    /// The checksum of `[0, start)`, when the checkpoint keeps one.
    crc64: Option<u64>,
    /// New content, read from 0 under a new key: why it counts as new.
    replaced: Option<&'static str>,
    /// Created again, beginning with the content read before: read on from its offset.
    recreated: bool,
}

/// What to do with a listed blob.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    Read(Read),
    /// Created again, and at least as long as the content it replaces was read: if its
    /// first `offset` bytes have the checksum `crc64`, it is that content grown (deleted and
    /// uploaded again, or re-created by the service with the same lines first), read on
    /// under `source`; otherwise it is new content, read as `otherwise`.
    Verify {
        source: String,
        offset: u64,
        crc64: u64,
        otherwise: Read,
    },
}

/// Plans a listed blob against the checkpoints of its key and of its generations
/// (`KEY#created=…`, the keys of earlier replacements).
fn plan(key: &str, blob: &ListedBlob, checkpoints: &Checkpoints) -> Plan {
    let read = |source: &str, start, crc64, replaced| Read {
        source: source.to_string(),
        start,
        crc64,
        replaced,
        recreated: false,
    };
    let Some(base) = checkpoints.get(key) else { return Plan::Read(read(key, 0, Some(0), None)) };
    let generation_prefix = format!("{key}#created=");
    let known: Vec<(&str, &SourceCheckpoint)> = std::iter::once((key, base))
        .chain(
            checkpoints
                .sources
                .range(generation_prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&generation_prefix))
                .map(|(k, cp)| (k.as_str(), cp)),
        )
        .collect();
    let created = blob.created.map(|c| c.to_string());
    fn created_of_cp(cp: &SourceCheckpoint) -> Option<&str> {
        cp.fingerprint.as_deref().and_then(created_of)
    }
    // The checkpoint of this very content: the one with the blob's creation time (a key
    // read on after a re-creation carries the new time), the last named if several; when
    // a creation time is unknown, only the length can tell.
    let same_content = known.iter().rfind(|(_, cp)| match (created_of_cp(cp), created.as_deref()) {
        (Some(old), Some(new)) => old == new,
        _ => true,
    });
    if let Some((source, cp)) = same_content
        && blob.length >= cp.offset
    {
        return Plan::Read(read(source, cp.offset, cp.prefix_crc64, None));
    }
    // Replaced: created again, or shorter than what was read of it. Its new content gets a
    // key of its own, unless that key is taken (shorter, with the same creation time).
    let mut generation = format!("{generation_prefix}{}", created.as_deref().unwrap_or(&blob.etag));
    if checkpoints.get(&generation).is_some() {
        generation = format!("{generation}#etag={}", blob.etag);
    }
    let new = |why| read(&generation, 0, Some(0), Some(why));
    // The content the name held last (the newest creation time) may be the new blob's
    // beginning, unless it was read past the new blob's end.
    let last = known.iter().max_by_key(|(k, cp)| (created_of_cp(cp).and_then(|c| c.parse::<i64>().ok()), *k));
    match last {
        Some((source, cp)) if blob.created.is_some() && blob.length >= cp.offset => match cp.prefix_crc64 {
            Some(crc64) => Plan::Verify {
                source: source.to_string(),
                offset: cp.offset,
                crc64,
                otherwise: new("its beginning differs from what was read"),
            },
            None => Plan::Read(new("no checksum of what was read to compare (a checkpoint of an older kvaudit)")),
        },
        _ => Plan::Read(new("shorter than what was read")),
    }
}

/// The checksum of a blob's first `length` bytes, read `chunk` bytes at a time, and the
/// requests made; `None` when the blob is shorter than that by now.
async fn prefix_crc(store: &BlobStore, name: &str, length: u64, chunk: u64) -> Result<(Option<u64>, u64), BlobError> {
    let (mut crc, mut pos, mut requests) = (0, 0, 0);
    while pos < length {
        let end = length.min(pos + chunk.max(1));
        requests += 1;
        match store.read_range(name, pos, end).await? {
            RangeRead::Bytes(bytes) if bytes.len() as u64 == end - pos => crc = crc64::extend(crc, &bytes),
            _ => return Ok((None, requests)),
        }
        pos = end;
    }
    Ok((Some(crc), requests))
}

/// What checking re-created blobs cost and found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Verified {
    blobs: usize,
    same: usize,
    requests: u64,
    bytes: u64,
}

/// Settles every [`Plan::Verify`]: reads those blobs' prefixes (as many at once as
/// downloads) and compares their checksums.
fn verify(
    plans: Vec<Plan>,
    blobs: &[ListedBlob],
    store: &BlobStore,
    chunk: u64,
    handle: &Handle,
) -> Result<(Vec<Read>, Verified), BlobError> {
    let checks = plans.iter().zip(blobs).enumerate().filter_map(|(i, (plan, blob))| match plan {
        Plan::Verify { offset, .. } => Some((i, blob.name.as_str(), *offset)),
        Plan::Read(_) => None,
    });
    let concurrency = store.config().concurrency.max(1);
    let checked: Vec<_> = handle.block_on(
        futures::stream::iter(checks.map(|(i, name, offset)| async move {
            prefix_crc(store, name, offset, chunk).await.map(|(crc, requests)| (i, crc, requests))
        }))
        .buffered(concurrency)
        .collect(),
    );
    let mut verified = Verified::default();
    let mut found = std::collections::BTreeMap::new();
    for result in checked {
        let (i, crc, requests) = result?;
        verified.requests += requests;
        found.insert(i, crc);
    }
    let reads = plans
        .into_iter()
        .enumerate()
        .map(|(i, plan)| match plan {
            Plan::Read(read) => read,
            Plan::Verify { source, offset, crc64, otherwise } => {
                let blob = &blobs[i];
                verified.blobs += 1;
                verified.bytes += offset;
                if found.get(&i).copied().flatten() == Some(crc64) {
                    verified.same += 1;
                    tracing::info!(
                        source = %source,
                        offset,
                        length = blob.length,
                        "Blob created again with the content already ingested as its beginning; reading on from the checkpoint."
                    );
                    Read { source, start: offset, crc64: Some(crc64), replaced: None, recreated: true }
                } else {
                    otherwise
                }
            }
        })
        .collect();
    Ok((reads, verified))
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
    let (target, recovery) = Target::open(&options.lake, options.remote.as_ref())?;
    let location = &blob.config.location;
    let store = Arc::new(BlobStore::new(blob.config.clone()).map_err(SourceError::from)?);
    handle.block_on(store.check()).map_err(SourceError::from)?;

    let mut listing: ListingState = target.listing()?;
    let marks = listing.locations.get(&location.url()).cloned().unwrap_or_default();
    let now = chrono::Utc::now();
    let full = blob.full_listing || listing.full_listing_due(&location.url(), blob.config.full_listing_every, now);
    if full && !marks.is_empty() {
        tracing::info!(
            location = %location.url(),
            asked = blob.full_listing,
            last_full_listing = listing.full_listings.get(&location.url()).map_or("never", String::as_str),
            "Listing the whole prefix, to find appends later than the grace period."
        );
    }
    let found = handle
        .block_on(discover(&store, &location.prefix, &marks, now.naive_utc(), full))
        .map_err(SourceError::from)?;
    tracing::info!(
        blobs = found.blobs.len(),
        vault_folders = found.folders,
        new_vault_folders = found.new_folders,
        list_requests = found.requests,
        full = found.full,
        "Listed the container."
    );

    let checkpoints = target.checkpoints()?;
    let mut summary = IngestSummary {
        files: found.blobs.len() as u64,
        recovered_commits: recovery.commits_finished as u64,
        ..Default::default()
    };
    let plans: Vec<Plan> =
        found.blobs.iter().map(|listed| plan(&location.blob_key(&listed.name), listed, &checkpoints)).collect();
    let (reads, verified) = verify(plans, &found.blobs, &store, blob.chunk_bytes, handle).map_err(SourceError::from)?;
    if verified.blobs > 0 {
        tracing::info!(
            blobs = verified.blobs,
            same_beginning = verified.same,
            requests = verified.requests,
            bytes = verified.bytes,
            "Checked re-created blobs against the checksums of what was read of them."
        );
    }
    let mut tasks = Vec::new();
    let mut ranges = Vec::new();
    // Re-created blobs with nothing new: their checkpoints only take the new identity, so
    // the next run does not check them again.
    let mut identities = Vec::new();
    for (listed, read) in found.blobs.iter().zip(reads) {
        if let Some(why) = read.replaced {
            // Audit logs rewritten with other content deserve a look: hence a warning.
            tracing::warn!(
                source = %location.blob_key(&listed.name),
                new_source = %read.source,
                length = listed.length,
                why,
                "Blob replaced; reading it from the start as a new source."
            );
            summary.files_replaced += 1;
        }
        if read.recreated {
            summary.files_recreated += 1;
        }
        if read.start < listed.length {
            ranges.push(BlobRange { name: listed.name.clone(), start: read.start, end: listed.length });
            tasks.push(ReadTask {
                path: read.source.clone().into(),
                key: Arc::from(read.source.as_str()),
                start: read.start,
                length: listed.length,
                fingerprint: Some(Arc::from(identity(listed).as_str())),
                crc64: read.crc64,
            });
        } else if read.recreated {
            let checkpoint = SourceCheckpoint {
                offset: read.start,
                length: listed.length,
                fingerprint: Some(identity(listed)),
                prefix_crc64: read.crc64,
            };
            identities.push((read.source, checkpoint));
        }
    }
    if !identities.is_empty() {
        target.commit(&commit::Commit { files: Vec::new(), checkpoints: identities }, &RunId::new(), 0)?;
    }
    summary.files_read = tasks.len() as u64;
    let feed = BlobFeed::start(Arc::clone(&store), handle.clone(), ranges.clone(), blob.chunk_bytes);
    let mut opener = BlobOpener { feed, ranges: ranges.into_iter() };
    let summary = run_planned(options, &target, tasks, &mut opener, summary, started)?;
    let stopped = options.stop.as_ref().is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed));
    if !stopped {
        if found.full {
            listing.set_full_listing(&location.url(), now);
        }
        listing.locations.insert(location.url(), found.marks);
        target.save_listing(&listing)?;
    }
    target.close()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(length: u64, created: i64, etag: &str) -> ListedBlob {
        ListedBlob { name: "n".into(), length, etag: etag.into(), created: Some(created) }
    }

    fn checkpoint(offset: u64, blob: &ListedBlob, crc: Option<u64>) -> SourceCheckpoint {
        SourceCheckpoint { offset, length: blob.length, fingerprint: Some(identity(blob)), prefix_crc64: crc }
    }

    fn read(source: &str, start: u64, crc64: Option<u64>) -> Plan {
        Plan::Read(Read { source: source.into(), start, crc64, replaced: None, recreated: false })
    }

    fn new_content(source: &str, why: &'static str) -> Read {
        Read { source: source.into(), start: 0, crc64: Some(0), replaced: Some(why), recreated: false }
    }

    const DIFFERS: &str = "its beginning differs from what was read";

    #[test]
    fn growth_continues_and_replacement_starts_a_new_source() {
        let mut checkpoints = Checkpoints::default();
        assert_eq!(plan("k", &listed(10, 1, "e1"), &checkpoints), read("k", 0, Some(0)));
        checkpoints.sources.insert("k".into(), checkpoint(10, &listed(10, 1, "e1"), None));
        // Grown: new ETag, same creation time.
        assert_eq!(plan("k", &listed(25, 1, "e2"), &checkpoints), read("k", 10, None));
        // Shorter: replaced, whatever the creation time says.
        assert_eq!(
            plan("k", &listed(4, 1, "e3"), &checkpoints),
            Plan::Read(new_content("k#created=1", "shorter than what was read"))
        );
        // Created again, even if longer: without a checksum (an older lake), new content.
        let Plan::Read(again) = plan("k", &listed(40, 2, "e4"), &checkpoints) else { panic!("no checksum to verify") };
        assert_eq!((again.source.as_str(), again.start, again.replaced.is_some()), ("k#created=2", 0, true));
        checkpoints
            .sources
            .insert("k#created=2".into(), SourceCheckpoint { offset: 40, length: 40, ..Default::default() });
        assert_eq!(plan("k", &listed(50, 2, "e5"), &checkpoints), read("k#created=2", 40, None));
    }

    #[test]
    fn a_recreated_blob_is_verified_against_the_newest_content_of_its_name() {
        let mut checkpoints = Checkpoints::default();
        checkpoints.sources.insert("k".into(), checkpoint(10, &listed(10, 1, "e1"), Some(77)));
        assert_eq!(plan("k", &listed(25, 1, "e2"), &checkpoints), read("k", 10, Some(77)));
        assert_eq!(
            plan("k", &listed(30, 2, "e3"), &checkpoints),
            Plan::Verify { source: "k".into(), offset: 10, crc64: 77, otherwise: new_content("k#created=2", DIFFERS) }
        );
        // Created again shorter than what was read: no request can make it the same.
        assert!(matches!(plan("k", &listed(9, 2, "e3"), &checkpoints), Plan::Read(Read { replaced: Some(_), .. })));
        // Verified the same: the old key takes the new creation time and is read on.
        checkpoints.sources.insert("k".into(), checkpoint(30, &listed(30, 2, "e3"), Some(78)));
        assert_eq!(plan("k", &listed(45, 2, "e4"), &checkpoints), read("k", 30, Some(78)));
        // Replaced by different content, then created again beginning with that content:
        // compared with the newest generation, not with the first content.
        checkpoints.sources.insert("k#created=3".into(), checkpoint(12, &listed(12, 3, "e5"), Some(90)));
        assert_eq!(plan("k", &listed(20, 3, "e6"), &checkpoints), read("k#created=3", 12, Some(90)));
        assert_eq!(
            plan("k", &listed(20, 4, "e7"), &checkpoints),
            Plan::Verify {
                source: "k#created=3".into(),
                offset: 12,
                crc64: 90,
                otherwise: new_content("k#created=4", DIFFERS)
            }
        );
        // Shorter with the same creation time as a generation: a key of its own.
        assert_eq!(
            plan("k", &listed(5, 3, "e8"), &checkpoints),
            Plan::Read(new_content("k#created=3#etag=e8", "shorter than what was read"))
        );
        checkpoints.sources.insert("k#created=3#etag=e8".into(), checkpoint(5, &listed(5, 3, "e8"), Some(91)));
        assert_eq!(plan("k", &listed(9, 3, "e9"), &checkpoints), read("k#created=3#etag=e8", 5, Some(91)));
    }
}
