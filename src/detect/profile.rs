//! Baselines: what the history says each identity, vault and identity-vault pair does,
//! loaded from the `queries/detect/baseline_*.sql` results over `history`.
//!
//! Keys are the `identity` of `scope` (object id, else app id) and the lower-case vault
//! name. Times are microseconds since the epoch; hours are the start of the hour.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::DetectError;
use super::columns::{integers, micros, strings};
use super::relations::collect;
use crate::query::QuerySession;

pub const HOUR_US: i64 = 3_600_000_000;
pub const DAY_US: i64 = 24 * HOUR_US;

/// One hour of one identity in one vault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourStats {
    pub hour: i64,
    pub ok: u64,
    pub denied: u64,
    /// Distinct secrets, keys and certificates read.
    pub objects_read: u64,
    /// Whether it listed the vault's objects that hour.
    pub listed: bool,
}

/// An identity in a vault.
#[derive(Debug, Clone, Default)]
pub struct PairProfile {
    /// Hours with any activity, in order.
    pub hours: Vec<HourStats>,
    /// First and last hour with a successful call, if any.
    pub first_ok: Option<i64>,
    pub last_ok: Option<i64>,
    pub active_days: u64,
    /// Objects it read.
    pub objects: HashSet<String>,
    /// Per operation: successful calls and days used.
    pub operations: HashMap<String, (u64, u64)>,
}

impl PairProfile {
    /// The most distinct objects read in one hour.
    pub fn max_objects_per_hour(&self) -> u64 {
        self.hours.iter().map(|h| h.objects_read).max().unwrap_or(0)
    }

    /// Mean distinct objects read per hour in which it read any.
    pub fn mean_objects_per_reading_hour(&self) -> f64 {
        let reading: Vec<u64> = self.hours.iter().map(|h| h.objects_read).filter(|&n| n > 0).collect();
        if reading.is_empty() { 0.0 } else { reading.iter().sum::<u64>() as f64 / reading.len() as f64 }
    }

    pub fn denied_total(&self) -> u64 {
        self.hours.iter().map(|h| h.denied).sum()
    }
}

/// An identity across vaults.
#[derive(Debug, Clone, Default)]
pub struct IdentityProfile {
    /// First hour with any call.
    pub first_seen: i64,
    /// Networks (/24, /64) it called from, with its addresses.
    pub networks: HashSet<String>,
    pub addresses: usize,
    /// Days active at each UTC hour of the day: `[weekday, weekend][hour]`.
    pub active_days: [[u32; 24]; 2],
    pub appid: Option<String>,
    pub upn: Option<String>,
    pub identity_type: Option<String>,
    /// Days with a successful call (in its busiest vault: a lower bound across vaults).
    pub days_seen: u64,
}

/// A vault.
#[derive(Debug, Clone, Default)]
pub struct VaultProfile {
    /// First hour anyone called it successfully.
    pub first_seen: i64,
    /// Identities known to it.
    pub identities: usize,
}

/// Everything learned from the history window.
#[derive(Debug, Default)]
pub struct Profiles {
    /// The history window `[start, end)`, microseconds.
    pub start: i64,
    pub end: i64,
    pub pairs: HashMap<(String, String), PairProfile>,
    pub identities: HashMap<String, IdentityProfile>,
    pub vaults: HashMap<String, VaultProfile>,
}

/// The network an address belongs to for "never seen from here": its /24 (IPv4) or /64
/// (IPv6). Addresses that do not parse are their own network.
pub fn network_of(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            let o = a.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(IpAddr::V6(a)) => {
            let bits = u128::from(a) & (u128::MAX << 64);
            format!("{}/64", std::net::Ipv6Addr::from(bits))
        }
        Err(_) => ip.to_owned(),
    }
}

/// 0 for Monday–Friday, 1 for Saturday and Sunday (UTC).
pub fn day_type(time_us: i64) -> usize {
    use chrono::Datelike;
    let day = chrono::DateTime::from_timestamp_micros(time_us).unwrap_or_default().weekday();
    usize::from(matches!(day, chrono::Weekday::Sat | chrono::Weekday::Sun))
}

/// UTC hour of the day.
pub fn hour_of_day(time_us: i64) -> usize {
    (time_us.rem_euclid(DAY_US) / HOUR_US) as usize
}

