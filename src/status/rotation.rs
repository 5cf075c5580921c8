//! Rotation readiness: `rotation-plan` (every consumer that must pick up a new version,
//! and who missed the last rotation) and `rotation-check` (after a rotation at or after
//! `--since`, who moved to the new version and who still reads an old one).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::StatusError;
use super::secret::{Reader, readers};
use crate::detect::lifecycle::LifecyclePolicy;
use crate::detect::lifecycle::catalog::{Catalog, Facts, time};
use crate::lake::LakePaths;

/// `rotation-plan`.
#[derive(Debug, Clone, Serialize)]
pub struct RotationPlan {
    pub vault: String,
    pub secret: String,
    #[serde(with = "crate::alert::rfc3339")]
    pub as_of: DateTime<Utc>,
    pub window_days: u32,
    pub current_version: Option<String>,
    #[serde(with = "crate::alert::rfc3339::option")]
    pub current_version_set: Option<DateTime<Utc>>,
    /// Workloads reading it: each must pick up the new version.
    pub consumers: Vec<Consumer>,
    /// People who read it in the window (they are told, not reconfigured).
    pub people: Vec<Reader>,
    /// Consumers that still read a version the last rotation replaced.
    pub missed_last_rotation: Vec<String>,
}

/// One consumer and whether it follows rotations.
#[derive(Debug, Clone, Serialize)]
pub struct Consumer {
    #[serde(flatten)]
    pub reader: Reader,
    /// Its last read returned the current version.
    pub on_current_version: bool,
    /// It read a replaced version after the grace period.
    pub missed_last_rotation: bool,
}

/// Where a consumer stands after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// Its reads since its first read of the new version are all of the new version.
    Moved,
    /// It read the new version but its last read was of an old one.
    Mixed,
    /// Only old versions since the rotation.
    StillOld,
    /// It read before the rotation, not since: whether it moved is unknown.
    NotSeenSince,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    #[serde(flatten)]
    pub reader: Reader,
    pub progress: Progress,
    pub new_version_reads: i64,
    pub old_version_reads: i64,
}

/// `rotation-check`.
#[derive(Debug, Clone, Serialize)]
pub struct RotationCheck {
    pub vault: String,
    pub secret: String,
    #[serde(with = "crate::alert::rfc3339")]
    pub since: DateTime<Utc>,
    /// The version set by the rotation (the first set at or after `since`).
    pub new_version: String,
    #[serde(with = "crate::alert::rfc3339")]
    pub rotated_at: DateTime<Utc>,
    pub consumers: Vec<CheckRow>,
    pub moved: usize,
    pub pending: usize,
}

async fn facts_of(
    lake: &LakePaths,
    vault: &str,
    name: &str,
    as_of: DateTime<Utc>,
) -> Result<(Catalog, Facts), StatusError> {
    let catalog = super::load_catalog(lake, as_of, Some((vault, name))).await?;
    let facts = catalog
        .objects
        .get(&(vault.to_owned(), "secret".to_owned(), name.to_owned()))
        .cloned()
        .ok_or_else(|| StatusError::Unknown(format!("{vault}/{name}")))?;
    Ok((catalog, facts))
}

/// The plan for rotating `vault/name`: its consumers over the `days` before `as_of`.
pub async fn plan(
    lake: &LakePaths,
    (vault, name): (&str, &str),
    days: u32,
    as_of: DateTime<Utc>,
    policy: &LifecyclePolicy,
) -> Result<RotationPlan, StatusError> {
    let (catalog, facts) = facts_of(lake, vault, name, as_of).await?;
    let since = (as_of - Duration::days(i64::from(days))).timestamp_micros();
    let current = facts.current_version_at(catalog.as_of).map(str::to_owned);
    let missed: Vec<String> = crate::detect::lifecycle::find(&catalog.only(&facts), policy)
        .into_iter()
        .filter(|a| a.kind == crate::alert::AlertKind::OldVersionInUse)
        .filter_map(|a| a.identity_oid.or(a.identity_appid))
        .collect();
    let (workloads, people): (Vec<Reader>, Vec<Reader>) =
        readers(&facts, since).into_iter().filter(|r| r.reads > 0).partition(|r| r.workload);
    let consumers = workloads
        .into_iter()
        .map(|reader| Consumer {
            on_current_version: current.is_some() && reader.last_version == current,
            missed_last_rotation: missed
                .iter()
                .any(|m| Some(m) == reader.identity_oid.as_ref() || Some(m) == reader.identity_appid.as_ref()),
            reader,
        })
        .collect::<Vec<_>>();
    Ok(RotationPlan {
        vault: facts.vault.clone(),
        secret: facts.name.clone(),
        as_of,
        window_days: days,
        current_version: current,
        current_version_set: facts.current_set_at(catalog.as_of).map(time),
        missed_last_rotation: consumers
            .iter()
            .filter(|c| c.missed_last_rotation)
            .map(|c| c.reader.identity.clone())
            .collect(),
        consumers,
        people,
    })
}

/// Why a rotation cannot be checked.
pub fn no_rotation(vault: &str, name: &str, since: DateTime<Utc>) -> String {
    format!("no new version of {vault}/{name} was set at or after {}: nothing to check", since.to_rfc3339())
}

/// Who moved to the version set at or after `since`, as of `as_of`.
pub async fn check(
    lake: &LakePaths,
    (vault, name): (&str, &str),
    since: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<Option<RotationCheck>, StatusError> {
    let (_, facts) = facts_of(lake, vault, name, as_of).await?;
    let since_us = since.timestamp_micros();
    let Some((rotated, Some(new))) = facts.sets.iter().find(|(t, v)| *t >= since_us && v.is_some()).cloned() else {
        return Ok(None);
    };
    // Readers since well before the rotation: those not seen after it are listed too.
    let window_start = rotated - 30 * 86_400_000_000;
    let mut rows = Vec::new();
    for reader in readers(&facts, window_start).into_iter().filter(|r| r.reads > 0 && r.workload) {
        let mine = facts.reads.iter().filter(|a| a.identity() == reader.identity && a.last >= rotated);
        let (mut new_reads, mut old_reads) = (0, 0);
        for a in mine {
            if a.object_version.as_deref() == Some(new.as_str()) { new_reads += a.calls } else { old_reads += a.calls }
        }
        let progress = match (new_reads, old_reads) {
            (0, 0) => Progress::NotSeenSince,
            (0, _) => Progress::StillOld,
            _ if reader.last_version.as_deref() == Some(new.as_str()) => Progress::Moved,
            _ => Progress::Mixed,
        };
        rows.push(CheckRow { reader, progress, new_version_reads: new_reads, old_version_reads: old_reads });
    }
    rows.sort_by_key(|r| (r.progress != Progress::StillOld, r.progress != Progress::Mixed, r.reader.identity.clone()));
    let moved = rows.iter().filter(|r| r.progress == Progress::Moved).count();
    Ok(Some(RotationCheck {
        vault: facts.vault.clone(),
        secret: facts.name.clone(),
        since,
        new_version: new,
        rotated_at: time(rotated),
        pending: rows.len() - moved,
        consumers: rows,
        moved,
    }))
}
