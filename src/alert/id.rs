//! Alert identity: what makes two raised alerts the same finding.
//!
//! A finding is its kind plus its subject (vault, identity, object, and for network
//! findings the caller's address). Two alerts with the same subject whose windows overlap
//! or nearly touch are one finding seen twice (a rerun, overlapping detection windows, a
//! burst cut by an hour boundary); the store then keeps the first id. A new id is the hash
//! of the subject and the window's start, so the same finding gets the same id even in
//! a fresh store.

use chrono::Duration;

use super::Alert;
use crate::hash::{fnv1a, fnv1a_continue};

/// How far apart two windows of the same subject may be and still be one finding.
pub const MERGE_GAP: Duration = Duration::hours(1);

/// The fields that name what an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    pub kind: &'static str,
    pub vault: Option<String>,
    pub identity: Option<String>,
    pub object_name: Option<String>,
    /// Only for findings about an address (`new_ip`); other kinds leave it out, so a burst
    /// from two addresses stays one finding.
    pub caller_ip: Option<String>,
}

impl Subject {
    pub fn of(alert: &Alert) -> Subject {
        use super::AlertKind::*;
        let identity = alert.identity_oid.clone().or_else(|| alert.identity_appid.clone());
        let caller_ip = match alert.kind {
            NewIp => alert.caller_ip.clone(),
            _ => None,
        };
        // Lifecycle and unusual-access findings about an object name it; a volume spike of
        // an identity is about the identity whatever object it read, and a credential in
        // its logs is about the caller whatever secret it was reading.
        let object_name = match alert.kind {
            VolumeSpike | MassRetrieval | Enumeration | DeniedBurst | UnusualTime | NewIp | SecretInLog => None,
            _ => alert.object_name.clone(),
        };
        Subject { kind: alert.kind.as_str(), vault: alert.vault.clone(), identity, object_name, caller_ip }
    }
}

/// Whether `a` and `b` are the same finding.
pub fn same_finding(a: &Alert, b: &Alert) -> bool {
    Subject::of(a) == Subject::of(b)
        && a.window_start <= b.window_end + MERGE_GAP
        && b.window_start <= a.window_end + MERGE_GAP
}

/// The id of a new finding: 16 hex digits of its subject and window start.
pub fn new_id(alert: &Alert) -> String {
    let s = Subject::of(alert);
    let mut h = fnv1a(s.kind.as_bytes());
    for part in [&s.vault, &s.identity, &s.object_name, &s.caller_ip] {
        // A separator byte that cannot occur in the parts keeps ("ab", "c") apart from ("a", "bc").
        h = fnv1a_continue(h, &[0xff]);
        h = fnv1a_continue(h, part.as_deref().unwrap_or("").as_bytes());
    }
    h = fnv1a_continue(h, &alert.window_start.timestamp().to_le_bytes());
    format!("{h:016x}")
}
