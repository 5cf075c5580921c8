//! Synthetic Key Vault audit logs: a month of realistic traffic of a small organisation,
//! with planted incidents and an answer key, in the exact layout Azure Monitor archives to a
//! storage account. `kvaudit generate` and `kvaudit demo` run it; tests and benchmarks use
//! it for data that looks real and whose truth is known.
//!
//! Output under `out`:
//! - `insights-logs-auditevent/resourceId=/SUBSCRIPTIONS/…/y=…/m=…/d=…/h=…/m=00/PT1H.json`,
//!   one JSON Lines blob per vault and hour of receipt ([`layout`]);
//! - `truth.json`, every finding a detector should raise ([`truth`]);
//! - `inventory/{vault}.json`, the secrets as `az keyvault secret list` prints them at the end
//!   of the period ([`inventory`]).
//!
//! How it works: [`cast`] builds the world (vaults, secrets, identities, who reads what) from
//! the seed; [`incidents`] plans what is planted. Then the period is generated hour by hour:
//! steady application traffic ([`traffic`]) is drawn for the hour, scripted events (people's
//! sessions from [`people`], jobs from [`routine`], incidents) are taken from a queue filled a
//! day at a time, each vault's records are ordered by time and written as that hour's blob
//! ([`record`] shapes each line). Memory holds one hour of steady traffic and the scripted
//! events of about a day, whatever the scale.
//!
//! Population: [`GenerateOptions::teams`] replicates the organisation. Team 0 is exactly the
//! one-team world; team `k` has its own names (suffix `-tKK`), ids, subscriptions, networks,
//! secrets, traffic and incidents, all from streams of its own ([`rng::team_stream`]), so
//! adding teams never changes the bytes of the others. Microsoft first-party services are
//! the tenant's and shared. [`GenerateOptions::vaults`] keeps fewer vaults a team (the
//! richest in stories first, [`cast::keep_vaults`]) and only what uses them; a story whose
//! vault is gone is not planted. [`GenerateOptions::incidents`] off generates the same world
//! without any planted story ([`cast::without_incidents`]): data for false-alert rates.
//!
//! A record whose `time` falls in the last minute of an hour is, three times in ten, received
//! in the next hour and filed in that hour's blob, as Azure Monitor does; so the first blob
//! of a day can hold records of the previous day, and one blob after the period can exist.
//!
//! Determinism: the same options give byte-identical output on any machine. All randomness
//! comes from ChaCha8 streams named by purpose and day or hour ([`rng`]); iteration is over
//! vectors in a fixed order; no floating-point function whose result may differ between
//! platforms is used.

mod cast;
mod event;
mod incidents;
mod inventory;
mod layout;
mod people;
mod record;
mod rng;
mod routine;
mod time;
mod traffic;
pub mod truth;
mod world;

#[cfg(test)]
mod tests;

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap, HashSet};
use std::fs;
use std::io;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;

use event::Event;
use layout::BlobWriter;
use time::{DAY, HOUR, MINUTE, Ticks};

pub use truth::{Incident, Truth};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Output directory; created if missing, must not already hold generated logs.
    pub out: PathBuf,
    /// Length of the period in days (default 30).
    pub days: u32,
    /// Seed of every random choice (default 42).
    pub seed: u64,
    /// First day of the period, UTC (default 2026-10-01).
    pub start: NaiveDate,
    /// Multiplies steady application traffic (1.0 ≈ 28 000 records a day per team). People,
    /// jobs and incidents do not scale.
    pub scale: f64,
    /// Teams (default 1): team 0 is the organisation; each further team is a replica of it
    /// with its own names (suffix `-tKK`), ids, networks, secrets, traffic and incidents.
    pub teams: u32,
    /// Vaults kept per team, 1 to 6 (default 6, all): a smaller world keeps the vaults
    /// richest in stories first and only the identities that use them.
    pub vaults: u32,
    /// Plant the unusual-access incidents and practice stories (default true). Without, the
    /// same world generates only its ordinary traffic: data with no incidents.
    pub incidents: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            out: PathBuf::from("kvaudit-generated"),
            days: 30,
            seed: 42,
            start: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default(),
            scale: 1.0,
            teams: 1,
            vaults: cast::TEAM_VAULTS,
            incidents: true,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateSummary {
    /// Log blobs written.
    pub files: u64,
    /// Log records written.
    pub records: u64,
    /// Bytes of log blobs written.
    pub bytes: u64,
    /// Findings listed in the truth file.
    pub incidents: usize,
    /// Teams generated.
    pub teams: u32,
    /// Distinct identities calling Key Vault (as in the truth file).
    pub identities: usize,
    /// Vaults generated.
    pub vaults: usize,
    pub truth_path: PathBuf,
    pub inventory_path: PathBuf,
}

