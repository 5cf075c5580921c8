//! A real SMTP server for the delivery tests: aiosmtpd (installed by scripts/test.sh into
//! .tools/smtp, named by KVAUDIT_SMTP_PYTHON) running scripts/smtp/smtp_server.py on a free
//! loopback port. It stores each accepted message as JSON with its MIME parts decoded.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The SMTP login password the server accepts (and the tests look for in logs).
pub const SMTP_PASSWORD: &str = "smtp-pw-4f9c2e7a1b";

/// A real SMTP server on loopback, stopped when dropped.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
    pub ca: PathBuf,
}

/// How a test's SMTP server behaves.
pub struct SmtpOptions<'a> {
    pub tls: &'a str,
    pub login: Option<&'a str>,
    pub stall_seconds: u32,
}

impl SmtpServer {
    pub fn start(dir: &Path, port: u16, options: SmtpOptions) -> SmtpServer {
        let python = std::env::var_os("KVAUDIT_SMTP_PYTHON").unwrap_or_else(|| {
            panic!(
                "KVAUDIT_SMTP_PYTHON is not set: run scripts/test.sh, which installs the test SMTP \
                 server (aiosmtpd) into .tools/smtp and exports it"
            )
        });
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/smtp/smtp_server.py");
        let (maildir, certdir) = (dir.join("mail"), dir.join("smtp-certs"));
        let mut command = Command::new(python);
        command
            .arg(script)
            .args(["--port", &port.to_string(), "--tls", options.tls, "--stall-seconds"])
            .arg(options.stall_seconds.to_string())
            .arg("--maildir")
            .arg(&maildir)
            .arg("--certdir")
            .arg(&certdir)
            .env("KVAUDIT_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(login) = options.login {
            command.args(["--login", login]);
        }
        let mut child = command.spawn().expect("the test SMTP server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("READY"), "the SMTP server did not start: {line:?}");
        SmtpServer { child, port, maildir, ca: certdir.join("ca.pem") }
    }

    /// Every message received so far, in order of arrival.
    pub fn mails(&self) -> Vec<serde_json::Value> {
        let Ok(dir) = std::fs::read_dir(&self.maildir) else { return Vec::new() };
        let mut files: Vec<PathBuf> =
            dir.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
        files.sort();
        files.iter().map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The `[delivery.smtp]` table for the test server.
pub fn smtp_table(port: u16, tls: &str, ca: &Path, login: bool, timeout: u32) -> String {
    let credentials =
        if login { "username = \"kvaudit-it\"\npassword = { env = \"KVAUDIT_IT_SMTP_PASSWORD\" }\n" } else { "" };
    format!(
        "[delivery.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"{tls}\"\nfrom = \"kvaudit <kvaudit@contoso.example>\"\n\
         ca_file = \"{}\"\ntimeout_seconds = {timeout}\n{credentials}",
        ca.display()
    )
}
