//! Microsoft Sentinel's published Key Vault rules, as SQL over the same lake, turned into
//! alerts so the evaluation scores them exactly like kvaudit's: "Mass secret retrieval
//! from Azure Key Vault" (`queries/detect/sentinel_mass_secret_retrieval.sql`, scored as
//! `mass_retrieval`) and "Sensitive Azure Key Vault operations"
//! (`queries/detect/sentinel_sensitive_operations.sql`, scored as `sensitive_operation`).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::alert::{Alert, AlertKind, AlertState, Score, Severity};
use crate::detect::DetectError;
use crate::detect::columns::{integers, micros, strings};
use crate::detect::relations::{bind_scope, collect};
use crate::lake::LakePaths;
use crate::query::{QuerySession, SessionOptions};

/// The rules' alerts over `[from, to)`.
pub async fn sentinel_alerts(
    lake: &LakePaths,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Alert>, DetectError> {
    let session = QuerySession::open(&SessionOptions::new(lake.clone())).await?;
    // The rules do their own exclusions; they see every caller event.
    bind_scope(&session, from, to, None).await?;
    let mut alerts = Vec::new();
    for (query, kind) in [
        ("sentinel_mass_secret_retrieval", AlertKind::MassRetrieval),
        ("sentinel_sensitive_operations", AlertKind::SensitiveOperation),
    ] {
        for batch in collect(&session, query).await?.1 {
            let (oid, appid, upn, vault, op) = (
                strings(&batch, "identity_oid")?,
                strings(&batch, "identity_appid")?,
                strings(&batch, "identity_upn")?,
                strings(&batch, "vault")?,
                strings(&batch, "operation")?,
            );
            let (events, first, last) =
                (integers(&batch, "events")?, micros(&batch, "first_time")?, micros(&batch, "last_time")?);
            for i in 0..batch.num_rows() {
                let t = |v: Option<i64>| DateTime::from_timestamp_micros(v.unwrap_or_default()).unwrap_or_default();
                alerts.push(Alert {
                    id: format!("sentinel-{query}-{i}-{}", first[i].unwrap_or_default()),
                    kind,
                    severity: Severity::Medium,
                    vault: vault[i].clone(),
                    identity_oid: oid[i].clone(),
                    identity_appid: appid[i].clone(),
                    identity_upn: upn[i].clone(),
                    object_name: None,
                    caller_ip: None,
                    window_start: t(first[i]),
                    window_end: t(last[i]) + chrono::Duration::seconds(1),
                    observed: json!({"operation": op[i], "events": events[i]}),
                    baseline: json!({"rule": query}),
                    score: Score { name: "events".into(), value: events[i].unwrap_or_default() as f64 },
                    explanation: format!("Sentinel rule {query}"),
                    evidence: Vec::new(),
                    state: AlertState::Open,
                    state_reason: None,
                    first_raised: Utc::now(),
                    last_raised: Utc::now(),
                });
            }
        }
    }
    Ok(alerts)
}
