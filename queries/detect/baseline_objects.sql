-- Per identity and vault, the secrets, keys and certificates it read successfully, with first and last hour and calls.
SELECT
    identity,
    vault,
    object_type,
    object_name,
    min(hour) AS first_seen,
    max(hour) AS last_seen,
    sum(calls) AS calls
FROM history
WHERE outcome = 'ok'
    AND operation IN ('SecretGet', 'KeyGet', 'CertificateGet')
    AND object_name IS NOT NULL
GROUP BY identity, vault, object_type, object_name
ORDER BY identity, vault, object_type, object_name
