//! Every path in the lake, made in one place.
//!
//! ```text
//! <lake>/events/date=YYYY-MM-DD/part-<run>-<n>.parquet   committed event files
//! <lake>/quarantine/date=YYYY-MM-DD/<run>-<n>.jsonl      rejected records (date of ingest)
//! <lake>/_state/checkpoints.json                         how far each source was read
//! <lake>/_state/commits/<run>-<n>.json                   commits written, not yet applied
//! <lake>/_state/staging/<run>/...                        files of commits in progress
//! <lake>/_state/lake.lock                                one writer at a time
//! <lake>/_state/serve.lock                               one `kvaudit serve` at a time
//! <lake>/_state/serve.json                               the service's ingest state
//! <lake>/_audit/api.jsonl                                who used the API for what (append-only)
//! <lake>/_exports/<id>/                                  exports started through the API
//! <lake>/alerts/suppressions.json                        API suppressions and their expiry
//! <lake>/_state/deliver.lock                             one alert delivery at a time
//! <lake>/alerts/outbox.jsonl                             delivery state per alert × channel
//! <lake>/_state/blob-listing.json                        newest hour listed per vault folder
//! <lake>/_state/redaction_salt                           the key of redacted values' hashes (0600)
//! <lake>/_state/manifests/date=YYYY-MM-DD.json           a partition's last compaction switch
//! <lake>/_state/compact/<run>/...                        files of a compaction in progress
//! <lake>/_state/compact.lock                             one compaction or retention at a time
//! <lake>/_state/trash/<run>/...                          partitions retention is deleting
//! <lake>/_audit/retention.jsonl                          everything retention deleted, and why
//! ```
//!
//! Invariant: no other module formats a `date=` directory or a file name; a lake path is
//! made through these types, so readers and writers cannot drift apart.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// The root of a local lake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakePaths {
    root: PathBuf,
}

/// Identifies one ingest run: sortable by start time, unique across processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId(String);

