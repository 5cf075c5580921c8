//! The HTTP API of `kvaudit serve`, through the real binary: the role × endpoint matrix
//! README documents (each role gets exactly what it says, 401 without a valid token, 403
//! otherwise), vault scoping, alert actions, exports, read-only SQL, the audit log, and
//! that tokens and secrets never reach logs or answers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::common::{query, run_ok};
use super::service::{Logs, Server, Token, generate, new_token, write_config};

/// A service over a generated lake (inventory imported), with a token per name.
struct Fixture {
    _dir: tempfile::TempDir,
    lake: PathBuf,
    server: Server,
    tokens: BTreeMap<&'static str, Token>,
    /// The generated vaults, sorted.
    vaults: Vec<String>,
    logs: Logs,
}

impl Fixture {
    fn token(&self, name: &str) -> &str {
        &self.tokens[name].token
    }

    fn get(&self, path: &str, who: &str) -> super::service::Response {
        self.server.get(path, Some(self.token(who)))
    }

    fn post(&self, path: &str, who: &str, body: &str) -> super::service::Response {
        self.server.post(path, Some(self.token(who)), body)
    }
}

/// Vault names of the generated archive (`.../VAULTS/<NAME>/y=...`), lower-case.
fn vaults_of(container: &Path) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut stack = vec![container.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.parent().and_then(|x| x.file_name()).is_some_and(|n| n == "VAULTS") {
                    names.insert(p.file_name().unwrap().to_string_lossy().to_lowercase());
                } else {
                    stack.push(p);
                }
            }
        }
    }
    names.into_iter().collect()
}

/// Tokens: one unscoped per role, and tokens scoped to the first vault.
fn fixture(extra_config: &str, extra_args: &[&str], env: &[(&str, &str)]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let logs = generate(dir.path(), 10, "0.05");
    let vaults = vaults_of(&logs.container());
    assert!(vaults.len() >= 2, "{vaults:?}");
    let lake = dir.path().join("lake");
    run_ok(&["--lake", lake.to_str().unwrap(), "inventory", "import", logs.dir.join("inventory").to_str().unwrap()]);
    let a = vaults[0].as_str();
    let mut tokens = BTreeMap::new();
    for (name, role, scope) in [
        ("alice", "analyst", None),
        ("oscar", "owner", None),
        ("audrey", "auditor", None),
        ("root", "admin", None),
        ("ann", "analyst", Some(a)),
        ("olga", "owner", Some(a)),
        ("aud-a", "auditor", Some(a)),
        ("adm-a", "admin", Some(a)),
    ] {
        let vaults: Vec<&str> = scope.into_iter().collect();
        tokens.insert(name, new_token(name, role, &vaults));
    }
    let all: Vec<&Token> = tokens.values().collect();
    let config = write_config(dir.path(), &logs.container(), "1h", &all, extra_config);
    let mut server = Server::start_with_env(&lake, &config, extra_args, env);
    server.wait_for_cycles(1);
    Fixture { _dir: dir, lake, server, tokens, vaults, logs }
}

