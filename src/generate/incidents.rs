//! Planted incidents: the unusual access a detector should catch, and the practice findings
//! that only exist as events (role mixing, credentials in logs, sensitive operations).
//!
//! Each scenario is a short, realistic story with a believable magnitude: a retry storm of
//! eight times the usual rate, a developer's session pulling nine secrets in four minutes,
//! a leaked client secret used from an unknown address. Unusual access happens in the last
//! third of the period, so that there are at least twenty days of history before it.
//!
//! A scenario either adds scripted events (returned in [`Plan::events`]) or changes steady
//! traffic through [`Modifiers`]; it always adds its [`Incident`]s to the truth. Secondary
//! findings a scenario inherently implies (the `VaultPut` of the role-mixing story is also
//! a sensitive operation) are listed too.

use std::net::Ipv4Addr;

use super::cast::Handles;
use super::event::{Caller, Event, Leak, Op, Target};
use super::rng::{self, Rand};
use super::time::{DAY, HOUR, MINUTE, SECOND, Ticks, date_text, weekday};
use super::truth::{Incident, Who, incident};
use super::world::{IdentityId, VaultId, World};

/// Changes planted incidents make to steady traffic.
#[derive(Debug, Default)]
pub struct Modifiers {
    /// (application index, from, until, factor): a volume spike.
    spikes: Vec<(usize, Ticks, Ticks, f64)>,
    /// (identity, vault, from, until): every call refused.
    denials: Vec<(IdentityId, VaultId, Ticks, Ticks)>,
    /// (identity, from, until, leak): a credential in what the client sends.
    leaks: Vec<(IdentityId, Ticks, Ticks, Leak)>,
}

impl Modifiers {
    /// Rate multiplier for application `app` in the hour starting at `t`.
    pub fn rate_factor(&self, app: usize, t: Ticks) -> f64 {
        self.spikes
            .iter()
            .filter(|(a, from, until, _)| *a == app && (*from..*until).contains(&t))
            .map(|s| s.3)
            .product()
    }

    pub fn denied(&self, identity: IdentityId, vault: VaultId, t: Ticks) -> bool {
        self.denials.iter().any(|(i, v, from, until)| *i == identity && *v == vault && (*from..*until).contains(&t))
    }

    pub fn leak(&self, identity: IdentityId, t: Ticks) -> Option<Box<Leak>> {
        self.leaks
            .iter()
            .find(|(i, from, until, _)| *i == identity && (*from..*until).contains(&t))
            .map(|(.., leak)| Box::new(leak.clone()))
    }
}

/// Everything the incidents add.
#[derive(Debug, Default)]
pub struct Plan {
    pub modifiers: Modifiers,
    /// Scripted events, in no particular order.
    pub events: Vec<Event>,
    pub truth: Vec<Incident>,
}

/// Scripted calls by one caller.
struct Script<'a> {
    world: &'a World,
    rng: &'a mut Rand,
    events: &'a mut Vec<Event>,
}

impl Script<'_> {
    fn call(&mut self, t: Ticks, who: Caller, vault: VaultId, op: Op, target: Target, status: u16) {
        let ev = Event::new(self.rng, t, vault, op, who, target, status);
        self.events.push(ev);
    }

    /// A versionless read of the secret named `name` in `vault`, as of `t`.
    fn get(&mut self, t: Ticks, who: Caller, vault: VaultId, index: usize) {
        let secret = &self.world.vaults[vault].secrets[index];
        let target = Target::Secret { index, version: secret.version_at(t), pinned: false };
        self.call(t, who, vault, Op::SecretGet, target, 200);
    }

    /// Secrets of `vault` a person could open at `t` (existing, not planted stale, not a
    /// certificate's), in vault order.
    fn browsable(&self, vault: VaultId, t: Ticks) -> Vec<usize> {
        self.world.vaults[vault]
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.browsable_at(t) && !s.managed)
            .map(|(i, _)| i)
            .collect()
    }

    fn index(&self, vault: VaultId, name: &str) -> usize {
        self.world.vaults[vault].secrets.iter().position(|s| s.name == name).unwrap_or(0)
    }

    fn gap(&mut self, lo_s: i64, hi_s: i64) -> Ticks {
        rng::between(self.rng, lo_s * SECOND, hi_s * SECOND)
    }
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn person_ip(world: &World, id: IdentityId, network: usize) -> Ipv4Addr {
    world.identities[id].networks[network].hosts[0]
}

