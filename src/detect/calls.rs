//! The caller events of the detection window, in memory, oldest first.
//!
//! A window is an hour or a day of one lake, so its calls fit in memory; strings repeated
//! on every call (vault, identity, operation, object, address) are shared, not copied.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::DetectError;
use super::columns::{integers, micros, strings};
use super::relations::collect;
use crate::alert::Evidence;
use crate::query::QuerySession;

/// A shared string.
pub type Text = Arc<str>;

/// One caller event.
#[derive(Debug, Clone)]
pub struct Call {
    /// Microseconds since the epoch.
    pub time: i64,
    pub vault: Text,
    /// Object id, else app id, else `ip:<address>`.
    pub identity: Text,
    pub identity_oid: Option<Text>,
    pub identity_appid: Option<Text>,
    pub identity_upn: Option<Text>,
    pub identity_type: Option<Text>,
    pub operation: Text,
    pub object_type: Option<Text>,
    pub object_name: Option<Text>,
    pub http_status: Option<i64>,
    pub caller_ip: Option<Text>,
    pub correlation_id: Option<String>,
}

impl Call {
    pub fn ok(&self) -> bool {
        self.http_status.is_some_and(|s| s < 400)
    }

    pub fn denied(&self) -> bool {
        matches!(self.http_status, Some(401 | 403))
    }

    /// A call with no identity claims: the first, unauthenticated request of Key Vault's
    /// challenge flow (a routine 401), or an anonymous probe. Baselines are per identity,
    /// so these are not scored.
    pub fn anonymous(&self) -> bool {
        self.identity_oid.is_none() && self.identity_appid.is_none()
    }

    /// A successful read of a secret, key or certificate value.
    pub fn reads_object(&self) -> bool {
        self.ok() && matches!(&*self.operation, "SecretGet" | "KeyGet" | "CertificateGet") && self.object_name.is_some()
    }

    /// A successful list of a vault's secrets, keys or certificates.
    pub fn lists(&self) -> bool {
        self.ok() && matches!(&*self.operation, "SecretList" | "KeyList" | "CertificateList")
    }

    pub fn at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.time).unwrap_or_default()
    }

    /// The call as evidence.
    pub fn evidence(&self) -> Evidence {
        Evidence {
            time: self.at().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            operation: self.operation.to_string(),
            vault: self.vault.to_string(),
            object: self.object_name.as_deref().map(str::to_owned),
            http_status: self.http_status.and_then(|s| i32::try_from(s).ok()),
            ip: self.caller_ip.as_deref().map(str::to_owned),
            correlation_id: self.correlation_id.clone(),
        }
    }

    /// How a person would name the caller: UPN, else app id, else object id.
    pub fn who(&self) -> &str {
        self.identity_upn.as_deref().or(self.identity_appid.as_deref()).unwrap_or(&self.identity)
    }
}

/// Shares equal strings.
#[derive(Default)]
struct Interner(HashMap<String, Text>);

impl Interner {
    fn get(&mut self, s: Option<String>) -> Option<Text> {
        let s = s?;
        if let Some(t) = self.0.get(&s) {
            return Some(t.clone());
        }
        let t: Text = Arc::from(s.as_str());
        self.0.insert(s, t.clone());
        Some(t)
    }
}

/// Loads the calls of the bound `scope` (see `relations::bind_scope`).
pub async fn load(session: &QuerySession) -> Result<Vec<Call>, DetectError> {
    let (_, batches) = collect(session, "window_calls").await?;
    let mut interner = Interner::default();
    let mut calls = Vec::new();
    let empty: Text = Arc::from("");
    for batch in &batches {
        let time = micros(batch, "time")?;
        let mut text = |name: &str| -> Result<Vec<Option<Text>>, DetectError> {
            Ok(strings(batch, name)?.into_iter().map(|s| interner.get(s)).collect())
        };
        let (vault, identity, oid, appid, upn) =
            (text("vault")?, text("identity")?, text("identity_oid")?, text("identity_appid")?, text("identity_upn")?);
        let (kind, operation, object_type, object_name, ip) = (
            text("identity_type")?,
            text("operation")?,
            text("object_type")?,
            text("object_name")?,
            text("caller_ip")?,
        );
        let status = integers(batch, "http_status")?;
        let correlation = strings(batch, "correlation_id")?;
        for (i, correlation_id) in correlation.into_iter().enumerate() {
            calls.push(Call {
                time: time[i].unwrap_or_default(),
                vault: vault[i].clone().unwrap_or_else(|| empty.clone()),
                identity: identity[i].clone().unwrap_or_else(|| empty.clone()),
                identity_oid: oid[i].clone(),
                identity_appid: appid[i].clone(),
                identity_upn: upn[i].clone(),
                identity_type: kind[i].clone(),
                operation: operation[i].clone().unwrap_or_else(|| empty.clone()),
                object_type: object_type[i].clone(),
                object_name: object_name[i].clone(),
                http_status: status[i],
                caller_ip: ip[i].clone(),
                correlation_id,
            });
        }
    }
    Ok(calls)
}
