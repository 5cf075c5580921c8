-- Access review: per identity, vault and object in the export's scope, its calls, successful reads, failed calls, and first and last access.
SELECT
    coalesce(identity_oid, identity_appid, 'ip:' || caller_ip, 'unknown') AS identity,
    max(identity_oid) AS identity_oid,
    max(identity_appid) AS identity_appid,
    max(identity_upn) AS identity_upn,
    max(identity_type) AS identity_type,
    vault,
    object_type,
    object_name,
    count(*) AS calls,
    -- A read: a successful get of a secret, key or certificate (its value or its properties).
    sum(CASE WHEN http_status < 400 AND operation IN ('SecretGet', 'KeyGet', 'CertificateGet') THEN 1 ELSE 0 END) AS reads,
    sum(CASE WHEN http_status >= 400 THEN 1 ELSE 0 END) AS failed,
    min(time) AS first_access,
    max(time) AS last_access
FROM export_scope
-- The service's own notifications are not anyone's access.
WHERE operation NOT LIKE '%EventGridNotification'
GROUP BY 1, vault, object_type, object_name
ORDER BY identity, vault, object_type, object_name
