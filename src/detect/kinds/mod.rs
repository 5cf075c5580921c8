//! One detector per unusual-access kind, each in its own file with its trigger and its
//! explanation. They all read the same baselines ([`Profiles`]) and window calls, and
//! return alerts; [`detect_all`] runs them and resolves overlaps between kinds.

mod denied_burst;
mod new_identity;
mod new_ip;
mod retrieval;
pub mod secret_in_log;
mod sensitive_operation;
mod unusual_time;
mod volume_spike;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::calls::Call;
use super::policy::Policy;
use super::profile::{DAY_US, Profiles};
use crate::alert::{Alert, AlertKind, AlertState, EVIDENCE_SAMPLE, Score, Severity};

/// What every detector reads.
pub struct Context<'a> {
    pub profiles: &'a Profiles,
    pub policy: &'a Policy,
    /// The detection window `[from, to)`, microseconds.
    pub from: i64,
    pub to: i64,
}

impl Context<'_> {
    /// Whether an identity has been seen long enough for its rhythm to mean something.
    pub fn identity_learned(&self, identity: &str) -> bool {
        self.profiles.identity_history_days(identity) >= f64::from(self.policy.min_history_days)
    }

    /// Whether a vault has been seen long enough that a newcomer to it is news.
    pub fn vault_learned(&self, vault: &str) -> bool {
        self.profiles.vault_history_days(vault) >= f64::from(self.policy.min_history_days)
    }

    /// "21 days" of history an identity's baseline was learned from.
    pub fn history_days_text(&self, days: f64) -> String {
        format!("{:.0} days", days.min((self.profiles.end - self.profiles.start) as f64 / DAY_US as f64))
    }
}

/// Groups calls by a key, keeping their order.
pub fn group_by<'c, K: Ord>(calls: &[&'c Call], key: impl Fn(&Call) -> K) -> BTreeMap<K, Vec<&'c Call>> {
    let mut groups: BTreeMap<K, Vec<&Call>> = BTreeMap::new();
    for &c in calls {
        groups.entry(key(c)).or_default().push(c);
    }
    groups
}

/// Splits time-ordered calls into sessions: a gap longer than `gap_us` starts a new one.
pub fn sessions<'c>(calls: &[&'c Call], gap_us: i64) -> Vec<Vec<&'c Call>> {
    let mut out: Vec<Vec<&Call>> = Vec::new();
    for &c in calls {
        match out.last_mut() {
            Some(s) if s.last().is_some_and(|l| c.time - l.time <= gap_us) => s.push(c),
            _ => out.push(vec![c]),
        }
    }
    out
}

/// An evenly spread sample of the calls, oldest first.
pub fn sample(calls: &[&Call]) -> Vec<crate::alert::Evidence> {
    if calls.len() <= EVIDENCE_SAMPLE {
        return calls.iter().map(|c| c.evidence()).collect();
    }
    (0..EVIDENCE_SAMPLE).map(|i| calls[i * (calls.len() - 1) / (EVIDENCE_SAMPLE - 1)].evidence()).collect()
}

pub fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// "14:05 UTC on 2026-10-23".
pub fn when(us: i64) -> String {
    time(us).format("%H:%M UTC on %Y-%m-%d").to_string()
}

/// The parts of an alert that come from its calls.
pub struct Draft {
    pub kind: AlertKind,
    pub severity: Severity,
    pub vault: Option<String>,
    pub object_name: Option<String>,
    pub caller_ip: Option<String>,
    /// Window; defaults to the calls' first and last time.
    pub window: Option<(i64, i64)>,
    pub observed: serde_json::Value,
    pub baseline: serde_json::Value,
    pub score: (&'static str, f64),
    pub explanation: String,
}

impl Draft {
    /// The alert, with who from the calls (the first call's identity) and evidence sampled.
    pub fn into_alert(self, calls: &[&Call]) -> Alert {
        let first = calls.first();
        let field = |f: fn(&Call) -> Option<&str>| calls.iter().find_map(|c| f(c)).map(str::to_owned);
        let (start, end) = self.window.unwrap_or_else(|| {
            let lo = calls.iter().map(|c| c.time).min().unwrap_or_default();
            let hi = calls.iter().map(|c| c.time).max().unwrap_or_default();
            // A window holds its last event: end one second after it.
            (lo, hi + 1_000_000)
        });
        let now = Utc::now();
        Alert {
            id: String::new(),
            kind: self.kind,
            severity: self.severity,
            vault: self.vault,
            identity_oid: first.and_then(|c| c.identity_oid.as_deref().map(str::to_owned)),
            identity_appid: field(|c| c.identity_appid.as_deref()),
            identity_upn: field(|c| c.identity_upn.as_deref()),
            object_name: self.object_name,
            caller_ip: self.caller_ip.or_else(|| field(|c| c.caller_ip.as_deref())),
            window_start: time(start),
            window_end: time(end),
            observed: self.observed,
            baseline: self.baseline,
            score: Score { name: self.score.0.to_owned(), value: self.score.1 },
            explanation: self.explanation,
            evidence: sample(calls),
            state: AlertState::Open,
            state_reason: None,
            first_raised: now,
            last_raised: now,
        }
    }
}

/// Runs every detector over the window's calls.
pub fn detect_all(cx: &Context<'_>, calls: &[Call]) -> Vec<Alert> {
    // Anonymous calls (the challenge flow's 401s) have no baseline to compare with.
    let scored: Vec<&Call> = calls.iter().filter(|c| !c.anonymous()).collect();
    let mut alerts = Vec::new();
    alerts.extend(new_identity::detect(cx, &scored));
    alerts.extend(new_ip::detect(cx, &scored));
    alerts.extend(retrieval::detect(cx, &scored));
    alerts.extend(denied_burst::detect(cx, &scored));
    alerts.extend(sensitive_operation::detect(cx, &scored));
    alerts.extend(unusual_time::detect(cx, &scored));
    alerts.extend(volume_spike::detect(cx, &scored));
    resolve_overlaps(alerts)
}

/// One story, one alert: a volume spike of an identity in a vault during a mass retrieval,
/// an enumeration, a denial burst or calls from a new network (a stolen credential's extra
/// reads) is the same event, told better by the more specific kind.
fn resolve_overlaps(alerts: Vec<Alert>) -> Vec<Alert> {
    use AlertKind::*;
    let specific: Vec<&Alert> = alerts
        .iter()
        .filter(|a| matches!(a.kind, MassRetrieval | Enumeration | DeniedBurst | NewIp | NewIdentity))
        .collect();
    let covered = |a: &Alert| {
        specific.iter().any(|s| {
            s.identity_oid == a.identity_oid
                && (s.vault.is_none() || s.vault == a.vault)
                && s.window_start < a.window_end
                && a.window_start < s.window_end
        })
    };
    let keep: Vec<bool> = alerts.iter().map(|a| a.kind != VolumeSpike || !covered(a)).collect();
    alerts.into_iter().zip(keep).filter_map(|(a, k)| k.then_some(a)).collect()
}
