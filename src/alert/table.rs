//! The `alerts` table: stored alerts as one Arrow batch, so SQL can join them with
//! `events`. Nested parts (observed, baseline, evidence) are JSON text, which
//! DataFusion's string functions and any other engine can read.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::{Alert, AlertError};

/// The columns of `alerts`.
pub fn alerts_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let time = |name: &str| Field::new(name, DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false);
    Arc::new(Schema::new(vec![
        text("id", false),
        text("kind", false),
        text("severity", false),
        text("state", false),
        text("state_reason", true),
        text("vault", true),
        text("identity_oid", true),
        text("identity_appid", true),
        text("identity_upn", true),
        text("object_name", true),
        text("caller_ip", true),
        time("window_start"),
        time("window_end"),
        text("score_name", false),
        Field::new("score_value", DataType::Float64, false),
        text("explanation", false),
        text("observed", false),
        text("baseline", false),
        text("evidence", false),
        time("first_raised"),
        time("last_raised"),
    ]))
}

/// All `alerts` as one batch.
pub fn alerts_batch(alerts: &[Alert]) -> Result<RecordBatch, AlertError> {
    let text =
        |f: &dyn Fn(&Alert) -> Option<String>| -> ArrayRef { Arc::new(alerts.iter().map(f).collect::<StringArray>()) };
    let time = |f: &dyn Fn(&Alert) -> i64| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(alerts.iter().map(f).collect::<Vec<_>>()).with_timezone("UTC"))
    };
    let json = |v: &serde_json::Value| v.to_string();
    let columns: Vec<ArrayRef> = vec![
        text(&|a| Some(a.id.clone())),
        text(&|a| Some(a.kind.as_str().to_owned())),
        text(&|a| Some(a.severity.as_str().to_owned())),
        text(&|a| Some(a.state.as_str().to_owned())),
        text(&|a| a.state_reason.clone()),
        text(&|a| a.vault.clone()),
        text(&|a| a.identity_oid.clone()),
        text(&|a| a.identity_appid.clone()),
        text(&|a| a.identity_upn.clone()),
        text(&|a| a.object_name.clone()),
        text(&|a| a.caller_ip.clone()),
        time(&|a| a.window_start.timestamp_micros()),
        time(&|a| a.window_end.timestamp_micros()),
        text(&|a| Some(a.score.name.clone())),
        Arc::new(alerts.iter().map(|a| a.score.value).collect::<Float64Array>()),
        text(&|a| Some(a.explanation.clone())),
        text(&|a| Some(json(&a.observed))),
        text(&|a| Some(json(&a.baseline))),
        text(&|a| Some(serde_json::to_string(&a.evidence).unwrap_or_default())),
        time(&|a| a.first_raised.timestamp_micros()),
        time(&|a| a.last_raised.timestamp_micros()),
    ];
    Ok(RecordBatch::try_new(alerts_schema(), columns)?)
}
