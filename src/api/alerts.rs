//! `/api/alerts`: list and read alerts, acknowledge, close and suppress them.
//!
//! Alerts are read from the store (`alerts/alerts.jsonl`) at each request: they are few,
//! and a change made by `kvaudit detect` or another process shows at once. A change takes
//! the service's detector queue and the lake's detector lock, like a detection run, so it
//! never races one; when another process holds that lock the answer is 409 (retry).
//! The note of a change is kept in the alert's `state_reason`, with who made it.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::AppState;
use super::audit::Object;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::{Body, Params, PathParams};
use crate::alert::suppressions::{Suppression, Suppressions};
use crate::alert::{Alert, AlertKind, AlertState, AlertStore, Severity};
use crate::lake::LakeError;
use crate::lake::lock::LakeLock;

/// Most alerts one list returns.
const MAX_LIMIT: usize = 5000;

#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    state: Option<String>,
    kind: Option<String>,
    vault: Option<String>,
    severity: Option<String>,
    limit: Option<usize>,
}

pub fn parse_state(text: &str) -> Option<AlertState> {
    [AlertState::Open, AlertState::Acknowledged, AlertState::Closed, AlertState::Suppressed]
        .into_iter()
        .find(|s| s.as_str() == text)
}

pub fn parse_severity(text: &str) -> Option<Severity> {
    [Severity::Low, Severity::Medium, Severity::High].into_iter().find(|s| s.as_str() == text)
}

fn open_store(state: &AppState) -> ApiResult<AlertStore> {
    AlertStore::open(&state.lake).map_err(|e| ApiError::internal("reading the alerts", e))
}

/// `GET /api/alerts?state=&kind=&vault=&severity=&limit=`: newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Params(filter): Params<Filter>,
) -> ApiResult<Response> {
    let want_state = match filter.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(parse_state(s).ok_or_else(|| {
            ApiError::BadRequest(format!("state must be open, acknowledged, closed or suppressed, not {s:?}"))
        })?),
    };
    let kind = match filter.kind.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => Some(AlertKind::parse(k).ok_or_else(|| ApiError::BadRequest(format!("no alert kind {k:?}")))?),
    };
    let severity = match filter.severity.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            parse_severity(s)
                .ok_or_else(|| ApiError::BadRequest(format!("severity must be low, medium or high, not {s:?}")))?,
        ),
    };
    let vault = filter.vault.as_deref().filter(|s| !s.is_empty()).map(str::to_ascii_lowercase);
    if let Some(v) = &vault
        && !caller.sees_vault(Some(v))
    {
        return Err(ApiError::vault(v));
    }
    let limit = filter.limit.unwrap_or(500).clamp(1, MAX_LIMIT);
    let store = open_store(&state)?;
    let mut alerts: Vec<&Alert> = store
        .alerts()
        .iter()
        .filter(|a| caller.sees_vault(a.vault.as_deref()))
        .filter(|a| want_state.is_none_or(|s| a.state == s))
        .filter(|a| kind.is_none_or(|k| a.kind == k))
        .filter(|a| severity.is_none_or(|s| a.severity == s))
        .filter(|a| vault.as_deref().is_none_or(|v| a.vault.as_deref() == Some(v)))
        .collect();
    alerts.sort_by(|a, b| (b.window_end, &b.id).cmp(&(a.window_end, &a.id)));
    alerts.truncate(limit);
    Ok(Json(serde_json::json!({ "alerts": alerts })).into_response())
}

/// The alert `id`, if the caller may see it.
fn find<'a>(store: &'a AlertStore, caller: &Caller, id: &str) -> ApiResult<&'a Alert> {
    let alert = store
        .alerts()
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no alert with id {id}")))?;
    if !caller.sees_vault(alert.vault.as_deref()) {
        return Err(match &alert.vault {
            Some(v) => ApiError::vault(v),
            None => ApiError::Forbidden("this alert concerns no single vault; it needs a token for every vault".into()),
        });
    }
    Ok(alert)
}

/// Only safe characters reach a message or the audit log.
fn check_id(id: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(ApiError::BadRequest("an alert id is letters, digits, - and _".into()));
    }
    Ok(())
}

