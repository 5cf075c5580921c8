//! The answer key: `truth.json`, listing every finding a perfect detector should raise on
//! the generated data.
//!
//! Unusual-access findings are planted (and described) by [`super::incidents`]. Lifecycle
//! and practice findings are derived here, by rule, from the world itself: every secret
//! without expiry, past its maximum age, near expiry, expired but still read, left unread,
//! read at a superseded version, shared by two applications, or read across environments.
//! Deriving rather than listing them keeps the truth complete when the cast changes.
//!
//! "Consumer" means a workload identity with steady reads ([`World::apps`]): people, the
//! nightly backup and the rotation function also read secrets but are not consumers.

use serde::{Deserialize, Serialize};

use super::time::{DAY, Ticks, az_datetime, rfc3339};
use super::world::{Env, Identity, IdentityId, ReadTarget, SecretRef, World};

/// Every alert kind DESIGN.md defines, in its order.
pub const KINDS: &[&str] = &[
    "volume_spike",
    "mass_retrieval",
    "enumeration",
    "new_identity",
    "new_ip",
    "unusual_time",
    "denied_burst",
    "sensitive_operation",
    "stale_secret",
    "expired_secret_in_use",
    "secret_near_expiry",
    "secret_past_max_age",
    "secret_without_expiry",
    "old_version_in_use",
    "shared_secret",
    "environment_crossover",
    "role_mixing",
    "secret_in_log",
];

/// Age beyond which a secret version is past its maximum age.
pub const MAX_AGE: Ticks = 365 * DAY;
/// How far ahead an expiry counts as near.
pub const NEAR_EXPIRY: Ticks = 30 * DAY;
/// How long after a rotation reading the previous version counts as old-version use.
pub const OLD_VERSION_GRACE: Ticks = 7 * DAY;

/// `truth.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub seed: u64,
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    pub days: u32,
    pub scale: f64,
    /// Teams generated (`--teams`): replicas of the organisation, team 0 first.
    #[serde(default = "one")]
    pub teams: u32,
    /// Vaults kept per team (`--vaults`; 6 is the whole organisation).
    #[serde(default = "six")]
    pub vaults_per_team: u32,
    /// Whether unusual-access incidents (and the planted practice stories) were planted;
    /// `false` for `--no-incidents`, where only findings derived from the world remain.
    #[serde(default = "yes")]
    pub planted: bool,
    /// Distinct identities (object ids) that call Key Vault in the logs; Microsoft
    /// first-party services count once, whatever the number of teams.
    #[serde(default)]
    pub identities: usize,
    /// Vaults in the logs.
    #[serde(default)]
    pub vaults: usize,
    pub incidents: Vec<Incident>,
}

fn one() -> u32 {
    1
}
fn six() -> u32 {
    6
}
fn yes() -> bool {
    true
}

/// The unusual-access kinds: what the detector of issue 4 raises from behaviour.
pub const UNUSUAL_ACCESS: &[&str] = &[
    "volume_spike",
    "mass_retrieval",
    "enumeration",
    "new_identity",
    "new_ip",
    "unusual_time",
    "denied_burst",
    "sensitive_operation",
];

/// One expected finding, in the vocabulary of the alert record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub kind: String,
    /// Lower-case vault name; `null` when the finding spans vaults.
    pub vault: Option<String>,
    pub identity_oid: Option<String>,
    pub identity_appid: Option<String>,
    pub identity_upn: Option<String>,
    pub object_name: Option<String>,
    pub caller_ip: Option<String>,
    /// RFC 3339 UTC.
    pub window_start: String,
    pub window_end: String,
    pub description: String,
}

/// Who an incident is about: the identity and the `appid` it called with.
pub struct Who<'w> {
    pub identity: &'w Identity,
    pub appid: String,
}

