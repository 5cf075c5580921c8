//! Expiry findings: `expired_secret_in_use` (successful reads after a version expired:
//! Key Vault keeps serving expired secrets), `secret_near_expiry` (expiring within the
//! horizon while still read, with no newer version set: the outage that is coming) and
//! `secret_without_expiry` (no expiry date at all, Azure Policy's built-in check).
//!
//! Only workloads' reads count (service principals and managed identities): a person
//! opening a secret in the portal neither depends on it nor breaks when it expires.
//!
//! An expiry is known from the inventory (the current version's `expires`), from the
//! service's `*ExpiredEventGridNotification` (the version expired then), or from its
//! `*NearExpiryEventGridNotification` (sent 30 days before the expiry).

use std::collections::BTreeMap;

use serde_json::json;

use super::catalog::{Access, Catalog, Facts};
use super::{DAY_US, Finding, LifecyclePolicy, date, days, when};
use crate::alert::{AlertKind, Severity};

/// Key Vault sends the near-expiry notification this long before the expiry.
pub(super) const NEAR_EXPIRY_NOTICE: i64 = 30 * DAY_US;

/// A known end of life of one version.
#[derive(Debug, Clone)]
struct Expiry {
    at: i64,
    /// The version that expires, when known.
    version: Option<String>,
    /// When that version was set (a set after it is a newer version).
    set_at: Option<i64>,
    source: &'static str,
}

fn expiries(facts: &Facts) -> Vec<Expiry> {
    let mut out = Vec::new();
    if let Some(item) = &facts.inventory
        && let Some(expires) = item.expires
    {
        out.push(Expiry {
            at: expires.timestamp_micros(),
            version: item.version.clone(),
            set_at: item.created.map(|t| t.timestamp_micros()),
            source: "inventory",
        });
    }
    for (at, version) in &facts.expired_notices {
        out.push(Expiry { at: *at, version: version.clone(), set_at: None, source: "expired_notification" });
    }
    if out.is_empty() {
        for (at, version) in &facts.near_expiry_notices {
            out.push(Expiry {
                at: at + NEAR_EXPIRY_NOTICE,
                version: version.clone(),
                set_at: None,
                source: "near_expiry_notification",
            });
        }
    }
    out.sort_by_key(|e| e.at);
    out
}

/// Whether a newer version than the expiring one was set by `until`.
fn renewed(facts: &Facts, expiry: &Expiry, until: i64) -> bool {
    facts.sets.iter().any(|(t, v)| {
        *t <= until
            && match (&expiry.version, v) {
                (Some(old), Some(new)) => old != new && expiry.set_at.is_none_or(|s| *t > s),
                _ => expiry.set_at.map_or(*t > expiry.at - NEAR_EXPIRY_NOTICE, |s| *t > s + 60_000_000),
            }
    })
}

/// Whether `read` read the expired version after it expired.
fn late(facts: &Facts, expiry: &Expiry, read: &Access) -> bool {
    if read.last <= expiry.at {
        return false;
    }
    match (&expiry.version, &read.object_version) {
        (Some(expired), Some(read)) => expired == read,
        // Version unknown on one side: late unless a newer version was set before the read.
        _ => !renewed(facts, expiry, read.first),
    }
}

pub(super) fn findings<'a>(catalog: &Catalog, policy: &LifecyclePolicy, facts: &'a Facts, out: &mut Vec<Finding<'a>>) {
    if facts.object_type == "certificate" {
        return;
    }
    let as_of = catalog.as_of;
    let known = expiries(facts);
    expired_in_use(facts, &known, as_of, out);
    if let Some(expiry) = known.iter().find(|e| e.at > as_of && e.at <= as_of + days(policy.near_expiry_days)) {
        near_expiry(facts, policy, expiry, as_of, out);
    }
    without_expiry(catalog, facts, out);
}

