//! The `inventory` table: every imported entry, one row per import and object, so SQL can
//! follow an expiry's history and join what the vaults hold with `events`. `current` is
//! true for the entries of the newest import of their vault and object type.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};

use super::{Inventory, Item};

/// All entries as one batch.
pub fn inventory_batch(inventory: &Inventory) -> Result<RecordBatch, ArrowError> {
    let items = &inventory.history;
    let current = inventory.current();
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let time_type = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let time_field = |name: &str| Field::new(name, time_type.clone(), true);
    let schema = Arc::new(Schema::new(vec![
        text("vault"),
        text("object_type"),
        text("name"),
        text("version"),
        time_field("created"),
        time_field("updated"),
        time_field("expires"),
        time_field("not_before"),
        Field::new("enabled", DataType::Boolean, true),
        text("content_type"),
        text("tags"),
        Field::new("managed", DataType::Boolean, false),
        time_field("imported_at"),
        text("source"),
        Field::new("current", DataType::Boolean, false),
    ]));
    let strings =
        |f: &dyn Fn(&Item) -> Option<String>| -> ArrayRef { Arc::new(items.iter().map(f).collect::<StringArray>()) };
    let times = |f: &dyn Fn(&Item) -> Option<DateTime<Utc>>| -> ArrayRef {
        let values: Vec<Option<i64>> = items.iter().map(|i| f(i).map(|t| t.timestamp_micros())).collect();
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
    };
    let is_current = |i: &Item| {
        current.get(&(i.vault.clone(), i.object_type.clone(), i.name.clone())).is_some_and(|c| std::ptr::eq(*c, i))
    };
    let columns: Vec<ArrayRef> = vec![
        strings(&|i| Some(i.vault.clone())),
        strings(&|i| Some(i.object_type.clone())),
        strings(&|i| Some(i.name.clone())),
        strings(&|i| i.version.clone()),
        times(&|i| i.created),
        times(&|i| i.updated),
        times(&|i| i.expires),
        times(&|i| i.not_before),
        Arc::new(items.iter().map(|i| i.enabled).collect::<BooleanArray>()),
        strings(&|i| i.content_type.clone()),
        strings(&|i| Some(serde_json::to_string(&i.tags).unwrap_or_default())),
        Arc::new(items.iter().map(|i| Some(i.managed)).collect::<BooleanArray>()),
        times(&|i| Some(i.imported_at)),
        strings(&|i| Some(i.source.clone())),
        Arc::new(items.iter().map(|i| Some(is_current(i))).collect::<BooleanArray>()),
    ];
    RecordBatch::try_new(schema, columns)
}
