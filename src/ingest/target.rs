//! Where an ingest run commits: a local lake, or a lake in an object store staged through
//! a local work directory (`lake::remote`).
//!
//! Either way the pipeline writes its files into `work()` (the local lake, or the work
//! directory) and hands each commit to [`Target::commit`]; checkpoints, listing marks and
//! the redaction key come from the lake itself, so a run on another machine (another work
//! directory) continues where this one stopped.
//!
//! Invariant: a target is opened under the work directory's OS lock and, for a remote
//! lake, its writer lease, and recovery has run before anything is planned.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;

use super::IngestError;
use crate::lake::checkpoint::Checkpoints;
use crate::lake::commit::{self, Commit, Recovery};
use crate::lake::lock::LakeLock;
use crate::lake::remote::commit::RemoteWriter;
use crate::lake::remote::{RemoteError, RemoteLake};
use crate::lake::{LakeError, LakePaths, RunId};
use crate::source::SourceError;
use crate::source::azure::state::ListingState;

/// A lake in an object store to ingest into, and the runtime its requests run on (one this
/// thread is not part of).
#[derive(Debug, Clone)]
pub struct RemoteIngest {
    pub lake: Arc<RemoteLake>,
    pub handle: Handle,
}

/// The lake an ingest run commits to, opened for writing.
pub(crate) enum Target {
    Local {
        lake: LakePaths,
        _lock: LakeLock,
    },
    Remote {
        work: LakePaths,
        _lock: LakeLock,
        remote: RemoteIngest,
        /// The sink thread commits; the planner reads checkpoints before it starts.
        writer: Mutex<Option<Box<RemoteWriter>>>,
    },
}

impl Target {
    /// Locks the lake (and the work directory), and recovers it from an interrupted run.
    pub fn open(work: &LakePaths, remote: Option<&RemoteIngest>) -> Result<(Target, Recovery), IngestError> {
        std::fs::create_dir_all(work.root())
            .map_err(|source| LakeError::Io { path: work.root().to_path_buf(), source })?;
        let lock = LakeLock::acquire(work)?;
        // Local staging of a crashed run (and, for a local lake, its decided commits).
        let local = commit::recover(work)?;
        let Some(remote) = remote else { return Ok((Target::Local { lake: work.clone(), _lock: lock }, local)) };
        let me = instance_id(work)?;
        let (writer, recovery) =
            remote.handle.block_on(RemoteWriter::open(Arc::clone(&remote.lake), work.clone(), &me))?;
        let target = Target::Remote {
            work: work.clone(),
            _lock: lock,
            remote: remote.clone(),
            writer: Mutex::new(Some(Box::new(writer))),
        };
        target.share_salt()?;
        Ok((target, recovery))
    }

    /// The local directory the pipeline stages files in.
    pub fn work(&self) -> &LakePaths {
        match self {
            Target::Local { lake, .. } => lake,
            Target::Remote { work, .. } => work,
        }
    }

    /// The checkpoints as of the last commit.
    pub fn checkpoints(&self) -> Result<Checkpoints, IngestError> {
        match self {
            Target::Local { lake, .. } => Ok(Checkpoints::load(lake)?),
            Target::Remote { writer, .. } => {
                Ok(writer.lock().expect("no commit panicked").as_ref().expect("open").checkpoints())
            }
        }
    }

    /// Makes one commit durable and applies it.
    pub fn commit(&self, commit: &Commit, run: &RunId, seq: u32) -> Result<(), IngestError> {
        match self {
            Target::Local { lake, .. } => Ok(commit.commit(lake, run, seq)?),
            Target::Remote { remote, writer, .. } => {
                let mut writer = writer.lock().expect("no commit panicked");
                let writer = writer.as_mut().expect("open");
                Ok(remote.handle.block_on(writer.commit(commit, run, seq))?)
            }
        }
    }

    /// The Blob Storage listing marks.
    pub fn listing(&self) -> Result<ListingState, IngestError> {
        match self {
            Target::Local { lake, .. } => Ok(ListingState::load(&lake.blob_listing_file()).map_err(SourceError::from)?),
            Target::Remote { remote, .. } => {
                let path = RemoteLake::layout().blob_listing_file();
                match remote.handle.block_on(remote.lake.read_state(&path))? {
                    None => Ok(ListingState::default()),
                    Some(bytes) => Ok(ListingState::from_json(&bytes, &path).map_err(SourceError::from)?),
                }
            }
        }
    }

    /// Saves the listing marks (after the run's last commit).
    pub fn save_listing(&self, listing: &ListingState) -> Result<(), IngestError> {
        match self {
            Target::Local { lake, .. } => Ok(listing.save(&lake.blob_listing_file()).map_err(SourceError::from)?),
            Target::Remote { remote, .. } => {
                let path = RemoteLake::layout().blob_listing_file();
                let bytes = serde_json::to_vec_pretty(listing).expect("listing marks serialize");
                remote.handle.block_on(remote.lake.write_state(&path, bytes))?;
                Ok(())
            }
        }
    }

    /// Gives up the remote lease (a local lock goes with the target).
    pub fn close(self) -> Result<(), IngestError> {
        if let Target::Remote { remote, writer, .. } = self
            && let Some(writer) = writer.into_inner().expect("no commit panicked")
        {
            remote.handle.block_on(writer.release())?;
        }
        Ok(())
    }

    /// The redaction key is the lake's, not the machine's: hashes of redacted values must
    /// agree whichever machine ingested them. The first writer's key wins; the work
    /// directory keeps a copy for the pipeline (`record::redact` reads it from a file).
    fn share_salt(&self) -> Result<(), IngestError> {
        let Target::Remote { work, remote, .. } = self else { return Ok(()) };
        let local = work.redaction_salt_file();
        let relative = RemoteLake::layout().redaction_salt_file();
        let ours = match remote.handle.block_on(remote.lake.read_state(&relative))? {
            Some(salt) => salt.to_vec(),
            None => {
                // Made (or read) by the same code that makes a local lake's key.
                crate::record::redact::Redactor::for_salt_file(&local)?;
                let made = read(&local)?;
                remote.handle.block_on(remote.lake.create_state(&relative, made))?.to_vec()
            }
        };
        if read(&local).ok().as_deref() != Some(ours.as_slice()) {
            write_private(&local, &ours)?;
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, IngestError> {
    std::fs::read(path).map_err(|source| IngestError::Lake(LakeError::Io { path: path.to_path_buf(), source }))
}

/// Writes a file readable by its owner only, atomically.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), IngestError> {
    use std::io::Write;
    let io = |source| IngestError::Lake(LakeError::Io { path: path.to_path_buf(), source });
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The work directory's random id, made once: who holds a remote lake's lease.
fn instance_id(work: &LakePaths) -> Result<String, IngestError> {
    let path = work.state_dir().join("instance-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(IngestError::Lake(LakeError::Io { path, source })),
    }
    let id = format!("{:032x}", rand::random::<u128>());
    std::fs::create_dir_all(work.state_dir())
        .and_then(|()| std::fs::write(&path, &id))
        .map_err(|source| IngestError::Lake(LakeError::Io { path, source }))?;
    Ok(id)
}

impl From<RemoteError> for IngestError {
    fn from(e: RemoteError) -> Self {
        IngestError::Lake(LakeError::Remote(e))
    }
}
