//! The lake itself in Blob Storage (`--lake az://ACCOUNT/CONTAINER/PATH`) against a real
//! Azurite: ingest from local files and from blobs, `kvaudit query` over it beside the same
//! ingest into a local lake, kills and reruns to exactly once, a second work directory
//! (another machine) continuing without duplicates, the writer lease, and the commands that
//! refuse a remote lake.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::azurite::{ACCOUNT, Azurite, Container, account_sas, blob_name};
use crate::common::{kvaudit, record, run, run_ok};
use crate::crash::{assert_exactly_once, kill_ingests_mid_way, source_keys};

/// `kvaudit --lake LAKE --work-dir WORK ARGS…` with Azurite's endpoint and the SAS.
fn remote(azurite: &Azurite, lake: &str, work: &Path, args: &[&str]) -> Command {
    let mut command = kvaudit();
    command
        .args(["--lake", lake, "--work-dir", work.to_str().unwrap(), "--blob-endpoint", &azurite.endpoint()])
        .args(args)
        .env("KVAUDIT_SAS_TOKEN", account_sas());
    command
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "kvaudit failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn ingest_remote(azurite: &Azurite, lake: &str, work: &Path, from: &str) -> serde_json::Value {
    let out =
        remote(azurite, lake, work, &["ingest", "--from", from, "--format", "json", "--no-progress"]).output().unwrap();
    serde_json::from_str(ok(out).trim()).expect("one JSON summary")
}

