//! The lake kept in an object store (Blob Storage, `--lake az://ACCOUNT/CONTAINER/PATH`):
//! the same layout as on disk, written by ingest through a local work directory.
//!
//! Ingest stages and encodes files on local disk exactly as for a local lake (the work
//! directory is a local lake that never holds committed data); each commit then goes to the
//! object store (`commit.rs`):
//!
//! 1. the commit's files are uploaded whole to `_state/staging/<run>/…` (an object appears
//!    only when its upload completes, single put or committed block list);
//! 2. the writer lease is renewed (`lock.rs`), then the state object
//!    `_state/checkpoints.json`, holding every source checkpoint and now also the commit's
//!    file list as `pending`, is replaced by a conditional put on its ETag (`state.rs`).
//!    That put is the commit point: it fails if anyone else changed the state since this
//!    writer read it, so two writers can never both commit on the same state;
//! 3. each staged object is copied to its final key under `events/` or `quarantine/` and
//!    deleted, and the state is put again without `pending`. The local files are deleted.
//!
//! A crash before step 2 leaves only staged objects, which the next writer deletes; after
//! it, the next writer (on this machine or another) finds `pending` and finishes it. So a
//! file is under `events/` only once its commit is decided, a reader listing `events/`
//! directly never sees a partial or uncommitted file, and every source byte is in the lake
//! exactly once. The authoritative checkpoints, listing marks and redaction key live in the
//! object store; the work directory holds nothing another machine would need.
//!
//! Invariant: every key is made by [`RemoteLake::key`] from the relative paths of
//! [`LakePaths::relative`] and `StagedFile`, so the remote layout cannot drift from the
//! local one.

pub mod commit;
pub mod lock;
pub mod state;

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, PutResult};

use super::LakePaths;
use super::manifest::{Manifests, PartitionManifest};
use super::paths::parse_partition_name;

/// Why the remote lake could not be read or written. Messages name the lake's URL (no
/// secret: it is `az://ACCOUNT/CONTAINER/PATH`) and never a request URL.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// A request to the object store failed (after `object_store`'s own retries).
    #[error("lake {lake}: {doing}: {reason}")]
    Store { lake: String, doing: String, reason: String },
    /// Another kvaudit process holds the lake's writer lease.
    #[error("the lake {lake} is locked by another kvaudit ingest ({holder}) until {until}; wait for it to finish")]
    Locked { lake: String, holder: String, until: String },
    /// The lake's state changed under this writer: its lease expired and another writer
    /// took over. Nothing uncommitted of this run is kept.
    #[error("lake {lake}: another writer changed the lake during this run ({what}); run again")]
    Conflict { lake: String, what: String },
    /// A state object exists but cannot be understood.
    #[error("lake {lake}: {key} is not readable: {reason}")]
    CorruptState { lake: String, key: String, reason: String },
    /// A file of the local work directory could not be read or written.
    #[error("{path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
}

/// Removes secrets from the text of an object store error (see `source::azure::objects`).
pub type Clean = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// A lake in an object store: the store, and the lake's root inside it.
#[derive(Clone)]
pub struct RemoteLake {
    store: Arc<dyn ObjectStore>,
    /// The container: the host of the `az://CONTAINER/…` URL DataFusion reads through.
    container: String,
    /// The lake's root inside the container (may be empty).
    root: ObjectPath,
    /// `az://ACCOUNT/CONTAINER/PATH`, for messages.
    url: String,
    clean: Clean,
}

impl std::fmt::Debug for RemoteLake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteLake({})", self.url)
    }
}

