-- Microsoft Sentinel's "Mass secret retrieval from Azure Key Vault" rule, for comparison: per caller object id and day, successful SecretGet/KeyGet/VaultGet (VaultGet by Azure Resource Graph and Policy Insights excluded), callers with more than 10 distinct request URIs for one operation and more than 50 such events.
SELECT
    identity_oid,
    max(identity_appid) AS identity_appid,
    max(identity_upn) AS identity_upn,
    CASE WHEN count(DISTINCT vault) = 1 THEN max(vault) END AS vault,
    date_trunc('day', time) AS day,
    operation,
    count(DISTINCT request_uri) AS distinct_uris,
    count(*) AS events,
    min(time) AS first_time,
    max(time) AS last_time
FROM scope
WHERE operation IN ('SecretGet', 'KeyGet', 'VaultGet')
    AND http_status < 400
    AND identity_oid IS NOT NULL
    AND NOT (operation = 'VaultGet' AND coalesce(identity_appid IN (
        '509e4652-da8d-478d-a730-e9d4a1996ca4', '8cae6e77-e04e-42ce-b5cb-50d82bce26b1'), false))
GROUP BY identity_oid, date_trunc('day', time), operation
HAVING count(DISTINCT request_uri) > 10 AND count(*) > 50
ORDER BY first_time, identity_oid
