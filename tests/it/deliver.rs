//! Alert delivery end to end: the real `kvaudit` binary (and the library, where a test
//! moves the clock) sending to a real SMTP server (aiosmtpd, installed by scripts/test.sh,
//! started here on a free loopback port) and to webhook receivers served by hyper in the
//! test. The SMTP server stores each accepted message with its MIME parts decoded by
//! Python's email package, so assertions read headers and parts, not encodings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};

use chrono::{Duration, DurationRound, Utc};
use kvaudit::alert::{Alert, AlertKind, AlertState, AlertStore, Evidence, Score, Severity};
use kvaudit::deliver::webhook::sign;
use kvaudit::lake::LakePaths;

use crate::common::{ingest, kvaudit, run_ok};
use crate::smtp::{SMTP_PASSWORD, SmtpOptions, SmtpServer, free_port, smtp_table};

const WEBHOOK_KEY: &str = "hook-key-8d3b5a6c0e";

/// The text of a mail's part of `content_type`.
fn part<'a>(mail: &'a serde_json::Value, content_type: &str) -> &'a str {
    mail["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["content_type"] == content_type)
        .unwrap_or_else(|| panic!("no {content_type} part in {mail:#}"))["text"]
        .as_str()
        .unwrap()
}

fn header<'a>(mail: &'a serde_json::Value, name: &str) -> &'a str {
    mail["headers"][name].as_str().unwrap_or_else(|| panic!("no {name} header in {mail:#}"))
}

/// An alert as a detector would raise it, about `vault`, with two events of evidence.
fn raised(n: u32, kind: AlertKind, severity: Severity, vault: &str) -> Alert {
    let start = Utc::now() - Duration::hours(2) + Duration::minutes(n.into());
    let evidence = (0..2)
        .map(|i| Evidence {
            time: (start + Duration::minutes(i)).to_rfc3339(),
            operation: "SecretGet".into(),
            vault: vault.into(),
            object: Some(format!("secret-{n}")),
            http_status: Some(200),
            ip: Some("203.0.113.9".into()),
            correlation_id: Some(format!("corr-{n}-{i}")),
        })
        .collect();
    Alert {
        id: String::new(),
        kind,
        severity,
        vault: Some(vault.into()),
        identity_oid: Some(format!("oid-{n}")),
        identity_appid: None,
        identity_upn: Some(format!("user{n}@contoso.com")),
        object_name: Some(format!("secret-{n}")),
        caller_ip: Some("203.0.113.9".into()),
        window_start: start,
        window_end: start + Duration::hours(1),
        observed: serde_json::json!({"calls": 40 + n}),
        baseline: serde_json::json!({"median_calls": 3, "history_days": 30}),
        score: Score { name: "p_value".into(), value: 1e-9 },
        explanation: format!("user{n} read <{n}> secrets & more than ever before"),
        evidence,
        state: AlertState::Open,
        state_reason: None,
        first_raised: start,
        last_raised: start,
    }
}

/// A lake holding `alerts` in its alert store; returns their stored ids in order.
fn lake_with(dir: &Path, alerts: Vec<Alert>) -> (PathBuf, Vec<String>) {
    let lake = dir.join("lake");
    let mut store = AlertStore::open(&LakePaths::new(&lake)).unwrap();
    let ids = alerts.into_iter().map(|a| store.raise(a, Utc::now()).0).collect();
    store.save().unwrap();
    (lake, ids)
}

/// Runs `kvaudit --lake LAKE -vv deliver ARGS` with the test secrets in its environment.
fn deliver(lake: &Path, args: &[&str]) -> Output {
    kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "-vv", "deliver"])
        .args(args)
        .env("KVAUDIT_IT_SMTP_PASSWORD", SMTP_PASSWORD)
        .env("KVAUDIT_IT_WEBHOOK_KEY", WEBHOOK_KEY)
        .output()
        .unwrap()
}

fn deliver_ok(lake: &Path, args: &[&str]) -> (String, String) {
    let out = deliver(lake, args);
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    assert!(out.status.success(), "kvaudit deliver {args:?} failed: {stderr}");
    (stdout, stderr)
}

