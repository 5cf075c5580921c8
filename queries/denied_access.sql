-- Denied access: every caller refused (401/403) per vault and operation, newest first.
SELECT
    vault,
    identity_oid,
    max(identity_upn) AS upn,
    caller_ip,
    operation,
    count(*) AS denials,
    min(time) AS first_denied,
    max(time) AS last_denied
FROM events
WHERE http_status IN (401, 403)
GROUP BY vault, identity_oid, caller_ip, operation
ORDER BY last_denied DESC, vault, identity_oid, operation
