//! Retention: deletes what is past its limit, never what a legal hold covers, and writes
//! everything it deletes to `<lake>/_audit/retention.jsonl` first.
//!
//! Each kind of data has its own limit ([`RetentionRules`]):
//! - **events** (`keep`, `--keep`): whole date partitions whose every possible event is
//!   older than the limit (`events.rs`). A partition is taken out of the lake with one
//!   rename (into `_state/trash/`) so a reader sees it whole or not at all, then deleted;
//! - **alerts** (`keep_alerts`): alerts whose window ended before the limit (`alerts.rs`);
//! - **baselines** (`keep_baselines`): materialized rollup days under `baselines/`;
//! - **exports** (`keep_exports`): export folders under `exports_dir`, by the creation
//!   time in their manifest (`others.rs`).
//!
//! Legal holds: a partition holding any event of a held vault (within the hold's period,
//! if it has one), or lying in a held period, is kept whole. Rewriting it without the other
//! vaults' rows was considered and rejected: it would rewrite files under a hold (the
//! evidence the hold protects) and mix a deletion into a compaction; a held day costs its
//! disk space until the hold is lifted, then the next run deletes it. Rollup files hold
//! every vault, so a hold keeps every rollup day it covers; an export is kept if its scope
//! (vault, period) meets a hold.
//!
//! Audit: one JSON line per deletion (what, files, rows, bytes, when, why), appended and
//! synced before the deletion. `dry_run` lists the same deletions and deletes nothing (and
//! writes no audit line). Concurrency: retention takes the compaction lock (no compaction
//! rewrites a partition being deleted) and, for alerts, the detector's lock. A record
//! ingested late into a partition being deleted survives in a recreated partition, which
//! the next run deletes.

mod alerts;
mod audit;
mod events;
mod others;
pub mod policy;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::lake::lock::LakeLock;
use crate::lake::{LakeError, LakePaths};

pub use policy::{Keep, LegalHold, RetentionConfig, RetentionRules};

/// Why retention failed, or refused its configuration.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// A limit is not a number of days or weeks.
    #[error("a retention limit must be days or weeks like 400d or 57w (at least 1 day), not {0:?}")]
    BadKeep(String),
    /// A legal hold (or the exports setting) is incomplete or contradicts itself.
    #[error("retention: {0}")]
    BadHold(String),
    /// The lake could not be read or changed, or a lock is held.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// Finding which vaults an old partition holds failed.
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    /// The alert store could not be read or written.
    #[error(transparent)]
    Alerts(#[from] crate::alert::AlertError),
    /// An export folder or the audit log could not be read or changed.
    #[error("{path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
}

/// How a retention run behaves.
#[derive(Debug, Clone)]
pub struct RetentionOptions {
    pub lake: LakePaths,
    pub rules: RetentionRules,
    /// List what would be deleted; delete nothing.
    pub dry_run: bool,
    /// The moment limits count back from (now, except in tests).
    pub as_of: DateTime<Utc>,
}

impl RetentionOptions {
    pub fn new(lake: LakePaths, rules: RetentionRules) -> Self {
        RetentionOptions { lake, rules, dry_run: false, as_of: Utc::now() }
    }
}

/// What kind of data a deletion removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    EventsPartition,
    Alerts,
    BaselinesPartition,
    Export,
}

/// One deletion (done, or planned in a dry run): also the body of an audit line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deletion {
    pub kind: DataKind,
    /// What: `events/date=2025-01-01`, `alerts/alerts.jsonl`, an export folder.
    pub target: String,
    pub files: u64,
    /// Events in a partition, alerts in the store.
    pub rows: u64,
    pub bytes: u64,
    /// Why: the limit and the cutoff it gives.
    pub reason: String,
    /// Ids of deleted alerts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

/// Something past its limit kept by a legal hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    pub kind: DataKind,
    pub target: String,
    pub hold: String,
}

/// What a retention run deleted (or, in a dry run, would delete) and what it kept.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RetentionSummary {
    pub dry_run: bool,
    pub as_of: String,
    pub partitions_deleted: u64,
    pub files_deleted: u64,
    pub rows_deleted: u64,
    pub bytes_deleted: u64,
    pub alerts_deleted: u64,
    pub baselines_deleted: u64,
    pub exports_deleted: u64,
    pub deleted: Vec<Deletion>,
    pub held: Vec<Held>,
}

impl RetentionSummary {
    fn add(&mut self, d: Deletion) {
        match d.kind {
            DataKind::EventsPartition => {
                self.partitions_deleted += 1;
                self.files_deleted += d.files;
                self.rows_deleted += d.rows;
                self.bytes_deleted += d.bytes;
            }
            DataKind::Alerts => self.alerts_deleted += d.rows,
            DataKind::BaselinesPartition => self.baselines_deleted += 1,
            DataKind::Export => self.exports_deleted += 1,
        }
        self.deleted.push(d);
    }
}

impl std::fmt::Display for RetentionSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run { "would delete" } else { "deleted" };
        for d in &self.deleted {
            writeln!(f, "{verb} {} ({} files, {} rows, {} bytes): {}", d.target, d.files, d.rows, d.bytes, d.reason)?;
        }
        for h in &self.held {
            writeln!(f, "kept {}: {}", h.target, h.hold)?;
        }
        write!(
            f,
            "retention {verb} {} event partitions ({} files, {} rows, {:.1} MB), {} alerts, {} baseline days, {} exports; {} kept by legal holds",
            self.partitions_deleted,
            self.files_deleted,
            self.rows_deleted,
            self.bytes_deleted as f64 / 1e6,
            self.alerts_deleted,
            self.baselines_deleted,
            self.exports_deleted,
            self.held.len(),
        )
    }
}

/// Applies the rules: plans every deletion, writes each to the audit log, deletes.
pub async fn run(options: &RetentionOptions) -> Result<RetentionSummary, RetentionError> {
    let lake = &options.lake;
    let _lock = LakeLock::acquire_compaction(lake)?;
    if !options.dry_run {
        events::empty_trash(lake)?;
    }
    let mut summary = RetentionSummary {
        dry_run: options.dry_run,
        as_of: options.as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ..Default::default()
    };
    let mut audit = audit::AuditLog::new(lake, options.dry_run);
    if let Some(keep) = options.rules.keep {
        events::apply(options, keep, &mut audit, &mut summary).await?;
    }
    if let Some(keep) = options.rules.keep_alerts {
        alerts::apply(options, keep, &mut audit, &mut summary)?;
    }
    if let Some(keep) = options.rules.keep_baselines {
        others::baselines(options, keep, &mut audit, &mut summary)?;
    }
    if let (Some(keep), Some(dir)) = (options.rules.keep_exports, &options.rules.exports_dir) {
        others::exports(options, keep, dir, &mut audit, &mut summary)?;
    }
    Ok(summary)
}
