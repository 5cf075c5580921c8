//! The same SQL on a Ballista cluster as locally (built only with `--features ballista`).
//!
//! The cluster is Ballista's standalone mode started in this test process: a real scheduler
//! and a real executor, gRPC servers on loopback ports, both with stock sessions (Ballista's
//! default codec and functions, no kvaudit code), as the `ballista-scheduler` and
//! `ballista-executor` binaries run them. Every query in `queries/` runs on it and locally
//! over the same generated lake, with the same bound relations, and the result tables
//! (pretty-printed, lines sorted) must be equal. Where a query runs is checked too: those
//! reading an in-memory relation run in the client and are listed in [`RUN_LOCALLY`] with
//! the reason (the README repeats the list); every other query must go to the cluster.

use std::path::{Path, PathBuf};

use ballista_core::serde::BallistaCodec;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use chrono::{DateTime, Utc};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::{Expr, LogicalPlan, col, lit};
use kvaudit::detect::lifecycle::summary::bind_boundaries;
use kvaudit::detect::relations::{bind_access, bind_history, bind_records, bind_scope};
use kvaudit::detect::rollup::{Rollup, refresh};
use kvaudit::export::{ExportFormat, ExportScope};
use kvaudit::inventory::Inventory;
use kvaudit::lake::LakePaths;
use kvaudit::query::ballista::{Placement, placement};
use kvaudit::query::registry::{DETECTOR_QUERIES, EXPORT_QUERIES, LIFECYCLE_QUERIES, NamedQuery, QUERIES};
use kvaudit::query::{Engine, QuerySession, SessionOptions};

use crate::common::{ingest, kvaudit, real_fixtures, run_ok};

/// Queries that run in the client even on a Ballista session, and why. Each reads a
/// relation the detector collects into memory once per run (rollup files plus the partial
/// day, a few rows per identity and hour) so that its many queries do not decode the files
/// again; an in-memory table exists only in the client, so executors cannot scan it. The
/// scans of events that feed those relations (`detect/activity`, `lifecycle/object_access`,
/// the partial day) do run on the cluster.
const RUN_LOCALLY: &[(&str, &str)] = &[
    ("detect/baseline_hourly", "reads `history`, collected in memory"),
    ("detect/baseline_identities", "reads `history`, collected in memory"),
    ("detect/baseline_addresses", "reads `history`, collected in memory"),
    ("detect/baseline_active_hours", "reads `history`, collected in memory"),
    ("detect/baseline_operations", "reads `history`, collected in memory"),
    ("detect/baseline_objects", "reads `history`, collected in memory"),
    ("lifecycle/object_events", "reads `access`, collected in memory"),
    ("lifecycle/object_history", "reads `access`, collected in memory"),
    ("lifecycle/object_summary", "reads `access` and `boundaries`, collected in memory"),
    ("lifecycle/vault_coverage", "reads `access`, collected in memory"),
    ("lifecycle/vault_operations", "reads `access`, collected in memory"),
];

/// A standalone Ballista cluster, alive as long as its runtime.
struct Cluster {
    runtime: tokio::runtime::Runtime,
    /// `host:port` of the scheduler.
    scheduler: String,
}

