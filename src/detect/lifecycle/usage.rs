//! `stale_secret`: no successful read for the vault's stale period, claimed only when the
//! logs cover that whole period and the secret existed through it.

use serde_json::json;

use super::catalog::{Catalog, Facts};
use super::{Finding, LifecyclePolicy, date, days};
use crate::alert::{AlertKind, Severity};

pub(super) fn stale<'a>(catalog: &Catalog, policy: &LifecyclePolicy, facts: &'a Facts, out: &mut Vec<Finding<'a>>) {
    if facts.object_type == "certificate" {
        return; // a certificate is read through its managed secret and key
    }
    if facts.inventory.as_ref().is_some_and(|i| i.enabled == Some(false)) {
        return; // disabled: unreadable on purpose
    }
    let stale_days = policy.stale_days_of(&facts.vault);
    let since = catalog.as_of - days(stale_days);
    let Some(coverage_start) = catalog.coverage_start(&facts.vault) else { return };
    if coverage_start > since {
        return; // the logs do not cover the stale period: `secrets` says "never read in N days"
    }
    if facts.known_since().is_some_and(|k| k > since) {
        return; // created during the stale period: not yet unused for that long
    }
    let last = facts.last_read();
    if last.is_some_and(|r| r.last >= since) {
        return;
    }
    let idle_from = last.map_or(coverage_start, |r| r.last).max(coverage_start);
    let idle_days = (catalog.as_of - idle_from) as f64 / 86_400e6;
    let explanation = match last {
        Some(r) => format!(
            "{} has not been read for {:.0} days (last read {} by {}): stale after {stale_days} days; confirm with its owner and retire it",
            facts.path(),
            idle_days,
            date(r.last),
            r.display_name()
        ),
        None => format!(
            "{} was not read in all {:.0} days the logs cover: stale after {stale_days} days; confirm with its owner and retire it",
            facts.path(),
            idle_days
        ),
    };
    out.push(Finding {
        kind: AlertKind::StaleSecret,
        severity: Severity::Low,
        facts,
        reader: None,
        window: (idle_from, catalog.as_of),
        observed: json!({
            "last_read": last.map(|r| date(r.last)),
            "last_reader": last.map(|r| r.display_name()),
            "days_without_read": idle_days.floor(),
            "failed_reads": facts.failed_reads.iter().map(|a| a.calls).sum::<i64>(),
        }),
        baseline: json!({
            "stale_days": stale_days,
            "coverage_days": catalog.coverage_days(&facts.vault).floor(),
            "in_inventory": facts.inventory.is_some(),
        }),
        score: ("days_without_read", idle_days.floor()),
        explanation,
        evidence: last.into_iter().collect(),
    });
}
