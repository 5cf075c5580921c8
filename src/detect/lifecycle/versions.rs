//! Version findings: `secret_past_max_age` (the current version is older than the
//! maximum age: never rotated) and `old_version_in_use` (a consumer still reads a version
//! a rotation replaced, longer than the grace period after it: it missed the rotation and
//! breaks when the old version is disabled).

use std::collections::BTreeMap;

use serde_json::json;

use super::catalog::{Access, Catalog, Facts};
use super::{DAY_US, Finding, LifecyclePolicy, date, days, when};
use crate::alert::{AlertKind, Severity};

pub(super) fn findings<'a>(catalog: &Catalog, policy: &LifecyclePolicy, facts: &'a Facts, out: &mut Vec<Finding<'a>>) {
    if facts.object_type == "certificate" {
        return;
    }
    past_max_age(catalog, policy, facts, out);
    old_version_in_use(policy, facts, out);
}

fn past_max_age<'a>(catalog: &Catalog, policy: &LifecyclePolicy, facts: &'a Facts, out: &mut Vec<Finding<'a>>) {
    if facts.inventory.as_ref().is_some_and(|i| i.managed) {
        return; // a certificate's secret lives as long as the certificate
    }
    let max_age = days(policy.max_age_days);
    let (set_at, known) = match facts.current_set_at(catalog.as_of) {
        Some(t) => (t, true),
        // Never set in the logs and not in the inventory: older than the coverage, which
        // says something only when the coverage itself exceeds the maximum age.
        None => match catalog.coverage_start(&facts.vault) {
            Some(start) if catalog.as_of - start > max_age => (start, false),
            _ => return,
        },
    };
    let age = catalog.as_of - set_at;
    if age <= max_age {
        return;
    }
    let age_days = (age as f64 / DAY_US as f64).floor();
    let set_text = if known {
        format!("was last set at {}", date(set_at))
    } else {
        format!("was not set in all {age_days} days the logs cover")
    };
    out.push(Finding {
        kind: AlertKind::SecretPastMaxAge,
        severity: if age > 2 * max_age { Severity::Medium } else { Severity::Low },
        facts,
        reader: None,
        window: (
            (set_at + max_age).max(catalog.coverage_start(&facts.vault).unwrap_or(set_at + max_age)),
            catalog.as_of,
        ),
        observed: json!({"current_version_set": date(set_at), "age_days": age_days, "set_date_known": known}),
        baseline: json!({"max_age_days": policy.max_age_days}),
        score: ("age_days", age_days),
        explanation: format!(
            "{} {set_text}, {age_days} days ago, past the {}-day maximum age: rotate it",
            facts.path(),
            policy.max_age_days
        ),
        evidence: Vec::new(),
    });
}

/// When `version` was set, per the logs.
fn set_time(facts: &Facts, version: &str) -> Option<i64> {
    facts.sets.iter().find(|(_, v)| v.as_deref() == Some(version)).map(|(t, _)| *t)
}

/// The rotation that replaced `version`: the first set of another version after it.
fn replaced_by<'f>(facts: &'f Facts, version: &str) -> Option<(i64, &'f str)> {
    let since = set_time(facts, version);
    facts
        .sets
        .iter()
        .filter(|(t, v)| since.is_none_or(|s| *t > s) && v.as_deref().is_some_and(|v| v != version))
        .map(|(t, v)| (*t, v.as_deref().unwrap_or_default()))
        .next()
}

/// One reader's reads of a replaced version: the first late time, the late reads, the
/// version read, and the rotation that replaced it (when, which version).
type Late<'a> = (i64, Vec<&'a Access>, &'a str, (i64, &'a str));

fn old_version_in_use<'a>(policy: &LifecyclePolicy, facts: &'a Facts, out: &mut Vec<Finding<'a>>) {
    let grace = days(policy.old_version_grace_days);
    let mut late: BTreeMap<String, Late<'_>> = BTreeMap::new();
    // Workloads only: people browse old versions in the portal on purpose.
    for read in facts.reads.iter().filter(|r| r.is_workload()) {
        let Some(version) = read.object_version.as_deref() else { continue };
        let Some((rotated, new)) = replaced_by(facts, version) else { continue };
        if read.last <= rotated + grace {
            continue;
        }
        let from = read.first.max(rotated + grace);
        let entry = late.entry(read.identity()).or_insert((from, Vec::new(), version, (rotated, new)));
        entry.0 = entry.0.min(from);
        entry.1.push(read);
    }
    for (first, reads, version, (rotated, new)) in late.into_values() {
        let last = reads.iter().map(|r| r.last).max().unwrap_or(first);
        let calls: i64 = reads.iter().map(|r| r.calls).sum();
        let reader = reads.iter().max_by_key(|r| r.last).copied();
        let name = reader.map(|r| r.display_name()).unwrap_or_default();
        let days_late = (last - rotated) as f64 / DAY_US as f64;
        out.push(Finding {
            kind: AlertKind::OldVersionInUse,
            severity: Severity::Medium,
            facts,
            reader,
            window: (first, last + 1_000_000),
            observed: json!({"version_read": version, "reads": calls, "last_read": when(last)}),
            baseline: json!({"current_version": new, "rotated_at": when(rotated), "grace_days": policy.old_version_grace_days}),
            score: ("days_since_rotation", days_late),
            explanation: format!(
                "{name} still reads {} version {version} ({calls} reads, last at {}), {:.0} days after version {new} replaced it at {}: it missed the rotation and breaks when the old version is disabled",
                facts.path(),
                when(last),
                days_late.floor(),
                when(rotated)
            ),
            evidence: reads,
        });
    }
}
