-- Per identity, on how many days it was active at each hour of the day (UTC), apart for weekdays and weekends: its own rhythm.
SELECT
    identity,
    CASE WHEN date_part('dow', hour) IN (0, 6) THEN 'weekend' ELSE 'weekday' END AS day_type,
    CAST(date_part('hour', hour) AS INT) AS hour_of_day,
    count(DISTINCT date_trunc('day', hour)) AS active_days
FROM history
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
