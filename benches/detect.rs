//! The baseline build and hourly detection, in-process (`kvaudit::detect::detect`), over
//! two generated lakes of which the second holds three times the history of the first.
//!
//! Setup generates `KVAUDIT_BENCH_DAYS` days (default 10) and three times as many at
//! `KVAUDIT_BENCH_SCALE` (default 0.3; one team), ingests and compacts each. Benchmarks:
//!
//! - `build/days=N`: the first detection over the newest hour of a lake without
//!   `baselines/` (cleared in `iter_batched`'s setup, not timed): it rolls up every day of
//!   the history window and of the access index, learns the baselines, scores the hour and
//!   evaluates lifecycle;
//! - `hourly/days=N`: the same detection with the rollups built, a service's steady state.
//!   The history window is 30 days in both lakes' runs, so `hourly` over the short and the
//!   long lake shows what grows with history beyond the window (the access index every
//!   lifecycle rule reads covers the whole lake).
//!
//! Run: `cargo bench --bench detect`; `cargo test --benches` runs each once on lakes of one
//! and three days. The 30M- and 90M-event figures beside DuckDB come from
//! `scripts/bench_scale.sh`.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

use kvaudit::compact::{CompactOptions, compact};
use kvaudit::detect::{DetectOptions, detect};
use kvaudit::generate::{GenerateOptions, generate};
use kvaudit::ingest::{IngestOptions, ingest};
use kvaudit::lake::LakePaths;

struct Lake {
    _dir: tempfile::TempDir,
    lake: LakePaths,
    days: u32,
    window: (DateTime<Utc>, DateTime<Utc>),
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn lake(runtime: &tokio::runtime::Runtime, days: u32, scale: f64) -> Lake {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let opts = GenerateOptions { out: logs.clone(), days, seed: 7, scale, ..Default::default() };
    generate(&opts).expect("generate");
    let lake = LakePaths::new(dir.path().join("lake"));
    let summary = ingest(&IngestOptions::new(lake.clone(), logs.join("insights-logs-auditevent"))).expect("ingest");
    std::fs::remove_dir_all(&logs).expect("remove generated logs");
    runtime.block_on(compact(&CompactOptions::new(lake.clone()))).expect("compact");
    // The newest hour of the last generated day.
    let end = (opts.start + chrono::Duration::days(i64::from(days))).and_hms_opt(0, 0, 0).unwrap().and_utc();
    eprintln!("detect lake: {days} days, {} records", summary.records);
    Lake { _dir: dir, lake, days, window: (end - chrono::Duration::hours(1), end) }
}

/// Removes every rollup, alert and the detector's state: the lake as ingest left it.
fn clear_baselines(lake: &LakePaths) {
    let _ = std::fs::remove_dir_all(lake.baselines_dir());
    for file in [lake.alerts_file(), lake.rollups_state_file(), lake.detector_state_file()] {
        let _ = std::fs::remove_file(file);
    }
}

fn detect_hour(runtime: &tokio::runtime::Runtime, l: &Lake) -> usize {
    let options = DetectOptions { from: Some(l.window.0), to: Some(l.window.1), ..Default::default() };
    let report = runtime.block_on(detect(&l.lake, &options)).expect("detect");
    black_box(report.calls + report.alerts.len())
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    // `cargo test --benches` passes neither `--bench` nor a filter: keep that run tiny.
    let full = std::env::args().any(|a| a == "--bench");
    let (days, scale) =
        if full { (env_or("KVAUDIT_BENCH_DAYS", 10), env_or("KVAUDIT_BENCH_SCALE", 0.3)) } else { (1, 0.05) };
    let lakes = [lake(&runtime, days, scale), lake(&runtime, 3 * days, scale)];

    let mut group = c.benchmark_group("detect");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(10));
    for l in &lakes {
        group.bench_function(format!("build/days={}", l.days), |b| {
            b.iter_batched(|| clear_baselines(&l.lake), |()| detect_hour(&runtime, l), BatchSize::PerIteration)
        });
        detect_hour(&runtime, l); // the rollups, built once before the warm runs
        group.bench_function(format!("hourly/days={}", l.days), |b| b.iter(|| detect_hour(&runtime, l)));
    }
    group.finish();
}

criterion_group!(detect_benches, benches);
criterion_main!(detect_benches);
