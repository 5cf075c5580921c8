//! The commit protocol (see the module docs of `lake`): a commit file names staged files
//! and the checkpoints they advance; writing it is the commit point, applying it is
//! idempotent, and recovery finishes every commit file it finds before anything else runs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::checkpoint::{Checkpoints, SourceCheckpoint};
use super::{IoContext, LakeError, LakePaths, Result, RunId, StagedFile, sync_dir, write_atomically};

/// One atomic step of an ingest: files to put in place and checkpoints to advance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Commit {
    pub files: Vec<StagedFile>,
    pub checkpoints: Vec<(String, SourceCheckpoint)>,
}

impl Commit {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.checkpoints.is_empty()
    }

    /// Makes the commit durable, then applies it. The staged files must be complete and
    /// synced before this is called.
    pub fn commit(&self, lake: &LakePaths, run: &RunId, seq: u32) -> Result<()> {
        let path = lake.commit_file(run, seq);
        let bytes = serde_json::to_vec(self).expect("commit serializes");
        write_atomically(&path, &bytes)?;
        apply(lake, self, &path)
    }
}

/// Puts a commit's files in place, advances its checkpoints, removes its commit file.
/// Safe to repeat: a file already in place is left there.
fn apply(lake: &LakePaths, commit: &Commit, commit_file: &Path) -> Result<()> {
    let mut dirs = std::collections::BTreeSet::new();
    for file in &commit.files {
        let staged = lake.root().join(&file.staged);
        let committed = lake.root().join(&file.committed);
        let dir = committed.parent().expect("lake files live in a directory").to_path_buf();
        if staged.exists() {
            std::fs::create_dir_all(&dir).at(&dir)?;
            std::fs::rename(&staged, &committed).at(&committed)?;
            dirs.insert(dir);
        } else if !committed.exists() {
            return Err(LakeError::CorruptState {
                path: commit_file.to_path_buf(),
                reason: format!("{} is neither staged nor committed", file.committed.display()),
            });
        }
    }
    for dir in dirs {
        sync_dir(&dir)?;
    }
    if !commit.checkpoints.is_empty() {
        let mut checkpoints = Checkpoints::load(lake)?;
        for (source, checkpoint) in &commit.checkpoints {
            checkpoints.sources.insert(source.clone(), checkpoint.clone());
        }
        checkpoints.save(lake)?;
    }
    std::fs::remove_file(commit_file).at(commit_file)?;
    Ok(())
}

/// What recovery found and did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Commits that a crashed run had made durable and that were finished now.
    pub commits_finished: usize,
    /// Staging directories of runs that crashed before their commit, deleted.
    pub staging_removed: usize,
}

/// Finishes interrupted commits and removes uncommitted staging. Must run under the lake
/// lock, before any new ingest.
pub fn recover(lake: &LakePaths) -> Result<Recovery> {
    let mut recovery = Recovery::default();
    let commits_dir = lake.commits_dir();
    if commits_dir.exists() {
        let mut files: Vec<_> =
            std::fs::read_dir(&commits_dir).at(&commits_dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for path in files {
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                // A commit file that was being written when the process died never reached
                // its rename: it is not a commit.
                std::fs::remove_file(&path).at(&path)?;
                continue;
            }
            let bytes = std::fs::read(&path).at(&path)?;
            let commit: Commit = serde_json::from_slice(&bytes)
                .map_err(|e| LakeError::CorruptState { path: path.clone(), reason: e.to_string() })?;
            apply(lake, &commit, &path)?;
            recovery.commits_finished += 1;
        }
    }
    let staging = lake.staging_root();
    if staging.exists() {
        for entry in std::fs::read_dir(&staging).at(&staging)? {
            let path = entry.at(&staging)?.path();
            std::fs::remove_dir_all(&path).at(&path)?;
            recovery.staging_removed += 1;
        }
    }
    Ok(recovery)
}
