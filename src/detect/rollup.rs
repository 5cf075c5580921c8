//! Materialized rollups, one file per event date:
//! - [`Rollup::Activity`], `baselines/activity/date=D/activity.parquet`: hourly caller
//!   activity (`queries/detect/activity.sql`), what every baseline is computed from;
//! - [`Rollup::ObjectAccess`], `baselines/object_access/date=D/object_access.parquet`:
//!   every operation on the vault's objects per day (`queries/lifecycle/object_access.sql`),
//!   the per-secret access index of `secret-status`, `secrets` and the lifecycle findings.
//!
//! A detection run over one new hour reads thirty days of these small files instead of
//! thirty days of events. A rollup records which event files it was built from
//! (`_state/rollups.json`); when a date partition changes (late records, compaction), its
//! rollup is rebuilt on the next run. Files are written beside their final name and
//! renamed, so a reader sees a whole rollup or the previous one.

use chrono::{Duration, NaiveDate};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::DetectError;
use super::relations::with_day_relations;
use crate::lake::LakePaths;
use crate::query::QuerySession;

/// A rollup kept per event date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    /// Hourly caller activity (callers only: service records are left out).
    Activity,
    /// Every operation on objects and vaults per day, service records included.
    ObjectAccess,
}

impl Rollup {
    pub const ALL: [Rollup; 2] = [Rollup::Activity, Rollup::ObjectAccess];

    /// The name of its state entry and of the relation its files are read as.
    pub fn name(self) -> &'static str {
        match self {
            Rollup::Activity => "activity",
            Rollup::ObjectAccess => "object_access",
        }
    }

    /// The query building one date's rollup from `scope` (callers) or `records` (all).
    pub fn sql(self) -> &'static str {
        match self {
            Rollup::Activity => crate::query::registry::detector_query("activity"),
            Rollup::ObjectAccess => crate::query::registry::lifecycle_query("object_access"),
        }
    }

    pub fn dir(self, lake: &LakePaths) -> std::path::PathBuf {
        match self {
            Rollup::Activity => lake.activity_dir(),
            Rollup::ObjectAccess => lake.object_access_dir(),
        }
    }

    pub fn file(self, lake: &LakePaths, date: NaiveDate) -> std::path::PathBuf {
        match self {
            Rollup::Activity => lake.activity_file(date),
            Rollup::ObjectAccess => lake.object_access_file(date),
        }
    }
}

/// `_state/rollups.json`: per rollup and date, the signature of the event files it read.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RollupState {
    /// Rollup name → `YYYY-MM-DD` → signature.
    #[serde(default)]
    rollups: BTreeMap<String, BTreeMap<String, String>>,
}

/// The event files of a date partition that readers see (`lake::manifest`), as names and
/// sizes: changes when ingest adds a file or a compaction switches the partition. A
/// compaction therefore makes the day's rollups rebuild once on the next run, even when it
/// dropped no duplicate: a rebuild is one query over one day, and it keeps the signature a
/// plain fact about files rather than a claim about their rows.
fn partition_signature(files: &[crate::lake::manifest::VisibleFile]) -> Option<String> {
    if files.is_empty() {
        return None;
    }
    let text: String = files.iter().map(|f| format!("{}:{};", f.name, f.bytes)).collect();
    Some(format!("{:016x}", crate::hash::fnv1a(text.as_bytes())))
}

/// The signatures of `rollup`'s built days (`YYYY-MM-DD` → signature of the event files
/// each was built from): what a summary of those days depends on.
pub fn signatures(lake: &LakePaths, rollup: Rollup) -> BTreeMap<String, String> {
    let state: RollupState = std::fs::read(lake.rollups_state_file())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    state.rollups.get(rollup.name()).cloned().unwrap_or_default()
}

/// The first date with an events partition, if any.
pub fn first_event_date(lake: &LakePaths) -> Option<NaiveDate> {
    std::fs::read_dir(lake.events_dir())
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            NaiveDate::parse_from_str(name.strip_prefix("date=")?, "%Y-%m-%d").ok()
        })
        .min()
}

/// Days whose rollups are built at once: each query is already parallel inside
/// (`target_partitions`), but its last steps (the final sort, the Parquet encoding) run on
/// one thread, so one day at a time left a two-core machine a third idle.
const DAYS_AT_ONCE: usize = 2;

/// Builds or rebuilds the `rollup` files of `[first, last)` whose partitions changed.
/// Returns how many were built.
pub async fn refresh(
    session: &QuerySession,
    lake: &LakePaths,
    rollup: Rollup,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<usize, DetectError> {
    use futures::{StreamExt, TryStreamExt};

    let state_path = lake.rollups_state_file();
    let mut state: RollupState = match std::fs::read(&state_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => RollupState::default(),
    };
    let dates = state.rollups.entry(rollup.name().to_owned()).or_default();
    let mut stale = Vec::new();
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d < last).collect();
    // An error fails the run rather than make every day look empty (and drop its rollup).
    let visible = crate::lake::manifest::visible_files_of(lake, &days)?;
    for date in days {
        match visible.get(&date).and_then(|files| partition_signature(files)) {
            None => {
                // No events that day: no rollup (a stale one from deleted data goes too).
                if dates.remove(&date.to_string()).is_some() {
                    let _ = std::fs::remove_file(rollup.file(lake, date));
                }
            }
            Some(sig) if dates.get(&date.to_string()) == Some(&sig) && rollup.file(lake, date).exists() => {}
            Some(sig) => stale.push((date, sig)),
        }
    }
    let built: Vec<(NaiveDate, String)> = futures::stream::iter(stale)
        .map(|(date, sig)| async move {
            build_day(session, lake, rollup, date).await?;
            Ok::<_, DetectError>((date, sig))
        })
        .buffer_unordered(DAYS_AT_ONCE)
        .try_collect()
        .await?;
    for (date, sig) in &built {
        dates.insert(date.to_string(), sig.clone());
    }
    if !built.is_empty() {
        let bytes = serde_json::to_vec_pretty(&state).unwrap_or_default();
        crate::lake::write_atomically(&state_path, &bytes)?;
    }
    Ok(built.len())
}

/// Rolls one day of events up and writes its file.
async fn build_day(
    session: &QuerySession,
    lake: &LakePaths,
    rollup: Rollup,
    date: NaiveDate,
) -> Result<(), DetectError> {
    let start = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or(DetectError::BadTime)?;
    let sql = with_day_relations(rollup.sql(), start, start + Duration::days(1));
    let frame = session.context().sql(&sql).await?;
    let schema = std::sync::Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await?;
    write_rollup(&rollup.file(lake, date), schema, &batches)?;
    tracing::debug!(rollup = rollup.name(), %date, rows = batches.iter().map(|b| b.num_rows()).sum::<usize>(), "Built the rollup of a day.");
    Ok(())
}

pub(crate) fn write_rollup(
    path: &std::path::Path,
    schema: arrow::datatypes::SchemaRef,
    batches: &[arrow::record_batch::RecordBatch],
) -> Result<(), DetectError> {
    let io = |source| DetectError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or(path);
    std::fs::create_dir_all(dir).map_err(io)?;
    // Unique per write, not only per process: two writers of one rollup must never share
    // a temporary file.
    let tmp = path.with_extension(format!("tmp-{}-{:016x}", std::process::id(), rand::random::<u64>()));
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let props = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
    let parquet = |source| DetectError::Parquet { path: path.to_path_buf(), source };
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(parquet)?;
    for batch in batches {
        writer.write(batch).map_err(parquet)?;
    }
    writer.into_inner().map_err(parquet)?.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}
