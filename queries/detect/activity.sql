-- Hourly caller activity per identity, vault, operation, object, address and outcome: the rollup every baseline is computed from, materialized once per event date under baselines/activity/.
SELECT
    -- date_bin, not date_trunc: the same hour for UTC times, but plain arithmetic, while
    -- date_trunc converts every time through its time zone (a fifth of this query's time).
    date_bin(INTERVAL '1 hour', time) AS hour,
    vault,
    identity,
    identity_appid,
    identity_upn,
    identity_type,
    operation,
    object_type,
    object_name,
    caller_ip,
    CASE
        WHEN http_status < 400 THEN 'ok'
        WHEN http_status IN (401, 403) THEN 'denied'
        ELSE 'error'
    END AS outcome,
    count(*) AS calls
FROM scope
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
-- Sorted: deterministic output, and runs of equal values that Parquet encodes compactly.
ORDER BY hour, vault, identity, operation, object_name, caller_ip, outcome, identity_appid