impl RunId {
    /// A new id: UTC start time, process id and a few random bits.
    pub fn new() -> Self {
        let now = chrono::Utc::now();
        let salt: u16 = rand::random();
        RunId(format!("{}-{}-{salt:04x}", now.format("%Y%m%dT%H%M%S%.3fZ"), std::process::id()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl LakePaths {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LakePaths { root: root.into() }
    }

    /// The layout with paths relative to the lake's root (`events`, `_state/…`): what a
    /// lake in an object store prefixes with its own root (`lake::remote`).
    pub fn relative() -> Self {
        LakePaths { root: PathBuf::new() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn events_dir(&self) -> PathBuf {
        self.root.join("events")
    }

    pub fn quarantine_dir(&self) -> PathBuf {
        self.root.join("quarantine")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join("_state")
    }

    pub fn checkpoints_file(&self) -> PathBuf {
        self.state_dir().join("checkpoints.json")
    }

    pub fn commits_dir(&self) -> PathBuf {
        self.state_dir().join("commits")
    }

    pub fn staging_root(&self) -> PathBuf {
        self.state_dir().join("staging")
    }

    pub fn staging_dir(&self, run: &RunId) -> PathBuf {
        self.staging_root().join(run.as_str())
    }

    /// Listing marks of Blob Storage sources (see `source::azure::state`).
    pub fn blob_listing_file(&self) -> PathBuf {
        self.state_dir().join("blob-listing.json")
    }

    /// The lake's random key for the hashes of redacted credentials (`record::redact`):
    /// made once, never rewritten, readable by the owner only.
    pub fn redaction_salt_file(&self) -> PathBuf {
        self.state_dir().join("redaction_salt")
    }

    /// Partition manifests: the last compaction switch of each date partition
    /// (see `lake::manifest`).
    pub fn manifests_dir(&self) -> PathBuf {
        self.state_dir().join("manifests")
    }

    /// The manifest of one date partition.
    pub fn partition_manifest_file(&self, date: NaiveDate) -> PathBuf {
        self.manifests_dir().join(format!("{}.json", partition_name(date)))
    }

    /// Where compactions write their files before the switch, one folder per run. Apart
    /// from ingest's `staging/`, which ingest's recovery empties.
    pub fn compact_staging_root(&self) -> PathBuf {
        self.state_dir().join("compact")
    }

    /// The staging folder of one compaction run.
    pub fn compact_staging_dir(&self, run: &RunId) -> PathBuf {
        self.compact_staging_root().join(run.as_str())
    }

    /// One compaction or retention run at a time (ingest keeps its own lock).
    pub fn compact_lock_file(&self) -> PathBuf {
        self.state_dir().join("compact.lock")
    }

    /// Partitions retention has taken out of the lake and is deleting.
    pub fn trash_dir(&self) -> PathBuf {
        self.state_dir().join("trash")
    }

    /// Append-only logs of what maintenance deleted.
    pub fn audit_dir(&self) -> PathBuf {
        self.root.join("_audit")
    }

    /// Every partition, alert, rollup and export retention deleted: what, when, why.
    pub fn retention_audit_file(&self) -> PathBuf {
        self.audit_dir().join("retention.jsonl")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.state_dir().join("lake.lock")
    }

    /// The detector's lock: one detection run at a time writes baselines and alerts.
    pub fn detect_lock_file(&self) -> PathBuf {
        self.state_dir().join("detect.lock")
    }

    /// One `kvaudit serve` per lake.
    pub fn service_lock_file(&self) -> PathBuf {
        self.state_dir().join("serve.lock")
    }

    /// What `kvaudit serve` remembers of its ingest runs (for `/metrics` and the dashboard).
    pub fn service_state_file(&self) -> PathBuf {
        self.state_dir().join("serve.json")
    }

    /// kvaudit's own audit log of API use: who read or changed what, append-only.
    pub fn api_audit_file(&self) -> PathBuf {
        self.root.join("_audit").join("api.jsonl")
    }

    /// Exports started through the API, one directory each.
    pub fn api_exports_dir(&self) -> PathBuf {
        self.root.join("_exports")
    }

    /// Alerts suppressed through the API, with when each suppression ends.
    pub fn alert_suppressions_file(&self) -> PathBuf {
        self.root.join("alerts").join("suppressions.json")
    }

    /// Alert delivery's lock: one process at a time sends from the outbox.
    pub fn deliver_lock_file(&self) -> PathBuf {
        self.state_dir().join("deliver.lock")
    }

    /// What the detector remembers between runs (where the last run ended).
    pub fn detector_state_file(&self) -> PathBuf {
        self.state_dir().join("detector.json")
    }

    /// Which events files each materialized activity rollup was built from.
    pub fn rollups_state_file(&self) -> PathBuf {
        self.state_dir().join("rollups.json")
    }

    /// Materialized baselines.
    pub fn baselines_dir(&self) -> PathBuf {
        self.root.join("baselines")
    }

    /// Hourly caller activity, one partition per event date.
    pub fn activity_dir(&self) -> PathBuf {
        self.baselines_dir().join("activity")
    }

    /// The activity rollup of one event date.
    pub fn activity_file(&self, date: NaiveDate) -> PathBuf {
        self.activity_dir().join(partition_name(date)).join("activity.parquet")
    }

    /// Every operation on a vault's objects, per day: the per-secret access index that
    /// `secret-status`, `secrets` and the lifecycle findings read instead of events.
    pub fn object_access_dir(&self) -> PathBuf {
        self.baselines_dir().join("object_access")
    }

    /// The object access index of one event date.
    pub fn object_access_file(&self, date: NaiveDate) -> PathBuf {
        self.object_access_dir().join(partition_name(date)).join("object_access.parquet")
    }

    /// The object access index of the days before the summary's cutoff, folded
    /// (`detect::lifecycle::summary`).
    pub fn object_summary_file(&self) -> PathBuf {
        self.baselines_dir().join("object_summary").join("object_summary.parquet")
    }

    /// What the object summary was built from (its cutoff and signature).
    pub fn object_summary_state_file(&self) -> PathBuf {
        self.state_dir().join("object_summary.json")
    }

    /// Imported secret inventories, one file per import, never rewritten: their history.
    pub fn inventory_dir(&self) -> PathBuf {
        self.root.join("inventory")
    }

    /// The events of one date partition: `events/date=YYYY-MM-DD/`.
    pub fn events_partition_dir(&self, date: NaiveDate) -> PathBuf {
        self.events_dir().join(partition_name(date))
    }

    /// The newest `date=` partition under `events/`, if any. Partitions are the dates of
    /// event times ([`partition_date`]), so it holds the newest event.
    pub fn newest_event_date(&self) -> Option<NaiveDate> {
        std::fs::read_dir(self.events_dir())
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| parse_partition_name(e.file_name().to_str()?))
            .max()
    }

    /// Every alert raised, with its state.
    pub fn alerts_file(&self) -> PathBuf {
        self.root.join("alerts").join("alerts.jsonl")
    }

    /// Delivery state of every alert on every channel (`deliver::outbox`).
    pub fn outbox_file(&self) -> PathBuf {
        self.root.join("alerts").join("outbox.jsonl")
    }

    pub fn commit_file(&self, run: &RunId, seq: u32) -> PathBuf {
        self.commits_dir().join(format!("{}-{seq:05}.json", run.as_str()))
    }
}

/// The partition date (UTC) of a timestamp in microseconds since the epoch. Ingest files
/// rows by it and the query side derives partition bounds from it, so both use this one.
pub fn partition_date(time_us: i64) -> Option<NaiveDate> {
    const MICROS_PER_DAY: i64 = 86_400_000_000;
    const DAYS_FROM_CE_TO_EPOCH: i64 = 719_163;
    let days = time_us.div_euclid(MICROS_PER_DAY) + DAYS_FROM_CE_TO_EPOCH;
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(days).ok()?)
}

/// The date of a `date=YYYY-MM-DD` partition directory name.
pub fn parse_partition_name(name: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(name.strip_prefix("date=")?, "%Y-%m-%d").ok()
}

/// The `date=YYYY-MM-DD` partition directory name for a date.
pub fn partition_name(date: NaiveDate) -> String {
    format!("date={}", date.format("%Y-%m-%d"))
}

/// A file of the lake, relative to its root, and where it is staged before its commit.
/// Both halves come from the same constructor so they always agree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StagedFile {
    /// Relative to the lake root, under `_state/staging/<run>/`.
    pub staged: PathBuf,
    /// Relative to the lake root, where the commit puts it.
    pub committed: PathBuf,
}

impl StagedFile {
    /// An event file of partition `date`, the `n`th that writer `lane` of the run makes:
    /// `events/date=…/part-<run>-<lane>-<n>.parquet`.
    pub fn event_file(run: &RunId, lane: u32, date: NaiveDate, n: u32) -> Self {
        let name = format!("part-{}-{lane:02}-{n:05}.parquet", run.as_str());
        let committed = Path::new("events").join(partition_name(date)).join(&name);
        let staged = Path::new("_state/staging").join(run.as_str()).join(&committed);
        StagedFile { staged, committed }
    }

    /// A file a compaction writes for partition `date`:
    /// `events/date=…/compact-<run>-<n>.parquet`, staged under `_state/compact/<run>/`.
    pub fn compacted_file(run: &RunId, date: NaiveDate, n: u32) -> Self {
        let name = format!("compact-{}-{n:05}.parquet", run.as_str());
        let committed = Path::new("events").join(partition_name(date)).join(&name);
        let staged = Path::new("_state/compact").join(run.as_str()).join(&committed);
        StagedFile { staged, committed }
    }

    /// The file name alone (what a partition manifest lists).
    pub fn file_name(&self) -> String {
        self.committed.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// A quarantine file, or the side file holding the bytes of an oversized record.
    pub fn quarantine_file(run: &RunId, ingest_date: NaiveDate, name: &str) -> Self {
        let committed =
            Path::new("quarantine").join(partition_name(ingest_date)).join(format!("{}-{name}", run.as_str()));
        let staged = Path::new("_state/staging").join(run.as_str()).join(&committed);
        StagedFile { staged, committed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_files_are_hive_partitioned_and_staged_under_the_run() {
        let run = RunId("r1".into());
        let f = StagedFile::event_file(&run, 1, NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(), 2);
        assert_eq!(f.committed, Path::new("events/date=2026-03-07/part-r1-01-00002.parquet"));
        assert_eq!(f.staged, Path::new("_state/staging/r1/events/date=2026-03-07/part-r1-01-00002.parquet"));
    }
}
