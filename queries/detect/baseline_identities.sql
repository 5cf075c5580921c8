-- Per vault, the identities known to it: first and last hour with a successful call, active days, calls, and the app id, UPN and identity type they were seen with.
SELECT
    vault,
    identity,
    max(identity_appid) AS identity_appid,
    max(identity_upn) AS identity_upn,
    max(identity_type) AS identity_type,
    min(hour) AS first_seen,
    max(hour) AS last_seen,
    count(DISTINCT date_trunc('day', hour)) AS active_days,
    sum(calls) AS calls
FROM history
WHERE outcome = 'ok'
GROUP BY vault, identity
ORDER BY vault, identity
