//! Compaction throughput, and what it does to queries.
//!
//! Setup generates `KVAUDIT_BENCH_DAYS` days (default 3) at `--scale 0.5`, one team, and
//! ingests them with 1 MB commits: a lake of small files, as hourly ingests leave it. Then:
//!
//! - `compact/small_files`: one `kvaudit::compact::compact` of a fresh copy of that lake
//!   (the copy is made in `iter_batched`'s setup, not timed); throughput is input bytes;
//! - `query/{small_files,compacted}/secret_readers`: `queries/secret_readers.sql` (a full
//!   scan of a few columns) on the lake before and after compaction;
//! - `query/{small_files,compacted}/one_hour`: a count over one hour of the middle day (what
//!   hourly detection reads), where compaction's time order lets row groups be skipped.
//!
//! Run: `cargo bench --bench compact`; `cargo test --benches` runs each once on a two-day
//! lake. The multi-million-event figures in the README come from
//! `scripts/bench_compact.sh`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use kvaudit::compact::{CompactOptions, compact};
use kvaudit::generate::{GenerateOptions, generate};
use kvaudit::ingest::{IngestOptions, ingest};
use kvaudit::lake::LakePaths;
use kvaudit::lake::manifest::partition_dates;
use kvaudit::query::{QuerySession, SessionOptions};

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp").arg("-r").arg(from).arg(to).status().expect("cp");
    assert!(status.success(), "cp -r failed");
}

fn bytes_under(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let m = e.metadata().expect("metadata");
            if m.is_dir() {
                stack.push(e.path());
            } else {
                total += m.len();
            }
        }
    }
    total
}

fn bench(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let days =
        if full { std::env::var("KVAUDIT_BENCH_DAYS").ok().and_then(|d| d.parse().ok()).unwrap_or(3) } else { 2 };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    generate(&GenerateOptions { out: logs.clone(), days, seed: 7, scale: 0.5, ..Default::default() })
        .expect("generate");
    let small = LakePaths::new(dir.path().join("small"));
    let mut options = IngestOptions::new(small.clone(), logs.join("insights-logs-auditevent"));
    options.commit_bytes = 1 << 20;
    let summary = ingest(&options).expect("ingest");
    std::fs::remove_dir_all(&logs).expect("remove generated logs");
    let input_bytes = bytes_under(&small.events_dir());

    let compacted = LakePaths::new(dir.path().join("compacted"));
    copy_dir(small.root(), compacted.root());
    let result = runtime.block_on(compact(&CompactOptions::new(compacted.clone()))).expect("compact");
    eprintln!(
        "compact lake: {days} days, {} records; {} files ({:.1} MB) became {} files ({:.1} MB)",
        summary.records,
        result.files_before,
        result.bytes_before as f64 / 1e6,
        result.files_after,
        result.bytes_after as f64 / 1e6
    );

    let mut group = c.benchmark_group("compact");
    group.sample_size(10).measurement_time(Duration::from_secs(10)).throughput(Throughput::Bytes(input_bytes));
    let mut round = 0;
    group.bench_function("small_files", |b| {
        b.iter_batched(
            || {
                round += 1;
                let copy = LakePaths::new(dir.path().join(format!("copy-{round}")));
                copy_dir(small.root(), copy.root());
                copy
            },
            |copy| {
                let summary = runtime.block_on(compact(&CompactOptions::new(copy.clone()))).expect("compact");
                std::fs::remove_dir_all(copy.root()).expect("remove the copy");
                black_box(summary)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let day = partition_dates(&compacted).expect("dates")[days as usize / 2];
    let one_hour = format!(
        "SELECT count(*), count(DISTINCT identity_oid) FROM events \
         WHERE time >= TIMESTAMP '{day}T10:00:00Z' AND time < TIMESTAMP '{day}T11:00:00Z'"
    );
    let mut group = c.benchmark_group("query");
    group.sample_size(10);
    for (name, lake) in [("small_files", &small), ("compacted", &compacted)] {
        let session = runtime.block_on(QuerySession::open(&SessionOptions::new(lake.clone()))).expect("session");
        for (query, sql) in
            [("secret_readers", include_str!("../queries/secret_readers.sql")), ("one_hour", one_hour.as_str())]
        {
            group.bench_function(format!("{name}/{query}"), |b| {
                b.iter(|| black_box(runtime.block_on(session.sql(sql)).expect("query")))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