fn statuses(lake: &Path) -> Vec<serde_json::Value> {
    let (stdout, _) = deliver_ok(lake, &["status", "--format", "json"]);
    stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Neither secret appears in `texts` nor in the lake's outbox.
fn assert_no_secret(lake: &Path, texts: &[&str]) {
    let outbox = std::fs::read_to_string(LakePaths::new(lake).outbox_file()).unwrap();
    for (what, text) in texts.iter().map(|t| ("output", *t)).chain([("outbox", outbox.as_str())]) {
        for secret in [SMTP_PASSWORD, WEBHOOK_KEY] {
            assert!(!text.contains(secret), "a secret appears in the {what}: {text}");
        }
    }
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("kvaudit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn generated_alerts_arrive_by_mail_over_starttls_with_login_and_their_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, lake) = (dir.path().join("logs"), dir.path().join("lake"));
    run_ok(&["generate", "--out", logs.to_str().unwrap(), "--days", "14", "--seed", "5", "--scale", "0.05"]);
    ingest(&lake, &logs.join("insights-logs-auditevent"));
    run_ok(&["--lake", lake.to_str().unwrap(), "detect", "--from", &detect_from(&lake)]);
    let store = AlertStore::open(&LakePaths::new(&lake)).unwrap();
    let routed: Vec<&Alert> =
        store.alerts().iter().filter(|a| a.state == AlertState::Open && a.severity >= Severity::Medium).collect();
    assert!(routed.len() >= 2, "the generated month raises alerts: {:?}", store.alerts().len());

    let smtp = SmtpServer::start(
        dir.path(),
        free_port(),
        SmtpOptions { tls: "starttls", login: Some("kvaudit-it"), stall_seconds: 0 },
    );
    let config = write_config(
        dir.path(),
        &format!(
            "[delivery]\n{}\n[[delivery.channels]]\nname = \"soc\"\ntype = \"email\"\nto = [\"soc@contoso.example\", \"lead@contoso.example\"]\n\
             [[delivery.routes]]\nchannels = [\"soc\"]\nmin_severity = \"medium\"\n",
            smtp_table(smtp.port, "starttls", &smtp.ca, true, 30)
        ),
    );
    let config = config.to_str().unwrap();
    let (check, _) = deliver_ok(&lake, &["check", "--config", config]);
    assert!(check.contains("smtp") && check.contains(" ok"), "{check}");
    let (summary, log) = deliver_ok(&lake, &["--config", config, "--format", "json"]);
    let summary: serde_json::Value = serde_json::from_str(summary.trim()).unwrap();
    assert_eq!(summary["enqueued"], routed.len());
    assert_eq!(summary["channels"][0]["delivered"], routed.len());

    let mails = smtp.mails();
    assert_eq!(mails.len(), routed.len(), "one mail per routed alert");
    for mail in &mails {
        assert_eq!(mail["encrypted"], true, "STARTTLS was used");
        assert_eq!(mail["login"], "kvaudit-it");
        assert_eq!(mail["rcpt_tos"], serde_json::json!(["soc@contoso.example", "lead@contoso.example"]));
        assert_eq!(mail["content_type"], "multipart/alternative");
        let id = header(mail, "x-kvaudit-alert");
        let alert = routed.iter().find(|a| a.id == id).expect("the mail names a routed alert");
        let subject = header(mail, "subject");
        let vault = alert.vault.as_deref().unwrap_or("several vaults");
        for needle in [alert.severity.as_str().to_uppercase().as_str(), alert.kind.as_str(), vault] {
            assert!(subject.contains(needle), "{needle:?} in the subject {subject:?}");
        }
        let (plain, html) = (part(mail, "text/plain"), part(mail, "text/html"));
        assert!(plain.contains(&alert.explanation), "{plain}");
        assert!(html.contains(&html_escaped(&alert.explanation)), "{html}");
        assert!(plain.contains(&alert.score.name) && plain.contains("Baseline:") && plain.contains("Observed:"));
        for event in &alert.evidence {
            let correlation = event.correlation_id.as_deref().unwrap_or(&event.time);
            assert!(plain.contains(correlation) && html.contains(&html_escaped(correlation)), "evidence {correlation}");
        }
        assert!(plain.contains("kvaudit query \"SELECT time, operation"), "{plain}");
        if let (Some(object), Some(vault)) = (&alert.object_name, &alert.vault) {
            assert!(plain.contains(&format!("kvaudit secret-status \"{vault}/{object}\"")), "{plain}");
        }
    }
    let message_ids: BTreeSet<&str> = mails.iter().map(|m| header(m, "message-id")).collect();
    assert_eq!(message_ids.len(), mails.len(), "Message-IDs are distinct");

    // A second run sends nothing: every alert has its entry, delivered.
    let (again, log_again) = deliver_ok(&lake, &["--config", config]);
    assert!(again.contains("0 new outbox entries"), "{again}");
    assert_eq!(smtp.mails().len(), routed.len());
    let rows = statuses(&lake);
    assert_eq!(rows.len(), routed.len());
    assert!(rows.iter().all(|r| r["state"] == "delivered" && r["attempts"] == 1 && r["channel"] == "soc"), "{rows:?}");
    let (table, _) = deliver_ok(&lake, &["status"]);
    assert_no_secret(&lake, &[&log, &log_again, &check, &table]);
}

/// The day after the first week of the lake's events: detection over the rest.
fn detect_from(lake: &Path) -> String {
    let mut dates: Vec<String> = std::fs::read_dir(lake.join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_start_matches("date=").to_owned())
        .collect();
    dates.sort();
    format!("{}T00:00:00Z", dates[7])
}

fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[test]
fn smtp_down_for_a_while_then_up_delivers_every_alert_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = (0..5).map(|n| raised(n, AlertKind::NewIp, Severity::High, "kv-pay-prod")).collect();
    let (lake, ids) = lake_with(dir.path(), alerts);
    // The server runs once to make its certificate authority, then is down.
    let port = free_port();
    let options = || SmtpOptions { tls: "implicit", login: Some("kvaudit-it"), stall_seconds: 0 };
    let ca = SmtpServer::start(dir.path(), port, options()).ca.clone();
    // Implicit TLS with a login; a first wait of an hour, so only --flush retries early.
    let config = write_config(
        dir.path(),
        &format!(
            "[delivery]\n[delivery.retry]\nfirst_seconds = 3600\nmax_seconds = 7200\ngive_up_hours = 48\n{}\n\
             [[delivery.channels]]\nname = \"soc\"\ntype = \"email\"\nto = [\"soc@contoso.example\"]\n\
             [[delivery.routes]]\nchannels = [\"soc\"]\n",
            smtp_table(port, "implicit", &ca, true, 10)
        ),
    );
    let config = config.to_str().unwrap();

    let (down, down_log) = deliver_ok(&lake, &["--config", config, "--format", "json"]);
    let down: serde_json::Value = serde_json::from_str(down.trim()).unwrap();
    let soc = &down["channels"][0];
    assert_eq!(
        (soc["delivered"].as_u64(), soc["retrying"].as_u64(), soc["deferred"].as_u64()),
        (Some(0), Some(1), Some(4))
    );
    assert!(soc["last_error"].as_str().unwrap().contains("unreachable"), "{soc}");
    let rows = statuses(&lake);
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r["state"] != "delivered" && r["next_attempt"].is_string()), "{rows:?}");
    assert!(!deliver(&lake, &["check", "--config", config]).status.success(), "the check fails while it is down");
    // Still down, later runs change nothing but the schedule.
    deliver_ok(&lake, &["--config", config, "--flush"]);

    let smtp = SmtpServer::start(dir.path(), port, options());
    // Up again, but nothing is due for an hour: a plain run waits, a flush sends.
    deliver_ok(&lake, &["--config", config]);
    assert_eq!(smtp.mails().len(), 0, "entries wait for their next attempt");
    let (up, up_log) = deliver_ok(&lake, &["--config", config, "--flush"]);
    assert!(up.contains("soc"), "{up}");
    deliver_ok(&lake, &["--config", config, "--flush"]);

    let mails = smtp.mails();
    let received: Vec<&str> = mails.iter().map(|m| header(m, "x-kvaudit-alert")).collect();
    let mut sorted = received.clone();
    sorted.sort();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(sorted, want, "every alert exactly once");
    assert!(mails.iter().all(|m| m["encrypted"] == true && m["login"] == "kvaudit-it"));
    let rows = statuses(&lake);
    assert!(rows.iter().all(|r| r["state"] == "delivered" && r["last_error"].is_null()), "{rows:?}");
    assert!(rows.iter().any(|r| r["attempts"].as_u64() >= Some(2)), "the failed attempt is counted: {rows:?}");
    assert_no_secret(&lake, &[&down_log, &up_log]);
}

