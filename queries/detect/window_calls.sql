-- The caller events of the detection window, oldest first: what the detector scores against the baselines.
SELECT
    time,
    vault,
    identity,
    identity_oid,
    identity_appid,
    identity_upn,
    identity_type,
    operation,
    object_type,
    object_name,
    http_status,
    caller_ip,
    correlation_id
FROM scope
ORDER BY time, correlation_id
