//! Delivery state as people ask for it: per alert × channel, with the alert's kind,
//! severity and vault beside the outbox entry. Read-only and lock-free (both files are
//! replaced atomically), so the API and `kvaudit deliver status` can call it any time.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::DeliveryError;
use super::outbox::{DeliveryState, Outbox};
use crate::alert::{AlertStore, rfc3339};
use crate::lake::LakePaths;

/// One alert on one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryStatus {
    pub alert_id: String,
    pub channel: String,
    pub state: DeliveryState,
    /// The alert's kind, severity and vault (`None` if the alert left the store).
    pub kind: Option<String>,
    pub severity: Option<String>,
    pub vault: Option<String>,
    pub digest: bool,
    pub attempts: u32,
    #[serde(with = "rfc3339")]
    pub enqueued: DateTime<Utc>,
    #[serde(with = "rfc3339::option")]
    pub last_attempt: Option<DateTime<Utc>>,
    /// When the next attempt is due (open entries only).
    #[serde(with = "rfc3339::option")]
    pub next_attempt: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339::option")]
    pub delivered: Option<DateTime<Utc>>,
    /// An attempt whose outcome was never recorded (a crash mid-send): resent under the
    /// same delivery id.
    pub outcome_unknown: bool,
    pub last_error: Option<String>,
    /// The Message-ID / `X-Kvaudit-Delivery` value receivers see.
    pub delivery_id: String,
}

/// Every entry of the lake's outbox, oldest first.
pub fn status(lake: &LakePaths) -> Result<Vec<DeliveryStatus>, DeliveryError> {
    let outbox = Outbox::open(&lake.outbox_file())?;
    let store = AlertStore::open(lake)?;
    Ok(outbox
        .entries()
        .iter()
        .map(|e| {
            let alert = store.alerts().iter().find(|a| a.id == e.alert_id);
            DeliveryStatus {
                alert_id: e.alert_id.clone(),
                channel: e.channel.clone(),
                state: e.state,
                kind: alert.map(|a| a.kind.as_str().to_owned()),
                severity: alert.map(|a| a.severity.as_str().to_owned()),
                vault: alert.and_then(|a| a.vault.clone()),
                digest: e.digest,
                attempts: e.attempts,
                enqueued: e.enqueued,
                last_attempt: e.last_attempt,
                next_attempt: e.state.is_open().then_some(e.next_attempt),
                delivered: e.delivered,
                outcome_unknown: e.attempt_open,
                last_error: e.last_error.clone(),
                delivery_id: match (&e.batch, e.digest) {
                    (Some(batch), true) => super::outbox::batch_delivery_id(&e.channel, batch),
                    _ => e.delivery_id.clone(),
                },
            }
        })
        .collect())
}

/// The entries of one alert (one per channel it was routed to).
pub fn status_of_alert(lake: &LakePaths, alert_id: &str) -> Result<Vec<DeliveryStatus>, DeliveryError> {
    Ok(status(lake)?.into_iter().filter(|s| s.alert_id == alert_id).collect())
}

/// Open entries and failures per channel: (channel, state) → count, for metrics.
pub fn counts(statuses: &[DeliveryStatus]) -> std::collections::BTreeMap<(String, DeliveryState), usize> {
    let mut counts = std::collections::BTreeMap::new();
    for s in statuses {
        *counts.entry((s.channel.clone(), s.state)).or_default() += 1;
    }
    counts
}
