-- The access index of the days before the summary's cutoff, folded: per object, caller, version, operation and outcome, one row for each stretch of days between two of the object's boundary days (`boundaries`: the days of object_events.sql, a rotation's grace end, an expiry), and one row for each boundary day itself. Calls summed, first and last times kept: what the lifecycle findings compute from the days of a stretch, since every time they compare a row with is a boundary or lies after the cutoff. Only which day of a stretch a call was on is lost. Rows about a vault itself (no object) fold into one per caller and operation.
WITH placed AS (
    SELECT
        *,
        -- Each row of the index is one day's: its first call dates it.
        date_bin(INTERVAL '1 day', first_time) AS day
    FROM access
),
object_days AS (
    SELECT DISTINCT vault, object_type, object_name, day
    FROM placed
    WHERE object_name IS NOT NULL
),
-- Per object and day, the newest boundary on or before it.
stretches AS (
    SELECT d.vault, d.object_type, d.object_name, d.day, max(b.day) AS boundary
    FROM object_days d
    JOIN boundaries b
      ON b.vault = d.vault
     AND b.object_type = d.object_type
     AND b.object_name = d.object_name
     AND b.day <= d.day
    GROUP BY d.vault, d.object_type, d.object_name, d.day
),
segmented AS (
    SELECT
        p.*,
        -- Days before an object's first boundary are one stretch.
        coalesce(s.boundary, TIMESTAMP '1970-01-01T00:00:00Z') AS stretch_from,
        coalesce(s.boundary = p.day, false) AS on_boundary
    FROM placed p
    LEFT JOIN stretches s
      ON s.vault = p.vault
     AND s.object_type = p.object_type
     AND s.object_name = p.object_name
     AND s.day = p.day
)
SELECT
    vault,
    object_type,
    object_name,
    object_version,
    operation,
    outcome,
    identity_oid,
    identity_appid,
    identity_upn,
    identity_type,
    caller_ip,
    client_info,
    sum(calls) AS calls,
    min(first_time) AS first_time,
    max(last_time) AS last_time
FROM segmented
GROUP BY
    vault, object_type, object_name, object_version, operation, outcome, identity_oid, identity_appid,
    identity_upn, identity_type, caller_ip, client_info, stretch_from, on_boundary
-- Sorted by object, as the day files are.
ORDER BY vault, object_type, object_name, object_version, operation, outcome, identity_oid, identity_appid, identity_upn, caller_ip, client_info, first_time
