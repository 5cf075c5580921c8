//! The folded access index of old days, `baselines/object_summary/object_summary.parquet`:
//! what lets a detection run read a few weeks of the index instead of all of it, so its
//! time does not grow with the lake's history.
//!
//! The lifecycle and practice findings compare each row of the index (one caller's calls
//! of one kind on one day) with times of two sorts: times relative to the run (the history
//! window, the in-use window), and an object's own dates (a version set, a deletion, an
//! expiry, a rotation's grace end). Days older than every window of the first sort (the
//! [`Horizon`]) are folded into one row per caller and stretch of days between two dates
//! of the second sort (`queries/lifecycle/object_summary.sql`). Sums, first and last
//! times over a stretch are what the findings compute from its days, so a finding from
//! the folded index is the finding from the days; its evidence differs only in showing
//! one call per stretch where the days showed one per day.
//!
//! Invariants:
//! - the summary holds exactly the days before its cutoff; the cutoff moves once a week,
//!   and the days from it on are read from their own files;
//! - it is rebuilt when its cutoff moves, when a folded day's rollup was rebuilt (late
//!   records, compaction), when the inventory's expiries or the grace period change, or
//!   when its queries change: all of these are in its signature (`_state/object_summary.json`);
//! - it is written beside its final name and renamed before its state names it.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use datafusion::datasource::MemTable;
use serde::{Deserialize, Serialize};

use super::catalog::{DELETE_OPERATIONS, SET_OPERATIONS, is_set};
use super::expiry::NEAR_EXPIRY_NOTICE;
use super::{DAY_US, LifecyclePolicy, days};
use crate::detect::DetectError;
use crate::detect::columns::{micros, strings};
use crate::detect::relations::bind_access;
use crate::detect::rollup::{Rollup, signatures, write_rollup};
use crate::inventory::Inventory;
use crate::lake::LakePaths;
use crate::query::QuerySession;
use crate::query::registry::lifecycle_query;

/// How far back a run's findings look at single days: days before it may be folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    /// The longest window relative to the run: the detector's history (the practice
    /// findings count a consumer's days in it) or the lifecycle's in-use window.
    pub keep_days: u32,
    /// A rotation's grace period: its end is one of an object's own dates.
    pub grace_days: u32,
}

impl Horizon {
    pub fn new(history_days: u32, policy: &LifecyclePolicy) -> Horizon {
        Horizon { keep_days: history_days.max(policy.in_use_days), grace_days: policy.old_version_grace_days }
    }

    /// The first day not folded: the Monday on or before `as_of - keep_days`, so the
    /// summary is rebuilt once a week, not every day.
    pub fn cutoff(&self, as_of: DateTime<Utc>) -> NaiveDate {
        let edge = (as_of - Duration::days(i64::from(self.keep_days))).date_naive();
        edge - Duration::days(i64::from(edge.weekday().num_days_from_monday()))
    }
}

/// `_state/object_summary.json`.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct SummaryState {
    /// The first day not folded, `YYYY-MM-DD`.
    cutoff: String,
    /// Hash of everything the summary was built from.
    signature: String,
}

