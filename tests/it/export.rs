//! `kvaudit export` and `kvaudit export verify`, black-box over small lakes made by
//! `kvaudit generate` + `kvaudit ingest` (and hand-written records where a field must carry
//! something specific). Expected values come from independent queries of the same lake,
//! an independent SHA-256, or the payloads planted, never from the export itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::AsArray;
use kvaudit::lake::LakePaths;
use kvaudit::query::registry::EXPORT_QUERIES;
use kvaudit::query::{QuerySession, SessionOptions};
use sha2::{Digest, Sha256};

use crate::common::{ingest, query_i64, record, run, run_ok, sql_files};

/// A lake of 3 generated days (2026-10-01 to 03), about 4,000 records.
fn generated_lake(dir: &Path) -> PathBuf {
    let logs = dir.join("logs");
    let lake = dir.join("lake");
    run_ok(&[
        "generate",
        "--out",
        logs.to_str().unwrap(),
        "--days",
        "3",
        "--scale",
        "0.05",
        "--seed",
        "3",
        "--format",
        "json",
    ]);
    ingest(&lake, &logs);
    lake
}

fn export(lake: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--lake", lake.to_str().unwrap(), "export", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

fn export_ok(lake: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let done = export(lake, out, extra);
    assert!(done.status.success(), "export failed: {}", String::from_utf8_lossy(&done.stderr));
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

fn verify(dir: &Path) -> std::process::Output {
    run(&["export", "verify", dir.to_str().unwrap()])
}

/// One column of a query's result, as text.
fn strings(lake: &Path, sql: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let session = QuerySession::open(&SessionOptions::new(LakePaths::new(lake))).await.unwrap();
        let (_, batches) = session.sql(sql).await.unwrap();
        let mut out = Vec::new();
        for b in &batches {
            let c = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
            out.extend(c.as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_owned()));
        }
        out
    })
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_path(path).unwrap();
    reader.records().map(|r| r.unwrap()).collect()
}

const PERIOD: &str = "time >= '2026-10-01T00:00:00Z' AND time < '2026-10-03T00:00:00Z'";

#[test]
fn the_export_registry_lists_every_sql_file() {
    let mut registered: Vec<String> = EXPORT_QUERIES.iter().map(|q| q.name.to_string()).collect();
    registered.sort();
    assert_eq!(sql_files("export"), registered);
}

