//! Headless Chromium driven over the DevTools protocol, for the dashboard tests.
//!
//! Chromium is Debian's `chromium`, installed by `scripts/test.sh`, which exports its path
//! as `KVAUDIT_CHROMIUM`. It is started with `--remote-debugging-pipe`: the protocol runs
//! over file descriptors 3 (commands in) and 4 (answers and events out) as JSON messages
//! each ended by a NUL byte, so no WebSocket client and no port are needed. A `sh -c exec`
//! wrapper moves our stdin/stdout pipes onto descriptors 3 and 4 without unsafe code.
//!
//! Every call is synchronous: send a command, read messages until its answer; events read
//! meanwhile are kept, so a test can assert that no script error or Content-Security-Policy
//! violation happened.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// How long a page may take to reach a state before the test fails.
const WAIT: Duration = Duration::from_secs(60);

/// The flags the machine's closed network and a throwaway profile need.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
];

pub struct Browser {
    child: Child,
    commands: ChildStdin,
    answers: BufReader<ChildStdout>,
    next_id: u64,
    /// Events received so far (script exceptions, console and log entries).
    pub events: Vec<Value>,
    _profile: tempfile::TempDir,
}

/// One tab, attached in flat mode (commands carry its session id).
pub struct Page {
    session: String,
}

impl Browser {
    /// Starts Chromium from `KVAUDIT_CHROMIUM`, failing (not skipping) when it is unset.
    pub fn start() -> Browser {
        let chromium = std::env::var("KVAUDIT_CHROMIUM").unwrap_or_else(|_| {
            panic!("KVAUDIT_CHROMIUM is not set: run the tests through scripts/test.sh, which installs Chromium")
        });
        assert!(Path::new(&chromium).exists(), "KVAUDIT_CHROMIUM={chromium} does not exist: run scripts/test.sh");
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(&chromium)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        let commands = child.stdin.take().unwrap();
        let answers = BufReader::new(child.stdout.take().unwrap());
        Browser { child, commands, answers, next_id: 0, events: Vec::new(), _profile: profile }
    }

    /// Sends `method` (to the page `session`, or to the browser) and returns its result.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            message["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).and_then(|_| self.commands.flush()).expect("chromium reads its commands");
        loop {
            let mut buf = Vec::new();
            let n = self.answers.read_until(0, &mut buf).expect("chromium answers");
            assert!(n > 0, "chromium closed the DevTools pipe while {method} was pending");
            buf.pop();
            let answer: Value = serde_json::from_slice(&buf).expect("a DevTools message is JSON");
            if answer["id"] == json!(id) {
                if let Some(error) = answer.get("error") {
                    panic!("DevTools {method} failed: {error}");
                }
                return answer["result"].clone();
            }
            if answer.get("method").is_some() {
                self.events.push(answer);
            }
        }
    }

    /// Opens a tab of `width`×`height` CSS pixels on `url`.
    pub fn open(&mut self, url: &str, width: u32, height: u32) -> Page {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let attached =
            self.call(None, "Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true }));
        let page = Page { session: attached["sessionId"].as_str().unwrap().to_owned() };
        let s = Some(page.session.as_str());
        self.call(s, "Runtime.enable", json!({}));
        self.call(s, "Log.enable", json!({}));
        self.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        );
        self.call(s, "Page.navigate", json!({ "url": url }));
        page
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its JSON value;
    /// a thrown exception fails the test.
    pub fn eval(&mut self, page: &Page, expression: &str) -> Value {
        let out = self.call(
            Some(&page.session),
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(details) = out.get("exceptionDetails") {
            panic!("the page threw evaluating {expression}: {details}");
        }
        out["result"].get("value").cloned().unwrap_or(Value::Null)
    }

    /// Polls until `expression` is true; fails with `what` after [`WAIT`].
    pub fn wait_for(&mut self, page: &Page, expression: &str, what: &str) {
        let start = Instant::now();
        loop {
            if self.eval(page, expression) == json!(true) {
                return;
            }
            if start.elapsed() > WAIT {
                let body = self.eval(page, "document.body ? document.body.innerText.slice(0, 2000) : ''");
                panic!("the dashboard never showed {what} ({expression}); its text: {body}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the dashboard shows `view` with its API calls done (main.js sets
    /// `data-view` and `data-ready` on <body>).
    pub fn wait_view(&mut self, page: &Page, view: &str) {
        let expr =
            format!("document.body && document.body.dataset.view === {view:?} && document.body.dataset.ready === '1'");
        self.wait_for(page, &expr, &format!("the {view} view"));
    }

    /// A real mouse click (pressed and released) in the middle of the first element
    /// matching `selector`, scrolled into view first.
    pub fn click(&mut self, page: &Page, selector: &str) {
        let expr = format!(
            "(() => {{ const e = document.querySelector({selector:?}); if (!e) return null; \
             e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
             return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
        );
        let at = self.eval(page, &expr);
        let (x, y) = match at.as_array() {
            Some(xy) => (xy[0].as_f64().unwrap(), xy[1].as_f64().unwrap()),
            None => panic!("nothing to click: no element matches {selector}"),
        };
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                Some(&page.session),
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            );
        }
    }

    /// Saves a PNG of the whole page (up to 4000 pixels tall) to `path`.
    pub fn screenshot(&mut self, page: &Page, path: &Path, width: u32) {
        // Measure at a normal window height, not the previous screenshot's.
        self.call(
            Some(&page.session),
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        );
        let height = self.eval(page, "document.documentElement.scrollHeight").as_u64().unwrap_or(900).min(4000);
        let s = Some(page.session.as_str());
        self.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        );
        let shot = self.call(s, "Page.captureScreenshot", json!({ "format": "png" }));
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Script exceptions and Content-Security-Policy violations seen so far, as text.
    pub fn page_errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str() {
                Some("Runtime.exceptionThrown") => Some(format!("exception: {}", e["params"]["exceptionDetails"])),
                Some("Log.entryAdded") if e["params"]["entry"]["source"] == "security" => {
                    Some(format!("security: {}", e["params"]["entry"]["text"]))
                }
                _ => None,
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Browser.close ends Chromium and its helpers; kill is the fallback.
        let mut bytes = serde_json::to_vec(&json!({ "id": 0, "method": "Browser.close" })).unwrap();
        bytes.push(0);
        let _ = self.commands.write_all(&bytes).and_then(|_| self.commands.flush());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
