-- Per identity, vault and operation: successful calls and the days it was used (a backup job runs SecretBackup every night; a person once).
SELECT
    identity,
    vault,
    operation,
    sum(calls) AS calls,
    count(DISTINCT date_trunc('day', hour)) AS active_days
FROM history
WHERE outcome = 'ok'
GROUP BY identity, vault, operation
ORDER BY identity, vault, operation
