-- Events per day and vault, split into successes and failures (HTTP status 400 and above).
SELECT
    date_trunc('day', time) AS day,
    vault,
    count(*) AS events,
    sum(CASE WHEN http_status < 400 THEN 1 ELSE 0 END) AS succeeded,
    sum(CASE WHEN http_status >= 400 THEN 1 ELSE 0 END) AS failed
FROM events
GROUP BY 1, 2
ORDER BY 1, 2
