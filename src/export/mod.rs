//! Compliance exports: every access in a scope (period, vault, identity) out of the lake,
//! with reports and a manifest that proves the export complete and unaltered.
//!
//! An export runs `queries/export/*.sql` over the `export_scope` and `coverage_scope`
//! views ([`scope`]), one date partition at a time so memory holds one day of one scope,
//! and writes ([`writers`]) the events one file per vault, `access_review.csv`,
//! `lifecycle_report.csv` ([`lifecycle`]), then `manifest.json` ([`manifest`]) with the
//! lake's coverage of the period ([`coverage`]) and the SHA-256 of every file.
//! [`verify`] checks a directory against its manifest.
//!
//! Invariants: files are written into a temporary sibling of `--out` and the manifest last;
//! only then is the directory renamed into place, so a crashed export never looks complete.
//! An existing non-empty `--out` is never written to. The lake's writer lock is held for
//! the whole export, so ingest cannot change the lake between the queries that make up one
//! export (an ingest started meanwhile is refused and can be rerun). The lake is only read.

pub mod coverage;
pub mod csv_safety;
pub mod layout;
pub mod lifecycle;
pub mod manifest;
pub mod scope;
pub mod verify;
pub mod writers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, Utc};
use datafusion::common::ScalarValue;
use futures::StreamExt;

use crate::alert::AlertStore;
use crate::lake::LakePaths;
use crate::lake::lock::LakeLock;
use crate::query::registry::export_query;
use crate::query::{QuerySession, SessionOptions};
use layout::ExportLayout;
use manifest::{FileEntry, Manifest, Reports, RowCounts, ScopeRecord, SqlRun, time_text};
pub use scope::{ExportFormat, ExportScope};
pub use verify::{VerifyError, VerifySummary, verify};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The lake directory does not exist (a mistyped `--lake` must not export "nothing").
    #[error("the lake {0} does not exist")]
    NoLake(PathBuf),
    /// `--out` exists and holds files.
    #[error("{0} exists and is not empty; choose a new directory (an export never overwrites one)")]
    OutNotEmpty(PathBuf),
    /// `--out` exists and is not a directory.
    #[error("{0} exists and is not a directory")]
    OutNotDir(PathBuf),
    /// `from` is not before `to`.
    #[error("the export period is empty: --from {from} is not before --to {to}")]
    EmptyPeriod { from: DateTime<Utc>, to: DateTime<Utc> },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Opening the query session failed.
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    /// A query failed.
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Converting a query result failed.
    #[error("converting a query result: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Writing a Parquet file failed.
    #[error("writing {path}: {source}")]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    /// Writing a CSV file failed.
    #[error("writing {path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    /// The lake could not be locked or its state read.
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    /// The alert store could not be read.
    #[error(transparent)]
    Alerts(#[from] crate::alert::AlertError),
    /// An export query returned no such column (a query file and the code disagree).
    #[error("an export query returned no column {0:?}")]
    MissingColumn(&'static str),
}

/// What an export did.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    pub out: PathBuf,
    pub manifest: Manifest,
    /// SHA-256 of `manifest.json`: record it elsewhere to make the manifest itself checkable.
    pub manifest_sha256: String,
}

/// Exports `scope` from `lake` into the new directory `out`.
pub async fn export(lake: &LakePaths, scope: &ExportScope, out: &Path) -> Result<ExportSummary, ExportError> {
    if !lake.root().is_dir() {
        return Err(ExportError::NoLake(lake.root().to_path_buf()));
    }
    check_out(out)?;
    let _lock = LakeLock::acquire(lake)?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "export".into());
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|source| ExportError::Io { path: parent.to_path_buf(), source })?;
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|source| ExportError::Io { path: tmp.clone(), source })?;
    }
    std::fs::create_dir(&tmp).map_err(|source| ExportError::Io { path: tmp.clone(), source })?;
    let written = write_export(lake, scope, &tmp).await;
    let (manifest, manifest_sha256) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    // An empty existing `out` is replaced by the rename; a non-empty one makes it fail.
    std::fs::rename(&tmp, out).map_err(|source| {
        let _ = std::fs::remove_dir_all(&tmp);
        if out.is_dir() {
            ExportError::OutNotEmpty(out.to_path_buf())
        } else {
            ExportError::Io { path: out.to_path_buf(), source }
        }
    })?;
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|source| ExportError::Io { path: parent.to_path_buf(), source })?;
    tracing::info!(out = %out.display(), rows = manifest.rows.total, gaps = manifest.coverage.gaps.len(), "Exported.");
    Ok(ExportSummary { out: out.to_path_buf(), manifest, manifest_sha256 })
}

/// `out` must not exist, or be an empty directory.
fn check_out(out: &Path) -> Result<(), ExportError> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(ExportError::OutNotEmpty(out.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if out.exists() => Err(ExportError::OutNotDir(out.to_path_buf())),
        Err(source) => Err(ExportError::Io { path: out.to_path_buf(), source }),
    }
}

