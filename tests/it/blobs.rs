//! Ingest from Blob Storage against a real Azurite: a backlog across days and vaults,
//! growth between runs, late appends to the previous hour, a new vault, a replaced blob
//! (created again with the same lines first, or with others), an append later than the
//! grace period (found by a full listing), garbage in a blob, Azurite dying mid-run, and
//! secrets that never show.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use crate::azurite::{ACCOUNT, Azurite, Container, account_sas, blob_name};
use crate::common::{kvaudit, record};

/// Runs `kvaudit ingest --from az://...` against `azurite` with the SAS in the environment.
fn ingest_az(azurite: &Azurite, lake: &Path, from: &str, extra: &[&str]) -> Output {
    kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "ingest", "--from", from, "--format", "json", "--no-progress"])
        .args(["--blob-endpoint", &azurite.endpoint()])
        .args(extra)
        .env("KVAUDIT_SAS_TOKEN", account_sas())
        .output()
        .expect("kvaudit starts")
}

fn ingest_ok(azurite: &Azurite, lake: &Path, from: &str) -> serde_json::Value {
    let out = ingest_az(azurite, lake, from, &[]);
    assert!(out.status.success(), "ingest failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON summary")
}

/// `(source, source_offset)` of every row, through `kvaudit query --format json`.
fn lake_keys(lake: &Path) -> Vec<(String, i64)> {
    let out = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "query", "--format", "json"])
        .arg("SELECT source, source_offset FROM events ORDER BY source, source_offset")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["source"].as_str().unwrap().to_string(), v["source_offset"].as_i64().unwrap())
        })
        .collect()
}

fn lines(records: &[String]) -> Vec<u8> {
    records.iter().flat_map(|r| format!("{r}\n").into_bytes()).collect()
}

fn rec(vault: &str, day: u32, hour: u32, n: u32) -> String {
    record(&format!("2026-10-{day:02}T{hour:02}:{n:02}:00.0000000Z"), vault, &format!("s{day}{hour}{n}"))
}

/// Offsets of the lines of `bytes` that end in a newline.
fn line_offsets(bytes: &[u8]) -> Vec<i64> {
    let mut offsets = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            offsets.push(start as i64);
            start = i + 1;
        }
    }
    offsets
}