/// Why generation failed.
#[derive(thiserror::Error, Debug)]
pub enum GenerateError {
    /// `days` is zero or longer than ten years.
    #[error("days must be between 1 and {max}, got {days}", max = MAX_DAYS)]
    InvalidDays { days: u32 },
    /// `scale` is negative, not a number, or absurdly large.
    #[error("scale must be a number between 0 and {max}, got {scale}", max = MAX_SCALE)]
    InvalidScale { scale: f64 },
    /// `teams` is zero or more than vault names can number.
    #[error("teams must be between 1 and {max}, got {teams}", max = MAX_TEAMS)]
    InvalidTeams { teams: u32 },
    /// `vaults` is zero or more than a team has.
    #[error("vaults must be between 1 and {max}, got {vaults}", max = cast::TEAM_VAULTS)]
    InvalidVaults { vaults: u32 },
    /// The output directory already holds generated logs: writing over them would mix two
    /// runs (different options leave different blobs behind).
    #[error("{} already exists; remove it or choose another output directory", path.display())]
    OutputExists { path: PathBuf },
    /// A directory could not be created.
    #[error("cannot create directory {}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file could not be created or written.
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The truth file or an inventory file could not be serialized.
    #[error("cannot serialize {}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

const MAX_DAYS: u32 = 3660;
const MAX_SCALE: f64 = 10_000.0;
/// Team suffixes `-t01` … `-t999` keep every vault name within Key Vault's 24 characters.
const MAX_TEAMS: u32 = 1000;
/// Share of records in an hour's last minute that are received in the next hour.
const LATE_SHARE: f64 = 0.3;
const LATE_WINDOW: Ticks = MINUTE;

/// Generates logs, truth and inventory into `opts.out`.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary, GenerateError> {
    if opts.days == 0 || opts.days > MAX_DAYS {
        return Err(GenerateError::InvalidDays { days: opts.days });
    }
    if !(opts.scale >= 0.0 && opts.scale <= MAX_SCALE) {
        return Err(GenerateError::InvalidScale { scale: opts.scale });
    }
    if opts.teams == 0 || opts.teams > MAX_TEAMS {
        return Err(GenerateError::InvalidTeams { teams: opts.teams });
    }
    if opts.vaults == 0 || opts.vaults > cast::TEAM_VAULTS {
        return Err(GenerateError::InvalidVaults { vaults: opts.vaults });
    }
    let container = opts.out.join(layout::CONTAINER);
    if container.exists() {
        return Err(GenerateError::OutputExists { path: container });
    }
    fs::create_dir_all(&opts.out).map_err(|source| GenerateError::CreateDir { path: opts.out.clone(), source })?;

    let start = time::from_date(opts.start);
    let mut used_prefixes = HashSet::new();
    let mut teams: Vec<Team> = Vec::with_capacity(opts.teams as usize);
    let mut incidents = Vec::new();
    for k in 0..opts.teams {
        let stream = rng::stream(opts.seed, "world", u64::from(k));
        let (mut world, mut handles) = cast::build(stream, start, opts.days, k, &mut used_prefixes);
        if let Some(first) = teams.first() {
            cast::share_microsoft_services(&first.world, &mut world);
        }
        cast::keep_vaults(&mut world, &mut handles, opts.vaults);
        let plan = if opts.incidents {
            incidents::plan(&world, &handles, &mut rng::stream(opts.seed, "incidents", u64::from(k)))
        } else {
            cast::without_incidents(&mut world, &handles);
            incidents::Plan::default()
        };
        incidents.extend(truth::derived(&world));
        incidents.extend(plan.truth);
        let mut people = people::People::new(&world);
        people.keep_clear_of(&plan.events);
        let mut queue = Queue::default();
        for ev in plan.events {
            queue.push(ev);
        }
        let carried = vec![Vec::new(); world.vaults.len()];
        teams.push(Team { index: k, world, modifiers: plan.modifiers, queue, people, carried });
    }
    let identities: BTreeSet<&str> = teams
        .iter()
        .flat_map(|t| t.world.active_identities().into_iter().map(|id| t.world.identities[id].oid.as_str()))
        .collect();
    let identities = identities.len();
    let vaults: usize = teams.iter().map(|t| t.world.vaults.len()).sum();
    tracing::info!(
        teams = opts.teams,
        vaults,
        identities,
        findings = incidents.len(),
        "Generating synthetic Key Vault logs."
    );

