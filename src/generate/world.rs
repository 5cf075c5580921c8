//! The fixed cast of a generated month: subscriptions, vaults and their secrets and keys,
//! identities with their networks and clients, the applications' steady reads, the people,
//! the scheduled jobs, and every secret write (creation or rotation) of the period.
//!
//! The world is built once, before any record is written ([`super::cast`] tells the story
//! through the [`Builder`] here), and is read-only afterwards. Invariants the rest of the
//! generator relies on:
//! - a secret's `versions` are in creation order, and every version created inside the
//!   period has a matching [`Write`] (so the logs show a `SecretSet` for it);
//! - identifiers, addresses and versions come only from the seeded stream given to the
//!   builder, in a fixed order: same seed, same world.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use super::event::Op;
use super::rng::{self, Rand};
use super::time::{DAY, HOUR, MINUTE, Ticks, weekday};

pub type VaultId = usize;
pub type IdentityId = usize;

/// A secret: vault and position in `Vault::secrets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretRef {
    pub vault: VaultId,
    pub index: usize,
}

/// A key: vault and position in `Vault::keys`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    pub vault: VaultId,
    pub index: usize,
}

/// The environment a vault serves, as its name says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    Prod,
    Dev,
    Test,
}

/// How the vault decides access; it chooses the field the records carry
/// (`isAccessPolicyMatch` or `isRbacAuthorized`) and the text of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    AccessPolicy,
    Rbac,
}

#[derive(Debug)]
pub struct Vault {
    /// Lower-case, as in `properties.id`.
    pub name: String,
    pub subscription: String,
    pub resource_group: &'static str,
    pub location: &'static str,
    pub env: Env,
    pub auth: Authorization,
    pub purge_protection: bool,
    /// `/SUBSCRIPTIONS/…/VAULTS/NAME`, upper-case as Azure Monitor writes it.
    pub resource_id: String,
    /// `https://NAME.vault.azure.net/`.
    pub url: String,
    /// The ARM path as a person types it: `/subscriptions/…/resourceGroups/…/vaults/NAME`.
    pub arm_path: String,
    /// Where Key Vault's own notifications come from.
    pub service_ip: Ipv4Addr,
    pub secrets: Vec<Secret>,
    pub keys: Vec<Key>,
}

#[derive(Debug, Clone)]
pub struct Version {
    /// 32 hex digits.
    pub id: String,
    pub created: Ticks,
    pub expires: Option<Ticks>,
}

#[derive(Debug)]
pub struct Secret {
    pub name: &'static str,
    pub content_type: Option<&'static str>,
    pub tags: &'static [(&'static str, &'static str)],
    /// Backs a certificate (`az keyvault secret list` prints `managed: true`).
    pub managed: bool,
    pub versions: Vec<Version>,
    /// Deleted (and purged) at this time; gone from the inventory.
    pub deleted: Option<Ticks>,
    /// Planted staleness: from this time nobody reads the secret, not even people browsing.
    pub unread_from: Option<Ticks>,
}

impl Secret {
    pub fn created(&self) -> Ticks {
        self.versions[0].created
    }

    pub fn exists_at(&self, t: Ticks) -> bool {
        self.created() <= t && self.deleted.is_none_or(|d| t < d)
    }

    /// The version a versionless read returns at `t`.
    pub fn version_at(&self, t: Ticks) -> usize {
        self.versions.iter().rposition(|v| v.created <= t).unwrap_or(0)
    }

    /// Whether a person or a job picking secrets may read this one at `t`.
    pub fn browsable_at(&self, t: Ticks) -> bool {
        self.exists_at(t) && self.unread_from.is_none_or(|u| t < u)
    }

    pub fn current(&self) -> &Version {
        &self.versions[self.versions.len() - 1]
    }
}

#[derive(Debug)]
pub struct Key {
    pub name: &'static str,
    pub versions: Vec<Version>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    ServicePrincipal,
    ManagedIdentity,
    User,
    /// A Microsoft first-party application (Resource Graph, Policy, App Service).
    MicrosoftService,
}