impl<'w> Who<'w> {
    /// An application (its own appid).
    pub fn app(world: &'w World, id: IdentityId) -> Who<'w> {
        let identity = &world.identities[id];
        Who { identity, appid: identity.appid.clone() }
    }

    /// A person calling through client `client` on the data plane.
    pub fn person(world: &'w World, id: IdentityId, client: u8) -> Who<'w> {
        let identity = &world.identities[id];
        let appid = identity.appid_with(&identity.clients[usize::from(client)], false);
        Who { identity, appid }
    }
}

/// Builds an [`Incident`].
#[allow(clippy::too_many_arguments)]
pub fn incident(
    kind: &str,
    vault: Option<&str>,
    who: Option<&Who<'_>>,
    object: Option<&str>,
    caller_ip: Option<String>,
    window: (Ticks, Ticks),
    description: String,
) -> Incident {
    debug_assert!(KINDS.contains(&kind), "unknown kind {kind}");
    Incident {
        kind: kind.to_owned(),
        vault: vault.map(str::to_owned),
        identity_oid: who.map(|w| w.identity.oid.clone()),
        identity_appid: who.map(|w| w.appid.clone()),
        identity_upn: who.and_then(|w| w.identity.upn.clone()),
        object_name: object.map(str::to_owned),
        caller_ip,
        window_start: rfc3339(window.0),
        window_end: rfc3339(window.1),
        description,
    }
}

/// The lifecycle and practice findings the world implies.
pub fn derived(world: &World) -> Vec<Incident> {
    let mut out = Vec::new();
    let (start, end) = (world.start, world.end);
    for (v, vault) in world.vaults.iter().enumerate() {
        for (index, secret) in vault.secrets.iter().enumerate() {
            if !secret.exists_at(end - 1) {
                continue; // gone (or not yet there) when the period ends: not in the inventory
            }
            let current = secret.current();
            let s = SecretRef { vault: v, index };
            let readers = consumers(world, s);
            let name = Some(secret.name);
            let vname = Some(vault.name.as_str());

            if let Some(from) = secret.unread_from {
                let text = if from <= start {
                    format!("{}/{} was not read by anyone during the period", vault.name, secret.name)
                } else {
                    format!(
                        "{}/{} has not been read since {} (its consumer moved to another secret)",
                        vault.name,
                        secret.name,
                        rfc3339(from)
                    )
                };
                out.push(incident("stale_secret", vname, None, name, None, (from.max(start), end), text));
            }
            match current.expires {
                None if !secret.managed => out.push(incident(
                    "secret_without_expiry",
                    vname,
                    None,
                    name,
                    None,
                    (start, end),
                    format!("{}/{} has no expiry date", vault.name, secret.name),
                )),
                Some(exp) if exp <= end => {
                    // Before it expired inside the period, it was near its expiry while
                    // read: a detector running then should have said so.
                    if exp > start && readers.iter().any(|(_, from, _)| *from < exp) {
                        out.push(incident(
                            "secret_near_expiry",
                            vname,
                            None,
                            name,
                            None,
                            ((exp - NEAR_EXPIRY).max(start), exp),
                            format!(
                                "{}/{} expires at {}, and is still read in the 30 days before",
                                vault.name,
                                secret.name,
                                az_datetime(exp)
                            ),
                        ));
                    }
                    for (id, read_from, read_until) in &readers {
                        if *read_until > exp {
                            let who = Who::app(world, *id);
                            out.push(incident(
                                "expired_secret_in_use",
                                vname,
                                Some(&who),
                                name,
                                None,
                                (exp.max(*read_from), (*read_until).min(end)),
                                format!(
                                    "{}/{} expired at {} and {} keeps reading it",
                                    vault.name,
                                    secret.name,
                                    rfc3339(exp),
                                    who.identity.name
                                ),
                            ));
                        }
                    }
                }
                Some(exp) if exp <= end + NEAR_EXPIRY => out.push(incident(
                    "secret_near_expiry",
                    vname,
                    None,
                    name,
                    None,
                    ((exp - NEAR_EXPIRY).max(start), exp),
                    format!(
                        "{}/{} expires at {}, within 30 days of the end of the period",
                        vault.name,
                        secret.name,
                        az_datetime(exp)
                    ),
                )),
                _ => {}
            }
            if current.created < end - MAX_AGE {
                out.push(incident(
                    "secret_past_max_age",
                    vname,
                    None,
                    name,
                    None,
                    ((current.created + MAX_AGE).max(start), end),
                    format!(
                        "{}/{} was last set at {}, more than 365 days before the end of the period",
                        vault.name,
                        secret.name,
                        az_datetime(current.created)
                    ),
                ));
            }
            if readers.len() >= 2 {
                let names: Vec<&str> = readers.iter().map(|(id, _, _)| world.identities[*id].name.as_str()).collect();
                let from = readers.iter().map(|r| r.1).max().unwrap_or(start);
                let until = readers.iter().map(|r| r.2).min().unwrap_or(end);
                out.push(incident(
                    "shared_secret",
                    vname,
                    None,
                    name,
                    None,
                    (from, until),
                    format!(
                        "{}/{} is read by {} applications: {}",
                        vault.name,
                        secret.name,
                        names.len(),
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    old_versions(world, &mut out);
    crossovers(world, &mut out);
    out
}

/// The applications reading `s`, with the span of their reads inside the period.
fn consumers(world: &World, s: SecretRef) -> Vec<(IdentityId, Ticks, Ticks)> {
    let mut out: Vec<(IdentityId, Ticks, Ticks)> = Vec::new();
    for app in &world.apps {
        for read in &app.reads {
            if matches!(read.target, ReadTarget::Secret(t) if t == s) {
                let from = read.from.unwrap_or(world.start).max(world.secret(s).created()).max(world.start);
                let until = read.until.unwrap_or(world.end).min(world.end);
                if from < until {
                    out.push((app.identity, from, until));
                }
            }
        }
    }
    out
}

fn old_versions(world: &World, out: &mut Vec<Incident>) {
    for app in &world.apps {
        for read in app.reads.iter().filter(|r| r.stuck) {
            let ReadTarget::Secret(s) = read.target else {
                continue;
            };
            let secret = world.secret(s);
            let pinned = secret.version_at(world.start);
            let Some(next) = secret.versions.get(pinned + 1) else {
                continue;
            };
            let late = next.created + OLD_VERSION_GRACE;
            if late < world.end && read.until.is_none_or(|u| u > late) {
                let vault = &world.vaults[s.vault];
                let who = Who::app(world, app.identity);
                out.push(incident(
                    "old_version_in_use",
                    Some(vault.name.as_str()),
                    Some(&who),
                    Some(secret.name),
                    None,
                    (late, world.end),
                    format!(
                        "{} still reads {}/{} version {} although version {} replaced it at {}",
                        who.identity.name,
                        vault.name,
                        secret.name,
                        secret.versions[pinned].id,
                        next.id,
                        rfc3339(next.created)
                    ),
                ));
            }
        }
    }
}

/// Applications reading both production and non-production vaults: one finding per vault of
/// the environment the application mostly does not use.
fn crossovers(world: &World, out: &mut Vec<Incident>) {
    for app in &world.apps {
        let prod = app.reads.iter().filter(|r| world.vaults[r.target.vault()].env == Env::Prod).count();
        let other = app.reads.len() - prod;
        if prod == 0 || other == 0 {
            continue;
        }
        let home_is_prod = prod >= other;
        let mut seen: Vec<usize> = Vec::new();
        for read in &app.reads {
            let v = read.target.vault();
            if (world.vaults[v].env == Env::Prod) == home_is_prod || seen.contains(&v) {
                continue;
            }
            seen.push(v);
            let objects: Vec<&str> = app
                .reads
                .iter()
                .filter(|r| r.target.vault() == v)
                .filter_map(|r| match r.target {
                    ReadTarget::Secret(s) => Some(world.secret(s).name),
                    _ => None,
                })
                .collect();
            let who = Who::app(world, app.identity);
            let vault = &world.vaults[v];
            out.push(incident(
                "environment_crossover",
                Some(vault.name.as_str()),
                Some(&who),
                (objects.len() == 1).then(|| objects[0]),
                None,
                (world.start, world.end),
                format!(
                    "{} is a {} workload and also reads {} in {} ({})",
                    who.identity.name,
                    if home_is_prod { "production" } else { "non-production" },
                    objects.join(", "),
                    vault.name,
                    if home_is_prod { "non-production" } else { "production" }
                ),
            ));
        }
    }
}

/// Orders incidents by kind (as in DESIGN.md), then window, then vault and object.
pub fn sort(incidents: &mut [Incident]) {
    let rank = |kind: &str| KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len());
    incidents.sort_by(|a, b| {
        (rank(&a.kind), &a.window_start, &a.vault, &a.object_name).cmp(&(
            rank(&b.kind),
            &b.window_start,
            &b.vault,
            &b.object_name,
        ))
    });
}
