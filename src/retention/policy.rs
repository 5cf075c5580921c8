//! The `[retention]` table of `kvaudit.toml`, raw ([`RetentionConfig`]) and validated
//! ([`RetentionRules`]).
//!
//! Limits are whole days (`"400d"`, or weeks, `"57w"`); a limit left out keeps that kind of
//! data forever. Legal holds name a vault, a period, or a vault within a period; what they
//! cover is never deleted, whatever the limits say.

use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::RetentionError;

/// A retention limit: data older than this many days goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    pub days: u32,
}

impl Keep {
    /// The moment before which data is past the limit.
    pub fn cutoff(self, as_of: DateTime<Utc>) -> DateTime<Utc> {
        as_of - Duration::days(i64::from(self.days))
    }
}

impl std::fmt::Display for Keep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}d", self.days)
    }
}

impl std::str::FromStr for Keep {
    type Err = RetentionError;

    /// `400d` or `57w`; at least one day.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || RetentionError::BadKeep(text.to_owned());
        let t = text.trim();
        let (number, per) = if let Some(n) = t.strip_suffix('d') {
            (n, 1)
        } else if let Some(n) = t.strip_suffix('w') {
            (n, 7)
        } else {
            return Err(bad());
        };
        let n: u32 = number.trim().parse().map_err(|_| bad())?;
        let days = n.checked_mul(per).filter(|d| *d > 0).ok_or_else(bad)?;
        Ok(Keep { days })
    }
}

/// `[retention]` as written in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Event partitions (`--keep` overrides it).
    pub keep: Option<String>,
    /// Alerts, by the end of their window.
    pub keep_alerts: Option<String>,
    /// Materialized rollups under `baselines/`, by date.
    pub keep_baselines: Option<String>,
    /// Export folders under `exports_dir`, by their manifest's creation time.
    pub keep_exports: Option<String>,
    /// Where scheduled exports are written (each a folder with a `manifest.json`).
    pub exports_dir: Option<PathBuf>,
    #[serde(default)]
    pub legal_holds: Vec<LegalHoldConfig>,
}

/// One `[[retention.legal_holds]]` entry as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldConfig {
    pub vault: Option<String>,
    /// First held date, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last held date, inclusive.
    pub to: Option<String>,
    /// Why: printed with everything the hold keeps, and required.
    pub reason: String,
}

/// A validated legal hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    /// Lower-case vault name, or every vault.
    pub vault: Option<String>,
    /// Held dates (inclusive); unbounded ends when absent.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub reason: String,
}

impl LegalHold {
    /// Whether the hold covers date `date`.
    pub fn covers_date(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= date) && self.to.is_none_or(|t| date <= t)
    }

    /// Whether the hold covers the data of `vault` (any vault when `None`: data not tied
    /// to one vault, such as a whole rollup file) on `date`.
    pub fn covers(&self, vault: Option<&str>, date: NaiveDate) -> bool {
        let vault_held = match (&self.vault, vault) {
            (None, _) => true,
            (Some(held), Some(v)) => held.eq_ignore_ascii_case(v),
            (Some(_), None) => true,
        };
        vault_held && self.covers_date(date)
    }

    /// Whether the hold covers any date of `[from, to]`.
    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= to) && self.to.is_none_or(|t| from <= t)
    }
}

impl std::fmt::Display for LegalHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "legal hold")?;
        if let Some(v) = &self.vault {
            write!(f, " on vault {v}")?;
        }
        match (self.from, self.to) {
            (None, None) => {}
            (from, to) => write!(
                f,
                " from {} to {}",
                from.map_or("the start".to_owned(), |d| d.to_string()),
                to.map_or("now".to_owned(), |d| d.to_string())
            )?,
        }
        write!(f, " ({})", self.reason)
    }
}

/// What retention keeps, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionRules {
    pub keep: Option<Keep>,
    pub keep_alerts: Option<Keep>,
    pub keep_baselines: Option<Keep>,
    pub keep_exports: Option<Keep>,
    pub exports_dir: Option<PathBuf>,
    pub legal_holds: Vec<LegalHold>,
}