#[test]
fn a_crash_between_send_and_record_resends_under_the_same_message_id() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, ids) = lake_with(dir.path(), vec![raised(1, AlertKind::MassRetrieval, Severity::High, "kv-web-prod")]);
    // The server stores the mail, then keeps the client waiting for its reply.
    let smtp =
        SmtpServer::start(dir.path(), free_port(), SmtpOptions { tls: "starttls", login: None, stall_seconds: 600 });
    let config = write_config(
        dir.path(),
        &format!(
            "[delivery]\n{}\n[[delivery.channels]]\nname = \"soc\"\ntype = \"email\"\nto = [\"soc@contoso.example\"]\n\
             [[delivery.routes]]\nchannels = [\"soc\"]\n",
            smtp_table(smtp.port, "starttls", &smtp.ca, false, 300)
        ),
    );
    let config = config.to_str().unwrap();
    let mut child = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "deliver", "--config", config])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) for the server to hold the mail, then kill kvaudit before it hears 250.
    for _ in 0..600 {
        if !smtp.mails().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(smtp.mails().len(), 1, "the server received the mail");
    child.kill().unwrap();
    child.wait().unwrap();
    let rows = statuses(&lake);
    assert_eq!(rows[0]["outcome_unknown"], true, "{rows:?}");
    assert_eq!(rows[0]["state"], "pending");
    drop(smtp);

    // The next run (with a server that answers) sends it again, under the same Message-ID.
    let smtp = SmtpServer::start(
        &dir.path().join("again"),
        free_port(),
        SmtpOptions { tls: "starttls", login: None, stall_seconds: 0 },
    );
    let config_text = std::fs::read_to_string(config).unwrap();
    let port_line = config_text.lines().find(|l| l.starts_with("port = ")).unwrap();
    let ca_line = config_text.lines().find(|l| l.starts_with("ca_file = ")).unwrap();
    let config_text = config_text
        .replace(port_line, &format!("port = {}", smtp.port))
        .replace(ca_line, &format!("ca_file = \"{}\"", smtp.ca.display()));
    std::fs::write(config, config_text).unwrap();
    deliver_ok(&lake, &["--config", config]);
    let first = &SmtpServer::mails_in(&dir.path().join("mail"))[0];
    let resent = &smtp.mails()[0];
    assert_eq!(header(first, "message-id"), header(resent, "message-id"));
    assert_eq!(header(resent, "x-kvaudit-alert"), ids[0]);
    let rows = statuses(&lake);
    assert_eq!((rows[0]["state"].as_str(), rows[0]["attempts"].as_u64()), (Some("delivered"), Some(2)));
    assert_eq!(rows[0]["outcome_unknown"], false);
}

