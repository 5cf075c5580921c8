//! Secret lifecycle findings, as of the end of a detection run: secrets nobody reads,
//! secrets read past their expiry or about to expire while still read, versions too old,
//! secrets without an expiry, and consumers still reading a version a rotation replaced.
//!
//! Every finding comes from the [`catalog::Catalog`] (the access index plus the newest
//! inventory) and the [`LifecyclePolicy`]. Findings never claim more than the logs show:
//! `stale_secret` needs the logs to cover the whole stale period of the vault; shorter
//! coverage is reported by `secrets` and `secret-status` as "never read in the observed
//! N days", not as an alert.
//!
//! Windows start at a time that does not move while the finding holds (the last read, the
//! expiry, the first late read), so a daily run raises the same alert again, under the
//! same id, with its window grown.

pub mod catalog;
mod expiry;
pub mod summary;
mod usage;
mod versions;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertKind, Severity};
use catalog::{Access, Catalog, Facts, time};

/// Thresholds of the lifecycle findings (`[lifecycle]` in `kvaudit.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecyclePolicy {
    /// Days without a successful read after which a secret is stale (AWS Config's
    /// `secretsmanager-secret-unused` uses 90).
    pub stale_days: u32,
    /// Per-vault overrides of `stale_days` (a vault of yearly-read break-glass secrets).
    pub stale_days_by_vault: BTreeMap<String, u32>,
    /// How far ahead an expiry counts as near.
    pub near_expiry_days: u32,
    /// A read within this many days makes a secret "still read".
    pub in_use_days: u32,
    /// Maximum age of a secret's current version.
    pub max_age_days: u32,
    /// Days after a rotation during which reading the previous version is expected.
    pub old_version_grace_days: u32,
}

impl Default for LifecyclePolicy {
    fn default() -> Self {
        LifecyclePolicy {
            stale_days: 90,
            stale_days_by_vault: BTreeMap::new(),
            near_expiry_days: 30,
            in_use_days: 30,
            max_age_days: 365,
            old_version_grace_days: 7,
        }
    }
}

impl LifecyclePolicy {
    /// Checks the thresholds make sense; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("stale_days", self.stale_days),
            ("near_expiry_days", self.near_expiry_days),
            ("in_use_days", self.in_use_days),
            ("max_age_days", self.max_age_days),
        ];
        for (name, value) in
            positive.into_iter().chain(self.stale_days_by_vault.values().map(|d| ("stale_days_by_vault", *d)))
        {
            if value == 0 {
                return Err(format!("{name} must be at least 1 day"));
            }
        }
        Ok(())
    }

    /// The stale threshold of `vault`.
    pub fn stale_days_of(&self, vault: &str) -> u32 {
        self.stale_days_by_vault
            .iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(vault))
            .map_or(self.stale_days, |(_, d)| *d)
    }
}

const DAY_US: i64 = 86_400_000_000;

fn days(n: u32) -> i64 {
    i64::from(n) * DAY_US
}

/// "2026-10-23 14:05 UTC".
fn when(us: i64) -> String {
    time(us).format("%Y-%m-%d %H:%M UTC").to_string()
}

fn date(us: i64) -> String {
    time(us).format("%Y-%m-%d").to_string()
}

/// The parts of a lifecycle alert; the rest is filled in by [`Finding::into_alert`].
struct Finding<'a> {
    kind: AlertKind,
    severity: Severity,
    facts: &'a Facts,
    /// The reader it is about, for findings about one consumer.
    reader: Option<&'a Access>,
    window: (i64, i64),
    observed: serde_json::Value,
    baseline: serde_json::Value,
    score: (&'static str, f64),
    explanation: String,
    evidence: Vec<&'a Access>,
}

impl Finding<'_> {
    fn into_alert(self) -> Alert {
        let (vault, name) = (&self.facts.vault, &self.facts.name);
        crate::detect::finding::Finding {
            kind: self.kind,
            severity: self.severity,
            vault: vault.clone(),
            object_name: Some(name.clone()),
            who: self.reader,
            window: self.window,
            observed: self.observed,
            baseline: self.baseline,
            score: self.score,
            explanation: self.explanation,
            evidence: self.evidence.iter().map(|a| a.evidence(vault, name)).collect(),
        }
        .into_alert()
    }
}

/// Every lifecycle finding of the catalog, as of its time.
pub fn find(catalog: &Catalog, policy: &LifecyclePolicy) -> Vec<Alert> {
    let mut out = Vec::new();
    for facts in catalog.objects.values() {
        if facts.deleted_at.is_some() || !facts.exists() {
            continue; // a deleted secret has no lifecycle left to check
        }
        let mut found = Vec::new();
        usage::stale(catalog, policy, facts, &mut found);
        expiry::findings(catalog, policy, facts, &mut found);
        versions::findings(catalog, policy, facts, &mut found);
        out.extend(found.into_iter().map(Finding::into_alert));
    }
    out
}

/// The lifecycle kinds, in DESIGN.md's order.
pub const KINDS: [AlertKind; 6] = AlertKind::LIFECYCLE;
