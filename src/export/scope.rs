//! What an export covers: a time range `[from, to)`, optionally one vault and one identity,
//! and the file format; and the relations its SQL reads, bound for one run.
//!
//! `export_scope` is the events of the range, vault and identity; `coverage_scope` is the
//! same without the identity filter (an identity's quiet hours are not gaps in the lake).
//! Both filter on `time`, so the `events` table prunes date partitions outside the range.
//! Values reach SQL only as escaped literals built here; the exact text of both views goes
//! into the manifest.
//!
//! Invariant: `from < to`; `vault` is lower-case (the lake stores vault names lower-case).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::ExportError;
use crate::query::QuerySession;

/// The format of the event files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// The events columns, every cell quoted and neutralised for spreadsheets.
    Csv,
    /// The original records (`raw`), one per line.
    Jsonl,
    /// The events columns, as in the lake.
    Parquet,
}

impl ExportFormat {
    /// The file extension of the event files.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Parquet => "parquet",
        }
    }
}

/// The scope of one export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportScope {
    #[serde(with = "crate::alert::rfc3339")]
    pub from: DateTime<Utc>,
    #[serde(with = "crate::alert::rfc3339")]
    pub to: DateTime<Utc>,
    /// Lower-case vault name.
    pub vault: Option<String>,
    /// An object id, app id or UPN (matched case-insensitively against all three).
    pub identity: Option<String>,
    pub format: ExportFormat,
}

/// A bound of the period: a date (`2026-10-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_bound(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

impl ExportScope {
    /// A scope, checked: the period must not be empty, names must not be blank.
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        vault: Option<&str>,
        identity: Option<&str>,
        format: ExportFormat,
    ) -> Result<Self, ExportError> {
        if from >= to {
            return Err(ExportError::EmptyPeriod { from, to });
        }
        let clean = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(ExportScope { from, to, vault: clean(vault).map(|v| v.to_lowercase()), identity: clean(identity), format })
    }

    /// The date partitions the period touches, oldest first.
    pub fn dates(&self) -> Vec<NaiveDate> {
        let last = (self.to - chrono::Duration::microseconds(1)).date_naive();
        self.from.date_naive().iter_days().take_while(|d| *d <= last).collect()
    }

    /// The `WHERE` clause of `coverage_scope`: the period and the vault.
    fn coverage_predicate(&self) -> String {
        // The `date` bounds are implied by the `time` ones; spelled out, they are exact at a
        // midnight `to`, which the `events` table's derived bound keeps inclusive.
        let dates = self.dates();
        let (first, last) = (dates.first().copied().unwrap_or_default(), dates.last().copied().unwrap_or_default());
        let mut sql = format!(
            "time >= {} AND time < {} AND date >= '{first}' AND date <= '{last}'",
            timestamp_literal(self.from),
            timestamp_literal(self.to)
        );
        if let Some(vault) = &self.vault {
            sql.push_str(&format!(" AND vault = {}", quote(vault)));
        }
        sql
    }

    /// The SQL of `coverage_scope`.
    pub fn coverage_sql(&self) -> String {
        format!("SELECT * FROM events WHERE {}", self.coverage_predicate())
    }

    /// The SQL of `export_scope`.
    pub fn scope_sql(&self) -> String {
        let mut sql = self.coverage_sql();
        if let Some(identity) = &self.identity {
            let id = quote(&identity.to_lowercase());
            sql.push_str(&format!(
                " AND (lower(identity_oid) = {id} OR lower(identity_appid) = {id} OR lower(identity_upn) = {id})"
            ));
        }
        sql
    }

    /// Whether an alert's subject and window touch this scope.
    pub fn touches(&self, alert: &crate::alert::Alert) -> bool {
        let vault_ok = match (&self.vault, &alert.vault) {
            (None, _) => true,
            (Some(v), Some(a)) => a.eq_ignore_ascii_case(v),
            (Some(_), None) => false,
        };
        let identity_ok = match &self.identity {
            None => true,
            Some(id) => [&alert.identity_oid, &alert.identity_appid, &alert.identity_upn]
                .into_iter()
                .any(|a| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(id))),
        };
        // The window overlaps the period; lifecycle findings are often evaluated at one
        // instant (an empty window), which must then fall inside it.
        let time_ok = alert.window_start < self.to && (alert.window_end > self.from || alert.window_start >= self.from);
        vault_ok && identity_ok && time_ok
    }
}

