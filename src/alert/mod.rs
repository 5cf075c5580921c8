//! The alert record of DESIGN.md, and where alerts live: `<lake>/alerts/alerts.jsonl`.
//!
//! An alert is a finding a person should look at: what was observed, what was expected and
//! over which history, how unlikely it is, one sentence saying what happened, and a sample
//! of the events behind it. Every producer (the detector today; lifecycle and practice
//! checks later) builds [`Alert`]s; [`store::AlertStore`] gives each a stable id, merges a
//! finding raised again into the alert it already has, and keeps its state.
//!
//! Invariant: the `id` of an alert never changes once stored, and the same finding (same
//! kind and subject, overlapping or adjacent window) always maps to the same stored alert.

pub mod id;
pub mod rfc3339;
pub mod store;
pub mod suppressions;
pub mod table;
#[cfg(test)]
pub(crate) mod testing;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use store::AlertStore;

/// The stable names of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    VolumeSpike,
    MassRetrieval,
    Enumeration,
    NewIdentity,
    NewIp,
    UnusualTime,
    DeniedBurst,
    SensitiveOperation,
    StaleSecret,
    ExpiredSecretInUse,
    SecretNearExpiry,
    SecretPastMaxAge,
    SecretWithoutExpiry,
    OldVersionInUse,
    SharedSecret,
    EnvironmentCrossover,
    RoleMixing,
    SecretInLog,
}

impl AlertKind {
    /// Every kind, in DESIGN.md's order.
    pub const ALL: [AlertKind; 18] = [
        AlertKind::VolumeSpike,
        AlertKind::MassRetrieval,
        AlertKind::Enumeration,
        AlertKind::NewIdentity,
        AlertKind::NewIp,
        AlertKind::UnusualTime,
        AlertKind::DeniedBurst,
        AlertKind::SensitiveOperation,
        AlertKind::StaleSecret,
        AlertKind::ExpiredSecretInUse,
        AlertKind::SecretNearExpiry,
        AlertKind::SecretPastMaxAge,
        AlertKind::SecretWithoutExpiry,
        AlertKind::OldVersionInUse,
        AlertKind::SharedSecret,
        AlertKind::EnvironmentCrossover,
        AlertKind::RoleMixing,
        AlertKind::SecretInLog,
    ];

    /// The kinds the unusual-access detector raises.
    pub const UNUSUAL_ACCESS: [AlertKind; 8] = [
        AlertKind::VolumeSpike,
        AlertKind::MassRetrieval,
        AlertKind::Enumeration,
        AlertKind::NewIdentity,
        AlertKind::NewIp,
        AlertKind::UnusualTime,
        AlertKind::DeniedBurst,
        AlertKind::SensitiveOperation,
    ];

    /// The secret lifecycle kinds.
    pub const LIFECYCLE: [AlertKind; 6] = [
        AlertKind::StaleSecret,
        AlertKind::ExpiredSecretInUse,
        AlertKind::SecretNearExpiry,
        AlertKind::SecretPastMaxAge,
        AlertKind::SecretWithoutExpiry,
        AlertKind::OldVersionInUse,
    ];

    /// The practice kinds.
    pub const PRACTICE: [AlertKind; 4] =
        [AlertKind::SharedSecret, AlertKind::EnvironmentCrossover, AlertKind::RoleMixing, AlertKind::SecretInLog];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::VolumeSpike => "volume_spike",
            AlertKind::MassRetrieval => "mass_retrieval",
            AlertKind::Enumeration => "enumeration",
            AlertKind::NewIdentity => "new_identity",
            AlertKind::NewIp => "new_ip",
            AlertKind::UnusualTime => "unusual_time",
            AlertKind::DeniedBurst => "denied_burst",
            AlertKind::SensitiveOperation => "sensitive_operation",
            AlertKind::StaleSecret => "stale_secret",
            AlertKind::ExpiredSecretInUse => "expired_secret_in_use",
            AlertKind::SecretNearExpiry => "secret_near_expiry",
            AlertKind::SecretPastMaxAge => "secret_past_max_age",
            AlertKind::SecretWithoutExpiry => "secret_without_expiry",
            AlertKind::OldVersionInUse => "old_version_in_use",
            AlertKind::SharedSecret => "shared_secret",
            AlertKind::EnvironmentCrossover => "environment_crossover",
            AlertKind::RoleMixing => "role_mixing",
            AlertKind::SecretInLog => "secret_in_log",
        }
    }

    /// The kind named `name` (`volume_spike`, ...).
    pub fn parse(name: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgently a person should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised; nobody has looked yet.
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Dealt with.
    Closed,
    /// Matched a suppression rule when raised: recorded, never delivered.
    Suppressed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Closed => "closed",
            AlertState::Suppressed => "suppressed",
        }
    }
}

/// The statistic behind an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// What the value is (`p_value_negative_binomial`, `share_of_days_active`, ...).
    pub name: String,
    pub value: f64,
}

/// One event shown as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// RFC 3339 UTC.
    pub time: String,
    pub operation: String,
    pub vault: String,
    pub object: Option<String>,
    pub http_status: Option<i32>,
    pub ip: Option<String>,
    pub correlation_id: Option<String>,
}

/// An alert, in the record shape of DESIGN.md plus its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable: the same finding raised twice has the same id. Empty until stored.
    pub id: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub vault: Option<String>,
    pub identity_oid: Option<String>,
    pub identity_appid: Option<String>,
    pub identity_upn: Option<String>,
    pub object_name: Option<String>,
    pub caller_ip: Option<String>,
    #[serde(with = "rfc3339")]
    pub window_start: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub window_end: DateTime<Utc>,
    /// What was seen (numbers, sets).
    pub observed: serde_json::Value,
    /// What was expected, and over which history.
    pub baseline: serde_json::Value,
    pub score: Score,
    /// One sentence a person can act on.
    pub explanation: String,
    /// A sample of the events.
    pub evidence: Vec<Evidence>,
    pub state: AlertState,
    /// Why it is in its state (the suppression rule's reason, an analyst's note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// When it was first and last raised.
    #[serde(with = "rfc3339")]
    pub first_raised: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub last_raised: DateTime<Utc>,
}

/// At most this many events are kept as evidence of one alert.
pub const EVIDENCE_SAMPLE: usize = 10;

/// Why reading or writing alerts failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The alert file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    /// A line of the alert file is not an alert.
    #[error("{path}, line {line}: not an alert record: {source}")]
    Corrupt { path: std::path::PathBuf, line: usize, source: serde_json::Error },
    /// Writing the file atomically failed.
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    /// Turning alerts into a table failed (a bug: schema and builders disagree).
    #[error("building the alerts table: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// No alert has that id.
    #[error("no alert with id {0}")]
    NotFound(String),
}
