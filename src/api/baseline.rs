//! `GET /api/identities/{oid}/baseline`: what the detector learned about one identity, from
//! the materialized activity rollups (`baselines/activity/`): when it is active (calls per
//! hour of the week), from which networks, which objects it reads, which operations it
//! uses, in which vaults, over the `history_days` before the newest event date.
//!
//! Shape: `identity`, `identity_type`, `identity_appid`, `identity_upn`, `history`
//! (`from`, `to`, `days`), `calls`, `days_active`, `hour_of_week` (7 rows, Monday first, of
//! 24 UTC hours), `networks` (`network`, `addresses`, `calls`), `objects` (`vault`,
//! `object_type`, `object`, `calls`, `last_seen`), `operations` (`operation`, `calls`,
//! `days`), `vaults` (`vault`, `calls`, `denied`, `days`).
//!
//! `{oid}` is the detector's identity key: the object id, else the app id. A scoped token
//! sees the identity's activity in its vaults only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, Timelike};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::prelude::{col, lit};
use serde::Serialize;

use super::AppState;
use super::audit::Object;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::PathParams;
use crate::detect::columns::{integers, micros, strings};
use crate::detect::profile::network_of;
use crate::query::{QuerySession, SessionOptions};

#[derive(Debug, Default, Serialize)]
struct ObjectUse {
    vault: String,
    object_type: Option<String>,
    /// The object's name.
    object: String,
    calls: i64,
    last_seen: String,
}

#[derive(Debug, Default, Serialize)]
struct Network {
    network: String,
    addresses: usize,
    calls: i64,
}

#[derive(Debug, Default, Serialize)]
struct Operation {
    operation: String,
    calls: i64,
    days: usize,
}

#[derive(Debug, Default, Serialize)]
struct VaultUse {
    vault: String,
    calls: i64,
    denied: i64,
    days: usize,
}

/// `GET /api/identities/{oid}/baseline`.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams(oid): PathParams<String>,
) -> ApiResult<Response> {
    let ok =
        !oid.is_empty() && oid.len() <= 256 && oid.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@:".contains(c));
    if !ok {
        return Err(ApiError::BadRequest("an identity is an object id, an app id or a UPN".into()));
    }
    let mut response = match baseline(&state, &caller, &oid).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    };
    response.extensions_mut().insert(Object(format!("baseline of {oid}")));
    Ok(response)
}

