//! Secrets in logs: credentials planted in records never reach a file of the lake, an
//! export or an alert; the redacted records keep every other field; the real records
//! produce no redaction.
//!
//! "No file contains it" is checked on the bytes of every file under the lake and the
//! export, and, because Parquet pages are zstd-compressed (a string in them is not visible
//! in the file's bytes), on every value of every column of every Parquet file, decoded.

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::common::{ingest, quarantine_entries, query_i64, real_fixtures, run_ok};

const SIG: &str = "k3Jq7Xw9PzL2mN8vB4cR6tY1uI0oP5aS7dF9gH2jK4l%3D";
const JWT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3ZhdWx0LmF6dXJlLm5ldCIsIm9pZCI6IjEyMyJ9.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const ACCOUNT_KEY: &str =
    "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0hJSktMTU5PUFFSU1RVVg==";
const BEARER: &str = "Qm9ndXNPcGFxdWVUb2tlbkZvclRlc3RzMTIzNDU2";
const PEM_BODY: &str = "MIIEowIBAAKCAQEAx3Jq7Xw9PzL2mN8vB4cR6tY1uI0oP5aS7dF9gH2jK4lQZ";
const PASSWORD: &str = "q8Z!rT2#wX9$mK4pL7vB1nC6";
/// A signature only in a record that does not parse (quarantined).
const QUARANTINED_SIG: &str = "Qz9Yx8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0GfEdCbA9zY8x%2F";
/// A signature only in a line longer than a block (streamed to a quarantine side file).
const OVERSIZED_SIG: &str = "Ov3rS1z3dL1n3S1gN4tur3Xx9Yy8Zz7Ww6Vv5Uu4Tt3%3D";

const ALL_SECRETS: [&str; 8] = [SIG, JWT, ACCOUNT_KEY, BEARER, PEM_BODY, PASSWORD, QUARANTINED_SIG, OVERSIZED_SIG];

/// A record by `oid` in `vault`, with its request URI, client info and result description.
fn record(time: &str, vault: &str, oid: &str, uri_query: &str, client_info: &str, description: &str) -> String {
    format!(
        r#"{{"time":"{time}","category":"AuditEvent","operationName":"SecretGet","resultType":"Success","resultDescription":"{description}","correlationId":"c-{time}","callerIpAddress":"10.0.0.5","identity":{{"claim":{{"oid":"{oid}","appid":"app-{oid}","appidacr":"2","idtyp":"app"}}}},"properties":{{"id":"https://{vault}.vault.azure.net/secrets/db-password/0123456789abcdef0123456789abcdef","clientInfo":"{client_info}","httpStatusCode":200,"requestUri":"https://{vault}.vault.azure.net/secrets/db-password?api-version=7.4{uri_query}","isAccessPolicyMatch":true,"tlsVersion":"TLS1_2"}},"resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/{}","operationVersion":"7.4","resultSignature":"OK","durationMs":"12"}}"#,
        vault.to_uppercase()
    )
}

/// The planted records, and the same records with each secret value left out.
fn planted(secrets: bool) -> Vec<String> {
    let s = |v: &'static str| if secrets { v } else { "" };
    let pem: &'static str =
        format!("-----BEGIN RSA PRIVATE KEY-----\\n{PEM_BODY}\\n-----END RSA PRIVATE KEY-----").leak();
    vec![
        record(
            "2026-10-01T09:10:00Z",
            "kv-a",
            "app1",
            &format!("&sv=2022-11-02&sp=r&sig={}", s(SIG)),
            "python/3.11",
            "ok",
        ),
        record(
            "2026-10-01T09:20:00Z",
            "kv-a",
            "app2",
            "",
            "Go-http-client/1.1",
            &format!("Request header was ignored: '{}'", s(JWT)),
        ),
        record(
            "2026-10-01T10:00:00Z",
            "kv-b",
            "app3",
            "",
            &format!(
                "AZURECLI/2.64.0 AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=st1;AccountKey={};EndpointSuffix=core.windows.net",
                s(ACCOUNT_KEY)
            ),
            "ok",
        ),
        record(
            "2026-10-01T11:00:00Z",
            "kv-b",
            "app4",
            "",
            &format!("curl/8.5 Authorization: Bearer {}", s(BEARER)),
            // A PEM block is redacted whole, from its BEGIN line to its END line.
            &format!("{} client_secret={}", s(pem), s(PASSWORD)),
        ),
    ]
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out.sort();
    out
}

