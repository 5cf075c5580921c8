-- Events per vault: how busy each vault is, how many callers it has, and its share of denials.
SELECT
    vault,
    count(*) AS events,
    count(DISTINCT identity_oid) AS identities,
    sum(CASE WHEN http_status IN (401, 403) THEN 1 ELSE 0 END) AS denied,
    min(time) AS first_seen,
    max(time) AS last_seen
FROM events
GROUP BY vault
ORDER BY events DESC, vault
