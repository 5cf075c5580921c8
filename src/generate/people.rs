//! People at work: sessions on weekdays between 08:00 and 18:00 in their own time zone,
//! from a few networks (office, home, VPN), in the portal or the Azure CLI.
//!
//! An engineer's portal session opens the vault (`VaultGet`, management plane), lists its
//! secrets and reads one to three; a CLI session reads one or two by name. An admin reviews
//! vault configuration only. Some people now and then try a vault they have no access to
//! and get a 403.
//!
//! So that the planted `new_ip`/`new_identity`/`unusual_time` findings are the only ones,
//! each person's first sessions go through every network (first address of each), client
//! and vault they will ever use: all of that is in the history long before the last third.

use super::event::{Caller, Event, Op, Target};
use super::rng::{self, Rand};
use super::time::{DAY, HOUR, MINUTE, SECOND, Ticks, weekday};
use super::world::{IdentityId, Person, Role, World};

/// Per-person session counters and per-network use counters, carried from day to day.
pub struct People {
    sessions: Vec<usize>,
    network_uses: Vec<Vec<usize>>,
    /// (identity, from, until): a planted story of this person is under way, so their
    /// ordinary sessions keep clear of it. Otherwise a routine `SecretList` a minute
    /// before a planted mass retrieval would make it an enumeration in fact, and the truth
    /// file would be wrong about its own data.
    quiet: Vec<(IdentityId, Ticks, Ticks)>,
}

/// How far a person's ordinary sessions keep from their planted story.
const QUIET_MARGIN: Ticks = 30 * MINUTE;

impl People {
    pub fn new(world: &World) -> People {
        People {
            sessions: vec![0; world.people.len()],
            network_uses: world.people.iter().map(|p| vec![0; world.identities[p.identity].networks.len()]).collect(),
            quiet: Vec::new(),
        }
    }

    /// Keeps each person's ordinary sessions away from the planted `events` they make.
    pub fn keep_clear_of(&mut self, events: &[Event]) {
        for ev in events {
            if let Caller::Identity { id, .. } = ev.caller {
                self.quiet.push((id, ev.time - QUIET_MARGIN, ev.time + QUIET_MARGIN));
            }
        }
    }

    /// The sessions of day `day` (0-based) of the period.
    pub fn day(&mut self, world: &World, day: i64, rng: &mut Rand) -> Vec<Event> {
        let day_start = world.start + day * DAY;
        let working_day = weekday(day_start) < 5;
        let mut out = Vec::new();
        for (p, person) in world.people.iter().enumerate() {
            let mut n =
                if working_day { rng::count(rng, person.sessions_per_day) } else { u32::from(rng::chance(rng, 0.03)) };
            if working_day && self.sessions[p] == 0 {
                n = n.max(1);
            }
            let offset = world.identities[person.identity].utc_offset;
            let mut starts: Vec<Ticks> =
                (0..n).map(|_| day_start - offset + rng::between(rng, 8 * HOUR, 17 * HOUR + 30 * MINUTE)).collect();
            starts.sort_unstable();
            for start in starts {
                let k = self.sessions[p];
                self.sessions[p] += 1;
                // Drawn in any case, so that dropping a session changes no other choice.
                let mut drawn = Vec::new();
                session(world, person, k, &mut self.network_uses[p], start, rng, &mut drawn);
                let clashes = drawn.iter().any(|ev| {
                    self.quiet
                        .iter()
                        .any(|&(id, from, until)| id == person.identity && (from..until).contains(&ev.time))
                });
                if !clashes {
                    out.extend(drawn);
                }
            }
        }
        out
    }
}

fn session(
    world: &World,
    person: &Person,
    k: usize,
    uses: &mut [usize],
    start: Ticks,
    rng: &mut Rand,
    out: &mut Vec<Event>,
) {
    let identity = &world.identities[person.identity];
    // First sessions cover every network, client and vault; later ones favour the first.
    let network = if k < identity.networks.len() {
        k
    } else if rng::chance(rng, 0.7) {
        0
    } else {
        rng::pick(rng, identity.networks.len())
    };
    // A network's addresses are used in turn the first times, so all of them are known early.
    let hosts = &identity.networks[network].hosts;
    let ip = if uses[network] < hosts.len() { hosts[uses[network]] } else { hosts[rng::pick(rng, hosts.len())] };
    uses[network] += 1;
    let client = if k < identity.clients.len() {
        k
    } else if rng::chance(rng, 0.75) {
        0
    } else {
        rng::pick(rng, identity.clients.len())
    };
    let portal = identity.clients[client].portal;
    let who = Caller::Identity { id: person.identity, ip, client: client as u8 };
    let mut t = start;

    match person.role {
        Role::Admin => {
            let count = if k == 0 { person.vaults.len() } else { 2 + rng::pick(rng, 2) };
            for i in 0..count.min(person.vaults.len()) {
                let v = if k == 0 { person.vaults[i] } else { person.vaults[rng::pick(rng, person.vaults.len())] };
                let at = advance(&mut t, rng, 20, 90);
                out.push(Event::new(rng, at, v, Op::VaultGet, who, Target::Vault, 200));
            }
        }
        Role::Engineer => {
            let v = if k < person.vaults.len() {
                person.vaults[k]
            } else {
                person.vaults[rng::pick(rng, person.vaults.len())]
            };
            if portal {
                out.push(Event::new(rng, t, v, Op::VaultGet, who, Target::Vault, 200));
                let at = advance(&mut t, rng, 4, 20);
                out.push(Event::new(rng, at, v, Op::SecretList, who, Target::Secrets, 200));
            } else if rng::chance(rng, 0.3) {
                out.push(Event::new(rng, t, v, Op::SecretList, who, Target::Secrets, 200));
            }
            let reads = if portal { 1 + rng::pick(rng, 3) } else { 1 + rng::pick(rng, 2) };
            for _ in 0..reads {
                let at = advance(&mut t, rng, 8, 70);
                let Some(index) = pick_secret(world, v, at, rng) else {
                    break;
                };
                let secret = &world.vaults[v].secrets[index];
                let target = Target::Secret { index, version: secret.version_at(at), pinned: false };
                out.push(Event::new(rng, at, v, Op::SecretGet, who, target, 200));
                if rng::chance(rng, 0.15) {
                    let at = advance(&mut t, rng, 5, 30);
                    out.push(Event::new(rng, at, v, Op::SecretListVersions, who, target, 200));
                }
            }
        }
    }

    if let Some(denied) = person.denied_vault
        && (k == 0 || rng::chance(rng, 0.06))
    {
        let at = advance(&mut t, rng, 30, 300);
        out.push(Event::new(rng, at, denied, Op::SecretList, who, Target::Secrets, 403));
    }
}

/// Moves `t` on by `lo..hi` seconds and returns it.
fn advance(t: &mut Ticks, rng: &mut Rand, lo: i64, hi: i64) -> Ticks {
    *t += rng::between(rng, lo * SECOND, hi * SECOND);
    *t
}

/// A secret a person may open at `t`: existing, not planted stale, not a certificate's.
fn pick_secret(world: &World, vault: usize, t: Ticks, rng: &mut Rand) -> Option<usize> {
    let candidates: Vec<usize> = world.vaults[vault]
        .secrets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.browsable_at(t) && !s.managed)
        .map(|(i, _)| i)
        .collect();
    (!candidates.is_empty()).then(|| candidates[rng::pick(rng, candidates.len())])
}
