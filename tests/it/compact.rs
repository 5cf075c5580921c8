//! `kvaudit compact`, run as the real binary: the same rows after as before (count and an
//! order-independent checksum over `(source, source_offset)`), fewer files, no duplicates;
//! killed at random moments it leaves a lake that reads correctly and a rerun finishes; run
//! while ingest adds files it loses none of them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Int64Type, TimestampMicrosecondType};
use kvaudit::lake::LakePaths;
use kvaudit::lake::manifest::{partition_dates, visible_files};
use kvaudit::query::{QuerySession, SessionOptions};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::PageIndexPolicy;
use rand::{Rng, SeedableRng};

use crate::common::{kvaudit, query, run_ok};

/// Every `(source, source_offset)` row readers see, sorted (a multiset: copies stay).
pub fn lake_keys(lake: &Path) -> Vec<(String, i64)> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut keys = runtime.block_on(async {
        let session = QuerySession::open(&SessionOptions::new(LakePaths::new(lake))).await.unwrap();
        let (_, batches) = session.sql("SELECT source, source_offset FROM events").await.unwrap();
        let mut keys = Vec::new();
        for batch in batches {
            let sources = arrow::compute::cast(batch.column(0), &DataType::Utf8).unwrap();
            let sources = sources.as_string::<i32>();
            let offsets = batch.column(1).as_primitive::<Int64Type>();
            for i in 0..batch.num_rows() {
                keys.push((sources.value(i).to_owned(), offsets.value(i)));
            }
        }
        keys
    });
    keys.sort();
    keys
}

/// An order-independent checksum of a set of keys.
pub fn checksum<'a>(keys: impl IntoIterator<Item = &'a (String, i64)>) -> u64 {
    keys.into_iter().fold(0u64, |sum, (source, offset)| {
        let h = kvaudit::hash::fnv1a_continue(kvaudit::hash::fnv1a(source.as_bytes()), &offset.to_le_bytes());
        sum.wrapping_add(h)
    })
}

/// Files readers see, over all partitions.
pub fn visible_file_count(lake: &Path) -> usize {
    let paths = LakePaths::new(lake);
    partition_dates(&paths).unwrap().into_iter().map(|d| visible_files(&paths, d).unwrap().len()).sum()
}

/// Every `.parquet` file on disk under `events/`.
fn files_on_disk(lake: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(dates) = std::fs::read_dir(lake.join("events")) else { return out };
    for d in dates {
        for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// After a finished compaction: every file on disk is one readers see, and no staging is left.
fn assert_no_leftovers(lake: &Path) {
    assert_eq!(files_on_disk(lake).len(), visible_file_count(lake), "files on disk that readers do not see");
    let staging = lake.join("_state/compact");
    let left = std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "staging left in {}", staging.display());
}

fn compact(lake: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--lake", lake.to_str().unwrap(), "compact", "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(run_ok(&args).trim()).expect("the summary is one JSON object")
}

fn ingest_small_commits(lake: &Path, from: &Path) {
    run_ok(&[
        "--lake",
        lake.to_str().unwrap(),
        "ingest",
        "--from",
        from.to_str().unwrap(),
        "--commit-bytes",
        "300000",
        "--no-progress",
    ]);
}

fn generate(out: &Path, days: &str, seed: &str) -> PathBuf {
    run_ok(&["generate", "--out", out.to_str().unwrap(), "--days", days, "--scale", "0.3", "--seed", seed]);
    out.join("insights-logs-auditevent")
}

fn rows_of(file: &Path) -> i64 {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap()).unwrap();
    reader.metadata().file_metadata().num_rows()
}

