//! What the detector is told: the history window, the allow-list of first-party callers,
//! suppression rules and thresholds. Read from the `[detect]` part of `kvaudit.toml`;
//! every field has a documented default, so no file is needed.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::alert::{Alert, AlertKind};

/// Microsoft first-party callers whose calls are the platform's, not a tenant's: Azure
/// Resource Graph and Policy Insights read every vault's properties (`VaultGet`) on their
/// own schedule. Their calls are left out of baselines and detection.
pub const FIRST_PARTY_ALLOW: &[(&str, &str, &str)] = &[
    ("509e4652-da8d-478d-a730-e9d4a1996ca4", "VaultGet", "Azure Resource Graph"),
    ("8cae6e77-e04e-42ce-b5cb-50d82bce26b1", "VaultGet", "Azure Policy Insights"),
];

/// Calls by this app id (limited to these operations, if any) are not caller activity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AllowRule {
    pub appid: String,
    #[serde(default)]
    pub operations: Vec<String>,
    /// Who it is, for people reading the config.
    #[serde(default)]
    pub note: Option<String>,
}

/// An alert matching every field given is recorded as suppressed, never dropped.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SuppressRule {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub vault: Option<String>,
    /// Object id, app id or UPN.
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub app: Option<String>,
    /// An address or a CIDR block (`10.1.0.0/16`).
    #[serde(default)]
    pub ip: Option<String>,
    /// Why: shown on every alert it suppresses.
    pub reason: String,
    /// The rule stops applying at the start of this day (UTC). Required: a suppression
    /// without end is a hole nobody remembers.
    #[serde(with = "crate::alert::rfc3339::date")]
    pub expires: NaiveDate,
}

impl SuppressRule {
    /// Whether the rule applies to `alert` at `now`.
    pub fn matches(&self, alert: &Alert, now: DateTime<Utc>) -> bool {
        if now.date_naive() >= self.expires {
            return false;
        }
        let eq = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        let kind_ok = self.kind.as_deref().is_none_or(|k| k == alert.kind.as_str());
        let identity_ok = self.identity.as_deref().is_none_or(|i| {
            [&alert.identity_oid, &alert.identity_appid, &alert.identity_upn]
                .iter()
                .any(|v| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(i)))
        });
        let ip_ok = match &self.ip {
            None => true,
            Some(block) => alert
                .caller_ip
                .as_deref()
                .and_then(|a| a.parse::<IpAddr>().ok())
                .is_some_and(|a| cidr_contains(block, a)),
        };
        kind_ok && eq(&self.vault, &alert.vault) && identity_ok && eq(&self.app, &alert.identity_appid) && ip_ok
    }
}

