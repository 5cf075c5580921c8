//! `/api/secrets`: every secret with its state (`kvaudit secrets`), and one secret's status
//! (`kvaudit secret-status`), as JSON, limited to the token's vaults.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::audit::Object;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::{Params, PathParams};
use crate::status::{SecretState, StatusError};

#[derive(Debug, Default, Deserialize)]
pub struct ListFilter {
    vault: Option<String>,
    state: Option<String>,
    /// `secret` (default), `key` or `certificate`.
    #[serde(rename = "type")]
    object_type: Option<String>,
    days: Option<u32>,
}

fn days(days: Option<u32>) -> ApiResult<u32> {
    let days = days.unwrap_or(30);
    if !(1..=3660).contains(&days) {
        return Err(ApiError::BadRequest(format!("days must be between 1 and 3660, not {days}")));
    }
    Ok(days)
}

/// `GET /api/secrets?vault=&state=&type=&days=`.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Params(filter): Params<ListFilter>,
) -> ApiResult<Response> {
    let vault = filter.vault.as_deref().filter(|v| !v.is_empty()).map(str::to_ascii_lowercase);
    if let Some(v) = &vault
        && !caller.sees_vault(Some(v))
    {
        return Err(ApiError::vault(v));
    }
    let wanted = match filter.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(SecretState::parse(s).ok_or_else(|| {
            let all: Vec<&str> = SecretState::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::BadRequest(format!("state must be one of {}, not {s:?}", all.join(", ")))
        })?),
    };
    let object_type = match filter.object_type.as_deref().unwrap_or("secret") {
        t @ ("secret" | "key" | "certificate") => t.to_owned(),
        other => return Err(ApiError::BadRequest(format!("type must be secret, key or certificate, not {other:?}"))),
    };
    let days = days(filter.days)?;
    let as_of = crate::status::lake_as_of(&state.lake);
    let _rollups = state.service.locks.detector.write().await;
    let catalog = crate::status::load_catalog(&state.lake, as_of, None)
        .await
        .map_err(|e| ApiError::internal("reading the secret catalog", e))?;
    let rows: Vec<_> =
        crate::status::list(&catalog, &state.detect.lifecycle, days, vault.as_deref(), wanted, &object_type)
            .into_iter()
            .filter(|r| caller.sees_vault(Some(&r.vault)))
            .collect();
    let mut response = Json(serde_json::json!({
        "as_of": crate::export::manifest::time_text(as_of),
        "secrets": rows,
    }))
    .into_response();
    let object = match &vault {
        Some(v) => format!("secret list of {v}"),
        None => "secret list".to_owned(),
    };
    response.extensions_mut().insert(Object(object));
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
pub struct StatusParams {
    days: Option<u32>,
}

/// The secret a path names, checked: names are letters, digits and dashes (so only safe
/// text reaches the audit log), and the token must see the vault. A refusal is already a
/// response carrying the audit object.
fn named_secret(caller: &Caller, vault: String, secret: String) -> Result<(String, String, Object), Box<Response>> {
    let (vault, secret) = (vault.to_ascii_lowercase(), secret.to_ascii_lowercase());
    let safe = |s: &str| !s.is_empty() && s.len() <= 127 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !safe(&vault) || !safe(&secret) {
        let refusal = ApiError::BadRequest("vault and secret names are letters, digits and dashes".into());
        return Err(Box::new(refusal.into_response()));
    }
    let object = Object(format!("secret {vault}/{secret}"));
    if !caller.sees_vault(Some(&vault)) {
        let mut response = ApiError::vault(&vault).into_response();
        response.extensions_mut().insert(object);
        return Err(Box::new(response));
    }
    Ok((vault, secret, object))
}

/// A status-reading answer, or its error, carrying the audit object.
fn answer<T: serde::Serialize>(result: Result<T, StatusError>, what: &str, object: Object) -> Response {
    let mut response = match result {
        Ok(value) => Json(value).into_response(),
        Err(StatusError::Unknown(name)) => {
            ApiError::NotFound(format!("no secret {name} in the logs or the inventory")).into_response()
        }
        Err(e) => ApiError::internal(what, e).into_response(),
    };
    response.extensions_mut().insert(object);
    response
}

/// `GET /api/secrets/{vault}/{secret}?days=`.
pub async fn status(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams((vault, secret)): PathParams<(String, String)>,
    Params(params): Params<StatusParams>,
) -> ApiResult<Response> {
    let (vault, secret, object) = match named_secret(&caller, vault, secret) {
        Ok(named) => named,
        Err(refusal) => return Ok(*refusal),
    };
    let days = days(params.days)?;
    let as_of = crate::status::lake_as_of(&state.lake);
    let _rollups = state.service.locks.detector.write().await;
    let status = crate::status::status(&state.lake, (&vault, &secret), days, as_of, &state.detect.lifecycle).await;
    Ok(answer(status, "reading the secret's status", object))
}

/// `GET /api/secrets/{vault}/{secret}/rotation-plan?days=`: every consumer that must pick
/// up a new version (`kvaudit rotation-plan`).
pub async fn rotation_plan(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams((vault, secret)): PathParams<(String, String)>,
    Params(params): Params<StatusParams>,
) -> ApiResult<Response> {
    let (vault, secret, object) = match named_secret(&caller, vault, secret) {
        Ok(named) => named,
        Err(refusal) => return Ok(*refusal),
    };
    let days = days(params.days)?;
    let as_of = crate::status::lake_as_of(&state.lake);
    let _rollups = state.service.locks.detector.write().await;
    let plan =
        crate::status::rotation::plan(&state.lake, (&vault, &secret), days, as_of, &state.detect.lifecycle).await;
    Ok(answer(plan, "planning the secret's rotation", object))
}

#[derive(Debug, Default, Deserialize)]
pub struct CheckParams {
    /// A date (`2026-11-01`, midnight UTC) or an RFC 3339 time.
    since: Option<String>,
}

/// `GET /api/secrets/{vault}/{secret}/rotation-check?since=`: who moved to the version set
/// at or after `since` and who still reads the old one (`kvaudit rotation-check`).
pub async fn rotation_check(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams((vault, secret)): PathParams<(String, String)>,
    Params(params): Params<CheckParams>,
) -> ApiResult<Response> {
    let (vault, secret, object) = match named_secret(&caller, vault, secret) {
        Ok(named) => named,
        Err(refusal) => return Ok(*refusal),
    };
    let text = params.since.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let since = text
        .and_then(|t| {
            chrono::DateTime::parse_from_rfc3339(t).map(|d| d.to_utc()).ok().or_else(|| {
                chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|d| d.and_utc())
            })
        })
        .ok_or_else(|| ApiError::BadRequest("since must be a date like 2026-11-01 or an RFC 3339 time".into()))?;
    let as_of = crate::status::lake_as_of(&state.lake);
    let _rollups = state.service.locks.detector.write().await;
    let check = crate::status::rotation::check(&state.lake, (&vault, &secret), since, as_of).await;
    let check = match check {
        Ok(None) => {
            let mut response =
                ApiError::NotFound(crate::status::rotation::no_rotation(&vault, &secret, since)).into_response();
            response.extensions_mut().insert(object);
            return Ok(response);
        }
        Ok(Some(check)) => Ok(check),
        Err(e) => Err(e),
    };
    Ok(answer(check, "checking the secret's rotation", object))
}
