//! Partition manifests: how a compaction replaces a date partition's files in one step.
//!
//! A partition is a directory of Parquet files (`events/date=D/`), and a directory cannot
//! change many files at once. So every kvaudit reader looks at a partition through its
//! manifest, `_state/manifests/date=D.json`, which names the files one compaction run read
//! (`inputs`) and wrote (`outputs`), and which of the two sets is hidden:
//!
//! - `pending`: the outputs are being moved into the partition; readers hide them and see
//!   the inputs, as before the compaction;
//! - `switched`: the outputs are all in place; readers hide the inputs (still on disk
//!   until the compaction deletes them) and see the outputs.
//!
//! Rewriting the manifest from `pending` to `switched` (write, sync, rename) is the switch:
//! a reader sees the partition before it or after it, never half compacted or doubled.
//! Files no manifest names (what ingest adds, at any time) are always visible, so ingest
//! needs no coordination with compaction.
//!
//! Readers take a consistent view with [`Snapshot::read_consistent`]: manifests, then the
//! listing, then the manifests again; if they changed in between, the view is taken again.
//! A manifest never returns to an earlier content (run ids are unique and a run only moves
//! forward), so equal manifests before and after mean none changed during the listing.
//!
//! Invariant: a partition's manifest is only rewritten by a compaction holding
//! `_state/compact.lock`, and a new compaction starts only once the previous one's inputs
//! are deleted (its manifest then hides nothing that exists).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::paths::parse_partition_name;
use super::{IoContext, LakeError, LakePaths, Result, write_atomically};

/// Where a compaction of one partition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchState {
    /// Outputs are being put in place: hidden; the inputs are the partition.
    Pending,
    /// Outputs are the partition; the inputs are hidden until deleted.
    Switched,
}

/// The last compaction switch of one date partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionManifest {
    /// The compaction run (unique, so a manifest never returns to an earlier content).
    pub run: String,
    pub state: SwitchState,
    /// File names (inside the partition) the run rewrote.
    pub inputs: Vec<String>,
    /// File names the run wrote.
    pub outputs: Vec<String>,
    /// When the switch happened (`switched` only), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switched_at: Option<String>,
}

impl PartitionManifest {
    /// When the switch happened, if it did and the time is readable.
    pub fn switched_at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(self.switched_at.as_deref()?).ok().map(|t| t.with_timezone(&Utc))
    }

    /// Whether a reader must not see the file `name` of this partition.
    pub fn hides(&self, name: &str) -> bool {
        let hidden = match self.state {
            SwitchState::Pending => &self.outputs,
            SwitchState::Switched => &self.inputs,
        };
        hidden.iter().any(|h| h == name)
    }

    /// Reads the manifest of `date`, if the partition has one.
    pub fn load(lake: &LakePaths, date: NaiveDate) -> Result<Option<Self>> {
        let path = lake.partition_manifest_file(date);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| LakeError::CorruptState { path, reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).at(path),
        }
    }

    /// Writes the manifest of `date` atomically: this is the switch when `state` changes.
    pub fn save(&self, lake: &LakePaths, date: NaiveDate) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        write_atomically(&lake.partition_manifest_file(date), &bytes)
    }
}

/// Every partition manifest of a lake, as read at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifests(BTreeMap<NaiveDate, PartitionManifest>);

impl Manifests {
    /// Reads all manifests (none in a lake never compacted).
    pub fn load(lake: &LakePaths) -> Result<Self> {
        let dir = lake.manifests_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifests::default()),
            Err(e) => return Err(e).at(dir),
        };
        let mut all = BTreeMap::new();
        for entry in entries {
            let name = entry.at(&dir)?.file_name().to_string_lossy().into_owned();
            // Temporary files of an atomic write end in `.tmp-<pid>`: not manifests yet.
            let Some(date) = name.strip_suffix(".json").and_then(parse_partition_name) else { continue };
            if let Some(manifest) = PartitionManifest::load(lake, date)? {
                all.insert(date, manifest);
            }
        }
        Ok(Manifests(all))
    }

    /// Manifests read elsewhere (a lake in an object store, `lake::remote`).
    pub fn from_map(manifests: BTreeMap<NaiveDate, PartitionManifest>) -> Self {
        Manifests(manifests)
    }

    /// Whether the file `name` of partition `date` is hidden from readers.
    pub fn hides(&self, date: NaiveDate, name: &str) -> bool {
        self.0.get(&date).is_some_and(|m| m.hides(name))
    }

    pub fn get(&self, date: NaiveDate) -> Option<&PartitionManifest> {
        self.0.get(&date)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&NaiveDate, &PartitionManifest)> {
        self.0.iter()
    }
}

/// How many times a reader retries a view that changed while it was taken before it gives
/// up: a switch takes milliseconds, so needing more means something is wrong.
const MAX_VIEW_ATTEMPTS: usize = 50;

