-- The access index rows about secrets, keys and certificates, day by day: what the lifecycle findings and secret-status read to know each object's versions, readers, deletions and expiry notifications.
SELECT
    vault,
    object_type,
    object_name,
    object_version,
    operation,
    outcome,
    identity_oid,
    identity_appid,
    identity_upn,
    identity_type,
    caller_ip,
    client_info,
    calls,
    first_time,
    last_time
FROM access
WHERE object_name IS NOT NULL
ORDER BY vault, object_type, object_name, first_time, operation, object_version, identity_oid, identity_appid, caller_ip, client_info
