//! kvaudit's own audit log: `<lake>/_audit/api.jsonl`, one JSON object per line, only ever
//! appended to. kvaudit asks vault owners to know who read what; it keeps the same record
//! of who read or changed what through its API.
//!
//! A line says who (the token's name and role, or nobody for a missing or unknown token),
//! what (method, route template and the object: an alert id, a secret, an export, the
//! SQL), when, and the outcome (the status code, and `ok`, `refused` or `failed`). It is
//! written for every action that reads secret status, baselines or exports, runs SQL, or
//! changes an alert, and for every refused request.
//!
//! Invariant: no token and no secret is ever written here: the caller is named by its
//! token's name, and objects are names and ids only.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use axum::http::StatusCode;
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use super::access::Action;
use super::auth::Caller;

/// Whether successful calls of `action` are audited (refusals always are).
pub fn audited(action: Action) -> bool {
    use Action::*;
    match action {
        Whoami | Overview | AlertsRead => false,
        AlertsChange | AlertsSuppress | Baselines | SecretsRead | ExportsStart | ExportsRead | ExportsVerify
        | Query => true,
    }
}

/// What a handler touched, put into its response's extensions for the audit line.
#[derive(Debug, Clone)]
pub struct Object(pub String);

/// One audit line.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub time: String,
    /// The token's name; `null` when no valid token was sent.
    pub who: Option<String>,
    pub role: Option<String>,
    pub method: String,
    pub route: String,
    pub object: Option<String>,
    pub status: u16,
    pub outcome: &'static str,
}

impl Entry {
    pub fn new(
        caller: Option<&Caller>,
        method: &str,
        route: &str,
        object: Option<String>,
        status: StatusCode,
    ) -> Entry {
        let outcome = if status.is_success() {
            "ok"
        } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            "refused"
        } else {
            "failed"
        };
        Entry {
            time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            who: caller.map(|c| c.name.clone()),
            role: caller.map(|c| c.role.as_str().to_owned()),
            method: method.to_owned(),
            route: route.to_owned(),
            object,
            status: status.as_u16(),
            outcome,
        }
    }
}

/// The append-only log file.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl AuditLog {
    pub fn new(path: PathBuf) -> AuditLog {
        AuditLog { path, file: Mutex::new(None) }
    }

    /// Appends one line. A line that cannot be written is an operator's problem (ERROR),
    /// but never fails the request that was already answered.
    pub fn write(&self, entry: &Entry) {
        let mut line = serde_json::to_string(entry).unwrap_or_default();
        line.push('\n');
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let opened = self
                .path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::OpenOptions::new().create(true).append(true).open(&self.path));
            match opened {
                Ok(file) => *guard = Some(file),
                Err(error) => {
                    tracing::error!(path = %self.path.display(), %error, "Cannot open the API audit log.");
                    return;
                }
            }
        }
        // One write of the whole line: with O_APPEND, lines never interleave.
        if let Some(file) = guard.as_mut()
            && let Err(error) = file.write_all(line.as_bytes())
        {
            tracing::error!(path = %self.path.display(), %error, "Cannot write the API audit log.");
            *guard = None;
        }
    }
}
