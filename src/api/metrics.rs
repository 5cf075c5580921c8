//! `/metrics` in the Prometheus text format: ingest lag, records, quarantined, alerts by
//! kind, severity and state, delivery failures by channel, API requests by route and status.
//!
//! Invariant: labels are low-cardinality by construction: kinds, severities, states,
//! channels, route templates (`/api/alerts/{id}`, never an id) and status codes. No label
//! ever holds an identity, an address, a vault or a token: per-identity data lives in the
//! lake, where it can be queried and access to it audited.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;
use crate::alert::AlertStore;

/// The delivery channels counted, each shown from zero.
pub const DELIVERY_CHANNELS: [&str; 2] = ["email", "webhook"];

/// Counters kept in memory by the service.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
}

impl Metrics {
    pub fn count_request(&self, route: &str, status: u16) {
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((route.to_owned(), status)).or_default() += 1;
    }
}

/// A label value, escaped as the text format requires.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `GET /metrics` (no token: it holds no identity data).
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let ingest = state.service.ingest();
    let mut out = String::new();
    let _ = writeln!(out, "# HELP kvaudit_ingest_lag_seconds Now minus the time of the newest event in the lake.");
    let _ = writeln!(out, "# TYPE kvaudit_ingest_lag_seconds gauge");
    if let Some(lag) = ingest.lag_seconds(chrono::Utc::now()) {
        let _ = writeln!(out, "kvaudit_ingest_lag_seconds {lag:.3}");
    }
    let _ = writeln!(out, "# HELP kvaudit_ingest_records_total Records ingested by the service.");
    let _ = writeln!(out, "# TYPE kvaudit_ingest_records_total counter");
    let _ = writeln!(out, "kvaudit_ingest_records_total {}", ingest.records_total);
    let _ =
        writeln!(out, "# HELP kvaudit_ingest_quarantined_total Records the service could not parse and quarantined.");
    let _ = writeln!(out, "# TYPE kvaudit_ingest_quarantined_total counter");
    let _ = writeln!(out, "kvaudit_ingest_quarantined_total {}", ingest.quarantined_total);
    let _ =
        writeln!(out, "# HELP kvaudit_cycles_total Cycles (ingest, detection and what follows) the service completed.");
    let _ = writeln!(out, "# TYPE kvaudit_cycles_total counter");
    let _ = writeln!(out, "kvaudit_cycles_total {}", ingest.cycles);
    let _ = writeln!(
        out,
        "# HELP kvaudit_ingest_errors Whether the last cycle's ingest failed for a source (1) or not (0)."
    );
    let _ = writeln!(out, "# TYPE kvaudit_ingest_errors gauge");
    let _ = writeln!(out, "kvaudit_ingest_errors {}", u8::from(ingest.last_error.is_some()));

    let _ = writeln!(out, "# HELP kvaudit_alerts Alerts in the store, by kind, severity and state.");
    let _ = writeln!(out, "# TYPE kvaudit_alerts gauge");
    match AlertStore::open(&state.lake) {
        Ok(store) => {
            let mut counts: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
            for a in store.alerts() {
                *counts.entry((a.kind.as_str(), a.severity.as_str(), a.state.as_str())).or_default() += 1;
            }
            for ((kind, severity, alert_state), n) in counts {
                let _ = writeln!(
                    out,
                    "kvaudit_alerts{{kind=\"{kind}\",severity=\"{severity}\",state=\"{alert_state}\"}} {n}"
                );
            }
        }
        Err(error) => tracing::warn!(%error, "Cannot read the alerts for /metrics."),
    }

    let _ = writeln!(out, "# HELP kvaudit_delivery_failures_total Failed alert delivery attempts, by channel.");
    let _ = writeln!(out, "# TYPE kvaudit_delivery_failures_total counter");
    {
        let failures = &ingest.delivery_failures;
        let mut channels: BTreeMap<&str, u64> = DELIVERY_CHANNELS.iter().map(|c| (*c, 0)).collect();
        for (channel, n) in failures.iter() {
            channels.insert(channel, *n);
        }
        for (channel, n) in channels {
            let _ = writeln!(out, "kvaudit_delivery_failures_total{{channel=\"{}\"}} {n}", label(channel));
        }
    }
    let _ = writeln!(out, "# HELP kvaudit_delivery_waiting Outbox entries not yet delivered (due later, or retrying).");
    let _ = writeln!(out, "# TYPE kvaudit_delivery_waiting gauge");
    let _ = writeln!(out, "kvaudit_delivery_waiting {}", ingest.delivery_waiting);

    let _ = writeln!(out, "# HELP kvaudit_api_requests_total API requests, by route template and status code.");
    let _ = writeln!(out, "# TYPE kvaudit_api_requests_total counter");
    {
        let requests = state.metrics.requests.lock().unwrap_or_else(|e| e.into_inner());
        for ((route, status), n) in requests.iter() {
            let _ = writeln!(out, "kvaudit_api_requests_total{{route=\"{}\",status=\"{status}\"}} {n}", label(route));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out)
}
