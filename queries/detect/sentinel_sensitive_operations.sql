-- Microsoft Sentinel's "Sensitive Azure Key Vault operations" rule, for comparison: successful VaultDelete, KeyDelete, SecretDelete, SecretPurge, KeyPurge, SecretBackup and KeyBackup, per caller, vault, operation and day.
SELECT
    identity_oid,
    max(identity_appid) AS identity_appid,
    max(identity_upn) AS identity_upn,
    vault,
    date_trunc('day', time) AS day,
    operation,
    count(*) AS events,
    min(time) AS first_time,
    max(time) AS last_time
FROM scope
WHERE operation IN ('VaultDelete', 'KeyDelete', 'SecretDelete', 'SecretPurge', 'KeyPurge', 'SecretBackup', 'KeyBackup')
    AND http_status < 400
GROUP BY identity_oid, vault, date_trunc('day', time), operation
ORDER BY first_time, identity_oid
