-- Successful operations on the vaults themselves (not on a secret, key or certificate), day by day: who changed a vault's configuration or access policies, which role separation is checked against.
SELECT
    vault,
    operation,
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
WHERE object_name IS NULL
  AND outcome = 'ok'
  AND operation LIKE 'Vault%'
  AND operation NOT IN ('VaultGet', 'VaultList')
  AND operation NOT LIKE '%EventGridNotification'
ORDER BY vault, first_time, operation, identity_oid, identity_appid
