//! The service over time: `kvaudit serve` with a one-second schedule reading appended
//! Azurite blobs for many cycles, delivering by mail to a real SMTP server, while API
//! clients poll. Checks that no record and no alert is lost or duplicated, that every alert
//! is mailed exactly once, that the pollers never see an error, and that the service's
//! memory levels off once the backlog is in (within 16 MiB; the README's Known gaps has
//! the figures of long runs).
//!
//! `KVAUDIT_SOAK_HOURS` sets how many hours arrive while the service runs, one a round
//! (default 24; `scripts/soak.sh` runs two weeks of them), and `KVAUDIT_SOAK_RSS_OUT=FILE`
//! writes one CSV line per round: round, hours appended, resident KiB, records ingested,
//! seconds since the first round. `KVAUDIT_SOAK_COMPACT_EVERY` sets the service's
//! `compact_every` (default `1h`, so compaction takes one turn in a short run; `10s` has it
//! compact the appended hours every few rounds). `KVAUDIT_SOAK_SERVE_ENV` adds `NAME=VALUE`
//! pairs (separated by spaces) to the service's environment alone, for a heap profiler's
//! preload or an allocator setting.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kvaudit::alert::AlertStore;
use kvaudit::lake::LakePaths;

use crate::azurite::{Azurite, Container, account_sas};
use crate::common::run_ok;
use crate::service::{Server, generate, http, new_token};
use crate::smtp::{SmtpOptions, SmtpServer, free_port, smtp_table};

/// Every `PT1H.json` under `container`, as (blob name, bytes), oldest hour first.
fn blobs_of(container: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.file_name().is_some_and(|n| n == "PT1H.json") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(container, &mut files);
    let mut blobs: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|p| {
            let name = p.strip_prefix(container).unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read(p).unwrap())
        })
        .collect();
    // The hour is the part from `y=` on; sorting on it orders the blobs in time.
    blobs.sort_by_key(|(name, _)| (name[name.find("/y=").unwrap()..].to_owned(), name.clone()));
    blobs
}

/// Days of logs in Azurite before the service starts.
const BACKLOG_DAYS: u32 = 7;

/// Hours appended while the service runs, one a round: `KVAUDIT_SOAK_HOURS`, default 24.
fn held_hour_count() -> usize {
    match std::env::var("KVAUDIT_SOAK_HOURS") {
        Ok(text) => {
            text.trim().parse().ok().filter(|n| *n >= 2).expect("KVAUDIT_SOAK_HOURS: a whole number, 2 or more")
        }
        Err(_) => 24,
    }
}

/// The least-squares slope of `ys` over their index: units of `ys` per round.
fn slope(ys: &[u64]) -> f64 {
    let n = ys.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<u64>() as f64 / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (x, y) in ys.iter().enumerate() {
        num += (x as f64 - mean_x) * (*y as f64 - mean_y);
        den += (x as f64 - mean_x).powi(2);
    }
    if den == 0.0 { 0.0 } else { num / den }
}

