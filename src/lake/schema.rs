//! The `events` table: one row per source record. Column names and meanings are the
//! contract in DESIGN.md that queries, dashboards and exports rely on; columns may be
//! added, never renamed.
//!
//! Files store strings as plain `Utf8` so every Parquet engine (DuckDB, Spark, Synapse)
//! reads them; the query session reads them as `Utf8View`, DataFusion's faster layout.
//! `date` is not stored in the files: it is the Hive partition (`date=YYYY-MM-DD`).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Timestamps are microseconds, UTC: Key Vault writes seven fractional digits, and
/// microseconds are what DuckDB, Spark and DataFusion all read without conversion.
pub fn time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The schema of the Parquet files under `events/`.
pub fn events_file_schema() -> SchemaRef {
    let s = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        Field::new("time", time_type(), false),
        s("vault", false),
        s("subscription_id", true),
        s("resource_group", true),
        s("resource_type", false),
        s("operation", false),
        s("operation_version", true),
        s("object_type", true),
        s("object_name", true),
        s("object_version", true),
        Field::new("http_status", DataType::Int32, true),
        s("result_signature", true),
        s("result_type", true),
        s("result_description", true),
        Field::new("duration_ms", DataType::Int64, true),
        s("caller_ip", true),
        s("identity_oid", true),
        s("identity_appid", true),
        s("identity_upn", true),
        s("identity_type", false),
        s("managed_identity_resource", true),
        s("client_info", true),
        s("request_uri", true),
        s("correlation_id", true),
        s("tls_version", true),
        Field::new("is_access_policy_match", DataType::Boolean, true),
        Field::new("is_rbac_authorized", DataType::Boolean, true),
        s("source", false),
        Field::new("source_offset", DataType::Int64, false),
        s("raw", false),
        // `field:pattern:hash` of each credential redacted from the record, `;`-separated;
        // null when none (see `record::redact`). Files written before it read it as null.
        s("redactions", true),
    ]))
}

/// Text columns whose values are long or unique per record: the record itself, a request's
/// URL and client, a UUID, free text, credential fingerprints. They gain nothing from
/// statistics (their min and max span every page) and are what a query decodes most slowly,
/// so a scan that reads one of them filters rows before decoding it
/// (`query::filter_while_decoding`).
pub const LONG_TEXT_COLUMNS: [&str; 6] =
    ["raw", "request_uri", "client_info", "correlation_id", "result_description", "redactions"];

/// The columns ingest builds as views into buffers it holds anyway (see `lake::batch`).
const BATCH_VIEW_COLUMNS: [&str; 4] = ["client_info", "request_uri", "source", "raw"];

/// The file schema with the string columns `as_view` picks typed `Utf8View`.
fn with_views(as_view: impl Fn(&Field) -> bool) -> SchemaRef {
    let fields: Vec<Field> = events_file_schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() == &DataType::Utf8 && as_view(f) {
            true => f.as_ref().clone().with_data_type(DataType::Utf8View),
            false => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The schema of the batches ingest hands the Parquet writer: the file schema, but with
/// [`BATCH_VIEW_COLUMNS`] as `Utf8View`. The writer stores them as the file schema says.
pub fn events_batch_schema() -> SchemaRef {
    with_views(|f| BATCH_VIEW_COLUMNS.contains(&f.name().as_str()))
}

/// The schema the query session sees for the files: strings as `Utf8View`.
pub fn events_read_schema() -> SchemaRef {
    with_views(|_| true)
}
