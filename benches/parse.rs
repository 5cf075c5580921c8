//! Parse and normalize throughput, on records shaped exactly like the archive's.
//!
//! Setup generates one day of synthetic logs (`kvaudit::generate`, fixed seed) into a
//! temporary directory and concatenates its `PT1H.json` blobs, in path order, into one
//! ~4 MB block of JSON Lines. Three benchmarks, all reporting input bytes per second:
//!
//! - `decode`: a `record::Decoder` over every line of the block (lines pre-split: JSON
//!   parsing and normalization only), as a worker decodes a block;
//! - `redact_scan`: `record::redact::Redactor::redact` over every line (the credential
//!   scan alone; generated days carry a few planted leaks, as real ones might);
//! - `block_to_batches`: `framing::frame`, `record::Decoder`, and `EventBatchBuilder` per
//!   date partition, to finished Arrow batches, without redaction (ingest before secrets
//!   were redacted);
//! - `block_to_batches_redacted`: the same with each record redacted before it is decoded:
//!   what an ingest worker does with a block;
//! - `block_to_parquet`: that, then the batches through a Parquet `ArrowWriter` with the
//!   lake's `writer_properties` into memory (zstd, page statistics): the whole CPU path of
//!   ingest, without the file system.
//!
//! Run: `cargo bench --bench parse` (about a minute on two cores);
//! quick check: `cargo bench --bench parse -- --test` (each benchmark once).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow::buffer::Buffer;
use arrow::record_batch::RecordBatch;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parquet::arrow::ArrowWriter;

use kvaudit::generate::{GenerateOptions, generate};
use kvaudit::lake::batch::EventBatchBuilder;
use kvaudit::lake::schema::events_file_schema;
use kvaudit::lake::writer::{FileSizing, writer_properties};
use kvaudit::record::framing::{Unit, frame};
use kvaudit::record::redact::Redactor;
use kvaudit::record::{self};

/// Size of the block, as the ingest reader's default `block_bytes`.
const BLOCK_BYTES: usize = 4 << 20;
const SOURCE: &str = "insights-logs-auditevent/bench/PT1H.json";
const MICROS_PER_DAY: i64 = 86_400_000_000;

fn blobs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read generated dir").map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            blobs(&path, out);
        } else if path.file_name().is_some_and(|n| n == "PT1H.json") {
            out.push(path);
        }
    }
}

/// One ~4 MB block of whole JSON lines from one generated day.
fn block() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = GenerateOptions { out: dir.path().to_path_buf(), days: 1, seed: 7, scale: 1.0, ..Default::default() };
    generate(&opts).expect("generate");
    let mut files = Vec::new();
    blobs(dir.path(), &mut files);
    assert!(!files.is_empty(), "generate wrote no PT1H.json blobs");
    let mut block = Vec::with_capacity(BLOCK_BYTES + (1 << 20));
    // Cycle the blobs if one day is smaller than a block, so the size holds at any scale.
    'fill: loop {
        for path in &files {
            let bytes = std::fs::read(path).expect("read blob");
            for line in bytes.split_inclusive(|b| *b == b'\n') {
                if block.len() + line.len() > BLOCK_BYTES {
                    break 'fill;
                }
                block.extend_from_slice(line);
            }
        }
    }
    if !block.ends_with(b"\n") {
        block.push(b'\n');
    }
    block
}

fn date_key(time_us: i64) -> i64 {
    time_us.div_euclid(MICROS_PER_DAY)
}

/// Frame + (redact) + decode + Arrow batches per date, as an ingest worker does.
fn to_batches(block: &Buffer, redactor: Option<&Redactor>) -> Vec<RecordBatch> {
    let mut builders: BTreeMap<i64, EventBatchBuilder> = BTreeMap::new();
    let mut errors = 0usize;
    let mut decoder = record::Decoder::default();
    frame(block.as_slice(), 0, true, |unit| match unit {
        Unit::Record { offset, bytes } => {
            let redacted = redactor.map(|r| r.redact(bytes));
            let bytes = redacted.as_ref().map_or(bytes, |r| &r.bytes);
            match decoder.decode(bytes) {
                Ok(mut event) => {
                    event.redactions = redacted.as_ref().and_then(|r| r.column());
                    builders.entry(date_key(event.time_us)).or_default().append(&event, SOURCE, offset, block)
                }
                Err(_) => errors += 1,
            }
        }
        Unit::Broken { .. } => errors += 1,
    });
    assert_eq!(errors, 0, "generated records must all decode");
    builders.into_values().map(|mut b| b.finish().expect("batch")).collect()
}

fn benches(c: &mut Criterion) {
    let block = block();
    // The block as an ingest worker holds it: batches keep views into it.
    let input = Buffer::from(block.as_slice());
    let lines: Vec<&[u8]> = block.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let bytes = block.len() as u64;
    eprintln!("bench block: {} bytes, {} records ({} bytes/record)", bytes, lines.len(), bytes as usize / lines.len());

    let mut group = c.benchmark_group("parse");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Bytes(bytes));

    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            let mut decoder = record::Decoder::default();
            for line in &lines {
                if let Ok(event) = decoder.decode(black_box(line)) {
                    black_box(&event);
                    ok += 1;
                }
            }
            assert_eq!(ok, lines.len());
        })
    });

    let redactor = Redactor::new(b"bench salt, sixteen bytes or more");
    let leaky = lines.iter().filter(|l| !redactor.redact(l).redactions.is_empty()).count();
    eprintln!("records with a credential: {leaky}");
    group.bench_function("redact_scan", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for line in &lines {
                n += redactor.redact(black_box(line)).redactions.len();
            }
            black_box(n)
        })
    });

    group.bench_function("block_to_batches", |b| b.iter(|| black_box(to_batches(black_box(&input), None))));
    group.bench_function("block_to_batches_redacted", |b| {
        b.iter(|| black_box(to_batches(black_box(&input), Some(&redactor))))
    });

    let properties = writer_properties(&FileSizing::default());
    let schema = events_file_schema();
    group.bench_function("block_to_parquet", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(block.len() / 4);
            for batch in to_batches(black_box(&input), Some(&redactor)) {
                let mut writer = ArrowWriter::try_new(&mut out, Arc::clone(&schema), Some(properties.clone()))
                    .expect("parquet writer");
                writer.write(&batch).expect("write batch");
                writer.close().expect("close parquet");
            }
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(parse, benches);
criterion_main!(parse);
