//! Time-range queries read only what they need, proven from DataFusion's own scan metrics
//! (through the real session factory), not only from their results: other dates' files
//! are never planned, and inside the date whole files, row groups and pages are skipped on
//! their statistics. The expected numbers come from the files' own metadata.

use std::path::Path;

use arrow::array::AsArray;
use arrow::datatypes::TimestampMicrosecondType;
use chrono::{Duration, NaiveDate};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::metrics::MetricValue;
use datafusion::physical_plan::{ExecutionPlan, collect};
use kvaudit::lake::LakePaths;
use kvaudit::lake::manifest::{partition_dates, visible_files};
use kvaudit::query::{QuerySession, SessionOptions};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;

use crate::common::run_ok;

/// What the scans of one query did, summed over the plan.
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    /// Files the scan was planned with (after date-partition pruning).
    files_planned: usize,
    files_pruned: usize,
    row_groups_pruned: usize,
    row_groups_matched: usize,
    page_rows_pruned: usize,
    page_rows_matched: usize,
}

fn walk(plan: &dyn ExecutionPlan, scan: &mut Scan) {
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>()
        && let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>()
    {
        // A large file may be split into byte ranges: count files, not ranges.
        let files: std::collections::BTreeSet<String> =
            config.file_groups.iter().flat_map(|g| g.iter().map(|f| f.object_meta.location.to_string())).collect();
        scan.files_planned += files.len();
    }
    if let Some(metrics) = plan.metrics() {
        for metric in metrics.iter() {
            if let MetricValue::PruningMetrics { name, pruning_metrics } = metric.value() {
                let (pruned, matched) = (pruning_metrics.pruned(), pruning_metrics.matched());
                match name.as_ref() {
                    "files_ranges_pruned_statistics" => scan.files_pruned += pruned,
                    "row_groups_pruned_statistics" => {
                        scan.row_groups_pruned += pruned;
                        scan.row_groups_matched += matched;
                    }
                    "page_index_rows_pruned" => {
                        scan.page_rows_pruned += pruned;
                        scan.page_rows_matched += matched;
                    }
                    _ => {}
                }
            }
        }
    }
    for child in plan.children() {
        walk(child.as_ref(), scan);
    }
}

/// Runs `sql` through the real session and returns the first column of its one row and
/// what the scans did.
fn run_scan(lake: &Path, sql: &str) -> (i64, Scan) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let session = QuerySession::open(&SessionOptions::new(LakePaths::new(lake))).await.unwrap();
        let frame = session.context().sql(sql).await.unwrap();
        let plan = frame.create_physical_plan().await.unwrap();
        let batches = collect(plan.clone(), session.context().task_ctx()).await.unwrap();
        let mut scan = Scan::default();
        walk(plan.as_ref(), &mut scan);
        let n = arrow::compute::cast(batches[0].column(0), &arrow::datatypes::DataType::Int64).unwrap();
        (n.as_primitive::<arrow::datatypes::Int64Type>().value(0), scan)
    })
}

/// Row groups of `files` whose `time` statistics overlap `[from, to)` (microseconds), and
/// all row groups.
fn row_groups_overlapping(files: &[std::path::PathBuf], from: i64, to: i64) -> (usize, usize) {
    let (mut overlapping, mut all) = (0, 0);
    for file in files {
        let reader = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
        for rg in reader.metadata().row_groups() {
            all += 1;
            match rg.column(0).statistics() {
                Some(Statistics::Int64(s)) => {
                    let (min, max) = (*s.min_opt().unwrap(), *s.max_opt().unwrap());
                    if min < to && max >= from {
                        overlapping += 1;
                    }
                }
                other => panic!("{}: time has no Int64 statistics: {other:?}", file.display()),
            }
        }
    }
    (overlapping, all)
}

/// Counts the events of `[from, to)` by reading every `time` (no filter to prune with).
fn count_by_reading_everything(lake: &Path, from: i64, to: i64) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let session = QuerySession::open(&SessionOptions::new(LakePaths::new(lake))).await.unwrap();
        let (_, batches) = session.sql("SELECT time FROM events").await.unwrap();
        batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<TimestampMicrosecondType>().values().to_vec())
            .filter(|t| (from..to).contains(t))
            .count() as i64
    })
}