#[test]
fn backlog_then_growth_late_appends_and_a_new_vault_land_exactly_once() {
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "backlog");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let mut contents: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
    let mut put = |c: &Container, name: String, bytes: Vec<u8>| {
        c.append(&name, &bytes);
        contents.entry(name).or_default().extend(bytes);
    };
    // Two subscriptions, two vaults each, three days, four hours a day.
    for sub in ["S1", "S2"] {
        for vault in ["KVA", "KVB"] {
            let vault = format!("{vault}{sub}");
            for day in 1..=3 {
                for hour in [0, 6, 12, 18] {
                    let recs: Vec<_> = (0..3).map(|n| rec(&vault.to_lowercase(), day, hour, n)).collect();
                    put(&c, blob_name(sub, &vault, 2026, 10, day, hour), lines(&recs));
                }
            }
        }
    }
    let run1 = ingest_ok(&azurite, &lake, &c.from());
    assert_eq!((run1["files"].as_u64(), run1["records"].as_u64()), (Some(48), Some(144)), "{run1}");

    // The newest hour grows: two lines and half of a third.
    let last = blob_name("S1", "KVAS1", 2026, 10, 3, 18);
    let partial = rec("kvas1", 3, 18, 9);
    let (head, tail) = partial.split_at(partial.len() / 2);
    let mut grown = lines(&[rec("kvas1", 3, 18, 5), rec("kvas1", 3, 18, 6)]);
    grown.extend(head.as_bytes());
    put(&c, last.clone(), grown);
    // The next hour starts, then the previous hour's blob still gets a late record.
    put(&c, blob_name("S1", "KVAS1", 2026, 10, 3, 19), lines(&[rec("kvas1", 3, 19, 0)]));
    put(&c, blob_name("S2", "KVBS2", 2026, 10, 3, 18), lines(&[rec("kvbs2", 3, 18, 7)]));
    // A vault that did not exist before, with an hour long before the others' marks.
    put(&c, blob_name("S3", "KVNEW", 2026, 10, 1, 3), lines(&[rec("kvnew", 1, 3, 0), rec("kvnew", 1, 3, 1)]));
    let run2 = ingest_ok(&azurite, &lake, &c.from());
    assert_eq!(run2["records"], 2 + 1 + 1 + 2, "{run2}");
    assert_eq!(run2["pending_bytes"].as_u64(), Some(head.len() as u64), "{run2}");

    // The partial line completes.
    put(&c, last.clone(), format!("{tail}\n").into_bytes());
    let run3 = ingest_ok(&azurite, &lake, &c.from());
    assert_eq!((run3["records"].as_u64(), run3["pending_bytes"].as_u64()), (Some(1), Some(0)), "{run3}");
    // Nothing new: nothing read.
    let run4 = ingest_ok(&azurite, &lake, &c.from());
    assert_eq!((run4["records"].as_u64(), run4["files_read"].as_u64()), (Some(0), Some(0)), "{run4}");

    let expected: BTreeSet<(String, i64)> = contents
        .iter()
        .flat_map(|(name, bytes)| {
            let source = format!("az://{ACCOUNT}/backlog/{name}");
            line_offsets(bytes).into_iter().map(move |o| (source.clone(), o))
        })
        .collect();
    let got = lake_keys(&lake);
    assert_eq!(got.len(), expected.len(), "rows lost or duplicated");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), expected);
    // The listing marks are kept per vault folder.
    let marks = std::fs::read_to_string(lake.join("_state/blob-listing.json")).unwrap();
    assert!(marks.contains("VAULTS/KVNEW/") && marks.contains("2026-10-03T19"), "{marks}");
}

#[test]
fn replaced_blob_is_read_again_without_colliding_with_its_old_rows() {
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "replaced");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let name = blob_name("S1", "KV1", 2026, 10, 1, 10);
    c.append(&name, &lines(&[rec("kv1", 1, 10, 0), rec("kv1", 1, 10, 1), rec("kv1", 1, 10, 2)]));
    assert_eq!(ingest_ok(&azurite, &lake, &c.from())["records"], 3);
    c.delete(&name);
    c.append(&name, &lines(&[rec("kv1", 1, 10, 7)]));
    let run = ingest_ok(&azurite, &lake, &c.from());
    assert_eq!((run["records"].as_u64(), run["files_replaced"].as_u64()), (Some(1), Some(1)), "{run}");
    let keys = lake_keys(&lake);
    let unique: BTreeSet<_> = keys.iter().cloned().collect();
    assert_eq!((keys.len(), unique.len()), (4, 4), "{keys:?}");
    assert!(keys.iter().any(|(s, o)| s.contains("#created=") && *o == 0), "{keys:?}");
    // And it grows on from there, without reading the first content again.
    c.append(&name, &lines(&[rec("kv1", 1, 10, 8)]));
    assert_eq!(ingest_ok(&azurite, &lake, &c.from())["records"], 1);
    assert_eq!(ingest_ok(&azurite, &lake, &c.from())["records"], 0);
    assert_eq!(lake_keys(&lake).len(), 5);
}

/// `raw` of every row: a record stored twice shows here even under two sources.
fn lake_raws(lake: &Path) -> Vec<String> {
    let out = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "query", "--format", "json"])
        .arg("SELECT raw FROM events ORDER BY raw")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["raw"].as_str().unwrap().to_string())
        .collect()
}

/// Log lines without their terminal colour codes (`ESC [ … m`), to match `field=value`.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// Azure lists creation times to the second: a blob created again within the second it
/// was first created would look unchanged, and the test would not test re-creation.
fn next_second() {
    std::thread::sleep(std::time::Duration::from_millis(1100));
}

