-- Secret readers: for each secret, who read it successfully, how often, which versions, and when last.
SELECT
    vault,
    object_name AS secret,
    identity_oid,
    max(identity_appid) AS appid,
    max(identity_upn) AS upn,
    count(*) AS reads,
    count(DISTINCT object_version) AS versions,
    max(time) AS last_read
FROM events
WHERE operation = 'SecretGet' AND http_status = 200 AND object_name IS NOT NULL
GROUP BY vault, object_name, identity_oid
ORDER BY vault, secret, reads DESC, identity_oid