/// Plants every incident in `world` whose vaults it has (a small world, `--vaults`, lacks
/// some: their stories are not planted, and not in the truth).
pub fn plan(world: &World, h: &Handles, rng: &mut Rand) -> Plan {
    let mut plan = Plan::default();
    let mut events = Vec::new();
    let mut s = Script { world, rng, events: &mut events };
    let vname = |v: VaultId| Some(world.vaults[v].name.as_str());
    // Small worlds (`--vaults`) lack some vaults: a story needing one is not planted.
    let has = |v: VaultId| v < world.vaults.len();
    let name = |id: IdentityId| world.identities[id].name.as_str();
    // A person as the truth's descriptions name them: the user part of the UPN.
    let user = |id: IdentityId| {
        let upn = world.identities[id].upn.as_deref().unwrap_or_default();
        upn.split('@').next().unwrap_or_default()
    };
    let window_of = |evs: &[Event]| {
        let first = evs.iter().map(|e| e.time).min().unwrap_or(0);
        let last = evs.iter().map(|e| e.time).max().unwrap_or(0);
        (first, last + SECOND)
    };

    // volume_spike: a deployment of the web frontend ships a cache bug; for two hours every
    // request re-reads its secrets, eight times the usual rate.
    if has(h.web_prod) {
        let from = world.at(0.72, 13, 0);
        plan.modifiers.spikes.push((h.web_frontend_app, from, from + 2 * HOUR, 8.0));
        let who = Who::app(world, h.web_frontend);
        plan.truth.push(incident(
        "volume_spike",
        vname(h.web_prod),
        Some(&who),
        None,
        None,
        (from, from + 2 * HOUR),
        format!("{} read its secrets at about eight times its usual rate for two hours (a cache bug after a deployment)", name(h.web_frontend)),
    ));
    }

    // enumeration: bob lists kv-data-prod from the CLI and then reads every secret listed.
    if has(h.data_prod) {
        let t0 = world.workday_at(0.74, 16, 10);
        let who_c = Caller::Identity { id: h.bob, ip: person_ip(world, h.bob, 1), client: 0 };
        let mark = s.events.len();
        s.call(t0, who_c, h.data_prod, Op::SecretList, Target::Secrets, 200);
        let mut t = t0;
        for index in s.browsable(h.data_prod, t0) {
            t += s.gap(15, 45);
            s.get(t, who_c, h.data_prod, index);
        }
        let n = s.events.len() - mark - 1;
        plan.truth.push(incident(
            "enumeration",
            vname(h.data_prod),
            Some(&Who::person(world, h.bob, 0)),
            None,
            Some(person_ip(world, h.bob, 1).to_string()),
            window_of(&s.events[mark..]),
            format!(
                "{} listed {} and then read {n} of the listed secrets within minutes (usually one to three a session)",
                user(h.bob),
                world.vaults[h.data_prod].name
            ),
        ));
    }

    // mass_retrieval: erin's CLI session reads every secret of kv-web-prod by name, no list.
    if has(h.web_prod) {
        let t0 = world.workday_at(0.76, 14, 5);
        let who_c = Caller::Identity { id: h.erin, ip: person_ip(world, h.erin, 0), client: 1 };
        let mark = s.events.len();
        let mut t = t0;
        for index in s.browsable(h.web_prod, t0) {
            s.get(t, who_c, h.web_prod, index);
            t += s.gap(12, 35);
        }
        let n = s.events.len() - mark;
        plan.truth.push(incident(
            "mass_retrieval",
            vname(h.web_prod),
            Some(&Who::person(world, h.erin, 1)),
            None,
            Some(person_ip(world, h.erin, 0).to_string()),
            window_of(&s.events[mark..]),
            format!(
                "{} read {n} distinct secrets of {} in a few minutes from the CLI (usually one or two)",
                user(h.erin),
                world.vaults[h.web_prod].name
            ),
        ));
    }

    // sensitive_operation: bob backs up four payment secrets (a backup blob is the secret,
    // encrypted for any vault of the tenant).
    if has(h.pay_prod) {
        let t0 = world.workday_at(0.78, 15, 20);
        let who_c = Caller::Identity { id: h.bob, ip: person_ip(world, h.bob, 1), client: 0 };
        let mark = s.events.len();
        let mut t = t0;
        for name in ["db-password", "stripe-api-key", "ledger-db-password", "fraud-model-api-key"] {
            let index = s.index(h.pay_prod, name);
            let version = world.vaults[h.pay_prod].secrets[index].version_at(t);
            s.call(t, who_c, h.pay_prod, Op::SecretBackup, Target::Secret { index, version, pinned: false }, 200);
            t += s.gap(20, 60);
        }
        plan.truth.push(incident(
        "sensitive_operation",
        vname(h.pay_prod),
        Some(&Who::person(world, h.bob, 0)),
        None,
        Some(person_ip(world, h.bob, 1).to_string()),
        window_of(&s.events[mark..]),
        format!("{} ran SecretBackup on four {} secrets (db-password, stripe-api-key, ledger-db-password, fraud-model-api-key)", user(h.bob), world.vaults[h.pay_prod].name),
    ));
    }

    // new_identity: a reporting tool's new service principal starts reading kv-data-prod.
    if has(h.data_prod) && !world.apps[h.reporting_app].reads.is_empty() {
        let who = Who::app(world, h.reporting_etl);
        plan.truth.push(incident(
            "new_identity",
            vname(h.data_prod),
            Some(&who),
            Some("reporting-readonly-conn"),
            Some(world.identities[h.reporting_etl].networks[0].hosts[0].to_string()),
            (h.reporting_from, h.reporting_from + 12 * HOUR),
            format!(
                "{}, never seen before, started reading {}/reporting-readonly-conn",
                name(h.reporting_etl),
                world.vaults[h.data_prod].name
            ),
        ));
    }

    // new_ip: the payments API's client secret is used from an address outside Azure.
    if has(h.pay_prod) {
        let t0 = world.at(0.85, 21, 10);
        let who_c = Caller::Identity { id: h.payments_api, ip: h.stolen_from, client: h.stolen_client };
        let mark = s.events.len();
        let names = ["db-password", "stripe-api-key"];
        let mut t = t0;
        for i in 0..14 {
            let index = s.index(h.pay_prod, names[i % 2]);
            s.get(t, who_c, h.pay_prod, index);
            t += s.gap(40, 170);
        }
        plan.truth.push(incident(
        "new_ip",
        vname(h.pay_prod),
        Some(&Who::app(world, h.payments_api)),
        None,
        Some(h.stolen_from.to_string()),
        window_of(&s.events[mark..]),
        format!(
            "{}'s credential read db-password and stripe-api-key from {}, outside its Azure egress range, with a Windows Python client",
            name(h.payments_api), h.stolen_from
        ),
    ));
    }

    // denied_burst: web-frontend's role assignment is removed by mistake; for 25 minutes
    // every read is refused and the SDK retries.
    if has(h.web_prod) {
        let from = world.at(0.86, 10, 5);
        let until = from + 25 * MINUTE;
        plan.modifiers.denials.push((h.web_frontend, h.web_prod, from, until));
        let hosts = world.identities[h.web_frontend].networks[0].hosts.clone();
        for i in 0..45 {
            let t = from + rng::between(s.rng, 0, until - from);
            let who_c = Caller::Identity { id: h.web_frontend, ip: hosts[i % hosts.len()], client: 0 };
            let index = s.index(h.web_prod, if i % 3 == 0 { "redis-password" } else { "session-secret" });
            let version = world.vaults[h.web_prod].secrets[index].version_at(t);
            s.call(t, who_c, h.web_prod, Op::SecretGet, Target::Secret { index, version, pinned: false }, 403);
        }
        plan.truth.push(incident(
            "denied_burst",
            vname(h.web_prod),
            Some(&Who::app(world, h.web_frontend)),
            None,
            None,
            (from, until),
            format!(
                "{} was refused (403) on every read of {} for 25 minutes after its role assignment was removed",
                name(h.web_frontend),
                world.vaults[h.web_prod].name
            ),
        ));
    }

    // denied_burst across vaults: the test pipeline's credential probes every vault.
    let ip = world.identities[h.data_pipeline_test].networks[0].hosts[0];
    if has(h.data_test) && world.vaults.len() >= 2 {
        let t0 = world.workday_at(0.93, 15, 0);
        let who_c = Caller::Identity { id: h.data_pipeline_test, ip, client: 0 };
        s.call(t0, who_c, h.data_test, Op::SecretList, Target::Secrets, 200);
        let mark = s.events.len();
        let mut t = t0;
        let mut probed = Vec::new();
        for v in 0..world.vaults.len() {
            if v == h.data_test {
                continue;
            }
            probed.push(world.vaults[v].name.as_str());
            for op in [Op::SecretList, Op::SecretList, Op::SecretGet, Op::SecretGet] {
                t += s.gap(4, 20);
                let target =
                    if op == Op::SecretList { Target::Secrets } else { Target::Missing { name: "sql-password" } };
                s.call(t, who_c, v, op, target, 403);
            }
        }
        plan.truth.push(incident(
            "denied_burst",
            None,
            Some(&Who::app(world, h.data_pipeline_test)),
            None,
            Some(ip.to_string()),
            window_of(&s.events[mark..]),
            format!(
                "{} was refused {} times across {} vaults in minutes: {}",
                name(h.data_pipeline_test),
                4 * probed.len(),
                probed.len(),
                probed.join(", ")
            ),
        ));
    }

    // role_mixing (and a sensitive VaultPut): dave grants himself secret access on
    // kv-shared-prod in the portal, then reads three secrets.
    if has(h.shared_prod) {
        let t0 = world.workday_at(0.82, 9, 12);
        let who_c = Caller::Identity { id: h.dave, ip: person_ip(world, h.dave, 0), client: 0 };
        let mark = s.events.len();
        s.call(t0, who_c, h.shared_prod, Op::VaultGet, Target::Vault, 200);
        let put = t0 + s.gap(30, 60);
        s.call(put, who_c, h.shared_prod, Op::VaultPut, Target::Vault, 200);
        if let Some(last) = s.events.last_mut() {
            last.policy_change = true;
        }
        let notified = put + s.gap(2, 6);
        s.call(
            notified,
            Caller::Service,
            h.shared_prod,
            Op::VaultAccessPolicyChangedEventGridNotification,
            Target::Vault,
            200,
        );
        let mut t = put + 8 * MINUTE;
        s.call(t, who_c, h.shared_prod, Op::SecretList, Target::Secrets, 200);
        for name in ["grafana-admin-password", "github-app-private-key", "smtp-password"] {
            t += s.gap(20, 50);
            let index = s.index(h.shared_prod, name);
            s.get(t, who_c, h.shared_prod, index);
        }
        let dave = Who::person(world, h.dave, 0);
        plan.truth.push(incident(
            "role_mixing",
            vname(h.shared_prod),
            Some(&dave),
            None,
            Some(person_ip(world, h.dave, 0).to_string()),
            window_of(&s.events[mark..]),
            format!(
                "{} changed {}'s access policies (VaultPut) and minutes later read three of its secrets",
                user(h.dave),
                world.vaults[h.shared_prod].name
            ),
        ));
        plan.truth.push(incident(
            "sensitive_operation",
            vname(h.shared_prod),
            Some(&dave),
            None,
            Some(person_ip(world, h.dave, 0).to_string()),
            (put, put + SECOND),
            format!(
                "{} changed the access policies of {} (VaultPut granting himself Get and List on secrets)",
                user(h.dave),
                world.vaults[h.shared_prod].name
            ),
        ));
    }

    // sensitive_operation: carol deletes and purges the migration token in kv-data-test.
    if has(h.data_test)
        && let Some(deleted) = world.secret(h.tmp_migration_token).deleted
    {
        let token = world.secret(h.tmp_migration_token);
        let who_c = Caller::Identity { id: h.carol, ip: person_ip(world, h.carol, 0), client: 0 };
        let version = token.versions.len() - 1;
        let target = Target::Secret { index: h.tmp_migration_token.index, version, pinned: false };
        s.call(deleted, who_c, h.data_test, Op::SecretDelete, target, 200);
        let purged = deleted + s.gap(25, 50);
        s.call(purged, who_c, h.data_test, Op::SecretPurge, target, 204);
        plan.truth.push(incident(
            "sensitive_operation",
            vname(h.data_test),
            Some(&Who::person(world, h.carol, 0)),
            Some(token.name),
            Some(person_ip(world, h.carol, 0).to_string()),
            (deleted, purged + SECOND),
            format!(
                "{} deleted and then purged {}/tmp-migration-token (a purge cannot be undone)",
                user(h.carol),
                world.vaults[h.data_test].name
            ),
        ));
    }

    // unusual_time: alice reads payment secrets at 03:10 her time on a Sunday night.
    if has(h.pay_dev) {
        let first = world.day_at(0.7);
        let sunday =
            (first..i64::from(world.days)).find(|d| weekday(world.start + d * DAY) == 6).unwrap_or(world.day_at(0.9));
        let t0 = world.start + sunday * DAY + 2 * HOUR + 10 * MINUTE;
        let who_c = Caller::Identity { id: h.alice, ip: person_ip(world, h.alice, 1), client: 1 };
        let mark = s.events.len();
        s.call(t0, who_c, h.pay_dev, Op::SecretList, Target::Secrets, 200);
        let mut t = t0;
        for name in ["db-password", "stripe-api-key", "test-merchant-key"] {
            t += s.gap(20, 90);
            let index = s.index(h.pay_dev, name);
            s.get(t, who_c, h.pay_dev, index);
        }
        plan.truth.push(incident(
            "unusual_time",
            vname(h.pay_dev),
            Some(&Who::person(world, h.alice, 1)),
            None,
            Some(person_ip(world, h.alice, 1).to_string()),
            window_of(&s.events[mark..]),
            format!(
                "{} (UTC+1, weekdays 08–18) read {} secrets at 03:10 local time on Sunday {}",
                user(h.alice),
                world.vaults[h.pay_dev].name,
                date_text(t0)
            ),
        ));
    }

    // secret_in_log: a test pipeline release appends its storage SAS token to every Key Vault
    // URL for six hours, until it is rolled back.
    if has(h.data_test) {
        let from = world.workday_at(0.75, 8, 0);
        let until = from + 6 * HOUR;
        let sig = rng::token(s.rng, B64, 43);
        let query = format!(
            "&sv=2022-11-02&ss=b&srt=sco&sp=rl&se={}T00:00:00Z&st={}T00:00:00Z&spr=https&sig={}%3D",
            date_text(world.end + 60 * DAY),
            date_text(from - 2 * DAY),
            sig.replace('+', "%2B").replace('/', "%2F")
        );
        let explanation = format!(
            "{}'s requests carried a storage SAS token (sig=…) in requestUri for six hours",
            name(h.data_pipeline_test)
        );
        let leak = LeakStory { who: h.data_pipeline_test, ip, vault: h.data_test, secret: "sql-password" };
        plant_leak(&mut s, &mut plan, leak, from + 7 * MINUTE, (from, until), Leak::Query(query), explanation);
    }

    // secret_in_log: build agents put a storage connection string into their User-Agent.
    if has(h.shared_prod) {
        let from = world.workday_at(0.8, 13, 0);
        let until = from + 3 * HOUR;
        let key = rng::token(s.rng, B64, 86);
        let info = format!(
            "AZURECLI/2.64.0 (DEB) (AzureDevOps) AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=stbuildcache01;AccountKey={key}==;EndpointSuffix=core.windows.net azsdk-python-keyvault-secrets/4.8.0 Python/3.11.8"
        );
        let ip = world.identities[h.build_agent].networks[0].hosts[0];
        let explanation = format!(
            "{}'s clientInfo carried a storage account connection string (AccountKey=…) for three hours",
            name(h.build_agent)
        );
        let leak = LeakStory { who: h.build_agent, ip, vault: h.shared_prod, secret: "dockerhub-token" };
        plant_leak(&mut s, &mut plan, leak, from + 4 * MINUTE, (from, until), Leak::ClientInfo(info), explanation);
    }

    // secret_in_log: after a dependency upgrade, the platform gateway's Go client sends its
    // Entra access token in the request-id header; Key Vault says the header is malformed and
    // echoes it in resultDescription, for two hours until the upgrade is reverted.
    if has(h.shared_prod) {
        let from = world.workday_at(0.85, 10, 0);
        let until = from + 2 * HOUR;
        let gateway = &world.identities[h.platform_gateway];
        let token = jwt(s.rng, &world.tenant_id, &gateway.appid, &gateway.oid, from);
        let text = format!("Request header x-ms-client-request-id is not a valid GUID and was ignored: '{token}'");
        let ip = gateway.networks[0].hosts[0];
        let explanation = format!(
            "{}'s access token (a JWT) was echoed in resultDescription for two hours",
            name(h.platform_gateway)
        );
        let leak = LeakStory { who: h.platform_gateway, ip, vault: h.shared_prod, secret: "smtp-password" };
        plant_leak(&mut s, &mut plan, leak, from + 2 * MINUTE, (from, until), Leak::Description(text), explanation);
    }

    plan.events = events;
    plan
}