/// Issue 3: a blob deleted and created again with the lines already ingested first (a
/// re-upload, or the service writing the hour again) stored those lines a second time,
/// under `#created=`. Its beginning is now checked against the checkpoint's checksum and
/// read on from the offset, with one range read of what was ingested.
#[test]
fn a_blob_created_again_with_the_same_lines_first_is_read_on_without_duplicates() {
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "recreated");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let name = blob_name("S1", "KV1", 2026, 10, 1, 10);
    let first = lines(&[rec("kv1", 1, 10, 0), rec("kv1", 1, 10, 1), rec("kv1", 1, 10, 2)]);
    c.append(&name, &first);
    assert_eq!(ingest_ok(&azurite, &lake, &c.from())["records"], 3);

    next_second();
    c.delete(&name);
    let mut again = first.clone();
    again.extend(lines(&[rec("kv1", 1, 10, 3), rec("kv1", 1, 10, 4)]));
    c.append(&name, &again);
    let run = ingest_ok(&azurite, &lake, &c.from());
    assert_eq!(
        (run["records"].as_u64(), run["files_recreated"].as_u64(), run["files_replaced"].as_u64()),
        (Some(2), Some(1), Some(0)),
        "{run}"
    );
    let source = format!("az://{ACCOUNT}/recreated/{name}");
    let expected: Vec<(String, i64)> = line_offsets(&again).into_iter().map(|o| (source.clone(), o)).collect();
    assert_eq!(lake_keys(&lake), expected, "every record once, all under the blob's own key");
    let raws = lake_raws(&lake);
    let unique: BTreeSet<_> = raws.iter().collect();
    assert_eq!((raws.len(), unique.len()), (5, 5), "{raws:#?}");

    // Created again with exactly what was read: nothing to read, and the checkpoint takes
    // the new creation time, so the next run neither reads nor checks it again.
    next_second();
    c.delete(&name);
    c.append(&name, &again);
    let run = ingest_ok(&azurite, &lake, &c.from());
    assert_eq!((run["records"].as_u64(), run["files_recreated"].as_u64()), (Some(0), Some(1)), "{run}");
    let out = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "-v", "ingest", "--from", &c.from(), "--format", "json"])
        .args(["--blob-endpoint", &azurite.endpoint(), "--no-progress"])
        .env("KVAUDIT_SAS_TOKEN", account_sas())
        .output()
        .unwrap();
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((run["records"].as_u64(), run["files_recreated"].as_u64()), (Some(0), Some(0)), "{run}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Checked re-created blobs"));
    // And it grows on from there.
    c.append(&name, &lines(&[rec("kv1", 1, 10, 5)]));
    assert_eq!(ingest_ok(&azurite, &lake, &c.from())["records"], 1);
    assert_eq!(lake_keys(&lake).len(), 6);
    assert!(lake_keys(&lake).iter().all(|(s, _)| *s == source));
}

/// The check costs one range read per re-created blob (per 4 MiB of what was ingested of
/// it), and a blob whose beginning differs is new content: read from 0 under its own key,
/// next to the old rows.
#[test]
fn a_blob_created_again_with_other_lines_is_read_from_the_start_as_a_new_source() {
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "rewritten");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let name = blob_name("S1", "KV1", 2026, 10, 1, 10);
    c.append(&name, &lines(&[rec("kv1", 1, 10, 0), rec("kv1", 1, 10, 1)]));
    assert_eq!(ingest_ok(&azurite, &lake, &c.from())["records"], 2);
    next_second();
    c.delete(&name);
    // Longer than what was read, so only its checksum can tell it apart.
    let other = lines(&[rec("kv1", 1, 10, 7), rec("kv1", 1, 10, 8), rec("kv1", 1, 10, 9)]);
    c.append(&name, &other);
    let out = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "-v", "ingest", "--from", &c.from(), "--format", "json"])
        .args(["--blob-endpoint", &azurite.endpoint(), "--no-progress"])
        .env("KVAUDIT_SAS_TOKEN", account_sas())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = without_colours(&String::from_utf8_lossy(&out.stderr));
    let checked = stderr.lines().find(|l| l.contains("Checked re-created blobs")).expect("the check is logged");
    assert!(
        checked.contains("blobs=1") && checked.contains("same_beginning=0") && checked.contains("requests=1"),
        "{checked}"
    );
    assert!(stderr.contains("Blob replaced") && stderr.contains("its beginning differs"), "{stderr}");
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (run["records"].as_u64(), run["files_replaced"].as_u64(), run["files_recreated"].as_u64()),
        (Some(3), Some(1), Some(0)),
        "{run}"
    );
    let keys = lake_keys(&lake);
    let old = format!("az://{ACCOUNT}/rewritten/{name}");
    assert_eq!(keys.iter().filter(|(s, _)| *s == old).count(), 2, "the old rows stay: {keys:?}");
    let new: Vec<i64> =
        keys.iter().filter(|(s, _)| s.starts_with(&format!("{old}#created="))).map(|(_, o)| *o).collect();
    assert_eq!(new, line_offsets(&other), "{keys:?}");
}