impl Profiles {
    /// Runs the baseline queries over the bound `history` of `[start, end)`.
    pub async fn load(session: &QuerySession, start: i64, end: i64) -> Result<Profiles, DetectError> {
        let mut p = Profiles { start, end, ..Profiles::default() };
        let key =
            |i: &Option<String>, v: &Option<String>| (i.clone().unwrap_or_default(), v.clone().unwrap_or_default());

        for batch in collect(session, "baseline_hourly").await?.1 {
            let (ids, vaults) = (strings(&batch, "identity")?, strings(&batch, "vault")?);
            let hour = micros(&batch, "hour")?;
            let (ok, denied) = (integers(&batch, "ok_calls")?, integers(&batch, "denied_calls")?);
            let (objects, listed) = (integers(&batch, "objects_read")?, integers(&batch, "listed")?);
            for i in 0..batch.num_rows() {
                p.pairs.entry(key(&ids[i], &vaults[i])).or_default().hours.push(HourStats {
                    hour: hour[i].unwrap_or_default(),
                    ok: ok[i].unwrap_or_default().max(0) as u64,
                    denied: denied[i].unwrap_or_default().max(0) as u64,
                    objects_read: objects[i].unwrap_or_default().max(0) as u64,
                    listed: listed[i].unwrap_or_default() > 0,
                });
            }
        }
        for batch in collect(session, "baseline_identities").await?.1 {
            let (ids, vaults) = (strings(&batch, "identity")?, strings(&batch, "vault")?);
            let (first, last) = (micros(&batch, "first_seen")?, micros(&batch, "last_seen")?);
            let days = integers(&batch, "active_days")?;
            let (appid, upn, kind) = (
                strings(&batch, "identity_appid")?,
                strings(&batch, "identity_upn")?,
                strings(&batch, "identity_type")?,
            );
            for i in 0..batch.num_rows() {
                let pair = p.pairs.entry(key(&ids[i], &vaults[i])).or_default();
                pair.first_ok = first[i];
                pair.last_ok = last[i];
                pair.active_days = days[i].unwrap_or_default().max(0) as u64;
                let vault = p
                    .vaults
                    .entry(vaults[i].clone().unwrap_or_default())
                    .or_insert(VaultProfile { first_seen: i64::MAX, identities: 0 });
                vault.first_seen = vault.first_seen.min(first[i].unwrap_or(i64::MAX));
                vault.identities += 1;
                let identity = p
                    .identities
                    .entry(ids[i].clone().unwrap_or_default())
                    .or_insert_with(|| IdentityProfile { first_seen: i64::MAX, ..IdentityProfile::default() });
                identity.days_seen = identity.days_seen.max(days[i].unwrap_or_default().max(0) as u64);
                identity.appid = identity.appid.take().or_else(|| appid[i].clone());
                identity.upn = identity.upn.take().or_else(|| upn[i].clone());
                identity.identity_type = identity.identity_type.take().or_else(|| kind[i].clone());
            }
        }
        for batch in collect(session, "baseline_addresses").await?.1 {
            let (ids, ips, first) =
                (strings(&batch, "identity")?, strings(&batch, "caller_ip")?, micros(&batch, "first_seen")?);
            for i in 0..batch.num_rows() {
                let identity = p
                    .identities
                    .entry(ids[i].clone().unwrap_or_default())
                    .or_insert_with(|| IdentityProfile { first_seen: i64::MAX, ..IdentityProfile::default() });
                identity.first_seen = identity.first_seen.min(first[i].unwrap_or(i64::MAX));
                identity.networks.insert(network_of(ips[i].as_deref().unwrap_or_default()));
                identity.addresses += 1;
            }
        }
        for batch in collect(session, "baseline_active_hours").await?.1 {
            let (ids, types) = (strings(&batch, "identity")?, strings(&batch, "day_type")?);
            let (hours, days) = (integers(&batch, "hour_of_day")?, integers(&batch, "active_days")?);
            for i in 0..batch.num_rows() {
                if let Some(identity) = p.identities.get_mut(ids[i].as_deref().unwrap_or_default()) {
                    let t = usize::from(types[i].as_deref() == Some("weekend"));
                    let h = hours[i].unwrap_or_default().clamp(0, 23) as usize;
                    identity.active_days[t][h] = days[i].unwrap_or_default().max(0) as u32;
                }
            }
        }
        for batch in collect(session, "baseline_operations").await?.1 {
            let (ids, vaults, ops) =
                (strings(&batch, "identity")?, strings(&batch, "vault")?, strings(&batch, "operation")?);
            let (calls, days) = (integers(&batch, "calls")?, integers(&batch, "active_days")?);
            for i in 0..batch.num_rows() {
                let pair = p.pairs.entry(key(&ids[i], &vaults[i])).or_default();
                pair.operations.insert(
                    ops[i].clone().unwrap_or_default(),
                    (calls[i].unwrap_or_default().max(0) as u64, days[i].unwrap_or_default().max(0) as u64),
                );
            }
        }
        for batch in collect(session, "baseline_objects").await?.1 {
            let (ids, vaults, names) =
                (strings(&batch, "identity")?, strings(&batch, "vault")?, strings(&batch, "object_name")?);
            for i in 0..batch.num_rows() {
                if let Some(name) = &names[i] {
                    p.pairs.entry(key(&ids[i], &vaults[i])).or_default().objects.insert(name.clone());
                }
            }
        }
        Ok(p)
    }

    pub fn pair(&self, identity: &str, vault: &str) -> Option<&PairProfile> {
        self.pairs.get(&(identity.to_owned(), vault.to_owned()))
    }

    /// Days of history an identity has: from its first call to the end of the window.
    pub fn identity_history_days(&self, identity: &str) -> f64 {
        self.identities
            .get(identity)
            .filter(|i| i.first_seen != i64::MAX)
            .map(|i| (self.end - i.first_seen.max(self.start)) as f64 / DAY_US as f64)
            .unwrap_or(0.0)
    }

    /// Days of history a vault has: from its first successful call to the end of the window.
    pub fn vault_history_days(&self, vault: &str) -> f64 {
        self.vaults
            .get(vault)
            .filter(|v| v.first_seen != i64::MAX)
            .map(|v| (self.end - v.first_seen.max(self.start)) as f64 / DAY_US as f64)
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_slash_24_and_slash_64() {
        assert_eq!(network_of("4.174.120.141"), "4.174.120.0/24");
        assert_eq!(network_of("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(network_of("not-an-ip"), "not-an-ip");
    }

    #[test]
    fn weekend_and_hour_are_utc() {
        // 2026-10-25 is a Sunday; 02:10 UTC.
        let t = chrono::DateTime::parse_from_rfc3339("2026-10-25T02:10:00Z").unwrap().timestamp_micros();
        assert_eq!(day_type(t), 1);
        assert_eq!(hour_of_day(t), 2);
        assert_eq!(day_type(t - 2 * DAY_US), 0);
    }
}