#[test]
fn small_ingests_compact_into_fewer_sorted_files_with_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let container = generate(&dir.path().join("logs"), "3", "5");
    let lake = dir.path().join("lake");
    ingest_small_commits(&lake, &container);
    let files_before = visible_file_count(&lake);
    let dates = partition_dates(&LakePaths::new(&lake)).unwrap();
    assert!(
        files_before >= 2 * dates.len(),
        "{files_before} files over {} days: not a lake of small files",
        dates.len()
    );
    let readers_before = query(&lake, include_str!("../../queries/secret_readers.sql"));
    let unique = lake_keys(&lake);

    // A file committed twice (the same records under two names): exact duplicates.
    let victim = files_on_disk(&lake)[1].clone();
    let copies = rows_of(&victim);
    std::fs::copy(&victim, victim.with_file_name("part-copy-of-a-commit.parquet")).unwrap();
    let doubled = lake_keys(&lake);
    assert_eq!(doubled.len(), unique.len() + copies as usize);

    let summary = compact(&lake, &[]);
    assert_eq!(summary["duplicates_dropped"], copies);
    assert_eq!(summary["rows_before"], doubled.len());
    assert_eq!(summary["rows_after"], unique.len());
    assert_eq!(summary["files_before"].as_u64().unwrap() as usize, files_before + 1);

    let after = lake_keys(&lake);
    assert_eq!(after, unique, "the same rows, each once");
    let distinct: BTreeSet<_> = after.iter().collect();
    assert_eq!(distinct.len(), after.len(), "no duplicates left");
    assert_eq!(checksum(&after), checksum(&unique));
    let files_after = visible_file_count(&lake);
    assert!(files_after < files_before, "{files_after} files after, {files_before} before");
    assert_eq!(files_after as u64, summary["files_after"].as_u64().unwrap());
    assert_eq!(query(&lake, include_str!("../../queries/secret_readers.sql")), readers_before);
    assert_no_leftovers(&lake);

    // Each file is sorted by hour (the default order) and carries the page index.
    for file in files_on_disk(&lake) {
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let builder =
            ParquetRecordBatchReaderBuilder::try_new_with_options(std::fs::File::open(&file).unwrap(), options)
                .unwrap();
        assert!(builder.metadata().column_index().is_some(), "{} has no column index", file.display());
        assert!(builder.metadata().offset_index().is_some(), "{} has no offset index", file.display());
        let mask = ProjectionMask::leaves(builder.parquet_schema(), [0]);
        let mut last = i64::MIN;
        for batch in builder.with_projection(mask).build().unwrap() {
            let times = batch.unwrap().column(0).as_primitive::<TimestampMicrosecondType>().clone();
            for t in times.values() {
                let hour = t.div_euclid(3_600_000_000);
                assert!(hour >= last, "{} is not sorted by hour", file.display());
                last = hour;
            }
        }
    }

    // Nothing left to do: a second run rewrites nothing.
    let again = compact(&lake, &[]);
    assert_eq!(again["partitions_compacted"], 0);
    assert_eq!(lake_keys(&lake), unique);
}

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp").arg("-r").arg(from).arg(to).status().unwrap();
    assert!(status.success());
}

#[test]
fn compaction_killed_at_random_moments_leaves_a_correct_lake() {
    let dir = tempfile::tempdir().unwrap();
    let container = generate(&dir.path().join("logs"), "6", "8");
    let base = dir.path().join("base");
    ingest_small_commits(&base, &container);
    let keys = lake_keys(&base);
    let files_before = visible_file_count(&base);

    // How long a whole compaction takes here, so kills land inside runs on any machine.
    let calibration = dir.path().join("calibration");
    copy_dir(&base, &calibration);
    let started = Instant::now();
    compact(&calibration, &[]);
    let full = started.elapsed().as_millis().max(20) as u64;
    std::fs::remove_dir_all(&calibration).unwrap();

    let seed: u64 = std::env::var("KVAUDIT_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("compaction crash test seed {seed} (set KVAUDIT_CRASH_SEED to repeat it)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut killed = 0;
    for round in 0..5 {
        let lake = dir.path().join(format!("lake-{round}"));
        copy_dir(&base, &lake);
        let mut child = kvaudit()
            .args(["--lake", lake.to_str().unwrap(), "compact"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(full / 10..full).max(1)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
        // Right after the kill, before any recovery: readers see every row exactly once.
        assert_eq!(lake_keys(&lake), keys, "round {round}: a reader saw a partition half compacted or doubled");
        let summary = compact(&lake, &[]);
        assert_eq!(lake_keys(&lake), keys, "round {round}: the rerun lost or doubled rows");
        assert!(visible_file_count(&lake) < files_before, "round {round}: the rerun did not compact ({summary})");
        assert_no_leftovers(&lake);
        std::fs::remove_dir_all(&lake).unwrap();
    }
    assert!(killed >= 3, "only {killed} of 5 runs were still running when killed");
}

/// `(source, offset)` of every record line of every log file under `dir`.
fn source_keys(dir: &Path) -> Vec<(String, i64)> {
    let mut keys = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let source = std::fs::canonicalize(&path).unwrap().to_string_lossy().into_owned();
                let mut offset = 0usize;
                for line in std::fs::read(&path).unwrap().split(|b| *b == b'\n') {
                    if !line.is_empty() {
                        keys.push((source.clone(), offset as i64));
                    }
                    offset += line.len() + 1;
                }
            }
        }
    }
    keys.sort();
    keys
}

