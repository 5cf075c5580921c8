//! Killing `kvaudit ingest` at random moments and running it again loses no record and
//! duplicates none: the lake ends up holding each source record exactly once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::common::{ingest, kvaudit, query, run_ok};

/// Runs the ingest `command` builds six times, killing each run that is still going after
/// a delay drawn from a seeded generator (the first a quarter of the way into a `full_ms`
/// run, the others anywhere in its first two thirds: they have less left to do, and may
/// finish). Returns the seed, which `KVAUDIT_CRASH_SEED` sets to repeat a failure. Small
/// commits (`--commit-bytes`) in `command` make kills land before, inside and after many
/// commit points.
pub fn kill_ingests_mid_way(full_ms: u64, mut command: impl FnMut() -> Command) -> u64 {
    let seed: u64 = std::env::var("KVAUDIT_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("crash test seed {seed} (set KVAUDIT_CRASH_SEED to repeat it)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut killed = 0;
    for _ in 0..6 {
        let mut child = command().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let delay = if killed == 0 { full_ms / 4 } else { rng.random_range(full_ms / 20..full_ms * 2 / 3).max(2) };
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    eprintln!("{killed} of 6 runs were killed mid-way (a full ingest takes {full_ms} ms here)");
    assert!(killed > 0, "no run was killed mid-way (seed {seed}): make the input larger");
    seed
}

/// Asserts that the lake's `(source, source_offset)` keys are the input's, each once.
pub fn assert_exactly_once(got: &[(String, i64)], expected: &BTreeSet<(String, i64)>, seed: u64) {
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(got.len(), unique.len(), "duplicated records (seed {seed})");
    assert_eq!(unique.len(), expected.len(), "lost records (seed {seed})");
    assert!(&unique == expected, "the lake's (source, offset) keys differ from the input's (seed {seed})");
}

/// `(source, offset)` of every non-blank line of every log file under `dir`.
pub fn source_keys(dir: &Path) -> BTreeSet<(String, i64)> {
    let mut keys = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path: PathBuf = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let source = std::fs::canonicalize(&path).unwrap().to_string_lossy().into_owned();
                let text = std::fs::read(&path).unwrap();
                let mut offset = 0usize;
                for line in text.split(|b| *b == b'\n') {
                    if !line.is_empty() {
                        keys.insert((source.clone(), offset as i64));
                    }
                    offset += line.len() + 1;
                }
            }
        }
    }
    keys
}

fn lake_keys(lake: &Path) -> Vec<(String, i64)> {
    let table = query(lake, "SELECT source, source_offset FROM events ORDER BY source, source_offset");
    table
        .lines()
        .filter(|l| l.starts_with("| /"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].to_string(), cells[1].parse().unwrap())
        })
        .collect()
}

#[test]
fn killed_ingests_rerun_to_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    run_ok(&["generate", "--out", logs.to_str().unwrap(), "--days", "2", "--scale", "0.5", "--seed", "11"]);
    let container = logs.join("insights-logs-auditevent");
    let expected = source_keys(&container);
    assert!(expected.len() > 10_000, "the generator wrote {} records", expected.len());
    let lake = dir.path().join("lake");

    // How long a whole ingest takes here, so kills land inside runs on any machine.
    let started = std::time::Instant::now();
    ingest(&dir.path().join("calibration-lake"), &container);
    let full = started.elapsed().as_millis().max(20) as u64;
    let seed = kill_ingests_mid_way(full, || {
        let mut command = kvaudit();
        command.args(["--lake", lake.to_str().unwrap(), "ingest", "--from", container.to_str().unwrap()]);
        command.args(["--commit-bytes", "1500000", "--no-progress"]);
        command
    });

    let last = ingest(&lake, &container);
    assert_eq!(last["quarantined"], 0, "{last}");
    assert_exactly_once(&lake_keys(&lake), &expected, seed);
    // Nothing is left half-done.
    assert!(
        !lake.join("_state/staging").exists()
            || std::fs::read_dir(lake.join("_state/staging")).unwrap().next().is_none()
    );
    assert!(std::fs::read_dir(lake.join("_state/commits")).map(|mut d| d.next().is_none()).unwrap_or(true));
}
