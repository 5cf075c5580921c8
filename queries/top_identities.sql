-- Top identities: who calls Key Vault most, as what kind of identity, on how many vaults and secrets.
SELECT
    identity_oid,
    max(identity_appid) AS appid,
    max(identity_upn) AS upn,
    max(identity_type) AS identity_type,
    count(*) AS events,
    count(DISTINCT vault) AS vaults,
    count(DISTINCT CASE WHEN object_type = 'secret' THEN vault || '/' || object_name END) AS secrets
FROM events
WHERE identity_oid IS NOT NULL
GROUP BY identity_oid
ORDER BY events DESC, identity_oid
LIMIT 20
