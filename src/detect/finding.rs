//! The alert a lifecycle or practice finding becomes: who (from one access of the index),
//! the window, what was seen and expected, and a sample of evidence.

use chrono::Utc;

use super::lifecycle::catalog::{Access, time};
use crate::alert::{Alert, AlertKind, AlertState, Score, Severity};

/// The parts of a lifecycle or practice alert; [`Finding::into_alert`] adds the rest.
pub(crate) struct Finding<'a> {
    pub kind: AlertKind,
    pub severity: Severity,
    pub vault: String,
    pub object_name: Option<String>,
    pub who: Option<&'a Access>,
    pub window: (i64, i64),
    pub observed: serde_json::Value,
    pub baseline: serde_json::Value,
    pub score: (&'static str, f64),
    pub explanation: String,
    pub evidence: Vec<crate::alert::Evidence>,
}

impl Finding<'_> {
    pub fn into_alert(self) -> Alert {
        let now = Utc::now();
        Alert {
            id: String::new(),
            kind: self.kind,
            severity: self.severity,
            vault: Some(self.vault),
            identity_oid: self.who.and_then(|w| w.identity_oid.clone()),
            identity_appid: self.who.and_then(|w| w.identity_appid.clone()),
            identity_upn: self.who.and_then(|w| w.identity_upn.clone()),
            object_name: self.object_name,
            caller_ip: self.who.and_then(|w| w.caller_ip.clone()),
            window_start: time(self.window.0),
            window_end: time(self.window.1.max(self.window.0 + 1_000_000)),
            observed: self.observed,
            baseline: self.baseline,
            score: Score { name: self.score.0.to_owned(), value: self.score.1 },
            explanation: self.explanation,
            evidence: self.evidence.into_iter().take(crate::alert::EVIDENCE_SAMPLE).collect(),
            state: AlertState::Open,
            state_reason: None,
            first_raised: now,
            last_raised: now,
        }
    }
}
