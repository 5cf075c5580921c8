//! Tests of the generator as a whole: determinism, record shape, layout, truth and inventory
//! agreeing with the logs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::truth::KINDS;
use super::*;

fn options(out: &Path, days: u32, scale: f64) -> GenerateOptions {
    GenerateOptions { out: out.to_owned(), days, scale, ..GenerateOptions::default() }
}

/// Every file under `dir`, sorted, with paths relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out.into_iter().map(|p| p.strip_prefix(dir).unwrap().to_owned()).collect()
}

fn blobs(dir: &Path) -> Vec<PathBuf> {
    files(dir).into_iter().filter(|p| p.ends_with("PT1H.json")).collect()
}

/// Every record with the blob it came from.
fn records(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for blob in blobs(dir) {
        let text = fs::read_to_string(dir.join(&blob)).unwrap();
        assert!(text.ends_with('\n'), "{} does not end with a newline", blob.display());
        for line in text.lines() {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: {e}: {line}", blob.display()));
            out.push((blob.clone(), value));
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let sa = generate(&options(a.path(), 12, 0.05)).unwrap();
    let sb = generate(&options(b.path(), 12, 0.05)).unwrap();
    let list = files(a.path());
    assert_eq!(list, files(b.path()));
    for f in &list {
        assert!(fs::read(a.path().join(f)).unwrap() == fs::read(b.path().join(f)).unwrap(), "{} differs", f.display());
    }
    assert_eq!((sa.files, sa.records, sa.bytes, sa.incidents), (sb.files, sb.records, sb.bytes, sb.incidents));
    generate(&GenerateOptions { seed: 7, ..options(c.path(), 12, 0.05) }).unwrap();
    assert_ne!(fs::read(a.path().join("truth.json")).unwrap(), fs::read(c.path().join("truth.json")).unwrap());
}

#[test]
fn records_have_the_real_shape_and_sit_in_the_right_blob() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&options(dir.path(), 12, 0.05)).unwrap();
    let all = records(dir.path());
    assert_eq!(all.len() as u64, summary.records);
    let mut operations = BTreeSet::new();
    let mut late = 0;
    for (blob, r) in &all {
        let o = r.as_object().unwrap();
        for key in [
            "time",
            "category",
            "operationName",
            "resultType",
            "correlationId",
            "callerIpAddress",
            "properties",
            "resourceId",
            "operationVersion",
            "resultSignature",
            "durationMs",
        ] {
            assert!(o.contains_key(key), "missing {key}: {r}");
        }
        assert_eq!(o["category"], "AuditEvent");
        assert_eq!(o["resultType"], "Success");
        let duration = o["durationMs"].as_str().expect("durationMs is a string");
        assert!(duration.parse::<u32>().is_ok());
        let time = o["time"].as_str().unwrap();
        assert_eq!(time.len(), 28, "{time}");
        assert!(time.ends_with('Z') && &time[19..20] == ".");
        let status = o["properties"]["httpStatusCode"].as_u64().unwrap() as u16;
        assert_eq!(o["resultSignature"], event::reason_phrase(status));
        let resource = o["resourceId"].as_str().unwrap();
        assert_eq!(resource, resource.to_ascii_uppercase());
        let op = o["operationName"].as_str().unwrap();
        operations.insert(op.to_owned());

        // Layout: the blob path repeats the resource id and the hour of receipt.
        let path = blob.to_string_lossy().replace('\\', "/");
        assert!(path.starts_with(&format!("insights-logs-auditevent/resourceId={resource}/y=")), "{path}");
        let hour = format!("y={}/m={}/d={}/h={}/m=00/PT1H.json", &time[0..4], &time[5..7], &time[8..10], &time[11..13]);
        if !path.ends_with(&hour) {
            // Received in the next hour: written in the last minute of the previous one.
            assert_eq!(&time[14..16], "59", "{path} holds {time}");
            late += 1;
        }

        let claim = &o.get("identity").map(|i| &i["claim"]);
        if op.starts_with("Vault") && !op.ends_with("Notification") {
            let claim = claim.unwrap();
            assert!(claim.get("http://schemas.microsoft.com/identity/claims/objectidentifier").is_some(), "{r}");
            assert!(claim.get("appid").is_some());
            assert!(o["properties"]["requestUri"].as_str().unwrap().contains("management.azure.com"));
        } else if status == 401 || op.ends_with("Notification") {
            assert!(claim.is_none(), "{r}");
        } else {
            let claim = claim.unwrap();
            assert!(claim["oid"].is_string() && claim["appid"].is_string() && claim["idtyp"].is_string(), "{r}");
            assert!(claim["xms_az_nwperimid"].is_array());
            let p = &o["properties"];
            assert!(p["requestUri"].as_str().unwrap().contains("?api-version="));
            assert!(p["tlsVersion"].is_string());
            assert!(p.get("isAccessPolicyMatch").is_some() ^ p.get("isRbacAuthorized").is_some(), "{r}");
            assert_eq!(p.get("id").is_none(), op.ends_with("List"), "{r}");
            if op == "SecretGet" && status == 200 {
                let id = p["id"].as_str().unwrap();
                let version = id.rsplit('/').next().unwrap();
                assert_eq!(version.len(), 32, "{id}");
                assert!(id.starts_with("https://kv-") && id == id.to_ascii_lowercase());
            }
        }
    }
    assert!(late > 0, "no record was received in the next hour");
    assert!((late as f64) < all.len() as f64 * 0.02);
    for op in [
        "SecretGet",
        "SecretList",
        "SecretSet",
        "VaultGet",
        "VaultPut",
        "SecretPurge",
        "SecretBackup",
        "KeyUnwrap",
        "SecretNearExpiryEventGridNotification",
        "SecretExpiredEventGridNotification",
    ] {
        assert!(operations.contains(op), "no {op} in {operations:?}");
    }
}

