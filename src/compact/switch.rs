//! The switch of one partition, and recovery from a run killed during one.
//!
//! Steps, each safe to be killed after:
//! 1. outputs written and synced under `_state/compact/<run>/` (readers never look there);
//! 2. manifest `pending` (outputs hidden) written;
//! 3. outputs renamed into the partition, directory synced;
//! 4. manifest `switched` (inputs hidden) written: the switch;
//! 5. inputs deleted (at once, or by a later run once `grace` has passed).
//!
//! Recovery, at the start of every run under the compaction lock: a `pending` manifest is
//! rolled back (its outputs in the partition deleted: the inputs were never hidden); a
//! `switched` one is finished (its remaining inputs deleted); every staging folder is
//! deleted (no other run can be using it while we hold the lock).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use serde::Serialize;

use crate::lake::manifest::{Manifests, PartitionManifest, SwitchState, VisibleFile};
use crate::lake::{IoContext, LakePaths, Result, RunId, StagedFile, sync_dir};

/// What recovery did before a run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Recovery {
    /// Compactions killed before their switch, undone.
    pub rolled_back: u64,
    /// Compactions killed after their switch (or waiting out their grace), whose replaced
    /// files were deleted now.
    pub finished: u64,
    /// Staging folders of killed runs, deleted.
    pub staging_removed: u64,
    /// Partitions whose replaced files are still within their grace period: not compacted
    /// again until those are deleted.
    pub waiting: BTreeSet<String>,
}

/// Swaps `outputs` (staged) in for `inputs` in partition `date`.
pub(crate) fn switch(
    lake: &LakePaths,
    date: NaiveDate,
    run: &RunId,
    inputs: &[VisibleFile],
    outputs: &[StagedFile],
    grace: Duration,
) -> Result<()> {
    let mut manifest = PartitionManifest {
        run: run.as_str().to_owned(),
        state: SwitchState::Pending,
        inputs: inputs.iter().map(|f| f.name.clone()).collect(),
        outputs: outputs.iter().map(StagedFile::file_name).collect(),
        switched_at: None,
    };
    manifest.save(lake, date)?;
    let dir = lake.events_partition_dir(date);
    for file in outputs {
        let committed = lake.root().join(&file.committed);
        std::fs::rename(lake.root().join(&file.staged), &committed).at(&committed)?;
    }
    sync_dir(&dir)?;
    manifest.state = SwitchState::Switched;
    manifest.switched_at = Some(Utc::now().to_rfc3339());
    manifest.save(lake, date)?;
    if grace.is_zero() {
        delete_inputs(lake, date, &manifest)?;
    }
    Ok(())
}

/// Deletes what remains of a switched manifest's inputs; returns how many were there.
fn delete_inputs(lake: &LakePaths, date: NaiveDate, manifest: &PartitionManifest) -> Result<usize> {
    let dir = lake.events_partition_dir(date);
    let mut deleted = 0;
    for name in &manifest.inputs {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => deleted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).at(path),
        }
    }
    if deleted > 0 {
        sync_dir(&dir)?;
    }
    Ok(deleted)
}

