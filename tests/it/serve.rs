//! `kvaudit serve` as a process: cycles over a generated source, new logs picked up on the
//! next cycle, one service per lake, a clean stop on SIGTERM and a rerun that neither loses
//! nor duplicates records, literal secrets refused, and the demo's serve command.

use super::common::{query_i64, run, run_ok};
use super::service::{Server, generate, new_token, write_config};

/// A record of `oid` reading `secret` in `vault` at `time` (RFC 3339).
fn record_by(time: &str, vault: &str, secret: &str, oid: &str) -> String {
    super::common::record(time, vault, secret).replace("\"oid-1\"", &format!("{oid:?}"))
}

#[test]
fn serve_cycles_and_picks_up_logs_appended_between_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let logs = generate(dir.path(), 10, "0.05");
    let lake = dir.path().join("lake");
    let admin = new_token("root", "admin", &[]);
    let config = write_config(dir.path(), &logs.container(), "2s", &[&admin], "");
    let mut server = Server::start(&lake, &config, &[]);
    assert_eq!(server.get("/healthz", None).json(), serde_json::json!({ "status": "ok" }));
    server.wait_for_cycles(1);

    // The first cycle ingested every generated record and ran detection.
    assert_eq!(server.metric("kvaudit_ingest_records_total ").unwrap() as u64, logs.records);
    assert_eq!(server.metric("kvaudit_ingest_quarantined_total ").unwrap(), 0.0);
    let lag = server.metric("kvaudit_ingest_lag_seconds ").expect("a lag once events are in");
    assert!(lag > 0.0, "generated logs are in the past: {lag}");
    let overview = server.get("/api/overview?days=3", Some(&admin.token)).json();
    assert!(overview["ingest"]["last_detection"].is_string(), "{overview}");
    assert_eq!(overview["ingest"]["records"].as_u64(), Some(logs.records));
    assert!(overview["ingest"]["last_error"].is_null(), "{overview}");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lake.join("_state/serve.json")).unwrap()).unwrap();
    assert_eq!(state["records_total"].as_u64(), Some(logs.records), "{state}");

    // A vault every generated identity knows, and a caller none of them is.
    let vault = overview["events_per_day"][0]["vault"].as_str().unwrap().to_owned();
    let newest = overview["ingest"]["newest_event"].as_str().unwrap().to_owned();
    let newest = chrono::DateTime::parse_from_rfc3339(&newest).unwrap();
    let mut lines = String::new();
    for minute in 0..6 {
        let t = (newest + chrono::Duration::minutes(30 + minute)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        lines.push_str(&record_by(&t, &vault, &format!("s{minute}"), "intruder-oid"));
        lines.push('\n');
    }
    let cycles = server.metric("kvaudit_cycles_total ").unwrap() as u64;
    let appended = logs.container().join("late").join("PT1H.json");
    std::fs::create_dir_all(appended.parent().unwrap()).unwrap();
    std::fs::write(&appended, lines).unwrap();
    server.wait_for_cycles(cycles + 2);
    assert_eq!(server.metric("kvaudit_ingest_records_total ").unwrap() as u64, logs.records + 6);
    let alerts = server.get("/api/alerts?kind=new_identity", Some(&admin.token)).json();
    let found = alerts["alerts"].as_array().unwrap().iter().any(|a| a["identity_oid"] == "intruder-oid");
    assert!(found, "the appended caller raised no new_identity alert: {alerts}");

    let status = server.terminate();
    assert!(status.success(), "SIGTERM should end kvaudit serve with status 0, not {status}");
}

#[test]
fn one_service_per_lake_the_second_is_told_the_holders_pid() {
    let dir = tempfile::tempdir().unwrap();
    let logs = generate(dir.path(), 2, "0.02");
    let lake = dir.path().join("lake");
    let config = write_config(dir.path(), &logs.container(), "1h", &[], "");
    let first = Server::start(&lake, &config, &[]);
    let second = run(&["--lake", lake.to_str().unwrap(), "serve", "--config", config.to_str().unwrap()]);
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains(&format!("pid {}", first.child.id())), "{stderr}");
    assert!(stderr.contains("one service per lake"), "{stderr}");
    assert!(first.terminate().success());
}

