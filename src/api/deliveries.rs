//! `/api/deliveries`: where each alert stands on each delivery channel, from the outbox.
//!
//! A scoped token sees the entries of its vaults' alerts only, and the per-channel counts
//! are computed from those entries, so the counts never reveal another vault's alerts.

use std::collections::BTreeMap;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::Params;
use crate::deliver::{DeliveryState, DeliveryStatus, status};

/// Most entries one answer lists.
const MAX_LIMIT: usize = 5000;

#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    alert: Option<String>,
    channel: Option<String>,
    state: Option<String>,
    limit: Option<usize>,
}

/// One channel's entries by state.
#[derive(Debug, Default, Serialize)]
struct ChannelCounts {
    channel: String,
    pending: usize,
    retrying: usize,
    delivered: usize,
    given_up: usize,
    cancelled: usize,
}

#[derive(Debug, Serialize)]
struct Answer {
    channels: Vec<ChannelCounts>,
    /// Newest first.
    entries: Vec<DeliveryStatus>,
    truncated: bool,
}

fn parse_state(text: &str) -> Option<DeliveryState> {
    [
        DeliveryState::Pending,
        DeliveryState::Retrying,
        DeliveryState::Delivered,
        DeliveryState::GivenUp,
        DeliveryState::Cancelled,
    ]
    .into_iter()
    .find(|s| s.as_str() == text)
}

/// `GET /api/deliveries?alert=&channel=&state=&limit=`.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Params(filter): Params<Filter>,
) -> ApiResult<Response> {
    let want_state = match filter.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(parse_state(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "state must be pending, retrying, delivered, given_up or cancelled, not {s:?}"
            ))
        })?),
    };
    let alert = filter.alert.as_deref().filter(|s| !s.is_empty());
    let channel = filter.channel.as_deref().filter(|s| !s.is_empty());
    let rows = status(&state.lake).map_err(|e| ApiError::internal("reading the delivery outbox", e))?;
    let visible: Vec<DeliveryStatus> = rows.into_iter().filter(|r| caller.sees_vault(r.vault.as_deref())).collect();

    let mut channels: BTreeMap<&str, ChannelCounts> = BTreeMap::new();
    for row in &visible {
        let counts = channels
            .entry(row.channel.as_str())
            .or_insert_with(|| ChannelCounts { channel: row.channel.clone(), ..Default::default() });
        match row.state {
            DeliveryState::Pending => counts.pending += 1,
            DeliveryState::Retrying => counts.retrying += 1,
            DeliveryState::Delivered => counts.delivered += 1,
            DeliveryState::GivenUp => counts.given_up += 1,
            DeliveryState::Cancelled => counts.cancelled += 1,
        }
    }
    let channels: Vec<ChannelCounts> = channels.into_values().collect();

    let mut entries: Vec<DeliveryStatus> = visible
        .into_iter()
        .filter(|r| alert.is_none_or(|a| r.alert_id == a))
        .filter(|r| channel.is_none_or(|c| r.channel == c))
        .filter(|r| want_state.is_none_or(|s| r.state == s))
        .collect();
    entries.sort_by(|a, b| (b.enqueued, &b.alert_id, &b.channel).cmp(&(a.enqueued, &a.alert_id, &a.channel)));
    let limit = filter.limit.unwrap_or(500).clamp(1, MAX_LIMIT);
    let truncated = entries.len() > limit;
    entries.truncate(limit);
    Ok(Json(Answer { channels, entries, truncated }).into_response())
}
