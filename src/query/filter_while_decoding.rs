//! Which scans of `events` filter rows while decoding (DataFusion's filter pushdown, "late
//! materialization") and which decode their columns and filter after.
//!
//! Filtering while decoding decodes the filter's columns first, then only the rows that pass
//! from the other columns. It pays when few rows pass or when the other columns are costly
//! to decode, and costs when most rows pass and the other columns are cheap: the Parquet
//! reader then handles a selection of many short runs for each column. Measured on the
//! benchmark lake (README, Figures), one process per query:
//!
//! - secret readers (`operation = 'SecretGet' AND http_status = 200`, 89 % of rows pass,
//!   short columns only): 10 to 15 % faster decoding first;
//! - one identity's records with `raw`: 3.4 times slower decoding first;
//! - one identity's records without `raw` (time, operation, object, address, status): 20 %
//!   slower decoding first.
//!
//! The rule: filter while decoding when the scan reads a long text column
//! ([`LONG_TEXT_COLUMNS`]), or when a filter pins a column of many values (an identity, an
//! address, an object, a request) to one value or a short list, the shape of every
//! drill-down. Otherwise decode first. Both plans return the same rows; only speed differs.

use datafusion::arrow::datatypes::Schema;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};

use crate::lake::schema::LONG_TEXT_COLUMNS;

/// Columns with a value per identity, address, object or request: a filter pinning one of
/// them to a value keeps few rows.
const MANY_VALUED_COLUMNS: [&str; 9] = [
    "identity_oid",
    "identity_appid",
    "identity_upn",
    "managed_identity_resource",
    "caller_ip",
    "object_name",
    "object_version",
    "correlation_id",
    "source",
];

/// Whether a scan of these columns (`None`: all) with these filters should filter while
/// decoding.
pub fn filter_while_decoding(schema: &Schema, projection: Option<&Vec<usize>>, filters: &[Expr]) -> bool {
    if filters.is_empty() {
        return false;
    }
    let reads_long_text = match projection {
        None => true,
        Some(columns) => columns.iter().any(|&i| LONG_TEXT_COLUMNS.contains(&schema.field(i).name().as_str())),
    };
    reads_long_text || filters.iter().flat_map(split_conjunction).any(pins_many_valued_column)
}

/// `column = constant`, `constant = column` or `column IN (constants)` on a column of many
/// values.
fn pins_many_valued_column(filter: &Expr) -> bool {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Eq, right }) => {
            (is_many_valued(left) && is_constant(right)) || (is_many_valued(right) && is_constant(left))
        }
        Expr::InList(list) => !list.negated && is_many_valued(&list.expr) && list.list.iter().all(is_constant),
        _ => false,
    }
}

fn is_many_valued(expr: &Expr) -> bool {
    match expr {
        Expr::Column(column) => MANY_VALUED_COLUMNS.contains(&column.name.as_str()),
        Expr::Cast(cast) => is_many_valued(&cast.expr),
        _ => false,
    }
}

fn is_constant(expr: &Expr) -> bool {
    match expr {
        Expr::Literal(..) => true,
        Expr::Cast(cast) => is_constant(&cast.expr),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::{col, lit};

    use super::*;
    use crate::lake::schema::events_read_schema;

    fn columns(names: &[&str]) -> Vec<usize> {
        let schema = events_read_schema();
        names.iter().map(|n| schema.index_of(n).unwrap()).collect()
    }

    #[test]
    fn long_text_in_the_projection_filters_while_decoding() {
        let schema = events_read_schema();
        let status = [col("http_status").eq(lit(200))];
        assert!(filter_while_decoding(&schema, Some(&columns(&["time", "raw"])), &status));
        assert!(filter_while_decoding(&schema, None, &status));
        assert!(!filter_while_decoding(&schema, Some(&columns(&["vault", "time"])), &status));
        // Nothing to filter: nothing to gain.
        assert!(!filter_while_decoding(&schema, Some(&columns(&["raw"])), &[]));
    }

    #[test]
    fn pinning_an_identity_or_address_filters_while_decoding() {
        let schema = events_read_schema();
        let short = columns(&["time", "operation"]);
        let identity = col("identity_oid").eq(lit("576ce910-38d4-4771-a860-74e863ed9634"));
        assert!(filter_while_decoding(&schema, Some(&short), std::slice::from_ref(&identity)));
        let flipped = lit("10.0.0.1").eq(col("caller_ip"));
        assert!(filter_while_decoding(&schema, Some(&short), &[flipped]));
        let within = col("operation").eq(lit("SecretGet")).and(identity);
        assert!(filter_while_decoding(&schema, Some(&short), &[within]));
        let listed = col("object_name").in_list(vec![lit("a"), lit("b")], false);
        assert!(filter_while_decoding(&schema, Some(&short), &[listed]));
        // Filters that keep many rows, or that do not pin a value, decode first.
        let excluded = col("object_name").in_list(vec![lit("a")], true);
        let present = col("object_name").is_not_null();
        let common = col("operation").eq(lit("SecretGet"));
        let range = col("identity_oid").gt(lit("a"));
        for filter in [excluded, present, common, range] {
            assert!(!filter_while_decoding(&schema, Some(&short), std::slice::from_ref(&filter)), "{filter}");
        }
    }
}
