//! Killing `kvaudit ingest` at random moments and running it again loses no record and
//! duplicates none: the lake ends up holding each source record exactly once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::common::{ingest, kvaudit, query, run_ok};

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

    let seed: u64 = std::env::var("KVAUDIT_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("crash test seed {seed} (set KVAUDIT_CRASH_SEED to repeat it)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // How long a whole ingest takes here, so kills land inside runs on any machine.
    let started = std::time::Instant::now();
    ingest(&dir.path().join("calibration-lake"), &container);
    let full = started.elapsed().as_millis().max(20) as u64;
    let mut killed = 0;
    for _ in 0..6 {
        // Small commits, so kills land before, inside and after many commit points.
        let mut child = kvaudit()
            .args(["--lake", lake.to_str().unwrap(), "ingest", "--from", container.to_str().unwrap()])
            .args(["--commit-bytes", "1500000", "--no-progress"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The first run is cut a quarter of the way in; later ones anywhere in the first
        // two thirds of a full run (they have less left to do, and may finish).
        let delay = if killed == 0 { full / 4 } else { rng.random_range(full / 20..full * 2 / 3).max(2) };
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    eprintln!("{killed} of 6 runs were killed mid-way (a full ingest takes {full} ms here)");
    assert!(killed > 0, "no run was killed mid-way (seed {seed}): make the input larger");

    let last = ingest(&lake, &container);
    assert_eq!(last["quarantined"], 0, "{last}");
    let got = lake_keys(&lake);
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(got.len(), unique.len(), "duplicated records (seed {seed})");
    assert_eq!(unique.len(), expected.len(), "lost records (seed {seed})");
    assert!(unique == expected, "the lake's (source, offset) keys differ from the input's (seed {seed})");
    // Nothing is left half-done.
    assert!(
        !lake.join("_state/staging").exists()
            || std::fs::read_dir(lake.join("_state/staging")).unwrap().next().is_none()
    );
    assert!(std::fs::read_dir(lake.join("_state/commits")).map(|mut d| d.next().is_none()).unwrap_or(true));
}
