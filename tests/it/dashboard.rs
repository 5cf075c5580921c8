//! The dashboard in headless Chromium against the real `kvaudit serve` over a generated
//! lake with alerts and a planted hostile identity and secret name: after the page's API
//! calls have finished, the DOM must show what the API answers (one chart shape per vault,
//! kind and lifecycle state, one row per open alert with its explanation, the detail of an
//! alert opened by a real click), each role only what it may see, and the hostile strings
//! as text, never as markup or code. Screenshots are saved under the cargo target's tmp dir
//! (the test prints where) for a person to look at.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::browser::{Browser, Page};
use super::common::run_ok;
use super::service::{Server, Token, generate, new_token, write_config};

/// Planted by an attacker who controls a UPN claim and a secret's name: each would run
/// code if the dashboard put it in the page as HTML.
const HOSTILE_UPN: &str = "<img src=x onerror=\"window.__kvPwned='upn'\">@evil.example";
const HOSTILE_SECRET: &str = "<img src=x onerror=window.__kvPwned=1>";
const HOSTILE_OID: &str = "0bad0bad-0000-4000-8000-00000000c0de";

const WIDTH: u32 = 1400;

struct Fixture {
    _dir: tempfile::TempDir,
    server: Server,
    tokens: BTreeMap<&'static str, Token>,
    /// The vault the hostile records hit and the owner is granted.
    vault: String,
}

impl Fixture {
    fn api(&self, path: &str, who: &str) -> Value {
        let r = self.server.get(path, Some(&self.tokens[who].token));
        assert_eq!(r.status, 200, "GET {path} as {who}: {}", r.text());
        r.json()
    }

    fn url(&self, who: &str) -> String {
        format!("http://{}/#token={}", self.server.addr, self.tokens[who].token)
    }
}

/// Where screenshots go: `<target>/tmp/dashboard/NAME.png`.
fn artifact(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard").join(format!("{name}.png"))
}

/// Records of a new identity with a hostile UPN that lists `vault` and reads a hostile
/// secret and a few others, on the generated period's last day.
fn hostile_records(vault: &str) -> String {
    let mut lines = Vec::new();
    let names: Vec<String> =
        std::iter::once(HOSTILE_SECRET.to_owned()).chain((1..=6).map(|i| format!("loot-{i}"))).collect();
    let call = |minute: u32, operation: &str, id: String| {
        json!({
            "time": format!("2026-10-10T13:{minute:02}:00Z"),
            "category": "AuditEvent",
            "operationName": operation,
            "resultType": "Success",
            "correlationId": format!("c0ffee00-0000-4000-8000-{minute:012}"),
            "callerIpAddress": "203.0.113.66",
            "identity": {"claim": {"oid": HOSTILE_OID, "upn": HOSTILE_UPN, "idtyp": "user", "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46"}},
            "properties": {"id": id, "clientInfo": "<script>window.__kvPwned='client'</script>", "httpStatusCode": 200,
                "requestUri": format!("https://{vault}.vault.azure.net/secrets?api-version=7.4"), "tlsVersion": "TLS1_2"},
            "resourceId": format!("/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/{}", vault.to_uppercase()),
            "operationVersion": "7.4", "resultSignature": "OK", "durationMs": 12
        })
        .to_string()
    };
    lines.push(call(0, "SecretList", format!("https://{vault}.vault.azure.net/secrets")));
    for (i, name) in names.iter().enumerate() {
        lines.push(call(
            1 + i as u32,
            "SecretGet",
            format!("https://{vault}.vault.azure.net/secrets/{name}/0123456789abcdef0123456789abcde{i}"),
        ));
    }
    lines.join("\n") + "\n"
}

/// Vault names of the generated archive (`.../VAULTS/<NAME>/y=...`), lower-case, sorted.
fn vaults_of(container: &Path) -> Vec<String> {
    let mut names = BTreeSet::new();
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

/// Generated logs (10 days) with the hostile records as a second source, the inventory
/// imported, tokens for an analyst, an owner of the hostile vault and an admin, and the
/// service after its first ingest-and-detect cycle.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let logs = generate(dir.path(), 10, "0.05");
    let vault = vaults_of(&logs.container()).into_iter().next().expect("generated vaults");
    let hostile = dir.path().join("hostile");
    std::fs::create_dir_all(&hostile).unwrap();
    std::fs::write(hostile.join("hostile.jsonl"), hostile_records(&vault)).unwrap();
    let lake = dir.path().join("lake");
    run_ok(&["--lake", lake.to_str().unwrap(), "inventory", "import", logs.dir.join("inventory").to_str().unwrap()]);
    let mut tokens = BTreeMap::new();
    tokens.insert("analyst", new_token("alice", "analyst", &[]));
    tokens.insert("owner", new_token("olga", "owner", &[vault.as_str()]));
    tokens.insert("admin", new_token("root", "admin", &[]));
    let all: Vec<&Token> = tokens.values().collect();
    let second = format!("\n[[source]]\nfrom = {:?}\n", hostile.display().to_string());
    let config = write_config(dir.path(), &logs.container(), "1h", &all, &second);
    let mut server = Server::start(&lake, &config, &[]);
    server.wait_for_cycles(1);
    Fixture { _dir: dir, server, tokens, vault }
}

