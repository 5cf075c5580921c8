//! The command line, black-box: the binary as a user runs it.

use crate::common::{ingest, kvaudit, real_fixtures, run, run_ok};

#[test]
fn query_formats_and_named_files() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ingest(&lake, &real_fixtures());
    let lake = lake.to_str().unwrap();
    let sql =
        "SELECT vault, count(*) AS n FROM events WHERE time >= '2024-01-01T00:00:00Z' GROUP BY vault ORDER BY vault";
    let csv = run_ok(&["--lake", lake, "query", sql, "--format", "csv"]);
    assert_eq!(csv, "vault,n\nkeytestint,3\nmyright3,4\ntestkey,1\ntestpermissionvault,21\nxxxxxxx,1\n");
    let json = run_ok(&["--lake", lake, "query", sql, "--format", "json"]);
    assert_eq!(json.lines().next(), Some(r#"{"vault":"keytestint","n":3}"#));
    assert_eq!(json.lines().count(), 5);
    // A named query resolves from any directory, by its path under queries/.
    let named = run_ok(&["--lake", lake, "query", "--file", "queries/events_per_vault.sql", "--format", "csv"]);
    assert!(
        named.starts_with("vault,events,identities,denied,first_seen,last_seen\ntestpermissionvault,21,"),
        "{named}"
    );
    let list = run_ok(&["query", "--list"]);
    assert!(list.contains("queries/secret_readers.sql"), "{list}");
}

#[test]
fn sql_may_start_with_a_comment_and_options_go_either_side_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ingest(&lake, &real_fixtures());
    let lake = lake.to_str().unwrap();
    // A query pasted from a file starts with its `--` comment; clap would read it as an option.
    let commented = "-- Vaults seen, by name.\nSELECT count(DISTINCT vault) AS vaults FROM events";
    assert_eq!(run_ok(&["--lake", lake, "query", commented, "--format", "csv"]), "vaults\n7\n");
    assert_eq!(run_ok(&["--lake", lake, "query", "--format", "csv", commented]), "vaults\n7\n");
    // Options are still options, before or after the SQL; an unknown one is still an error.
    let file = dir.path().join("vaults.sql");
    std::fs::write(&file, commented).unwrap();
    assert_eq!(run_ok(&["--lake", lake, "query", "--file", file.to_str().unwrap(), "--format", "csv"]), "vaults\n7\n");
    let unknown = run(&["--lake", lake, "query", "SELECT 1", "--bogus"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--bogus"));
}

#[test]
fn a_wrong_query_gets_datafusions_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let out = run(&["--lake", lake.to_str().unwrap(), "query", "SELECT nope FROM events"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("kvaudit: error:") && stderr.contains("nope"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn datafusion_options_come_from_its_environment_variables_over_kvaudits_own() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.to_str().unwrap();
    let sql = "SELECT name, value FROM information_schema.df_settings \
        WHERE name IN ('datafusion.execution.parquet.reorder_filters', 'datafusion.execution.batch_size') ORDER BY name";
    let query = |vars: &[(&str, &str)]| {
        let mut command = kvaudit();
        command.args(["--lake", lake, "query", sql, "--format", "csv"]);
        for (name, value) in vars {
            command.env(name, value);
        }
        command.output().expect("kvaudit starts")
    };
    // kvaudit's own setting (session.rs turns filter reordering on) and DataFusion's default.
    let plain = query(&[]);
    assert_eq!(
        String::from_utf8_lossy(&plain.stdout),
        "name,value\ndatafusion.execution.batch_size,8192\ndatafusion.execution.parquet.reorder_filters,true\n"
    );
    let tuned = query(&[
        ("DATAFUSION_EXECUTION_PARQUET_REORDER_FILTERS", "false"),
        ("DATAFUSION_EXECUTION_BATCH_SIZE", "1024"),
    ]);
    assert_eq!(
        String::from_utf8_lossy(&tuned.stdout),
        "name,value\ndatafusion.execution.batch_size,1024\ndatafusion.execution.parquet.reorder_filters,false\n"
    );
    // A value DataFusion cannot read is an error naming it, not silently ignored.
    let bad = query(&[("DATAFUSION_EXECUTION_BATCH_SIZE", "lots")]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.starts_with("kvaudit: error:") && stderr.contains("lots"), "{stderr}");
}

#[test]
fn a_second_writer_is_refused_with_the_holder_named() {
    let dir = tempfile::tempdir().unwrap();
    let lake = kvaudit::lake::LakePaths::new(dir.path().join("lake"));
    let _held = kvaudit::lake::lock::LakeLock::acquire(&lake).unwrap();
    let out = run(&["--lake", lake.root().to_str().unwrap(), "ingest", "--from", real_fixtures().to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("is locked by another kvaudit process (pid "), "{stderr}");
}

#[test]
fn generate_is_deterministic_and_demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for out in [&a, &b] {
        run_ok(&[
            "generate",
            "--out",
            out.to_str().unwrap(),
            "--days",
            "2",
            "--seed",
            "5",
            "--scale",
            "0.2",
            "--format",
            "json",
        ]);
    }
    let digest = |root: &std::path::Path| {
        let mut files = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p)
                } else {
                    files.push((p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap()))
                }
            }
        }
        files.sort();
        files
    };
    assert!(digest(&a) == digest(&b), "same seed, different bytes");

    let lake = dir.path().join("lake");
    let logs = dir.path().join("demo-logs");
    let out = run_ok(&["--lake", lake.to_str().unwrap(), "demo", "--logs", logs.to_str().unwrap(), "--days", "3"]);
    assert!(out.contains("0 quarantined"), "{out}");
    assert!(out.contains("| kv-payments-prod "), "{out}");
    assert!(out.contains("Try next:"), "{out}");
    // A second demo regenerates the same logs and finds nothing new to ingest.
    let again = run_ok(&["--lake", lake.to_str().unwrap(), "demo", "--logs", logs.to_str().unwrap(), "--days", "3"]);
    assert!(again.contains(", 0 records,"), "{again}");
}

