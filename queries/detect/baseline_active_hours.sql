-- Per identity, on how many days it was active at each hour of the day (UTC), apart for weekdays and weekends: its own rhythm.
-- Active days counted in two steps (the distinct days, then per hour of day) rather than
-- with count(DISTINCT ...), which DataFusion runs with a hash set per group; days by date_bin
-- (arithmetic on UTC times) rather than date_trunc (a time-zone conversion per row).
WITH active AS (
    SELECT DISTINCT
        identity,
        CASE WHEN date_part('dow', hour) IN (0, 6) THEN 'weekend' ELSE 'weekday' END AS day_type,
        CAST(date_part('hour', hour) AS INT) AS hour_of_day,
        date_bin(INTERVAL '1 day', hour) AS day
    FROM history
)
SELECT
    identity,
    day_type,
    hour_of_day,
    count(*) AS active_days
FROM active
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