impl SmtpServer {
    fn mails_in(maildir: &Path) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(maildir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files.iter().map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()).collect()
    }
}

#[test]
fn low_alerts_wait_for_their_period_and_go_out_in_one_digest() {
    let dir = tempfile::tempdir().unwrap();
    let mut alerts: Vec<Alert> =
        (0..3).map(|n| raised(n, AlertKind::StaleSecret, Severity::Low, "kv-web-dev")).collect();
    alerts.push(raised(9, AlertKind::MassRetrieval, Severity::High, "kv-web-prod"));
    let (lake, ids) = lake_with(dir.path(), alerts);
    let smtp =
        SmtpServer::start(dir.path(), free_port(), SmtpOptions { tls: "starttls", login: None, stall_seconds: 0 });
    let text = format!(
        "{}\n[[channels]]\nname = \"soc\"\ntype = \"email\"\nto = [\"soc@contoso.example\"]\n\
         digest = {{ up_to_severity = \"low\", period_minutes = 60 }}\n[[routes]]\nchannels = [\"soc\"]\n",
        smtp_table(smtp.port, "starttls", &smtp.ca, false, 30).replace("[delivery.smtp]", "[smtp]")
    );
    let config: kvaudit::deliver::DeliveryConfig = toml::from_str(&text).unwrap();
    let paths = LakePaths::new(&lake);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let now = Utc::now();
    runtime.block_on(async {
        let delivery = kvaudit::deliver::Delivery::open(&paths, &config).unwrap();
        // Now: the high alert goes at once; the low ones wait for the end of the hour.
        let first = delivery.run(now, false).await.unwrap();
        assert_eq!((first.enqueued, first.channels[0].delivered, first.channels[0].waiting), (4, 1, 3));
        // Still inside the period: nothing more.
        let period_end = now.duration_trunc(Duration::hours(1)).unwrap() + Duration::hours(1);
        let inside = delivery.run(period_end - Duration::seconds(1), false).await.unwrap();
        assert_eq!(inside.channels[0].messages, 0);
        // The period is over: one mail for the three.
        let after = delivery.run(period_end, false).await.unwrap();
        assert_eq!((after.channels[0].delivered, after.channels[0].messages), (3, 1));
        let later = delivery.run(period_end + Duration::hours(5), true).await.unwrap();
        assert_eq!(later.channels[0].messages, 0);
    });
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    assert_eq!(header(&mails[0], "x-kvaudit-alert"), ids[3]);
    let digest = &mails[1];
    assert!(header(digest, "subject").contains("digest: 3 alerts up to low (kv-web-dev)"), "{digest:#}");
    let (plain, html) = (part(digest, "text/plain"), part(digest, "text/html"));
    for (id, n) in ids[..3].iter().zip(0..) {
        assert!(plain.contains(id.as_str()) && html.contains(id.as_str()), "alert {id} in the digest");
        assert!(plain.contains(&format!("corr-{n}-1")), "its evidence too");
    }
    let rows = kvaudit::deliver::status(&paths).unwrap();
    let digest_rows: Vec<_> = rows.iter().filter(|r| r.digest).collect();
    assert_eq!(digest_rows.len(), 3);
    assert!(digest_rows.iter().all(|r| r.state == kvaudit::deliver::DeliveryState::Delivered));
    let batch_ids: BTreeSet<&str> = digest_rows.iter().map(|r| r.delivery_id.as_str()).collect();
    assert_eq!(batch_ids.len(), 1, "the three share the digest's delivery id");
    assert!(header(digest, "message-id").contains(batch_ids.iter().next().unwrap()));
}

