//! `role_mixing`: an identity that both administers a vault (changes its configuration or
//! access policies, purges its objects) and reads its secrets; or a configured auditor
//! that reads secret values. Checked on production vaults and vaults of unknown
//! environment (non-production too with `role_mixing_non_production`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::{Environment, Finding, PracticePolicy, is_listed};
use crate::alert::{AlertKind, Severity};
use crate::detect::lifecycle::catalog::{Access, Catalog};

pub(super) fn find<'c>(catalog: &'c Catalog, policy: &PracticePolicy, since: i64, out: &mut Vec<Finding<'c>>) {
    // (vault, identity) → administrative calls, and secret reads with the secret's name.
    let mut admin: BTreeMap<(&str, String), Vec<&'c Access>> = BTreeMap::new();
    let mut reads: BTreeMap<(&str, String), Vec<(&'c str, &'c Access)>> = BTreeMap::new();
    for (vault, changes) in &catalog.vault_changes {
        for c in changes.iter().filter(|c| c.last >= since) {
            admin.entry((vault, c.identity())).or_default().push(c);
        }
    }
    for facts in catalog.objects.values() {
        for a in facts.other.iter().filter(|a| a.last >= since && a.outcome == "ok" && a.operation.ends_with("Purge")) {
            admin.entry((&facts.vault, a.identity())).or_default().push(a);
        }
        if facts.object_type == "secret" {
            for r in facts.reads.iter().filter(|r| r.last >= since) {
                reads.entry((&facts.vault, r.identity())).or_default().push((&facts.name, r));
            }
        }
    }
    let checked =
        |vault: &str| policy.role_mixing_non_production || policy.environment(vault) != Environment::NonProduction;
    for ((vault, who), changes) in &admin {
        let Some(read) = reads.get(&(*vault, who.clone())) else { continue };
        if !checked(vault) {
            continue;
        }
        let ops: BTreeSet<&str> = changes.iter().map(|c| c.operation.as_str()).collect();
        let names: BTreeSet<&str> = read.iter().map(|(n, _)| *n).collect();
        push(
            out,
            vault,
            changes,
            read,
            format!(
                "{} administers {vault} ({}) and also reads its secrets ({}): separate the administrator and the reader, so no one identity can both grant access and use it",
                changes[0].display_name(),
                ops.iter().copied().collect::<Vec<_>>().join(", "),
                names.iter().copied().collect::<Vec<_>>().join(", ")
            ),
            json!({"admin_operations": ops, "secrets_read": names}),
        );
    }
    if policy.auditors.is_empty() {
        return;
    }
    for ((vault, _), read) in &reads {
        let auditor = read.iter().map(|(_, a)| *a).find(|a| is_listed(&policy.auditors, a));
        let Some(a) = auditor else { continue };
        let names: BTreeSet<&str> = read.iter().map(|(n, _)| *n).collect();
        push(
            out,
            vault,
            &[],
            read,
            format!(
                "{} is an auditor and read secret values in {vault} ({}): auditors need the logs, never the values",
                a.display_name(),
                names.iter().copied().collect::<Vec<_>>().join(", ")
            ),
            json!({"auditor": true, "secrets_read": names}),
        );
    }
}

fn push<'c>(
    out: &mut Vec<Finding<'c>>,
    vault: &str,
    changes: &[&'c Access],
    read: &[(&'c str, &'c Access)],
    explanation: String,
    observed: serde_json::Value,
) {
    let times = changes.iter().copied().chain(read.iter().map(|(_, a)| *a));
    let start = times.clone().map(|a| a.first).min().unwrap_or_default();
    let end = times.map(|a| a.last).max().unwrap_or(start);
    let who = changes.first().copied().unwrap_or(read[0].1);
    let mut evidence: Vec<crate::alert::Evidence> =
        changes.iter().map(|c| crate::alert::Evidence { object: None, ..c.evidence(vault, "") }).collect();
    evidence.extend(read.iter().map(|(n, a)| a.evidence(vault, n)));
    out.push(Finding {
        kind: AlertKind::RoleMixing,
        severity: Severity::High,
        vault: vault.to_owned(),
        object_name: None,
        who: Some(who),
        window: (start, end + 1_000_000),
        observed,
        baseline: json!({"expected": "administrators, readers and auditors are different identities"}),
        score: ("roles_held", 2.0),
        explanation,
        evidence,
    });
}