#[test]
fn truth_lists_every_kind_and_agrees_with_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&options(dir.path(), 30, 0.03)).unwrap();
    let truth: Truth = serde_json::from_slice(&fs::read(&summary.truth_path).unwrap()).unwrap();
    assert_eq!(truth.incidents.len(), summary.incidents);
    let kinds: BTreeSet<&str> = truth.incidents.iter().map(|i| i.kind.as_str()).collect();
    for kind in KINDS {
        assert!(kinds.contains(kind), "truth has no {kind}");
    }
    assert_eq!(truth.incidents.iter().filter(|i| i.kind == "denied_burst").count(), 2);

    // Unusual access is in the last third of the period.
    let end_of_history = "2026-10-21";
    for i in &truth.incidents {
        if ["volume_spike", "mass_retrieval", "enumeration", "new_identity", "new_ip", "unusual_time", "denied_burst"]
            .contains(&i.kind.as_str())
        {
            assert!(i.window_start.as_str() >= end_of_history, "{i:?}");
        }
        assert!(i.window_start <= i.window_end, "{i:?}");
    }

    // Last successful read of each secret, and who read what from where.
    let all = records(dir.path());
    let mut last_read: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut ips: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, r) in &all {
        let Some(id) = r["properties"]["id"].as_str() else {
            continue;
        };
        let oid = r["identity"]["claim"]["oid"].as_str().unwrap_or_default().to_owned();
        if r["operationName"] == "SecretGet" && r["properties"]["httpStatusCode"] == 200 {
            let mut parts = id.trim_start_matches("https://").split('/');
            let vault = parts.next().unwrap().split('.').next().unwrap().to_owned();
            let name = parts.nth(1).unwrap().to_owned();
            let time = r["time"].as_str().unwrap().to_owned();
            let entry = last_read.entry((vault, name)).or_default();
            if *entry < time {
                *entry = time;
            }
            ips.entry(oid).or_default().insert(r["callerIpAddress"].as_str().unwrap().to_owned());
        }
    }
    for i in truth.incidents.iter().filter(|i| i.kind == "stale_secret") {
        let key = (i.vault.clone().unwrap(), i.object_name.clone().unwrap());
        if let Some(last) = last_read.get(&key) {
            assert!(last[..19] < i.window_start[..19], "{key:?} read at {last} after {}", i.window_start);
        }
    }
    // Every other secret in the inventory is read in the last third.
    let stale: BTreeSet<(String, String)> = truth
        .incidents
        .iter()
        .filter(|i| i.kind == "stale_secret")
        .map(|i| (i.vault.clone().unwrap(), i.object_name.clone().unwrap()))
        .collect();
    for file in fs::read_dir(&summary.inventory_path).unwrap() {
        let path = file.unwrap().path();
        let vault = path.file_stem().unwrap().to_string_lossy().into_owned();
        let entries: Vec<Value> = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        for e in entries {
            assert!(e["attributes"]["created"].as_str().unwrap().ends_with("+00:00"));
            assert_eq!(e["id"], format!("https://{vault}.vault.azure.net/secrets/{}", e["name"].as_str().unwrap()));
            let key = (vault.clone(), e["name"].as_str().unwrap().to_owned());
            if !stale.contains(&key) {
                let last = last_read.get(&key).unwrap_or_else(|| panic!("{key:?} never read"));
                assert!(last.as_str() >= end_of_history, "{key:?} last read {last}");
            }
        }
    }
    // The new_ip address is new for that identity: it never read from it before the window.
    let new_ip = truth.incidents.iter().find(|i| i.kind == "new_ip").unwrap();
    let ip = new_ip.caller_ip.clone().unwrap();
    let oid = new_ip.identity_oid.clone().unwrap();
    assert!(ips[&oid].contains(&ip));
    let before = all.iter().any(|(_, r)| {
        r["identity"]["claim"]["oid"] == oid.as_str()
            && r["callerIpAddress"] == ip.as_str()
            && r["time"].as_str().unwrap()[..19] < new_ip.window_start[..19]
    });
    assert!(!before);
    // Apart from the planted ones, nobody successfully uses a new address or a new vault in
    // the last third.
    let new_identity = truth.incidents.iter().find(|i| i.kind == "new_identity").unwrap();
    let mut first_ip: BTreeMap<(String, String), &str> = BTreeMap::new();
    let mut first_vault: BTreeMap<(String, String), &str> = BTreeMap::new();
    for (_, r) in &all {
        let Some(oid) = r["identity"]["claim"]["oid"]
            .as_str()
            .or(r["identity"]["claim"]["http://schemas.microsoft.com/identity/claims/objectidentifier"].as_str())
        else {
            continue;
        };
        if r["properties"]["httpStatusCode"].as_u64().unwrap() >= 400 {
            continue;
        }
        let time = r["time"].as_str().unwrap();
        let ip = r["callerIpAddress"].as_str().unwrap().to_owned();
        let vault = r["resourceId"].as_str().unwrap().to_owned();
        for (map, key) in [(&mut first_ip, (oid.to_owned(), ip)), (&mut first_vault, (oid.to_owned(), vault))] {
            let entry = map.entry(key).or_insert(time);
            if time < *entry {
                *entry = time;
            }
        }
    }
    let planted = |o: &str| o == oid || Some(o) == new_identity.identity_oid.as_deref();
    for ((o, ip), first) in &first_ip {
        assert!(*first < end_of_history || planted(o), "{o} first used {ip} at {first}");
    }
    for ((o, vault), first) in &first_vault {
        assert!(
            *first < end_of_history || Some(o.as_str()) == new_identity.identity_oid.as_deref(),
            "{o} first used {vault} at {first}"
        );
    }

    // Leaks are in the logs.
    let text: String = all.iter().map(|(_, r)| r.to_string()).collect();
    assert!(text.contains("&sig=") && text.contains("AccountKey="));
}