/// Rolls back or finishes interrupted compactions and removes staging garbage. Must run
/// under the compaction lock.
pub(crate) fn recover(lake: &LakePaths, grace: Duration) -> Result<Recovery> {
    let mut recovery = Recovery::default();
    for (date, manifest) in Manifests::load(lake)?.iter() {
        let dir = lake.events_partition_dir(*date);
        match manifest.state {
            SwitchState::Pending => {
                let mut removed = 0;
                for name in &manifest.outputs {
                    let path = dir.join(name);
                    if path.exists() {
                        std::fs::remove_file(&path).at(&path)?;
                        removed += 1;
                    }
                }
                if removed > 0 {
                    sync_dir(&dir)?;
                }
                recovery.rolled_back += 1;
                // The manifest stays `pending`: it now hides files that do not exist, and
                // the next compaction of the partition replaces it.
                tracing::info!(%date, run = %manifest.run, "Rolled back a compaction interrupted before its switch.");
            }
            SwitchState::Switched => {
                let remaining = manifest.inputs.iter().filter(|n| dir.join(n).exists()).count();
                if remaining == 0 {
                    continue;
                }
                let age = manifest.switched_at().map(|t| (Utc::now() - t).to_std().unwrap_or_default());
                if age.is_some_and(|age| age < grace) {
                    recovery.waiting.insert(date.to_string());
                    continue;
                }
                delete_inputs(lake, *date, manifest)?;
                recovery.finished += 1;
                tracing::info!(%date, run = %manifest.run, files = remaining, "Deleted the files a compaction replaced.");
            }
        }
    }
    let staging = lake.compact_staging_root();
    if staging.exists() {
        for entry in std::fs::read_dir(&staging).at(&staging)? {
            let path = entry.at(&staging)?.path();
            std::fs::remove_dir_all(&path).at(&path)?;
            recovery.staging_removed += 1;
        }
    }
    Ok(recovery)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::manifest::visible_files;

    /// A partition with two ingest files, and a compaction that staged one output.
    fn setup() -> (tempfile::TempDir, LakePaths, NaiveDate, RunId, Vec<VisibleFile>, Vec<StagedFile>) {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakePaths::new(dir.path());
        let date = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        let part = lake.events_partition_dir(date);
        std::fs::create_dir_all(&part).unwrap();
        let mut inputs = Vec::new();
        for name in ["part-a.parquet", "part-b.parquet"] {
            std::fs::write(part.join(name), b"in").unwrap();
            inputs.push(VisibleFile { name: name.into(), bytes: 2 });
        }
        let run = RunId::new();
        let out = StagedFile::compacted_file(&run, date, 0);
        std::fs::create_dir_all(lake.root().join(&out.staged).parent().unwrap()).unwrap();
        std::fs::write(lake.root().join(&out.staged), b"out").unwrap();
        (dir, lake, date, run, inputs, vec![out])
    }

    fn names(lake: &LakePaths, date: NaiveDate) -> Vec<String> {
        visible_files(lake, date).unwrap().into_iter().map(|f| f.name).collect()
    }

    #[test]
    fn a_switch_replaces_the_inputs_and_keeps_other_files() {
        let (_dir, lake, date, run, inputs, outputs) = setup();
        // Ingest adds a file after the compaction listed the partition.
        std::fs::write(lake.events_partition_dir(date).join("part-late.parquet"), b"late").unwrap();
        switch(&lake, date, &run, &inputs, &outputs, Duration::ZERO).unwrap();
        assert_eq!(names(&lake, date), [outputs[0].file_name(), "part-late.parquet".into()]);
        assert!(!lake.events_partition_dir(date).join("part-a.parquet").exists());
    }

    #[test]
    fn a_run_killed_before_the_switch_is_rolled_back() {
        let (_dir, lake, date, run, inputs, outputs) = setup();
        let before = names(&lake, date);
        // Killed after step 3: pending manifest, output moved into the partition.
        PartitionManifest {
            run: run.as_str().into(),
            state: SwitchState::Pending,
            inputs: inputs.iter().map(|f| f.name.clone()).collect(),
            outputs: vec![outputs[0].file_name()],
            switched_at: None,
        }
        .save(&lake, date)
        .unwrap();
        std::fs::rename(lake.root().join(&outputs[0].staged), lake.root().join(&outputs[0].committed)).unwrap();
        assert_eq!(names(&lake, date), before, "readers still see the inputs only");
        let recovery = recover(&lake, Duration::ZERO).unwrap();
        assert_eq!((recovery.rolled_back, recovery.staging_removed), (1, 1));
        assert_eq!(names(&lake, date), before);
        assert!(!lake.root().join(&outputs[0].committed).exists());
    }

    #[test]
    fn a_run_killed_after_the_switch_is_finished() {
        let (_dir, lake, date, run, inputs, outputs) = setup();
        switch(&lake, date, &run, &inputs, &outputs, Duration::from_secs(3600)).unwrap();
        // Within the grace period the replaced files stay, hidden.
        assert!(lake.events_partition_dir(date).join("part-a.parquet").exists());
        assert_eq!(names(&lake, date), [outputs[0].file_name()]);
        let waiting = recover(&lake, Duration::from_secs(3600)).unwrap();
        assert!(waiting.waiting.contains(&date.to_string()));
        let recovery = recover(&lake, Duration::ZERO).unwrap();
        assert_eq!(recovery.finished, 1);
        assert!(!lake.events_partition_dir(date).join("part-a.parquet").exists());
        assert_eq!(names(&lake, date), [outputs[0].file_name()]);
    }
}
