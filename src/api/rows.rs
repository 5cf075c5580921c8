//! Query results as JSON: `{"columns": [...], "rows": [[...], ...]}`, values typed as
//! arrow's JSON writer types them (numbers stay numbers, nulls are `null`).

use arrow::datatypes::SchemaRef;
use arrow::json::WriterBuilder;
use arrow::json::writer::JsonArray;
use arrow::record_batch::RecordBatch;
use serde::Serialize;

/// A result table.
#[derive(Debug, Serialize)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Rows were left out beyond the limit.
    pub truncated: bool,
}

/// At most `limit` rows of `batches`.
pub fn to_rows(schema: &SchemaRef, batches: &[RecordBatch], limit: usize) -> Result<Rows, arrow::error::ArrowError> {
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    let mut truncated = false;
    for batch in batches {
        if rows.len() >= limit {
            truncated |= batch.num_rows() > 0;
            continue;
        }
        let take = batch.num_rows().min(limit - rows.len());
        truncated |= take < batch.num_rows();
        let batch = batch.slice(0, take);
        let mut writer = WriterBuilder::new().with_explicit_nulls(true).build::<_, JsonArray>(Vec::new());
        writer.write(&batch)?;
        writer.finish()?;
        let objects: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(&writer.into_inner())
            .map_err(|e| arrow::error::ArrowError::JsonError(e.to_string()))?;
        for mut object in objects {
            rows.push(columns.iter().map(|c| object.remove(c).unwrap_or(serde_json::Value::Null)).collect());
        }
    }
    Ok(Rows { columns, rows, truncated })
}

/// The rows as objects keyed by column name (for endpoints with a fixed shape).
pub fn to_objects(rows: Rows) -> Vec<serde_json::Map<String, serde_json::Value>> {
    rows.rows.into_iter().map(|row| rows.columns.iter().cloned().zip(row).collect()).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn rows_keep_types_order_and_nulls_and_stop_at_the_limit() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("vault", DataType::Utf8, true),
            Field::new("events", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec![Some("kv-a"), None])), Arc::new(Int64Array::from(vec![3, 4]))],
        )
        .unwrap();
        let all = to_rows(&schema, &[batch.clone(), batch.clone()], 10).unwrap();
        assert_eq!(all.columns, ["vault", "events"]);
        assert_eq!(all.rows.len(), 4);
        assert_eq!(all.rows[1], vec![serde_json::Value::Null, serde_json::json!(4)]);
        assert!(!all.truncated);
        let some = to_rows(&schema, &[batch.clone(), batch], 3).unwrap();
        assert_eq!((some.rows.len(), some.truncated), (3, true));
        assert_eq!(to_objects(some)[0]["vault"], "kv-a");
    }
}