/// A webhook receiver on loopback: records every request, answers 500 to the first request
/// of each delivery id when `fail_first`, 200 otherwise.
struct Receiver {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Clone, Debug)]
struct Request {
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    status: u16,
}

impl Receiver {
    fn start(fail_first: bool) -> Receiver {
        use http_body_util::{BodyExt, Full};
        use hyper::body::Bytes;

        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let log = requests.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let log = log.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let log = log.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await?.to_bytes().to_vec();
                            let headers: BTreeMap<String, String> = parts
                                .headers
                                .iter()
                                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                                .collect();
                            let mut log = log.lock().unwrap();
                            let id = headers.get("x-kvaudit-delivery").cloned();
                            let seen = log.iter().any(|r| r.headers.get("x-kvaudit-delivery") == id.as_ref());
                            let status = if fail_first && !seen { 500 } else { 200 };
                            log.push(Request { path: parts.uri.path().to_owned(), headers, body, status });
                            Ok::<_, hyper::Error>(
                                hyper::Response::builder().status(status).body(Full::new(Bytes::from("ok"))).unwrap(),
                            )
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        Receiver { port, requests, _runtime: runtime }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

#[test]
fn webhooks_are_signed_retried_after_a_500_and_accepted_once() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = (0..3).map(|n| raised(n, AlertKind::DeniedBurst, Severity::Medium, "kv-pay-prod")).collect();
    let (lake, ids) = lake_with(dir.path(), alerts);
    let receiver = Receiver::start(true);
    let config = write_config(
        dir.path(),
        &format!(
            "[delivery]\n[[delivery.channels]]\nname = \"siem\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{}/hooks/kvaudit\"\n\
             signing_key = {{ env = \"KVAUDIT_IT_WEBHOOK_KEY\" }}\ntimeout_seconds = 10\n\
             [[delivery.routes]]\nchannels = [\"siem\"]\nvaults = [\"kv-*-prod\"]\n",
            receiver.port
        ),
    );
    let config = config.to_str().unwrap();
    let (first, first_log) = deliver_ok(&lake, &["--config", config, "--format", "json"]);
    let first: serde_json::Value = serde_json::from_str(first.trim()).unwrap();
    // A 500 is the receiver refusing one post, not the receiver down: every alert was tried.
    assert_eq!(
        (first["channels"][0]["retrying"].as_u64(), first["channels"][0]["deferred"].as_u64()),
        (Some(3), Some(0))
    );
    assert!(first["channels"][0]["last_error"].as_str().unwrap().contains("HTTP 500"), "{first}");
    let (_, second_log) = deliver_ok(&lake, &["--config", config, "--flush"]);
    deliver_ok(&lake, &["--config", config, "--flush"]);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 6, "one refused and one accepted post per alert: {requests:#?}");
    let accepted: Vec<&Request> = requests.iter().filter(|r| r.status == 200).collect();
    let mut accepted_ids: Vec<&str> = accepted.iter().map(|r| r.headers["x-kvaudit-alert"].as_str()).collect();
    accepted_ids.sort();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(accepted_ids, want, "each alert accepted exactly once");
    for request in &requests {
        assert_eq!(request.path, "/hooks/kvaudit");
        assert_eq!(request.headers["content-type"], "application/json");
        let alert: Alert = serde_json::from_slice(&request.body).expect("the body is the alert record");
        assert_eq!(alert.id, request.headers["x-kvaudit-alert"]);
        assert_eq!(alert.evidence.len(), 2);
        let signature = &request.headers["x-kvaudit-signature"];
        assert_eq!(sign::verify(WEBHOOK_KEY.as_bytes(), signature, &request.body, Utc::now(), 300), Ok(()));
        let mut tampered = request.body.clone();
        let at = tampered.iter().position(|&b| b == b'4').unwrap();
        tampered[at] = b'5';
        assert_eq!(
            sign::verify(WEBHOOK_KEY.as_bytes(), signature, &tampered, Utc::now(), 300),
            Err(sign::SignatureError::Mismatch)
        );
        assert!(matches!(
            sign::verify(WEBHOOK_KEY.as_bytes(), signature, &request.body, Utc::now() + Duration::hours(1), 300),
            Err(sign::SignatureError::Stale { .. })
        ));
    }
    // Both posts of an alert carry its delivery id: a receiver can drop a resend.
    let by_id: BTreeSet<(&str, &str)> = requests
        .iter()
        .map(|r| (r.headers["x-kvaudit-alert"].as_str(), r.headers["x-kvaudit-delivery"].as_str()))
        .collect();
    assert_eq!(by_id.len(), 3);
    let rows = statuses(&lake);
    assert!(rows.iter().all(|r| r["state"] == "delivered" && r["attempts"] == 2), "{rows:?}");
    assert_no_secret(&lake, &[&first_log, &second_log]);
}

