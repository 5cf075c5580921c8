//! The object store the query session reads the lake through: the local file system, with
//! every listing of `events/` filtered by the partition manifests (`lake::manifest`).
//!
//! DataFusion's listing table finds a partition's files by listing its directory. During a
//! compaction that directory holds the old files and the new ones side by side; this store
//! hides whichever set the partition's manifest says is not (or no longer) the partition,
//! so a query sees each partition before or after a compaction, never doubled or half
//! compacted. Listings outside `events/` pass through unchanged; reads are never filtered
//! (a file a query already planned to read stays readable until the compaction deletes it).
//!
//! A listing is taken between two reads of the manifests and taken again if they differ
//! (see `Snapshot::read_consistent`), so it cannot mix two sides of a switch.
//!
//! The same wrapper serves a lake in an object store (`lake::remote`): its manifests are
//! then read from the store.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, Result,
};

use crate::lake::LakePaths;
use crate::lake::manifest::Manifests;
use crate::lake::paths::parse_partition_name;
use crate::lake::remote::RemoteLake;

/// Where a lake's partition manifests are read from.
#[derive(Debug, Clone)]
pub enum ManifestSource {
    /// `_state/manifests/` of a local lake.
    Local(LakePaths),
    /// The same objects of a lake in an object store.
    Remote(Arc<RemoteLake>),
}

impl ManifestSource {
    async fn load(&self) -> Result<Manifests> {
        match self {
            // Manifests are a few small local files: read them in place.
            ManifestSource::Local(lake) => Manifests::load(lake).map_err(manifest_error),
            ManifestSource::Remote(lake) => lake.manifests().await.map_err(|e| manifest_error(e.into())),
        }
    }
}

/// A store whose listings under the lake's `events/` follow the partition manifests.
#[derive(Debug)]
pub struct LakeStore {
    inner: Arc<dyn ObjectStore>,
    lake: ManifestSource,
    /// `events/` as a path of `inner` (what DataFusion lists under).
    events: Path,
}

impl LakeStore {
    /// Wraps `inner`, in which the lake's `events/` directory is the path `events`.
    pub fn new(inner: Arc<dyn ObjectStore>, lake: ManifestSource, events: Path) -> Self {
        LakeStore { inner, lake, events }
    }

    /// Whether a listing of `prefix` can contain event files.
    fn lists_events(&self, prefix: Option<&Path>) -> bool {
        match prefix {
            None => true,
            Some(p) => p.prefix_matches(&self.events) || self.events.prefix_matches(p),
        }
    }
}

/// Whether `manifests` hide the object at `location` (a file directly inside
/// `events/date=D/`).
fn hidden(manifests: &Manifests, events: &Path, location: &Path) -> bool {
    let Some(rest) = location.prefix_match(events) else { return false };
    let parts: Vec<_> = rest.collect();
    match parts.as_slice() {
        [partition, name] => {
            parse_partition_name(partition.as_ref()).is_some_and(|date| manifests.hides(date, name.as_ref()))
        }
        _ => false,
    }
}

fn manifest_error(e: crate::lake::LakeError) -> object_store::Error {
    object_store::Error::Generic { store: "kvaudit lake", source: Box::new(e) }
}

/// How many times a listing is retaken when the manifests changed while it was taken.
const MAX_LIST_ATTEMPTS: usize = 50;

impl std::fmt::Display for LakeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LakeStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for LakeStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        if !self.lists_events(prefix) {
            return self.inner.list(prefix);
        }
        let inner = Arc::clone(&self.inner);
        let lake = self.lake.clone();
        let events = self.events.clone();
        let prefix = prefix.cloned();
        let listing = async move {
            for _ in 0..MAX_LIST_ATTEMPTS {
                let before = lake.load().await?;
                let objects: Vec<ObjectMeta> = inner.list(prefix.as_ref()).try_collect().await?;
                let after = lake.load().await?;
                if before == after {
                    let visible: Vec<Result<ObjectMeta>> =
                        objects.into_iter().filter(|o| !hidden(&after, &events, &o.location)).map(Ok).collect();
                    return Ok(futures::stream::iter(visible));
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Err(object_store::Error::Generic {
                store: "kvaudit lake",
                source: "partition manifests kept changing while the lake was listed".into(),
            })
        };
        futures::stream::once(listing).try_flatten().boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        if !self.lists_events(prefix) {
            return self.inner.list_with_delimiter(prefix).await;
        }
        for _ in 0..MAX_LIST_ATTEMPTS {
            let before = self.lake.load().await?;
            let mut result = self.inner.list_with_delimiter(prefix).await?;
            let after = self.lake.load().await?;
            if before == after {
                result.objects.retain(|o| !hidden(&after, &self.events, &o.location));
                return Ok(result);
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        Err(object_store::Error::Generic {
            store: "kvaudit lake",
            source: "partition manifests kept changing while the lake was listed".into(),
        })
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::manifest::{PartitionManifest, SwitchState};

    #[test]
    fn only_files_inside_a_manifested_partition_are_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakePaths::new(dir.path());
        let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        PartitionManifest {
            run: "r".into(),
            state: SwitchState::Switched,
            inputs: vec!["old.parquet".into()],
            outputs: vec!["new.parquet".into()],
            switched_at: None,
        }
        .save(&lake, date)
        .unwrap();
        let manifests = Manifests::load(&lake).unwrap();
        let events = Path::from("lake/events");
        assert!(hidden(&manifests, &events, &Path::from("lake/events/date=2026-03-07/old.parquet")));
        assert!(!hidden(&manifests, &events, &Path::from("lake/events/date=2026-03-07/new.parquet")));
        assert!(!hidden(&manifests, &events, &Path::from("lake/events/date=2026-03-08/old.parquet")));
        assert!(!hidden(&manifests, &events, &Path::from("lake/baselines/date=2026-03-07/old.parquet")));
    }
}
