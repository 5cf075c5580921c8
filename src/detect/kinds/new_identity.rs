//! `new_identity`: an identity calls a vault successfully for the first time in the
//! history window.
//!
//! Policy for little history: a vault seen for fewer than `min_history_days` is still
//! being learned, and its newcomers are not news (the first run over a new lake would
//! otherwise flag everyone). A new identity raises only this alert: volume, address and
//! time alarms wait until it has a history of its own.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Context, Draft, group_by, when};
use crate::alert::{Alert, AlertKind, Severity};
use crate::detect::calls::Call;

pub fn detect(cx: &Context<'_>, calls: &[&Call]) -> Vec<Alert> {
    let ok: Vec<&Call> = calls.iter().copied().filter(|c| c.ok()).collect();
    let mut alerts = Vec::new();
    for ((identity, vault), group) in group_by(&ok, |c| (c.identity.clone(), c.vault.clone())) {
        let known = cx.profiles.pair(&identity, &vault).is_some_and(|p| p.first_ok.is_some());
        if known || !cx.vault_learned(&vault) {
            continue;
        }
        let known_elsewhere = cx.profiles.identities.contains_key(&*identity);
        let objects: BTreeSet<&str> =
            group.iter().filter(|c| c.reads_object()).filter_map(|c| c.object_name.as_deref()).collect();
        let operations: BTreeSet<&str> = group.iter().map(|c| &*c.operation).collect();
        let addresses: BTreeSet<&str> = group.iter().filter_map(|c| c.caller_ip.as_deref()).collect();
        let first = group[0];
        let who = first.who().to_owned();
        let identities = cx.profiles.vaults.get(&*vault).map(|v| v.identities).unwrap_or(0);
        let days = cx.history_days_text(cx.profiles.vault_history_days(&vault));
        let severity = if objects.len() >= 5 { Severity::High } else { Severity::Medium };
        let what = match objects.len() {
            0 => format!("called {} ({})", vault, operations.iter().copied().collect::<Vec<_>>().join(", ")),
            1 => format!("read {vault}/{}", objects.iter().next().copied().unwrap_or_default()),
            n => format!("read {n} objects of {vault}"),
        };
        let elsewhere =
            if known_elsewhere { "known to other vaults but never to this one" } else { "never seen before" };
        let draft = Draft {
            kind: AlertKind::NewIdentity,
            severity,
            vault: Some(vault.to_string()),
            object_name: (objects.len() == 1).then(|| objects.iter().next().map(|s| (*s).to_owned())).flatten(),
            caller_ip: first.caller_ip.as_deref().map(str::to_owned),
            window: None,
            observed: json!({
                "successful_calls": group.len(),
                "operations": operations,
                "objects": objects,
                "addresses": addresses,
                "identity_type": first.identity_type.as_deref(),
                "known_to_other_vaults": known_elsewhere,
            }),
            baseline: json!({
                "identities_known_to_vault": identities,
                "history_days": cx.profiles.vault_history_days(&vault).round(),
            }),
            score: ("first_seen", 1.0),
            explanation: format!(
                "{who} ({elsewhere}) {what} from {} at {}; {identities} identities called {vault} in the last {days}.",
                first.caller_ip.as_deref().unwrap_or("an unknown address"),
                when(first.time),
            ),
        };
        alerts.push(draft.into_alert(&group));
    }
    alerts
}
