//! Every query in `queries/` runs over a small lake (the real fixtures plus a few records
//! written here) and its result table is compared with `tests/it/expected/<name>.txt`.
//! `KVAUDIT_BLESS=1 cargo test queries` rewrites the expected files; review the diff.

use std::path::Path;

use kvaudit::query::registry::QUERIES;

use crate::common::{ingest, query, real_fixtures, record};

#[test]
fn every_named_query_gives_its_expected_table() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ingest(&lake, &real_fixtures());
    let extra = dir.path().join("extra.jsonl");
    let lines: Vec<String> = vec![
        record("2026-10-01T10:00:00Z", "kv-app-prod", "db-password"),
        record("2026-10-01T11:00:00Z", "kv-app-prod", "db-password"),
        record("2026-10-02T09:30:00Z", "kv-app-prod", "api-key"),
    ];
    std::fs::write(&extra, lines.join("\n") + "\n").unwrap();
    ingest(&lake, &extra);

    let expected_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/expected");
    let bless = std::env::var_os("KVAUDIT_BLESS").is_some();
    let mut failures = Vec::new();
    for q in QUERIES {
        let got = query(&lake, q.sql);
        let path = expected_dir.join(format!("{}.txt", q.name));
        if bless {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} is missing: run with KVAUDIT_BLESS=1", path.display()));
        if got.trim() != want.trim() {
            failures.push(format!("queries/{}.sql\n--- expected\n{want}\n--- got\n{got}", q.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_registry_lists_every_sql_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut registered: Vec<String> = QUERIES.iter().map(|q| q.name.to_string()).collect();
    registered.sort();
    assert_eq!(on_disk, registered);
}
