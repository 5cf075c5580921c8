//! `sensitive_operation`: successful operations that destroy, copy out or re-permission
//! secrets: purges and deletes, backups (a backup blob is the secret, restorable into any
//! vault of the tenant), restores, and vault changes (`VaultPut`/`VaultPatch` carry access
//! policy changes; `VaultDelete`).
//!
//! Calls by one identity in one vault within 30 minutes are one alert. An operation the
//! identity performed on at least `ROUTINE_DAYS` days of its history in that vault is its
//! routine (a nightly backup job) and is not raised.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Context, Draft, group_by, sessions, when};
use crate::alert::{Alert, AlertKind, Severity};
use crate::detect::calls::Call;

/// Operations that are irreversible: high severity.
const DESTRUCTIVE: &[&str] = &["SecretPurge", "KeyPurge", "CertificatePurge", "VaultDelete", "VaultPurge"];
/// Operations that copy out, remove or re-permission: medium severity.
const SENSITIVE: &[&str] = &[
    "SecretDelete",
    "KeyDelete",
    "CertificateDelete",
    "SecretBackup",
    "KeyBackup",
    "CertificateBackup",
    "SecretRestore",
    "KeyRestore",
    "CertificateRestore",
    "VaultPut",
    "VaultPatch",
];
/// Days of use after which an operation is an identity's routine.
pub const ROUTINE_DAYS: u64 = 5;
const SESSION_GAP_US: i64 = 30 * 60 * 1_000_000;

pub fn detect(cx: &Context<'_>, calls: &[&Call]) -> Vec<Alert> {
    let sensitive: Vec<&Call> = calls
        .iter()
        .copied()
        .filter(|c| c.ok() && (DESTRUCTIVE.contains(&&*c.operation) || SENSITIVE.contains(&&*c.operation)))
        .filter(|c| {
            let routine = cx.profiles.pair(&c.identity, &c.vault).and_then(|p| p.operations.get(&*c.operation));
            routine.is_none_or(|&(_, days)| days < ROUTINE_DAYS)
        })
        .collect();
    let mut alerts = Vec::new();
    for ((_, vault), group) in group_by(&sensitive, |c| (c.identity.clone(), c.vault.clone())) {
        for session in sessions(&group, SESSION_GAP_US) {
            let operations: BTreeSet<&str> = session.iter().map(|c| &*c.operation).collect();
            let objects: BTreeSet<&str> = session.iter().filter_map(|c| c.object_name.as_deref()).collect();
            let destructive = operations.iter().any(|o| DESTRUCTIVE.contains(o));
            let who = session[0].who().to_owned();
            let used_days = cx
                .profiles
                .pair(&session[0].identity, &vault)
                .map(|p| operations.iter().filter_map(|o| p.operations.get(*o).map(|u| u.1)).max().unwrap_or(0))
                .unwrap_or(0);
            let on = if objects.is_empty() {
                vault.to_string()
            } else {
                format!("{vault} ({})", objects.iter().copied().collect::<Vec<_>>().join(", "))
            };
            let note = if destructive { " A purge or vault deletion cannot be undone." } else { "" };
            let draft = Draft {
                kind: AlertKind::SensitiveOperation,
                severity: if destructive { Severity::High } else { Severity::Medium },
                vault: Some(vault.to_string()),
                object_name: (objects.len() == 1).then(|| objects.iter().next().map(|s| (*s).to_owned())).flatten(),
                caller_ip: None,
                window: None,
                observed: json!({"operations": operations, "objects": objects, "calls": session.len()}),
                baseline: json!({"routine_after_days": ROUTINE_DAYS, "days_used_in_history": used_days}),
                score: ("sensitive_operations", session.len() as f64),
                explanation: format!(
                    "{who} ran {} on {on} at {}.{note}",
                    operations.iter().copied().collect::<Vec<_>>().join(" and "),
                    when(session[0].time),
                ),
            };
            alerts.push(draft.into_alert(&session));
        }
    }
    alerts
}
