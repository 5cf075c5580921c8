//! Practice findings: whether the workloads follow the secret-handling practice kvaudit
//! audits. One secret per consumer (`shared_secret`), production and non-production kept
//! apart (`environment_crossover`), and the people who administer a production vault not
//! also reading its secrets (`role_mixing`).
//!
//! Like the lifecycle findings they read the [`Catalog`] (the access index), over the
//! history window before the run's end. A "consumer" is a workload (service principal or
//! managed identity) that read the secret on at least `consumer_min_days` days: one-off
//! reads (a migration, an incident) are the unusual-access detector's business. Brokers
//! are not consumers: identities on the `brokers` list, and identities reading nearly every
//! secret of a vault (backup and sync jobs do that by design).

mod crossover;
pub mod environment;
mod roles;
mod shared;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::finding::Finding;
use super::lifecycle::catalog::{Access, Catalog};
use crate::alert::{Alert, AlertKind};
pub use environment::Environment;

/// `[practice]` in `kvaudit.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PracticePolicy {
    /// Days with reads that make a workload a consumer of a secret.
    pub consumer_min_days: u32,
    /// App ids or object ids of brokers (backup, sync, rotation tools): never consumers.
    pub brokers: Vec<String>,
    /// A workload reading at least this share of a vault's secrets (and at least
    /// `broker_min_secrets` of them) is taken for a broker.
    pub broker_share: f64,
    pub broker_min_secrets: usize,
    /// Vault name → `production` or `non-production`, overriding the name patterns.
    pub environments: BTreeMap<String, Environment>,
    /// Name parts (split on `-`, `_`, `.`) that mark a production vault.
    pub production_names: Vec<String>,
    /// Name parts that mark a non-production vault (checked first).
    pub non_production_names: Vec<String>,
    /// Identities (object id, app id or UPN) that audit: reading a secret value is a
    /// role violation for them.
    pub auditors: Vec<String>,
    /// Also check role separation on non-production vaults (off: a team changing and
    /// reading its own test vault is ordinary work).
    pub role_mixing_non_production: bool,
}

impl Default for PracticePolicy {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect();
        PracticePolicy {
            consumer_min_days: 2,
            brokers: Vec::new(),
            broker_share: 0.8,
            broker_min_secrets: 5,
            environments: BTreeMap::new(),
            production_names: words(&["prod", "prd", "production", "live", "p"]),
            non_production_names: words(&[
                "dev",
                "develop",
                "development",
                "test",
                "tst",
                "qa",
                "uat",
                "stg",
                "stage",
                "staging",
                "sandbox",
                "sbx",
                "nonprod",
                "np",
                "preprod",
                "pre",
                "demo",
                "lab",
                "int",
                "ci",
            ]),
            auditors: Vec::new(),
            role_mixing_non_production: false,
        }
    }
}

impl PracticePolicy {
    pub fn validate(&self) -> Result<(), String> {
        if self.consumer_min_days == 0 {
            return Err("consumer_min_days must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.broker_share) || self.broker_share == 0.0 {
            return Err("broker_share must be above 0 and at most 1".into());
        }
        Ok(())
    }

    /// The environment of `vault`: the explicit map, else its name parts.
    pub fn environment(&self, vault: &str) -> Environment {
        environment::of(self, vault)
    }
}

/// A workload's successful reads of one secret in the window.
#[derive(Debug, Clone)]
pub(crate) struct Use<'a> {
    pub reads: Vec<&'a Access>,
    pub days: BTreeSet<i64>,
}

impl<'a> Use<'a> {
    pub fn calls(&self) -> i64 {
        self.reads.iter().map(|r| r.calls).sum()
    }
    pub fn first(&self) -> i64 {
        self.reads.iter().map(|r| r.first).min().unwrap_or_default()
    }
    pub fn last(&self) -> i64 {
        self.reads.iter().map(|r| r.last).max().unwrap_or_default()
    }
    pub fn who(&self) -> &'a Access {
        self.reads.iter().max_by_key(|r| r.last).copied().expect("a use has reads")
    }
}

/// Per secret (vault, name): each consumer's use in `[since, as_of)`, brokers left out.
pub(crate) fn consumers<'c>(
    catalog: &'c Catalog,
    policy: &PracticePolicy,
    since: i64,
) -> BTreeMap<(String, String), BTreeMap<String, Use<'c>>> {
    let brokers = brokers(catalog, policy, since);
    let mut out: BTreeMap<(String, String), BTreeMap<String, Use<'c>>> = BTreeMap::new();
    for facts in catalog.objects.values().filter(|f| f.object_type == "secret" && f.exists()) {
        let mut uses: BTreeMap<String, Use<'c>> = BTreeMap::new();
        for read in facts.reads.iter().filter(|r| r.last >= since && r.is_workload()) {
            if brokers.contains(&(facts.vault.clone(), read.identity())) || is_listed(&policy.brokers, read) {
                continue;
            }
            let u = uses.entry(read.identity()).or_insert_with(|| Use { reads: Vec::new(), days: BTreeSet::new() });
            u.reads.push(read);
            u.days.insert(read.first / DAY_US);
        }
        uses.retain(|_, u| u.days.len() >= policy.consumer_min_days as usize);
        if !uses.is_empty() {
            out.insert((facts.vault.clone(), facts.name.clone()), uses);
        }
    }
    out
}

const DAY_US: i64 = 86_400_000_000;

/// Whether `access`'s caller is on `list` (object id, app id or UPN, any case).
pub(crate) fn is_listed(list: &[String], access: &Access) -> bool {
    [&access.identity_oid, &access.identity_appid, &access.identity_upn]
        .into_iter()
        .flatten()
        .any(|id| list.iter().any(|l| l.eq_ignore_ascii_case(id)))
}

/// (vault, identity) pairs of workloads that read nearly every secret of the vault.
fn brokers(catalog: &Catalog, policy: &PracticePolicy, since: i64) -> BTreeSet<(String, String)> {
    let mut secrets: BTreeMap<&str, usize> = BTreeMap::new();
    let mut read: BTreeMap<(&str, String), BTreeSet<&str>> = BTreeMap::new();
    for facts in catalog.objects.values().filter(|f| f.object_type == "secret" && f.exists()) {
        *secrets.entry(&facts.vault).or_default() += 1;
        for r in facts.reads.iter().filter(|r| r.last >= since && r.is_workload()) {
            read.entry((&facts.vault, r.identity())).or_default().insert(&facts.name);
        }
    }
    read.into_iter()
        .filter(|((vault, _), names)| {
            let total = secrets.get(vault).copied().unwrap_or(0);
            names.len() >= policy.broker_min_secrets && names.len() as f64 >= policy.broker_share * total as f64
        })
        .map(|((vault, who), _)| (vault.to_owned(), who))
        .collect()
}

/// The practice kinds.
pub const KINDS: [AlertKind; 3] = [AlertKind::SharedSecret, AlertKind::EnvironmentCrossover, AlertKind::RoleMixing];

/// Every practice finding over the `history_days` before the catalog's time.
pub fn find(catalog: &Catalog, policy: &PracticePolicy, history_days: u32) -> Vec<Alert> {
    let since = catalog.as_of - i64::from(history_days) * DAY_US;
    let uses = consumers(catalog, policy, since);
    let mut out = Vec::new();
    shared::find(catalog, &uses, since, &mut out);
    crossover::find(policy, &uses, &mut out);
    roles::find(catalog, policy, since, &mut out);
    out.into_iter().map(Finding::into_alert).collect()
}