/// Who leaks a credential, and the secret whose scripted read is sure to carry it.
struct LeakStory {
    who: IdentityId,
    ip: Ipv4Addr,
    vault: VaultId,
    secret: &'static str,
}

/// A `secret_in_log` story: every record `leak.who` sends in `period` carries `leak` (the
/// modifier on steady traffic), one scripted read at `read_at` makes sure at least one
/// record does, and the truth says so. The order of the calls is the order the stories were
/// first written in, so the generated bytes do not depend on this helper.
fn plant_leak(
    s: &mut Script,
    plan: &mut Plan,
    story: LeakStory,
    read_at: Ticks,
    period: (Ticks, Ticks),
    leak: Leak,
    explanation: String,
) {
    plan.modifiers.leaks.push((story.who, period.0, period.1, leak.clone()));
    let caller = Caller::Identity { id: story.who, ip: story.ip, client: 0 };
    let index = s.index(story.vault, story.secret);
    s.get(read_at, caller, story.vault, index);
    if let Some(last) = s.events.last_mut() {
        last.leak = Some(Box::new(leak));
    }
    let world = s.world;
    plan.truth.push(incident(
        "secret_in_log",
        Some(world.vaults[story.vault].name.as_str()),
        Some(&Who::app(world, story.who)),
        None,
        None,
        period,
        explanation,
    ));
}

/// An Entra access token for Key Vault, shaped like the real ones: base64url header and
/// claims, and a 2048-bit RS256 signature's worth of random base64url.
fn jwt(rng: &mut Rand, tenant: &str, appid: &str, oid: &str, issued: Ticks) -> String {
    use base64::Engine;
    const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let kid = rng::token(rng, B64URL, 27);
    let header = enc(&format!(r#"{{"typ":"JWT","alg":"RS256","x5t":"{kid}","kid":"{kid}"}}"#));
    let iat = super::time::unix_seconds(issued);
    let claims = enc(&format!(
        r#"{{"aud":"https://vault.azure.net","iss":"https://sts.windows.net/{tenant}/","iat":{iat},"nbf":{iat},"exp":{},"appid":"{appid}","appidacr":"1","idtyp":"app","oid":"{oid}","tid":"{tenant}","ver":"1.0"}}"#,
        iat + 3600
    ));
    format!("{header}.{claims}.{}", rng::token(rng, B64URL, 342))
}