#[test]
fn a_csv_export_holds_every_event_of_the_period_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let lake = generated_lake(dir.path());
    let out = dir.path().join("out");
    let m = export_ok(&lake, &out, &["--from", "2026-10-01", "--to", "2026-10-03"]);

    // Row counts equal what `kvaudit query` counts for the same period, in total and per vault.
    let total = run_ok(&[
        "--lake",
        lake.to_str().unwrap(),
        "query",
        &format!("SELECT count(*) AS n FROM events WHERE {PERIOD}"),
        "--format",
        "csv",
    ]);
    let total: u64 = total.lines().nth(1).unwrap().parse().unwrap();
    assert!(total > 1000, "the generated lake is too small to mean anything: {total}");
    assert_eq!(m["rows"]["total"], total);
    let per_vault = run_ok(&[
        "--lake",
        lake.to_str().unwrap(),
        "query",
        &format!("SELECT vault, count(*) AS n FROM events WHERE {PERIOD} GROUP BY vault ORDER BY vault"),
        "--format",
        "csv",
    ]);
    let want: BTreeMap<String, u64> = per_vault
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap())
        .map(|(v, n)| (v.to_owned(), n.parse().unwrap()))
        .collect();
    let got: BTreeMap<String, u64> =
        m["rows"]["per_vault"].as_object().unwrap().iter().map(|(v, n)| (v.clone(), n.as_u64().unwrap())).collect();
    assert_eq!(got, want);

    // Each vault's file holds that many rows, of that vault only, in time order; the events
    // of 2026-10-03 (outside the period) are in the lake but not in the export.
    for (vault, n) in &want {
        let rows = csv_rows(&out.join(format!("events/{vault}.csv")));
        assert_eq!(rows.len() as u64, *n, "{vault}");
        assert!(rows.iter().all(|r| &r[1] == vault));
        assert!(rows.windows(2).all(|w| w[0][0] <= w[1][0]), "{vault} is not in time order");
        assert!(rows.iter().all(|r| r[0].starts_with("2026-10-01") || r[0].starts_with("2026-10-02")));
    }
    assert!(query_i64(&lake, "SELECT count(*) FROM events WHERE time >= '2026-10-03T00:00:00Z'") > 0);

    // The manifest lists every file with its size and SHA-256 (computed here independently).
    let files = m["files"].as_array().unwrap();
    assert_eq!(files.len(), want.len() + 2);
    for f in files {
        let bytes = std::fs::read(out.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["bytes"], bytes.len());
        let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(f["sha256"], sha, "{}", f["path"]);
    }
    assert!(m["sql"][0]["sql"].as_str().unwrap().contains("time >= TIMESTAMP '2026-10-01T00:00:00.000000Z'"));
    assert_eq!(m["coverage"]["gaps"].as_array().unwrap().len(), 0, "{}", m["coverage"]);
    assert_eq!(m["coverage"]["period_hours"], 48);

    // The access review accounts for every caller event and every successful read.
    let review = csv_rows(&out.join("access_review.csv"));
    let sum = |col: usize| review.iter().map(|r| r[col].parse::<i64>().unwrap()).sum::<i64>();
    let callers = query_i64(
        &lake,
        &format!("SELECT count(*) FROM events WHERE {PERIOD} AND operation NOT LIKE '%EventGridNotification'"),
    );
    let reads = query_i64(
        &lake,
        &format!(
            "SELECT count(*) FROM events WHERE {PERIOD} AND http_status < 400 AND operation IN ('SecretGet', 'KeyGet', 'CertificateGet')"
        ),
    );
    let failed = query_i64(&lake, &format!("SELECT count(*) FROM events WHERE {PERIOD} AND http_status >= 400"));
    assert_eq!((sum(8), sum(9), sum(10)), (callers, reads, failed));
    assert_eq!(m["reports"]["access_review_rows"], review.len());
    // No lifecycle findings in this lake: a header-only report, and the manifest says 0.
    assert_eq!(std::fs::read_to_string(out.join("lifecycle_report.csv")).unwrap().lines().count(), 1);
    assert_eq!(m["reports"]["lifecycle_findings"], 0);

    // Verify passes on the fresh export.
    let ok = verify(&out);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains(&format!("{total} events")));

    // The scope's SQL reads only the period's partitions.
    let plan = run_ok(&[
        "--lake",
        lake.to_str().unwrap(),
        "query",
        &format!("EXPLAIN {}", m["sql"][0]["sql"].as_str().unwrap()),
        "--format",
        "csv",
    ]);
    assert!(plan.contains("date=2026-10-01/") && !plan.contains("date=2026-10-03/"), "{plan}");
}

