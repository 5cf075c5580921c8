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