/// Every value of every column of a Parquet file, as text (strings and whatever else,
/// cast to text), so compressed pages are searched decoded.
fn parquet_text(path: &Path) -> String {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let mut text = String::new();
    for batch in reader {
        let batch = batch.unwrap();
        for column in batch.columns() {
            let Ok(cast) = arrow::compute::cast(column, &DataType::Utf8) else { continue };
            let strings = cast.as_string::<i32>();
            for i in 0..strings.len() {
                if strings.is_valid(i) {
                    text.push_str(strings.value(i));
                    text.push('\n');
                }
            }
        }
    }
    text
}

/// Fails if any file under `dir` holds any secret, in its bytes or, for Parquet, in any
/// decoded value. Returns how many Parquet files were decoded.
fn assert_no_secret_under(dir: &Path) -> usize {
    let mut parquet = 0;
    let all = files(dir);
    assert!(!all.is_empty(), "{} holds no files", dir.display());
    for path in all {
        let bytes = std::fs::read(&path).unwrap();
        let mut haystacks = vec![String::from_utf8_lossy(&bytes).into_owned()];
        if path.extension().is_some_and(|e| e == "parquet") {
            haystacks.push(parquet_text(&path));
            parquet += 1;
        }
        for hay in &haystacks {
            for secret in ALL_SECRETS {
                // Also the parts of a JWT and the decoded signature: none may survive alone.
                for needle in secret.split('.').filter(|p| p.len() >= 16) {
                    assert!(!hay.contains(needle), "{} holds {needle}", path.display());
                }
            }
        }
    }
    parquet
}

