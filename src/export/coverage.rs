//! How completely the lake covers an export's period, with every gap named.
//!
//! Three views, because each misses what another sees:
//! - **Hours without events**: the hours of `[from, to)` in which the lake holds no event
//!   of the scope's vault (or of any vault, unscoped), whatever the identity; consecutive
//!   empty hours are merged into one range. A busy vault is never silent for an hour, so a
//!   range here is data lost, not yet ingested, or a vault that was really idle.
//! - **Missing date partitions**: dates of the period with no `events/date=…` files.
//! - **Ingest state**: sources whose checkpoint stopped short of their length (a trailing
//!   partial record waits for the next run), commits written but not yet applied, and, for
//!   sources in the archive layout (`…/VAULTS/<NAME>/y=/m=/d=/h=/…`), the hours of the
//!   period for which no hourly blob was read at all.
//!
//! This module only reads the lake.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::manifest::time_text;
use super::scope::ExportScope;
use crate::lake::LakePaths;
use crate::lake::checkpoint::Checkpoints;

/// A range of the period with nothing in it, `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub from: String,
    pub to: String,
    pub hours: u64,
}

/// A source read only partly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncompleteSource {
    pub source: String,
    pub offset: u64,
    pub length: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IngestState {
    /// Sources the lake has checkpoints for.
    pub sources: usize,
    pub incomplete_sources: Vec<IncompleteSource>,
    /// Commit files not yet applied (a crashed ingest; the next ingest finishes them).
    pub pending_commits: usize,
    /// Archive-layout sources of the scope's vaults whose hour falls in the period.
    pub archive_blobs_in_period: usize,
    /// Hours of the period with no archive blob read, merged; empty when the lake has no
    /// archive-layout sources (files ingested from elsewhere say nothing about hours).
    pub hours_without_source_blob: Vec<Gap>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Coverage {
    /// What a gap means, in words.
    pub basis: String,
    pub period_hours: u64,
    pub hours_with_events: u64,
    pub gaps: Vec<Gap>,
    pub missing_partitions: Vec<String>,
    pub ingest: IngestState,
}

/// The start of the hour holding `t`.
fn floor_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_minute(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_nanosecond(0)).unwrap_or(t)
}

/// The hours of `[from, to)`, as hour starts.
fn period_hours(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut hours = Vec::new();
    let mut h = floor_hour(from);
    while h < to {
        hours.push(h);
        h += Duration::hours(1);
    }
    hours
}

/// The hours of `[from, to)` not in `present` (hour starts), merged into ranges clipped
/// to the period.
pub fn gaps(from: DateTime<Utc>, to: DateTime<Utc>, present: &BTreeSet<DateTime<Utc>>) -> Vec<Gap> {
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>, u64)> = Vec::new();
    for h in period_hours(from, to) {
        if present.contains(&h) {
            continue;
        }
        let (start, end) = (h.max(from), (h + Duration::hours(1)).min(to));
        match out.last_mut() {
            Some(last) if last.1 == start => {
                last.1 = end;
                last.2 += 1;
            }
            _ => out.push((start, end, 1)),
        }
    }
    out.into_iter().map(|(f, t, hours)| Gap { from: time_text(f), to: time_text(t), hours }).collect()
}

/// The vault (lower-case) and hour of an archive-layout source key, if it is one:
/// `…/VAULTS/<NAME>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`.
pub fn archive_hour(key: &str) -> Option<(String, DateTime<Utc>)> {
    let upper = key.to_ascii_uppercase();
    let at = upper.find("/VAULTS/")? + "/VAULTS/".len();
    let mut parts = key[at..].split('/');
    let vault = parts.next()?.to_lowercase();
    let mut field = |prefix: &str| -> Option<u32> { parts.next()?.strip_prefix(prefix)?.parse().ok() };
    let (y, mo, d, h) = (field("y=")?, field("m=")?, field("d=")?, field("h=")?);
    let t = Utc.with_ymd_and_hms(i32::try_from(y).ok()?, mo, d, h, 0, 0).single()?;
    Some((vault, t))
}

