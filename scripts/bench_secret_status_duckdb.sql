-- What `kvaudit secret-status VAULT/SECRET --days 30` answers, asked of DuckDB directly on
-- the lake's event files (no index): scripts/bench_secret_status.py substitutes ${EVENTS}
-- (the lake's events/date=*/*.parquet glob), ${VAULT}, ${SECRET}, ${WINDOW_START} and
-- ${AS_OF} (the end of the newest event date, as kvaudit takes it), and runs the four
-- statements in one process. Names match case-insensitively, as Key Vault's do; "read" is
-- a successful SecretGet (HTTP status below 400), "failed" a SecretGet that was refused or
-- failed, as in kvaudit's access index (queries/lifecycle/object_access.sql).

CREATE OR REPLACE TEMP VIEW one AS
SELECT time, operation, http_status, object_version, identity_oid, identity_appid, identity_upn,
       identity_type, caller_ip, client_info,
       coalesce(identity_oid, identity_appid, 'ip:' || caller_ip, 'unknown') AS identity
FROM read_parquet('${EVENTS}', hive_partitioning = true)
WHERE vault = '${VAULT}' AND object_type = 'secret' AND lower(object_name) = '${SECRET}'
  AND time < TIMESTAMPTZ '${AS_OF}';

-- The last successful read, exactly: time, caller, address, version, client.
SELECT time, identity_oid, identity_appid, identity_upn, identity_type, caller_ip,
       object_version, client_info
FROM one
WHERE operation = 'SecretGet' AND http_status < 400
ORDER BY time DESC
LIMIT 1;

-- Every reader in the window: successful reads, failed reads, last read, versions, addresses, clients.
SELECT identity,
       count(*) FILTER (WHERE http_status < 400) AS reads,
       count(*) FILTER (WHERE http_status >= 400) AS failed,
       max(time) FILTER (WHERE http_status < 400) AS last_read,
       count(DISTINCT object_version) FILTER (WHERE http_status < 400) AS versions,
       count(DISTINCT caller_ip) AS addresses,
       count(DISTINCT client_info) AS clients
FROM one
WHERE operation = 'SecretGet' AND time >= TIMESTAMPTZ '${WINDOW_START}'
GROUP BY identity
ORDER BY reads DESC, last_read DESC;

-- Every version read in the window: reads, readers, last read.
SELECT coalesce(object_version, '(not logged)') AS version, count(*) AS reads,
       count(DISTINCT identity) AS readers, max(time) AS last_read
FROM one
WHERE operation = 'SecretGet' AND http_status < 400 AND time >= TIMESTAMPTZ '${WINDOW_START}'
GROUP BY 1
ORDER BY last_read DESC;

-- The versions set and deletions (what the age, current version and verdict come from).
SELECT operation, object_version, time
FROM one
WHERE http_status < 400 AND operation IN ('SecretSet', 'SecretRestore', 'SecretRecover', 'SecretDelete', 'SecretPurge')
ORDER BY time;

-- How long the logs cover the vault (bounds what "never read in the observed N days" may claim).
SELECT min(time) AS first_record, max(time) AS last_record
FROM read_parquet('${EVENTS}', hive_partitioning = true)
WHERE vault = '${VAULT}' AND time < TIMESTAMPTZ '${AS_OF}';
