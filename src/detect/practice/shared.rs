//! `shared_secret`: one secret read by more than one consumer (workload) over the window,
//! so no consumer's access can be revoked or rotated alone. The finding lists each consumer
//! with its reads, days, last read and addresses, and the people who read it too.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::{Finding, Use};
use crate::alert::{AlertKind, Severity};
use crate::detect::lifecycle::catalog::{Catalog, time};

pub(super) fn find<'c>(
    catalog: &'c Catalog,
    uses: &BTreeMap<(String, String), BTreeMap<String, Use<'c>>>,
    since: i64,
    out: &mut Vec<Finding<'c>>,
) {
    for ((vault, name), consumers) in uses.iter().filter(|(_, c)| c.len() >= 2) {
        let mut firsts: Vec<i64> = consumers.values().map(Use::first).collect();
        firsts.sort();
        // Shared from the moment its second consumer started reading.
        let start = firsts[1];
        let end = consumers.values().map(Use::last).max().unwrap_or(start);
        let listed: Vec<serde_json::Value> = consumers
            .values()
            .map(|u| {
                let w = u.who();
                json!({
                    "identity_oid": w.identity_oid, "identity_appid": w.identity_appid,
                    "identity_type": w.identity_type, "reads": u.calls(), "days": u.days.len(),
                    "last_read": time(u.last()).to_rfc3339(),
                    "addresses": u.reads.iter().filter_map(|r| r.caller_ip.clone()).collect::<BTreeSet<_>>(),
                })
            })
            .collect();
        let names: Vec<String> = consumers.values().map(|u| u.who().display_name()).collect();
        let people: BTreeSet<String> = catalog
            .objects
            .get(&(vault.clone(), "secret".to_owned(), name.clone()))
            .map(|f| f.reads.iter().filter(|r| r.last >= since && !r.is_workload()).map(|r| r.display_name()).collect())
            .unwrap_or_default();
        let evidence = consumers.values().map(|u| u.who().evidence(vault, name)).collect();
        out.push(Finding {
            kind: AlertKind::SharedSecret,
            severity: Severity::Medium,
            vault: vault.clone(),
            object_name: Some(name.clone()),
            who: None,
            window: (start, end + 1_000_000),
            observed: json!({"consumers": listed, "people": people}),
            baseline: json!({"expected_consumers": 1}),
            score: ("consumers", consumers.len() as f64),
            explanation: format!(
                "{vault}/{name} is read by {} workloads ({}): give each its own secret so one can be rotated or revoked without the others",
                consumers.len(),
                names.join(", ")
            ),
            evidence,
        });
    }
}
