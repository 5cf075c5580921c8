//! Every query in `queries/` runs over a small lake (the real fixtures plus a few records
//! written here) and its result table is compared with `tests/it/expected/<name>.txt`.
//! `KVAUDIT_BLESS=1 cargo test queries` rewrites the expected files; review the diff.

use kvaudit::query::registry::QUERIES;

use crate::common::{differs_from_expected, ingest, query, real_fixtures, record, sql_files};

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

    let mut failures = Vec::new();
    for q in QUERIES {
        let got = query(&lake, q.sql);
        failures.extend(differs_from_expected(q.name, &format!("queries/{}.sql", q.name), &got));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_registry_lists_every_sql_file() {
    let mut registered: Vec<String> = QUERIES.iter().map(|q| q.name.to_string()).collect();
    registered.sort();
    assert_eq!(sql_files(""), registered);
}