/// Strings of a JS array expression.
fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap_or_default().to_owned()).collect()
}

/// Nothing planted ran, no markup came from data, and the page broke no CSP rule.
fn assert_inert(b: &mut Browser, page: &Page) {
    assert_eq!(b.eval(page, "typeof window.__kvPwned"), json!("undefined"), "a hostile string ran as code");
    assert_eq!(b.eval(page, "document.querySelectorAll('img, script:not([src]), iframe').length"), json!(0));
    let errors = b.page_errors();
    assert!(errors.is_empty(), "script errors or CSP violations: {errors:#?}");
}

#[test]
fn dashboard_in_chromium_shows_the_api_by_role_and_renders_hostile_strings_as_text() {
    let f = fixture();
    // The static page comes with the strict policy (no inline script anywhere).
    let index = f.server.get("/", None);
    assert_eq!(index.status, 200);
    let csp = index.headers.get("content-security-policy").expect("the dashboard is served with a CSP");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");

    let overview = f.api("/api/overview?days=30", "analyst");
    let alerts = f.api("/api/alerts?state=open&limit=500", "analyst")["alerts"].as_array().unwrap().clone();
    assert!(alerts.len() >= 3, "the generated lake raises alerts: {alerts:#?}");
    let planted: Vec<&Value> = alerts.iter().filter(|a| a["identity_oid"] == HOSTILE_OID).collect();
    assert!(!planted.is_empty(), "the hostile identity raised an alert: {alerts:#?}");
    assert_eq!(planted[0]["identity_upn"], HOSTILE_UPN);

    let mut b = Browser::start();

    // --- Analyst: overview.
    let page = b.open(&f.url("analyst"), WIDTH, 900);
    b.wait_view(&page, "overview");
    assert_eq!(b.eval(&page, "location.hash"), json!("#overview"), "the token left the address bar");
    assert_eq!(b.eval(&page, "document.getElementById('who-role').textContent"), json!("analyst"));

    // One stacked area per vault (up to nine, then "other vaults").
    let vaults: BTreeSet<String> = overview["events_per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["vault"].as_str().unwrap().to_owned())
        .collect();
    assert!(vaults.len() >= 2, "{vaults:?}");
    let drawn: BTreeSet<String> = strings(
        &b.eval(&page, "[...document.querySelectorAll('#chart-events path.series')].map(p => p.dataset.vault)"),
    )
    .into_iter()
    .collect();
    if vaults.len() <= 10 {
        assert_eq!(drawn, vaults, "one area per vault of the API answer");
    } else {
        assert_eq!(drawn.len(), 10);
    }
    let events_total: i64 =
        overview["events_per_day"].as_array().unwrap().iter().map(|r| r["events"].as_i64().unwrap()).sum();
    let drawn_total = b.eval(
        &page,
        "[...document.querySelectorAll('#chart-events path.series')].reduce((a, p) => a + Number(p.dataset.total), 0)",
    );
    assert_eq!(drawn_total.as_i64(), Some(events_total), "the areas add up to the API's events");
    assert_eq!(
        b.eval(&page, "document.querySelectorAll('#events .legend li').length").as_u64(),
        Some(drawn.len() as u64)
    );

    // One bar segment per (kind, severity) of open alerts, with the API's counts.
    let mut want: Vec<(String, String, i64)> = overview["alerts_open_by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["severity"].as_str().unwrap().to_owned(),
                r["count"].as_i64().unwrap(),
            )
        })
        .collect();
    want.sort();
    assert!(!want.is_empty());
    let bars = b.eval(
        &page,
        "[...document.querySelectorAll('#chart-alerts rect.bar')].map(r => [r.dataset.kind, r.dataset.severity, Number(r.dataset.count)])",
    );
    let mut got: Vec<(String, String, i64)> = bars
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_str().unwrap().to_owned(), r[2].as_i64().unwrap()))
        .collect();
    got.sort();
    assert_eq!(got, want, "open alerts by kind and severity");
    // Practice findings are alerts like the others, charted with them.
    let practice = ["shared_secret", "environment_crossover", "role_mixing", "secret_in_log"];
    assert!(
        got.iter().any(|(kind, _, _)| practice.contains(&kind.as_str())),
        "no practice finding among the charted alerts: {got:?}"
    );

    // Ingest health shows the API's totals; top identities one row each.
    let records = overview["ingest"]["records"].as_i64().unwrap();
    let shown = b.eval(&page, "document.getElementById('ingest-records').textContent");
    assert_eq!(shown.as_str().unwrap().replace(',', ""), records.to_string());
    assert!(b.eval(&page, "document.getElementById('ingest').dataset.health").as_str().is_some());
    let top = overview["top_identities"].as_array().unwrap();
    assert!(!top.is_empty());
    assert_eq!(
        b.eval(&page, "document.querySelectorAll('#top-identities-table tbody tr').length").as_u64(),
        Some(top.len() as u64)
    );
    // An analyst does not see the lifecycle part: it says so.
    assert_eq!(b.eval(&page, "!!document.querySelector('#lifecycle .unavailable')"), json!(true));
    b.screenshot(&page, &artifact("overview-analyst"), WIDTH);

    // --- Analyst: the alert list, reached by a real click on the navigation.
    b.click(&page, "a[data-nav=alerts]");
    b.wait_view(&page, "alerts");
    let rows = b.eval(
        &page,
        "[...document.querySelectorAll('#alerts-table tbody tr')].map(tr => [tr.dataset.alertId, tr.querySelector('.explanation').textContent, tr.querySelector('.identity').textContent])",
    );
    let rows: BTreeMap<String, (String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r[0].as_str().unwrap().to_owned(), (r[1].as_str().unwrap().to_owned(), r[2].as_str().unwrap().to_owned()))
        })
        .collect();
    assert_eq!(rows.len(), alerts.len(), "one row per open alert");
    for a in &alerts {
        let (explanation, _) =
            rows.get(a["id"].as_str().unwrap()).unwrap_or_else(|| panic!("alert {} is listed", a["id"]));
        assert_eq!(explanation, a["explanation"].as_str().unwrap(), "the explanation is shown as the API gives it");
    }
    // The hostile UPN is shown, as text.
    let hostile_id = planted[0]["id"].as_str().unwrap();
    assert_eq!(rows[hostile_id].1, HOSTILE_UPN);
    assert_inert(&mut b, &page);
    b.screenshot(&page, &artifact("alerts-analyst"), WIDTH);

    // --- Analyst: a click on the hostile alert's row opens its detail.
    b.click(&page, &format!("#alerts-table tr[data-alert-id='{hostile_id}'] .explanation"));
    b.wait_view(&page, "alert");
    let detail = f.api(&format!("/api/alerts/{hostile_id}"), "analyst");
    assert_eq!(b.eval(&page, "document.getElementById('alert-detail').dataset.alertId"), json!(hostile_id));
    assert_eq!(
        b.eval(&page, "document.querySelector('#alert-detail .explanation').textContent"),
        detail["explanation"]
    );
    let evidence = detail["evidence"].as_array().unwrap();
    assert!(!evidence.is_empty());
    assert_eq!(
        b.eval(&page, "document.querySelectorAll('#evidence tbody tr').length").as_u64(),
        Some(evidence.len() as u64)
    );
    let compared = b.eval(&page, "document.querySelectorAll('#comparison tbody tr').length").as_u64().unwrap();
    assert!(compared >= 1, "observed against baseline is shown");
    let page_text = b.eval(&page, "document.getElementById('alert-detail').textContent");
    assert!(page_text.as_str().unwrap().contains(HOSTILE_UPN));
    assert_inert(&mut b, &page);
    b.screenshot(&page, &artifact("alert-detail-analyst"), WIDTH);

    // Acknowledge from the page: the API records it.
    b.eval(&page, "document.querySelector('input[name=note]').value = 'looking into it'");
    b.click(&page, "button.action-acknowledge");
    b.wait_for(
        &page,
        "document.getElementById('alert-detail')?.dataset.state === 'acknowledged'",
        "the acknowledged alert",
    );
    assert_eq!(f.api(&format!("/api/alerts/{hostile_id}"), "analyst")["state"], "acknowledged");

    // --- Analyst: the busiest identity's baseline as a 7×24 heatmap.
    let oid = top[0]["identity"].as_str().unwrap();
    let baseline = f.api(&format!("/api/identities/{oid}/baseline"), "analyst");
    let cells: i64 = baseline["hour_of_week"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_i64().unwrap())
        .sum();
    b.eval(&page, &format!("location.hash = '#identity/' + encodeURIComponent({oid:?})"));
    b.wait_view(&page, "identity");
    assert_eq!(b.eval(&page, "document.querySelectorAll('#heatmap rect.cell').length"), json!(168));
    let drawn = b.eval(
        &page,
        "[...document.querySelectorAll('#heatmap rect.cell')].reduce((a, r) => a + Number(r.dataset.count), 0)",
    );
    assert_eq!(drawn.as_i64(), Some(cells), "the heatmap holds the baseline's calls");
    let networks = baseline["networks"].as_array().unwrap().len() as u64;
    assert_eq!(b.eval(&page, "document.querySelectorAll('#networks-table tbody tr').length").as_u64(), Some(networks));
    assert_inert(&mut b, &page);
    b.screenshot(&page, &artifact("identity-analyst"), WIDTH);

    // --- Owner of the hostile vault: secrets, not alerts.
    let secrets = f.api("/api/secrets", "owner")["secrets"].as_array().unwrap().clone();
    assert!(secrets.iter().all(|s| s["vault"] == f.vault.as_str()), "the owner's secrets are of the granted vault");
    // The secret list names objects in lower case, as Key Vault compares them.
    let hostile_secret = HOSTILE_SECRET.to_lowercase();
    assert!(secrets.iter().any(|s| s["name"] == hostile_secret.as_str()), "the hostile secret is listed: {secrets:#?}");
    let mut b = Browser::start();
    let page = b.open(&f.url("owner"), WIDTH, 900);
    b.wait_view(&page, "overview");
    let nav = strings(&b.eval(&page, "[...document.querySelectorAll('#nav a[data-nav]')].map(a => a.dataset.nav)"));
    assert!(nav.contains(&"secrets".to_owned()) && !nav.contains(&"alerts".to_owned()), "{nav:?}");
    assert_eq!(b.eval(&page, "!!document.querySelector('#open-alerts .unavailable')"), json!(true));
    assert_eq!(b.eval(&page, "document.querySelectorAll('#chart-alerts rect').length"), json!(0));
    assert!(b.eval(&page, "document.querySelectorAll('#chart-lifecycle rect.bar').length").as_u64().unwrap() >= 1);
    b.screenshot(&page, &artifact("overview-owner"), WIDTH);
    // Typing the alerts address gives a note, not a broken page.
    b.eval(&page, "location.hash = '#alerts'");
    b.wait_view(&page, "alerts");
    assert_eq!(
        b.eval(&page, "!!document.querySelector('#main .unavailable') && !document.getElementById('alerts-table')"),
        json!(true)
    );

    b.click(&page, "a[data-nav=secrets]");
    b.wait_view(&page, "secrets");
    let listed = b.eval(&page, "[...document.querySelectorAll('#secrets-table tbody tr')].map(tr => [tr.dataset.vault, tr.dataset.secret, tr.querySelector('.secret-link').textContent])");
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), secrets.len(), "one row per secret of the API answer");
    assert!(listed.iter().any(|r| r[2] == hostile_secret.as_str()), "the hostile name is shown as text");
    assert_inert(&mut b, &page);
    b.screenshot(&page, &artifact("secrets-owner"), WIDTH);

    // A click on the hostile secret: the API refuses such a name (Key Vault names are
    // letters, digits and dashes), and the page says so instead of breaking.
    b.click(&page, &format!("#secrets-table tr[data-secret={hostile_secret:?}] .secret-link"));
    b.wait_view(&page, "secret");
    let said = b.eval(&page, "document.querySelector('#main .note.error')?.textContent ?? ''");
    assert!(said.as_str().unwrap().contains("letters, digits"), "{said}");
    assert_inert(&mut b, &page);

    // A click on a secret the hostile identity read opens its status, readers included.
    b.eval(&page, "location.hash = '#secrets'");
    b.wait_view(&page, "secrets");
    let status = f.api(&format!("/api/secrets/{}/loot-1", f.vault), "owner");
    b.click(&page, "#secrets-table tr[data-secret='loot-1'] .secret-link");
    b.wait_view(&page, "secret");
    assert_eq!(b.eval(&page, "document.getElementById('secret-detail').dataset.secret"), json!("loot-1"));
    assert_eq!(b.eval(&page, "document.querySelector('#secret-detail .verdict').textContent"), status["verdict_text"]);
    let readers = status["readers"].as_array().unwrap();
    assert!(!readers.is_empty());
    assert_eq!(
        b.eval(&page, "document.querySelectorAll('#readers-table tbody tr').length").as_u64(),
        Some(readers.len() as u64)
    );
    let text = b.eval(&page, "document.getElementById('readers-table').textContent");
    assert!(text.as_str().unwrap().contains(HOSTILE_UPN), "the hostile reader is shown as text: {text}");
    assert_inert(&mut b, &page);
    b.screenshot(&page, &artifact("secret-owner"), WIDTH);
    println!("dashboard screenshots: {}", artifact("x").parent().unwrap().display());
}