#[test]
fn planted_secrets_never_reach_the_lake_exports_or_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, lake) = (dir.path().join("logs"), dir.path().join("lake"));
    std::fs::create_dir_all(&logs).unwrap();
    let mut lines = planted(true);
    // A record that does not parse (no `time`) but carries a signature: quarantined, redacted.
    lines.push(format!(
        r#"{{"operationName":"SecretGet","properties":{{"requestUri":"https://kv-a.vault.azure.net/x?sig={QUARANTINED_SIG}"}}}}"#
    ));
    // A line longer than the 4 MiB block: streamed to a quarantine side file, redacted.
    let pad = "x".repeat(5 << 20);
    lines.push(format!(r#"{{"pad":"{pad}","requestUri":"https://kv-a.vault.azure.net/x?sig={OVERSIZED_SIG}"}}"#));
    std::fs::write(logs.join("PT1H.json"), lines.join("\n") + "\n").unwrap();

    let summary = ingest(&lake, &logs);
    assert_eq!(summary["records"], 4, "{summary}");
    assert_eq!(summary["quarantined"], 2, "{summary}");
    assert_eq!(summary["redacted_records"], 6, "{summary}");
    let by = &summary["redactions"];
    assert_eq!(by["sas_signature"], 3, "{summary}");
    for (pattern, n) in
        [("jwt", 1), ("storage_connection_string", 1), ("bearer_token", 1), ("private_key", 1), ("keyword_secret", 1)]
    {
        assert_eq!(by[pattern], n, "{pattern}: {summary}");
    }
    // The quarantine keeps the records, redacted.
    let entries = quarantine_entries(&lake);
    assert_eq!(entries.len(), 2);
    assert!(entries[0]["raw"].as_str().unwrap().contains("sig=[REDACTED:sas_signature:"), "{}", entries[0]);
    let side = lake.join(entries[1]["raw_file"].as_str().unwrap());
    let side = std::fs::read_to_string(side).unwrap();
    assert!(side.len() > 5 << 20 && side.contains("sig=[REDACTED:sas_signature:"));

    // The `redactions` column names the field and pattern.
    let lake_str = lake.to_str().unwrap();
    let column = run_ok(&[
        "--lake",
        lake_str,
        "query",
        "SELECT identity_oid, regexp_replace(redactions, ':[0-9a-f]{16}', ':H', 'g') AS r FROM events ORDER BY time",
        "--format",
        "csv",
    ]);
    assert_eq!(
        column.trim(),
        "identity_oid,r\napp1,request_uri:sas_signature:H\napp2,result_description:jwt:H\n\
         app3,client_info:storage_connection_string:H\n\
         app4,client_info:bearer_token:H;result_description:keyword_secret:H;result_description:private_key:H"
    );

    // Detection finds each caller's credential, and says where.
    let alerts = run_ok(&[
        "--lake",
        lake_str,
        "detect",
        "--from",
        "2026-10-01T00:00:00Z",
        "--to",
        "2026-10-02T00:00:00Z",
        "--format",
        "json",
    ]);
    let alerts: Vec<serde_json::Value> = alerts.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let leaks: Vec<&serde_json::Value> = alerts.iter().filter(|a| a["kind"] == "secret_in_log").collect();
    let who: Vec<&str> = leaks.iter().map(|a| a["identity_oid"].as_str().unwrap()).collect();
    assert_eq!(who, ["app1", "app2", "app3", "app4"], "{leaks:#?}");
    assert!(leaks.iter().all(|a| a["severity"] == "high"));
    let app3 = leaks[2]["explanation"].as_str().unwrap();
    assert!(app3.contains("connection string (AccountKey=…) in client_info once"), "{app3}");
    assert!(leaks[2]["observed"]["findings"][0]["redacted_value"].as_str().unwrap().contains("AccountKey=[REDACTED:"));

    // Exports in every format.
    for format in ["jsonl", "csv", "parquet"] {
        let out = dir.path().join(format!("export-{format}"));
        let args = ["--from", "2026-10-01", "--to", "2026-10-02", "--format", format];
        let mut all = vec!["--lake", lake_str, "export", "--out", out.to_str().unwrap()];
        all.extend_from_slice(&args);
        run_ok(&all);
        let decoded = assert_no_secret_under(&out);
        assert_eq!(decoded > 0, format == "parquet");
    }

    // Every file of the lake: events, quarantine, side files, alerts, baselines, state.
    let decoded = assert_no_secret_under(&lake);
    assert!(decoded >= 1, "the events files are decoded");
    assert!(lake.join("alerts/alerts.jsonl").exists());
}

#[test]
fn redacted_records_keep_every_other_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut tables = Vec::new();
    for secrets in [true, false] {
        let logs = dir.path().join(format!("logs-{secrets}"));
        let lake = dir.path().join(format!("lake-{secrets}"));
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join("PT1H.json"), planted(secrets).join("\n") + "\n").unwrap();
        ingest(&lake, &logs);
        // Every column but where it came from (offsets move with the secrets' lengths) and
        // the list of redactions; markers removed.
        let columns: Vec<String> = kvaudit::lake::schema::events_file_schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| !["source", "source_offset", "redactions"].contains(&n.as_str()))
            .map(|n| {
                format!("regexp_replace(CAST({n} AS VARCHAR), '\\[REDACTED:[a-z_]+:[0-9a-f]{{16}}\\]', '', 'g') AS {n}")
            })
            .collect();
        let sql = format!("SELECT {} FROM events ORDER BY time", columns.join(", "));
        tables.push(crate::common::query(&lake, &sql));
    }
    assert_eq!(tables[0], tables[1]);
    assert!(tables[0].contains("app4") && tables[0].contains("sig="));
}

#[test]
fn the_real_records_are_not_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let summary = ingest(&lake, &real_fixtures());
    assert_eq!(summary["quarantined"], 0);
    assert_eq!(summary["redacted_records"], 0, "{summary}");
    assert_eq!(query_i64(&lake, "SELECT count(*) FROM events WHERE redactions IS NOT NULL"), 0);
    assert!(query_i64(&lake, "SELECT count(*) FROM events") >= 38);
}
