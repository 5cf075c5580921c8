//! Event partitions past the limit: which go, which a hold keeps, and their deletion.
//!
//! A partition `date=D` holds events of `[D, D+1)`; it is past the limit when `D+1` is not
//! after the cutoff, i.e. when every event it can hold is older than the limit. Its rows
//! and vaults are read through the query session (so they are the rows readers see, and a
//! vault hold is checked against the events actually there).

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Int64Type};
use chrono::{Duration, NaiveDate};

use super::audit::AuditLog;
use super::{DataKind, Deletion, Held, Keep, RetentionError, RetentionOptions, RetentionSummary};
use crate::lake::manifest::partition_dates;
use crate::lake::{LakeError, LakePaths, RunId};
use crate::query::{QuerySession, SessionOptions};

/// Deletes what a killed run left in `_state/trash/` (its audit lines are written).
pub(crate) fn empty_trash(lake: &LakePaths) -> Result<(), RetentionError> {
    let trash = lake.trash_dir();
    if trash.exists() {
        std::fs::remove_dir_all(&trash).map_err(|source| LakeError::Io { path: trash, source })?;
    }
    Ok(())
}

/// Rows per vault of each partition in `[first, last]`.
async fn vault_rows(
    lake: &LakePaths,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<BTreeMap<String, BTreeMap<String, u64>>, RetentionError> {
    let session = QuerySession::open(&SessionOptions::new(lake.clone())).await?;
    let sql = format!(
        "SELECT date, vault, count(*) AS n FROM events WHERE date >= '{first}' AND date <= '{last}' GROUP BY date, vault"
    );
    let (_, batches) = session.sql(&sql).await?;
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for batch in batches {
        let cast = |i: usize, t: &DataType| arrow::compute::cast(batch.column(i), t);
        let (dates, vaults, counts) =
            (cast(0, &DataType::Utf8)?, cast(1, &DataType::Utf8)?, cast(2, &DataType::Int64)?);
        let (dates, vaults, counts) =
            (dates.as_string::<i32>(), vaults.as_string::<i32>(), counts.as_primitive::<Int64Type>());
        for i in 0..batch.num_rows() {
            out.entry(dates.value(i).to_owned())
                .or_default()
                .insert(vaults.value(i).to_owned(), counts.value(i).max(0) as u64);
        }
    }
    Ok(out)
}

impl From<arrow::error::ArrowError> for RetentionError {
    fn from(e: arrow::error::ArrowError) -> Self {
        RetentionError::Query(crate::query::QueryError::Arrow(e))
    }
}

/// Every Parquet file of the partition directory (hidden ones too: they go with it).
fn files_on_disk(lake: &LakePaths, date: NaiveDate) -> Result<(u64, u64), RetentionError> {
    let dir = lake.events_partition_dir(date);
    let mut files = 0;
    let mut bytes = 0;
    for entry in std::fs::read_dir(&dir).map_err(|source| LakeError::Io { path: dir.clone(), source })? {
        let entry = entry.map_err(|source| LakeError::Io { path: dir.clone(), source })?;
        if entry.file_name().to_string_lossy().ends_with(".parquet") {
            files += 1;
            bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    Ok((files, bytes))
}

pub(crate) async fn apply(
    options: &RetentionOptions,
    keep: Keep,
    audit: &mut AuditLog,
    summary: &mut RetentionSummary,
) -> Result<(), RetentionError> {
    let lake = &options.lake;
    let cutoff = keep.cutoff(options.as_of);
    let past: Vec<NaiveDate> = partition_dates(lake)?
        .into_iter()
        .filter(|d| d.and_hms_opt(0, 0, 0).map(|t| (t + Duration::days(1)).and_utc() <= cutoff).unwrap_or(false))
        .collect();
    let (Some(first), Some(last)) = (past.first().copied(), past.last().copied()) else { return Ok(()) };
    let rows = vault_rows(lake, first, last).await?;
    let reason = format!("older than the events limit {keep} (every event before {})", cutoff.to_rfc3339());
    let run = RunId::new();
    for date in past {
        let target = format!("events/{}", crate::lake::paths::partition_name(date));
        let vaults = rows.get(&date.to_string());
        let vaults_here: BTreeSet<&str> = vaults.map(|v| v.keys().map(String::as_str).collect()).unwrap_or_default();
        let hold = options.rules.legal_holds.iter().find(|h| {
            h.covers_date(date) && (h.vault.is_none() || vaults_here.iter().any(|v| h.covers(Some(v), date)))
        });
        if let Some(hold) = hold {
            summary.held.push(Held { kind: DataKind::EventsPartition, target, hold: hold.to_string() });
            continue;
        }
        let (files, bytes) = files_on_disk(lake, date)?;
        let deletion = Deletion {
            kind: DataKind::EventsPartition,
            target,
            files,
            rows: vaults.map(|v| v.values().sum()).unwrap_or(0),
            bytes,
            reason: reason.clone(),
            items: Vec::new(),
        };
        audit.carry_out(deletion, summary, |deletion| {
            delete_partition(lake, date, &run)?;
            tracing::info!(%date, files, rows = deletion.rows, "Deleted an events partition past the retention limit.");
            Ok(())
        })?;
    }
    if !options.dry_run {
        empty_trash(lake)?;
    }
    Ok(())
}

/// Takes the partition out of the lake in one rename (readers see it whole or gone), drops
/// its manifest, then deletes its files.
fn delete_partition(lake: &LakePaths, date: NaiveDate, run: &RunId) -> Result<(), RetentionError> {
    let dir = lake.events_partition_dir(date);
    let trash = lake.trash_dir().join(run.as_str());
    let io = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| LakeError::Io { path, source }
    };
    std::fs::create_dir_all(&trash).map_err(io(&trash))?;
    let target = trash.join(crate::lake::paths::partition_name(date));
    std::fs::rename(&dir, &target).map_err(io(&dir))?;
    crate::lake::sync_dir(&lake.events_dir())?;
    let manifest = lake.partition_manifest_file(date);
    match std::fs::remove_file(&manifest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(LakeError::Io { path: manifest, source }.into()),
    }
    std::fs::remove_dir_all(&target).map_err(io(&target))?;
    Ok(())
}
