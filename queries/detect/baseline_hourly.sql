-- Per identity, vault and hour of history: successful calls, denials, distinct objects read and whether it listed; the series that volume, denial and retrieval baselines are fitted on.
SELECT
    identity,
    vault,
    hour,
    sum(CASE WHEN outcome = 'ok' THEN calls ELSE 0 END) AS ok_calls,
    sum(CASE WHEN outcome = 'denied' THEN calls ELSE 0 END) AS denied_calls,
    count(DISTINCT CASE
        WHEN outcome = 'ok' AND operation IN ('SecretGet', 'KeyGet', 'CertificateGet') THEN object_name
    END) AS objects_read,
    max(CASE
        WHEN outcome = 'ok' AND operation IN ('SecretList', 'KeyList', 'CertificateList') THEN 1 ELSE 0
    END) AS listed
FROM history
GROUP BY identity, vault, hour
ORDER BY identity, vault, hour
