//! `kvaudit secret-status VAULT/SECRET`: the verdict, the exact last successful read,
//! every reader in the window, the versions read, failed attempts, expiry and age, the
//! lifecycle findings that hold, and a one-line recommendation.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::StatusError;
use crate::detect::lifecycle::catalog::{Access, Catalog, Facts, time};
use crate::detect::lifecycle::{LifecyclePolicy, find};
use crate::lake::LakePaths;

/// Is it used?
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Read successfully in the window.
    InUse,
    /// Read before the window, not in it.
    Idle {
        #[serde(with = "crate::alert::rfc3339")]
        since: DateTime<Utc>,
    },
    /// Never read in all the days the logs cover.
    NeverRead { observed_days: u32 },
    /// Deleted (and not recovered).
    Deleted {
        #[serde(with = "crate::alert::rfc3339")]
        at: DateTime<Utc>,
    },
}

impl Verdict {
    pub fn text(&self) -> String {
        match self {
            Verdict::InUse => "in use".to_owned(),
            Verdict::Idle { since } => format!("idle since {}", since.format("%Y-%m-%d")),
            Verdict::NeverRead { observed_days } => format!("never read in the observed {observed_days} days"),
            Verdict::Deleted { at } => format!("deleted at {}", at.format("%Y-%m-%d %H:%M UTC")),
        }
    }
}

/// One successful read, exactly.
#[derive(Debug, Clone, Serialize)]
pub struct Read {
    #[serde(with = "crate::alert::rfc3339")]
    pub time: DateTime<Utc>,
    pub identity_oid: Option<String>,
    pub identity_appid: Option<String>,
    pub identity_upn: Option<String>,
    pub identity_type: Option<String>,
    pub caller_ip: Option<String>,
    pub version: Option<String>,
    pub client_info: Option<String>,
}

/// One identity's reads in the window.
#[derive(Debug, Clone, Serialize)]
pub struct Reader {
    pub identity: String,
    pub identity_oid: Option<String>,
    pub identity_appid: Option<String>,
    pub identity_upn: Option<String>,
    pub identity_type: Option<String>,
    /// A service principal or managed identity (not a person).
    pub workload: bool,
    pub reads: i64,
    pub failed: i64,
    #[serde(with = "crate::alert::rfc3339::option")]
    pub last_read: Option<DateTime<Utc>>,
    /// The version its last successful read returned.
    pub last_version: Option<String>,
    pub versions: BTreeSet<String>,
    pub addresses: BTreeSet<String>,
    pub clients: BTreeSet<String>,
}

