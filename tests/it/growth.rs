//! A `PT1H.json` that grows between runs yields exactly its new complete records; a
//! trailing line without its newline waits for the next run.

use std::io::Write;

use crate::common::{ingest, query, query_i64, record};

#[test]
fn grown_blob_is_read_from_where_the_last_run_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let hour = dir.path().join(
        "insights-logs-auditevent/resourceId=/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV1/y=2026/m=10/d=01/h=10/m=00",
    );
    std::fs::create_dir_all(&hour).unwrap();
    let blob = hour.join("PT1H.json");
    let lake = dir.path().join("lake");
    let line = |n: u32| record(&format!("2026-10-01T10:{n:02}:00.0000000Z"), "kv1", &format!("s{n}"));

    let first: String = (0..3).map(|n| line(n) + "\n").collect();
    std::fs::write(&blob, &first).unwrap();
    let run1 = ingest(&lake, dir.path());
    assert_eq!((run1["records"].as_u64(), run1["pending_bytes"].as_u64()), (Some(3), Some(0)), "{run1}");

    // Two more records and the first half of a third, as an append blob looks mid-write.
    let third = line(5);
    let (head, tail) = third.split_at(third.len() / 2);
    let mut file = std::fs::OpenOptions::new().append(true).open(&blob).unwrap();
    write!(file, "{}\n{}\n{head}", line(3), line(4)).unwrap();
    file.flush().unwrap();
    let run2 = ingest(&lake, dir.path());
    assert_eq!(run2["records"], 2, "{run2}");
    assert_eq!(run2["pending_bytes"].as_u64(), Some(head.len() as u64), "{run2}");
    assert_eq!(run2["bytes"].as_u64(), Some((line(3).len() + line(4).len() + 2 + head.len()) as u64));

    // The rest of the line arrives.
    writeln!(file, "{tail}").unwrap();
    let run3 = ingest(&lake, dir.path());
    assert_eq!((run3["records"].as_u64(), run3["pending_bytes"].as_u64()), (Some(1), Some(0)), "{run3}");

    // A run with nothing new reads nothing.
    let run4 = ingest(&lake, dir.path());
    assert_eq!(
        (run4["records"].as_u64(), run4["bytes"].as_u64(), run4["files_read"].as_u64()),
        (Some(0), Some(0), Some(0))
    );

    assert_eq!(query_i64(&lake, "SELECT count(*) FROM events"), 6);
    // Offsets are the byte positions of the lines in the blob.
    let mut expected = Vec::new();
    let mut offset = 0;
    for text in std::fs::read_to_string(&blob).unwrap().lines() {
        expected
            .push(format!("| {offset} | {} |", &text[text.find("c-s").unwrap() + 2..text.find("c-s").unwrap() + 4]));
        offset += text.len() + 1;
    }
    let got = query(&lake, "SELECT source_offset, object_name FROM events ORDER BY source_offset");
    for row in &expected {
        let compact: String =
            got.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n");
        assert!(compact.contains(row.as_str()), "missing {row} in\n{got}");
    }
}

#[test]
fn replaced_file_is_read_again_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.jsonl");
    let lake = dir.path().join("lake");
    std::fs::write(
        &file,
        record("2026-10-01T10:00:00Z", "kv1", "old") + "\n" + &record("2026-10-01T10:01:00Z", "kv1", "old2") + "\n",
    )
    .unwrap();
    assert_eq!(ingest(&lake, dir.path())["records"], 2);
    std::fs::write(&file, record("2026-10-02T10:00:00Z", "kv1", "new") + "\n").unwrap();
    let run = ingest(&lake, dir.path());
    assert_eq!((run["records"].as_u64(), run["files_replaced"].as_u64()), (Some(1), Some(1)), "{run}");
    assert_eq!(query_i64(&lake, "SELECT count(*) FROM events WHERE object_name = 'new'"), 1);
}