/// Binds `export_scope` and `coverage_scope` in the session.
pub async fn bind(session: &QuerySession, scope: &ExportScope) -> Result<(), ExportError> {
    let ctx = session.context();
    for (name, sql) in [("export_scope", scope.scope_sql()), ("coverage_scope", scope.coverage_sql())] {
        let view = ctx.sql(&sql).await?.into_view();
        ctx.deregister_table(name)?;
        ctx.register_table(name, view)?;
    }
    Ok(())
}

/// A SQL timestamp literal for `t` (microseconds, UTC).
fn timestamp_literal(t: DateTime<Utc>) -> String {
    format!("TIMESTAMP '{}'", t.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
}

/// A SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_accept_dates_and_rfc3339_and_dates_cover_the_half_open_period() {
        let from = parse_bound("2026-10-01").unwrap();
        let to = parse_bound("2026-10-03T00:00:00+02:00").unwrap();
        assert_eq!(from.to_rfc3339(), "2026-10-01T00:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-10-02T22:00:00+00:00");
        assert!(parse_bound("01/10/2026").is_none());
        let scope = ExportScope::new(from, parse_bound("2026-10-03").unwrap(), None, None, ExportFormat::Csv).unwrap();
        let dates: Vec<String> = scope.dates().iter().map(|d| d.to_string()).collect();
        assert_eq!(dates, ["2026-10-01", "2026-10-02"]);
        assert!(ExportScope::new(from, from, None, None, ExportFormat::Csv).is_err());
    }

    #[test]
    fn names_are_quoted_as_sql_literals() {
        let from = parse_bound("2026-10-01").unwrap();
        let to = parse_bound("2026-10-02").unwrap();
        let scope = ExportScope::new(from, to, Some("KV-A"), Some("o'brien@x"), ExportFormat::Csv).unwrap();
        let sql = scope.scope_sql();
        assert!(sql.contains("vault = 'kv-a'"), "{sql}");
        assert!(sql.contains("lower(identity_upn) = 'o''brien@x'"), "{sql}");
    }

    #[test]
    fn an_alert_touches_the_period_if_its_window_overlaps_it_or_its_instant_falls_in_it() {
        let (from, to) = (parse_bound("2026-10-02").unwrap(), parse_bound("2026-10-03").unwrap());
        let scope = ExportScope::new(from, to, Some("kv1"), None, ExportFormat::Csv).unwrap();
        let h = |hours: i64| from + chrono::Duration::hours(hours);
        let alert = |start, end, vault: &str| crate::alert::Alert {
            id: String::new(),
            kind: crate::alert::AlertKind::StaleSecret,
            severity: crate::alert::Severity::Low,
            vault: Some(vault.into()),
            identity_oid: None,
            identity_appid: None,
            identity_upn: None,
            object_name: None,
            caller_ip: None,
            window_start: start,
            window_end: end,
            observed: serde_json::json!({}),
            baseline: serde_json::json!({}),
            score: crate::alert::Score { name: String::new(), value: 0.0 },
            explanation: String::new(),
            evidence: Vec::new(),
            state: crate::alert::AlertState::Open,
            state_reason: None,
            first_raised: start,
            last_raised: start,
        };
        assert!(scope.touches(&alert(h(-2), h(1), "KV1")), "overlapping the start");
        assert!(scope.touches(&alert(h(0), h(0), "kv1")), "an instant at `from`");
        assert!(!scope.touches(&alert(h(-2), h(0), "kv1")), "ending where the period starts");
        assert!(!scope.touches(&alert(h(24), h(24), "kv1")), "an instant at `to`, excluded");
        assert!(!scope.touches(&alert(h(1), h(2), "kv2")), "another vault");
    }
}