impl RetentionRules {
    /// Whether any limit is set (without one, retention has nothing to do).
    pub fn limits_anything(&self) -> bool {
        self.keep.is_some()
            || self.keep_alerts.is_some()
            || self.keep_baselines.is_some()
            || self.keep_exports.is_some()
    }

    /// The first hold covering `vault`'s data of `date`, if any.
    pub fn hold_on(&self, vault: Option<&str>, date: NaiveDate) -> Option<&LegalHold> {
        self.legal_holds.iter().find(|h| h.covers(vault, date))
    }
}

fn parse_date(field: &str, text: &Option<String>) -> Result<Option<NaiveDate>, RetentionError> {
    text.as_deref()
        .map(|t| {
            NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
                .map_err(|_| RetentionError::BadHold(format!("{field} must be a date like 2026-01-31, not {t:?}")))
        })
        .transpose()
}

impl RetentionConfig {
    /// Checks every limit and hold.
    pub fn validate(&self) -> Result<RetentionRules, RetentionError> {
        let keep = |t: &Option<String>| t.as_deref().map(str::parse::<Keep>).transpose();
        let mut holds = Vec::new();
        for hold in &self.legal_holds {
            let from = parse_date("from", &hold.from)?;
            let to = parse_date("to", &hold.to)?;
            if hold.vault.is_none() && from.is_none() && to.is_none() {
                return Err(RetentionError::BadHold("a legal hold names a vault, a period (from, to), or both".into()));
            }
            if let (Some(f), Some(t)) = (from, to)
                && f > t
            {
                return Err(RetentionError::BadHold(format!("a legal hold's from ({f}) is after its to ({t})")));
            }
            if hold.reason.trim().is_empty() {
                return Err(RetentionError::BadHold("a legal hold needs a reason".into()));
            }
            holds.push(LegalHold {
                vault: hold.vault.as_ref().map(|v| v.trim().to_lowercase()),
                from,
                to,
                reason: hold.reason.trim().to_owned(),
            });
        }
        if self.keep_exports.is_some() && self.exports_dir.is_none() {
            return Err(RetentionError::BadHold("keep_exports needs exports_dir: where the exports are".into()));
        }
        Ok(RetentionRules {
            keep: keep(&self.keep)?,
            keep_alerts: keep(&self.keep_alerts)?,
            keep_baselines: keep(&self.keep_baselines)?,
            keep_exports: keep(&self.keep_exports)?,
            exports_dir: self.exports_dir.clone(),
            legal_holds: holds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_days_or_weeks() {
        assert_eq!("400d".parse::<Keep>().unwrap().days, 400);
        assert_eq!("2w".parse::<Keep>().unwrap().days, 14);
        for bad in ["400", "0d", "-3d", "1y", "d"] {
            assert!(bad.parse::<Keep>().is_err(), "{bad}");
        }
    }

    #[test]
    fn holds_cover_their_vault_and_period() {
        let config: RetentionConfig = toml::from_str(
            r#"
            keep = "400d"
            [[legal_holds]]
            vault = "KV-Pay"
            reason = "case 17"
            [[legal_holds]]
            from = "2025-01-01"
            to = "2025-01-31"
            reason = "audit"
            "#,
        )
        .unwrap();
        let rules = config.validate().unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(rules.hold_on(Some("kv-pay"), d("2024-06-01")).is_some());
        assert!(rules.hold_on(Some("kv-other"), d("2024-06-01")).is_none());
        assert!(rules.hold_on(Some("kv-other"), d("2025-01-31")).is_some());
        assert!(rules.hold_on(Some("kv-other"), d("2025-02-01")).is_none());
        let missing: RetentionConfig = toml::from_str("[[legal_holds]]\nreason = \"x\"").unwrap();
        assert!(missing.validate().is_err());
    }
}
