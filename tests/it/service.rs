//! Helpers for the tests of `kvaudit serve`: generated logs, tokens made by the real
//! `kvaudit token new`, the real service started on a free port, and a small HTTP/1.1
//! client (std only) to talk to it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::common::{kvaudit, run_ok};

/// Generated logs: `<dir>/logs/insights-logs-auditevent/...` and `<dir>/logs/inventory`.
pub struct Logs {
    pub dir: PathBuf,
    pub records: u64,
}

impl Logs {
    pub fn container(&self) -> PathBuf {
        self.dir.join("insights-logs-auditevent")
    }
}

/// `kvaudit generate` with small settings: 2 vaults per team, a fraction of the traffic.
pub fn generate(dir: &Path, days: u32, scale: &str) -> Logs {
    let out = dir.join("logs");
    let text = run_ok(&[
        "generate",
        "--out",
        out.to_str().unwrap(),
        "--days",
        &days.to_string(),
        "--scale",
        scale,
        "--vaults",
        "3",
        "--format",
        "json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(text.trim()).expect("generate prints one JSON object");
    Logs { dir: out, records: summary["records"].as_u64().expect("records in the summary") }
}

/// A token made by `kvaudit token new`: the token, and the config lines it printed.
pub struct Token {
    pub token: String,
    pub lines: String,
}

pub fn new_token(name: &str, role: &str, vaults: &[&str]) -> Token {
    let mut args = vec!["token", "new", "--name", name, "--role", role];
    for v in vaults {
        args.extend(["--vault", v]);
    }
    let out = run_ok(&args);
    let token = out.lines().map(str::trim).find(|l| l.starts_with("kva_")).expect("the token is printed").to_owned();
    let lines = out[out.find("[[api.token]]").expect("config lines are printed")..].to_owned();
    assert!(!lines.contains(&token), "the config lines hold the token itself");
    Token { token, lines }
}

/// Writes a config with one local source and the tokens' lines; returns its path.
pub fn write_config(dir: &Path, source: &Path, interval: &str, tokens: &[&Token], extra: &str) -> PathBuf {
    let mut text = format!(
        "[serve]\ninterval = \"{interval}\"\nlisten = \"127.0.0.1:0\"\nworkers = 2\n\n[[source]]\nfrom = {:?}\n{extra}\n",
        source.display().to_string()
    );
    for t in tokens {
        text.push('\n');
        text.push_str(&t.lines);
    }
    let path = dir.join("kvaudit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `kvaudit serve`. Dropping it kills the process if it still runs.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub stderr: PathBuf,
}

impl Server {
    /// Starts `kvaudit --lake LAKE serve --config CONFIG` on a free port and waits until it
    /// listens.
    pub fn start(lake: &Path, config: &Path, extra_args: &[&str]) -> Server {
        Server::start_with_env(lake, config, extra_args, &[])
    }

    /// The same, with environment variables set for the service only.
    pub fn start_with_env(lake: &Path, config: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> Server {
        let stderr = lake.with_extension(format!("stderr-{}.log", rand_suffix()));
        let mut child = kvaudit()
            .args(["--lake", lake.to_str().unwrap()])
            .args(extra_args)
            .args(["serve", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("kvaudit starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("kvaudit serve did not start: {}", std::fs::read_to_string(&stderr).unwrap_or_default());
            }
        };
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Server { child, addr, stderr }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        http(&self.addr, "GET", path, token, None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &str) -> Response {
        http(&self.addr, "POST", path, token, Some(body))
    }

    /// A metric's value (the first sample line starting with `name`).
    pub fn metric(&self, name: &str) -> Option<f64> {
        let text = self.get("/metrics", None).text();
        text.lines().find(|l| l.starts_with(name) && !l.starts_with('#'))?.rsplit(' ').next()?.parse().ok()
    }

    /// Waits until the service has completed `n` cycles.
    pub fn wait_for_cycles(&mut self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if self.metric("kvaudit_cycles_total ").unwrap_or(0.0) >= n as f64 {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("kvaudit serve exited with {status}: {}", self.stderr_text());
            }
            assert!(Instant::now() < deadline, "no cycle {n} within 10 minutes: {}", self.stderr_text());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "kvaudit serve did not stop within 5 minutes of SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{}-{nanos}", std::process::id())
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }
}

/// One request on a fresh connection (`Connection: close`).
pub fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Response {
    let mut stream = TcpStream::connect(addr).expect("the service accepts connections");
    stream.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or("");
    if method == "POST" {
        request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    }
    Response { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").expect("a chunk size line");
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).split(';').next().unwrap().trim(), 16)
                .expect("a hex chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