#[test]
fn default_volume_and_record_size_are_realistic() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&options(dir.path(), 2, 1.0)).unwrap();
    let per_day = summary.records / 2;
    assert!((20_000..=40_000).contains(&per_day), "{per_day} records a day");
    let average = summary.bytes / summary.records;
    assert!((800..=1200).contains(&average), "{average} bytes a record");
}

#[test]
fn refuses_bad_options_and_existing_output() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(generate(&options(dir.path(), 0, 1.0)), Err(GenerateError::InvalidDays { days: 0 })));
    assert!(matches!(generate(&options(dir.path(), 1, f64::NAN)), Err(GenerateError::InvalidScale { .. })));
    generate(&options(dir.path(), 1, 0.01)).unwrap();
    assert!(matches!(generate(&options(dir.path(), 1, 0.01)), Err(GenerateError::OutputExists { .. })));
}

// ---- Teams, small worlds, clean data --------------------------------------------------------

const MICROSOFT_APPIDS: &[&str] = &[cast::RESOURCE_GRAPH_APPID, cast::POLICY_INSIGHTS_APPID, cast::APP_SERVICE_APPID];

fn read_truth(summary: &GenerateSummary) -> Truth {
    serde_json::from_slice(&fs::read(&summary.truth_path).unwrap()).unwrap()
}

/// The caller's object id, on data-plane and management records alike.
fn oid_of(r: &Value) -> Option<&str> {
    let claim = &r["identity"]["claim"];
    claim["oid"].as_str().or(claim["http://schemas.microsoft.com/identity/claims/objectidentifier"].as_str())
}

