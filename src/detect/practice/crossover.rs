//! `environment_crossover`: a workload that reads secrets in both production and
//! non-production vaults. Its home is the environment it reads more secrets in (production
//! on a tie); one finding per vault of the other environment, naming what it reads there
//! and any secret of the same name it also reads at home.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::{Environment, Finding, PracticePolicy, Use};
use crate::alert::{AlertKind, Severity};

pub(super) fn find<'c>(
    policy: &PracticePolicy,
    uses: &BTreeMap<(String, String), BTreeMap<String, Use<'c>>>,
    out: &mut Vec<Finding<'c>>,
) {
    // Identity → (vault, secret) → its use.
    let mut by_identity: BTreeMap<&str, Vec<(&str, &str, &Use<'c>)>> = BTreeMap::new();
    for ((vault, name), consumers) in uses {
        for (who, u) in consumers {
            by_identity.entry(who).or_default().push((vault, name, u));
        }
    }
    for reads in by_identity.values() {
        let env_of = |v: &str| policy.environment(v);
        let count = |e| reads.iter().filter(|(v, _, _)| env_of(v) == e).count();
        let (prod, other) = (count(Environment::Production), count(Environment::NonProduction));
        if prod == 0 || other == 0 {
            continue;
        }
        let home = if prod >= other { Environment::Production } else { Environment::NonProduction };
        let away = if home == Environment::Production { Environment::NonProduction } else { Environment::Production };
        let home_names: BTreeSet<&str> =
            reads.iter().filter(|(v, _, _)| env_of(v) == home).map(|(_, n, _)| *n).collect();
        let mut away_vaults: BTreeMap<&str, Vec<(&str, &Use<'c>)>> = BTreeMap::new();
        for (v, n, u) in reads.iter().filter(|(v, _, _)| env_of(v) == away) {
            away_vaults.entry(v).or_default().push((n, u));
        }
        for (vault, secrets) in away_vaults {
            let names: Vec<&str> = secrets.iter().map(|(n, _)| *n).collect();
            let same: Vec<&str> = names.iter().copied().filter(|n| home_names.contains(n)).collect();
            let who = secrets.iter().map(|(_, u)| u.who()).max_by_key(|a| a.last).expect("a vault with reads");
            let start = secrets.iter().map(|(_, u)| u.first()).min().unwrap_or_default();
            let end = secrets.iter().map(|(_, u)| u.last()).max().unwrap_or(start);
            let same_text = if same.is_empty() {
                String::new()
            } else {
                format!("; it reads {} under the same name in {}", same.join(", "), home.as_str())
            };
            out.push(Finding {
                kind: AlertKind::EnvironmentCrossover,
                severity: if away == Environment::Production { Severity::High } else { Severity::Medium },
                vault: vault.to_owned(),
                object_name: (names.len() == 1).then(|| names[0].to_owned()),
                who: Some(who),
                window: (start, end + 1_000_000),
                observed: json!({
                    "home": home.as_str(), "home_secrets": home_names.len(), "vault_environment": away.as_str(),
                    "secrets_read_here": names, "same_name_in_both": same,
                    "reads": secrets.iter().map(|(_, u)| u.calls()).sum::<i64>(),
                }),
                baseline: json!({"expected": format!("a {} workload reads only {} vaults", home.as_str(), home.as_str())}),
                score: ("secrets_read_across", names.len() as f64),
                explanation: format!(
                    "{} is a {} workload ({} secrets there) and also reads {} in {vault} ({}){same_text}: keep production and non-production credentials and identities apart",
                    who.display_name(),
                    home.as_str(),
                    home_names.len(),
                    names.join(", "),
                    away.as_str()
                ),
                evidence: secrets.iter().map(|(n, u)| u.who().evidence(vault, n)).collect(),
            });
        }
    }
}