/// One /24 (or private subnet) and the addresses an identity uses in it.
#[derive(Debug, Clone)]
pub struct Network {
    pub label: &'static str,
    pub hosts: Vec<Ipv4Addr>,
}

/// How an identity talks to Key Vault: the text of `clientInfo`, the app a user's token was
/// issued to, API versions, and URL habits.
#[derive(Debug, Clone)]
pub struct Client {
    pub info: &'static str,
    /// For users: the client application (`appid` claim) on data-plane calls.
    pub appid: Option<&'static str>,
    /// For users: the client application on management calls, and its `clientInfo`.
    pub mgmt_appid: Option<&'static str>,
    pub mgmt_info: &'static str,
    pub api_version: &'static str,
    pub mgmt_api_version: &'static str,
    /// ARM host of management calls (Resource Graph uses a regional one).
    pub mgmt_host: &'static str,
    /// Extra query parameters on management calls.
    pub mgmt_query: &'static str,
    pub tls: &'static str,
    /// Python SDKs write `/secrets/NAME/?api-version`, .NET and Java `/secrets/NAME?api-version`.
    pub trailing_slash: bool,
    /// The portal adds `&maxresults=25` to lists.
    pub portal: bool,
}

#[derive(Debug)]
pub struct Identity {
    /// Display name, for descriptions and the truth file.
    pub name: String,
    pub kind: IdentityKind,
    pub oid: String,
    /// The application id for apps; empty for users (their client decides).
    pub appid: String,
    pub upn: Option<String>,
    pub mirid: Option<String>,
    /// `0` user, `1` client secret, `2` certificate or managed identity.
    pub appidacr: &'static str,
    pub networks: Vec<Network>,
    pub clients: Vec<Client>,
    /// People: offset of their local time from UTC.
    pub utc_offset: Ticks,
}

impl Identity {
    pub fn is_user(&self) -> bool {
        self.kind == IdentityKind::User
    }

    /// The `appid` claim when calling with `client`.
    pub fn appid_with(&self, client: &Client, management: bool) -> String {
        let chosen = if management { client.mgmt_appid.or(client.appid) } else { client.appid };
        match chosen {
            Some(appid) if self.is_user() => appid.to_owned(),
            _ => self.appid.clone(),
        }
    }
}

/// Relative request rate for each local hour of the day (peak = 1).
#[derive(Debug)]
pub struct Profile(pub [f64; 24]);

/// Internal tools and APIs used by staff: busy 9–17, quiet at night.
pub static BUSINESS: Profile = Profile([
    0.12, 0.10, 0.10, 0.10, 0.12, 0.18, 0.30, 0.55, 0.85, 1.0, 1.0, 0.95, 0.90, 0.95, 1.0, 1.0, 0.92, 0.75, 0.55, 0.40,
    0.30, 0.22, 0.18, 0.14,
]);
/// Public web traffic: a daytime plateau and an evening peak.
pub static CONSUMER: Profile = Profile([
    0.30, 0.22, 0.18, 0.16, 0.16, 0.20, 0.30, 0.45, 0.60, 0.68, 0.72, 0.76, 0.80, 0.78, 0.76, 0.78, 0.82, 0.88, 0.95,
    1.0, 1.0, 0.90, 0.70, 0.45,
]);
/// Pipelines and workers: nearly flat, a little busier in the working day.
pub static STEADY: Profile = Profile([
    0.80, 0.78, 0.78, 0.80, 0.82, 0.84, 0.88, 0.92, 0.96, 1.0, 1.0, 1.0, 0.98, 0.98, 1.0, 1.0, 0.98, 0.95, 0.92, 0.90,
    0.88, 0.86, 0.84, 0.82,
]);

/// What an application reads steadily.
#[derive(Debug, Clone, Copy)]
pub enum ReadTarget {
    Secret(SecretRef),
    /// A name the application asks for that does not exist (an optional override): 404s.
    Missing {
        vault: VaultId,
        name: &'static str,
    },
    Key {
        key: KeyRef,
        op: Op,
    },
}

