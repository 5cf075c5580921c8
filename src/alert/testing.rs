//! Alerts for unit tests: a plain alert that tests change field by field.

use chrono::{DateTime, TimeZone, Utc};

use super::{Alert, AlertKind, AlertState, Score, Severity};

/// The time the test alerts are raised at: 2026-10-23 14:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 23, 14, 0, 0).unwrap()
}

/// An open alert of `kind` about `vault`, over the hour from [`t0`], with no identity,
/// object, address, evidence or id, raised at [`t0`].
pub fn alert(kind: AlertKind, severity: Severity, vault: Option<&str>) -> Alert {
    let t0 = t0();
    Alert {
        id: String::new(),
        kind,
        severity,
        vault: vault.map(str::to_owned),
        identity_oid: None,
        identity_appid: None,
        identity_upn: None,
        object_name: None,
        caller_ip: None,
        window_start: t0,
        window_end: t0 + chrono::Duration::hours(1),
        observed: serde_json::json!({}),
        baseline: serde_json::json!({}),
        score: Score { name: "p".into(), value: 0.0 },
        explanation: String::new(),
        evidence: Vec::new(),
        state: AlertState::Open,
        state_reason: None,
        first_raised: t0,
        last_raised: t0,
    }
}