#[test]
fn compaction_while_ingest_adds_files_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let container = generate(&dir.path().join("logs"), "3", "9");
    // The vault folders (`…/VAULTS/<NAME>`, under several resource groups), split in two:
    // the first half is in the lake before compaction starts, the second half arrives
    // while compactions run, into the same dates.
    let mut vaults = Vec::new();
    let mut stack = vec![container.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.parent().is_some_and(|parent| parent.ends_with("VAULTS")) {
                    vaults.push(p);
                } else {
                    stack.push(p);
                }
            }
        }
    }
    vaults.sort();
    assert!(vaults.len() >= 2, "the generator wrote {} vaults", vaults.len());
    let held_back = dir.path().join("held-back");
    std::fs::create_dir_all(&held_back).unwrap();
    let mut arriving: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (i, v) in vaults[vaults.len() / 2..].iter().enumerate() {
        let parked = held_back.join(i.to_string());
        std::fs::rename(v, &parked).unwrap();
        arriving.push((parked, v.clone()));
    }
    let lake = dir.path().join("lake");
    ingest_small_commits(&lake, &container);

    // Ingest keeps running (a pass every second) while the held-back vaults arrive one by
    // one and compactions run back to back over the same dates.
    let ingest = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "ingest", "--from", container.to_str().unwrap()])
        .args(["--follow", "--interval", "1s", "--commit-bytes", "100000", "--no-progress"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut rewrote = 0;
    let mut expected = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some((parked, home)) = arriving.pop() {
            std::fs::rename(&parked, &home).unwrap();
            if arriving.is_empty() {
                expected = source_keys(&container);
            }
        }
        let summary = compact(&lake, &[]);
        rewrote += summary["partitions_compacted"].as_u64().unwrap();
        // Readers never see a record twice, whatever moment they read at.
        let seen = lake_keys(&lake);
        let distinct: BTreeSet<_> = seen.iter().collect();
        assert_eq!(distinct.len(), seen.len(), "a record was visible twice");
        if arriving.is_empty() && seen.len() >= expected.len() {
            break;
        }
        assert!(Instant::now() < deadline, "ingest did not catch up: {} of {} records", seen.len(), expected.len());
    }
    let status = std::process::Command::new("kill").args(["-TERM", &ingest.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = ingest.wait_with_output().unwrap();
    assert!(out.status.success(), "ingest failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(rewrote >= 2, "compactions rewrote only {rewrote} partitions while ingest ran");
    compact(&lake, &[]);
    assert_eq!(lake_keys(&lake), expected, "every source record exactly once");
    assert_no_leftovers(&lake);
}

#[test]
fn max_partitions_compacts_the_newest_days_first_and_leaves_the_rest_for_later_runs() {
    let dir = tempfile::tempdir().unwrap();
    let container = generate(&dir.path().join("logs"), "3", "11");
    let lake = dir.path().join("lake");
    ingest_small_commits(&lake, &container);
    let paths = LakePaths::new(&lake);
    let dates = partition_dates(&paths).unwrap();
    assert!(dates.len() >= 3, "{dates:?}");
    let files_of = |date| visible_files(&paths, date).unwrap().len();
    let before: Vec<usize> = dates.iter().map(|d| files_of(*d)).collect();
    assert!(before.iter().all(|n| *n >= 2), "every day has small files to merge: {before:?}");
    let keys = lake_keys(&lake);

    // One run, one day: the newest; the others are counted as left for later.
    let first = compact(&lake, &["--max-partitions", "1"]);
    assert_eq!(first["partitions_compacted"], 1);
    assert_eq!(first["partitions_left"], dates.len() as u64 - 1);
    assert_eq!(first["partitions"][0]["date"], dates[dates.len() - 1].to_string());
    assert_eq!(files_of(dates[dates.len() - 1]), 1);
    assert_eq!(files_of(dates[0]), before[0], "an older day was touched");

    // The next run takes the next newest day that needs it.
    let second = compact(&lake, &["--max-partitions", "1"]);
    assert_eq!(second["partitions"][0]["date"], dates[dates.len() - 2].to_string());

    // Without the limit the rest is done, and the rows are the same throughout.
    let rest = compact(&lake, &[]);
    assert_eq!(rest["partitions_compacted"], dates.len() as u64 - 2);
    assert_eq!(rest["partitions_left"], 0);
    assert!(dates.iter().all(|d| files_of(*d) == 1));
    assert_eq!(lake_keys(&lake), keys);
}