#[test]
fn sigterm_stops_at_a_checkpoint_and_a_rerun_neither_loses_nor_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let logs = generate(dir.path(), 6, "0.3");
    let lake = dir.path().join("lake");
    // Small commits, so a stop in the middle of the first ingest has committed work to keep.
    let config = write_config(dir.path(), &logs.container(), "1h", &[], "");
    let text = std::fs::read_to_string(&config).unwrap().replace("workers = 2", "workers = 2\ncommit_bytes = 2000000");
    std::fs::write(&config, text).unwrap();
    let server = Server::start(&lake, &config, &[]);
    // Stopped while its first cycle runs (or just after: either way nothing may be lost).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");

    let mut again = Server::start(&lake, &config, &[]);
    again.wait_for_cycles(1);
    assert!(again.terminate().success());
    let lake_arg = lake.to_str().unwrap();
    let rows = query_i64(&lake, "SELECT count(*) FROM events");
    assert_eq!(rows as u64, logs.records, "every generated record is in the lake once");
    let distinct = query_i64(&lake, "SELECT count(*) FROM (SELECT DISTINCT source, source_offset FROM events)");
    assert_eq!(distinct, rows, "no record twice");
    // And a one-off ingest afterwards finds nothing new.
    let out = run_ok(&["--lake", lake_arg, "ingest", "--from", logs.container().to_str().unwrap(), "--format", "json"]);
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["records"], 0, "{summary}");
}

#[test]
fn a_literal_secret_in_the_config_is_refused_with_how_to_reference_it() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = dir.path().join("kvaudit.toml");
    std::fs::write(
        &config,
        "[[source]]\nfrom = \"az://acct/insights-logs-auditevent\"\nsas = \"sv=2024-08-04&ss=b&sig=LiteralSig%2BValue\"\n",
    )
    .unwrap();
    let out = run(&["--lake", lake.to_str().unwrap(), "serve", "--config", config.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("{ env = ") && stderr.contains("{ file = "), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(!stderr.contains("LiteralSig"), "the refusal repeats the secret: {stderr}");

    let token = new_token("a", "admin", &[]);
    std::fs::write(&config, format!("[[source]]\nfrom = \"logs\"\n{}token = {:?}\n", token.lines, token.token))
        .unwrap();
    let out = run(&["--lake", lake.to_str().unwrap(), "serve", "--config", config.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("never written in the config file"), "{stderr}");
    assert!(!stderr.contains(&token.token), "{stderr}");
    assert!(!lake.join("_state/serve.lock").exists(), "a refused config never starts the service");
}

#[test]
fn the_demo_ends_with_a_serve_command_and_a_token_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let logs = dir.path().join("demo-logs");
    let out = run_ok(&["--lake", lake.to_str().unwrap(), "demo", "--logs", logs.to_str().unwrap(), "--days", "3"]);
    let command = out.lines().find(|l| l.contains(" serve --config ")).expect("the demo prints the serve command");
    let token = out
        .split_whitespace()
        .find(|w| w.starts_with("kva_"))
        .expect("the demo prints a token")
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-');
    let config = command.split(" serve --config ").nth(1).unwrap().split_whitespace().next().unwrap();
    assert!(command.contains(&format!("--lake {}", lake.display())), "{command}");
    // The printed command, on a free port instead of the demo's 8080.
    let mut server = Server::start(&lake, std::path::Path::new(config), &[]);
    let whoami = server.get("/api/whoami", Some(token)).json();
    assert_eq!(whoami["role"], "admin", "{whoami}");
    server.wait_for_cycles(1);
    let alerts = server.get("/api/alerts", Some(token)).json();
    assert!(!alerts["alerts"].as_array().unwrap().is_empty(), "the demo lake has alerts to show");
    assert!(server.terminate().success());
}