/// One version's reads in the window.
#[derive(Debug, Clone, Serialize)]
pub struct VersionUse {
    pub version: String,
    pub reads: i64,
    pub readers: usize,
    #[serde(with = "crate::alert::rfc3339::option")]
    pub last_read: Option<DateTime<Utc>>,
    /// When it was set, if the logs hold it.
    #[serde(with = "crate::alert::rfc3339::option")]
    pub set_at: Option<DateTime<Utc>>,
    pub current: bool,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct SecretStatus {
    pub vault: String,
    pub secret: String,
    pub object_type: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub verdict_text: String,
    pub recommendation: String,
    #[serde(with = "crate::alert::rfc3339")]
    pub as_of: DateTime<Utc>,
    pub window_days: u32,
    /// Days the logs cover this vault.
    pub observed_days: u32,
    pub last_read: Option<Read>,
    pub readers: Vec<Reader>,
    pub versions: Vec<VersionUse>,
    pub failed_attempts: i64,
    pub in_inventory: bool,
    pub enabled: Option<bool>,
    #[serde(with = "crate::alert::rfc3339::option")]
    pub expires: Option<DateTime<Utc>>,
    #[serde(with = "crate::alert::rfc3339::option")]
    pub current_version_set: Option<DateTime<Utc>>,
    pub age_days: Option<u32>,
    pub content_type: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Lifecycle findings that hold as of `as_of` (kind and explanation).
    pub findings: Vec<(String, String)>,
}

/// Splits `VAULT/SECRET` (also accepting a secret URL).
pub fn parse_path(text: &str) -> Option<(String, String)> {
    if let Some(id) = crate::inventory::parse::ObjectId::parse(text).filter(|_| text.contains("://")) {
        return Some((id.vault, id.name));
    }
    let (vault, name) = text.trim_matches('/').split_once('/')?;
    (!vault.is_empty() && !name.is_empty() && !name.contains('/'))
        .then(|| (vault.to_ascii_lowercase(), name.to_ascii_lowercase()))
}

/// The status of `vault/name` over the `days` before `as_of`.
pub async fn status(
    lake: &LakePaths,
    (vault, name): (&str, &str),
    days: u32,
    as_of: DateTime<Utc>,
    policy: &LifecyclePolicy,
) -> Result<SecretStatus, StatusError> {
    let catalog = super::load_catalog(lake, as_of, Some((vault, name))).await?;
    // A secret first; a key or certificate of that name when no secret has it.
    let facts = ["secret", "key", "certificate"]
        .iter()
        .find_map(|t| catalog.objects.get(&(vault.to_owned(), (*t).to_owned(), name.to_owned())))
        .ok_or_else(|| StatusError::Unknown(format!("{vault}/{name}")))?;
    Ok(build(&catalog, facts, days, policy))
}

fn read_of(a: &Access) -> Read {
    Read {
        time: time(a.last),
        identity_oid: a.identity_oid.clone(),
        identity_appid: a.identity_appid.clone(),
        identity_upn: a.identity_upn.clone(),
        identity_type: a.identity_type.clone(),
        caller_ip: a.caller_ip.clone(),
        version: a.object_version.clone(),
        client_info: a.client_info.clone(),
    }
}

/// Builds the status of one object of the catalog.
pub fn build(catalog: &Catalog, facts: &Facts, days: u32, policy: &LifecyclePolicy) -> SecretStatus {
    let as_of = time(catalog.as_of);
    let window_start = (as_of - Duration::days(i64::from(days))).timestamp_micros();
    let observed_days = catalog.coverage_days(&facts.vault).floor().max(0.0) as u32;
    let last = facts.last_read();
    let verdict = match (facts.deleted_at, last) {
        (Some(at), _) => Verdict::Deleted { at: time(at) },
        (None, Some(r)) if r.last >= window_start => Verdict::InUse,
        (None, Some(r)) => Verdict::Idle { since: time(r.last) },
        (None, None) => Verdict::NeverRead { observed_days },
    };

    let in_window = |a: &&Access| a.last >= window_start;
    let readers = readers(facts, window_start);

    let current = facts.current_version_at(catalog.as_of).map(str::to_owned);
    let mut versions: BTreeMap<String, (i64, BTreeSet<String>, Option<i64>)> = BTreeMap::new();
    for a in facts.reads.iter().filter(in_window) {
        let v = versions.entry(a.object_version.clone().unwrap_or_else(|| "(not logged)".to_owned())).or_default();
        v.0 += a.calls;
        v.1.insert(a.identity());
        v.2 = v.2.max(Some(a.last));
    }
    let mut versions: Vec<VersionUse> = versions
        .into_iter()
        .map(|(version, (reads, who, last))| VersionUse {
            set_at: facts.sets.iter().find(|(_, v)| v.as_deref() == Some(version.as_str())).map(|(t, _)| time(*t)),
            current: current.as_deref() == Some(version.as_str()),
            version,
            reads,
            readers: who.len(),
            last_read: last.map(time),
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.last_read));

    let item = facts.inventory.as_ref();
    let set_at = facts.current_set_at(catalog.as_of);
    let findings: Vec<(String, String)> = find_for(catalog, facts, policy);
    let failed_attempts = facts.failed_reads.iter().filter(in_window).map(|a| a.calls).sum();
    let recommendation =
        recommend(&verdict, &readers, failed_attempts, observed_days, policy.stale_days_of(&facts.vault), days);
    SecretStatus {
        vault: facts.vault.clone(),
        secret: facts.name.clone(),
        object_type: facts.object_type.clone(),
        verdict_text: verdict.text(),
        verdict,
        recommendation,
        as_of,
        window_days: days,
        observed_days,
        last_read: last.map(read_of),
        readers,
        versions,
        failed_attempts,
        in_inventory: item.is_some(),
        enabled: item.and_then(|i| i.enabled),
        expires: item.and_then(|i| i.expires),
        current_version_set: set_at.map(time),
        age_days: set_at.map(|s| ((catalog.as_of - s) / 86_400_000_000).max(0) as u32),
        content_type: item.and_then(|i| i.content_type.clone()),
        tags: item.map(|i| i.tags.clone()).unwrap_or_default(),
        findings,
    }
}

/// Everyone who read `facts` (or tried) since `since`, busiest first.
pub fn readers(facts: &Facts, since: i64) -> Vec<Reader> {
    let mut readers: BTreeMap<String, Reader> = BTreeMap::new();
    let in_window = |a: &&Access| a.last >= since;
    let reads = facts.reads.iter().filter(in_window).map(|a| (a, true));
    for (a, ok) in reads.chain(facts.failed_reads.iter().filter(in_window).map(|a| (a, false))) {
        let r = readers.entry(a.identity()).or_insert_with(|| Reader {
            identity: a.identity(),
            identity_oid: a.identity_oid.clone(),
            identity_appid: a.identity_appid.clone(),
            identity_upn: a.identity_upn.clone(),
            identity_type: a.identity_type.clone(),
            workload: a.is_workload(),
            reads: 0,
            failed: 0,
            last_read: None,
            last_version: None,
            versions: BTreeSet::new(),
            addresses: BTreeSet::new(),
            clients: BTreeSet::new(),
        });
        if ok {
            r.reads += a.calls;
            if r.last_read < Some(time(a.last)) {
                r.last_read = Some(time(a.last));
                r.last_version = a.object_version.clone();
            }
            r.versions.extend(a.object_version.clone());
        } else {
            r.failed += a.calls;
        }
        r.addresses.extend(a.caller_ip.clone());
        r.clients.extend(a.client_info.clone());
    }
    let mut readers: Vec<Reader> = readers.into_values().collect();
    readers.sort_by_key(|r| std::cmp::Reverse((r.reads, r.last_read)));
    readers
}

/// The lifecycle findings about this one object.
fn find_for(catalog: &Catalog, facts: &Facts, policy: &LifecyclePolicy) -> Vec<(String, String)> {
    find(&catalog.only(facts), policy).into_iter().map(|a| (a.kind.as_str().to_owned(), a.explanation)).collect()
}

fn recommend(
    verdict: &Verdict,
    readers: &[Reader],
    failed: i64,
    observed: u32,
    stale_days: u32,
    window: u32,
) -> String {
    let names: Vec<String> = readers
        .iter()
        .filter(|r| r.reads > 0)
        .map(|r| r.identity_upn.clone().or_else(|| r.identity_appid.clone()).unwrap_or_else(|| r.identity.clone()))
        .collect();
    let short = if observed < stale_days {
        format!(" (the logs cover only {observed} days: a consumer reading less often than that would not show)")
    } else {
        String::new()
    };
    let tries = if failed > 0 {
        format!("; {failed} failed attempts in the last {window} days: something still tries to read it")
    } else {
        String::new()
    };
    match verdict {
        Verdict::InUse => {
            let more = if names.len() > 3 { format!(" and {} more", names.len() - 3) } else { String::new() };
            format!(
                "still needed by {}{more}: do not retire it",
                names.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            )
        }
        Verdict::Idle { since } => {
            format!(
                "no successful read since {}: safe to retire once its owner confirms{tries}{short}",
                since.format("%Y-%m-%d")
            )
        }
        Verdict::NeverRead { .. } => format!("never read: safe to retire{tries}{short}"),
        Verdict::Deleted { .. } => format!("already deleted{tries}"),
    }
}