/// Rows of `kvaudit query --format json`.
fn query_rows(command: &mut Command, sql: &str) -> Vec<serde_json::Value> {
    let out = command.args(["query", "--format", "json", sql]).output().unwrap();
    ok(out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn keys(rows: &[serde_json::Value]) -> Vec<(String, i64)> {
    rows.iter().map(|r| (r["source"].as_str().unwrap().to_string(), r["source_offset"].as_i64().unwrap())).collect()
}

const KEYS: &str = "SELECT source, source_offset FROM events ORDER BY source, source_offset";

/// What a reader listing `events/` directly sees must be whole, committed files only: no
/// staging left, every object a Parquet file of a `date=` partition.
fn assert_only_committed_files(c: &Container, root: &str) {
    let events = c.names(&format!("{root}/events/"));
    assert!(!events.is_empty());
    for name in &events {
        let rest = name.strip_prefix(&format!("{root}/events/date=")).unwrap_or_else(|| panic!("{name}"));
        assert!(rest.ends_with(".parquet") && rest.split('/').count() == 2, "{name}");
    }
    let staging = c.names(&format!("{root}/_state/staging/"));
    assert!(staging.is_empty(), "staging left: {staging:?}");
}

#[test]
fn a_lake_in_azurite_answers_kvaudit_query_like_a_local_one() {
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "lakes");
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    run_ok(&["generate", "--out", logs.to_str().unwrap(), "--days", "3", "--scale", "0.1", "--seed", "5"]);
    let from = logs.join("insights-logs-auditevent");
    let local = dir.path().join("local-lake");
    let local_run = crate::common::ingest(&local, &from);
    let lake = format!("az://{ACCOUNT}/lakes/prod/kv");
    let work = dir.path().join("work");
    let run1 = ingest_remote(&azurite, &lake, &work, from.to_str().unwrap());
    assert_eq!(run1["records"], local_run["records"], "{run1}");
    assert!(run1["records"].as_u64().unwrap() > 1000, "{run1}");
    // Nothing new: nothing read, nothing written.
    let run2 = ingest_remote(&azurite, &lake, &work, from.to_str().unwrap());
    assert_eq!((run2["records"].as_u64(), run2["files_read"].as_u64()), (Some(0), Some(0)), "{run2}");

    // The same answers as the local lake, through `kvaudit query`.
    for sql in [
        "SELECT vault, count(*) AS n, count(DISTINCT identity_oid) AS ids FROM events GROUP BY vault ORDER BY vault",
        "SELECT date, count(*) AS n, min(time) AS first, max(time) AS last FROM events GROUP BY date ORDER BY date",
        "SELECT object_name, operation, http_status, caller_ip FROM events WHERE time >= '2026-10-02T00:00:00Z' \
         AND time < '2026-10-02T01:00:00Z' ORDER BY time, source, source_offset LIMIT 20",
    ] {
        let here = query_rows(&mut remote(&azurite, &lake, &work, &[]), sql);
        assert!(!here.is_empty(), "{sql}");
        assert_eq!(here, query_rows(kvaudit().args(["--lake", local.to_str().unwrap()]), sql), "{sql}");
    }
    // The layout is the local one: `events/date=…/*.parquet`, state under `_state/`, the
    // work directory holding no data file.
    assert_only_committed_files(&c, "prod/kv");
    assert!(c.exists("prod/kv/_state/checkpoints.json") && c.exists("prod/kv/_state/redaction_salt"));
    let local_files: Vec<_> = walk(&work).into_iter().filter(|p| p.ends_with(".parquet")).collect();
    assert!(local_files.is_empty(), "{local_files:?}");

    // From blobs into the same remote lake: both sources side by side.
    let src = Container::create(&azurite, "insights-logs-auditevent");
    let name = blob_name("S1", "KVBLOB", 2026, 10, 3, 4);
    let lines: String = (0..5)
        .map(|n| record(&format!("2026-10-03T04:{n:02}:00.0000000Z"), "kvblob", &format!("b{n}")) + "\n")
        .collect();
    src.append(&name, lines.as_bytes());
    let run3 = ingest_remote(&azurite, &lake, &work, &src.from());
    assert_eq!(run3["records"], 5, "{run3}");
    let rows = query_rows(&mut remote(&azurite, &lake, &work, &[]), "SELECT count(*) AS n FROM events");
    assert_eq!(rows[0]["n"].as_u64(), Some(local_run["records"].as_u64().unwrap() + 5));
    assert_only_committed_files(&c, "prod/kv");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[test]
fn killed_remote_ingests_rerun_to_exactly_once() {
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "crashes");
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    run_ok(&["generate", "--out", logs.to_str().unwrap(), "--days", "2", "--scale", "0.5", "--seed", "11"]);
    let from = logs.join("insights-logs-auditevent");
    let expected = source_keys(&from);
    let lake = format!("az://{ACCOUNT}/crashes/lake");
    let work = dir.path().join("work");

    // How long a whole ingest takes here, so kills land inside runs on any machine.
    let started = std::time::Instant::now();
    ingest_remote(
        &azurite,
        &format!("az://{ACCOUNT}/crashes/calibration"),
        &dir.path().join("w0"),
        from.to_str().unwrap(),
    );
    let full = started.elapsed().as_millis().max(50) as u64;
    let seed = kill_ingests_mid_way(full, || {
        let mut command = remote(&azurite, &lake, &work, &["ingest", "--from", from.to_str().unwrap()]);
        command.args(["--commit-bytes", "1500000", "--no-progress"]);
        command
    });

    let last = ingest_remote(&azurite, &lake, &work, from.to_str().unwrap());
    assert_eq!(last["quarantined"], 0, "{last}");
    assert_exactly_once(&keys(&query_rows(&mut remote(&azurite, &lake, &work, &[]), KEYS)), &expected, seed);
    assert_only_committed_files(&c, "lake");
    let checkpoints = c.names("lake/_state/");
    assert!(checkpoints.iter().all(|n| !n.contains("/staging/")), "{checkpoints:?}");
}

#[test]
fn a_second_work_dir_continues_the_lake_without_duplicates_and_waits_for_the_lease() {
    let azurite = Azurite::start();
    let lakes = Container::create(&azurite, "shared");
    let src = Container::create(&azurite, "insights-logs-auditevent");
    let dir = tempfile::tempdir().unwrap();
    let lake = format!("az://{ACCOUNT}/shared");
    let (machine_a, machine_b) = (dir.path().join("a"), dir.path().join("b"));
    let mut expected = BTreeSet::new();
    let mut lengths = std::collections::BTreeMap::<String, usize>::new();
    let mut put = |vault: &str, hour: u32, range: std::ops::Range<u32>| {
        let name = blob_name("S1", &vault.to_uppercase(), 2026, 10, 1, hour);
        let length = lengths.entry(name.clone()).or_default();
        let offset = *length;
        let mut bytes = Vec::new();
        for n in range {
            let line = record(&format!("2026-10-01T{hour:02}:{n:02}:00.0000000Z"), vault, &format!("s{n}")) + "\n";
            expected.insert((format!("az://{ACCOUNT}/insights-logs-auditevent/{name}"), (offset + bytes.len()) as i64));
            bytes.extend(line.into_bytes());
        }
        *length += bytes.len();
        src.append(&name, &bytes);
    };
    put("kv1", 1, 0..4);
    put("kv2", 2, 0..3);
    assert_eq!(ingest_remote(&azurite, &lake, &machine_a, &src.from())["records"], 7);
    // Another machine: nothing of its own, everything from the lake.
    assert_eq!(ingest_remote(&azurite, &lake, &machine_b, &src.from())["records"], 0);
    put("kv1", 1, 4..6);
    put("kv3", 3, 0..2);
    let run = ingest_remote(&azurite, &lake, &machine_b, &src.from());
    assert_eq!((run["records"].as_u64(), run["files_read"].as_u64()), (Some(4), Some(2)), "{run}");
    assert_eq!(ingest_remote(&azurite, &lake, &machine_a, &src.from())["records"], 0);
    let got = keys(&query_rows(&mut remote(&azurite, &lake, &machine_a, &[]), KEYS));
    assert_eq!(got.len(), expected.len(), "{got:?}");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), expected);

    // A lease held by a live writer of another work directory (stopped mid-run here, so
    // that it holds the lease) stops a second one, which says who holds it.
    let logs = dir.path().join("logs");
    run_ok(&["generate", "--out", logs.to_str().unwrap(), "--days", "2", "--scale", "0.3", "--seed", "3"]);
    let logs = logs.join("insights-logs-auditevent");
    let mut held = remote(&azurite, &lake, &machine_a, &["ingest", "--from", logs.to_str().unwrap()])
        .args(["--no-progress", "--commit-bytes", "500000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !lease_held(&lakes) {
        assert!(held.try_wait().unwrap().is_none(), "the first ingest ended before it was seen holding the lease");
        std::thread::sleep(Duration::from_millis(20));
    }
    let signal = |sig: &str| Command::new("kill").args([sig, &held.id().to_string()]).status().unwrap();
    signal("-STOP");
    let out = remote(&azurite, &lake, &machine_b, &["ingest", "--from", logs.to_str().unwrap(), "--no-progress"])
        .output()
        .unwrap();
    signal("-CONT");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("is locked by another kvaudit ingest"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(held.wait().unwrap().success());
    // Released at the end of the run: the other machine goes on, with nothing left to do.
    let run = ingest_remote(&azurite, &lake, &machine_b, logs.to_str().unwrap());
    assert_eq!((run["records"].as_u64(), run["files_read"].as_u64()), (Some(0), Some(0)), "{run}");
    let expected_logs = source_keys(&logs);
    let rows = query_rows(&mut remote(&azurite, &lake, &machine_b, &[]), "SELECT count(*) AS n FROM events");
    assert_eq!(rows[0]["n"].as_u64(), Some((expected.len() + expected_logs.len()) as u64));
}

/// Whether the lake of the `shared` container holds an unexpired lease.
fn lease_held(lakes: &Container) -> bool {
    let Some(bytes) = lakes.read("_state/lake.lock") else { return false };
    let lease: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(lease["expires_at"].as_str().unwrap()).unwrap();
    until > chrono::Utc::now()
}

#[test]
fn commands_other_than_ingest_and_query_refuse_a_lake_in_blob_storage() {
    for args in [
        &["detect"][..],
        &["compact"],
        &["secrets"],
        &["export", "--from", "2026-10-01", "--to", "2026-10-02", "--out", "x"],
    ] {
        let mut all = vec!["--lake", "az://acct/lakes/kv"];
        all.extend_from_slice(args);
        let out = run(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(&format!("`kvaudit {}` needs a local lake directory", args[0])), "{err}");
        assert!(err.contains("az://acct/lakes/kv"), "{err}");
    }
}
