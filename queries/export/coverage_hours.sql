-- The hours of the export's period that hold at least one event of its vaults (any identity): the complement is the coverage gaps the manifest names.
SELECT
    date_trunc('hour', time) AS hour,
    count(*) AS events
FROM coverage_scope
GROUP BY 1
ORDER BY 1
