//! Committing to a lake in an object store (the steps are in the module docs of `remote`):
//! uploads of staged files, the conditional put of the state that decides a commit, and
//! the copies that apply it. Applying is idempotent, and [`RemoteWriter::open`] finishes a
//! decided commit and deletes undecided staging before anything else, as
//! `lake::commit::recover` does on disk.

use std::path::Path;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use tokio::io::AsyncWriteExt;

use super::lock::Lease;
use super::state::{PendingCommit, Versioned};
use super::{RemoteError, RemoteLake};
use crate::lake::checkpoint::Checkpoints;
use crate::lake::commit::{Commit, Recovery};
use crate::lake::{LakePaths, RunId, StagedFile};

/// Uploads or copies at once.
const CONCURRENCY: usize = 8;

/// The one writer of a remote lake, holding its lease.
#[derive(Debug)]
pub struct RemoteWriter {
    lake: Arc<RemoteLake>,
    /// The local work directory the commits' files are staged in.
    work: LakePaths,
    lease: Lease,
    state: Versioned,
}

impl RemoteWriter {
    /// Takes the lease for the work directory `me`, then finishes what a crashed writer
    /// left: a decided commit is applied, staged objects of undecided ones are deleted.
    pub async fn open(lake: Arc<RemoteLake>, work: LakePaths, me: &str) -> Result<(Self, Recovery), RemoteError> {
        let lease = Lease::acquire(&lake, me).await?;
        let state = Versioned::load(&lake).await?;
        let mut writer = RemoteWriter { lake, work, lease, state };
        let mut recovery = Recovery::default();
        if let Some(pending) = writer.state.state.pending.clone() {
            tracing::info!(lake = %writer.lake.url(), run = %pending.run, seq = pending.seq, files = pending.files.len(), "Finishing a commit of an interrupted run.");
            writer.apply(&pending).await?;
            recovery.commits_finished += 1;
        }
        let staging = writer.lake.key(&RemoteLake::layout().staging_root());
        recovery.staging_removed = writer.lake.delete_all(&staging).await?;
        Ok((writer, recovery))
    }

    /// The checkpoints as of the last commit.
    pub fn checkpoints(&self) -> Checkpoints {
        self.state.state.checkpoints()
    }

    /// Uploads the commit's staged files, decides the commit, applies it, and deletes the
    /// local files. The files must be complete in the work directory.
    pub async fn commit(&mut self, commit: &Commit, run: &RunId, seq: u32) -> Result<(), RemoteError> {
        let lake = Arc::clone(&self.lake);
        let work = self.work.clone();
        futures::stream::iter(commit.files.iter().map(|file| {
            let (lake, work) = (Arc::clone(&lake), work.clone());
            async move { upload(&lake, &work.root().join(&file.staged), &file.staged).await }
        }))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
        // Renewed right before the commit point, so the lease cannot have lapsed during
        // uploads without this writer knowing.
        self.lease.renew(&self.lake).await?;
        let pending = PendingCommit { run: run.as_str().to_string(), seq, files: commit.files.clone() };
        let next = self.state.state.committing(pending.clone(), &commit.checkpoints);
        self.state.replace(&self.lake, next).await?;
        if !pending.files.is_empty() {
            self.apply(&pending).await?;
        }
        for file in &commit.files {
            let path = self.work.root().join(&file.staged);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(RemoteError::Io { path, source }),
            }
        }
        Ok(())
    }

    /// Puts a decided commit's files in place and clears it from the state. Safe to
    /// repeat: a file already in place (its staged object gone) is left there.
    async fn apply(&mut self, pending: &PendingCommit) -> Result<(), RemoteError> {
        let lake = Arc::clone(&self.lake);
        futures::stream::iter(pending.files.iter().map(|file| {
            let lake = Arc::clone(&lake);
            async move { put_in_place(&lake, file).await }
        }))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
        let mut done = self.state.state.clone();
        done.pending = None;
        self.state.replace(&self.lake, done).await
    }

    /// Gives up the lease; the next writer need not wait for it to expire.
    pub async fn release(self) -> Result<(), RemoteError> {
        self.lease.release(&self.lake).await
    }
}

/// Uploads a local file whole to the key of `relative` (small files in one put, large
/// ones in blocks committed at the end: either way the object appears only complete).
async fn upload(lake: &RemoteLake, local: &Path, relative: &Path) -> Result<(), RemoteError> {
    let key = lake.key(relative);
    let io = |source| RemoteError::Io { path: local.to_path_buf(), source };
    let mut file = tokio::fs::File::open(local).await.map_err(io)?;
    let mut writer = BufWriter::new(Arc::clone(lake.store()), key.clone());
    let copied = tokio::io::copy(&mut file, &mut writer).await;
    let finished = match copied {
        Ok(_) => writer.shutdown().await,
        Err(e) => {
            let _ = writer.abort().await;
            Err(e)
        }
    };
    finished.map_err(|e| RemoteError::Store {
        lake: lake.url().to_string(),
        doing: format!("uploading {key}"),
        reason: (lake.clean)(&e.to_string()),
    })
}

/// Copies a staged object to its final key and deletes it; a missing staged object whose
/// final one exists was moved by an earlier attempt.
async fn put_in_place(lake: &RemoteLake, file: &StagedFile) -> Result<(), RemoteError> {
    let staged = lake.key(&file.staged);
    let committed = lake.key(&file.committed);
    match lake.store().copy(&staged, &committed).await {
        Ok(()) => {}
        Err(object_store::Error::NotFound { .. }) => {
            return match lake.store().head(&committed).await {
                Ok(_) => Ok(()),
                Err(object_store::Error::NotFound { .. }) => Err(RemoteError::CorruptState {
                    lake: lake.url().to_string(),
                    key: committed.to_string(),
                    reason: "a committed file is neither staged nor in place".into(),
                }),
                Err(e) => Err(lake.fail(&format!("checking {committed}"), &e)),
            };
        }
        Err(e) => return Err(lake.fail(&format!("copying {staged} into place"), &e)),
    }
    match lake.store().delete(&staged).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(lake.fail(&format!("deleting {staged}"), &e)),
    }
}
