//! Scoring the detector against a truth file: recall and precision per alert kind, false
//! alarms per 1,000 identity-days, and the same for Microsoft Sentinel's published Key
//! Vault rules run as SQL over the same lake.
//!
//! An alert matches a planted incident when the kind is the same, the vault is the same
//! (or either spans vaults), the identity is the same (object id, else app id) when
//! the incident names one, and the windows overlap within an hour. Every alert of an
//! unusual-access kind that matches no incident is a false alarm, whatever its kind.

pub mod sentinel;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::alert::{Alert, AlertKind};
use crate::detect::{DetectError, DetectOptions, detect};
use crate::generate::Incident;
use crate::lake::LakePaths;

/// How far apart an alert's and an incident's windows may be and still match.
pub const MATCH_SLACK: Duration = Duration::hours(1);

/// One kind's result.
#[derive(Debug, Clone, Serialize)]
pub struct KindScore {
    pub kind: AlertKind,
    /// Planted incidents of this kind.
    pub incidents: usize,
    /// Of them, found by at least one alert.
    pub found: usize,
    /// Alerts of this kind.
    pub alerts: usize,
    /// Of them, matching an incident.
    pub true_alerts: usize,
}

impl KindScore {
    pub fn recall(&self) -> Option<f64> {
        (self.incidents > 0).then(|| self.found as f64 / self.incidents as f64)
    }

    pub fn precision(&self) -> Option<f64> {
        (self.alerts > 0).then(|| self.true_alerts as f64 / self.alerts as f64)
    }
}

/// A detector's result over one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    pub detector: String,
    pub kinds: Vec<KindScore>,
    pub alerts: usize,
    pub true_alerts: usize,
    /// Active identities times days in the detection period.
    pub identity_days: u64,
    /// The alerts that matched nothing.
    pub false_alarms: Vec<Alert>,
    /// The incidents no alert found.
    pub missed: Vec<Incident>,
}

impl Scorecard {
    pub fn precision(&self) -> Option<f64> {
        (self.alerts > 0).then(|| self.true_alerts as f64 / self.alerts as f64)
    }

    pub fn false_alarms_per_1000_identity_days(&self) -> f64 {
        if self.identity_days == 0 { 0.0 } else { self.false_alarms.len() as f64 * 1000.0 / self.identity_days as f64 }
    }
}

fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc))
}

/// Whether `alert` reports `incident`.
pub fn matches(alert: &Alert, incident: &Incident) -> bool {
    if alert.kind.as_str() != incident.kind {
        return false;
    }
    if incident.vault.is_some() && alert.vault.is_some() && alert.vault != incident.vault {
        return false;
    }
    let who = |oid: &Option<String>, appid: &Option<String>| oid.clone().or_else(|| appid.clone());
    if let Some(want) = who(&incident.identity_oid, &incident.identity_appid)
        && who(&alert.identity_oid, &alert.identity_appid).is_some_and(|have| have != want)
    {
        return false;
    }
    let (Some(start), Some(end)) = (parse(&incident.window_start), parse(&incident.window_end)) else {
        return false;
    };
    alert.window_start <= end + MATCH_SLACK && start <= alert.window_end + MATCH_SLACK
}

/// Whether `incident` is expected from detection over `period`: an unusual-access incident
/// when it ends inside it (one before detection started is not expected); a lifecycle
/// or practice finding (a state, not an event) when it holds at some time in it.
fn expected_in(incident: &Incident, period: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    let (Some(start), Some(end)) = (parse(&incident.window_start), parse(&incident.window_end)) else { return false };
    let unusual = AlertKind::parse(&incident.kind).is_some_and(crate::detect::is_unusual_access);
    if unusual { end > period.0 && end <= period.1 + MATCH_SLACK } else { end > period.0 && start < period.1 }
}

/// Scores `alerts` of `kinds` against the incidents of those kinds in `truth`, for
/// incidents whose window ends inside `[from, to)` (those before detection started are
/// not expected).
pub fn score(
    detector: &str,
    alerts: &[Alert],
    truth: &[Incident],
    kinds: &[AlertKind],
    period: (DateTime<Utc>, DateTime<Utc>),
    identity_days: u64,
) -> Scorecard {
    let incidents: Vec<&Incident> = truth
        .iter()
        .filter(|i| kinds.iter().any(|k| k.as_str() == i.kind))
        .filter(|i| expected_in(i, period))
        .collect();
    let alerts: Vec<&Alert> = alerts.iter().filter(|a| kinds.contains(&a.kind)).collect();
    let mut per_kind: BTreeMap<AlertKind, KindScore> = kinds
        .iter()
        .map(|&kind| (kind, KindScore { kind, incidents: 0, found: 0, alerts: 0, true_alerts: 0 }))
        .collect();
    let mut missed = Vec::new();
    for incident in &incidents {
        let Some(kind) = AlertKind::parse(&incident.kind) else { continue };
        let entry = per_kind.get_mut(&kind).expect("kinds were filtered");
        entry.incidents += 1;
        if alerts.iter().any(|a| matches(a, incident)) {
            entry.found += 1;
        } else {
            missed.push((*incident).clone());
        }
    }
    let mut false_alarms = Vec::new();
    let mut true_alerts = 0;
    for alert in &alerts {
        let entry = per_kind.get_mut(&alert.kind).expect("kinds were filtered");
        entry.alerts += 1;
        if incidents.iter().any(|i| matches(alert, i)) {
            entry.true_alerts += 1;
            true_alerts += 1;
        } else {
            false_alarms.push((*alert).clone());
        }
    }
    Scorecard {
        detector: detector.to_owned(),
        kinds: per_kind.into_values().collect(),
        alerts: alerts.len(),
        true_alerts,
        identity_days,
        false_alarms,
        missed,
    }
}

/// Runs detection one day at a time over `[first, end)`, as a service would, and returns
/// every alert raised (each once, as finally stored).
pub async fn detect_daily(
    lake: &LakePaths,
    first: DateTime<Utc>,
    end: DateTime<Utc>,
    settings: &DetectOptions,
) -> Result<Vec<Alert>, DetectError> {
    let mut by_id: BTreeMap<String, Alert> = BTreeMap::new();
    let mut from = first;
    while from < end {
        let to = (from + Duration::days(1)).min(end);
        let options = DetectOptions { from: Some(from), to: Some(to), ..settings.clone() };
        for alert in detect(lake, &options).await?.alerts {
            by_id.insert(alert.id.clone(), alert);
        }
        from = to;
    }
    Ok(by_id.into_values().collect())
}

/// Distinct (identity, day) pairs with caller activity in `[from, to)`: the denominator of
/// false alarms per 1,000 identity-days.
pub async fn identity_days(lake: &LakePaths, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<u64, DetectError> {
    let session = crate::query::QuerySession::open(&crate::query::SessionOptions::new(lake.clone())).await?;
    crate::detect::relations::bind_scope(&session, from, to, Some(&crate::detect::Policy::default().allow_rules()))
        .await?;
    let sql = "SELECT count(*) AS n FROM (SELECT DISTINCT identity, date_trunc('day', time) FROM scope \
               WHERE identity_oid IS NOT NULL OR identity_appid IS NOT NULL)";
    let batches = session.context().sql(sql).await?.collect().await?;
    let n = batches
        .first()
        .map(|b| crate::detect::columns::integers(b, "n"))
        .transpose()?
        .and_then(|v| v.first().copied().flatten())
        .unwrap_or(0);
    Ok(n.max(0) as u64)
}