/// Issue 3: the service can append to an hour's blob later than the grace period (a
/// retried delivery); listing only the recent hours never saw it again. A full listing, on
/// request or once `--full-listing-every` has passed, finds it, and the checkpoints keep
/// it cheap: only that blob is read.
#[test]
fn an_append_later_than_the_grace_period_is_found_by_a_full_listing() {
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "late");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let old = blob_name("S1", "KV1", 2026, 10, 1, 10);
    let newest = blob_name("S1", "KV1", 2026, 10, 3, 20);
    c.append(&old, &lines(&[rec("kv1", 1, 10, 0)]));
    c.append(&newest, &lines(&[rec("kv1", 3, 20, 0)]));
    let mut expected = 2;
    // The first run lists the new vault folder whole, and counts as a full listing.
    assert_eq!(ingest_ok(&azurite, &lake, &c.from())["records"], 2);
    let state = std::fs::read_to_string(lake.join("_state/blob-listing.json")).unwrap();
    assert!(state.contains("full_listings"), "{state}");

    // Two days older than the newest hour: outside --grace-hours.
    c.append(&old, &lines(&[rec("kv1", 1, 10, 1), rec("kv1", 1, 10, 2)]));
    let run = ingest_ok(&azurite, &lake, &c.from());
    assert_eq!((run["records"].as_u64(), run["files"].as_u64()), (Some(0), Some(1)), "not listed: {run}");
    let out = ingest_az(&azurite, &lake, &c.from(), &["--full-listing"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (run["records"].as_u64(), run["files"].as_u64(), run["files_read"].as_u64()),
        (Some(2), Some(2), Some(1)),
        "{run}"
    );
    expected += 2;

    // Later again: an interval not yet passed lists the recent hours only; once it has
    // passed, the run lists everything.
    c.append(&old, &lines(&[rec("kv1", 1, 10, 3)]));
    let out = ingest_az(&azurite, &lake, &c.from(), &["--full-listing-every", "1h"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["records"], 0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = ingest_az(&azurite, &lake, &c.from(), &["--full-listing-every", "1s"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["records"], 1);
    expected += 1;
    // "off" never lists whole by itself, however old the last full listing.
    c.append(&old, &lines(&[rec("kv1", 1, 10, 4)]));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = ingest_az(&azurite, &lake, &c.from(), &["--full-listing-every", "off"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["records"], 0);

    let keys = lake_keys(&lake);
    let unique: BTreeSet<_> = keys.iter().collect();
    assert_eq!((keys.len(), unique.len()), (expected, expected), "{keys:?}");

    // A folder of files is always listed whole: the flag is refused there.
    let out = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "ingest", "--from", dir.path().to_str().unwrap(), "--full-listing"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--full-listing is for az:// sources"));
}

#[test]
fn garbage_in_a_blob_is_quarantined_and_the_rest_ingested() {
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "garbage");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let name = blob_name("S1", "KV1", 2026, 10, 1, 10);
    let mut bytes = lines(&[rec("kv1", 1, 10, 0)]);
    bytes.extend(b"this is not json {{{\n");
    bytes.extend(lines(&[rec("kv1", 1, 10, 1)]));
    c.append(&name, &bytes);
    let run = ingest_ok(&azurite, &lake, &c.from());
    assert_eq!((run["records"].as_u64(), run["quarantined"].as_u64()), (Some(2), Some(1)), "{run}");
    let entries = crate::common::quarantine_entries(&lake);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["source"], format!("az://{ACCOUNT}/garbage/{name}"));
}

#[test]
fn reading_at_the_end_of_a_blob_is_no_new_data() {
    use kvaudit::source::azure::{BlobConfig, BlobLocation, BlobStore, Credential, RangeRead, SasToken};
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "end");
    let name = blob_name("S1", "KV1", 2026, 10, 1, 10);
    let bytes = lines(&[rec("kv1", 1, 10, 0)]);
    c.append(&name, &bytes);
    let store = BlobStore::new(BlobConfig {
        location: BlobLocation::parse(&c.from()).unwrap().unwrap(),
        endpoint: url::Url::parse(&azurite.endpoint()).unwrap(),
        credential: Credential::Sas(SasToken::new(&account_sas()).unwrap()),
        retry_for: std::time::Duration::from_secs(5),
        request_timeout: std::time::Duration::from_secs(5),
        concurrency: 2,
        grace_hours: 2,
        full_listing_every: None,
    })
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let len = bytes.len() as u64;
    // Azurite answers an empty 206 here where Azure answers 416; both are "no new data".
    assert!(matches!(runtime.block_on(store.read_range(&name, len, len + 100)).unwrap(), RangeRead::NoNewData));
    match runtime.block_on(store.read_range(&name, 0, len)).unwrap() {
        RangeRead::Bytes(b) => assert_eq!(&b[..], &bytes[..]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn secrets_never_show_and_failures_name_the_account_in_one_line() {
    let sas = account_sas();
    let sig = sas.split("sig=").nth(1).unwrap().to_string();
    let decoded: String = url::form_urlencoded::parse(format!("s={sig}").as_bytes()).next().unwrap().1.into_owned();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let check = |out: &Output, what: &str| {
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        for secret in [&sas, &sig, &decoded] {
            assert!(!text.contains(secret.as_str()), "{what}: the SAS token shows in\n{text}");
        }
        text
    };
    // Nothing listens on this port: fails after the retry bound, naming the account.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "-vv", "ingest", "--from", &format!("az://{ACCOUNT}/c1")])
        .args(["--blob-endpoint", &format!("http://127.0.0.1:{closed}/{ACCOUNT}"), "--retry-seconds", "2"])
        .env("KVAUDIT_SAS_TOKEN", &sas)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = check(&out, "unreachable endpoint");
    let error: Vec<_> = text.lines().filter(|l| l.starts_with("kvaudit: error:")).collect();
    assert_eq!(error.len(), 1, "{text}");
    assert!(error[0].contains(ACCOUNT) && error[0].contains("cannot reach"), "{text}");

    // A wrong signature: refused at once, with the reason.
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "secrets");
    let forged = sas.replace(&sig, "AAAA");
    let started = std::time::Instant::now();
    let out = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "ingest", "--from", &c.from(), "--blob-endpoint", &azurite.endpoint()])
        .env("KVAUDIT_SAS_TOKEN", &forged)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = check(&out, "forged token");
    assert!(!text.contains("AAAA"), "{text}");
    assert!(text.contains(ACCOUNT) && text.contains("access denied"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "a refused credential must fail fast");

    // --help never shows it, nor does a SAS file's content.
    let sas_file = dir.path().join("sas.txt");
    std::fs::write(&sas_file, format!("?{sas}\n")).unwrap();
    let out = kvaudit().args(["ingest", "--help"]).env("KVAUDIT_SAS_TOKEN", &sas).output().unwrap();
    check(&out, "--help");
    let out = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "-vv", "ingest", "--from", &c.from(), "--format", "json"])
        .args(["--blob-endpoint", &azurite.endpoint(), "--sas-file", sas_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check(&out, "--sas-file");
}

#[test]
fn azurite_dying_mid_run_fails_clearly_and_the_rerun_completes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut azurite = Azurite::start_on_disk(&dir.path().join("azurite-data"));
    let c = Container::create(&azurite, "crash");
    let logs = dir.path().join("logs");
    crate::common::run_ok(&["generate", "--out", logs.to_str().unwrap(), "--days", "2", "--scale", "0.5"]);
    let root = logs.join("insights-logs-auditevent");
    let mut expected = BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
                let bytes = std::fs::read(&p).unwrap();
                for chunk in bytes.chunks(1 << 20) {
                    c.append(&name, chunk);
                }
                for o in line_offsets(&bytes) {
                    expected.insert((format!("az://{ACCOUNT}/crash/{name}"), o));
                }
            }
        }
    }
    let lake = dir.path().join("lake");
    let child = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "ingest", "--from", &c.from(), "--no-progress"])
        .args(["--blob-endpoint", &azurite.endpoint(), "--commit-bytes", "200000", "--downloads", "2"])
        .args(["--workers", "1", "--retry-seconds", "3"])
        .env("KVAUDIT_SAS_TOKEN", account_sas())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stop Azurite once the first commit is in: the run is under way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !lake.join("_state/checkpoints.json").exists() {
        assert!(std::time::Instant::now() < deadline, "no commit within 2 minutes");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    azurite.stop();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the run finished before Azurite stopped: make the input larger");
    assert!(stderr.contains(ACCOUNT) && stderr.contains("kvaudit: error:"), "{stderr}");
    assert!(stderr.lines().filter(|l| l.starts_with("kvaudit: error:")).count() == 1, "{stderr}");

    azurite.restart();
    let run = ingest_ok(&azurite, &lake, &c.from());
    assert_eq!(run["quarantined"], 0, "{run}");
    let got = lake_keys(&lake);
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(got.len(), unique.len(), "duplicated rows");
    assert_eq!(unique.len(), expected.len(), "lost rows");
    assert!(unique == expected);
}

