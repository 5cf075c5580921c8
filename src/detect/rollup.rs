//! Materialized activity: `baselines/activity/date=D/activity.parquet`, the hourly rollup
//! (`queries/detect/activity.sql`) of one event date.
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
use super::relations::{bind_scope, collect};
use crate::lake::LakePaths;
use crate::lake::paths::partition_name;
use crate::query::QuerySession;

/// `_state/rollups.json`: per date, the signature of the event files its rollup read.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RollupState {
    /// `YYYY-MM-DD` → signature.
    dates: BTreeMap<String, String>,
}

/// The event files of a date partition, as names and sizes: changes when ingest adds a file
/// or compaction replaces them.
fn partition_signature(lake: &LakePaths, date: NaiveDate) -> Option<String> {
    let dir = lake.events_dir().join(partition_name(date));
    let mut files: Vec<(String, u64)> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let len = e.metadata().ok()?.len();
            name.ends_with(".parquet").then_some((name, len))
        })
        .collect();
    if files.is_empty() {
        return None;
    }
    files.sort();
    let text: String = files.iter().map(|(n, l)| format!("{n}:{l};")).collect();
    Some(format!("{:016x}", crate::hash::fnv1a(text.as_bytes())))
}

/// Builds or rebuilds the rollups of `[first, last)` whose partitions changed. Returns how
/// many were built.
pub async fn refresh(
    session: &QuerySession,
    lake: &LakePaths,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<usize, DetectError> {
    let state_path = lake.rollups_state_file();
    let mut state: RollupState = match std::fs::read(&state_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => RollupState::default(),
    };
    let mut built = 0;
    let mut date = first;
    while date < last {
        let signature = partition_signature(lake, date);
        let file = lake.activity_file(date);
        match signature {
            None => {
                // No events that day: no rollup (a stale one from deleted data goes too).
                if state.dates.remove(&date.to_string()).is_some() {
                    let _ = std::fs::remove_file(&file);
                }
            }
            Some(sig) if state.dates.get(&date.to_string()) == Some(&sig) && file.exists() => {}
            Some(sig) => {
                let start = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or(DetectError::BadTime)?;
                bind_scope(session, start, start + Duration::days(1), None).await?;
                let (schema, batches) = collect(session, "activity").await?;
                write_rollup(&file, schema, &batches)?;
                state.dates.insert(date.to_string(), sig);
                built += 1;
                tracing::debug!(%date, rows = batches.iter().map(|b| b.num_rows()).sum::<usize>(), "Built the activity rollup of a day.");
            }
        }
        date = date.succ_opt().ok_or(DetectError::BadTime)?;
    }
    if built > 0 {
        let bytes = serde_json::to_vec_pretty(&state).unwrap_or_default();
        crate::lake::write_atomically(&state_path, &bytes)?;
    }
    Ok(built)
}

fn write_rollup(
    path: &std::path::Path,
    schema: arrow::datatypes::SchemaRef,
    batches: &[arrow::record_batch::RecordBatch],
) -> Result<(), DetectError> {
    let io = |source| DetectError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or(path);
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
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
