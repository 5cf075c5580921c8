//! `kvaudit secrets`: one row per secret (key, certificate) with its state, its use in
//! the window and the lifecycle findings that hold.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::alert::AlertKind;
use crate::detect::lifecycle::catalog::{Catalog, time};
use crate::detect::lifecycle::{LifecyclePolicy, find};

/// A state a secret can be in; `--state` filters on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretState {
    InUse,
    Idle,
    /// Never read in the days the logs cover (shorter than the stale period).
    Unread,
    Stale,
    Expired,
    NearExpiry,
    PastMaxAge,
    NoExpiry,
    OldVersion,
    Deleted,
}

impl SecretState {
    pub const ALL: [SecretState; 10] = [
        SecretState::InUse,
        SecretState::Idle,
        SecretState::Unread,
        SecretState::Stale,
        SecretState::Expired,
        SecretState::NearExpiry,
        SecretState::PastMaxAge,
        SecretState::NoExpiry,
        SecretState::OldVersion,
        SecretState::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SecretState::InUse => "in-use",
            SecretState::Idle => "idle",
            SecretState::Unread => "unread",
            SecretState::Stale => "stale",
            SecretState::Expired => "expired",
            SecretState::NearExpiry => "near-expiry",
            SecretState::PastMaxAge => "past-max-age",
            SecretState::NoExpiry => "no-expiry",
            SecretState::OldVersion => "old-version",
            SecretState::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<SecretState> {
        SecretState::ALL.into_iter().find(|s| s.as_str() == text || s.as_str().replace('-', "_") == text)
    }

    fn of_finding(kind: AlertKind) -> Option<SecretState> {
        Some(match kind {
            AlertKind::StaleSecret => SecretState::Stale,
            AlertKind::ExpiredSecretInUse => SecretState::Expired,
            AlertKind::SecretNearExpiry => SecretState::NearExpiry,
            AlertKind::SecretPastMaxAge => SecretState::PastMaxAge,
            AlertKind::SecretWithoutExpiry => SecretState::NoExpiry,
            AlertKind::OldVersionInUse => SecretState::OldVersion,
            _ => return None,
        })
    }
}

/// One secret's line.
#[derive(Debug, Clone, Serialize)]
pub struct SecretRow {
    pub vault: String,
    pub object_type: String,
    pub name: String,
    /// Use: in-use, idle, unread, stale or deleted.
    pub state: SecretState,
    /// Every state that holds (use first, then the findings).
    pub states: BTreeSet<SecretState>,
    #[serde(with = "crate::alert::rfc3339::option")]
    pub last_read: Option<DateTime<Utc>>,
    /// Distinct readers and successful reads in the window.
    pub readers: usize,
    pub reads: i64,
    pub versions_read: usize,
    #[serde(with = "crate::alert::rfc3339::option")]
    pub expires: Option<DateTime<Utc>>,
    pub age_days: Option<u32>,
    pub in_inventory: bool,
    /// Lifecycle finding kinds that hold.
    pub findings: Vec<AlertKind>,
}

/// Every object of the catalog, filtered; `days` is the window "in use" looks at.
pub fn list(
    catalog: &Catalog,
    policy: &LifecyclePolicy,
    days: u32,
    vault: Option<&str>,
    state: Option<SecretState>,
    object_type: &str,
) -> Vec<SecretRow> {
    let window_start = (time(catalog.as_of) - Duration::days(i64::from(days))).timestamp_micros();
    let mut findings: BTreeMap<(String, String), Vec<AlertKind>> = BTreeMap::new();
    for alert in find(catalog, policy) {
        if let (Some(v), Some(o)) = (alert.vault, alert.object_name) {
            let kinds = findings.entry((v, o)).or_default();
            if !kinds.contains(&alert.kind) {
                kinds.push(alert.kind);
            }
        }
    }
    let mut rows = Vec::new();
    for facts in catalog.objects.values() {
        if facts.object_type != object_type
            || vault.is_some_and(|v| !v.eq_ignore_ascii_case(&facts.vault))
            || !facts.exists()
        {
            continue;
        }
        let kinds = findings.remove(&(facts.vault.clone(), facts.name.clone())).unwrap_or_default();
        let last = facts.last_read();
        let use_state = if facts.deleted_at.is_some() {
            SecretState::Deleted
        } else if kinds.contains(&AlertKind::StaleSecret) {
            SecretState::Stale
        } else {
            match last {
                Some(r) if r.last >= window_start => SecretState::InUse,
                Some(_) => SecretState::Idle,
                None => SecretState::Unread,
            }
        };
        let mut states: BTreeSet<SecretState> = kinds.iter().filter_map(|k| SecretState::of_finding(*k)).collect();
        states.insert(use_state);
        let expires = facts.inventory.as_ref().and_then(|i| i.expires);
        if expires.is_some_and(|e| e.timestamp_micros() <= catalog.as_of) {
            states.insert(SecretState::Expired);
        }
        if state.is_some_and(|s| !states.contains(&s)) {
            continue;
        }
        let recent: Vec<_> = facts.reads.iter().filter(|r| r.last >= window_start).collect();
        rows.push(SecretRow {
            vault: facts.vault.clone(),
            object_type: facts.object_type.clone(),
            name: facts.name.clone(),
            state: use_state,
            states,
            last_read: last.map(|r| time(r.last)),
            readers: recent.iter().map(|r| r.identity()).collect::<BTreeSet<_>>().len(),
            reads: recent.iter().map(|r| r.calls).sum(),
            versions_read: recent.iter().filter_map(|r| r.object_version.as_deref()).collect::<BTreeSet<_>>().len(),
            expires,
            age_days: facts.current_set_at(catalog.as_of).map(|s| ((catalog.as_of - s) / 86_400_000_000).max(0) as u32),
            in_inventory: facts.inventory.is_some(),
            findings: kinds,
        });
    }
    rows
}
