-- Credentials found in the window's records (`records`: every record of the window, service and allow-listed callers included) and redacted at ingest: per vault, caller, field and pattern, how many records carried one and when, how many distinct values (by their keyed hash), one value as the lake holds it (redacted), and the first and last such record as evidence. The `redactions` column lists `field:pattern:hash` per credential, `;`-separated (at most 16 per record are read here).
WITH found AS (
    SELECT
        r.*,
        split_part(split_part(r.redactions, ';', n.i), ':', 1) AS field,
        split_part(split_part(r.redactions, ';', n.i), ':', 2) AS pattern,
        split_part(split_part(r.redactions, ';', n.i), ':', 3) AS hash
    FROM records AS r
    CROSS JOIN (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15), (16)) AS n(i)
    WHERE r.redactions IS NOT NULL AND split_part(r.redactions, ';', n.i) <> ''
)
SELECT
    vault,
    identity_oid,
    identity_appid,
    max(identity_upn) AS identity_upn,
    field,
    pattern,
    count(*) AS events,
    count(DISTINCT hash) AS distinct_values,
    min(hash) AS hash,
    min(time) AS first_time,
    max(time) AS last_time,
    min(CASE field
        WHEN 'request_uri' THEN request_uri
        WHEN 'client_info' THEN client_info
        WHEN 'result_description' THEN result_description
        ELSE raw
    END) AS sample,
    first_value(operation ORDER BY time) AS first_operation,
    first_value(object_name ORDER BY time) AS first_object,
    first_value(http_status ORDER BY time) AS first_status,
    first_value(caller_ip ORDER BY time) AS first_ip,
    first_value(correlation_id ORDER BY time) AS first_correlation_id,
    last_value(operation ORDER BY time) AS last_operation,
    last_value(object_name ORDER BY time) AS last_object,
    last_value(http_status ORDER BY time) AS last_status,
    last_value(caller_ip ORDER BY time) AS last_ip,
    last_value(correlation_id ORDER BY time) AS last_correlation_id
FROM found
GROUP BY vault, identity_oid, identity_appid, field, pattern
ORDER BY first_time, vault, identity_oid, field, pattern
