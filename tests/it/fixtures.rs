//! The real Key Vault records in `../shared/fixtures/keyvault-real` ingest with nothing
//! quarantined, and their normalized fields say what the records say.

use crate::common::{ingest, quarantine_entries, query, query_i64, real_fixtures};

#[test]
fn every_real_record_ingests_and_normalizes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let summary = ingest(&lake, &real_fixtures());
    // 30 + 5 + 2 JSON Lines records, and 1 in the {"records":[...]} wrapper.
    assert_eq!(summary["records"], 38, "{summary}");
    assert_eq!(summary["quarantined"], 0, "{summary}");
    assert!(quarantine_entries(&lake).is_empty());
    assert_eq!(query_i64(&lake, "SELECT count(*) FROM events"), 38);

    // The 403 SecretGet on vault keytestint, object `a`.
    let denied = query(
        &lake,
        "SELECT vault, operation, object_type, object_name, object_version, http_status, result_signature, result_type, duration_ms \
         FROM events WHERE vault = 'keytestint' AND operation = 'SecretGet'",
    );
    assert_eq!(
        denied.trim(),
        "\
+------------+-----------+-------------+-------------+----------------+-------------+------------------+-------------+-------------+
| vault      | operation | object_type | object_name | object_version | http_status | result_signature | result_type | duration_ms |
+------------+-----------+-------------+-------------+----------------+-------------+------------------+-------------+-------------+
| keytestint | SecretGet | secret      | a           |                | 403         | Forbidden        | Success     | 27          |
+------------+-----------+-------------+-------------+----------------+-------------+------------------+-------------+-------------+"
    );

    // The SecretGet whose properties.id carries a version, with short-name claims.
    let versioned = query(
        &lake,
        "SELECT vault, subscription_id, resource_group, object_name, object_version, identity_oid, identity_appid, identity_upn, identity_type \
         FROM events WHERE operation = 'SecretGet' AND object_version IS NOT NULL",
    );
    assert!(versioned.contains(
        "| securaallkeyvault | a921d5d4-bdb7-43c3-aa01-88c6ae24992f | securaallrg    | SecuraAllSecret | 4c39bacace9a49b2bd542ce61bd6f312 | 30a6c29d-de7c-4830-815f-9b3bb366e975 | 04b07795-8ddb-461a-bbee-02f9e1bf7b46 | attacker@securathesis.onmicrosoft.com | user          |"
    ), "{versioned}");

    // The VaultPut with long claim URIs.
    let vault_put = query(
        &lake,
        "SELECT vault, object_type, object_name, identity_oid, identity_upn, identity_appid, client_info FROM events WHERE operation = 'VaultPut'",
    );
    assert!(vault_put.contains(
        "| securaallkeyvault |             |             | 30a6c29d-de7c-4830-815f-9b3bb366e975 | attacker@securathesis.onmicrosoft.com | 04b07795-8ddb-461a-bbee-02f9e1bf7b46 | AZURECLI/2.34.1 |"
    ), "{vault_put}");

    // The wrapper record and its JSON Lines twin differ only in source and offset.
    let docs = query(
        &lake,
        "SELECT count(*) AS n, count(DISTINCT source) AS sources FROM events WHERE vault = 'contosokeyvault' AND result_signature = 'OK'",
    );
    assert!(docs.contains("| 2 | 2       |"), "{docs}");

    // SecretRestore: the request URI says /secrets/restore, the name comes from `id`.
    assert_eq!(
        query_i64(
            &lake,
            "SELECT count(*) FROM events WHERE operation = 'SecretRestore' AND object_name = 'keykey' AND http_status = 409"
        ),
        1
    );
    // Deleted-object collections name the object type.
    assert_eq!(
        query_i64(
            &lake,
            "SELECT count(*) FROM events WHERE operation = 'KeyPurge' AND object_type = 'key' AND object_name = 'MyFirstKey'"
        ),
        2
    );
    // `raw` is the record verbatim: every line of the JSON Lines fixtures is in the lake.
    for file in ["sekoia-2024.jsonl", "lab-2022.jsonl", "docs-example.jsonl"] {
        let text = std::fs::read_to_string(real_fixtures().join(file)).unwrap();
        for line in text.lines() {
            // sekoia-2024.jsonl holds one record twice; each copy is its own row.
            let copies = text.lines().filter(|l| *l == line).count() as i64;
            let sql = format!("SELECT count(*) FROM events WHERE raw = '{}'", line.replace('\'', "''"));
            assert_eq!(query_i64(&lake, &sql), copies, "{file}: {line}");
        }
    }
}
