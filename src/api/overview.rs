//! `GET /api/overview?days=N`: the dashboard's first screen in one answer: events per day
//! and vault, open alerts by kind, secret lifecycle states, top identities, ingest health.
//!
//! Each role sees the parts its permissions cover (the same matrix as the endpoints): open
//! alerts need alert reading, lifecycle states need secret reading, top identities need
//! baseline reading; a hidden part is an empty list, and `sections` names the parts shown.
//! Everything is limited to the token's vaults. Days are counted back from the newest event
//! date in the lake (not from today), so a lake of old logs still shows its activity.
//!
//! The answer (except ingest health, always fresh) is cached until the next cycle or alert
//! change, so a wall of dashboards polling it does not rescan the lake.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::AppState;
use super::access::{Action, allows};
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::Params;
use super::rows::{to_objects, to_rows};
use crate::alert::{AlertState, AlertStore};
use crate::query::{QuerySession, SessionOptions};

/// Answers by (generation, days, role, vaults).
#[derive(Debug, Default)]
pub struct Cache {
    entries: Mutex<(u64, HashMap<String, serde_json::Value>)>,
}

impl Cache {
    fn get(&self, generation: u64, key: &str) -> Option<serde_json::Value> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        (entries.0 == generation).then(|| entries.1.get(key).cloned()).flatten()
    }

    fn put(&self, generation: u64, key: String, value: serde_json::Value) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.0 != generation {
            *entries = (generation, HashMap::new());
        }
        entries.1.insert(key, value);
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct OverviewParams {
    days: Option<u32>,
}

/// `'a', 'b'`: quoted SQL literals.
fn sql_list(values: &[String]) -> String {
    values.iter().map(|v| format!("'{}'", v.replace('\'', "''"))).collect::<Vec<_>>().join(", ")
}

/// `GET /api/overview`.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Params(params): Params<OverviewParams>,
) -> ApiResult<Response> {
    let days = params.days.unwrap_or(14);
    if !(1..=366).contains(&days) {
        return Err(ApiError::BadRequest(format!("days must be between 1 and 366, not {days}")));
    }
    let generation = state.service.generation();
    let key = format!("{days}|{}|{:?}", caller.role, caller.vaults);
    let mut body = match state.overview_cache.get(generation, &key) {
        Some(cached) => cached,
        None => {
            let fresh = build(&state, &caller, days).await?;
            state.overview_cache.put(generation, key, fresh.clone());
            fresh
        }
    };
    let ingest = state.service.ingest();
    body["ingest"] = serde_json::json!({
        "last_run": ingest.last_run.map(crate::export::manifest::time_text),
        "lag_seconds": ingest.lag_seconds(Utc::now()),
        "records": ingest.records_total,
        "quarantined": ingest.quarantined_total,
        "last_error": ingest.last_error,
        "last_run_records": ingest.last_records,
        "last_run_quarantined": ingest.last_quarantined,
        "newest_event": ingest.newest_event.map(crate::export::manifest::time_text),
        "last_detection": ingest.last_detection.map(crate::export::manifest::time_text),
        "last_detection_error": ingest.last_detection_error,
        "cycles": ingest.cycles,
        "sources": ingest.sources,
    });
    Ok(Json(body).into_response())
}

async fn build(state: &AppState, caller: &Caller, days: u32) -> ApiResult<serde_json::Value> {
    let newest = state.lake.newest_event_date();
    let as_of = newest.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc());
    let mut sections = vec!["events_per_day", "ingest"];
    let mut body = serde_json::json!({
        "as_of": as_of.map(crate::export::manifest::time_text),
        "days": days,
        "events_per_day": [],
        "alerts_open_by_kind": [],
        "lifecycle": [],
        "top_identities": [],
    });
    let scope: Option<Vec<String>> = caller.vaults.as_ref().map(|v| v.iter().cloned().collect());
    let vault_filter = match &scope {
        Some(list) => format!("AND vault IN ({})", sql_list(list)),
        None => String::new(),
    };

    if let Some(newest) = newest {
        let start = (newest - Duration::days(i64::from(days) - 1)).format("%Y-%m-%d").to_string();
        let session = QuerySession::open(&SessionOptions::new(state.lake.clone()))
            .await
            .map_err(|e| ApiError::internal("opening a query session", e))?;
        let per_day = format!(
            "SELECT date, vault, count(*) AS events FROM events WHERE date >= '{start}' {vault_filter} \
             GROUP BY date, vault ORDER BY date, vault"
        );
        body["events_per_day"] = rows(&session, &per_day, 100_000).await?;
        if allows(caller.role, Action::Baselines) {
            sections.push("top_identities");
            let top = format!(
                "SELECT coalesce(identity_oid, identity_appid) AS identity, max(identity_type) AS identity_type, \
                 max(identity_upn) AS upn, max(identity_appid) AS appid, array_agg(DISTINCT vault) AS vaults, \
                 count(*) AS calls, count(DISTINCT date) AS days_active \
                 FROM events WHERE date >= '{start}' {vault_filter} \
                 AND coalesce(identity_oid, identity_appid) IS NOT NULL \
                 AND operation NOT LIKE '%EventGridNotification' \
                 GROUP BY 1 ORDER BY calls DESC, identity LIMIT 10"
            );
            let mut top = rows(&session, &top, 10).await?;
            for row in top.as_array_mut().into_iter().flatten() {
                if let Some(vaults) = row["vaults"].as_array_mut() {
                    vaults.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
            }
            body["top_identities"] = top;
        }
    }

    if allows(caller.role, Action::AlertsRead) {
        sections.push("alerts_open_by_kind");
        let store = AlertStore::open(&state.lake).map_err(|e| ApiError::internal("reading the alerts", e))?;
        let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for a in store.alerts().iter().filter(|a| a.state == AlertState::Open && caller.sees_vault(a.vault.as_deref()))
        {
            *counts.entry((a.kind.as_str(), a.severity.as_str())).or_default() += 1;
        }
        body["alerts_open_by_kind"] = counts
            .into_iter()
            .map(|((kind, severity), count)| serde_json::json!({ "kind": kind, "severity": severity, "count": count }))
            .collect();
    }

    if allows(caller.role, Action::SecretsRead) {
        sections.push("lifecycle");
        let as_of = crate::status::lake_as_of(&state.lake);
        let rollups = state.service.locks.detector.write().await;
        let catalog = crate::status::load_catalog(&state.lake, as_of, None)
            .await
            .map_err(|e| ApiError::internal("reading the secret catalog", e))?;
        drop(rollups);
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for row in crate::status::list(&catalog, &state.detect.lifecycle, 30, None, None, "secret") {
            if caller.sees_vault(Some(&row.vault)) {
                for s in &row.states {
                    *counts.entry(s.as_str()).or_default() += 1;
                }
            }
        }
        body["lifecycle"] =
            counts.into_iter().map(|(s, count)| serde_json::json!({ "state": s, "count": count })).collect();
    }
    body["sections"] = serde_json::json!(sections);
    Ok(body)
}

async fn rows(session: &QuerySession, sql: &str, limit: usize) -> ApiResult<serde_json::Value> {
    let (schema, batches) = session.sql(sql).await.map_err(|e| ApiError::internal("querying the overview", e))?;
    let rows = to_rows(&schema, &batches, limit).map_err(|e| ApiError::internal("encoding the overview", e))?;
    Ok(serde_json::Value::Array(to_objects(rows).into_iter().map(serde_json::Value::Object).collect()))
}