fn micros(date: NaiveDate, hour: u32) -> i64 {
    date.and_hms_opt(hour, 0, 0).unwrap().and_utc().timestamp_micros()
}

#[test]
fn an_hour_of_one_day_reads_one_partition_and_few_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    run_ok(&["generate", "--out", logs.to_str().unwrap(), "--days", "3", "--scale", "0.5", "--seed", "3"]);
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    let from = logs.join("insights-logs-auditevent");
    run_ok(&["--lake", l, "ingest", "--from", from.to_str().unwrap(), "--commit-bytes", "400000", "--no-progress"]);

    let paths = LakePaths::new(&lake);
    let dates = partition_dates(&paths).unwrap();
    let day = dates[1];
    let (start, end) = (micros(day, 10), micros(day, 11));
    let sql = format!(
        "SELECT count(*) FROM events WHERE time >= TIMESTAMP '{}T10:00:00Z' AND time < TIMESTAMP '{}T11:00:00Z' \
         AND operation IS NOT NULL",
        day, day
    );
    let expected = count_by_reading_everything(&lake, start, end);
    assert!(expected > 0, "no events at 10:00 on {day}");
    let day_files = |lake: &Path| -> Vec<std::path::PathBuf> {
        let dir = LakePaths::new(lake).events_partition_dir(day);
        visible_files(&LakePaths::new(lake), day).unwrap().into_iter().map(|f| dir.join(f.name)).collect()
    };
    let total_files = |lake: &Path| -> usize {
        let p = LakePaths::new(lake);
        partition_dates(&p).unwrap().iter().map(|d| visible_files(&p, *d).unwrap().len()).sum()
    };

    // Before compaction: ingest's files, one per date per commit, each spanning the day.
    let (n, before) = run_scan(&lake, &sql);
    assert_eq!(n, expected);
    assert_eq!(before.files_planned, day_files(&lake).len(), "only the day's partition is planned: {before:?}");
    assert!(before.files_planned < total_files(&lake));

    // Compacted into ~1 MB files of 4000-row row groups, sorted by time.
    run_ok(&["--lake", l, "compact", "--target-size", "1MB", "--row-group-rows", "4000", "--full"]);
    let files = day_files(&lake);
    let (overlapping, all) = row_groups_overlapping(&files, start, end);
    assert!(overlapping < all, "the hour overlaps all {all} row groups of the day: nothing to prune");
    let (n, after) = run_scan(&lake, &sql);
    assert_eq!(n, expected, "pruning changed the result");
    assert_eq!(after.files_planned, files.len(), "only the day's partition is planned: {after:?}");
    assert!(after.files_planned < total_files(&lake));
    // Files whose time range misses the hour are skipped whole; of the others, only row
    // groups overlapping the hour are read.
    assert_eq!(after.row_groups_matched, overlapping, "{after:?}");
    assert!(after.files_pruned + after.row_groups_pruned >= 1, "{after:?}");
    // Inside the row groups read, the page index skips pages outside the hour.
    assert!(after.page_rows_pruned > 0, "no page skipped: {after:?}");
    // And compaction made the scan read less: fewer row groups than before it.
    assert!(after.row_groups_matched < before.row_groups_matched, "before compaction {before:?}, after {after:?}");

    // A range over two days plans exactly those two partitions.
    let two_days = format!(
        "SELECT count(*) FROM events WHERE time >= TIMESTAMP '{}T00:00:00Z' AND time < TIMESTAMP '{}T23:00:00Z'",
        day,
        day + Duration::days(1)
    );
    let (_, scan) = run_scan(&lake, &two_days);
    let planned: usize =
        [day, day + Duration::days(1)].iter().map(|d| visible_files(&paths, *d).map(|f| f.len()).unwrap_or(0)).sum();
    assert_eq!(scan.files_planned, planned, "{scan:?}");
}
