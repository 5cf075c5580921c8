//! Reading query results into Rust values, whatever Arrow type DataFusion chose (string
//! views or strings, any integer width, any timestamp unit): each column is cast once.

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;

use super::DetectError;

fn column(batch: &RecordBatch, name: &str, to: &DataType) -> Result<arrow::array::ArrayRef, DetectError> {
    let array = batch.column_by_name(name).ok_or_else(|| DetectError::MissingColumn(name.to_owned()))?;
    Ok(cast(array, to)?)
}

/// A text column.
pub fn strings(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>, DetectError> {
    let array = column(batch, name, &DataType::Utf8)?;
    let array = array.as_string::<i32>();
    Ok((0..array.len()).map(|i| array.is_valid(i).then(|| array.value(i).to_owned())).collect())
}

/// An integer column.
pub fn integers(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>, DetectError> {
    let array = column(batch, name, &DataType::Int64)?;
    let array = array.as_primitive::<Int64Type>();
    Ok((0..array.len()).map(|i| array.is_valid(i).then(|| array.value(i))).collect())
}

/// A timestamp column, as microseconds since the epoch.
pub fn micros(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>, DetectError> {
    let array = column(batch, name, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
    let array = array.as_primitive::<TimestampMicrosecondType>();
    Ok((0..array.len()).map(|i| array.is_valid(i).then(|| array.value(i))).collect())
}
