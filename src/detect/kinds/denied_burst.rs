//! `denied_burst`: a burst of refusals (403, or 401 with an identity) for one identity,
//! in one vault or across many.
//!
//! In one vault: the most refusals within any 15 minutes must reach the policy's minimum
//! and be improbable under the identity's own refusal rate there (Poisson tail below the
//! threshold): a misconfigured job refused twice an hour for months is its own baseline.
//! Across vaults: refusals from at least `denied_min_vaults` vaults within 15 minutes is a
//! credential probing what it can reach, raised once with no vault; it replaces per-vault
//! bursts of the same identity at the same time.

use std::collections::{BTreeSet, HashMap};

use serde_json::json;

use super::{Context, Draft, group_by, sessions, when};
use crate::alert::{Alert, AlertKind, Severity};
use crate::detect::calls::Call;
use crate::detect::profile::HOUR_US;
use crate::detect::stats::{p_text, poisson_tail};

const BURST_US: i64 = 15 * 60 * 1_000_000;

/// The most calls within any 15 minutes, and the most distinct vaults.
fn densest(calls: &[&Call]) -> (usize, usize) {
    let (mut most, mut most_vaults) = (0, 0);
    let mut vaults: HashMap<&str, usize> = HashMap::new();
    let mut lo = 0;
    for hi in 0..calls.len() {
        *vaults.entry(&calls[hi].vault).or_default() += 1;
        while calls[hi].time - calls[lo].time >= BURST_US {
            if let Some(n) = vaults.get_mut(&*calls[lo].vault) {
                *n -= 1;
                if *n == 0 {
                    vaults.remove(&*calls[lo].vault);
                }
            }
            lo += 1;
        }
        most = most.max(hi - lo + 1);
        most_vaults = most_vaults.max(vaults.len());
    }
    (most, most_vaults)
}

pub fn detect(cx: &Context<'_>, calls: &[&Call]) -> Vec<Alert> {
    let denied: Vec<&Call> = calls.iter().copied().filter(|c| c.denied()).collect();
    let mut alerts = Vec::new();
    let history_hours = ((cx.profiles.end - cx.profiles.start) / HOUR_US).max(1) as f64;
    for (identity, identity_calls) in group_by(&denied, |c| c.identity.clone()) {
        let mut across: Vec<(i64, i64)> = Vec::new();
        for session in sessions(&identity_calls, BURST_US) {
            let (most, vault_count) = densest(&session);
            if vault_count >= cx.policy.denied_min_vaults && session.len() >= 2 * cx.policy.denied_min_vaults {
                let vaults: BTreeSet<&str> = session.iter().map(|c| &*c.vault).collect();
                let who = session[0].who().to_owned();
                let draft = Draft {
                    kind: AlertKind::DeniedBurst,
                    severity: Severity::High,
                    vault: None,
                    object_name: None,
                    caller_ip: None,
                    window: None,
                    observed: json!({"refusals": session.len(), "vaults": vaults, "most_in_15_minutes": most}),
                    baseline: json!({"vaults_refusing_within_15_minutes_threshold": cx.policy.denied_min_vaults}),
                    score: ("vaults_refusing", vaults.len() as f64),
                    explanation: format!(
                        "{who} was refused {} times by {} vaults within {:.0} minutes from {} ({}): a credential \
                         probing what it can reach.",
                        session.len(),
                        vaults.len(),
                        ((session[session.len() - 1].time - session[0].time) as f64 / 60e6).ceil().max(1.0),
                        when(session[0].time),
                        vaults.iter().copied().collect::<Vec<_>>().join(", "),
                    ),
                };
                let first = session[0].time;
                let last = session[session.len() - 1].time;
                across.push((first, last));
                alerts.push(draft.into_alert(&session));
            }
        }
        let by_vault = group_by(&identity_calls, |c| c.vault.clone());
        for (vault, vault_calls) in by_vault {
            let pair_denied = cx.profiles.pair(&identity, &vault).map(|p| p.denied_total()).unwrap_or(0);
            let per_15_minutes = pair_denied as f64 / history_hours / 4.0;
            for session in sessions(&vault_calls, BURST_US) {
                let (most, _) = densest(&session);
                let (first, last) = (session[0].time, session[session.len() - 1].time);
                if across.iter().any(|&(a, b)| first <= b && a <= last) {
                    continue;
                }
                let p = poisson_tail(most as u64, per_15_minutes);
                if most < cx.policy.denied_min || p >= cx.policy.p_threshold {
                    continue;
                }
                let who = session[0].who().to_owned();
                let objects: BTreeSet<&str> = session.iter().filter_map(|c| c.object_name.as_deref()).collect();
                let severity =
                    if session.len() >= 5 * cx.policy.denied_min { Severity::High } else { Severity::Medium };
                let draft = Draft {
                    kind: AlertKind::DeniedBurst,
                    severity,
                    vault: Some(vault.to_string()),
                    object_name: None,
                    caller_ip: None,
                    window: None,
                    observed: json!({
                        "refusals": session.len(),
                        "most_in_15_minutes": most,
                        "statuses": session.iter().filter_map(|c| c.http_status).collect::<BTreeSet<_>>(),
                        "objects": objects,
                    }),
                    baseline: json!({
                        "refusals_in_history": pair_denied,
                        "expected_per_15_minutes": (per_15_minutes * 1000.0).round() / 1000.0,
                        "history_hours": history_hours,
                    }),
                    score: ("p_value_poisson", p),
                    explanation: format!(
                        "{who} was refused {} times by {vault} in {:.0} minutes from {} (up to {most} in 15 minutes, \
                         against {per_15_minutes:.2} expected from its history; Poisson p = {}).",
                        session.len(),
                        ((last - first) as f64 / 60e6).ceil().max(1.0),
                        when(first),
                        p_text(p),
                    ),
                };
                alerts.push(draft.into_alert(&session));
            }
        }
    }
    alerts
}