#[test]
fn verify_names_the_file_that_was_changed_deleted_or_added() {
    let dir = tempfile::tempdir().unwrap();
    let lake = generated_lake(dir.path());
    let args = ["--from", "2026-10-01", "--to", "2026-10-02", "--vault", "kv-web-prod"];
    let fails_naming = |out: &Path, name: &str| {
        let r = verify(out);
        let stderr = String::from_utf8_lossy(&r.stderr).into_owned();
        assert!(!r.status.success(), "verify passed after tampering with {name}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(name), "{stderr}");
    };

    // One byte changed (same size).
    let changed = dir.path().join("changed");
    export_ok(&lake, &changed, &args);
    let file = changed.join("events/kv-web-prod.csv");
    let mut bytes = std::fs::read(&file).unwrap();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
    std::fs::write(&file, bytes).unwrap();
    fails_naming(&changed, "events/kv-web-prod.csv");

    // A file deleted.
    let deleted = dir.path().join("deleted");
    export_ok(&lake, &deleted, &args);
    std::fs::remove_file(deleted.join("access_review.csv")).unwrap();
    fails_naming(&deleted, "access_review.csv");

    // A file added.
    let added = dir.path().join("added");
    export_ok(&lake, &added, &args);
    std::fs::write(added.join("events/kv-evil.csv"), "time,vault\n").unwrap();
    fails_naming(&added, "events/kv-evil.csv");
}

#[test]
fn jsonl_carries_the_raw_records_and_parquet_the_columns_for_one_identity() {
    let dir = tempfile::tempdir().unwrap();
    let lake = generated_lake(dir.path());
    let upn = strings(
        &lake,
        "SELECT identity_upn FROM events WHERE identity_upn IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )
    .remove(0);
    let filter = format!("{PERIOD} AND lower(identity_upn) = '{}'", upn.to_lowercase());
    let vaults = strings(&lake, &format!("SELECT DISTINCT vault FROM events WHERE {filter} ORDER BY vault"));
    assert!(!vaults.is_empty());

    // The identity given in upper case: matched case-insensitively.
    let out = dir.path().join("jsonl");
    let m = export_ok(
        &lake,
        &out,
        &[
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-03T00:00:00Z",
            "--identity",
            &upn.to_uppercase(),
            "--format",
            "jsonl",
        ],
    );
    let mut total = 0;
    for vault in &vaults {
        let want = strings(
            &lake,
            &format!(
                "SELECT raw FROM events WHERE {filter} AND vault = '{vault}' ORDER BY time, source, source_offset"
            ),
        );
        let text = std::fs::read_to_string(out.join(format!("events/{vault}.jsonl"))).unwrap();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got, want, "{vault}");
        total += want.len();
    }
    assert_eq!(m["rows"]["total"], total);
    assert_eq!(m["rows"]["jsonl_newlines_replaced"], 0);
    assert_eq!(m["scope"]["identity"], upn.to_uppercase());

    let out = dir.path().join("parquet");
    let m = export_ok(
        &lake,
        &out,
        &["--from", "2026-10-01", "--to", "2026-10-03", "--identity", &upn, "--format", "parquet"],
    );
    assert_eq!(m["rows"]["total"], total);
    let file = std::fs::File::open(out.join(format!("events/{}.parquet", vaults[0]))).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let names: Vec<String> = batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
    let want: Vec<String> =
        kvaudit::lake::schema::events_file_schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, want);
    let upns: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("identity_upn")
                .unwrap()
                .as_string::<i32>()
                .iter()
                .map(|s| s.unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(upns.iter().all(|u| u.eq_ignore_ascii_case(&upn)));
    assert!(verify(&out).status.success());
}

#[test]
fn csv_cells_that_a_spreadsheet_would_evaluate_come_out_inert() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let payloads = [r#"=HYPERLINK("http://x","y")"#, "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\t=1+1", "\r=1+1"];
    // Each payload in the caller's User-Agent (clientInfo); the tab and CR ones also in the
    // request URI; `-2+3` and `@SUM(1+1)` also as object names the caller asked for.
    let mut lines = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let mut r: serde_json::Value =
            serde_json::from_str(&record(&format!("2026-10-01T10:0{i}:00Z"), "kv-inj", "s")).unwrap();
        r["properties"]["clientInfo"] = (*p).into();
        if p.starts_with(['\t', '\r']) {
            r["properties"]["requestUri"] = (*p).into();
        }
        if matches!(*p, "-2+3" | "@SUM(1+1)") {
            r["properties"]["id"] = format!("https://kv-inj.vault.azure.net/secrets/{p}/0123456789abcdef").into();
        }
        lines.push(serde_json::to_string(&r).unwrap());
    }
    let file = dir.path().join("inj.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    ingest(&lake, &file);

    let out = dir.path().join("out");
    export_ok(&lake, &out, &["--from", "2026-10-01", "--to", "2026-10-02"]);
    let mut reader = csv::ReaderBuilder::new().from_path(out.join("events/kv-inj.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), payloads.len());
    for (row, p) in rows.iter().zip(payloads) {
        assert_eq!(&row[col("client_info")], format!("'{p}"));
        if p.starts_with(['\t', '\r']) {
            assert_eq!(&row[col("request_uri")], format!("'{p}"));
        }
        if matches!(p, "-2+3" | "@SUM(1+1)") {
            assert_eq!(&row[col("object_name")], format!("'{p}"));
        }
    }
    // No cell of any CSV file of the export starts with a formula trigger, and every cell
    // is quoted in the file itself.
    let access = out.join("access_review.csv");
    for path in [out.join("events/kv-inj.csv"), access.clone()] {
        for row in csv_rows(&path) {
            for cell in row.iter() {
                assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{}: {cell:?}", path.display());
            }
        }
    }
    let review = std::fs::read_to_string(&access).unwrap();
    assert!(review.contains("\"'-2+3\"") && review.contains("\"'@SUM(1+1)\""), "{review}");
}

#[test]
fn a_lost_day_inside_the_period_is_named_as_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let lake = generated_lake(dir.path());
    // The lake loses 2026-10-02 (its sources stay checkpointed: read, but gone).
    std::fs::remove_dir_all(lake.join("events/date=2026-10-02")).unwrap();
    let out = dir.path().join("out");
    let m = export_ok(&lake, &out, &["--from", "2026-10-01", "--to", "2026-10-04"]);
    let coverage = &m["coverage"];
    assert_eq!(coverage["missing_partitions"], serde_json::json!(["2026-10-02"]));
    let gaps = coverage["gaps"].as_array().unwrap();
    let covers_the_day = gaps.iter().any(|g| {
        g["from"].as_str().unwrap() <= "2026-10-02T00:00:00.000000Z"
            && g["to"].as_str().unwrap() >= "2026-10-03T00:00:00.000000Z"
    });
    assert!(covers_the_day, "{coverage}");
    // The blobs of that day were read, so the source side has no gap there: the loss is the lake's.
    let blob_gaps = coverage["ingest"]["hours_without_source_blob"].as_array().unwrap();
    assert!(
        blob_gaps
            .iter()
            .all(|g| g["to"].as_str().unwrap() <= "2026-10-02" || g["from"].as_str().unwrap() >= "2026-10-03"),
        "{coverage}"
    );
    assert!(coverage["ingest"]["archive_blobs_in_period"].as_u64().unwrap() >= 70);
    assert!(verify(&out).status.success());
}

#[test]
fn a_non_empty_out_dir_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let file = dir.path().join("a.jsonl");
    std::fs::write(&file, record("2026-10-01T10:00:00Z", "kv1", "s") + "\n").unwrap();
    ingest(&lake, &file);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let r = export(&lake, &out, &["--from", "2026-10-01", "--to", "2026-10-02"]);
    assert!(!r.status.success());
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not empty") && stderr.contains("out"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["notes.txt"]);
    // No partial export left beside it either.
    let beside: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(beside.iter().all(|n| !n.contains("partial")), "{beside:?}");
    // An empty directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(export_ok(&lake, &empty, &["--from", "2026-10-01", "--to", "2026-10-02"])["rows"]["total"], 1);
    // A mistyped lake is an error, not an export of nothing.
    let r = run(&[
        "--lake",
        dir.path().join("no-lake").to_str().unwrap(),
        "export",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-02",
        "--out",
        dir.path().join("y").to_str().unwrap(),
    ]);
    assert!(!r.status.success() && String::from_utf8_lossy(&r.stderr).contains("does not exist"));
    assert!(!dir.path().join("no-lake").exists() && !dir.path().join("y").exists());
    // A bad date is one clear line.
    let r = export(&lake, &dir.path().join("x"), &["--from", "01/10/2026", "--to", "2026-10-02"]);
    assert!(!r.status.success() && String::from_utf8_lossy(&r.stderr).contains("--from must be a date"));
}

#[test]
fn the_lifecycle_report_lists_findings_in_scope_with_their_controls() {
    use chrono::{TimeZone, Utc};
    use kvaudit::alert::{Alert, AlertKind, AlertState, AlertStore, Score, Severity};
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let file = dir.path().join("a.jsonl");
    std::fs::write(&file, record("2026-10-01T10:00:00Z", "kv1", "s") + "\n").unwrap();
    ingest(&lake, &file);
    let at = |d: u32| Utc.with_ymd_and_hms(2026, 10, d, 12, 0, 0).unwrap();
    let alert = |kind, vault: &str, object: &str, day| Alert {
        id: String::new(),
        kind,
        severity: Severity::Low,
        vault: Some(vault.into()),
        identity_oid: None,
        identity_appid: None,
        identity_upn: None,
        object_name: Some(object.into()),
        caller_ip: None,
        window_start: at(day),
        window_end: at(day),
        observed: serde_json::json!({}),
        baseline: serde_json::json!({}),
        score: Score { name: "days".into(), value: 0.0 },
        explanation: format!("{object} finding"),
        evidence: Vec::new(),
        state: AlertState::Open,
        state_reason: None,
        first_raised: at(day),
        last_raised: at(day),
    };
    let mut store = AlertStore::open(&LakePaths::new(&lake)).unwrap();
    for a in [
        alert(AlertKind::SecretWithoutExpiry, "kv1", "in-scope", 1),
        alert(AlertKind::StaleSecret, "kv1", "stale", 1),
        alert(AlertKind::SecretWithoutExpiry, "kv2", "other-vault", 1),
        alert(AlertKind::SecretWithoutExpiry, "kv1", "later", 5),
        alert(AlertKind::NewIp, "kv1", "not-lifecycle", 1),
        alert(AlertKind::SharedSecret, "kv1", "shared", 1),
    ] {
        store.raise(a, at(1));
    }
    store.save().unwrap();

    let out = dir.path().join("out");
    let m = export_ok(&lake, &out, &["--from", "2026-10-01", "--to", "2026-10-02", "--vault", "KV1"]);
    assert_eq!(m["reports"]["lifecycle_findings"], 3);
    let mut reader = csv::ReaderBuilder::new().from_path(out.join("lifecycle_report.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let mut by_object: BTreeMap<String, (String, String)> = BTreeMap::new();
    for r in &rows {
        by_object.insert(
            r[col("object_name")].to_owned(),
            (r[col("azure_policy")].to_owned(), r[col("aws_config_rule")].to_owned()),
        );
    }
    assert_eq!(by_object.keys().cloned().collect::<Vec<_>>(), ["in-scope", "shared", "stale"]);
    // A practice finding is listed too; no Azure Policy or AWS Config control covers it.
    assert_eq!(by_object["shared"], (String::new(), String::new()));
    assert_eq!(by_object["in-scope"].0, "Key Vault secrets should have an expiration date");
    assert_eq!(by_object["in-scope"].1, "secretsmanager-rotation-enabled-check");
    assert_eq!(by_object["stale"], (String::new(), "secretsmanager-secret-unused".to_owned()));
    assert!(verify(&out).status.success());
}

#[test]
fn an_export_killed_midway_leaves_nothing_that_looks_complete() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let lake = dir.path().join("lake");
    run_ok(&[
        "generate",
        "--out",
        logs.to_str().unwrap(),
        "--days",
        "4",
        "--scale",
        "1",
        "--seed",
        "4",
        "--format",
        "json",
    ]);
    ingest(&lake, &logs);
    let mut killed = 0;
    for (i, delay_ms) in [50u64, 200, 500].into_iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let mut child = crate::common::kvaudit()
            .args(["--lake", lake.to_str().unwrap(), "export", "--from", "2026-10-01", "--to", "2026-10-05"])
            .args(["--out", out.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let status = child.wait().unwrap();
        // Either the export finished before the kill, and it verifies; or `out` does not exist.
        if status.success() {
            assert!(verify(&out).status.success(), "a finished export does not verify");
        } else {
            assert!(!out.exists(), "a killed export left {}", out.display());
            killed += 1;
        }
    }
    assert!(killed > 0, "every export finished before its kill: the test proved nothing");
}

#[test]
fn jsonl_keeps_records_from_a_pretty_printed_wrapper_on_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let records: Vec<serde_json::Value> = ["2026-10-01T10:00:00Z", "2026-10-01T11:00:00Z"]
        .iter()
        .map(|t| serde_json::from_str(&record(t, "kv1", "s")).unwrap())
        .collect();
    let file = dir.path().join("wrapped.json");
    std::fs::write(&file, serde_json::to_string_pretty(&serde_json::json!({ "records": records })).unwrap()).unwrap();
    ingest(&lake, &file);
    let raw = strings(&lake, "SELECT raw FROM events ORDER BY time");
    assert!(raw.iter().all(|r| r.contains('\n')), "the stored records are pretty-printed");

    let out = dir.path().join("out");
    let m = export_ok(&lake, &out, &["--from", "2026-10-01", "--to", "2026-10-02", "--format", "jsonl"]);
    assert_eq!(m["rows"]["jsonl_newlines_replaced"], 2);
    let text = std::fs::read_to_string(out.join("events/kv1.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for (line, raw) in lines.iter().zip(&raw) {
        // Same length, same JSON value: only line breaks became spaces.
        assert_eq!(line.len(), raw.len());
        let (a, b): (serde_json::Value, serde_json::Value) =
            (serde_json::from_str(line).unwrap(), serde_json::from_str(raw).unwrap());
        assert_eq!(a, b);
    }
}