    let mut writer = BlobWriter::new(&opts.out);
    let seed = opts.seed;
    for day in 0..i64::from(opts.days) {
        for team in &mut teams {
            let (world, k) = (&team.world, team.index);
            for ev in team.people.day(world, day, &mut rng::team_stream(seed, "people", k, day as u64)) {
                team.queue.push(ev);
            }
            for ev in routine::day(world, day, &mut rng::team_stream(seed, "routine", k, day as u64)) {
                team.queue.push(ev);
            }
        }
        for h in 0..24 {
            let hour = start + day * DAY + h * HOUR;
            let index = (day * 24 + h) as u64;
            for team in &mut teams {
                team.hour(seed, hour, index, opts.scale, &mut writer)?;
            }
        }
    }
    // Records received after the period: the first hour's blob after it.
    for team in &teams {
        for (v, bucket) in team.carried.iter().enumerate() {
            writer.write_blob(&team.world, v, team.world.end, bucket)?;
        }
    }

    let inventory_path = opts.out.join("inventory");
    for team in &teams {
        inventory::write(&team.world, &inventory_path)?;
    }

    truth::sort(&mut incidents);
    let truth = Truth {
        seed: opts.seed,
        start: time::date_text(start),
        days: opts.days,
        scale: opts.scale,
        teams: opts.teams,
        vaults_per_team: opts.vaults,
        planted: opts.incidents,
        identities,
        vaults,
        incidents,
    };
    let truth_path = opts.out.join("truth.json");
    let mut text =
        serde_json::to_vec_pretty(&truth).map_err(|source| GenerateError::Json { path: truth_path.clone(), source })?;
    text.push(b'\n');
    fs::write(&truth_path, text).map_err(|source| GenerateError::Write { path: truth_path.clone(), source })?;

    let summary = GenerateSummary {
        files: writer.files,
        records: writer.records,
        bytes: writer.bytes,
        incidents: truth.incidents.len(),
        teams: opts.teams,
        identities,
        vaults,
        truth_path,
        inventory_path,
    };
    tracing::info!(
        files = summary.files,
        records = summary.records,
        bytes = summary.bytes,
        "Generated synthetic logs."
    );
    Ok(summary)
}

/// One team's world and its generation state.
struct Team {
    index: u32,
    world: world::World,
    modifiers: incidents::Modifiers,
    /// Scripted events (people, jobs, incidents) not yet written.
    queue: Queue,
    people: people::People,
    /// Per vault: records of the last hour received in the next one.
    carried: Vec<Vec<Event>>,
}

impl Team {
    /// Generates and writes the hour starting at `hour` (the `index`-th of the period).
    fn hour(
        &mut self,
        seed: u64,
        hour: Ticks,
        index: u64,
        scale: f64,
        writer: &mut BlobWriter,
    ) -> Result<(), GenerateError> {
        let world = &self.world;
        let k = self.index;
        let mut buckets = std::mem::replace(&mut self.carried, vec![Vec::new(); world.vaults.len()]);
        let mut rng = rng::team_stream(seed, "traffic", k, index);
        traffic::hour(world, &self.modifiers, hour, scale, &mut rng, &mut buckets);
        self.queue.drain_before(hour + HOUR, world.start, &mut buckets);
        let mut late_rng = rng::team_stream(seed, "late", k, index);
        for (v, bucket) in buckets.iter_mut().enumerate() {
            // Stable sort: equal times keep generation order, which is deterministic.
            bucket.sort_by_key(|e| e.time);
            let late_from = hour + HOUR - LATE_WINDOW;
            let split = bucket.partition_point(|e| e.time < late_from);
            let mut kept = bucket.split_off(split);
            for ev in kept.drain(..) {
                if rng::chance(&mut late_rng, LATE_SHARE) {
                    self.carried[v].push(ev);
                } else {
                    bucket.push(ev);
                }
            }
            writer.write_blob(world, v, hour, bucket)?;
        }
        Ok(())
    }
}

/// Scripted events waiting for their hour, earliest first; ties keep insertion order.
#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Queued>>,
    next: u64,
}

struct Queued {
    time: Ticks,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

impl Queue {
    fn push(&mut self, event: Event) {
        self.heap.push(Reverse(Queued { time: event.time, seq: self.next, event }));
        self.next += 1;
    }

    /// Moves every event before `until` into its vault's bucket, dropping any before the
    /// period (`start`).
    fn drain_before(&mut self, until: Ticks, start: Ticks, buckets: &mut [Vec<Event>]) {
        while self.heap.peek().is_some_and(|q| q.0.time < until) {
            if let Some(Reverse(q)) = self.heap.pop()
                && q.time >= start
            {
                buckets[q.event.vault].push(q.event);
            }
        }
    }
}
