//! The `events` table: a listing table over `events/date=*/*.parquet`, wrapped so that a
//! filter on `time` also prunes `date` partitions, and so that only scans worth it filter
//! rows while decoding (see `filter_while_decoding`).
//!
//! Users (and our own queries) filter on `time`, the column they think in; DataFusion can
//! only skip whole partitions on `date`, the partition column. For every pushed-down filter
//! comparing `time` with a constant, this wrapper adds the implied `date` bound before the
//! listing table plans its scan. The added bounds are implied by the original filter, so
//! results never change; only unread directories do.
//!
//! It holds the files twice, as two listing tables that differ only in whether they filter
//! rows while decoding; each scan is planned on the one `filter_while_decoding` picks.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown, col, lit};
use datafusion::physical_plan::ExecutionPlan;

use super::filter_while_decoding::filter_while_decoding;

/// `events`, with `date` bounds derived from `time` filters.
#[derive(Debug)]
pub struct EventsTable {
    /// The files, filtered after decoding.
    decode_then_filter: Arc<dyn TableProvider>,
    /// The same files, filtered while decoding (late materialization).
    filter_while_decoding: Arc<dyn TableProvider>,
}

impl EventsTable {
    /// Two listing tables over the same files with the same schema, differing only in
    /// whether their Parquet format filters while decoding.
    pub fn new(decode_then_filter: Arc<dyn TableProvider>, filter_while_decoding: Arc<dyn TableProvider>) -> Self {
        EventsTable { decode_then_filter, filter_while_decoding }
    }
}

fn timestamp_micros(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampMicrosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(v.div_euclid(1_000)),
        _ => None,
    }
}

fn date_text(micros: i64) -> Option<String> {
    crate::lake::paths::partition_date(micros).map(|d| d.format("%Y-%m-%d").to_string())
}

fn is_time(expr: &Expr) -> bool {
    matches!(expr, Expr::Column(c) if c.name == "time")
}

fn literal(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Literal(value, _) => timestamp_micros(value),
        Expr::Cast(cast) => literal(&cast.expr),
        _ => None,
    }
}

/// The `date` bound implied by one filter, if it compares `time` with a constant.
pub fn implied_date_bound(filter: &Expr) -> Option<Expr> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = filter else {
        return None;
    };
    // Normalize to `time <op> constant`.
    let (op, micros) = if is_time(left) {
        (*op, literal(right)?)
    } else if is_time(right) {
        (op.swap()?, literal(left)?)
    } else {
        return None;
    };
    let date = date_text(micros)?;
    match op {
        Operator::Gt | Operator::GtEq => Some(col("date").gt_eq(lit(date))),
        Operator::Lt | Operator::LtEq => Some(col("date").lt_eq(lit(date))),
        Operator::Eq => Some(col("date").eq(lit(date))),
        _ => None,
    }
}

#[async_trait]
impl TableProvider for EventsTable {
    fn schema(&self) -> SchemaRef {
        self.decode_then_filter.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        self.decode_then_filter.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut all = filters.to_vec();
        all.extend(filters.iter().filter_map(implied_date_bound));
        let table = match filter_while_decoding(&self.schema(), projection, filters) {
            true => &self.filter_while_decoding,
            false => &self.decode_then_filter,
        };
        table.scan(state, projection, &all, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_comparisons_imply_date_bounds() {
        let t = ScalarValue::TimestampMicrosecond(Some(1_775_000_000_000_000), Some("UTC".into()));
        let f = col("time").gt_eq(lit(t.clone()));
        assert_eq!(implied_date_bound(&f), Some(col("date").gt_eq(lit("2026-03-31"))));
        let flipped = lit(t).gt(col("time"));
        assert_eq!(implied_date_bound(&flipped), Some(col("date").lt_eq(lit("2026-03-31"))));
        assert_eq!(implied_date_bound(&col("vault").eq(lit("x"))), None);
    }
}
