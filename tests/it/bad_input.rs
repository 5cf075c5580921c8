//! Bad input gets a clear reason in quarantine, with its source and offset, and the good
//! records around it still ingest.

use std::io::Write;

use crate::common::{ingest, quarantine_entries, query_i64, record, run};

#[test]
fn garbage_invalid_utf8_and_incomplete_records_are_quarantined_between_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let good1 = record("2026-10-01T10:00:00Z", "kv1", "a");
    let good2 = record("2026-10-01T11:00:00Z", "kv1", "b");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(good1.as_bytes());
    bytes.push(b'\n');
    let garbage_at = bytes.len();
    bytes.extend_from_slice(&[0x00, 0x9f, 0xff, 0x13, 0x37, b'{', 0xc3, 0x28]);
    bytes.push(b'\n');
    let not_utf8_at = bytes.len();
    bytes.extend_from_slice(b"{\"time\":\"2026-10-01T10:30:00Z\",\"operationName\":\"Secret\xffGet\"}\n");
    let no_time_at = bytes.len();
    bytes.extend_from_slice(b"{\"operationName\":\"SecretGet\",\"resourceId\":\"/SUBSCRIPTIONS/S/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/V\"}\n");
    let bad_time_at = bytes.len();
    bytes.extend_from_slice(record("yesterday", "kv1", "c").as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(good2.as_bytes());
    bytes.push(b'\n');
    std::fs::write(logs.join("mixed.jsonl"), &bytes).unwrap();

    let summary = ingest(&lake, &logs);
    assert_eq!((summary["records"].as_u64(), summary["quarantined"].as_u64()), (Some(2), Some(4)), "{summary}");
    assert_eq!(query_i64(&lake, "SELECT count(*) FROM events"), 2);

    let entries = quarantine_entries(&lake);
    let source = std::fs::canonicalize(logs.join("mixed.jsonl")).unwrap();
    let got: Vec<(u64, String)> =
        entries.iter().map(|e| (e["offset"].as_u64().unwrap(), e["reason"].as_str().unwrap().to_string())).collect();
    assert_eq!(got.len(), 4);
    assert!(entries.iter().all(|e| e["source"] == source.to_str().unwrap()));
    assert_eq!(got[0].0, garbage_at as u64);
    assert!(got[0].1.starts_with("not valid JSON"), "{}", got[0].1);
    assert_eq!(got[1].0, not_utf8_at as u64);
    assert!(got[1].1.starts_with("not valid JSON"), "{}", got[1].1);
    assert_eq!(got[2], (no_time_at as u64, "record has no `time`".to_string()));
    assert_eq!(got[3].0, bad_time_at as u64);
    assert!(got[3].1.contains("not an RFC 3339 timestamp"), "{}", got[3].1);
    // Not UTF-8: kept byte for byte as base64.
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(entries[0]["raw_base64"].as_str().unwrap()).unwrap();
    assert_eq!(raw, bytes[garbage_at..not_utf8_at - 1]);
    assert_eq!(entries[2]["raw"].as_str().unwrap().as_bytes(), &bytes[no_time_at..bad_time_at - 1]);

    // Nothing is read twice.
    let again = ingest(&lake, &logs);
    assert_eq!((again["records"].as_u64(), again["quarantined"].as_u64()), (Some(0), Some(0)));
    assert_eq!(quarantine_entries(&lake).len(), 4);
}

#[test]
fn a_fifty_megabyte_line_goes_to_a_side_file_and_its_neighbours_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let file = dir.path().join("big.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let before = record("2026-10-01T10:00:00Z", "kv1", "before");
    writeln!(out, "{before}").unwrap();
    let huge_len = 50 * 1024 * 1024;
    let prefix = b"{\"time\":\"2026-10-01T10:00:01Z\",\"pad\":\"";
    out.write_all(prefix).unwrap();
    out.write_all(&vec![b'x'; huge_len]).unwrap();
    out.write_all(b"\"}\n").unwrap();
    writeln!(out, "{}", record("2026-10-01T10:00:02Z", "kv1", "after")).unwrap();
    out.flush().unwrap();
    drop(out);

    let summary = ingest(&lake, &file);
    assert_eq!((summary["records"].as_u64(), summary["quarantined"].as_u64()), (Some(2), Some(1)), "{summary}");
    let entries = quarantine_entries(&lake);
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry["offset"].as_u64(), Some(before.len() as u64 + 1));
    let length = entry["length"].as_u64().unwrap();
    assert_eq!(length, (prefix.len() + huge_len + 2) as u64);
    assert!(entry["reason"].as_str().unwrap().contains("longer than"), "{entry}");
    let side = lake.join(entry["raw_file"].as_str().unwrap());
    assert_eq!(std::fs::metadata(&side).unwrap().len(), length);
    assert_eq!(query_i64(&lake, "SELECT count(*) FROM events WHERE object_name IN ('before', 'after')"), 2);
}

#[test]
fn empty_file_ingests_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("PT1H.json");
    std::fs::write(&file, b"").unwrap();
    let summary = ingest(&dir.path().join("lake"), &file);
    assert_eq!(
        (summary["files"].as_u64(), summary["records"].as_u64(), summary["quarantined"].as_u64()),
        (Some(1), Some(0), Some(0))
    );
}

#[test]
fn missing_directory_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out =
        run(&["--lake", dir.path().join("lake").to_str().unwrap(), "ingest", "--from", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("nope: no such file or directory"), "{stderr}");
}

#[test]
fn binary_file_is_quarantined_without_losing_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // Deterministic pseudo-random bytes with newlines in them, then a good record file.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let junk: Vec<u8> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(logs.join("a-garbage.json"), &junk).unwrap();
    std::fs::write(logs.join("b-good.json"), record("2026-10-01T10:00:00Z", "kv1", "ok") + "\n").unwrap();
    let summary = ingest(&dir.path().join("lake"), &logs);
    assert_eq!(summary["records"], 1, "{summary}");
    let lines =
        junk.split(|b| *b == b'\n').filter(|l| !l.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))).count() as u64;
    // Every complete garbage line is quarantined; a trailing piece without a newline waits.
    let pending = summary["pending_bytes"].as_u64().unwrap();
    let complete_lines = if pending > 0 { lines - 1 } else { lines };
    assert_eq!(summary["quarantined"].as_u64(), Some(complete_lines), "{summary}");
}
