-- Every operation on a vault and its secrets, keys and certificates in one day: who, from where, with which client, on which version, and how it ended, with counts and first and last times. Materialized per event date under baselines/object_access/, it is the per-secret access index that secret-status, `secrets` and the lifecycle findings read instead of events. Service records (near-expiry and expiry notifications) are kept: they date a version's end of life.
SELECT
    vault,
    object_type,
    -- Key Vault object names are case-insensitive.
    lower(object_name) AS object_name,
    object_version,
    operation,
    CASE
        WHEN http_status < 400 THEN 'ok'
        WHEN http_status IN (401, 403) THEN 'denied'
        ELSE 'error'
    END AS outcome,
    identity_oid,
    identity_appid,
    identity_upn,
    identity_type,
    caller_ip,
    client_info,
    count(*) AS calls,
    min(time) AS first_time,
    max(time) AS last_time
FROM records
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
-- Sorted by object: a secret's rows are one run in the file, and the output is deterministic.
ORDER BY vault, object_type, object_name, object_version, operation, outcome, identity_oid, identity_appid, identity_upn, caller_ip, client_info, first_time
