//! Compaction: merges the small Parquet files of a date partition into files of a target
//! size, sorted, deduplicated, and swapped in behind the partition manifest.
//!
//! Hourly ingests leave one file per date per commit; a year of them is tens of thousands
//! of small files, each opened, its footer read and its statistics checked by every query.
//! Compaction rewrites a partition's small files (`plan.rs`) into few files of about
//! `target_bytes` (`rewrite.rs`):
//! - sorted by [`SortOrder`] (time first by default: the hot queries, hourly detection and
//!   exports, select time ranges, and a time-sorted file gives each row group and page a
//!   narrow time range to prune on; see the README for the measured effect of both orders);
//! - without exact duplicates of `(source, source_offset)` (one source record ingested
//!   twice, e.g. from a copy of the same blob): the sort puts such copies side by side;
//! - with zstd, row-group statistics and the page index (`lake::writer::writer_properties`).
//!
//! Crash safety and readers (`switch.rs`, `lake::manifest`): new files are written under
//! `_state/compact/<run>/`, then a `pending` manifest hides them, they are moved into the
//! partition, and rewriting the manifest to `switched` swaps the partition in one step;
//! the inputs are deleted after. A run killed anywhere is rolled back (before the switch)
//! or finished (after it) by the next run; staging garbage is deleted.
//!
//! Ingest: compaction takes its own lock (`_state/compact.lock`), never ingest's. It only
//! rewrites the files it listed when it started on a partition; files ingest adds to the
//! partition meanwhile are named in no manifest, so they stay visible and untouched, and
//! are compacted by a later run.

mod plan;
mod rewrite;
mod switch;

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Serialize;

use crate::lake::lock::LakeLock;
use crate::lake::{LakeError, LakePaths, RunId};

pub use switch::Recovery;

/// Why a compaction stopped.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    /// The lake could not be read or written, or another compaction holds its lock.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// Reading or sorting the input files failed.
    #[error("reading the files of {date}: {source}")]
    Read { date: NaiveDate, source: datafusion::error::DataFusionError },
    /// Writing a compacted file failed.
    #[error("writing {path}: {source}")]
    Write { path: std::path::PathBuf, source: parquet::errors::ParquetError },
    /// A batch could not be brought to the file schema (a bug).
    #[error("conforming a batch to the events schema: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The order rows are written in. Rows with the same `(source, source_offset)` are
/// adjacent in every order (the same record has the same time, vault and identity), which
/// is how duplicates are found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SortOrder {
    /// The hour of `time`, then `vault, identity_oid, time`: a row group spans about an
    /// hour, so an hour of detection or a day of export still reads few of them, and inside
    /// the hour one vault's and one identity's records sit together as they did in their
    /// hourly blob. That keeps `raw` compressing as well as ingest's files: sorting by
    /// `time` alone interleaves every vault's records and made a compacted day 64 % larger
    /// than its ingested files (1.2M records: 94.8 MB ingested, 155.4 MB sorted by time).
    #[default]
    Hour,
    /// `time, vault, identity_oid`: the narrowest time range per row group and page, at
    /// the cost of size (see [`SortOrder::Hour`]).
    Time,
    /// `vault, identity_oid, time`: narrow vault and identity ranges instead, for
    /// per-vault or per-identity lookups; a time range then prunes nothing inside a day.
    VaultIdentityTime,
}

impl SortOrder {
    /// The sort keys, ending with the duplicate key.
    pub fn keys(self) -> Vec<datafusion::logical_expr::SortExpr> {
        use datafusion::functions::expr_fn::date_trunc;
        use datafusion::prelude::{col, lit};
        let mut keys = match self {
            SortOrder::Hour => {
                vec![date_trunc(lit("hour"), col("time")), col("vault"), col("identity_oid"), col("time")]
            }
            SortOrder::Time => vec![col("time"), col("vault"), col("identity_oid")],
            SortOrder::VaultIdentityTime => vec![col("vault"), col("identity_oid"), col("time")],
        };
        keys.extend([col("source"), col("source_offset")]);
        keys.into_iter().map(|key| key.sort(true, false)).collect()
    }
}

/// An inclusive range of partition dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// How a compaction runs.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    pub lake: LakePaths,
    /// Partitions to compact; all when `None`.
    pub dates: Option<DateRange>,
    /// Size of the files written: a file is closed once it reaches it. Files under half of
    /// it are "small" and get compacted.
    pub target_bytes: u64,
    pub order: SortOrder,
    /// Rows per row group: the unit of pruning by statistics.
    pub row_group_rows: usize,
    /// zstd level of compacted files: higher than ingest's, since compaction runs in the
    /// background and the files are kept for long.
    pub zstd_level: i32,
    /// Memory the sort may use before it spills to `_state/compact/<run>/spill`.
    pub memory_limit: usize,
    /// Rewrite every file of a partition with more than one, not only the small ones:
    /// one global sort and deduplication across the whole day.
    pub full: bool,
    /// How long replaced files stay on disk after the switch, for queries that listed the
    /// partition before it and still read them; later runs delete them. Zero deletes them
    /// at once.
    pub grace: Duration,
    /// At most this many partitions rewritten in one run, newest first; the others wait
    /// for the next run. Bounds how long one run holds up its caller (`serve`'s cycle) on
    /// a lake with a long uncompacted history. `None`: every partition that needs it.
    pub max_partitions: Option<usize>,
}

