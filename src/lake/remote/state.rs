//! The state object of a lake in an object store, `_state/checkpoints.json`: every source
//! checkpoint (the same JSON as a local lake's checkpoints file) and the commit being
//! applied, if any.
//!
//! It is only ever replaced by a conditional put on the ETag it was read with, so its
//! history is a sequence: each writer's put succeeds only on the state it read. Putting a
//! state with `pending` set is a commit's commit point (see the module docs of `remote`).

use std::collections::BTreeMap;

use object_store::{PutMode, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::{RemoteError, RemoteLake};
use crate::lake::StagedFile;
use crate::lake::checkpoint::{Checkpoints, SourceCheckpoint};

/// A commit decided and not yet fully applied: its staged objects go to their final keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCommit {
    /// The run and commit number that made it (for messages).
    pub run: String,
    pub seq: u32,
    pub files: Vec<StagedFile>,
}

/// The content of the state object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LakeState {
    pub sources: BTreeMap<String, SourceCheckpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingCommit>,
}

impl LakeState {
    /// The checkpoints, as ingest plans with them.
    pub fn checkpoints(&self) -> Checkpoints {
        Checkpoints { sources: self.sources.clone() }
    }

    /// The state after a commit: its checkpoints advanced, its files pending.
    pub fn committing(&self, pending: PendingCommit, checkpoints: &[(String, SourceCheckpoint)]) -> LakeState {
        let mut next = self.clone();
        for (source, checkpoint) in checkpoints {
            next.sources.insert(source.clone(), checkpoint.clone());
        }
        next.pending = (!pending.files.is_empty()).then_some(pending);
        next
    }
}

/// The state as read, with the version a conditional put must match (`None`: no state
/// object yet, a new lake).
#[derive(Debug, Clone)]
pub struct Versioned {
    pub state: LakeState,
    pub version: Option<UpdateVersion>,
}

impl Versioned {
    /// Reads the state object.
    pub async fn load(lake: &RemoteLake) -> Result<Versioned, RemoteError> {
        let key = lake.key(&RemoteLake::layout().checkpoints_file());
        match lake.get(&key).await? {
            None => Ok(Versioned { state: LakeState::default(), version: None }),
            Some((bytes, version)) => {
                let state = serde_json::from_slice(&bytes).map_err(|e| RemoteError::CorruptState {
                    lake: lake.url().to_string(),
                    key: key.to_string(),
                    reason: e.to_string(),
                })?;
                Ok(Versioned { state, version: Some(version.into()) })
            }
        }
    }

    /// Replaces the state with `next` if it is still the one read; fails with
    /// [`RemoteError::Conflict`] if another writer replaced it meanwhile.
    pub async fn replace(&mut self, lake: &RemoteLake, next: LakeState) -> Result<(), RemoteError> {
        let key = lake.key(&RemoteLake::layout().checkpoints_file());
        let mode = match &self.version {
            None => PutMode::Create,
            Some(version) => PutMode::Update(version.clone()),
        };
        let bytes = serde_json::to_vec_pretty(&next).expect("the lake state serializes");
        match lake.put(&key, bytes, mode).await {
            Ok(put) => {
                self.version = Some(put.into());
                self.state = next;
                Ok(())
            }
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                Err(RemoteError::Conflict {
                    lake: lake.url().to_string(),
                    what: "the checkpoints were replaced by another writer".into(),
                })
            }
            Err(e) => Err(lake.fail("writing the checkpoints", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn cp(offset: u64) -> SourceCheckpoint {
        SourceCheckpoint { offset, length: offset, ..Default::default() }
    }

    #[test]
    fn a_commit_advances_checkpoints_and_records_its_files() {
        let mut state = LakeState::default();
        state.sources.insert("a".into(), cp(10));
        let file = StagedFile {
            staged: PathBuf::from("_state/staging/r/events/date=2026-10-01/p.parquet"),
            committed: PathBuf::from("events/date=2026-10-01/p.parquet"),
        };
        let pending = PendingCommit { run: "r".into(), seq: 0, files: vec![file] };
        let next = state.committing(pending.clone(), &[("a".into(), cp(20)), ("b".into(), cp(5))]);
        assert_eq!(next.sources["a"], cp(20));
        assert_eq!(next.sources["b"], cp(5));
        assert_eq!(next.pending, Some(pending));
        // A commit of checkpoints alone has nothing to apply.
        let alone = state.committing(PendingCommit { run: "r".into(), seq: 1, files: vec![] }, &[]);
        assert_eq!(alone.pending, None);
    }

    /// The state object is a local checkpoints file with one more field: either reads
    /// the other's sources.
    #[test]
    fn the_state_reads_as_checkpoints_and_back() {
        let mut state = LakeState::default();
        state.sources.insert("az://a/c/b".into(), cp(7));
        state.pending = Some(PendingCommit { run: "r".into(), seq: 3, files: vec![] });
        let text = serde_json::to_vec(&state).unwrap();
        let as_local: Checkpoints = serde_json::from_slice(&text).unwrap();
        assert_eq!(as_local.sources, state.sources);
        let back: LakeState = serde_json::from_slice(&serde_json::to_vec(&as_local).unwrap()).unwrap();
        assert_eq!((back.sources, back.pending), (state.sources, None));
    }
}
