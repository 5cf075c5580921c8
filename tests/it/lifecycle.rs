//! Secret lifecycle, end to end: the lifecycle SQL over a small lake with known answers;
//! then `kvaudit inventory import`, `detect`, `secrets` and `secret-status` over logs
//! written for each case, run as the real binary.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use kvaudit::detect::lifecycle::summary::bind_boundaries;
use kvaudit::detect::relations::{bind_access, bind_records};
use kvaudit::detect::rollup::{Rollup, refresh};
use kvaudit::inventory::Inventory;
use kvaudit::lake::LakePaths;
use kvaudit::query::registry::LIFECYCLE_QUERIES;
use kvaudit::query::{QuerySession, SessionOptions};

use crate::common::{differs_from_expected, ingest, query_i64, run, run_ok, sql_files};

/// A record of `operation` on `vault/secret[/version]` by `who` (an app, or a person when
/// it contains `@`).
pub fn op(
    time: DateTime<Utc>,
    vault: &str,
    operation: &str,
    secret: &str,
    version: &str,
    who: &str,
    status: u16,
) -> String {
    let mut id = format!("https://{vault}.vault.azure.net/secrets/{secret}");
    if !version.is_empty() {
        id.push('/');
        id.push_str(version);
    }
    let claims = if who.contains('@') {
        format!(r#"{{"oid":"oid-{who}","upn":"{who}","appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","idtyp":"user"}}"#)
    } else {
        format!(r#"{{"oid":"oid-{who}","appid":"app-{who}","appidacr":"2","idtyp":"app"}}"#)
    };
    format!(
        r#"{{"time":"{}","category":"AuditEvent","operationName":"{operation}","resultType":"Success","correlationId":"c-{}","callerIpAddress":"10.0.0.9","identity":{{"claim":{claims}}},"properties":{{"id":"{id}","clientInfo":"client-{who}","httpStatusCode":{status},"requestUri":"{id}?api-version=7.4"}},"resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/{}","operationVersion":"7.4","resultSignature":"OK","durationMs":"9"}}"#,
        time.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        time.timestamp_micros(),
        vault.to_uppercase()
    )
}

pub fn at(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
}

/// Daily reads of `vault/secret` at `version` by `who`, 10:00 on each of `days` days from `from`.
pub fn daily(from: DateTime<Utc>, days: i64, vault: &str, secret: &str, version: &str, who: &str) -> Vec<String> {
    (0..days)
        .map(|d| op(from + Duration::days(d) + Duration::hours(10), vault, "SecretGet", secret, version, who, 200))
        .collect()
}

/// One ingested lake of `lines` (and an inventory, when given).
pub fn lake_of(lines: &[String], inventory: Option<&str>) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let file = dir.path().join("logs.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    ingest(&lake, &file);
    if let Some(json) = inventory {
        let path = dir.path().join("inventory.json");
        std::fs::write(&path, json).unwrap();
        run_ok(&["--lake", lake.to_str().unwrap(), "inventory", "import", path.to_str().unwrap()]);
    }
    (dir, lake)
}

/// The entry `az keyvault secret list` prints for one secret.
fn listed(vault: &str, name: &str, created: &str, expires: Option<&str>) -> String {
    let expires = expires.map(|e| format!("\"{e}\"")).unwrap_or_else(|| "null".into());
    format!(
        r#"{{"attributes": {{"created": "{created}", "enabled": true, "expires": {expires}, "notBefore": null, "recoverableDays": 90, "recoveryLevel": "Recoverable", "updated": "{created}"}}, "contentType": null, "id": "https://{vault}.vault.azure.net/secrets/{name}", "managed": null, "name": "{name}", "tags": {{}}}}"#
    )
}

pub fn detect(lake: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["--lake", lake.to_str().unwrap(), "detect", "--format", "json"];
    args.extend_from_slice(extra);
    run_ok(&args).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

pub fn kinds_about(alerts: &[serde_json::Value], secret: &str) -> Vec<String> {
    let mut kinds: Vec<String> =
        alerts.iter().filter(|a| a["object_name"] == secret).map(|a| a["kind"].as_str().unwrap().to_owned()).collect();
    kinds.sort();
    kinds
}

fn status_json(lake: &Path, secret: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--lake", lake.to_str().unwrap(), "secret-status", secret, "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(run_ok(&args).trim()).unwrap()
}

#[test]
fn every_lifecycle_query_gives_its_expected_table() {
    let t = |s| at(s);
    let lines = [
        op(t("2026-10-01T08:00:00Z"), "kv-a", "SecretSet", "db-password", "v1", "rotator", 200),
        op(t("2026-10-01T09:00:00Z"), "kv-a", "SecretGet", "db-password", "v1", "app1", 200),
        op(t("2026-10-01T09:30:00Z"), "kv-a", "SecretGet", "DB-Password", "v1", "app1", 200),
        op(t("2026-10-01T10:00:00Z"), "kv-a", "SecretGet", "db-password", "v1", "alice@contoso.com", 403),
        op(t("2026-10-02T08:00:00Z"), "kv-a", "SecretSet", "db-password", "v2", "rotator", 200),
        op(t("2026-10-02T09:00:00Z"), "kv-a", "SecretGet", "db-password", "v1", "app1", 200),
        // A secret with no dated event: object_summary folds its two days into one row.
        op(t("2026-10-01T11:00:00Z"), "kv-a", "SecretGet", "cache-key", "c1", "app1", 200),
        op(t("2026-10-02T11:00:00Z"), "kv-a", "SecretGet", "cache-key", "c1", "app1", 200),
        op(
            t("2026-10-02T09:05:00Z"),
            "kv-a",
            "SecretNearExpiryEventGridNotification",
            "api-key",
            "k1",
            "eventgrid",
            200,
        ),
        op(t("2026-10-03T07:00:00Z"), "kv-b", "SecretList", "", "", "alice@contoso.com", 200),
        op(t("2026-10-03T07:01:00Z"), "kv-b", "SecretDelete", "token", "", "alice@contoso.com", 200),
        op(t("2026-10-03T07:02:00Z"), "kv-b", "VaultPut", "", "", "alice@contoso.com", 200),
        op(t("2026-10-03T07:03:00Z"), "kv-b", "VaultGet", "", "", "alice@contoso.com", 200),
    ];
    let (_dir, lake) = lake_of(&lines, None);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut failures = Vec::new();
    runtime.block_on(async {
        let lake = LakePaths::new(&lake);
        let session = QuerySession::open(&SessionOptions::new(lake.clone())).await.unwrap();
        // Days 1 and 2 materialized; day 3 rolled up on the fly up to 12:00.
        let (start, end) = (at("2026-10-01T00:00:00Z"), at("2026-10-03T12:00:00Z"));
        refresh(&session, &lake, Rollup::ObjectAccess, start.date_naive(), end.date_naive()).await.unwrap();
        for q in LIFECYCLE_QUERIES {
            if q.name == "object_access" {
                bind_records(&session, start, end).await.unwrap(); // the rollup over all three days at once
            } else {
                bind_access(&session, &lake, start, end).await.unwrap();
                // The fold's relations: boundaries from `access`, no inventory, 7 days' grace.
                bind_boundaries(&session, &Inventory::default(), 7).await.unwrap();
            }
            let batches = session.context().sql(q.sql).await.unwrap().collect().await.unwrap();
            let got = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
            let file = format!("queries/lifecycle/{}.sql", q.name);
            failures.extend(differs_from_expected(&format!("lifecycle/{}", q.name), &file, &got));
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_lifecycle_registry_lists_every_sql_file() {
    let mut registered: Vec<String> = LIFECYCLE_QUERIES.iter().map(|q| q.name.to_string()).collect();
    registered.sort();
    assert_eq!(sql_files("lifecycle"), registered);
}

#[test]
fn short_coverage_never_claims_a_stale_secret() {
    // Ten days of logs; `unused` is in the inventory and never read.
    let start = at("2026-10-01T00:00:00Z");
    let lines = daily(start, 10, "kv-a", "used", "v1", "app1");
    let inventory = format!(
        "[{}, {}]",
        listed("kv-a", "used", "2026-09-01T00:00:00+00:00", Some("2027-09-01T00:00:00+00:00")),
        listed("kv-a", "unused", "2026-09-01T00:00:00+00:00", Some("2027-09-01T00:00:00+00:00"))
    );
    let (dir, lake) = lake_of(&lines, Some(&inventory));
    let alerts = detect(&lake, &[]);
    assert!(kinds_about(&alerts, "unused").is_empty(), "{alerts:?}");
    let status = status_json(&lake, "kv-a/unused", &[]);
    assert_eq!(status["verdict"], "never_read");
    assert_eq!(status["verdict_text"], "never read in the observed 10 days");
    assert!(status["recommendation"].as_str().unwrap().contains("the logs cover only 10 days"), "{status}");
    let listed = run_ok(&["--lake", lake.to_str().unwrap(), "secrets", "--state", "unread", "--format", "json"]);
    let rows: Vec<serde_json::Value> = listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!(rows[0]["name"], "unused");

    // With a stale period the coverage holds, the same secret is stale (and `used` is not).
    let config = dir.path().join("kvaudit.toml");
    std::fs::write(&config, "[lifecycle]\nstale_days = 7\n").unwrap();
    let config = config.to_str().unwrap();
    let alerts = detect(&lake, &["--config", config, "--from", "2026-10-10T00:00:00Z", "--to", "2026-10-11T00:00:00Z"]);
    assert_eq!(kinds_about(&alerts, "unused"), ["stale_secret"], "{alerts:?}");
    assert!(kinds_about(&alerts, "used").is_empty(), "{alerts:?}");
    let stale = alerts.iter().find(|a| a["kind"] == "stale_secret").unwrap();
    assert!(stale["explanation"].as_str().unwrap().contains("was not read in all 10 days the logs cover"), "{stale}");
}

#[test]
fn reading_the_old_version_is_late_only_after_the_grace_period() {
    // `conn` is rotated on day 10 from v1 to v2; `laggard` keeps reading v1, `follower` moves.
    let start = at("2026-10-01T00:00:00Z");
    let rotated = start + Duration::days(9) + Duration::hours(3);
    let mut lines = vec![op(rotated, "kv-a", "SecretSet", "conn", "v2", "rotator", 200)];
    lines.extend(daily(start + Duration::hours(1), 20, "kv-a", "conn", "v1", "laggard"));
    lines.extend(daily(start, 9, "kv-a", "conn", "v1", "follower"));
    lines.extend(daily(start + Duration::days(9), 11, "kv-a", "conn", "v2", "follower"));
    let (_dir, lake) = lake_of(&lines, None);

    // The day after the rotation: reading v1 is expected.
    let alerts = detect(&lake, &["--from", "2026-10-10T00:00:00Z", "--to", "2026-10-11T00:00:00Z"]);
    assert!(!kinds_about(&alerts, "conn").contains(&"old_version_in_use".to_owned()), "{alerts:?}");
    // Eight days after: the laggard missed it, the follower did not.
    let alerts = detect(&lake, &["--from", "2026-10-17T00:00:00Z", "--to", "2026-10-18T00:00:00Z"]);
    let late: Vec<&serde_json::Value> = alerts.iter().filter(|a| a["kind"] == "old_version_in_use").collect();
    assert_eq!(late.len(), 1, "{alerts:?}");
    assert_eq!(late[0]["identity_oid"], "oid-laggard");
    assert_eq!(late[0]["observed"]["version_read"], "v1");
    assert_eq!(late[0]["baseline"]["current_version"], "v2");

    let status = status_json(&lake, "kv-a/conn", &["--days", "5"]);
    assert_eq!(status["verdict"], "in_use");
    let versions: Vec<(&str, bool)> = status["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_str().unwrap(), v["current"].as_bool().unwrap()))
        .collect();
    assert!(versions.contains(&("v1", false)) && versions.contains(&("v2", true)), "{versions:?}");
    assert_eq!(status["last_read"]["version"], "v1", "the laggard reads after the follower each day: {status}");
}

#[test]
fn inventory_and_logs_each_missing_some_secrets_both_work() {
    // The inventory lists `listed-only` (no expiry, never read); the logs read `logged-only`,
    // which no inventory lists; `both` is in both and expired ten days ago while still read.
    let start = at("2026-10-01T00:00:00Z");
    let mut lines = daily(start, 20, "kv-a", "logged-only", "x1", "app1");
    lines.extend(daily(start, 20, "kv-a", "both", "b1", "app2"));
    lines.extend(daily(start, 20, "kv-a", "both", "b1", "carol@contoso.com"));
    let inventory = format!(
        "[{}, {}]",
        listed("kv-a", "listed-only", "2026-09-01T00:00:00+00:00", None),
        listed("kv-a", "both", "2025-10-01T00:00:00+00:00", Some("2026-10-10T00:00:00+00:00"))
    );
    let (_dir, lake) = lake_of(&lines, Some(&inventory));
    let alerts = detect(&lake, &["--from", "2026-10-20T00:00:00Z"]);
    assert_eq!(kinds_about(&alerts, "listed-only"), ["secret_without_expiry"], "{alerts:?}");
    assert!(kinds_about(&alerts, "logged-only").is_empty(), "{alerts:?}");
    assert_eq!(kinds_about(&alerts, "both"), ["expired_secret_in_use", "secret_past_max_age"], "{alerts:?}");
    let expired = alerts.iter().find(|a| a["kind"] == "expired_secret_in_use").unwrap();
    // The workload, not the person who opened it in the portal.
    assert_eq!(expired["identity_oid"], "oid-app2", "{expired}");

    let rows = run_ok(&["--lake", lake.to_str().unwrap(), "secrets", "--format", "json"]);
    let names: Vec<String> = rows
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["both", "listed-only", "logged-only"]);
    let logged = status_json(&lake, "kv-a/logged-only", &[]);
    assert_eq!((logged["verdict"].as_str(), logged["in_inventory"].as_bool()), (Some("in_use"), Some(false)));
    assert_eq!(logged["readers"][0]["identity_appid"], "app-app1");
}

#[test]
fn expiry_is_known_from_the_service_notification_alone() {
    let start = at("2026-10-01T00:00:00Z");
    let mut lines = daily(start, 12, "kv-a", "partner-key", "p1", "gateway");
    lines.push(op(
        start + Duration::days(5),
        "kv-a",
        "SecretExpiredEventGridNotification",
        "partner-key",
        "p1",
        "eventgrid",
        200,
    ));
    let (_dir, lake) = lake_of(&lines, None);
    let alerts = detect(&lake, &["--from", "2026-10-11T00:00:00Z"]);
    assert_eq!(kinds_about(&alerts, "partner-key"), ["expired_secret_in_use"], "{alerts:?}");
    assert_eq!(alerts[0]["baseline"]["known_from"], "expired_notification");
}

#[test]
fn an_unknown_secret_says_so_and_fails() {
    let (_dir, lake) = lake_of(&daily(at("2026-10-01T00:00:00Z"), 2, "kv-a", "real", "v1", "app1"), None);
    let out = run(&["--lake", lake.to_str().unwrap(), "secret-status", "kv-a/imaginary"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown secret kv-a/imaginary"), "{stderr}");
    let out = run(&["--lake", lake.to_str().unwrap(), "secret-status", "no-slash"]);
    assert!(!out.status.success());
}

#[test]
fn imports_keep_history_and_never_store_a_secret_value() {
    let (dir, lake) = lake_of(&daily(at("2026-10-01T00:00:00Z"), 2, "kv-a", "db", "v1", "app1"), None);
    let show = dir.path().join("show.json");
    let value = "Sup3r-Secret-Value-That-Must-Not-Land";
    std::fs::write(
        &show,
        format!(
            r#"{{"attributes": {{"created": "2026-09-01T00:00:00+00:00", "expires": "2026-12-01T00:00:00+00:00"}}, "id": "https://kv-a.vault.azure.net/secrets/db/v1", "name": "db", "value": "{value}"}}"#
        ),
    )
    .unwrap();
    let lake_arg = lake.to_str().unwrap();
    let report = run_ok(&["--lake", lake_arg, "inventory", "import", show.to_str().unwrap(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!((report["entries"].as_u64(), report["values_dropped"].as_u64()), (Some(1), Some(1)));
    // Again: nothing new. Then the expiry changes: a second import, both kept.
    let again = run_ok(&["--lake", lake_arg, "inventory", "import", show.to_str().unwrap(), "--format", "json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(again.trim()).unwrap()["unchanged"], 1);
    let text = std::fs::read_to_string(&show).unwrap().replace("2026-12-01", "2027-06-01");
    std::fs::write(&show, text).unwrap();
    run_ok(&["--lake", lake_arg, "inventory", "import", show.to_str().unwrap()]);
    assert_eq!(std::fs::read_dir(lake.join("inventory")).unwrap().count(), 2);
    let status = status_json(&lake, "kv-a/db", &[]);
    assert_eq!(status["expires"], "2027-06-01T00:00:00Z", "the newest import holds: {status}");
    // SQL sees both imports, the newest marked current.
    assert_eq!(query_i64(&lake, "SELECT count(*) FROM inventory WHERE name = 'db'"), 2);
    let current = "SELECT count(*) FROM inventory WHERE current AND expires = TIMESTAMP '2027-06-01T00:00:00Z'";
    assert_eq!(query_i64(&lake, current), 1);

    for entry in walk(&lake) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!bytes.windows(value.len()).any(|w| w == value.as_bytes()), "{} holds the value", entry.display());
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}