fn expired_in_use<'a>(facts: &'a Facts, known: &[Expiry], as_of: i64, out: &mut Vec<Finding<'a>>) {
    let Some(expiry) = known.iter().find(|e| e.at <= as_of) else { return };
    let mut by_reader: BTreeMap<String, Vec<&Access>> = BTreeMap::new();
    // Workloads: they break or leak when the secret ends; a person opening it does not.
    for read in facts.reads.iter().filter(|r| r.is_workload() && late(facts, expiry, r)) {
        by_reader.entry(read.identity()).or_default().push(read);
    }
    for reads in by_reader.into_values() {
        let first = reads.iter().map(|r| r.first.max(expiry.at)).min().unwrap_or(expiry.at);
        let last = reads.iter().map(|r| r.last).max().unwrap_or(first);
        let calls: i64 = reads.iter().map(|r| r.calls).sum();
        let reader = reads.iter().max_by_key(|r| r.last).copied();
        let name = reader.map(|r| r.display_name()).unwrap_or_default();
        let overdue_days = (last - expiry.at) as f64 / DAY_US as f64;
        out.push(Finding {
            kind: AlertKind::ExpiredSecretInUse,
            severity: if overdue_days > 30.0 { Severity::High } else { Severity::Medium },
            facts,
            reader,
            window: (first, last + 1_000_000),
            observed: json!({
                "reads_after_expiry": calls,
                "last_read": when(last),
                "versions_read": reads.iter().filter_map(|r| r.object_version.clone()).collect::<std::collections::BTreeSet<_>>(),
            }),
            baseline: json!({"expired_at": when(expiry.at), "expired_version": expiry.version, "known_from": expiry.source}),
            score: ("days_read_past_expiry", overdue_days.max(0.0)),
            explanation: format!(
                "{} expired at {} and {name} still reads it ({calls} reads since, last at {}): Key Vault serves expired secrets, so set a new version and move {name} to it",
                facts.path(),
                when(expiry.at),
                when(last)
            ),
            evidence: reads,
        });
    }
}

fn near_expiry<'a>(
    facts: &'a Facts,
    policy: &LifecyclePolicy,
    expiry: &Expiry,
    as_of: i64,
    out: &mut Vec<Finding<'a>>,
) {
    if renewed(facts, expiry, as_of) {
        return; // a newer version is set: consumers that follow it are fine
    }
    let recent: Vec<&Access> =
        facts.reads.iter().filter(|r| r.is_workload() && r.last >= as_of - days(policy.in_use_days)).collect();
    if recent.is_empty() {
        return; // no workload reads it: its expiry breaks nothing
    }
    let mut readers: Vec<String> = recent.iter().map(|r| r.display_name()).collect();
    readers.sort();
    readers.dedup();
    let left_days = (expiry.at - as_of) as f64 / DAY_US as f64;
    out.push(Finding {
        kind: AlertKind::SecretNearExpiry,
        severity: if left_days <= 7.0 { Severity::High } else { Severity::Medium },
        facts,
        reader: None,
        window: (expiry.at - days(policy.near_expiry_days), expiry.at),
        observed: json!({
            "expires": when(expiry.at),
            "readers": readers,
            "reads": recent.iter().map(|r| r.calls).sum::<i64>(),
        }),
        baseline: json!({"near_expiry_days": policy.near_expiry_days, "in_use_days": policy.in_use_days, "known_from": expiry.source}),
        score: ("days_to_expiry", left_days),
        explanation: format!(
            "{} expires at {} ({:.0} days) and {} still read it with no newer version set: rotate it before then",
            facts.path(),
            when(expiry.at),
            left_days.ceil(),
            readers.join(", ")
        ),
        evidence: recent,
    });
}

fn without_expiry<'a>(catalog: &Catalog, facts: &'a Facts, out: &mut Vec<Finding<'a>>) {
    let Some(item) = &facts.inventory else { return };
    if item.expires.is_some() || item.managed || item.enabled == Some(false) {
        return;
    }
    let start = [catalog.coverage_start(&facts.vault), facts.known_since()]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(catalog.as_of)
        .min(catalog.as_of);
    out.push(Finding {
        kind: AlertKind::SecretWithoutExpiry,
        severity: Severity::Low,
        facts,
        reader: None,
        window: (start, catalog.as_of),
        observed: json!({"expires": null, "created": item.created.map(|c| date(c.timestamp_micros())), "content_type": item.content_type}),
        baseline: json!({"control": "Key Vault secrets should have an expiration date (Azure Policy)"}),
        score: ("has_expiry", 0.0),
        explanation: format!("{} has no expiry date: set one so a leaked value cannot be used forever", facts.path()),
        evidence: Vec::new(),
    });
}