#[test]
fn follow_keeps_pulling_and_stops_cleanly_on_sigterm() {
    let azurite = Azurite::start();
    let c = Container::create(&azurite, "follow");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let name = blob_name("S1", "KV1", 2026, 10, 1, 10);
    c.append(&name, &lines(&[rec("kv1", 1, 10, 0)]));
    let mut child = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "ingest", "--from", &c.from(), "--format", "json"])
        .args(["--blob-endpoint", &azurite.endpoint(), "--follow", "--interval", "1s"])
        .env("KVAUDIT_SAS_TOKEN", account_sas())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    c.append(&name, &lines(&[rec("kv1", 1, 10, 1)]));
    std::thread::sleep(std::time::Duration::from_secs(3));
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "--follow did not stop on SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records, 2);
    assert_eq!(lake_keys(&lake).len(), 2);
}

#[test]
fn a_service_that_accepts_and_never_answers_times_out_and_the_run_fails_naming_the_account() {
    // A black hole: connections are accepted and held open, and nothing is ever answered.
    // Without a request timeout of our own, the run would wait on it forever.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let mut child = kvaudit()
        .args(["--lake", lake.to_str().unwrap(), "ingest", "--from", &format!("az://{ACCOUNT}/c1"), "--no-progress"])
        .args(["--blob-endpoint", &format!("http://127.0.0.1:{port}/{ACCOUNT}")])
        .args(["--request-timeout", "1", "--retry-seconds", "3"])
        .env("KVAUDIT_SAS_TOKEN", account_sas())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A liveness guard, not a benchmark: a run that is still waiting after a minute hangs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("ingest still waits on a service that never answers");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    let error: Vec<_> = stderr.lines().filter(|l| l.starts_with("kvaudit: error:")).collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(error[0].contains(ACCOUNT) && error[0].contains("cannot reach"), "{stderr}");
    assert!(
        error[0].contains("no answer within the request timeout of 1 s"),
        "the reason should be the timeout: {stderr}"
    );
}