/// The service's resident memory in KiB (Linux).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS in /proc/PID/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn serve_over_appended_blobs_loses_and_duplicates_nothing_and_bounds_its_memory_growth() {
    let dir = tempfile::tempdir().unwrap();
    let held_count = held_hour_count();
    let logs = generate(dir.path(), BACKLOG_DAYS + held_count.div_ceil(24) as u32, "0.05");
    let blobs = blobs_of(&logs.container());
    assert!(blobs.len() > 40, "too few blobs to soak: {}", blobs.len());

    // The hours before the last `held_count` (24) are the backlog the first cycle reads; the
    // last ones arrive while the service runs, an hour a round, each blob in two appends split
    // inside a line: its first part in its hour's round, the rest one round later (Azure
    // appends to the previous hour's blob shortly after the hour ends, within the grace).
    let azurite = Azurite::start();
    let container = Container::create(&azurite, "insights-logs-auditevent");
    let hour_of = |name: &str| name[name.find("/y=").unwrap()..].to_owned();
    let hours: BTreeSet<String> = blobs.iter().map(|(name, _)| hour_of(name)).collect();
    let held_hours: Vec<String> = hours.iter().rev().take(held_count).rev().cloned().collect();
    let (backlog, held): (Vec<_>, Vec<_>) = blobs.iter().partition(|(name, _)| !held_hours.contains(&hour_of(name)));
    for (name, bytes) in backlog {
        container.append(name, bytes);
    }

    let smtp =
        SmtpServer::start(dir.path(), free_port(), SmtpOptions { tls: "starttls", login: None, stall_seconds: 0 });
    let analyst = new_token("ana", "analyst", &[]);
    let admin = new_token("root", "admin", &[]);
    let lake = dir.path().join("lake");
    let config = dir.path().join("kvaudit.toml");
    std::fs::write(
        &config,
        format!(
            "[serve]\ninterval = \"1s\"\nlisten = \"127.0.0.1:0\"\nworkers = 2\ncompact_every = \"{}\"\n\n\
             [[source]]\nfrom = \"{}\"\nblob_endpoint = \"{}\"\nsas = {{ env = \"KVAUDIT_SOAK_SAS\" }}\n\
             retry_seconds = 10\n\n\
             [delivery]\n\n{}\n\
             [[delivery.channels]]\nname = \"soc\"\ntype = \"email\"\nto = [\"soc@contoso.example\"]\n\n\
             [[delivery.routes]]\nchannels = [\"soc\"]\n\n{}\n{}",
            std::env::var("KVAUDIT_SOAK_COMPACT_EVERY").unwrap_or_else(|_| "1h".to_owned()),
            container.from(),
            azurite.endpoint(),
            smtp_table(smtp.port, "starttls", &smtp.ca, false, 10),
            analyst.lines,
            admin.lines
        ),
    )
    .unwrap();
    let sas = account_sas();
    let mut env = vec![("KVAUDIT_SOAK_SAS", sas.as_str())];
    // Extra environment for the service alone, `NAME=VALUE` separated by spaces: a heap
    // profiler's preload (`LD_PRELOAD=…libheaptrack_preload.so DUMP_HEAPTRACK_OUTPUT=FIFO`)
    // or allocator settings, without touching cargo, Azurite or the SMTP server.
    let serve_env = std::env::var("KVAUDIT_SOAK_SERVE_ENV").unwrap_or_default();
    env.extend(
        serve_env
            .split_whitespace()
            .map(|pair| pair.split_once('=').expect("KVAUDIT_SOAK_SERVE_ENV: NAME=VALUE pairs separated by spaces")),
    );
    let mut server = Server::start_with_env(&lake, &config, &[], &env);
    server.wait_for_cycles(1);

    // API clients poll for the whole run; any answer but 200 is counted.
    let stop = Arc::new(AtomicBool::new(false));
    let (polls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let pollers: Vec<_> = [
        (analyst.token.clone(), "/api/alerts?limit=50"),
        (analyst.token.clone(), "/api/deliveries"),
        (admin.token.clone(), "/api/overview?days=3"),
        (admin.token.clone(), "/metrics"),
    ]
    .into_iter()
    .map(|(token, path)| {
        let (addr, stop, polls, failures) =
            (server.addr.clone(), Arc::clone(&stop), Arc::clone(&polls), Arc::clone(&failures));
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let answer = http(&addr, "GET", path, Some(&token), None);
                polls.fetch_add(1, Ordering::SeqCst);
                if answer.status != 200 {
                    failures.fetch_add(1, Ordering::SeqCst);
                    seen.push(format!("{path}: {} {}", answer.status, answer.text()));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            seen
        })
    })
    .collect();

    // Rounds: each appends the first part of the next hour's blobs and the rest of the
    // previous hour's, then waits two cycles and samples the service's memory.
    let mut rss = Vec::new();
    let mut rss_out = std::env::var_os("KVAUDIT_SOAK_RSS_OUT").map(|path| {
        let mut file = std::fs::File::create(&path).expect("KVAUDIT_SOAK_RSS_OUT can be created");
        writeln!(file, "round,hours_appended,rss_kib,records,elapsed_s").unwrap();
        file
    });
    let started = Instant::now();
    let mut pending_tail: Vec<(&str, &[u8])> = Vec::new();
    for round in 0..=held_hours.len() {
        for (name, tail) in pending_tail.drain(..) {
            container.append(name, tail);
        }
        let this_hour = held_hours.get(round);
        for (name, bytes) in held.iter().filter(|(name, _)| Some(&hour_of(name)) == this_hour) {
            // Inside a line: the service must leave the partial line for the next cycle.
            let cut = bytes.len() / 2;
            container.append(name, &bytes[..cut]);
            pending_tail.push((name.as_str(), &bytes[cut..]));
        }
        let cycles = server.metric("kvaudit_cycles_total ").unwrap() as u64;
        server.wait_for_cycles(cycles + 2);
        rss.push(rss_kib(server.child.id()));
        if let Some(file) = rss_out.as_mut() {
            let records = server.metric("kvaudit_ingest_records_total ").unwrap_or(0.0) as u64;
            let hours = (round + 1).min(held_hours.len());
            let elapsed = started.elapsed().as_secs_f64();
            writeln!(file, "{round},{hours},{},{records},{elapsed:.1}", rss[round]).unwrap();
            file.flush().unwrap();
        }
    }
    assert!(pending_tail.is_empty());

    // Every record is in; then the outbox empties.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let records = server.metric("kvaudit_ingest_records_total ").unwrap() as u64;
        let waiting = server.metric("kvaudit_delivery_waiting ").unwrap_or(1.0);
        if records == logs.records && waiting == 0.0 {
            break;
        }
        assert!(records <= logs.records, "more records ingested ({records}) than written ({})", logs.records);
        assert!(
            Instant::now() < deadline,
            "after 5 minutes: {records} of {} records, {waiting} deliveries waiting: {}",
            logs.records,
            server.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let cycles = server.metric("kvaudit_cycles_total ").unwrap() as u64;
    server.wait_for_cycles(cycles + 2);
    let deliveries = server.get("/api/deliveries?limit=5000", Some(&analyst.token)).json();
    stop.store(true, Ordering::SeqCst);
    let refused: Vec<String> = pollers.into_iter().flat_map(|p| p.join().unwrap()).collect();
    let log = server.stderr_text();
    assert_eq!(server.metric("kvaudit_delivery_failures_total{channel=\"email\"}"), Some(0.0));
    let status = server.terminate();
    assert!(status.success(), "kvaudit serve ended with {status}");

    // The pollers saw only successes, and polled all along.
    assert!(
        refused.is_empty(),
        "{} failed polls, first ones: {:?}\nthe service's log:\n{log}",
        failures.load(Ordering::SeqCst),
        &refused[..5.min(refused.len())]
    );
    assert!(polls.load(Ordering::SeqCst) > 100, "the pollers hardly ran: {}", polls.load(Ordering::SeqCst));

    // Compaction ran beside ingest (past days' partitions, the first cycle), without error.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lake.join("_state/serve.json")).unwrap()).unwrap();
    assert!(state["last_compaction"].is_string(), "{state}");
    assert!(state["last_upkeep_error"].is_null(), "{state}");
    assert!(lake.join("_state/manifests").read_dir().unwrap().next().is_some(), "no partition was compacted");

    // No record lost or read twice.
    let counts = run_ok(&[
        "--lake",
        lake.to_str().unwrap(),
        "query",
        "SELECT count(*) AS n, count(DISTINCT concat(source, ':', CAST(source_offset AS VARCHAR))) AS distinct_n FROM events",
        "--format",
        "csv",
    ]);
    assert_eq!(counts.trim(), format!("n,distinct_n\n{0},{0}", logs.records));

    // No alert duplicated: ids are unique, and the detector's one-story-one-alert means no
    // two alerts share kind, identity, vault and window.
    let store = AlertStore::open(&LakePaths::new(&lake)).unwrap();
    let alerts = store.alerts();
    assert!(!alerts.is_empty(), "the generated incidents raised no alert");
    let ids: BTreeSet<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), alerts.len(), "an alert id is stored twice");

    // Every alert mailed exactly once, and the outbox says so.
    let mut mailed: BTreeMap<String, usize> = BTreeMap::new();
    for mail in smtp.mails() {
        let id = mail["headers"]["x-kvaudit-alert"].as_str().expect("an X-Kvaudit-Alert header").to_owned();
        *mailed.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = mailed.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "alerts mailed more than once: {twice:?}");
    let mailed: BTreeSet<&str> = mailed.keys().map(String::as_str).collect();
    assert_eq!(mailed, ids, "the alerts mailed are not the alerts stored");
    let channel = &deliveries["channels"][0];
    assert_eq!(channel["channel"], "soc", "{deliveries}");
    assert_eq!(channel["delivered"].as_u64(), Some(ids.len() as u64), "{deliveries}");
    for state in ["pending", "retrying", "given_up"] {
        assert_eq!(channel[state].as_u64(), Some(0), "{state}: {deliveries}");
    }

    // Memory levels off once the backlog is in: the second half's highest sample is within
    // 16 MiB of the first half's. Measured with the service trimming its arenas after each
    // cycle and detection reading only the newest partition for the newest event: +5 MiB
    // over the default 25 rounds, +10 MiB over 97 (`KVAUDIT_SOAK_HOURS=96`), +6 MiB over 337
    // (`scripts/soak.sh`, second-half slope +11.6 KiB a round). Before those two changes a
    // 97-round run gave +19 MiB, growing with every file the lake held.
    let first = rss[..rss.len() / 2].iter().max().unwrap();
    let last = rss[rss.len() / 2..].iter().max().unwrap();
    let second_half_slope = slope(&rss[rss.len() / 2..]);
    eprintln!("resident memory per round, KiB: {rss:?}");
    eprintln!("second half: {second_half_slope:.1} KiB per round");
    assert!(*last <= first + 16 * 1024, "resident memory grew from {first} KiB to {last} KiB: {rss:?}");
}