/// `GET /api/alerts/{id}`.
pub async fn one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    check_id(&id)?;
    let store = open_store(&state)?;
    Ok(Json(find(&store, &caller, &id)?).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressBody {
    reason: String,
    /// A date (`2027-01-31`, midnight UTC) or an RFC 3339 time.
    expires: String,
}

/// A person's text, bounded and on one line.
fn clean_note(text: Option<String>) -> ApiResult<Option<String>> {
    let Some(text) = text else { return Ok(None) };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 2000 {
        return Err(ApiError::BadRequest("a note is at most 2000 characters".into()));
    }
    Ok((!text.is_empty()).then_some(text))
}

/// Acknowledging or closing an alert ends any suppression of it.
fn settle(
    store: &mut AlertStore,
    suppressions: &mut Suppressions,
    id: &str,
    to: AlertState,
    why: String,
) -> ApiResult<()> {
    suppressions.forget(id);
    store.set_state(id, to, Some(why)).map(|_| ()).map_err(|e| ApiError::internal("changing the alert", e))
}

/// Runs `change` on the stored alert `id` under the detector's locks, saves, and answers
/// with the changed alert.
async fn change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    change: impl FnOnce(&mut AlertStore, &mut Suppressions, AlertState) -> ApiResult<()>,
) -> ApiResult<Response> {
    check_id(id)?;
    let _queue = state.service.locks.detector.write().await;
    let _lock = LakeLock::acquire_detector(&state.lake).map_err(|e| match e {
        LakeError::Locked { .. } => {
            ApiError::Conflict("another kvaudit process is running detection on this lake; retry in a moment".into())
        }
        other => ApiError::internal("locking the alert store", other),
    })?;
    let mut store = open_store(state)?;
    let current = find(&store, caller, id)?.state;
    let mut suppressions =
        Suppressions::load(&state.lake).map_err(|e| ApiError::internal("reading the suppressions", e))?;
    change(&mut store, &mut suppressions, current)?;
    store.save().map_err(|e| ApiError::internal("saving the alerts", e))?;
    suppressions.save(&state.lake).map_err(|e| ApiError::internal("saving the suppressions", e))?;
    state.service.bump();
    let alert = find(&store, caller, id)?.clone();
    tracing::info!(alert = id, by = %caller.name, state = alert.state.as_str(), "Alert changed through the API.");
    let mut response = Json(alert).into_response();
    response.extensions_mut().insert(Object(format!("alert {id}")));
    Ok(response)
}

fn reason(verb: &str, caller: &Caller, note: Option<String>) -> String {
    match note {
        Some(note) => format!("{verb} by {}: {note}", caller.name),
        None => format!("{verb} by {}", caller.name),
    }
}

/// `POST /api/alerts/{id}/acknowledge` `{"note"}`: someone is on it.
pub async fn acknowledge(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams(id): PathParams<String>,
    Body(body): Body<Note>,
) -> ApiResult<Response> {
    let note = clean_note(body.note)?;
    let why = reason("acknowledged", &caller, note);
    let id2 = id.clone();
    with_object(
        change(&state, &caller, &id, move |store, suppressions, current| {
            if !matches!(current, AlertState::Open | AlertState::Acknowledged | AlertState::Suppressed) {
                return Err(ApiError::Conflict(format!(
                    "alert {id2} is {}: only an open alert can be acknowledged",
                    current.as_str()
                )));
            }
            settle(store, suppressions, &id2, AlertState::Acknowledged, why)
        })
        .await,
        &id,
    )
}

/// `POST /api/alerts/{id}/close` `{"note"}`: dealt with.
pub async fn close(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams(id): PathParams<String>,
    Body(body): Body<Note>,
) -> ApiResult<Response> {
    let note = clean_note(body.note)?;
    let why = reason("closed", &caller, note);
    let id2 = id.clone();
    with_object(
        change(&state, &caller, &id, move |store, suppressions, current| {
            if current == AlertState::Closed {
                return Err(ApiError::Conflict(format!("alert {id2} is closed already")));
            }
            settle(store, suppressions, &id2, AlertState::Closed, why)
        })
        .await,
        &id,
    )
}

/// `POST /api/alerts/{id}/suppress` `{"reason","expires"}`: not delivered nor shown as open
/// until `expires`, when it opens again.
pub async fn suppress(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams(id): PathParams<String>,
    Body(body): Body<SuppressBody>,
) -> ApiResult<Response> {
    let reason =
        clean_note(Some(body.reason))?.ok_or_else(|| ApiError::BadRequest("a suppression needs a reason".into()))?;
    let until: DateTime<Utc> = crate::export::scope::parse_bound(&body.expires)
        .ok_or_else(|| ApiError::BadRequest("expires must be a date like 2027-01-31 or an RFC 3339 time".into()))?;
    let now = Utc::now();
    if until <= now {
        return Err(ApiError::BadRequest("expires must be in the future".into()));
    }
    let suppression = Suppression { until, reason, by: caller.name.clone(), at: now };
    let id2 = id.clone();
    with_object(
        change(&state, &caller, &id, move |store, suppressions, current| {
            if current == AlertState::Closed {
                return Err(ApiError::Conflict(format!("alert {id2} is closed: there is nothing to suppress")));
            }
            suppressions.suppress(store, &id2, suppression).map_err(|e| ApiError::internal("suppressing the alert", e))
        })
        .await,
        &id,
    )
}

/// Names the alert in the audit line of a refused or failed change too.
fn with_object(result: ApiResult<Response>, id: &str) -> ApiResult<Response> {
    match result {
        Ok(response) => Ok(response),
        Err(error) => {
            let mut response = error.into_response();
            if check_id(id).is_ok() {
                response.extensions_mut().insert(Object(format!("alert {id}")));
            }
            Ok(response)
        }
    }
}