/// README's matrix: (method, path) → the roles it allows, in the header's role order.
fn readme_matrix() -> (Vec<String>, Vec<(String, String, Vec<bool>)>) {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let header = readme.lines().find(|l| l.starts_with("| endpoint |")).expect("README has the role matrix");
    let roles: Vec<String> =
        header.split('|').map(str::trim).filter(|c| !c.is_empty()).skip(1).map(String::from).collect();
    let mut rows = Vec::new();
    for line in readme.lines().filter(|l| l.starts_with("| `GET ") || l.starts_with("| `POST ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
        let (method, path) = cells[0].trim_matches('`').split_once(' ').unwrap();
        let allowed = cells[1..].iter().map(|c| *c == "yes").collect();
        rows.push((method.to_owned(), path.to_owned(), allowed));
    }
    assert!(rows.len() >= 15, "{rows:?}");
    (roles, rows)
}

/// Waits until the export `id` is finished and returns its manifest.
fn finished_export(f: &Fixture, id: &str, who: &str) -> serde_json::Value {
    for _ in 0..600 {
        let r = f.get(&format!("/api/exports/{id}"), who);
        match r.status {
            200 => return r.json(),
            202 => std::thread::sleep(std::time::Duration::from_millis(200)),
            other => panic!("export {id}: {other} {}", r.text()),
        }
    }
    panic!("export {id} did not finish");
}

#[test]
fn every_role_gets_exactly_what_the_readme_matrix_says() {
    let f = fixture("", &[], &[]);
    let alerts = f.get("/api/alerts", "root").json();
    let alert_id = alerts["alerts"][0]["id"].as_str().expect("the lake has alerts").to_owned();
    let overview = f.get("/api/overview?days=10", "root").json();
    let oid = overview["top_identities"][0]["identity"].as_str().expect("top identities").to_owned();
    let secrets = f.get("/api/secrets", "root").json();
    let secret = &secrets["secrets"][0];
    let secret_path = format!("{}/{}", secret["vault"].as_str().unwrap(), secret["name"].as_str().unwrap());
    let day = overview["events_per_day"][0]["date"].as_str().unwrap().to_owned();
    let export_body = format!("{{\"from\":\"{day}\",\"to\":\"{day}T12:00:00Z\",\"format\":\"csv\"}}");
    let started = f.post("/api/exports", "root", &export_body);
    assert_eq!(started.status, 202, "{}", started.text());
    let export_id = started.json()["id"].as_str().unwrap().to_owned();
    finished_export(&f, &export_id, "root");

    let (roles, rows) = readme_matrix();
    let names: BTreeMap<&str, &str> =
        [("analyst", "alice"), ("owner", "oscar"), ("auditor", "audrey"), ("admin", "root")].into();
    for (method, template, allowed) in rows {
        let path = template
            .replace("{id}/files/{*name}", &format!("{export_id}/files/manifest.json"))
            .replace("/api/exports/{id}", &format!("/api/exports/{export_id}"))
            .replace("{id}", &alert_id)
            .replace("{oid}", &oid)
            .replace("{vault}/{secret}", &secret_path);
        let body = match template.as_str() {
            "/api/alerts/{id}/suppress" => r#"{"reason":"matrix test","expires":"2099-01-01"}"#.to_owned(),
            "/api/exports" => export_body.clone(),
            "/api/query" => r#"{"sql":"SELECT count(*) AS n FROM events"}"#.to_owned(),
            _ => r#"{"note":"matrix test"}"#.to_owned(),
        };
        let call = |token: Option<&str>| match method.as_str() {
            "GET" => f.server.get(&path, token),
            _ => f.server.post(&path, token, &body),
        };
        for token in [None, Some("kva_not-a-configured-token")] {
            let r = call(token);
            assert_eq!(r.status, 401, "{method} {path} without a valid token: {}", r.text());
            assert!(r.json()["error"].is_string());
            assert_eq!(r.headers.get("www-authenticate").map(String::as_str), Some("Bearer"));
        }
        for (role, allow) in roles.iter().zip(allowed) {
            let r = call(Some(f.token(names[role.as_str()])));
            if allow {
                assert!(
                    ![401, 403, 404, 500].contains(&r.status),
                    "{role} may {method} {path} per README, got {}: {}",
                    r.status,
                    r.text()
                );
            } else {
                assert_eq!(r.status, 403, "{role} may not {method} {path} per README: {}", r.text());
                assert!(r.json()["error"].as_str().unwrap().contains(role.as_str()));
            }
        }
    }
    // Unknown routes answer JSON too.
    let r = f.get("/api/nothing-here", "root");
    assert_eq!((r.status, r.json()["error"].is_string()), (404, true));
}

#[test]
fn vault_scoped_tokens_see_and_touch_their_vaults_only() {
    let f = fixture("", &[], &[]);
    let (a, b) = (&f.vaults[0], &f.vaults[1]);
    assert_eq!(
        f.get("/api/whoami", "olga").json(),
        serde_json::json!({ "name": "olga", "role": "owner", "vaults": [a] })
    );

    // Secrets: the list holds vault a only; vault b is refused, by filter and by path.
    let all = f.get("/api/secrets", "oscar").json();
    assert!(all["secrets"].as_array().unwrap().iter().any(|s| s["vault"] == b.as_str()));
    let mine = f.get("/api/secrets", "olga").json();
    let rows = mine["secrets"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|s| s["vault"] == a.as_str()), "{mine}");
    assert_eq!(f.get(&format!("/api/secrets?vault={b}"), "olga").status, 403);
    let theirs = all["secrets"].as_array().unwrap().iter().find(|s| s["vault"] == b.as_str()).unwrap();
    let r = f.get(&format!("/api/secrets/{b}/{}", theirs["name"].as_str().unwrap()), "olga");
    assert_eq!(r.status, 403, "{}", r.text());
    let r = f.get(&format!("/api/secrets/{a}/{}", rows[0]["name"].as_str().unwrap()), "olga");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["vault"], a.as_str());
    assert_eq!(f.get(&format!("/api/secrets/{a}/no-such-secret"), "olga").status, 404);

    // Alerts: a scoped analyst lists vault a only and is refused an alert of vault b.
    let every = f.get("/api/alerts", "alice").json();
    let every = every["alerts"].as_array().unwrap();
    let scoped = f.get("/api/alerts", "ann").json();
    let scoped = scoped["alerts"].as_array().unwrap();
    assert!(scoped.iter().all(|x| x["vault"] == a.as_str()), "{scoped:?}");
    assert_eq!(scoped.len(), every.iter().filter(|x| x["vault"] == a.as_str()).count());
    if let Some(other) = every.iter().find(|x| x["vault"] != a.as_str()) {
        let id = other["id"].as_str().unwrap();
        assert_eq!(f.get(&format!("/api/alerts/{id}"), "ann").status, 403);
        assert_eq!(f.post(&format!("/api/alerts/{id}/close"), "ann", "{}").status, 403);
    }
    assert_eq!(f.get(&format!("/api/alerts?vault={b}"), "ann").status, 403);

    // Overview: events of vault a only; an owner sees lifecycle, not alerts or identities.
    let o = f.get("/api/overview?days=10", "olga").json();
    assert!(o["events_per_day"].as_array().unwrap().iter().all(|r| r["vault"] == a.as_str()), "{o}");
    assert!(o["alerts_open_by_kind"].as_array().unwrap().is_empty());
    assert!(o["top_identities"].as_array().unwrap().is_empty());
    assert!(!o["lifecycle"].as_array().unwrap().is_empty(), "{o}");
    let analyst = f.get("/api/overview?days=10", "alice").json();
    assert!(analyst["lifecycle"].as_array().unwrap().is_empty());
    assert!(!analyst["top_identities"].as_array().unwrap().is_empty());

    // Exports: a scoped auditor exports its vault (by default) and not another.
    let day = o["events_per_day"][0]["date"].as_str().unwrap();
    let body = |vault: &str| format!("{{\"from\":\"{day}\",\"to\":\"{day}T06:00:00Z\"{vault}}}");
    assert_eq!(f.post("/api/exports", "aud-a", &body(&format!(",\"vault\":\"{b}\""))).status, 403);
    let r = f.post("/api/exports", "aud-a", &body(""));
    assert_eq!(r.status, 202, "{}", r.text());
    let manifest = finished_export(&f, r.json()["id"].as_str().unwrap(), "aud-a");
    assert_eq!(manifest["scope"]["vault"], a.as_str());
    let every_vault = f.post("/api/exports", "audrey", &body(""));
    let id = every_vault.json()["id"].as_str().unwrap().to_owned();
    finished_export(&f, &id, "audrey");
    assert_eq!(f.get(&format!("/api/exports/{id}"), "aud-a").status, 403);
    let listed = f.get("/api/exports", "aud-a").json();
    assert!(listed["exports"].as_array().unwrap().iter().all(|e| e["vault"] == a.as_str()), "{listed}");

    // SQL reads every vault: a scoped admin may not run it.
    assert_eq!(f.post("/api/query", "adm-a", r#"{"sql":"SELECT 1"}"#).status, 403);
}

#[test]
fn alert_actions_change_the_stored_state() {
    let f = fixture("", &[], &[]);
    let lake = f.lake.to_str().unwrap();
    let open = f.get("/api/alerts?state=open", "alice").json();
    let open = open["alerts"].as_array().unwrap();
    assert!(open.len() >= 2, "{open:?}");
    let (one, two) = (open[0]["id"].as_str().unwrap(), open[1]["id"].as_str().unwrap());
    let stored = |id: &str| query(&f.lake, &format!("SELECT state, state_reason FROM alerts WHERE id = '{id}'"));

    let r = f.post(&format!("/api/alerts/{one}/acknowledge"), "alice", r#"{"note":"looking at it"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "acknowledged");
    let seen = stored(one);
    assert!(seen.contains("acknowledged") && seen.contains("by alice: looking at it"), "{seen}");
    let r = f.post(&format!("/api/alerts/{one}/close"), "alice", "");
    assert_eq!((r.status, r.json()["state"].as_str()), (200, Some("closed")));
    assert_eq!(f.post(&format!("/api/alerts/{one}/close"), "alice", "").status, 409);
    assert_eq!(f.post(&format!("/api/alerts/{one}/acknowledge"), "alice", "").status, 409);
    // The CLI sees the same store.
    let cli =
        run_ok(&["--lake", lake, "query", &format!("SELECT state FROM alerts WHERE id = '{one}'"), "--format", "csv"]);
    assert!(cli.contains("closed"), "{cli}");

    // Suppression: admin only, with a reason and an end in the future.
    assert_eq!(
        f.post(&format!("/api/alerts/{two}/suppress"), "alice", r#"{"reason":"x","expires":"2099-01-01"}"#).status,
        403
    );
    let past = f.post(&format!("/api/alerts/{two}/suppress"), "root", r#"{"reason":"x","expires":"2001-01-01"}"#);
    assert_eq!(past.status, 400, "{}", past.text());
    let r = f.post(
        &format!("/api/alerts/{two}/suppress"),
        "root",
        r#"{"reason":"the nightly job","expires":"2099-01-01"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "suppressed");
    assert!(stored(two).contains("suppressed until 2099-01-01"), "{}", stored(two));
    let suppressions: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.lake.join("alerts/suppressions.json")).unwrap()).unwrap();
    assert_eq!(suppressions[two]["by"], "root");
    let listed = f.get("/api/alerts?state=suppressed", "alice").json();
    assert!(listed["alerts"].as_array().unwrap().iter().any(|a| a["id"] == two));

    // Malformed requests: JSON errors with 400 or 404.
    for (path, body, status) in [
        (format!("/api/alerts/{two}/acknowledge"), "{not json", 400),
        (format!("/api/alerts/{two}/acknowledge"), r#"{"unknown":1}"#, 400),
        ("/api/alerts/no-such-alert/close".to_owned(), "", 404),
    ] {
        let r = f.post(&path, "alice", body);
        assert_eq!(r.status, status, "{path} {body}: {}", r.text());
        assert!(r.json()["error"].is_string());
    }
    assert_eq!(f.get("/api/alerts?state=maybe", "alice").status, 400);
}

#[test]
fn exports_download_and_verify_and_sql_only_reads() {
    let f = fixture("", &[], &[]);
    let vault = &f.vaults[1];
    let o = f.get("/api/overview?days=10", "root").json();
    let day = o["events_per_day"][0]["date"].as_str().unwrap().to_owned();
    let body = format!("{{\"from\":\"{day}\",\"to\":\"{day}T12:00:00Z\",\"vault\":\"{vault}\",\"format\":\"jsonl\"}}");
    let r = f.post("/api/exports", "audrey", &body);
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let manifest = finished_export(&f, &id, "audrey");
    let files = manifest["files"].as_array().unwrap();
    assert!(files.iter().any(|x| x["path"].as_str().unwrap().starts_with("events/")), "{manifest}");
    for entry in files {
        let path = entry["path"].as_str().unwrap();
        let r = f.get(&format!("/api/exports/{id}/files/{path}"), "audrey");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.body.len() as u64, entry["bytes"].as_u64().unwrap(), "{path}");
        let sha: String = sha2::Sha256::digest(&r.body).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sha, entry["sha256"].as_str().unwrap(), "{path}");
    }
    assert_eq!(f.get(&format!("/api/exports/{id}/files/..%2F..%2F_state%2Fserve.json"), "audrey").status, 404);
    assert_eq!(f.get(&format!("/api/exports/{id}/files/not-listed.csv"), "audrey").status, 404);
    let verified = f.post(&format!("/api/exports/{id}/verify"), "audrey", "").json();
    assert_eq!(verified["verified"], true, "{verified}");
    // A changed file fails verification, naming it.
    let events = files.iter().find(|x| x["path"].as_str().unwrap().starts_with("events/")).unwrap();
    let on_disk = f.lake.join("_exports").join(&id).join(events["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&on_disk).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&on_disk, bytes).unwrap();
    let verified = f.post(&format!("/api/exports/{id}/verify"), "audrey", "").json();
    assert_eq!(verified["verified"], false, "{verified}");
    assert!(verified["problem"].as_str().unwrap().contains(events["path"].as_str().unwrap()), "{verified}");

    // SQL: answers queries, refuses anything else, and the lake is unchanged.
    let r = f.post("/api/query", "root", r#"{"sql":"SELECT count(*) AS n FROM events"}"#).json();
    assert_eq!(r["columns"], serde_json::json!(["n"]));
    assert_eq!(r["rows"][0][0].as_u64(), Some(f.logs.records), "{r}");
    for sql in [
        "INSERT INTO alerts SELECT * FROM alerts",
        "CREATE TABLE x AS SELECT 1",
        "DROP TABLE events",
        "COPY (SELECT 1) TO '/tmp/kvaudit-api-test-copy.csv'",
        "SET datafusion.execution.batch_size = 1",
        "SELECT 1; DROP TABLE events",
    ] {
        let r = f.post("/api/query", "root", &serde_json::json!({ "sql": sql }).to_string());
        assert_eq!(r.status, 400, "{sql}: {}", r.text());
        assert!(r.json()["error"].as_str().unwrap().contains("refused"), "{sql}: {}", r.text());
    }
    assert!(!Path::new("/tmp/kvaudit-api-test-copy.csv").exists());
    let again = f.post("/api/query", "root", r#"{"sql":"SELECT count(*) AS n FROM events"}"#).json();
    assert_eq!(again["rows"][0][0].as_u64(), Some(f.logs.records));
}

#[test]
fn tokens_and_secrets_never_reach_logs_or_answers_and_the_audit_log_says_who_read_what() {
    // A Blob Storage source whose SAS comes from the environment and whose endpoint is down:
    // every cycle fails on it, with errors logged at debug level.
    let sas = "sv=2024-08-04&ss=b&srt=co&sp=rl&se=2099-01-01T00%3A00%3A00Z&sig=SuperSecretSignature%2Babc%3D";
    let extra = "[[source]]\nfrom = \"az://deadacct/insights-logs-auditevent\"\n\
                 blob_endpoint = \"http://127.0.0.1:9/deadacct\"\nsas = { env = \"KVAUDIT_TEST_SAS\" }\nretry_seconds = 1\n";
    let f = fixture(extra, &["-vv"], &[("KVAUDIT_TEST_SAS", sas)]);
    let mut answers = Vec::new();
    let secret = f.get("/api/secrets", "olga").json();
    let name = secret["secrets"][0]["name"].as_str().unwrap().to_owned();
    let a = &f.vaults[0];
    for (path, who) in [
        (format!("/api/secrets/{a}/{name}"), "olga"),
        (format!("/api/secrets/{}/{name}", f.vaults[1]), "olga"),
        ("/api/alerts".to_owned(), "oscar"),
        ("/api/overview".to_owned(), "root"),
        ("/api/whoami".to_owned(), "alice"),
    ] {
        answers.push(f.get(&path, who).text());
    }
    answers.push(f.post("/api/query", "root", r#"{"sql":"SELECT vault, count(*) FROM events GROUP BY vault"}"#).text());
    answers.push(f.post("/api/query", "root", r#"{"sql":"SELEC nonsense"}"#).text());
    answers.push(f.server.get("/api/alerts", Some(&format!("{}x", f.token("alice")))).text());
    answers.push(f.server.get("/metrics", None).text());
    let overview = f.get("/api/overview", "root").json();
    assert!(overview["ingest"]["last_error"].as_str().unwrap_or("").contains("deadacct"), "{overview}");

    let stderr = f.server.stderr_text();
    assert!(stderr.contains("deadacct"), "the failing source is logged: {stderr}");
    let audit = std::fs::read_to_string(f.lake.join("_audit/api.jsonl")).unwrap();
    let state = std::fs::read_to_string(f.lake.join("_state/serve.json")).unwrap();
    let mut secrets = vec!["SuperSecretSignature".to_owned(), "SuperSecretSignature+abc=".to_owned()];
    secrets.extend(f.tokens.values().map(|t| t.token.clone()));
    for s in &secrets {
        assert!(!stderr.contains(s.as_str()), "stderr holds a secret");
        assert!(!audit.contains(s.as_str()), "the audit log holds a secret");
        assert!(!state.contains(s.as_str()), "the service state holds a secret");
        for answer in &answers {
            assert!(!answer.contains(s.as_str()), "an answer holds a secret: {answer}");
        }
    }

    // The audit log: who read which secret's status, who was refused, who ran which SQL.
    let lines: Vec<serde_json::Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let read = lines
        .iter()
        .find(|l| l["who"] == "olga" && l["object"] == format!("secret {a}/{name}").as_str())
        .unwrap_or_else(|| panic!("no audit line of olga reading {a}/{name}: {audit}"));
    assert_eq!(
        (read["role"].as_str(), read["status"].as_u64(), read["outcome"].as_str()),
        (Some("owner"), Some(200), Some("ok"))
    );
    assert_eq!(read["route"], "/api/secrets/{vault}/{secret}");
    assert!(read["time"].as_str().unwrap().ends_with('Z'));
    let refused = lines.iter().find(|l| l["who"] == "olga" && l["status"] == 403).expect("the refusal is audited");
    assert_eq!(refused["outcome"], "refused");
    assert!(lines.iter().any(|l| l["who"] == "oscar" && l["route"] == "/api/alerts" && l["status"] == 403));
    assert!(lines.iter().any(|l| l["who"].is_null() && l["status"] == 401));
    let sql = lines.iter().find(|l| l["who"] == "root" && l["route"] == "/api/query").unwrap();
    assert!(sql["object"].as_str().unwrap().contains("GROUP BY vault"), "{sql}");
    // Plain reads of one's own identity and the overview are not audited; reads of secrets are.
    assert!(!lines.iter().any(|l| l["route"] == "/api/whoami" && l["status"] == 200));
}