/// Brings the summary of the days in `[first, cutoff)` up to date and returns where it is
/// and its cutoff; `None` when no day is old enough to fold. The access index must be
/// refreshed first: the signature is made of its days' signatures.
pub async fn prepare(
    session: &QuerySession,
    lake: &LakePaths,
    inventory: &Inventory,
    as_of: DateTime<Utc>,
    horizon: Horizon,
    first: NaiveDate,
) -> Result<Option<NaiveDate>, DetectError> {
    let cutoff = horizon.cutoff(as_of);
    if cutoff <= first {
        return Ok(None);
    }
    let wanted = SummaryState { cutoff: cutoff.to_string(), signature: signature(lake, inventory, horizon, cutoff) };
    let (file, state_path) = (lake.object_summary_file(), lake.object_summary_state_file());
    let state: SummaryState =
        std::fs::read(&state_path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
    if state == wanted && file.exists() {
        return Ok(Some(cutoff));
    }

    let started = std::time::Instant::now();
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or(DetectError::BadTime);
    bind_access(session, lake, day(first)?, day(cutoff)?).await?;
    let boundaries = bind_boundaries(session, inventory, horizon.grace_days).await?;
    let frame = session.context().sql(lifecycle_query("object_summary")).await?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await?;
    write_rollup(&file, schema, &batches)?;
    let bytes = serde_json::to_vec_pretty(&wanted).unwrap_or_default();
    crate::lake::write_atomically(&state_path, &bytes)?;
    tracing::debug!(
        %first,
        %cutoff,
        boundaries,
        rows = batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        ms = started.elapsed().as_millis(),
        "Folded the old days of the access index."
    );
    Ok(Some(cutoff))
}

/// What a summary with this cutoff depends on: the folded days' rollups, the inventory's
/// expiries, the grace period and the queries that fold.
fn signature(lake: &LakePaths, inventory: &Inventory, horizon: Horizon, cutoff: NaiveDate) -> String {
    let mut text = format!("grace={};", horizon.grace_days);
    let cutoff_text = cutoff.format("%Y-%m-%d").to_string();
    for (date, sig) in signatures(lake, Rollup::ObjectAccess).range(..cutoff_text) {
        text.push_str(&format!("{date}={sig};"));
    }
    for (vault, object_type, name, day) in inventory_expiries(inventory) {
        text.push_str(&format!("{vault}/{object_type}/{name}@{day};"));
    }
    text.push_str(lifecycle_query("object_events"));
    text.push_str(lifecycle_query("object_summary"));
    format!("{:016x}", crate::hash::fnv1a(text.as_bytes()))
}

type Boundary = (String, String, String, i64);

/// The day (microseconds, midnight UTC) of a time.
fn day_of(us: i64) -> i64 {
    us.div_euclid(DAY_US) * DAY_US
}

/// The expiry days the newest inventory states: an expiry is one of an object's dates.
fn inventory_expiries(inventory: &Inventory) -> BTreeSet<Boundary> {
    inventory
        .current()
        .into_iter()
        .filter_map(|((vault, object_type, name), item)| {
            item.expires.map(|e| (vault, object_type, name, day_of(e.timestamp_micros())))
        })
        .collect()
}

/// Binds `dating_operations` and `boundaries`, the relations `object_summary.sql` folds
/// `access` by: each object's boundary days, from its dating rows in `access`
/// (`object_events.sql`), a rotation's grace end, a near-expiry notice's expiry, and the
/// inventory's expiries. Returns how many boundaries there are.
pub async fn bind_boundaries(
    session: &QuerySession,
    inventory: &Inventory,
    grace_days: u32,
) -> Result<usize, DetectError> {
    let ctx = session.context();
    let operations: Vec<&str> = SET_OPERATIONS.iter().chain(&DELETE_OPERATIONS).copied().collect();
    let schema = Arc::new(Schema::new(vec![Field::new("operation", DataType::Utf8, false)]));
    let column: ArrayRef = Arc::new(StringArray::from(operations));
    let batch = RecordBatch::try_new(schema.clone(), vec![column])?;
    ctx.deregister_table("dating_operations")?;
    ctx.register_table("dating_operations", Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))?;

    let mut boundaries = inventory_expiries(inventory);
    let frame = ctx.sql(lifecycle_query("object_events")).await?;
    // The boundary days have the type of the index's times (time zone included), so the
    // fold compares like with like.
    let time_type = frame.schema().field_with_unqualified_name("first_time")?.data_type().clone();
    for batch in frame.collect().await? {
        let s = |name| strings(&batch, name);
        let (vault, object_type, name, operation) =
            (s("vault")?, s("object_type")?, s("object_name")?, s("operation")?);
        let first = micros(&batch, "first_time")?;
        for i in 0..batch.num_rows() {
            let (Some(v), Some(t), Some(n), Some(op), Some(at)) =
                (&vault[i], &object_type[i], &name[i], &operation[i], first[i])
            else {
                continue;
            };
            let mut add = |us: i64| boundaries.insert((v.clone(), t.clone(), n.clone(), day_of(us)));
            add(at);
            if is_set(op) {
                add(at + days(grace_days)); // the version it replaced is late from then
            }
            if op.ends_with("NearExpiryEventGridNotification") {
                add(at + NEAR_EXPIRY_NOTICE); // the expiry it announces
            }
        }
    }

    let tz = match &time_type {
        DataType::Timestamp(_, tz) => tz.clone(),
        _ => None,
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("vault", DataType::Utf8, false),
        Field::new("object_type", DataType::Utf8, false),
        Field::new("object_name", DataType::Utf8, false),
        Field::new("day", DataType::Timestamp(TimeUnit::Microsecond, tz.clone()), false),
    ]));
    let count = boundaries.len();
    let (mut vaults, mut types, mut names, mut days_us) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (v, t, n, d) in boundaries {
        vaults.push(v);
        types.push(t);
        names.push(n);
        days_us.push(d);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vaults)),
        Arc::new(StringArray::from(types)),
        Arc::new(StringArray::from(names)),
        Arc::new(TimestampMicrosecondArray::from(days_us).with_timezone_opt(tz)),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    ctx.deregister_table("boundaries")?;
    ctx.register_table("boundaries", Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_cutoff_is_a_monday_at_or_before_the_longest_window() {
        let horizon = Horizon { keep_days: 30, grace_days: 7 };
        // 2026-12-29 is a Tuesday; 30 days before is Sunday 2026-11-29; its Monday is 11-23.
        assert_eq!(horizon.cutoff(at("2026-12-29T23:00:00Z")), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        // Every run of that week folds the same days.
        for day in 29..=31 {
            let as_of = at(&format!("2026-12-{day}T05:00:00Z"));
            let cutoff = horizon.cutoff(as_of);
            assert_eq!(cutoff.weekday(), chrono::Weekday::Mon);
            assert!(cutoff.and_hms_opt(0, 0, 0).unwrap().and_utc() <= as_of - Duration::days(30));
        }
    }

    #[test]
    fn the_horizon_keeps_the_longer_of_history_and_in_use_windows() {
        let policy = LifecyclePolicy { in_use_days: 45, old_version_grace_days: 3, ..LifecyclePolicy::default() };
        assert_eq!(Horizon::new(30, &policy), Horizon { keep_days: 45, grace_days: 3 });
        assert_eq!(Horizon::new(60, &policy).keep_days, 60);
    }
}