/// A consistent view of what readers see: a listing taken while no manifest changed.
#[derive(Debug)]
pub struct Snapshot<T> {
    pub manifests: Manifests,
    pub listing: T,
}

impl<T> Snapshot<T> {
    /// Reads the manifests, takes `list`, reads them again, and repeats until both reads
    /// agree. Blocking: for async listings see `query::lake_store`.
    pub fn read_consistent(lake: &LakePaths, mut list: impl FnMut() -> Result<T>) -> Result<Self> {
        for _ in 0..MAX_VIEW_ATTEMPTS {
            let before = Manifests::load(lake)?;
            let listing = list()?;
            let after = Manifests::load(lake)?;
            if before == after {
                return Ok(Snapshot { manifests: after, listing });
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Err(LakeError::CorruptState {
            path: lake.manifests_dir(),
            reason: format!("partition manifests kept changing over {MAX_VIEW_ATTEMPTS} attempts to read them"),
        })
    }
}

/// A Parquet file of a partition that readers see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibleFile {
    pub name: String,
    pub bytes: u64,
}

/// The files of partition `date` that readers see, sorted by name (none if the partition
/// does not exist).
pub fn visible_files(lake: &LakePaths, date: NaiveDate) -> Result<Vec<VisibleFile>> {
    Ok(visible_files_of(lake, &[date])?.remove(&date).unwrap_or_default())
}

/// The visible files of each of `dates`, from one consistent view of the manifests: the
/// manifests are read twice per view, so one view for many dates, not one per date (a
/// detection run asks for every date of the lake).
pub fn visible_files_of(
    lake: &LakePaths,
    dates: &[NaiveDate],
) -> Result<std::collections::BTreeMap<NaiveDate, Vec<VisibleFile>>> {
    let snapshot = Snapshot::read_consistent(lake, || {
        let mut by_date = Vec::with_capacity(dates.len());
        for &date in dates {
            let dir = lake.events_partition_dir(date);
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).at(&dir),
            };
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry.at(&dir)?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".parquet") {
                    continue;
                }
                // A file deleted between the listing and its metadata was an input being
                // removed after a switch: the second manifest read will show it hidden.
                let Ok(meta) = entry.metadata() else { continue };
                files.push(VisibleFile { name, bytes: meta.len() });
            }
            by_date.push((date, files));
        }
        Ok(by_date)
    })?;
    let mut out = std::collections::BTreeMap::new();
    for (date, files) in snapshot.listing {
        let mut files: Vec<VisibleFile> =
            files.into_iter().filter(|f| !snapshot.manifests.hides(date, &f.name)).collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        out.insert(date, files);
    }
    Ok(out)
}

/// The dates that have an events partition directory, sorted.
pub fn partition_dates(lake: &LakePaths) -> Result<Vec<NaiveDate>> {
    let dir = lake.events_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).at(dir),
    };
    let mut dates = Vec::new();
    for entry in entries {
        if let Some(date) = parse_partition_name(&entry.at(&dir)?.file_name().to_string_lossy()) {
            dates.push(date);
        }
    }
    dates.sort();
    Ok(dates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(state: SwitchState) -> PartitionManifest {
        PartitionManifest {
            run: "r1".into(),
            state,
            inputs: vec!["part-a.parquet".into(), "part-b.parquet".into()],
            outputs: vec!["compact-r1-00000.parquet".into()],
            switched_at: None,
        }
    }

    #[test]
    fn pending_hides_outputs_and_switched_hides_inputs() {
        let pending = manifest(SwitchState::Pending);
        assert!(pending.hides("compact-r1-00000.parquet"));
        assert!(!pending.hides("part-a.parquet"));
        let switched = manifest(SwitchState::Switched);
        assert!(switched.hides("part-a.parquet") && switched.hides("part-b.parquet"));
        assert!(!switched.hides("compact-r1-00000.parquet"));
        // A file ingest added during the compaction is in neither list: always visible.
        assert!(!pending.hides("part-new.parquet") && !switched.hides("part-new.parquet"));
    }

    #[test]
    fn visible_files_follow_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakePaths::new(dir.path());
        let date = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        let part = lake.events_partition_dir(date);
        std::fs::create_dir_all(&part).unwrap();
        for name in ["part-a.parquet", "part-b.parquet", "compact-r1-00000.parquet", "part-new.parquet"] {
            std::fs::write(part.join(name), b"x").unwrap();
        }
        let names = |lake: &LakePaths| -> Vec<String> {
            visible_files(lake, date).unwrap().into_iter().map(|f| f.name).collect()
        };
        manifest(SwitchState::Pending).save(&lake, date).unwrap();
        assert_eq!(names(&lake), ["part-a.parquet", "part-b.parquet", "part-new.parquet"]);
        manifest(SwitchState::Switched).save(&lake, date).unwrap();
        assert_eq!(names(&lake), ["compact-r1-00000.parquet", "part-new.parquet"]);
        assert_eq!(partition_dates(&lake).unwrap(), [date]);
    }
}