impl ReadTarget {
    pub fn vault(&self) -> VaultId {
        match *self {
            ReadTarget::Secret(s) => s.vault,
            ReadTarget::Missing { vault, .. } => vault,
            ReadTarget::Key { key, .. } => key.vault,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Read {
    pub target: ReadTarget,
    /// Requests per hour at the application's peak hour, at scale 1.
    pub peak_per_hour: f64,
    pub from: Option<Ticks>,
    pub until: Option<Ticks>,
    /// After a rotation the consumer keeps reading the previous version (by version) for
    /// this long, until its configuration picks up the new one.
    pub lag: Ticks,
    /// Never picks up a rotation: planted `old_version_in_use`.
    pub stuck: bool,
    /// Index into the identity's clients (a keys SDK for key operations).
    pub client: u8,
}

impl Read {
    pub fn active_at(&self, t: Ticks) -> bool {
        self.from.is_none_or(|f| f <= t) && self.until.is_none_or(|u| t < u)
    }
}

/// A workload identity and its steady reads.
#[derive(Debug)]
pub struct App {
    pub identity: IdentityId,
    pub profile: &'static Profile,
    /// Offset of the users the application serves, to place its daily peak.
    pub utc_offset: Ticks,
    /// Rate multiplier on Saturdays and Sundays.
    pub weekend: f64,
    pub reads: Vec<Read>,
    /// Client restarts per instance and day, each beginning with a 401 challenge.
    pub restarts_per_day: f64,
}

/// What a person does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Opens vaults, lists and reads secrets, occasionally sets one.
    Engineer,
    /// Reviews vault configuration (`VaultGet`), does not read secrets.
    Admin,
}

#[derive(Debug)]
pub struct Person {
    pub identity: IdentityId,
    pub role: Role,
    pub vaults: Vec<VaultId>,
    /// Mean sessions on a working day.
    pub sessions_per_day: f64,
    /// A vault the person has no access to but sometimes tries: ordinary 403s.
    pub denied_vault: Option<VaultId>,
}

/// A `SecretSet`: the creation of a secret or a new version of it inside the period.
#[derive(Debug, Clone)]
pub struct Write {
    pub secret: SecretRef,
    pub version: usize,
    pub by: IdentityId,
    pub client: u8,
    pub network: usize,
}

/// The nightly backup job: lists and reads every secret of its vaults in a few minutes.
#[derive(Debug)]
pub struct Backup {
    pub identity: IdentityId,
    pub vaults: Vec<VaultId>,
    /// Time of day (UTC) it starts.
    pub at: Ticks,
}

/// The rotation function: checks the versions of the secrets it manages every night.
#[derive(Debug)]
pub struct Rotator {
    pub identity: IdentityId,
    pub secrets: Vec<SecretRef>,
    pub at: Ticks,
}

/// A Microsoft service reading vault configuration on a cadence (`VaultGet`).
#[derive(Debug)]
pub struct Scanner {
    pub identity: IdentityId,
    pub every: Ticks,
}

/// App Service fetching a certificate's secret for a site, on a cadence.
#[derive(Debug)]
pub struct CertSync {
    pub identity: IdentityId,
    pub secret: SecretRef,
    pub every: Ticks,
}

#[derive(Debug)]
pub struct World {
    pub start: Ticks,
    pub end: Ticks,
    pub days: u32,
    pub tenant_id: String,
    pub vaults: Vec<Vault>,
    pub identities: Vec<Identity>,
    pub apps: Vec<App>,
    pub people: Vec<Person>,
    pub writes: Vec<Write>,
    pub backup: Option<Backup>,
    pub rotator: Option<Rotator>,
    pub scanners: Vec<Scanner>,
    pub cert_sync: Option<CertSync>,
}

impl World {
    pub fn secret(&self, r: SecretRef) -> &Secret {
        &self.vaults[r.vault].secrets[r.index]
    }

    pub fn key(&self, r: KeyRef) -> &Key {
        &self.vaults[r.vault].keys[r.index]
    }

    /// The day index `fraction` of the way through the period (clamped into it).
    pub fn day_at(&self, fraction: f64) -> i64 {
        let day = (f64::from(self.days) * fraction) as i64;
        day.clamp(0, i64::from(self.days) - 1)
    }

    /// `hour:minute` UTC on the day `fraction` of the way through the period.
    pub fn at(&self, fraction: f64, hour: i64, minute: i64) -> Ticks {
        self.start + self.day_at(fraction) * DAY + hour * HOUR + minute * MINUTE
    }

    /// Like [`World::at`], on the first weekday from that day on (or the last one before it
    /// when the period ends on a weekend): for things people do at work.
    pub fn workday_at(&self, fraction: f64, hour: i64, minute: i64) -> Ticks {
        let weekend = |day: i64| weekday(self.start + day * DAY) >= 5;
        let last = i64::from(self.days) - 1;
        let mut day = self.day_at(fraction);
        while weekend(day) && day < last {
            day += 1;
        }
        while weekend(day) && day > 0 {
            day -= 1;
        }
        self.start + day * DAY + hour * HOUR + minute * MINUTE
    }
}

impl World {
    /// Keeps only the vaults in `keep` (in their current order) and what uses them: reads of
    /// other vaults, people's access to them, writes, jobs' work on them. Identities left
    /// with nothing to do stay in `identities` (their ids are referenced) but never call;
    /// [`World::active_identities`] leaves them out. Returns each old vault's new id.
    pub fn keep_vaults(&mut self, keep: &[VaultId]) -> Vec<Option<VaultId>> {
        let mut map = vec![None; self.vaults.len()];
        let mut next = 0;
        for (v, slot) in map.iter_mut().enumerate() {
            if keep.contains(&v) {
                *slot = Some(next);
                next += 1;
            }
        }
        let vaults = std::mem::take(&mut self.vaults);
        self.vaults = vaults.into_iter().enumerate().filter(|(v, _)| map[*v].is_some()).map(|(_, v)| v).collect();
        let secret = |s: SecretRef| map[s.vault].map(|vault| SecretRef { vault, ..s });
        for app in &mut self.apps {
            app.reads.retain(|r| map[r.target.vault()].is_some());
            for read in &mut app.reads {
                read.target = match read.target {
                    ReadTarget::Secret(s) => ReadTarget::Secret(secret(s).unwrap_or(s)),
                    ReadTarget::Missing { vault, name } => {
                        ReadTarget::Missing { vault: map[vault].unwrap_or(vault), name }
                    }
                    ReadTarget::Key { key, op } => {
                        ReadTarget::Key { key: KeyRef { vault: map[key.vault].unwrap_or(key.vault), ..key }, op }
                    }
                };
            }
        }
        for person in &mut self.people {
            person.vaults = person.vaults.iter().filter_map(|v| map[*v]).collect();
            person.denied_vault = person.denied_vault.and_then(|v| map[v]);
        }
        self.people.retain(|p| !p.vaults.is_empty());
        self.writes.retain(|w| map[w.secret.vault].is_some());
        for write in &mut self.writes {
            write.secret = secret(write.secret).unwrap_or(write.secret);
        }
        if let Some(backup) = &mut self.backup {
            backup.vaults = backup.vaults.iter().filter_map(|v| map[*v]).collect();
        }
        self.backup.take_if(|b| b.vaults.is_empty());
        if let Some(rotator) = &mut self.rotator {
            rotator.secrets = rotator.secrets.iter().filter_map(|s| secret(*s)).collect();
        }
        self.rotator.take_if(|r| r.secrets.is_empty());
        self.cert_sync = self.cert_sync.take().and_then(|c| secret(c.secret).map(|s| CertSync { secret: s, ..c }));
        map
    }

    /// The identities that call Key Vault at all: applications with reads, people, jobs,
    /// Microsoft services, writers.
    pub fn active_identities(&self) -> Vec<IdentityId> {
        let mut active = vec![false; self.identities.len()];
        for app in self.apps.iter().filter(|a| !a.reads.is_empty()) {
            active[app.identity] = true;
        }
        for id in self.people.iter().map(|p| p.identity).chain(self.writes.iter().map(|w| w.by)) {
            active[id] = true;
        }
        for id in self.scanners.iter().map(|s| s.identity) {
            active[id] = true;
        }
        let jobs = [
            self.backup.as_ref().map(|b| b.identity),
            self.rotator.as_ref().map(|r| r.identity),
            self.cert_sync.as_ref().map(|c| c.identity),
        ];
        for id in jobs.into_iter().flatten() {
            active[id] = true;
        }
        (0..active.len()).filter(|i| active[*i]).collect()
    }
}

/// Where an address range is, which decides plausible first octets.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    /// Azure outbound addresses (App Service, AKS load balancers, Functions).
    Azure,
    /// A private endpoint: the caller is seen with its VNet address.
    Private,
    Europe,
    UsEast,
    India,
}

const AZURE_FIRST: &[u8] = &[4, 13, 20, 40, 51, 52, 104];
const EUROPE_FIRST: &[u8] =
    &[62, 77, 78, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 93, 94, 95, 109, 145, 176, 193, 195, 212, 213, 217];
const US_FIRST: &[u8] = &[24, 50, 66, 67, 68, 69, 71, 73, 76, 96, 98, 99, 107, 108, 173, 174];
const INDIA_FIRST: &[u8] = &[49, 103, 106, 117, 122, 157, 182];

/// Builds a [`World`] from the story in [`super::cast`], drawing every identifier from one
/// seeded stream in call order.
pub struct Builder {
    pub rng: Rand,
    world: World,
    /// Every /24 handed out, by this builder or (for another team) an earlier one.
    pub used_prefixes: HashSet<[u8; 3]>,
}

/// What a vault is; the builder derives ids and paths.
pub struct VaultSpec {
    pub name: String,
    pub resource_group: &'static str,
    pub location: &'static str,
    pub env: Env,
    pub auth: Authorization,
    pub purge_protection: bool,
}

/// What a secret is. Ages are in days before the end of the period.
pub struct SecretSpec {
    pub name: &'static str,
    pub content_type: Option<&'static str>,
    pub tags: &'static [(&'static str, &'static str)],
    /// Created this many days before the end of the period (the current version).
    pub age_days: i64,
    /// Expiry, in days after the creation of the current version; `None`: never expires.
    pub valid_days: Option<i64>,
    /// Older versions before the current one.
    pub history: usize,
    pub managed: bool,
}

impl Builder {
    pub fn new(mut rng: Rand, start: Ticks, days: u32, subscriptions: usize) -> (Builder, Vec<String>) {
        let tenant_id = rng::uuid_string(&mut rng);
        let subs = (0..subscriptions).map(|_| rng::uuid_string(&mut rng)).collect();
        let world = World {
            start,
            end: start + i64::from(days) * DAY,
            days,
            tenant_id,
            vaults: Vec::new(),
            identities: Vec::new(),
            apps: Vec::new(),
            people: Vec::new(),
            writes: Vec::new(),
            backup: None,
            rotator: None,
            scanners: Vec::new(),
            cert_sync: None,
        };
        (Builder { rng, world, used_prefixes: HashSet::new() }, subs)
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn finish(self) -> World {
        self.world
    }

    pub fn vault(&mut self, spec: VaultSpec, subscription: &str) -> VaultId {
        let upper = |s: &str| s.to_ascii_uppercase();
        let resource_id = format!(
            "/SUBSCRIPTIONS/{}/RESOURCEGROUPS/{}/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/{}",
            upper(subscription),
            upper(spec.resource_group),
            upper(&spec.name)
        );
        let arm_path = format!(
            "/subscriptions/{subscription}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            spec.resource_group, spec.name
        );
        let service_ip = self.address(Place::Azure);
        let url = format!("https://{}.vault.azure.net/", spec.name);
        self.world.vaults.push(Vault {
            name: spec.name,
            subscription: subscription.to_owned(),
            resource_group: spec.resource_group,
            location: spec.location,
            env: spec.env,
            auth: spec.auth,
            purge_protection: spec.purge_protection,
            resource_id,
            url,
            arm_path,
            service_ip,
            secrets: Vec::new(),
            keys: Vec::new(),
        });
        self.world.vaults.len() - 1
    }

    pub fn secret(&mut self, vault: VaultId, spec: SecretSpec) -> SecretRef {
        let created = self.world.end - spec.age_days * DAY + rng::between(&mut self.rng, 7 * HOUR, 18 * HOUR);
        let mut versions = Vec::with_capacity(spec.history + 1);
        let mut at = created;
        for _ in 0..spec.history {
            at -= rng::between(&mut self.rng, 60 * DAY, 200 * DAY);
            versions.push(at);
        }
        versions.reverse();
        versions.push(created);
        let versions = versions
            .into_iter()
            .map(|created| Version {
                id: rng::version_id(&mut self.rng),
                created,
                expires: spec.valid_days.map(|d| created + d * DAY),
            })
            .collect();
        let secrets = &mut self.world.vaults[vault].secrets;
        secrets.push(Secret {
            name: spec.name,
            content_type: spec.content_type,
            tags: spec.tags,
            managed: spec.managed,
            versions,
            deleted: None,
            unread_from: None,
        });
        SecretRef { vault, index: secrets.len() - 1 }
    }

    /// A secret that first appears inside the period, created by `by` with a `SecretSet`.
    pub fn new_secret(
        &mut self,
        vault: VaultId,
        spec: SecretSpec,
        at: Ticks,
        by: (IdentityId, u8, usize),
    ) -> SecretRef {
        let r = self.secret(vault, SecretSpec { history: 0, ..spec });
        let secret = &mut self.world.vaults[vault].secrets[r.index];
        let valid = secret.versions[0].expires.map(|e| e - secret.versions[0].created);
        secret.versions[0].created = at;
        secret.versions[0].expires = valid.map(|v| at + v);
        self.world.writes.push(Write { secret: r, version: 0, by: by.0, client: by.1, network: by.2 });
        r
    }

    /// A new version of `secret` at `at`, written by `by` (identity, client, network).
    pub fn rotate(&mut self, secret: SecretRef, at: Ticks, valid_days: Option<i64>, by: (IdentityId, u8, usize)) {
        let id = rng::version_id(&mut self.rng);
        let versions = &mut self.world.vaults[secret.vault].secrets[secret.index].versions;
        debug_assert!(versions.last().is_none_or(|v| v.created < at));
        versions.push(Version { id, created: at, expires: valid_days.map(|d| at + d * DAY) });
        let version = versions.len() - 1;
        self.world.writes.push(Write { secret, version, by: by.0, client: by.1, network: by.2 });
    }

    pub fn secret_mut(&mut self, r: SecretRef) -> &mut Secret {
        &mut self.world.vaults[r.vault].secrets[r.index]
    }

    pub fn key(&mut self, vault: VaultId, name: &'static str, age_days: i64) -> KeyRef {
        let created = self.world.end - age_days * DAY;
        let id = rng::version_id(&mut self.rng);
        let keys = &mut self.world.vaults[vault].keys;
        keys.push(Key { name, versions: vec![Version { id, created, expires: None }] });
        KeyRef { vault, index: keys.len() - 1 }
    }

    /// An identity with fresh object (and, for apps, application) ids.
    pub fn identity(&mut self, name: String, kind: IdentityKind, appidacr: &'static str) -> IdentityId {
        let oid = rng::uuid_string(&mut self.rng);
        let appid = match kind {
            IdentityKind::User => String::new(),
            _ => rng::uuid_string(&mut self.rng),
        };
        self.world.identities.push(Identity {
            name,
            kind,
            oid,
            appid,
            upn: None,
            mirid: None,
            appidacr,
            networks: Vec::new(),
            clients: Vec::new(),
            utc_offset: 0,
        });
        self.world.identities.len() - 1
    }

    pub fn identity_mut(&mut self, id: IdentityId) -> &mut Identity {
        &mut self.world.identities[id]
    }

    /// A fresh /24 (never handed out before) with `hosts` distinct addresses in it.
    pub fn network(&mut self, id: IdentityId, label: &'static str, place: Place, hosts: usize) -> usize {
        let prefix = self.prefix(place);
        let network = self.hosts_in(prefix, label, hosts);
        let networks = &mut self.world.identities[id].networks;
        networks.push(network);
        networks.len() - 1
    }

    /// A network shared with another identity's (an office, a VPN egress).
    pub fn share_network(&mut self, id: IdentityId, from: IdentityId, network: usize, hosts: usize) -> usize {
        let source = &self.world.identities[from].networks[network];
        let o = source.hosts[0].octets();
        let label = source.label;
        let network = self.hosts_in([o[0], o[1], o[2]], label, hosts);
        let networks = &mut self.world.identities[id].networks;
        networks.push(network);
        networks.len() - 1
    }

    fn hosts_in(&mut self, prefix: [u8; 3], label: &'static str, hosts: usize) -> Network {
        let mut picked: Vec<Ipv4Addr> = Vec::with_capacity(hosts);
        while picked.len() < hosts {
            let host = 4 + rng::pick(&mut self.rng, 246) as u8;
            let ip = Ipv4Addr::new(prefix[0], prefix[1], prefix[2], host);
            if !picked.contains(&ip) {
                picked.push(ip);
            }
        }
        Network { label, hosts: picked }
    }

    fn prefix(&mut self, place: Place) -> [u8; 3] {
        loop {
            let first = match place {
                Place::Private => 10,
                Place::Azure => AZURE_FIRST[rng::pick(&mut self.rng, AZURE_FIRST.len())],
                Place::Europe => EUROPE_FIRST[rng::pick(&mut self.rng, EUROPE_FIRST.len())],
                Place::UsEast => US_FIRST[rng::pick(&mut self.rng, US_FIRST.len())],
                Place::India => INDIA_FIRST[rng::pick(&mut self.rng, INDIA_FIRST.len())],
            };
            let prefix = [first, 1 + rng::pick(&mut self.rng, 253) as u8, rng::pick(&mut self.rng, 255) as u8];
            if self.used_prefixes.insert(prefix) {
                return prefix;
            }
        }
    }

    /// One address outside every network handed out so far.
    pub fn address(&mut self, place: Place) -> Ipv4Addr {
        let p = self.prefix(place);
        Ipv4Addr::new(p[0], p[1], p[2], 4 + rng::pick(&mut self.rng, 246) as u8)
    }

    pub fn app(
        &mut self,
        identity: IdentityId,
        profile: &'static Profile,
        utc_offset_hours: i64,
        weekend: f64,
    ) -> usize {
        self.world.apps.push(App {
            identity,
            profile,
            utc_offset: utc_offset_hours * HOUR,
            weekend,
            reads: Vec::new(),
            restarts_per_day: 1.0,
        });
        self.world.apps.len() - 1
    }

    /// A steady read; the switch lag after rotations is drawn here (20 minutes to 4 hours).
    pub fn read(&mut self, app: usize, target: ReadTarget, peak_per_hour: f64) -> &mut Read {
        let lag = rng::between(&mut self.rng, 20 * MINUTE, 4 * HOUR);
        let reads = &mut self.world.apps[app].reads;
        reads.push(Read { target, peak_per_hour, from: None, until: None, lag, stuck: false, client: 0 });
        let last = reads.len() - 1;
        &mut reads[last]
    }

    pub fn person(&mut self, person: Person) {
        self.world.people.push(person);
    }

    pub fn set_backup(&mut self, backup: Backup) {
        self.world.backup = Some(backup);
    }

    pub fn set_rotator(&mut self, rotator: Rotator) {
        self.world.rotator = Some(rotator);
    }

    pub fn scanner(&mut self, scanner: Scanner) {
        self.world.scanners.push(scanner);
    }

    pub fn set_cert_sync(&mut self, sync: CertSync) {
        self.world.cert_sync = Some(sync);
    }
}