fn appid_of(r: &Value) -> &str {
    r["identity"]["claim"]["appid"].as_str().unwrap_or_default()
}

/// Lower-case vault name of a record.
fn vault_of(r: &Value) -> String {
    r["resourceId"].as_str().unwrap().rsplit('/').next().unwrap().to_ascii_lowercase()
}

/// The team a vault name belongs to: its `-tKK` suffix, 0 without one.
fn team_of(vault: &str) -> u32 {
    vault.rsplit_once("-t").and_then(|(_, k)| k.parse().ok()).unwrap_or(0)
}

fn count_kinds(truth: &Truth) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for i in &truth.incidents {
        *out.entry(i.kind.clone()).or_default() += 1;
    }
    out
}

#[test]
fn teams_are_deterministic_disjoint_and_leave_team_zero_alone() {
    let one = tempfile::tempdir().unwrap();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let teams = |out: &Path| GenerateOptions { teams: 3, ..options(out, 8, 0.05) };
    let s1 = generate(&options(one.path(), 8, 0.05)).unwrap();
    let sa = generate(&teams(a.path())).unwrap();
    let sb = generate(&teams(b.path())).unwrap();

    // Same options, same bytes.
    let list = files(a.path());
    assert_eq!(list, files(b.path()));
    for f in &list {
        assert!(fs::read(a.path().join(f)).unwrap() == fs::read(b.path().join(f)).unwrap(), "{} differs", f.display());
    }
    assert_eq!((sa.records, sa.bytes), (sb.records, sb.bytes));
    // Team 0 is the one-team world, byte for byte: more teams add, they never change it.
    for f in files(one.path()).iter().filter(|f| !f.ends_with("truth.json")) {
        assert!(
            fs::read(one.path().join(f)).unwrap() == fs::read(a.path().join(f)).unwrap(),
            "{} differs",
            f.display()
        );
    }

    // Each team has its own valid vault names, and its own callers and networks; only
    // Microsoft first-party services are the tenant's, shared by all.
    let all = records(a.path());
    let mut vaults: BTreeSet<String> = BTreeSet::new();
    let mut oid_teams: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    let mut net_teams: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    let mut teams_with_records = BTreeSet::new();
    for (_, r) in &all {
        let vault = vault_of(r);
        assert!((3..=24).contains(&vault.len()), "{vault}");
        assert!(vault.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'), "{vault}");
        let team = team_of(&vault);
        teams_with_records.insert(team);
        vaults.insert(vault);
        let Some(oid) = oid_of(r) else { continue };
        if MICROSOFT_APPIDS.contains(&appid_of(r)) {
            continue;
        }
        oid_teams.entry(oid.to_owned()).or_default().insert(team);
        let ip = r["callerIpAddress"].as_str().unwrap();
        let net = ip.rsplit_once('.').unwrap().0.to_owned();
        net_teams.entry(net).or_default().insert(team);
    }
    assert_eq!(teams_with_records, BTreeSet::from([0, 1, 2]));
    assert_eq!(vaults.len(), 18);
    assert!(vaults.contains("kv-payments-prod-t02"), "{vaults:?}");
    for (oid, teams) in &oid_teams {
        assert_eq!(teams.len(), 1, "{oid} calls vaults of teams {teams:?}");
    }
    for (net, teams) in &net_teams {
        assert_eq!(teams.len(), 1, "{net}.0/24 is used by teams {teams:?}");
    }
    let inventories = fs::read_dir(&sa.inventory_path).unwrap().count();
    assert_eq!(inventories, 18);

    // The truth: every team's stories, each about its own team.
    let (t1, t3) = (read_truth(&s1), read_truth(&sa));
    assert_eq!((t3.teams, t3.vaults, t3.vaults_per_team, t3.planted), (3, 18, 6, true));
    assert_eq!(t3.identities, sa.identities);
    let callers: BTreeSet<&str> = all.iter().filter_map(|(_, r)| oid_of(r)).collect();
    assert_eq!(t3.identities, callers.len());
    // Each team's identities, except the three Microsoft services all teams share.
    assert_eq!(t3.identities, 3 * t1.identities - 2 * MICROSOFT_APPIDS.len());
    let (k1, k3) = (count_kinds(&t1), count_kinds(&t3));
    assert_eq!(k1.keys().collect::<Vec<_>>(), k3.keys().collect::<Vec<_>>());
    for (kind, n) in &k1 {
        assert_eq!(k3[kind], 3 * n, "{kind}");
    }
    for i in &t3.incidents {
        if let Some(vault) = &i.vault {
            assert!(vaults.contains(vault), "{i:?}");
        }
        if let Some(oid) = &i.identity_oid {
            assert_eq!(oid_teams.get(oid).map(|t| t.len()), Some(1), "{i:?}");
            if let Some(vault) = &i.vault {
                assert!(oid_teams[oid].contains(&team_of(vault)), "{i:?}");
            }
        }
    }
}

#[test]
fn clean_data_has_the_same_world_and_no_planted_story() {
    let planted_dir = tempfile::tempdir().unwrap();
    let clean_dir = tempfile::tempdir().unwrap();
    let planted = generate(&options(planted_dir.path(), 30, 0.03)).unwrap();
    let clean = generate(&GenerateOptions { incidents: false, ..options(clean_dir.path(), 30, 0.03) }).unwrap();
    let (tp, tc) = (read_truth(&planted), read_truth(&clean));
    assert!(tp.planted && !tc.planted);

    // Only findings derived from the world remain, and they are the planted world's.
    let storied =
        |kind: &str| truth::UNUSUAL_ACCESS.contains(&kind) || ["role_mixing", "secret_in_log"].contains(&kind);
    assert!(tc.incidents.iter().all(|i| !storied(&i.kind)), "{:?}", tc.incidents);
    let derived: Vec<&Incident> = tp.incidents.iter().filter(|i| !storied(&i.kind)).collect();
    assert!(!derived.is_empty());
    assert_eq!(tc.incidents.iter().collect::<Vec<_>>(), derived);
    // The reporting tool is never onboarded: one identity fewer.
    assert_eq!(tc.identities + 1, tp.identities);

    // None of the stories' markers is in the logs.
    let planted_records = records(planted_dir.path());
    let all = records(clean_dir.path());
    let text: String = all.iter().map(|(_, r)| r.to_string()).collect();
    assert!(!text.contains("&sig=") && !text.contains("AccountKey="));
    let ops = |rs: &[(PathBuf, Value)]| -> BTreeSet<String> {
        rs.iter().map(|(_, r)| r["operationName"].as_str().unwrap().to_owned()).collect()
    };
    let planted_only =
        ["SecretBackup", "SecretDelete", "SecretPurge", "VaultPut", "VaultAccessPolicyChangedEventGridNotification"];
    let (op_planted, op_clean) = (ops(&planted_records), ops(&all));
    for op in planted_only {
        assert!(op_planted.contains(op) && !op_clean.contains(op), "{op}");
    }
    // Refusals: only a person's occasional try at a vault they cannot open, never a burst and
    // never an application (the planted run has both).
    let bursts = |rs: &[(PathBuf, Value)]| {
        let mut per_hour: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut by_app = 0;
        for (_, r) in rs.iter().filter(|(_, r)| r["properties"]["httpStatusCode"] == 403) {
            let oid = oid_of(r).unwrap().to_owned();
            if r["identity"]["claim"]["upn"].is_null() {
                by_app += 1;
            }
            *per_hour.entry((oid, r["time"].as_str().unwrap()[..13].to_owned())).or_default() += 1;
        }
        (by_app, per_hour.into_values().max().unwrap_or(0))
    };
    let (apps_planted, worst_planted) = bursts(&planted_records);
    let (apps_clean, worst_clean) = bursts(&all);
    assert!(apps_planted > 0 && worst_planted >= 20, "{apps_planted} {worst_planted}");
    assert_eq!(apps_clean, 0);
    assert!(worst_clean <= 2, "{worst_clean} refusals of one identity in an hour");

    // Nobody is new, calls from a new address or opens a new vault in the last third; no
    // application's hourly volume leaves its range; no person reads many secrets at once.
    let end_of_history = "2026-10-21";
    let mut first: BTreeMap<(String, String, String), &str> = BTreeMap::new();
    let mut hourly: BTreeMap<(String, bool, String), usize> = BTreeMap::new();
    let mut person_reads: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (_, r) in &all {
        let Some(oid) = oid_of(r) else { continue };
        let time = r["time"].as_str().unwrap();
        for key in [
            (oid.to_owned(), "ip".to_owned(), r["callerIpAddress"].as_str().unwrap().to_owned()),
            (oid.to_owned(), "vault".to_owned(), vault_of(r)),
        ] {
            let entry = first.entry(key).or_insert(time);
            *entry = (*entry).min(time);
        }
        *hourly.entry((oid.to_owned(), time < end_of_history, time[..13].to_owned())).or_default() += 1;
        if !r["identity"]["claim"]["upn"].is_null() && r["operationName"] == "SecretGet" {
            let id = r["properties"]["id"].as_str().unwrap().to_owned();
            person_reads.entry((oid.to_owned(), time[..13].to_owned())).or_default().insert(id);
        }
    }
    for ((oid, what, value), at) in &first {
        assert!(*at < end_of_history, "{oid} first used {what} {value} at {at}");
    }
    let mut peak: BTreeMap<(&str, bool), usize> = BTreeMap::new();
    for ((oid, history, _), n) in &hourly {
        let entry = peak.entry((oid.as_str(), *history)).or_default();
        *entry = (*entry).max(*n);
    }
    for ((oid, history), n) in &peak {
        if !history {
            let before = peak.get(&(*oid, true)).copied().unwrap_or(0);
            assert!(*n <= 2 * before + 5, "{oid}: {n} calls in an hour, at most {before} before");
        }
    }
    let most = person_reads.values().map(BTreeSet::len).max().unwrap_or(0);
    assert!(most <= 6, "a person read {most} secrets in an hour");
}

#[test]
fn small_worlds_keep_the_vaults_asked_for_and_their_stories() {
    for vaults in [1, 2, 4] {
        let dir = tempfile::tempdir().unwrap();
        let summary = generate(&GenerateOptions { vaults, teams: 2, ..options(dir.path(), 10, 0.1) }).unwrap();
        let truth = read_truth(&summary);
        let all = records(dir.path());
        let names: BTreeSet<String> = all.iter().map(|(_, r)| vault_of(r)).collect();
        assert_eq!(names.len(), 2 * vaults as usize, "{names:?}");
        assert_eq!((truth.vaults, truth.vaults_per_team), (2 * vaults as usize, vaults));
        let callers: BTreeSet<&str> = all.iter().filter_map(|(_, r)| oid_of(r)).collect();
        assert_eq!(truth.identities, callers.len());
        if vaults == 1 {
            // About ten identities a team (the Microsoft services counted in each).
            let per_team = (truth.identities + MICROSOFT_APPIDS.len()) / 2;
            assert!((5..=10).contains(&per_team), "{} identities", truth.identities);
        }
        // What the truth names exists in the logs.
        for i in &truth.incidents {
            if let Some(v) = &i.vault {
                assert!(names.contains(v), "{i:?}");
            }
            if let Some(oid) = &i.identity_oid {
                assert!(callers.contains(oid.as_str()), "{i:?}");
            }
        }
        let kinds = count_kinds(&truth);
        // One vault (kv-web-prod) already has three unusual-access stories per team.
        for kind in ["volume_spike", "mass_retrieval", "denied_burst"] {
            assert!(kinds.get(kind).copied().unwrap_or(0) >= 2, "{vaults} vaults: no {kind} in {kinds:?}");
        }
        if vaults >= 4 {
            for kind in truth::UNUSUAL_ACCESS {
                assert!(kinds.contains_key(*kind), "{vaults} vaults: no {kind} in {kinds:?}");
            }
        }
        if vaults == 1 {
            assert!(!kinds.contains_key("enumeration") && !kinds.contains_key("role_mixing"), "{kinds:?}");
        }
    }
}

#[test]
fn volume_grows_with_teams_and_vaults() {
    let run = |teams: u32, vaults: u32| {
        let dir = tempfile::tempdir().unwrap();
        generate(&GenerateOptions { teams, vaults, ..options(dir.path(), 2, 0.1) }).unwrap().records as f64
    };
    let one = run(1, 6);
    let four = run(4, 6);
    assert!((3.6..=4.4).contains(&(four / one)), "1 team {one}, 4 teams {four}");
    let small = run(4, 1);
    assert!(small < four / 2.0, "4 teams of 1 vault {small}, of 6 vaults {four}");
    let bad = tempfile::tempdir().unwrap();
    let teams = generate(&GenerateOptions { teams: 0, ..options(bad.path(), 1, 0.1) });
    assert!(matches!(teams, Err(GenerateError::InvalidTeams { teams: 0 })));
    let vaults = generate(&GenerateOptions { vaults: 7, ..options(bad.path(), 1, 0.1) });
    assert!(matches!(vaults, Err(GenerateError::InvalidVaults { vaults: 7 })));
}