impl Cluster {
    fn start() -> Cluster {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let scheduler = runtime.block_on(async {
            let addr = ballista_scheduler::standalone::new_standalone_scheduler().await.expect("the scheduler starts");
            let url = format!("http://localhost:{}", addr.port());
            let mut attempts = 0;
            let client = loop {
                match SchedulerGrpcClient::connect(url.clone()).await {
                    Ok(client) => break client,
                    Err(e) if attempts < 100 => {
                        attempts += 1;
                        tracing::debug!(error = %e, "The scheduler is not accepting connections yet.");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    Err(e) => panic!("the scheduler at {url} never accepted a connection: {e}"),
                }
            };
            ballista_executor::new_standalone_executor(client, 2, BallistaCodec::default())
                .await
                .expect("the executor starts");
            format!("localhost:{}", addr.port())
        });
        Cluster { runtime, scheduler }
    }

    fn engine(&self) -> Engine {
        Engine::Ballista { scheduler: self.scheduler.clone() }
    }
}

/// The lines of a pretty-printed table, sorted: equal when the rows are, in any order.
fn sorted_lines(table: &str) -> Vec<String> {
    let mut lines: Vec<String> = table.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// The date partition `export/events` is run on, inside the export scope of the test.
const EXPORT_DATE: &str = "2026-10-03";

fn at(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
}

/// Four generated days (2026-10-01 to 10-04) plus the real fixtures' records, ingested.
/// Returns the temp dir and the lake's path.
fn generated_lake() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let lake = dir.path().join("lake");
    run_ok(&["generate", "--out", logs.to_str().unwrap(), "--days", "4", "--seed", "5", "--scale", "0.05"]);
    ingest(&lake, &logs.join("insights-logs-auditevent"));
    ingest(&lake, &real_fixtures());
    (dir, lake)
}

/// A copy of `lake` beside it: the detector writes rollups into the lake it reads, and each
/// engine must build its own.
fn copy_of(lake: &Path, name: &str) -> PathBuf {
    let copy = lake.with_file_name(name);
    let status = std::process::Command::new("cp").arg("-a").arg(lake).arg(&copy).status().unwrap();
    assert!(status.success(), "copying the lake");
    copy
}

/// What one query gave on both engines.
struct Outcome {
    name: String,
    local: String,
    cluster: String,
    placement: Placement,
}

/// Runs `query` on `session` and pretty-prints its result; also returns where it ran.
/// `export/events` reads one date partition per run, `$date`, as `kvaudit export` binds it.
async fn run_on(session: &QuerySession, query: &NamedQuery) -> (String, Placement) {
    let mut frame = session.context().sql(query.sql).await.unwrap();
    if query.sql.contains("$date") {
        let date = datafusion::common::ScalarValue::Utf8(Some(EXPORT_DATE.to_owned()));
        frame = frame.with_param_values(vec![("date", date)]).unwrap();
    }
    let where_ = placement(&frame.clone().into_optimized_plan().unwrap()).unwrap();
    let batches = frame.collect().await.unwrap_or_else(|e| panic!("{} failed: {e}", query.name));
    (arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string(), where_)
}

/// Checks the outcomes: same tables, and placement as [`RUN_LOCALLY`] says.
fn check(outcomes: &[Outcome]) {
    let mut failures = Vec::new();
    for o in outcomes {
        if sorted_lines(&o.local) != sorted_lines(&o.cluster) {
            failures.push(format!("{}: local\n{}\non Ballista\n{}", o.name, o.local, o.cluster));
        }
        let expected_local = RUN_LOCALLY.iter().any(|(name, _)| *name == o.name);
        match (&o.placement, expected_local) {
            (Placement::Cluster, false) | (Placement::Local { .. }, true) => {}
            (p, _) => failures.push(format!("{}: ran {p:?}, but RUN_LOCALLY says local = {expected_local}", o.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The lake is not empty and the tables were read: some query returned rows.
    assert!(outcomes.iter().any(|o| o.local.lines().count() > 4), "every table was empty");
}

#[test]
fn named_queries_give_the_same_tables_through_kvaudit_query_on_ballista() {
    let cluster = Cluster::start();
    let (_dir, lake) = generated_lake();
    let lake_arg = lake.to_str().unwrap();
    let engine = format!("ballista://{}", cluster.scheduler);
    let session = cluster.runtime.block_on(async {
        QuerySession::open(&SessionOptions::new(LakePaths::new(&lake)).with_engine(cluster.engine())).await.unwrap()
    });
    let mut outcomes = Vec::new();
    for q in QUERIES {
        let file = format!("queries/{}.sql", q.name);
        let local = run_ok(&["--lake", lake_arg, "query", "--file", &file]);
        // The real binary, told to use the cluster; debug logs show where the plan went.
        let out = kvaudit()
            .args(["--lake", lake_arg, "query", "--file", &file, "--engine", &engine])
            .env("RUST_LOG", "kvaudit=debug")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{file} on Ballista failed: {stderr}");
        assert!(
            stderr.contains("Sending the query to the Ballista cluster."),
            "{file} did not reach the cluster: {stderr}"
        );
        let frame = cluster.runtime.block_on(session.context().sql(q.sql)).unwrap();
        outcomes.push(Outcome {
            name: q.name.to_owned(),
            local,
            cluster: String::from_utf8(out.stdout).unwrap(),
            placement: placement(&frame.into_optimized_plan().unwrap()).unwrap(),
        });
    }
    check(&outcomes);
}

#[test]
fn detector_queries_give_the_same_tables_on_ballista() {
    let cluster = Cluster::start();
    let (_dir, lake) = generated_lake();
    let copy = copy_of(&lake, "lake-ballista");
    // History: day 1 materialized (a rollup built by each engine), day 2 rolled up on the
    // fly up to 12:00; window: from then to the end.
    let (start, split, end) = (at("2026-10-01T00:00:00Z"), at("2026-10-02T12:00:00Z"), at("2026-10-05T00:00:00Z"));
    let run_all = |lake: &Path, engine: Engine| {
        cluster.runtime.block_on(async {
            let lake = LakePaths::new(lake);
            let session = QuerySession::open(&SessionOptions::new(lake.clone()).with_engine(engine)).await.unwrap();
            refresh(&session, &lake, Rollup::Activity, start.date_naive(), split.date_naive()).await.unwrap();
            let allow = kvaudit::detect::Policy::default().allow_rules();
            bind_history(&session, &lake, start, split, &allow).await.unwrap();
            let mut results = Vec::new();
            for q in DETECTOR_QUERIES {
                let (lo, hi) = if q.name.starts_with("baseline") { (start, split) } else { (split, end) };
                let (lo, hi) = if q.name == "activity" { (start, end) } else { (lo, hi) };
                bind_scope(&session, lo, hi, Some(&allow)).await.unwrap();
                bind_records(&session, lo, hi).await.unwrap();
                results.push(run_on(&session, q).await);
            }
            results
        })
    };
    let local = run_all(&lake, Engine::Local);
    let on_cluster = run_all(&copy, cluster.engine());
    let outcomes: Vec<Outcome> = DETECTOR_QUERIES
        .iter()
        .zip(local.into_iter().zip(on_cluster))
        .map(|(q, ((local, _), (cluster, placement)))| Outcome {
            name: format!("detect/{}", q.name),
            local,
            cluster,
            placement,
        })
        .collect();
    check(&outcomes);
}

#[test]
fn lifecycle_and_export_queries_give_the_same_tables_on_ballista() {
    let cluster = Cluster::start();
    let (_dir, lake) = generated_lake();
    let copy = copy_of(&lake, "lake-ballista");
    // Days 1 to 3 materialized; day 4 rolled up on the fly up to 12:00.
    let (start, end) = (at("2026-10-01T00:00:00Z"), at("2026-10-04T12:00:00Z"));
    let run_all = |lake: &Path, engine: Engine| {
        cluster.runtime.block_on(async {
            let lake = LakePaths::new(lake);
            let session = QuerySession::open(&SessionOptions::new(lake.clone()).with_engine(engine)).await.unwrap();
            refresh(&session, &lake, Rollup::ObjectAccess, start.date_naive(), end.date_naive()).await.unwrap();
            let mut results = Vec::new();
            for q in LIFECYCLE_QUERIES {
                if q.name == "object_access" {
                    bind_records(&session, start, end).await.unwrap();
                } else {
                    bind_access(&session, &lake, start, end).await.unwrap();
                    bind_boundaries(&session, &Inventory::default(), 7).await.unwrap();
                }
                results.push((format!("lifecycle/{}", q.name), run_on(&session, q).await));
            }
            // One vault over two days, as `kvaudit export --vault` scopes it.
            let vault = first_vault(&session).await;
            let scope = ExportScope::new(
                at("2026-10-02T00:00:00Z"),
                at("2026-10-04T00:00:00Z"),
                Some(vault.as_str()),
                None,
                ExportFormat::Csv,
            )
            .unwrap();
            kvaudit::export::scope::bind(&session, &scope).await.unwrap();
            for q in EXPORT_QUERIES {
                results.push((format!("export/{}", q.name), run_on(&session, q).await));
            }
            results
        })
    };
    let local = run_all(&lake, Engine::Local);
    let on_cluster = run_all(&copy, cluster.engine());
    let outcomes: Vec<Outcome> = local
        .into_iter()
        .zip(on_cluster)
        .map(|((name, (local, _)), (_, (cluster, placement)))| Outcome { name, local, cluster, placement })
        .collect();
    check(&outcomes);
}

/// The vault with the most events: export scope of the test.
async fn first_vault(session: &QuerySession) -> String {
    let (_, batches) =
        session.sql("SELECT vault FROM events GROUP BY vault ORDER BY count(*) DESC, vault LIMIT 1").await.unwrap();
    let column = arrow::compute::cast(batches[0].column(0), &arrow::datatypes::DataType::Utf8).unwrap();
    column.as_any().downcast_ref::<arrow::array::StringArray>().unwrap().value(0).to_owned()
}

#[test]
fn detect_on_ballista_raises_the_same_alerts_as_locally() {
    let cluster = Cluster::start();
    let (_dir, lake) = generated_lake();
    let copy = copy_of(&lake, "lake-ballista");
    let engine = format!("ballista://{}", cluster.scheduler);
    let window = ["--from", "2026-10-03T00:00:00Z", "--to", "2026-10-05T00:00:00Z"];
    let detect = |lake: &Path, extra: &[&str]| {
        let mut args = vec!["--lake", lake.to_str().unwrap(), "detect", "--format", "json"];
        args.extend_from_slice(&window);
        args.extend_from_slice(extra);
        // Everything but the wall-clock times at which the alert was stored. Evidence is
        // compared as a set: the lifecycle findings list a reader's reads in the order the
        // access index returns them, which no query fixes (locally it happens to be stable;
        // on a cluster, partitions come back in any order).
        let mut alerts: Vec<String> = run_ok(&args)
            .lines()
            .map(|line| {
                let mut alert: serde_json::Value = serde_json::from_str(line).unwrap();
                let fields = alert.as_object_mut().unwrap();
                fields.remove("first_raised");
                fields.remove("last_raised");
                if let Some(serde_json::Value::Array(evidence)) = fields.get_mut("evidence") {
                    evidence.sort_by_key(|e| e.to_string());
                }
                alert.to_string()
            })
            .collect();
        alerts.sort();
        alerts
    };
    let local = detect(&lake, &[]);
    assert!(!local.is_empty(), "the generated days raise some alerts");
    assert_eq!(detect(&copy, &["--engine", &engine]), local);
}

#[test]
fn an_unreachable_scheduler_fails_the_query_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ingest(&lake, &real_fixtures());
    // Port 9 (discard) on loopback: nothing listens there in the test environment.
    let out = kvaudit()
        .args([
            "--lake",
            lake.to_str().unwrap(),
            "query",
            "SELECT count(*) FROM events",
            "--engine",
            "ballista://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the query cannot have run anywhere");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("kvaudit: error:") && stderr.trim_end().lines().count() == 1, "{stderr}");
    assert!(stdout_is_empty(&out.stdout), "no partial result: {}", String::from_utf8_lossy(&out.stdout));
}

fn stdout_is_empty(stdout: &[u8]) -> bool {
    stdout.iter().all(u8::is_ascii_whitespace)
}

#[test]
fn engine_addresses_parse_with_the_default_port() {
    let scheduler = |s: &str| Engine::Ballista { scheduler: s.to_owned() };
    assert_eq!(Engine::parse("ballista://10.0.0.5:50051").unwrap(), scheduler("10.0.0.5:50051"));
    assert_eq!(Engine::parse("ballista://sched/").unwrap(), scheduler("sched:50050"));
    assert_eq!(Engine::parse("ballista://sched").unwrap().to_string(), "ballista://sched:50050");
    assert_eq!(Engine::parse("local").unwrap(), Engine::Local);
}

/// The filters of the scans of `table` in `plan`.
fn scan_filters(plan: &LogicalPlan, table: &str) -> Vec<Expr> {
    let mut filters = Vec::new();
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && scan.table_name.table() == table
        {
            filters.extend(scan.filters.iter().cloned());
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .unwrap();
    filters
}

/// The plan sent to the cluster carries the `date` bounds that the local `events` table
/// derives at scan time, once each; a plan reading `alerts` (in memory) stays local.
#[test]
fn plans_sent_to_the_cluster_carry_the_date_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // Nothing listens there: opening a session and planning never connect.
        let engine = Engine::Ballista { scheduler: "127.0.0.1:9".to_owned() };
        let session =
            QuerySession::open(&SessionOptions::new(LakePaths::new(dir.path())).with_engine(engine)).await.unwrap();
        let plan = async |sql: &str| session.context().sql(sql).await.unwrap().into_optimized_plan().unwrap();

        let windowed = plan(
            "SELECT vault, count(*) FROM events WHERE time >= TIMESTAMP '2026-10-02T06:00:00Z' \
             AND time < TIMESTAMP '2026-10-04T00:00:00Z' GROUP BY vault",
        )
        .await;
        let filters = scan_filters(&windowed, "events");
        let from = col("date").gt_eq(lit("2026-10-02"));
        assert_eq!(filters.iter().filter(|f| **f == from).count(), 1, "{filters:?}");
        assert!(filters.contains(&col("date").lt_eq(lit("2026-10-04"))), "{filters:?}");
        assert_eq!(placement(&windowed).unwrap(), Placement::Cluster);

        let unfiltered = plan("SELECT count(*) FROM events").await;
        assert!(scan_filters(&unfiltered, "events").is_empty());

        let joined =
            plan("SELECT a.kind, count(*) FROM alerts a JOIN events e ON a.vault = e.vault GROUP BY a.kind").await;
        assert_eq!(placement(&joined).unwrap(), Placement::Local { tables: vec!["alerts".to_owned()] });
    });
}