#[test]
fn a_time_range_reads_only_the_date_partitions_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let logs = dir.path().join("a.jsonl");
    let lines: Vec<String> = ["2026-10-01T10:00:00Z", "2026-10-02T10:00:00Z", "2026-10-03T10:00:00Z"]
        .iter()
        .map(|t| crate::common::record(t, "kv1", "s"))
        .collect();
    std::fs::write(&logs, lines.join("\n") + "\n").unwrap();
    ingest(&lake, &logs);
    let lake = lake.to_str().unwrap();
    let sql = "SELECT count(*) AS n FROM events WHERE time >= '2026-10-02T00:00:00Z' AND time < '2026-10-03T00:00:00Z'";
    assert_eq!(run_ok(&["--lake", lake, "query", sql, "--format", "csv"]), "n\n1\n");
    // The plan lists the files it will read: only the 2026-10-02 partition (and the
    // 2026-10-03 one, which `time < 2026-10-03T00:00` bounds by date, inclusively).
    let plan = run_ok(&["--lake", lake, "query", &format!("EXPLAIN {sql}"), "--format", "csv"]);
    assert!(plan.contains("date=2026-10-02/"), "{plan}");
    assert!(!plan.contains("date=2026-10-01/"), "{plan}");
}

/// A build without the `ballista` feature refuses the cluster engine with the way to get
/// it, and still refuses a malformed engine as such; `local` is the default.
#[cfg(not(feature = "ballista"))]
#[test]
fn the_ballista_engine_needs_a_build_with_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ingest(&lake, &real_fixtures());
    let lake = lake.to_str().unwrap();
    let sql = "SELECT count(*) AS n FROM events";
    for command in [vec!["query", sql], vec!["detect"]] {
        let mut args = vec!["--lake", lake];
        args.extend(&command);
        args.extend(["--engine", "ballista://127.0.0.1:50050"]);
        let out = run(&args);
        assert!(!out.status.success(), "{command:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("--features ballista"), "{stderr}");
    }
    let out = run(&["--lake", lake, "query", sql, "--engine", "spark://x"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success() && stderr.contains("`local` or `ballista://HOST:PORT`"), "{stderr}");
    assert_eq!(run_ok(&["--lake", lake, "query", sql, "--engine", "local"]), run_ok(&["--lake", lake, "query", sql]));
}