#[test]
fn teams_and_slack_receive_their_shapes_from_urls_given_by_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, ids) = lake_with(dir.path(), vec![raised(4, AlertKind::Enumeration, Severity::High, "kv-web-prod")]);
    let receiver = Receiver::start(false);
    let config = write_config(
        dir.path(),
        "[delivery]\n[[delivery.channels]]\nname = \"teams\"\ntype = \"webhook\"\nformat = \"teams\"\nurl = { env = \"KVAUDIT_IT_TEAMS_URL\" }\n\
         [[delivery.channels]]\nname = \"slack\"\ntype = \"webhook\"\nformat = \"slack\"\nurl = { env = \"KVAUDIT_IT_SLACK_URL\" }\n\
         [[delivery.routes]]\nchannels = [\"teams\", \"slack\"]\nmin_severity = \"high\"\n",
    );
    // Incoming-webhook URLs carry their credential in the path.
    let token = "T000-B000-url-credential-77aa";
    let out = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "-vv", "deliver", "--config", config.to_str().unwrap()])
        .env("KVAUDIT_IT_TEAMS_URL", format!("http://127.0.0.1:{}/teams/{token}", receiver.port))
        .env("KVAUDIT_IT_SLACK_URL", format!("http://127.0.0.1:{}/slack/{token}", receiver.port))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let body = |prefix: &str| -> serde_json::Value {
        let r = requests.iter().find(|r| r.path.starts_with(prefix)).unwrap();
        assert_eq!(r.headers["x-kvaudit-alert"], ids[0]);
        serde_json::from_slice(&r.body).unwrap()
    };
    let teams = body("/teams/");
    assert_eq!(teams["type"], "message");
    assert_eq!(teams["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &teams["attachments"][0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert!(card["body"][0]["text"].as_str().unwrap().contains("enumeration"), "{card}");
    assert!(card.to_string().contains("corr\\\\-4\\\\-1"), "evidence, Markdown-escaped: {card}");
    let slack = body("/slack/");
    assert!(slack["text"].as_str().unwrap().contains("HIGH enumeration in kv-web-prod"), "{slack}");
    let blocks = slack["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[1]["text"]["text"], "user4 read <4> secrets & more than ever before");
    assert!(slack.to_string().contains("corr-4-1"));
    let outbox = std::fs::read_to_string(LakePaths::new(&lake).outbox_file()).unwrap();
    assert!(!outbox.contains(token) && !log.contains(token), "the URL credential leaked");
}

#[test]
fn a_literal_secret_or_a_missing_variable_is_refused_with_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, _) = lake_with(dir.path(), vec![raised(1, AlertKind::NewIp, Severity::High, "kv-a")]);
    let base = "[delivery.smtp]\nhost = \"127.0.0.1\"\ntls = \"starttls\"\nusername = \"u\"\nfrom = \"k@contoso.example\"\n\
                [[delivery.channels]]\nname = \"soc\"\ntype = \"email\"\nto = [\"soc@contoso.example\"]\n\
                [[delivery.routes]]\nchannels = [\"soc\"]\n";
    let literal = write_config(
        dir.path(),
        &base.replace("username = \"u\"\n", "username = \"u\"\npassword = \"Pa55-literal\"\n"),
    );
    let out = deliver(&lake, &["--config", literal.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("never written in the config file") && err.contains("{ env = "), "{err}");
    assert!(!err.contains("Pa55-literal"), "{err}");

    let missing = write_config(
        dir.path(),
        &base.replace("username = \"u\"\n", "username = \"u\"\npassword = { env = \"KVAUDIT_IT_UNSET_SMTP_PW\" }\n"),
    );
    let out = deliver(&lake, &["--config", missing.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("password") && err.contains("KVAUDIT_IT_UNSET_SMTP_PW"), "{err}");
    assert!(!LakePaths::new(&lake).outbox_file().exists(), "nothing was enqueued with a broken config");
}