/// Whether `block` (`a.b.c.d/n`, or one address) contains `addr`.
pub fn cidr_contains(block: &str, addr: IpAddr) -> bool {
    let (base, bits) = match block.split_once('/') {
        Some((b, n)) => (b, n.parse::<u32>().ok()),
        None => (block, None),
    };
    let Ok(base) = base.parse::<IpAddr>() else { return false };
    match (base, addr) {
        (IpAddr::V4(b), IpAddr::V4(a)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(b) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(b), IpAddr::V6(a)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(b) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Tail probability below which a count is unusual, per identity, vault and hour. With
/// about 24 000 identity-hours per 1 000 identity-days, 1e-6 keeps the expected number of
/// false volume alarms under 0.03 per 1 000 identity-days where the model fits.
pub const DEFAULT_P_THRESHOLD: f64 = 1e-6;

/// Detector settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Days of history a baseline is learned from.
    pub history_days: u32,
    /// An identity or a vault seen for fewer days than this is still being learned: it
    /// raises `new_identity` when it first appears, but no volume, address or time alarms.
    pub min_history_days: u32,
    /// Leave out the built-in first-party allow-list (`FIRST_PARTY_ALLOW`).
    pub no_builtin_allow: bool,
    /// More callers whose calls are not caller activity.
    pub allow: Vec<AllowRule>,
    pub suppress: Vec<SuppressRule>,
    pub p_threshold: f64,
    /// A volume spike must also be this many times the expected count...
    pub volume_min_ratio: f64,
    /// ...and this many calls above it.
    pub volume_min_excess: f64,
    /// Distinct objects read in an hour below which no retrieval is "mass".
    pub retrieval_min_objects: usize,
    /// Denials in 15 minutes below which no burst is raised.
    pub denied_min: usize,
    /// Distinct vaults refusing one identity within 15 minutes for a cross-vault burst.
    pub denied_min_vaults: usize,
    /// Days with activity an identity needs before its networks and hours are known well
    /// enough for `new_ip` and `unusual_time` (people touch a vault a few days a month).
    pub min_active_days: u64,
    /// Hours a call must be from every hour the identity was active at to be at an
    /// unusual time.
    pub unusual_time_margin_hours: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            history_days: 30,
            min_history_days: 7,
            no_builtin_allow: false,
            allow: Vec::new(),
            suppress: Vec::new(),
            p_threshold: DEFAULT_P_THRESHOLD,
            volume_min_ratio: 3.0,
            volume_min_excess: 20.0,
            retrieval_min_objects: 5,
            denied_min: 10,
            denied_min_vaults: 3,
            unusual_time_margin_hours: 3,
            min_active_days: 5,
        }
    }
}

impl Policy {
    /// The allow-list in force: built-in rules unless turned off, then the configured ones.
    pub fn allow_rules(&self) -> Vec<AllowRule> {
        let mut rules = Vec::new();
        if !self.no_builtin_allow {
            for (appid, op, note) in FIRST_PARTY_ALLOW {
                rules.push(AllowRule {
                    appid: (*appid).to_owned(),
                    operations: vec![(*op).to_owned()],
                    note: Some((*note).to_owned()),
                });
            }
        }
        rules.extend(self.allow.iter().cloned());
        rules
    }

    /// The first suppression rule matching `alert`.
    pub fn suppression(&self, alert: &Alert, now: DateTime<Utc>) -> Option<&SuppressRule> {
        self.suppress.iter().find(|r| r.matches(alert, now))
    }

    /// Checks values a typo could make meaningless.
    pub fn validate(&self) -> Result<(), String> {
        if self.history_days == 0 {
            return Err("history_days must be at least 1".into());
        }
        if !(self.p_threshold > 0.0 && self.p_threshold < 1.0) {
            return Err("p_threshold must be between 0 and 1".into());
        }
        for rule in &self.suppress {
            if let Some(kind) = &rule.kind
                && AlertKind::parse(kind).is_none()
            {
                return Err(format!("suppression rule names unknown alert kind {kind:?}"));
            }
            if let Some(ip) = &rule.ip
                && ip.split('/').next().and_then(|a| a.parse::<IpAddr>().ok()).is_none()
            {
                return Err(format!("suppression rule has an unreadable address or CIDR {ip:?}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_contain_their_addresses_only() {
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(cidr_contains("10.1.0.0/16", a("10.1.200.3")));
        assert!(!cidr_contains("10.1.0.0/16", a("10.2.0.1")));
        assert!(cidr_contains("4.174.120.141", a("4.174.120.141")));
        assert!(!cidr_contains("4.174.120.141", a("4.174.120.142")));
        assert!(cidr_contains("2001:db8::/64", a("2001:db8::1")));
        assert!(!cidr_contains("2001:db8::/64", a("2001:db8:0:1::1")));
        assert!(!cidr_contains("10.0.0.0/8", a("2001:db8::1")));
    }

    #[test]
    fn the_builtin_allow_list_can_be_turned_off_and_extended() {
        let mut policy = Policy::default();
        assert_eq!(policy.allow_rules().len(), 2);
        policy.no_builtin_allow = true;
        policy.allow.push(AllowRule { appid: "x".into(), operations: vec![], note: None });
        let rules = policy.allow_rules();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].appid, "x");
    }
}
