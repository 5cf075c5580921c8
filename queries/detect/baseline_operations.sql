-- Per identity, vault and operation: successful calls and the days it was used (a backup job runs SecretBackup every night; a person once).
-- Active days counted in two steps (per day, then per operation) rather than with
-- count(DISTINCT ...), which DataFusion runs with a hash set per group; days by date_bin
-- (arithmetic on UTC times) rather than date_trunc (a time-zone conversion per row).
WITH per_day AS (
    SELECT
        identity,
        vault,
        operation,
        sum(calls) AS calls
    FROM history
    WHERE outcome = 'ok'
    GROUP BY identity, vault, operation, date_bin(INTERVAL '1 day', hour)
)
SELECT
    identity,
    vault,
    operation,
    sum(calls) AS calls,
    count(*) AS active_days
FROM per_day
GROUP BY identity, vault, operation
ORDER BY identity, vault, operation