/// Dates of the scope whose partition has no Parquet file.
fn missing_partitions(lake: &LakePaths, dates: &[NaiveDate]) -> Vec<String> {
    dates
        .iter()
        // The files readers see: a compaction's files hidden by the partition manifest
        // do not count.
        .filter(|d| crate::lake::manifest::visible_files(lake, **d).map_or(true, |f| f.is_empty()))
        .map(|d| d.to_string())
        .collect()
}

/// The coverage of `scope`'s period, given the hours that hold events
/// (`queries/export/coverage_hours.sql`).
pub fn measure(
    lake: &LakePaths,
    scope: &ExportScope,
    hours_with_events: &BTreeSet<DateTime<Utc>>,
) -> Result<Coverage, crate::lake::LakeError> {
    let checkpoints = Checkpoints::load(lake)?;
    let incomplete_sources = checkpoints
        .sources
        .iter()
        .filter(|(_, c)| c.offset < c.length)
        .map(|(s, c)| IncompleteSource { source: s.clone(), offset: c.offset, length: c.length })
        .collect();
    let pending_commits = std::fs::read_dir(lake.commits_dir())
        .map(|d| d.filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))).count())
        .unwrap_or(0);

    let archive: Vec<(String, DateTime<Utc>)> = checkpoints.sources.keys().filter_map(|k| archive_hour(k)).collect();
    let in_scope: BTreeSet<DateTime<Utc>> = archive
        .iter()
        .filter(|(v, _)| scope.vault.as_ref().is_none_or(|s| s == v))
        .map(|(_, h)| *h)
        .filter(|h| *h >= floor_hour(scope.from) && *h < scope.to)
        .collect();
    let hours_without_source_blob = if archive.is_empty() { Vec::new() } else { gaps(scope.from, scope.to, &in_scope) };

    let period = period_hours(scope.from, scope.to);
    let basis = match &scope.vault {
        Some(v) => format!("hours of the period in which the lake holds no event of vault {v} (any identity)"),
        None => "hours of the period in which the lake holds no event of any vault".to_owned(),
    };
    Ok(Coverage {
        basis,
        period_hours: period.len() as u64,
        hours_with_events: period.iter().filter(|h| hours_with_events.contains(h)).count() as u64,
        gaps: gaps(scope.from, scope.to, hours_with_events),
        missing_partitions: missing_partitions(lake, &scope.dates()),
        ingest: IngestState {
            sources: checkpoints.sources.len(),
            incomplete_sources,
            pending_commits,
            archive_blobs_in_period: in_scope.len(),
            hours_without_source_blob,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn empty_hours_merge_into_ranges_clipped_to_the_period() {
        // Period 00:30 → 06:00; events in hours 00, 03 and 05.
        let present: BTreeSet<_> =
            ["2026-10-01T00:00:00Z", "2026-10-01T03:00:00Z", "2026-10-01T05:00:00Z"].iter().map(|s| t(s)).collect();
        let got = gaps(t("2026-10-01T00:30:00Z"), t("2026-10-01T06:00:00Z"), &present);
        let got: Vec<(&str, &str, u64)> = got.iter().map(|g| (&g.from[11..16], &g.to[11..16], g.hours)).collect();
        assert_eq!(got, [("01:00", "03:00", 2), ("04:00", "05:00", 1)]);
        // Nothing at all: one range, the whole period, even when it does not start on the hour.
        let all = gaps(t("2026-10-01T00:30:00Z"), t("2026-10-02T00:00:00Z"), &BTreeSet::new());
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].from.as_str(), all[0].to.as_str()),
            ("2026-10-01T00:30:00.000000Z", "2026-10-02T00:00:00.000000Z")
        );
        assert_eq!(all[0].hours, 24);
        // Everything present: no gap.
        let full: BTreeSet<_> =
            period_hours(t("2026-10-01T00:00:00Z"), t("2026-10-01T03:00:00Z")).into_iter().collect();
        assert!(gaps(t("2026-10-01T00:00:00Z"), t("2026-10-01T03:00:00Z"), &full).is_empty());
    }

    #[test]
    fn archive_keys_name_their_vault_and_hour() {
        let key = "/data/insights-logs-auditevent/resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV-WEB/y=2026/m=10/d=02/h=07/m=00/PT1H.json";
        assert_eq!(archive_hour(key), Some(("kv-web".to_owned(), t("2026-10-02T07:00:00Z"))));
        assert_eq!(archive_hour("/tmp/extra.jsonl"), None);
    }
}