/// Writes every file into `root`, the manifest last; returns it and its SHA-256.
async fn write_export(lake: &LakePaths, scope: &ExportScope, root: &Path) -> Result<(Manifest, String), ExportError> {
    let session = QuerySession::open(&SessionOptions::new(lake.clone())).await?;
    scope::bind(&session, scope).await?;
    let ctx = session.context();
    let mut sql = vec![
        SqlRun { name: "export_scope".into(), sql: scope.scope_sql(), parameters: BTreeMap::new() },
        SqlRun { name: "coverage_scope".into(), sql: scope.coverage_sql(), parameters: BTreeMap::new() },
    ];

    // The events, one date partition at a time, each vault into its own file.
    let mut files = writers::EventFiles::new(root, scope.format);
    let dates: Vec<String> = scope.dates().iter().map(|d| d.format("%Y-%m-%d").to_string()).collect();
    for date in &dates {
        let frame = ctx
            .sql(export_query("events"))
            .await?
            .with_param_values(vec![("date", ScalarValue::Utf8(Some(date.clone())))])?;
        let mut stream = frame.execute_stream().await?;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            for (vault, run) in vault_runs(&batch)? {
                files.write(&vault, &run)?;
            }
        }
        tracing::debug!(%date, "Exported a date partition.");
    }
    sql.push(SqlRun {
        name: "queries/export/events.sql".into(),
        sql: export_query("events").to_owned(),
        parameters: BTreeMap::from([("date".to_owned(), dates)]),
    });
    let newlines_replaced = files.newlines_replaced;
    let mut entries: Vec<FileEntry> = Vec::new();
    let mut per_vault = BTreeMap::new();
    for (vault, entry) in files.finish()? {
        per_vault.insert(vault, entry.rows.unwrap_or(0));
        entries.push(entry);
    }
    let total = per_vault.values().sum();

    // Access review.
    let frame = ctx.sql(export_query("access_review")).await?;
    let schema = frame.schema().as_arrow().clone();
    let mut review = writers::CsvTable::create(root, ExportLayout::ACCESS_REVIEW, &schema)?;
    let mut stream = frame.execute_stream().await?;
    while let Some(batch) = stream.next().await {
        review.write(&batch?)?;
    }
    let review = review.finish()?;
    let access_review_rows = review.rows.unwrap_or(0);
    entries.push(review);
    sql.push(SqlRun {
        name: "queries/export/access_review.sql".into(),
        sql: export_query("access_review").to_owned(),
        parameters: BTreeMap::new(),
    });

    // Lifecycle findings from the alert store.
    let store = AlertStore::open(lake)?;
    let findings = lifecycle::findings(store.alerts(), scope);
    let lifecycle_findings = findings.len() as u64;
    entries.push(lifecycle::write(root, &findings)?);

    // Coverage.
    let batches = ctx.sql(export_query("coverage_hours")).await?.collect().await?;
    let mut hours = BTreeSet::new();
    for batch in &batches {
        let column = batch.column_by_name("hour").ok_or(ExportError::MissingColumn("hour"))?;
        let column = arrow::compute::cast(column, &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))?;
        let column = column.as_primitive::<TimestampMicrosecondType>();
        hours.extend(
            (0..column.len())
                .filter(|i| column.is_valid(*i))
                .filter_map(|i| DateTime::from_timestamp_micros(column.value(i))),
        );
    }
    sql.push(SqlRun {
        name: "queries/export/coverage_hours.sql".into(),
        sql: export_query("coverage_hours").to_owned(),
        parameters: BTreeMap::new(),
    });
    let coverage = coverage::measure(lake, scope, &hours)?;

    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        manifest_version: manifest::MANIFEST_VERSION,
        kvaudit_version: env!("CARGO_PKG_VERSION").to_owned(),
        created: time_text(Utc::now()),
        lake: std::fs::canonicalize(lake.root()).unwrap_or_else(|_| lake.root().to_path_buf()).display().to_string(),
        scope: ScopeRecord {
            from: time_text(scope.from),
            to: time_text(scope.to),
            vault: scope.vault.clone(),
            identity: scope.identity.clone(),
            format: scope.format.extension().to_owned(),
        },
        sql,
        rows: RowCounts {
            total,
            per_vault,
            jsonl_newlines_replaced: (scope.format == ExportFormat::Jsonl).then_some(newlines_replaced),
        },
        coverage,
        reports: Reports {
            access_review_rows,
            lifecycle_findings,
            lifecycle_source: lake.alerts_file().display().to_string(),
            lifecycle_kinds: lifecycle::LIFECYCLE_KINDS.iter().map(|k| k.as_str().to_owned()).collect(),
        },
        files: entries,
    };
    let mut text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    text.push(b'\n');
    let mut file = writers::HashedFile::create(root, ExportLayout::MANIFEST)?;
    std::io::Write::write_all(&mut file, &text)
        .map_err(|source| ExportError::Io { path: root.join(ExportLayout::MANIFEST), source })?;
    let entry = file.finish(0)?;
    for dir in [root.join("events"), root.to_path_buf()] {
        if dir.is_dir() {
            std::fs::File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|source| ExportError::Io { path: dir, source })?;
        }
    }
    Ok((manifest, entry.sha256))
}

/// Splits a batch sorted by vault into its runs of one vault each.
fn vault_runs(
    batch: &arrow::record_batch::RecordBatch,
) -> Result<Vec<(String, arrow::record_batch::RecordBatch)>, ExportError> {
    let column = batch.column_by_name("vault").ok_or(ExportError::MissingColumn("vault"))?;
    let column = arrow::compute::cast(column, &DataType::Utf8)?;
    let vaults = column.as_string::<i32>();
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=vaults.len() {
        if i == vaults.len() || vaults.value(i) != vaults.value(start) {
            runs.push((vaults.value(start).to_owned(), batch.slice(start, i - start)));
            start = i;
        }
    }
    Ok(runs)
}
