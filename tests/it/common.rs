//! Shared helpers: run the real binary, read a lake back with DataFusion.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kvaudit::lake::LakePaths;
use kvaudit::query::{QuerySession, SessionOptions};

/// The `kvaudit` binary cargo built for these tests.
pub fn kvaudit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kvaudit"))
}

/// The real Key Vault records captured by others (`../shared/fixtures/keyvault-real`).
pub fn real_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/keyvault-real")
}

/// Runs kvaudit with `args` and returns its output, whatever its status.
pub fn run(args: &[&str]) -> Output {
    kvaudit().args(args).output().expect("kvaudit starts")
}

/// Runs kvaudit and fails the test, with its stderr, unless it succeeds.
pub fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "kvaudit {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// `kvaudit --lake LAKE ingest --from FROM --format json`, parsed.
pub fn ingest(lake: &Path, from: &Path) -> serde_json::Value {
    let text =
        run_ok(&["--lake", lake.to_str().unwrap(), "ingest", "--from", from.to_str().unwrap(), "--format", "json"]);
    serde_json::from_str(text.trim()).expect("the summary is one JSON object")
}

/// Runs SQL over a lake in-process and returns the pretty-printed result.
pub fn query(lake: &Path, sql: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let session = QuerySession::open(&SessionOptions::new(LakePaths::new(lake))).await.unwrap();
        let (_, batches) = session.sql(sql).await.unwrap();
        arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string()
    })
}

/// Runs SQL returning one integer.
pub fn query_i64(lake: &Path, sql: &str) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let session = QuerySession::open(&SessionOptions::new(LakePaths::new(lake))).await.unwrap();
        let (_, batches) = session.sql(sql).await.unwrap();
        let column = batches[0].column(0);
        arrow::compute::cast(column, &arrow::datatypes::DataType::Int64)
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap()
            .value(0)
    })
}

/// Every quarantine entry of a lake, as JSON objects.
pub fn quarantine_entries(lake: &Path) -> Vec<serde_json::Value> {
    let mut entries = Vec::new();
    let dir = lake.join("quarantine");
    if !dir.exists() {
        return entries;
    }
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                for line in std::fs::read_to_string(&p).unwrap().lines() {
                    entries.push(serde_json::from_str(line).unwrap());
                }
            }
        }
    }
    entries.sort_by_key(|e| (e["source"].as_str().unwrap().to_string(), e["offset"].as_u64().unwrap()));
    entries
}

/// A valid Key Vault record at `time`, reading `secret` in `vault`.
pub fn record(time: &str, vault: &str, secret: &str) -> String {
    format!(
        r#"{{"time":"{time}","category":"AuditEvent","operationName":"SecretGet","resultType":"Success","correlationId":"c-{secret}","callerIpAddress":"10.1.2.3","identity":{{"claim":{{"oid":"oid-1","appid":"app-1","appidacr":"2","idtyp":"app"}}}},"properties":{{"id":"https://{vault}.vault.azure.net/secrets/{secret}/0123456789abcdef0123456789abcdef","clientInfo":"test","httpStatusCode":200,"requestUri":"https://{vault}.vault.azure.net/secrets/{secret}?api-version=7.4","isAccessPolicyMatch":true,"tlsVersion":"TLS1_2"}},"resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/{vault_upper}","operationVersion":"7.4","resultSignature":"OK","durationMs":"12"}}"#,
        vault_upper = vault.to_uppercase()
    )
}

/// Compares a result table with `tests/it/expected/<name>.txt`, which `KVAUDIT_BLESS=1`
/// rewrites instead; returns the difference, labelled with the query's file, if any.
pub fn differs_from_expected(name: &str, sql_file: &str, got: &str) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/expected").join(format!("{name}.txt"));
    if std::env::var_os("KVAUDIT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with KVAUDIT_BLESS=1", path.display()));
    (got.trim() != want.trim()).then(|| format!("{sql_file}\n--- expected\n{want}\n--- got\n{got}"))
}

/// The stems of the `.sql` files in `queries/<dir>`, sorted.
pub fn sql_files(dir: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries").join(dir);
    let mut stems: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    stems.sort();
    stems
}
