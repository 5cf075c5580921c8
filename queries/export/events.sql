-- Every event of the export's scope on one date partition ($date, YYYY-MM-DD), by vault and time: the rows written to events/<vault>.<format>.
SELECT
    time,
    vault,
    subscription_id,
    resource_group,
    resource_type,
    operation,
    operation_version,
    object_type,
    object_name,
    object_version,
    http_status,
    result_signature,
    result_type,
    result_description,
    duration_ms,
    caller_ip,
    identity_oid,
    identity_appid,
    identity_upn,
    identity_type,
    managed_identity_resource,
    client_info,
    request_uri,
    correlation_id,
    tls_version,
    is_access_policy_match,
    is_rbac_authorized,
    source,
    source_offset,
    raw,
    redactions
FROM export_scope
-- `date` is the partition column: one partition is read per run of this query.
WHERE date = $date
ORDER BY vault, time, source, source_offset
