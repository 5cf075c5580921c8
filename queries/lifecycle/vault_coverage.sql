-- Per vault, the span of the lake's records about it and the days it has records on: how long the logs cover the vault, which bounds what "never read" may claim.
SELECT
    vault,
    -- Whole days: the logs of a day are taken to cover all of it.
    date_trunc('day', min(first_time)) AS first_time,
    max(last_time) AS last_time,
    count(DISTINCT date_trunc('day', first_time)) AS days
FROM access
WHERE vault IS NOT NULL
GROUP BY vault
ORDER BY vault
