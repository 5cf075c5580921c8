-- Per identity, every address it called from (any vault, any outcome) with first and last hour and calls; the detector groups addresses into networks (/24 for IPv4, /64 for IPv6).
SELECT
    identity,
    caller_ip,
    min(hour) AS first_seen,
    max(hour) AS last_seen,
    sum(calls) AS calls
FROM history
WHERE caller_ip IS NOT NULL
GROUP BY identity, caller_ip
ORDER BY identity, caller_ip
