//! `secret-status` latency over a small generated lake: `kvaudit::status::status` for one
//! busy and one idle secret with the per-secret access index already built (a service's
//! steady state), and the first call on a lake without the index (which builds it).
//!
//! Setup generates `KVAUDIT_BENCH_DAYS` days (default 5) at `--scale 0.2`, one team
//! (`kvaudit::generate`, fixed seed), ingests them with `kvaudit::ingest::ingest`, builds
//! the index once, and picks the secrets from the catalog: "busy" is the secret with the
//! most successful reads, "idle" one without any read in the last 30 days, else the one
//! with the fewest reads. Four benchmarks:
//!
//! - `warm/busy`, `warm/idle`: `status(...)` with every day's index materialized;
//! - `warm/catalog_all`: the catalog of every object (what `kvaudit secrets` reads);
//! - `cold/busy`: `status(...)` after deleting `baselines/object_access/` and its entry in
//!   `_state/rollups.json` (done in `iter_batched`'s setup, not timed): the call rolls every
//!   day of events up into the index, then answers.
//!
//! Run: `cargo bench --bench secret_status`; `cargo test --benches` runs each once on a
//! two-day lake. The 30M-event figures against DuckDB come from
//! `scripts/bench_secret_status.sh`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

use kvaudit::detect::lifecycle::LifecyclePolicy;
use kvaudit::generate::{GenerateOptions, generate};
use kvaudit::ingest::{IngestOptions, ingest};
use kvaudit::lake::LakePaths;
use kvaudit::status::{SecretState, lake_as_of, list, load_catalog, status};

const WINDOW_DAYS: u32 = 30;

struct Setup {
    _dir: tempfile::TempDir,
    lake: LakePaths,
    as_of: DateTime<Utc>,
    busy: (String, String),
    idle: (String, String),
}

fn setup(runtime: &tokio::runtime::Runtime) -> Setup {
    // `cargo test --benches` passes neither `--bench` nor a filter: keep that run tiny.
    let full = std::env::args().any(|a| a == "--bench");
    let days =
        if full { std::env::var("KVAUDIT_BENCH_DAYS").ok().and_then(|d| d.parse().ok()).unwrap_or(5) } else { 2 };
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let opts = GenerateOptions { out: logs.clone(), days, seed: 7, scale: 0.2, ..Default::default() };
    generate(&opts).expect("generate");
    let lake = LakePaths::new(dir.path().join("lake"));
    let summary = ingest(&IngestOptions::new(lake.clone(), logs.join("insights-logs-auditevent"))).expect("ingest");
    std::fs::remove_dir_all(&logs).expect("remove generated logs");
    let as_of = lake_as_of(&lake);

    // Builds the index (every day) and picks the secrets.
    let catalog = runtime.block_on(load_catalog(&lake, as_of, None)).expect("catalog");
    let rows = list(&catalog, &LifecyclePolicy::default(), WINDOW_DAYS, None, None, "secret");
    let busy = rows.iter().max_by_key(|r| r.reads).expect("a secret");
    let idle = rows
        .iter()
        .filter(|r| r.state != SecretState::Deleted)
        .min_by_key(|r| (r.state == SecretState::InUse, r.reads))
        .expect("a secret");
    eprintln!(
        "secret_status lake: {days} days, {} records, {} objects; busy {}/{} ({} reads), idle {}/{} ({:?}, {} reads)",
        summary.records,
        catalog.objects.len(),
        busy.vault,
        busy.name,
        busy.reads,
        idle.vault,
        idle.name,
        idle.state,
        idle.reads
    );
    Setup {
        busy: (busy.vault.clone(), busy.name.clone()),
        idle: (idle.vault.clone(), idle.name.clone()),
        _dir: dir,
        lake,
        as_of,
    }
}

/// Removes the per-secret access index: its files and its entries in `_state/rollups.json`.
fn drop_index(lake: &LakePaths) {
    let _ = std::fs::remove_dir_all(lake.object_access_dir());
    let path = lake.rollups_state_file();
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("rollups.json")).expect("rollups.json parses");
    if let Some(rollups) = state.get_mut("rollups").and_then(|r| r.as_object_mut()) {
        rollups.remove("object_access");
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).expect("write rollups.json");
}

fn index_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn one(runtime: &tokio::runtime::Runtime, s: &Setup, (vault, name): &(String, String)) -> usize {
    let policy = LifecyclePolicy::default();
    let answer = runtime.block_on(status(&s.lake, (vault, name), WINDOW_DAYS, s.as_of, &policy)).expect("status");
    black_box(answer.readers.len() + answer.versions.len())
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let s = setup(&runtime);
    let index: PathBuf = s.lake.object_access_dir();

    let mut group = c.benchmark_group("secret_status");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    group.bench_function("warm/busy", |b| b.iter(|| one(&runtime, &s, &s.busy)));
    group.bench_function("warm/idle", |b| b.iter(|| one(&runtime, &s, &s.idle)));
    group.bench_function("warm/catalog_all", |b| {
        b.iter(|| {
            let catalog = runtime.block_on(load_catalog(&s.lake, s.as_of, None)).expect("catalog");
            black_box(catalog.objects.len())
        })
    });
    group.bench_function("cold/busy", |b| {
        b.iter_batched(
            || drop_index(&s.lake),
            |()| {
                let n = one(&runtime, &s, &s.busy);
                assert!(index_files(&index) > 0, "the first call builds the index");
                n
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(secret_status, benches);
criterion_main!(secret_status);