async fn baseline(state: &AppState, caller: &Caller, oid: &str) -> ApiResult<serde_json::Value> {
    let missing = || ApiError::NotFound(format!("no baseline for {oid}: the detector has not seen it in its history"));
    let dir = state.lake.activity_dir();
    let newest = state.lake.newest_event_date().ok_or_else(missing)?;
    let history_days = i64::from(state.detect.policy.history_days);
    let start = newest - Duration::days(history_days);
    if !std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(false) {
        return Err(missing());
    }
    let internal = |e: datafusion::error::DataFusionError| ApiError::internal("reading the baselines", e);
    let _rollups = state.service.locks.detector.read().await;
    let session = QuerySession::open(&SessionOptions::new(state.lake.clone()))
        .await
        .map_err(|e| ApiError::internal("opening a query session", e))?;
    let ctx = session.context();
    let url = ListingTableUrl::parse(format!("{}/", dir.display())).map_err(internal)?;
    let listing = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![("date".to_string(), arrow::datatypes::DataType::Utf8)]);
    let config = ListingTableConfig::new(url)
        .with_listing_options(listing)
        .infer_schema(&ctx.state())
        .await
        .map_err(internal)?;
    ctx.register_table("activity", Arc::new(ListingTable::try_new(config).map_err(internal)?)).map_err(internal)?;
    let mut filter = col("identity").eq(lit(oid)).and(col("date").gt_eq(lit(start.format("%Y-%m-%d").to_string())));
    if let Some(vaults) = &caller.vaults {
        filter = filter.and(col("vault").in_list(vaults.iter().map(|v| lit(v.as_str())).collect(), false));
    }
    let batches = ctx
        .table("activity")
        .await
        .map_err(internal)?
        .filter(filter)
        .map_err(internal)?
        .collect()
        .await
        .map_err(internal)?;
    if batches.iter().all(|b| b.num_rows() == 0) {
        return Err(missing());
    }

    let column_error = |e| ApiError::internal("reading the baselines", e);
    let mut hour_of_week = [[0i64; 24]; 7];
    let mut days_active = BTreeSet::new();
    let mut total = 0i64;
    let (mut appid, mut upn, mut identity_type) = (None, None, None);
    let mut objects: BTreeMap<(String, String), ObjectUse> = BTreeMap::new();
    let mut addresses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut networks: BTreeMap<String, i64> = BTreeMap::new();
    let mut operations: BTreeMap<String, (i64, BTreeSet<i64>)> = BTreeMap::new();
    let mut vaults: BTreeMap<String, (i64, i64, BTreeSet<i64>)> = BTreeMap::new();
    for batch in &batches {
        let hours = micros(batch, "hour").map_err(column_error)?;
        let vault = strings(batch, "vault").map_err(column_error)?;
        let operation = strings(batch, "operation").map_err(column_error)?;
        let object_type = strings(batch, "object_type").map_err(column_error)?;
        let object_name = strings(batch, "object_name").map_err(column_error)?;
        let ip = strings(batch, "caller_ip").map_err(column_error)?;
        let outcome = strings(batch, "outcome").map_err(column_error)?;
        let calls = integers(batch, "calls").map_err(column_error)?;
        let app = strings(batch, "identity_appid").map_err(column_error)?;
        let user = strings(batch, "identity_upn").map_err(column_error)?;
        let kind = strings(batch, "identity_type").map_err(column_error)?;
        for i in 0..batch.num_rows() {
            let (Some(hour), Some(n)) = (hours[i], calls[i]) else { continue };
            let Some(time) = chrono::DateTime::from_timestamp_micros(hour) else { continue };
            let day = hour.div_euclid(86_400_000_000);
            let vault = vault[i].clone().unwrap_or_default();
            appid = appid.or_else(|| app[i].clone());
            upn = upn.or_else(|| user[i].clone());
            identity_type = identity_type.or_else(|| kind[i].clone());
            let denied = outcome[i].as_deref() == Some("denied");
            let v = vaults.entry(vault.clone()).or_default();
            v.0 += n;
            if denied {
                v.1 += n;
            }
            v.2.insert(day);
            if outcome[i].as_deref() != Some("ok") {
                continue;
            }
            total += n;
            days_active.insert(day);
            hour_of_week[time.weekday().num_days_from_monday() as usize][time.hour() as usize] += n;
            if let Some(op) = &operation[i] {
                let o = operations.entry(op.clone()).or_default();
                o.0 += n;
                o.1.insert(day);
            }
            if let Some(address) = &ip[i] {
                let network = network_of(address);
                *networks.entry(network.clone()).or_default() += n;
                addresses.entry(network).or_default().insert(address.clone());
            }
            if let Some(name) = &object_name[i] {
                let o = objects.entry((vault.clone(), name.clone())).or_default();
                o.vault = vault.clone();
                o.object = name.clone();
                o.object_type = object_type[i].clone();
                o.calls += n;
                let seen = crate::export::manifest::time_text(time);
                if seen > o.last_seen {
                    o.last_seen = seen;
                }
            }
        }
    }
    let mut objects: Vec<ObjectUse> = objects.into_values().collect();
    objects.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| (&a.vault, &a.object).cmp(&(&b.vault, &b.object))));
    let mut networks: Vec<Network> = networks
        .into_iter()
        .map(|(network, calls)| Network { addresses: addresses.get(&network).map_or(0, |a| a.len()), network, calls })
        .collect();
    networks.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.network.cmp(&b.network)));
    let mut operations: Vec<Operation> = operations
        .into_iter()
        .map(|(operation, (calls, days))| Operation { operation, calls, days: days.len() })
        .collect();
    operations.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.operation.cmp(&b.operation)));
    let vaults: Vec<VaultUse> = vaults
        .into_iter()
        .map(|(vault, (calls, denied, days))| VaultUse { vault, calls, denied, days: days.len() })
        .collect();
    let midnight =
        |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| crate::export::manifest::time_text(t.and_utc()));
    Ok(serde_json::json!({
        "identity": oid,
        "identity_type": identity_type,
        "identity_appid": appid,
        "identity_upn": upn,
        "history": {
            "from": midnight(start),
            "to": newest.succ_opt().and_then(midnight),
            "days": history_days,
        },
        "calls": total,
        "days_active": days_active.len(),
        // Seven rows, Monday first; 24 UTC hours each; successful calls.
        "hour_of_week": hour_of_week,
        "networks": networks,
        "objects": objects,
        "operations": operations,
        "vaults": vaults,
    }))
}