impl RemoteLake {
    /// A lake rooted at `root` (`PATH` of the URL, may be empty) of `container`, whose
    /// objects `store` reads and writes with paths relative to the container.
    pub fn new(store: Arc<dyn ObjectStore>, container: &str, root: &str, url: String, clean: Clean) -> Self {
        let root = ObjectPath::from_iter(root.split('/').filter(|p| !p.is_empty()));
        RemoteLake { store, container: container.to_string(), root, url, clean }
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The lake's layout with paths relative to its root (`events`, `_state/…`).
    pub fn layout() -> LakePaths {
        LakePaths::relative()
    }

    /// The object of a lake path relative to the root (from [`Self::layout`] or a
    /// `StagedFile`): the one constructor of remote keys.
    pub fn key(&self, relative: &Path) -> ObjectPath {
        let parts = relative.components().filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(PathPart::from(part.to_string_lossy().into_owned())),
            _ => None,
        });
        ObjectPath::from_iter(self.root.parts().chain(parts))
    }

    /// The URL DataFusion lists `events/` under: `az://CONTAINER/PATH/events/`; the store
    /// to register for it is the one of [`Self::table_store_url`].
    pub fn events_table_url(&self) -> String {
        format!("az://{}/{}/", self.container, self.key(&Self::layout().events_dir()))
    }

    /// `az://CONTAINER`: where the session registers this lake's store.
    pub fn table_store_url(&self) -> url::Url {
        url::Url::parse(&format!("az://{}", self.container)).expect("container names are URL hosts")
    }

    /// A store error as a [`RemoteError`], without secrets.
    pub(crate) fn fail(&self, doing: &str, error: &object_store::Error) -> RemoteError {
        RemoteError::Store {
            lake: self.url.clone(),
            doing: doing.to_string(),
            reason: (self.clean)(&error.to_string()),
        }
    }

    /// An object's bytes and version, or `None` if it does not exist.
    pub(crate) async fn get(&self, key: &ObjectPath) -> Result<Option<(Bytes, PutResult)>, RemoteError> {
        match self.store.get(key).await {
            Ok(result) => {
                let version = PutResult { e_tag: result.meta.e_tag.clone(), version: result.meta.version.clone() };
                let bytes = result.bytes().await.map_err(|e| self.fail(&format!("reading {key}"), &e))?;
                Ok(Some((bytes, version)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail(&format!("reading {key}"), &e)),
        }
    }

    /// Puts a small object whole, in `mode`; the store's own error comes back so that the
    /// caller can tell a failed condition apart.
    pub(crate) async fn put(
        &self,
        key: &ObjectPath,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<PutResult, object_store::Error> {
        let options = PutOptions { mode, ..Default::default() };
        self.store.put_opts(key, PutPayload::from(bytes), options).await
    }

    /// A small state object's bytes (listing marks, the redaction key), if it exists.
    pub async fn read_state(&self, relative: &Path) -> Result<Option<Bytes>, RemoteError> {
        Ok(self.get(&self.key(relative)).await?.map(|(bytes, _)| bytes))
    }

    /// Replaces a small state object whole. Only the lease holder writes state.
    pub async fn write_state(&self, relative: &Path, bytes: Vec<u8>) -> Result<(), RemoteError> {
        let key = self.key(relative);
        self.put(&key, bytes, PutMode::Overwrite).await.map_err(|e| self.fail(&format!("writing {key}"), &e))?;
        Ok(())
    }

    /// Creates a state object with `bytes` unless it exists, and returns its content: the
    /// first writer's (a key made once and never rewritten, like the redaction key).
    pub async fn create_state(&self, relative: &Path, bytes: Vec<u8>) -> Result<Bytes, RemoteError> {
        let key = self.key(relative);
        match self.put(&key, bytes.clone(), PutMode::Create).await {
            Ok(_) => Ok(Bytes::from(bytes)),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                match self.get(&key).await? {
                    Some((existing, _)) => Ok(existing),
                    None => Err(RemoteError::Conflict { lake: self.url.clone(), what: format!("{key} vanished") }),
                }
            }
            Err(e) => Err(self.fail(&format!("creating {key}"), &e)),
        }
    }

    /// Every partition manifest (none unless a compaction wrote some, and compaction only
    /// runs on local lakes; read so that a reader follows them whoever writes them).
    pub async fn manifests(&self) -> Result<Manifests, RemoteError> {
        let dir = self.key(&Self::layout().manifests_dir());
        let listed: Vec<_> =
            self.store.list(Some(&dir)).try_collect().await.map_err(|e| self.fail("listing manifests", &e))?;
        let mut all = std::collections::BTreeMap::new();
        for object in listed {
            let Some(name) = object.location.filename() else { continue };
            let Some(date) = name.strip_suffix(".json").and_then(parse_partition_name) else { continue };
            let Some((bytes, _)) = self.get(&object.location).await? else { continue };
            let manifest: PartitionManifest =
                serde_json::from_slice(&bytes).map_err(|e| RemoteError::CorruptState {
                    lake: self.url.clone(),
                    key: object.location.to_string(),
                    reason: e.to_string(),
                })?;
            all.insert(date, manifest);
        }
        Ok(Manifests::from_map(all))
    }

    /// Deletes every object under `prefix`; returns how many.
    pub(crate) async fn delete_all(&self, prefix: &ObjectPath) -> Result<usize, RemoteError> {
        let listed: Vec<ObjectPath> = self
            .store
            .list(Some(prefix))
            .map_ok(|o| o.location)
            .try_collect()
            .await
            .map_err(|e| self.fail(&format!("listing {prefix}"), &e))?;
        let n = listed.len();
        let stream = futures::stream::iter(listed.into_iter().map(Ok)).boxed();
        let deleted: Vec<ObjectPath> = self
            .store
            .delete_stream(stream)
            .or_else(|e| async move {
                match e {
                    object_store::Error::NotFound { path, .. } => Ok(ObjectPath::from(path)),
                    e => Err(e),
                }
            })
            .try_collect()
            .await
            .map_err(|e| self.fail(&format!("deleting {prefix}"), &e))?;
        debug_assert_eq!(deleted.len(), n);
        Ok(n)
    }
}
