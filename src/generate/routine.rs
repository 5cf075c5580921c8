//! Scheduled, ordinary activity of one day: the nightly backup, the rotation function's
//! checks, the secret writes of the period, Microsoft services reading vault configuration,
//! App Service fetching its certificate, and Key Vault's own expiry notifications.
//!
//! These are bursts or cadences that a naive detector might mistake for incidents (the
//! backup lists a vault and reads every secret in three minutes, every night at 02:00): they
//! are in the data precisely so that baselines have to learn them. None of them is planted.

use super::event::{Caller, Event, Op, Target};
use super::rng::{self, Rand};
use super::time::{DAY, MINUTE, SECOND, Ticks};
use super::world::{IdentityId, World};

/// The routine events of day `day` (0-based) of the period.
pub fn day(world: &World, day: i64, rng: &mut Rand) -> Vec<Event> {
    let day_start = world.start + day * DAY;
    let mut out = Vec::new();
    backup(world, day_start, rng, &mut out);
    rotator(world, day_start, rng, &mut out);
    writes(world, day_start, rng, &mut out);
    scanners(world, day_start, rng, &mut out);
    cert_sync(world, day_start, rng, &mut out);
    notifications(world, day_start, rng, &mut out);
    out
}

fn caller(world: &World, id: IdentityId, network: usize, host: usize, client: u8) -> Caller {
    let hosts = &world.identities[id].networks[network].hosts;
    Caller::Identity { id, ip: hosts[host % hosts.len()], client }
}

fn backup(world: &World, day_start: Ticks, rng: &mut Rand, out: &mut Vec<Event>) {
    let Some(job) = &world.backup else { return };
    let who = caller(world, job.identity, 0, 0, 0);
    let mut t = day_start + job.at + rng::between(rng, 0, 90 * SECOND);
    for &v in &job.vaults {
        out.push(Event::new(rng, t, v, Op::SecretList, who, Target::Secrets, 200));
        for (index, secret) in world.vaults[v].secrets.iter().enumerate() {
            t += rng::between(rng, 2 * SECOND / 10, 2 * SECOND);
            if !secret.browsable_at(t) {
                continue;
            }
            let target = Target::Secret { index, version: secret.version_at(t), pinned: false };
            out.push(Event::new(rng, t, v, Op::SecretGet, who, target, 200));
        }
        t += rng::between(rng, 5 * SECOND, 20 * SECOND);
    }
}

fn rotator(world: &World, day_start: Ticks, rng: &mut Rand, out: &mut Vec<Event>) {
    let Some(job) = &world.rotator else { return };
    let mut t = day_start + job.at + rng::between(rng, 0, 2 * MINUTE);
    for (i, &s) in job.secrets.iter().enumerate() {
        t += rng::between(rng, SECOND, 3 * SECOND);
        if !world.secret(s).exists_at(t) {
            continue;
        }
        let who = caller(world, job.identity, 0, i, 0);
        let target = Target::Secret { index: s.index, version: world.secret(s).version_at(t), pinned: false };
        out.push(Event::new(rng, t, s.vault, Op::SecretListVersions, who, target, 200));
    }
}

fn writes(world: &World, day_start: Ticks, rng: &mut Rand, out: &mut Vec<Event>) {
    for write in &world.writes {
        let t = world.secret(write.secret).versions[write.version].created;
        if !(day_start..day_start + DAY).contains(&t) {
            continue;
        }
        let who = caller(world, write.by, write.network, 0, write.client);
        let target = Target::Secret { index: write.secret.index, version: write.version, pinned: false };
        out.push(Event::new(rng, t, write.secret.vault, Op::SecretSet, who, target, 200));
    }
}

fn scanners(world: &World, day_start: Ticks, rng: &mut Rand, out: &mut Vec<Event>) {
    for (s, scanner) in world.scanners.iter().enumerate() {
        for v in 0..world.vaults.len() {
            // A fixed phase per vault and scanner, so that the cadence is regular.
            let phase = ((v as i64 * 37 + s as i64 * 11) * MINUTE) % scanner.every;
            let mut k = 0;
            let mut t = day_start + phase;
            while t < day_start + DAY {
                let at = t + rng::between(rng, 0, 10 * MINUTE);
                let who = caller(world, scanner.identity, 0, k, 0);
                out.push(Event::new(rng, at, v, Op::VaultGet, who, Target::Vault, 200));
                k += 1;
                t += scanner.every;
            }
        }
    }
}

fn cert_sync(world: &World, day_start: Ticks, rng: &mut Rand, out: &mut Vec<Event>) {
    let Some(sync) = &world.cert_sync else { return };
    let secret = world.secret(sync.secret);
    let mut k = 0;
    let mut t = day_start + 50 * MINUTE;
    while t < day_start + DAY {
        let at = t + rng::between(rng, 0, 15 * MINUTE);
        if secret.exists_at(at) {
            let who = caller(world, sync.identity, 0, k, 0);
            let target = Target::Secret { index: sync.secret.index, version: secret.version_at(at), pinned: false };
            out.push(Event::new(rng, at, sync.secret.vault, Op::SecretGet, who, target, 200));
        }
        k += 1;
        t += sync.every;
    }
}

/// Key Vault's Event Grid notifications: 30 days before a current version expires, and when
/// it expires, each logged a few minutes after the instant.
fn notifications(world: &World, day_start: Ticks, rng: &mut Rand, out: &mut Vec<Event>) {
    let today = day_start..day_start + DAY;
    for (v, vault) in world.vaults.iter().enumerate() {
        for (index, secret) in vault.secrets.iter().enumerate() {
            for (version, ver) in secret.versions.iter().enumerate() {
                let Some(exp) = ver.expires else { continue };
                for (at, op) in [
                    (exp - 30 * DAY, Op::SecretNearExpiryEventGridNotification),
                    (exp, Op::SecretExpiredEventGridNotification),
                ] {
                    let at = at + rng::between(rng, 30 * SECOND, 8 * MINUTE);
                    if today.contains(&at) && secret.exists_at(at) && secret.version_at(at) == version {
                        let target = Target::Secret { index, version, pinned: false };
                        out.push(Event::new(rng, at, v, op, Caller::Service, target, 200));
                    }
                }
            }
        }
    }
}