impl CompactOptions {
    pub fn new(lake: LakePaths) -> Self {
        CompactOptions {
            lake,
            dates: None,
            target_bytes: 128 << 20,
            order: SortOrder::default(),
            row_group_rows: 64 * 1024,
            zstd_level: 3,
            memory_limit: 1 << 30,
            full: false,
            grace: Duration::ZERO,
            max_partitions: None,
        }
    }
}

/// What compacting one partition did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PartitionSummary {
    pub date: String,
    pub files_before: u64,
    pub files_after: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub rows_before: u64,
    pub rows_after: u64,
    pub duplicates_dropped: u64,
}

/// What a compaction run did. Printed as one line, or as one JSON object.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CompactSummary {
    /// Partitions rewritten.
    pub partitions_compacted: u64,
    /// Partitions looked at and left alone (fewer than two small files, or still holding
    /// files an earlier run replaced, within their grace period).
    pub partitions_skipped: u64,
    /// Partitions not looked at because `max_partitions` were rewritten: a later run
    /// takes them.
    pub partitions_left: u64,
    /// Files rewritten, and the files they became.
    pub files_before: u64,
    pub files_after: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub rows_before: u64,
    pub rows_after: u64,
    pub duplicates_dropped: u64,
    /// What this run finished or undid of interrupted runs before it started.
    pub recovered: Recovery,
    pub seconds: f64,
    /// Input bytes rewritten per second.
    pub mb_per_second: f64,
    pub partitions: Vec<PartitionSummary>,
}

impl CompactSummary {
    fn add(&mut self, p: PartitionSummary) {
        self.partitions_compacted += 1;
        self.files_before += p.files_before;
        self.files_after += p.files_after;
        self.bytes_before += p.bytes_before;
        self.bytes_after += p.bytes_after;
        self.rows_before += p.rows_before;
        self.rows_after += p.rows_after;
        self.duplicates_dropped += p.duplicates_dropped;
        self.partitions.push(p);
    }
}

impl std::fmt::Display for CompactSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "compacted {} partitions ({} left as they were): {} files, {:.1} MB, {} rows into {} files, {:.1} MB, {} rows; {} duplicates dropped; {:.2} s ({:.1} MB/s)",
            self.partitions_compacted,
            self.partitions_skipped,
            self.files_before,
            self.bytes_before as f64 / 1e6,
            self.rows_before,
            self.files_after,
            self.bytes_after as f64 / 1e6,
            self.rows_after,
            self.duplicates_dropped,
            self.seconds,
            self.mb_per_second,
        )?;
        if self.partitions_left > 0 {
            write!(f, "; {} partitions left for a later run (--max-partitions)", self.partitions_left)?;
        }
        let r = &self.recovered;
        if r.rolled_back + r.finished + r.staging_removed > 0 {
            write!(
                f,
                "; interrupted runs: {} rolled back, {} finished, {} staging folders removed",
                r.rolled_back, r.finished, r.staging_removed
            )?;
        }
        Ok(())
    }
}

/// Compacts the partitions `options` selects. Safe to run while ingest runs; one
/// compaction (or retention) at a time per lake.
pub async fn compact(options: &CompactOptions) -> Result<CompactSummary, CompactError> {
    let started = Instant::now();
    let lake = &options.lake;
    let _lock = LakeLock::acquire_compaction(lake)?;
    let recovered = switch::recover(lake, options.grace)?;
    let mut summary = CompactSummary { recovered: recovered.clone(), ..Default::default() };
    let run = RunId::new();
    let mut dates = crate::lake::manifest::partition_dates(lake)?;
    if options.max_partitions.is_some() {
        // Newest first: recent days are the ones queries and detection read most.
        dates.reverse();
    }
    for date in dates {
        if options.dates.is_some_and(|r| !r.contains(date)) {
            continue;
        }
        if options.max_partitions.is_some_and(|n| summary.partitions_compacted as usize >= n) {
            summary.partitions_left += 1;
            continue;
        }
        if recovered.waiting.contains(&date.to_string()) {
            summary.partitions_skipped += 1;
            continue;
        }
        let Some(inputs) = plan::inputs(lake, date, options)? else {
            summary.partitions_skipped += 1;
            continue;
        };
        let rewritten = match rewrite::rewrite(lake, &run, date, &inputs, options).await {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_dir_all(lake.compact_staging_dir(&run));
                return Err(e);
            }
        };
        switch::switch(lake, date, &run, &inputs, &rewritten.outputs, options.grace)?;
        let partition = PartitionSummary {
            date: date.to_string(),
            files_before: inputs.len() as u64,
            files_after: rewritten.outputs.len() as u64,
            bytes_before: inputs.iter().map(|f| f.bytes).sum(),
            bytes_after: rewritten.bytes,
            rows_before: rewritten.rows_in,
            rows_after: rewritten.rows_out,
            duplicates_dropped: rewritten.rows_in - rewritten.rows_out,
        };
        tracing::info!(
            %date,
            files_before = partition.files_before,
            files_after = partition.files_after,
            rows = partition.rows_after,
            duplicates = partition.duplicates_dropped,
            "Compacted a partition."
        );
        summary.add(partition);
    }
    let staging = lake.compact_staging_dir(&run);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|source| LakeError::Io { path: staging, source })?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary.mb_per_second = summary.bytes_before as f64 / 1e6 / summary.seconds.max(1e-9);
    Ok(summary)
}
