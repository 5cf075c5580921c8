//! Events → Arrow record batches of the `events` file schema.
//!
//! One builder collects the events of one date partition; the ingest workers keep one per
//! date they meet in a block and hand finished batches to the writer.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder, Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use super::schema::events_file_schema;
use crate::record::Event;

/// Column builders for the `events` file schema, in its column order.
pub struct EventBatchBuilder {
    time: TimestampMicrosecondBuilder,
    strings_a: [StringBuilder; 9],
    http_status: Int32Builder,
    strings_b: [StringBuilder; 3],
    duration_ms: Int64Builder,
    strings_c: [StringBuilder; 10],
    is_access_policy_match: BooleanBuilder,
    is_rbac_authorized: BooleanBuilder,
    source: StringBuilder,
    source_offset: Int64Builder,
    raw: StringBuilder,
    redactions: StringBuilder,
    rows: usize,
}

impl Default for EventBatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBatchBuilder {
    pub fn new() -> Self {
        EventBatchBuilder {
            time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            strings_a: std::array::from_fn(|_| StringBuilder::new()),
            http_status: Int32Builder::new(),
            strings_b: std::array::from_fn(|_| StringBuilder::new()),
            duration_ms: Int64Builder::new(),
            strings_c: std::array::from_fn(|_| StringBuilder::new()),
            is_access_policy_match: BooleanBuilder::new(),
            is_rbac_authorized: BooleanBuilder::new(),
            source: StringBuilder::new(),
            source_offset: Int64Builder::new(),
            raw: StringBuilder::new(),
            redactions: StringBuilder::new(),
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one event read from `source` at byte `offset`.
    pub fn append(&mut self, event: &Event<'_>, source: &str, offset: u64) {
        self.time.append_value(event.time_us);
        let [vault, sub, rg, rtype, op, opver, otype, oname, over] = &mut self.strings_a;
        vault.append_value(&event.vault);
        sub.append_option(event.subscription_id.as_deref());
        rg.append_option(event.resource_group.as_deref());
        rtype.append_value(event.resource_type);
        op.append_value(&event.operation);
        opver.append_option(event.operation_version.as_deref());
        otype.append_option(event.object_type);
        oname.append_option(event.object_name.as_deref());
        over.append_option(event.object_version.as_deref());
        self.http_status.append_option(event.http_status);
        let [sig, rtyp, desc] = &mut self.strings_b;
        sig.append_option(event.result_signature.as_deref());
        rtyp.append_option(event.result_type.as_deref());
        desc.append_option(event.result_description.as_deref());
        self.duration_ms.append_option(event.duration_ms);
        let [ip, oid, appid, upn, itype, mirid, client, uri, corr, tls] = &mut self.strings_c;
        ip.append_option(event.caller_ip.as_deref());
        oid.append_option(event.caller.oid.as_deref());
        appid.append_option(event.caller.appid.as_deref());
        upn.append_option(event.caller.upn.as_deref());
        itype.append_value(if event.caller.identity_type.is_empty() { "unknown" } else { event.caller.identity_type });
        mirid.append_option(event.caller.managed_identity_resource.as_deref());
        client.append_option(event.client_info.as_deref());
        uri.append_option(event.request_uri.as_deref());
        corr.append_option(event.correlation_id.as_deref());
        tls.append_option(event.tls_version.as_deref());
        self.is_access_policy_match.append_option(event.is_access_policy_match);
        self.is_rbac_authorized.append_option(event.is_rbac_authorized);
        self.source.append_value(source);
        self.source_offset.append_value(offset as i64);
        self.raw.append_value(event.raw);
        self.redactions.append_option(event.redactions.as_deref());
        self.rows += 1;
    }

    /// Finishes the batch and leaves the builder empty for reuse, with room for a batch as
    /// large as this one: arrow's `finish` leaves every column without capacity, and
    /// growing a column by doubling back to a batch's size (the `raw` column of 8k rows is
    /// ~9 MB) copies it over and over, a cost as large as that of compressing it.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let rows = self.rows;
        let bytes: Vec<usize> = self.string_builders_mut().iter().map(|b| b.values_slice().len()).collect();
        let batch = self.finish_columns();
        for (builder, bytes) in self.string_builders_mut().into_iter().zip(bytes) {
            *builder = StringBuilder::with_capacity(rows, bytes + bytes / 8);
        }
        self.time = TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC");
        self.http_status = Int32Builder::with_capacity(rows);
        self.duration_ms = Int64Builder::with_capacity(rows);
        self.source_offset = Int64Builder::with_capacity(rows);
        self.is_access_policy_match = BooleanBuilder::with_capacity(rows);
        self.is_rbac_authorized = BooleanBuilder::with_capacity(rows);
        batch
    }

    /// Every string column's builder.
    fn string_builders_mut(&mut self) -> Vec<&mut StringBuilder> {
        let mut all: Vec<&mut StringBuilder> = Vec::with_capacity(25);
        all.extend(self.strings_a.iter_mut());
        all.extend(self.strings_b.iter_mut());
        all.extend(self.strings_c.iter_mut());
        all.extend([&mut self.source, &mut self.raw, &mut self.redactions]);
        all
    }

    fn finish_columns(&mut self) -> Result<RecordBatch, ArrowError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(31);
        columns.push(Arc::new(self.time.finish()));
        columns.extend(self.strings_a.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        columns.push(Arc::new(self.http_status.finish()));
        columns.extend(self.strings_b.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        columns.push(Arc::new(self.duration_ms.finish()));
        columns.extend(self.strings_c.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        columns.push(Arc::new(self.is_access_policy_match.finish()));
        columns.push(Arc::new(self.is_rbac_authorized.finish()));
        columns.push(Arc::new(self.source.finish()));
        columns.push(Arc::new(self.source_offset.finish()));
        columns.push(Arc::new(self.raw.finish()));
        columns.push(Arc::new(self.redactions.finish()));
        self.rows = 0;
        RecordBatch::try_new(events_file_schema(), columns)
    }
}
