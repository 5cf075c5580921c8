-- Per vault, the identities known to it: first and last hour with a successful call, active days, calls, and the app id, UPN and identity type they were seen with.
-- Active days counted in two steps (per day, then per identity) rather than with
-- count(DISTINCT ...), which DataFusion runs with a hash set per group; days by date_bin
-- (arithmetic on UTC times) rather than date_trunc (a time-zone conversion per row).
WITH per_day AS (
    SELECT
        vault,
        identity,
        max(identity_appid) AS identity_appid,
        max(identity_upn) AS identity_upn,
        max(identity_type) AS identity_type,
        min(hour) AS first_seen,
        max(hour) AS last_seen,
        sum(calls) AS calls
    FROM history
    WHERE outcome = 'ok'
    GROUP BY vault, identity, date_bin(INTERVAL '1 day', hour)
)
SELECT
    vault,
    identity,
    max(identity_appid) AS identity_appid,
    max(identity_upn) AS identity_upn,
    max(identity_type) AS identity_type,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen,
    count(*) AS active_days,
    sum(calls) AS calls
FROM per_day
GROUP BY vault, identity
ORDER BY vault, identity
