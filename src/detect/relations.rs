//! The relations the detector's SQL reads, bound for one run.
//!
//! `scope` is the caller events of a time range: `events` without the service's own
//! records (`*EventGridNotification` are not caller activity), with an `identity` column
//! (object id, else app id, else `ip:<address>` for unauthenticated calls), and, when the
//! allow-list applies, without allow-listed first-party calls. `history` is the activity
//! rollup of the history window: materialized days from `baselines/activity/` plus the
//! part of the current day before the window, rolled up on the fly.
//!
//! Queries in `queries/detect/` name only these relations, so one file serves every run.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};

use super::DetectError;
use super::policy::AllowRule;
use super::rollup::Rollup;
use crate::lake::LakePaths;
use crate::query::QuerySession;
use crate::query::registry::detector_query;

/// A SQL timestamp literal for `t`.
pub fn timestamp_literal(t: DateTime<Utc>) -> String {
    format!("TIMESTAMP '{}'", t.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
}

/// The SQL predicate that is true for allow-listed calls (never NULL).
pub fn allowed_predicate(allow: &[AllowRule]) -> String {
    if allow.is_empty() {
        return "false".to_owned();
    }
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let rules: Vec<String> = allow
        .iter()
        .map(|r| {
            let mut parts = vec![format!("identity_appid = {}", quote(&r.appid))];
            if !r.operations.is_empty() {
                let ops: Vec<String> = r.operations.iter().map(|o| quote(o)).collect();
                parts.push(format!("operation IN ({})", ops.join(", ")));
            }
            format!("({})", parts.join(" AND "))
        })
        .collect();
    format!("coalesce({}, false)", rules.join(" OR "))
}

/// The query `scope` stands for: the caller events of `[from, to)`, allow-listed calls
/// left out when `allow` is given.
pub fn scope_sql(from: DateTime<Utc>, to: DateTime<Utc>, allow: Option<&[AllowRule]>) -> String {
    let allowed = allow.map(allowed_predicate).unwrap_or_else(|| "false".to_owned());
    format!(
        "SELECT *, coalesce(identity_oid, identity_appid, 'ip:' || caller_ip, 'unknown') AS identity FROM events \
         WHERE time >= {} AND time < {} AND operation NOT LIKE '%EventGridNotification' AND NOT {allowed}",
        timestamp_literal(from),
        timestamp_literal(to),
    )
}

/// The query `records` stands for: every record of `[from, to)`, service records included.
pub fn records_sql(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!("SELECT * FROM events WHERE time >= {} AND time < {}", timestamp_literal(from), timestamp_literal(to))
}

/// Binds `scope` to the caller events of `[from, to)`; allow-listed calls are left out
/// when `allow` is given (rollups keep them, so a changed allow-list needs no rebuild).
pub async fn bind_scope(
    session: &QuerySession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    allow: Option<&[AllowRule]>,
) -> Result<(), DetectError> {
    bind_view(session, "scope", &scope_sql(from, to, allow)).await
}

/// Binds `records` to every record of `[from, to)`, service records included.
pub async fn bind_records(session: &QuerySession, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), DetectError> {
    bind_view(session, "records", &records_sql(from, to)).await
}

async fn bind_view(session: &QuerySession, name: &str, sql: &str) -> Result<(), DetectError> {
    let view = session.context().sql(sql).await?.into_view();
    let ctx = session.context();
    ctx.deregister_table(name)?;
    ctx.register_table(name, view)?;
    Ok(())
}

/// A rollup query over `[from, to)` as one statement: `scope` and `records` bound by a
/// `WITH` clause instead of the session's tables, so several days can run at once in one
/// session. The rollup queries are single `SELECT`s (no `WITH` of their own).
pub fn with_day_relations(sql: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!("WITH scope AS ({}), records AS ({})\n{sql}", scope_sql(from, to, None), records_sql(from, to))
}

/// Runs a detector query and collects its schema and batches.
pub async fn collect(session: &QuerySession, name: &str) -> Result<(SchemaRef, Vec<RecordBatch>), DetectError> {
    let started = std::time::Instant::now();
    let frame = session.context().sql(detector_query(name)).await?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    tracing::debug!(query = name, rows, ms = started.elapsed().as_millis(), "Ran a detector query.");
    Ok((schema, batches))
}

/// Binds `history` to the activity of `[start, end)`: materialized rollups of the whole
/// days in it, and an on-the-fly rollup of the partial day before `end`. Allow-listed
/// calls are left out.
pub async fn bind_history(
    session: &QuerySession,
    lake: &LakePaths,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    allow: &[AllowRule],
) -> Result<(), DetectError> {
    let clip = format!("hour >= {} AND NOT {}", timestamp_literal(start), allowed_predicate(allow));
    bind_rollup(session, lake, Rollup::Activity, "history", (start, end), &clip, None).await
}

/// Binds `access` to the object access index of `[start, end)`, by whole days: a day's
/// rows count when the day overlaps the range.
pub async fn bind_access(
    session: &QuerySession,
    lake: &LakePaths,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(), DetectError> {
    let clip = format!("last_time >= {}", timestamp_literal(start));
    bind_rollup(session, lake, Rollup::ObjectAccess, "access", (start, end), &clip, None).await
}

/// Binds `access` over `[start, end)` with the days before `cutoff` read from `summary`,
/// the folded index of those days (`detect::lifecycle::summary`), instead of their files.
pub async fn bind_access_folded(
    session: &QuerySession,
    lake: &LakePaths,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    (summary, cutoff): (&std::path::Path, NaiveDate),
) -> Result<(), DetectError> {
    let clip = format!("last_time >= {}", timestamp_literal(start));
    bind_rollup(session, lake, Rollup::ObjectAccess, "access", (start, end), &clip, Some((summary, cutoff))).await
}

/// Binds `relation` to the rows of `rollup` over `[start, end)` that pass `clip`: the
/// materialized days, and the partial day before `end` rolled up now, in memory.
async fn bind_rollup(
    session: &QuerySession,
    lake: &LakePaths,
    rollup: Rollup,
    relation: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    clip: &str,
    folded: Option<(&std::path::Path, NaiveDate)>,
) -> Result<(), DetectError> {
    let ctx = session.context();
    let day_start = end.date_naive().and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(end);
    let (materialized, recent) = (format!("{}_days", rollup.name()), format!("{}_recent", rollup.name()));

    // The partial day [day_start, end): rolled up now, in memory.
    bind_scope(session, day_start.max(start), end, None).await?;
    bind_records(session, day_start.max(start), end).await?;
    let frame = ctx.sql(rollup.sql()).await?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let rows = if day_start < end { frame.collect().await? } else { Vec::new() };
    ctx.deregister_table(recent.as_str())?;
    ctx.register_table(recent.as_str(), Arc::new(MemTable::try_new(schema.clone(), vec![rows])?))?;

    // The materialized days.
    let dir = rollup.dir(lake);
    let has_files = std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(false);
    ctx.deregister_table(materialized.as_str())?;
    if has_files {
        let url = ListingTableUrl::parse(format!("{}/", dir.display()))?;
        let listing = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(vec![("date".to_string(), DataType::Utf8)]);
        let config = ListingTableConfig::new(url).with_listing_options(listing).with_schema(schema.clone());
        ctx.register_table(materialized.as_str(), Arc::new(ListingTable::try_new(config)?))?;
    } else {
        let mut fields: Vec<_> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(arrow::datatypes::Field::new("date", DataType::Utf8, true));
        let empty = Arc::new(arrow::datatypes::Schema::new(fields));
        ctx.register_table(materialized.as_str(), Arc::new(MemTable::try_new(empty, vec![vec![]])?))?;
    }

    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let columns = columns.join(", ");
    // Folded days come from their summary, the rest from their own files.
    let (first_day, summary) = match folded {
        Some((file, cutoff)) => {
            let name = format!("{}_summary", rollup.name());
            let view = ctx.read_parquet(file.display().to_string(), Default::default()).await?.into_view();
            ctx.deregister_table(name.as_str())?;
            ctx.register_table(name.as_str(), view)?;
            (cutoff.max(start.date_naive()), format!(" UNION ALL SELECT {columns} FROM {name}"))
        }
        None => (start.date_naive(), String::new()),
    };
    let sql = format!(
        "SELECT {columns} FROM {materialized} WHERE date >= '{}' AND date < '{}' \
         UNION ALL SELECT {columns} FROM {recent}{summary}",
        date_text(first_day),
        date_text(day_start.date_naive()),
    );
    let sql = format!("SELECT * FROM ({sql}) WHERE {clip}");
    // Read once into memory: every baseline (and every lifecycle query) reads the relation
    // again, and decoding thirty days of rollup files once is cheaper than six times.
    let frame = ctx.sql(&sql).await?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let rows = frame.collect().await?;
    // Each branch of the union yields batches of its own types (the summary file's text is
    // read as string views, the partial day's `outcome` is plain text); the table has the
    // union's.
    let rows = rows.iter().map(|batch| conform(batch, &schema)).collect::<Result<Vec<_>, _>>()?;
    ctx.deregister_table(relation)?;
    ctx.register_table(relation, Arc::new(MemTable::try_new(schema, vec![rows])?))?;
    Ok(())
}

/// `batch` with each column cast to the type `schema` gives it.
fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, DetectError> {
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| arrow::compute::cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}
