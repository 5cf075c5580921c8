//! The `events` table: a listing table over `events/date=*/*.parquet`, wrapped so that a
//! filter on `time` also prunes `date` partitions.
//!
//! Users (and our own queries) filter on `time`, the column they think in; DataFusion can
//! only skip whole partitions on `date`, the partition column. For every pushed-down filter
//! comparing `time` with a constant, this wrapper adds the implied `date` bound before the
//! listing table plans its scan. The added bounds are implied by the original filter, so
//! results never change; only unread directories do.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown, col, lit};
use datafusion::physical_plan::ExecutionPlan;

/// `events`, with `date` bounds derived from `time` filters.
#[derive(Debug)]
pub struct EventsTable {
    inner: Arc<dyn TableProvider>,
}

impl EventsTable {
    pub fn new(inner: Arc<dyn TableProvider>) -> Self {
        EventsTable { inner }
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
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
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
        self.inner.scan(state, projection, &all, limit).await
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
