//! `POST /api/query` `{"sql"}`: read-only SQL over the lake, for admins with a token for
//! every vault (SQL reads every vault; it cannot be scoped).
//!
//! Read-only is DataFusion's own planner check, not a scan of the text: the statement is
//! planned with DDL (`CREATE`, `DROP`), DML (`INSERT`, `COPY ... TO`) and statements
//! (`SET`, transactions) disallowed, so only a query (`SELECT`, `WITH`, `EXPLAIN`, `SHOW`)
//! plans at all. The tables are the `kvaudit query` ones: `events`, `alerts`, `inventory`.

use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use datafusion::execution::context::SQLOptions;
use serde::Deserialize;

use super::AppState;
use super::audit::Object;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::Body;
use super::rows::to_rows;
use crate::query::{QuerySession, SessionOptions};

/// Most rows one answer holds; the rest are cut (and `truncated` says so).
const MAX_ROWS: usize = 10_000;
/// A query running longer is stopped.
const TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryBody {
    sql: String,
}

/// The audit log's view of the SQL: on one line, bounded.
fn sql_for_audit(sql: &str) -> String {
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut text: String = one_line.chars().take(2000).collect();
    if one_line.chars().count() > 2000 {
        text.push('…');
    }
    format!("sql {text}")
}

/// `POST /api/query`.
pub async fn run(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Body(body): Body<QueryBody>,
) -> ApiResult<Response> {
    let object = Object(sql_for_audit(&body.sql));
    let answer = answer(&state, &caller, &body.sql).await;
    let mut response = match answer {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => e.into_response(),
    };
    response.extensions_mut().insert(object);
    Ok(response)
}

async fn answer(state: &AppState, caller: &Caller, sql: &str) -> ApiResult<super::rows::Rows> {
    if caller.vaults.is_some() {
        return Err(ApiError::Forbidden("SQL reads every vault: it needs a token that is not scoped to vaults".into()));
    }
    if sql.trim().is_empty() {
        return Err(ApiError::BadRequest("sql is empty".into()));
    }
    let session = QuerySession::open(&SessionOptions::new(state.lake.clone()))
        .await
        .map_err(|e| ApiError::internal("opening a query session", e))?;
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    // A planning error is the caller's SQL (a typo, a write): 400 with DataFusion's reason.
    let frame = session
        .context()
        .sql_with_options(sql, options)
        .await
        .map_err(|e| ApiError::BadRequest(format!("the SQL was refused: {}", first_line(&e.to_string()))))?;
    let schema = std::sync::Arc::new(frame.schema().as_arrow().clone());
    let batches = tokio::time::timeout(TIMEOUT, frame.collect())
        .await
        .map_err(|_| ApiError::BadRequest(format!("the query ran longer than {} seconds", TIMEOUT.as_secs())))?
        .map_err(|e| ApiError::BadRequest(format!("the query failed: {}", first_line(&e.to_string()))))?;
    to_rows(&schema, &batches, MAX_ROWS).map_err(|e| ApiError::internal("encoding a query result", e))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
