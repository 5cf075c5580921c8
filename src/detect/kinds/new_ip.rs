//! `new_ip`: a known identity calls from a network it never called from.
//!
//! Networks are /24 (IPv4) or /64 (IPv6), so an application moving between hosts of its
//! subnet or a person's changing IPv6 suffix is not news. The identity must have been
//! seen for `min_history_days` and active on `min_active_days` of them (a person seen on
//! two days has not shown all their networks yet); a newer one raises `new_identity` only. One alert per
//! identity and network; a workload identity (service principal, managed identity) whose
//! credential works from a new network is the classic sign of a stolen secret, so it is
//! high severity when it read anything.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Context, Draft, group_by, when};
use crate::alert::{Alert, AlertKind, Severity};
use crate::detect::calls::Call;
use crate::detect::profile::network_of;

pub fn detect(cx: &Context<'_>, calls: &[&Call]) -> Vec<Alert> {
    let with_ip: Vec<&Call> = calls.iter().copied().filter(|c| c.caller_ip.is_some()).collect();
    let mut alerts = Vec::new();
    let groups = group_by(&with_ip, |c| (c.identity.clone(), network_of(c.caller_ip.as_deref().unwrap_or_default())));
    for ((identity, network), group) in groups {
        let Some(profile) = cx.profiles.identities.get(&*identity) else { continue };
        if profile.networks.contains(&network)
            || !cx.identity_learned(&identity)
            || profile.days_seen < cx.policy.min_active_days
        {
            continue;
        }
        let first = group[0];
        let vaults = group_by(&group, |c| c.vault.clone());
        // The vault called most from there.
        let vault = vaults.iter().max_by_key(|(_, v)| v.len()).map(|(k, _)| k.to_string());
        let objects: BTreeSet<&str> =
            group.iter().filter(|c| c.reads_object()).filter_map(|c| c.object_name.as_deref()).collect();
        let addresses: BTreeSet<&str> = group.iter().filter_map(|c| c.caller_ip.as_deref()).collect();
        let workload = matches!(first.identity_type.as_deref(), Some("service_principal" | "managed_identity"));
        let severity = if workload && !objects.is_empty() { Severity::High } else { Severity::Medium };
        let who = first.who().to_owned();
        let ip = first.caller_ip.as_deref().unwrap_or_default().to_owned();
        let days = cx.history_days_text(cx.profiles.identity_history_days(&identity));
        let read = if objects.is_empty() {
            String::new()
        } else {
            format!(" and read {}", objects.iter().copied().collect::<Vec<_>>().join(", "))
        };
        let draft = Draft {
            kind: AlertKind::NewIp,
            severity,
            vault,
            object_name: None,
            caller_ip: Some(ip.clone()),
            window: None,
            observed: json!({
                "network": network,
                "addresses": addresses,
                "calls": group.len(),
                "vaults": vaults.keys().map(|v| v.to_string()).collect::<Vec<_>>(),
                "objects": objects,
            }),
            baseline: json!({
                "known_networks": profile.networks.iter().collect::<BTreeSet<_>>(),
                "known_addresses": profile.addresses,
                "history_days": cx.profiles.identity_history_days(&identity).round(),
            }),
            score: ("networks_seen_before", profile.networks.len() as f64),
            explanation: format!(
                "{who} called from {ip} ({network}) at {}{read}: a network it never used in {days} of history \
                 (it used {} before).",
                when(first.time),
                profile.networks.len(),
            ),
        };
        alerts.push(draft.into_alert(&group));
    }
    alerts
}
