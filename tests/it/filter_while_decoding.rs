//! `events` filters rows while decoding only where it pays (`query::filter_while_decoding`),
//! and both ways give the same rows. The choice is read off the real session's physical
//! plan: a scan that filters while decoding leaves no `FilterExec` above it and counts the
//! rows its filter dropped; one that decodes first has a `FilterExec` doing that work.

use std::path::Path;

use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::{ExecutionPlan, collect};
use kvaudit::lake::LakePaths;
use kvaudit::query::{QuerySession, SessionOptions};

use crate::common::{kvaudit, run_ok};

/// What the plan of one query did: filters above the scan, rows the scan's own filter dropped.
#[derive(Debug, Default)]
struct Plan {
    filter_execs: usize,
    scans: usize,
    rows_dropped_while_decoding: usize,
}

fn walk(plan: &dyn ExecutionPlan, seen: &mut Plan) {
    if plan.downcast_ref::<FilterExec>().is_some() {
        seen.filter_execs += 1;
    }
    if plan.downcast_ref::<DataSourceExec>().is_some() {
        seen.scans += 1;
        if let Some(metrics) = plan.metrics() {
            seen.rows_dropped_while_decoding +=
                metrics.sum_by_name("pushdown_rows_pruned").map_or(0, |value| value.as_usize());
        }
    }
    for child in plan.children() {
        walk(child.as_ref(), seen);
    }
}

fn plan_of(lake: &Path, sql: &str) -> Plan {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let session = QuerySession::open(&SessionOptions::new(LakePaths::new(lake))).await.unwrap();
        let plan = session.context().sql(sql).await.unwrap().create_physical_plan().await.unwrap();
        collect(plan.clone(), session.context().task_ctx()).await.unwrap();
        let mut seen = Plan::default();
        walk(plan.as_ref(), &mut seen);
        seen
    })
}

/// The query's rows as CSV from the binary, with DataFusion's own switch for filtering while
/// decoding on (kvaudit's default) or off.
fn rows(lake: &Path, sql: &str, filter_while_decoding: bool) -> String {
    let out = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "query", sql, "--format", "csv"])
        .env("DATAFUSION_EXECUTION_PARQUET_PUSHDOWN_FILTERS", filter_while_decoding.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn scans_filter_while_decoding_where_it_pays_and_return_the_same_rows_either_way() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    run_ok(&["generate", "--out", logs.to_str().unwrap(), "--days", "2", "--scale", "0.5", "--seed", "5"]);
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    run_ok(&["--lake", l, "ingest", "--from", logs.to_str().unwrap(), "--no-progress"]);
    let oid = rows(&lake, "SELECT identity_oid FROM events WHERE identity_oid IS NOT NULL LIMIT 1", true);
    let oid = oid.lines().nth(1).expect("an identity").to_string();

    let evidence = format!("SELECT time, raw FROM events WHERE identity_oid = '{oid}' ORDER BY time, raw");
    let drill_down =
        format!("SELECT time, operation FROM events WHERE identity_oid = '{oid}' ORDER BY time, operation");
    let readers = "SELECT vault, object_name, count(*) AS reads FROM events \
        WHERE operation = 'SecretGet' AND http_status = 200 GROUP BY vault, object_name ORDER BY vault, object_name";

    // The record itself, or one identity pinned: filtered while decoding.
    for sql in [&evidence, &drill_down] {
        let plan = plan_of(&lake, sql);
        assert_eq!((plan.scans, plan.filter_execs), (1, 0), "{sql}: {plan:?}");
        assert!(plan.rows_dropped_while_decoding > 0, "{sql}: {plan:?}");
    }
    // Most rows pass and the columns are short: decoded first, then filtered.
    let plan = plan_of(&lake, readers);
    assert_eq!((plan.scans, plan.filter_execs, plan.rows_dropped_while_decoding), (1, 1, 0), "{plan:?}");

    for sql in [evidence.as_str(), drill_down.as_str(), readers] {
        let chosen = rows(&lake, sql, true);
        assert!(chosen.lines().count() > 2, "{sql}: {chosen}");
        assert_eq!(chosen, rows(&lake, sql, false), "{sql}");
    }
}
