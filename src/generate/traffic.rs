//! Steady application traffic, one hour at a time.
//!
//! Each application reads its secrets and keys at its own rate, shaped by its daily profile
//! in the local time of the users it serves and damped at weekends; counts per hour are
//! Poisson-like and times uniform within the hour. A read returns the version current at
//! its time, except in the lag after a rotation (the consumer still asks for the previous
//! version by id) and for a stuck consumer, which keeps the version it was deployed with.
//! Instances call from their own fixed addresses. Every restart of a client starts with a
//! token-less request that Key Vault answers 401.
//!
//! Planted incidents reach in only through [`Modifiers`] (rate multipliers, refusal windows,
//! leaked credentials); everything else here is ordinary.

use super::event::{Caller, Event, Op, Target};
use super::incidents::Modifiers;
use super::rng::{self, Rand};
use super::time::{HOUR, Ticks, hour_of_day, weekday};
use super::world::{App, Read, ReadTarget, World};

/// Appends the steady events of the hour starting at `hour_start` to `out` (one bucket per
/// vault).
pub fn hour(world: &World, mods: &Modifiers, hour_start: Ticks, scale: f64, rng: &mut Rand, out: &mut [Vec<Event>]) {
    let hour_end = hour_start + HOUR;
    for (index, app) in world.apps.iter().enumerate() {
        let local = hour_start + app.utc_offset;
        let weekend = if weekday(local) >= 5 { app.weekend } else { 1.0 };
        let rate = app.profile.0[hour_of_day(local) as usize] * weekend * scale * mods.rate_factor(index, hour_start);
        let mut active = false;
        for read in &app.reads {
            if read.from.is_some_and(|f| f >= hour_end) || read.until.is_some_and(|u| u <= hour_start) {
                continue;
            }
            active = true;
            for _ in 0..rng::count(rng, rate * read.peak_per_hour) {
                let t = hour_start + rng::between(rng, 0, HOUR);
                if let Some(ev) = read_event(world, mods, app, read, t, rng) {
                    out[ev.vault].push(ev);
                }
            }
        }
        if active {
            challenges(world, app, hour_start, scale, rng, out);
        }
    }
}

fn read_event(world: &World, mods: &Modifiers, app: &App, read: &Read, t: Ticks, rng: &mut Rand) -> Option<Event> {
    if !read.active_at(t) {
        return None;
    }
    let identity = &world.identities[app.identity];
    let hosts = &identity.networks[0].hosts;
    let ip = hosts[rng::pick(rng, hosts.len())];
    let vault = read.target.vault();
    let (op, target, mut status) = match read.target {
        ReadTarget::Secret(s) => {
            let secret = world.secret(s);
            if !secret.exists_at(t) {
                return None;
            }
            let current = secret.version_at(t);
            let (version, pinned) = if read.stuck {
                // Deployed with the version current when the period began, by id.
                (secret.version_at(world.start), true)
            } else if current > 0
                && secret.versions[current].created >= world.start
                && t < secret.versions[current].created + read.lag
            {
                (current - 1, true)
            } else {
                (current, false)
            };
            (Op::SecretGet, Target::Secret { index: s.index, version, pinned }, 200)
        }
        ReadTarget::Missing { name, .. } => (Op::SecretGet, Target::Missing { name }, 404),
        ReadTarget::Key { key, op } => {
            let version = world.key(key).versions.len() - 1;
            (op, Target::Key { index: key.index, version }, 200)
        }
    };
    if mods.denied(app.identity, vault, t) {
        status = 403;
    }
    let caller = Caller::Identity { id: app.identity, ip, client: read.client };
    let mut ev = Event::new(rng, t, vault, op, caller, target, status);
    ev.leak = mods.leak(app.identity, t);
    Some(ev)
}

/// The 401s of client restarts: one per instance and restart, before its first real call.
fn challenges(world: &World, app: &App, hour_start: Ticks, scale: f64, rng: &mut Rand, out: &mut [Vec<Event>]) {
    let identity = &world.identities[app.identity];
    let hosts = &identity.networks[0].hosts;
    let mean = app.restarts_per_day * hosts.len() as f64 * scale / 24.0;
    for _ in 0..rng::count(rng, mean) {
        let t = hour_start + rng::between(rng, 0, HOUR);
        let Some(read) = app.reads.iter().find(|r| r.active_at(t)) else {
            continue;
        };
        let target = match read.target {
            ReadTarget::Secret(s) if world.secret(s).exists_at(t) => {
                Target::Secret { index: s.index, version: world.secret(s).version_at(t), pinned: false }
            }
            ReadTarget::Missing { name, .. } => Target::Missing { name },
            ReadTarget::Key { key, .. } => Target::Key { index: key.index, version: world.key(key).versions.len() - 1 },
            ReadTarget::Secret(_) => continue,
        };
        let op = match read.target {
            ReadTarget::Key { op, .. } => op,
            _ => Op::SecretGet,
        };
        let ip = hosts[rng::pick(rng, hosts.len())];
        let caller = Caller::Anonymous { id: app.identity, ip, client: read.client };
        let ev = Event::new(rng, t, read.target.vault(), op, caller, target, 401);
        out[ev.vault].push(ev);
    }
}
