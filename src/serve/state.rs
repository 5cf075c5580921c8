//! What the service knows about its own work, shared between the cycle (which writes it)
//! and the API (which reads it): the ingest state, kept in memory and persisted small in
//! `<lake>/_state/serve.json` so `/metrics` and the dashboard survive a restart; and the
//! in-process locks that order the lake's writers.
//!
//! Why in-process locks: the lake's file locks (`lake::lock`) are per open file, so two
//! tasks of one process would refuse each other as if they were two processes. The cycle's
//! ingest and an API export both write-lock the lake, and the cycle's detection and an
//! API alert change both write the alert store; each pair is queued here first, so inside
//! the service they wait for each other instead of failing.
//!
//! This module depends on nothing else of `serve`: the API reads it, the loop writes it.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lake::LakePaths;

/// One source's last ingest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SourceStatus {
    /// The folder or `az://` URL (never with a credential).
    pub source: String,
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub last_run: Option<DateTime<Utc>>,
    pub last_records: u64,
    pub last_quarantined: u64,
    pub last_error: Option<String>,
}

/// The service's ingest and detection state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IngestStatus {
    /// When the last cycle's ingest ended.
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub last_run: Option<DateTime<Utc>>,
    /// Records and quarantined records ingested by the service, all cycles together.
    pub records_total: u64,
    pub quarantined_total: u64,
    /// The same, of the last cycle only.
    pub last_records: u64,
    pub last_quarantined: u64,
    /// The time of the newest event in the lake.
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub newest_event: Option<DateTime<Utc>>,
    /// The last cycle's ingest error (one per failing source, joined), if any.
    pub last_error: Option<String>,
    /// When detection last succeeded, and its last error.
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub last_detection: Option<DateTime<Utc>>,
    pub last_detection_error: Option<String>,
    /// Cycles the service completed (ingest, detection and the steps after it).
    pub cycles: u64,
    pub sources: Vec<SourceStatus>,
    /// Alert delivery: when the last run ended, what it left waiting, its error (a run that
    /// could not start; a failed send is counted below and retried from the outbox).
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub last_delivery: Option<DateTime<Utc>>,
    #[serde(default)]
    pub delivery_waiting: u64,
    #[serde(default)]
    pub last_delivery_error: Option<String>,
    /// Failed delivery attempts (mails or posts), all runs together, by channel kind
    /// (`email`, `webhook`); never by channel name or recipient.
    #[serde(default)]
    pub delivery_failures: std::collections::BTreeMap<String, u64>,
    /// When compaction and retention last completed, and the last error of either.
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub last_compaction: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub last_retention: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_upkeep_error: Option<String>,
}

impl IngestStatus {
    /// Now minus the newest event's time: how far behind the logs the lake is.
    pub fn lag_seconds(&self, now: DateTime<Utc>) -> Option<f64> {
        self.newest_event.map(|t| ((now - t).num_milliseconds() as f64 / 1000.0).max(0.0))
    }
}

/// Queues for the lake's writers inside one process (see the module's doc).
#[derive(Debug, Default)]
pub struct LakeLocks {
    /// Held by the cycle's ingest and by exports (both take the lake's writer lock).
    pub writer: tokio::sync::Mutex<()>,
    /// Taken for writing by whatever writes the alert store or the rollups under
    /// `baselines/`: the cycle's detection, alert changes, and the secret catalog (secret
    /// status and list, the overview's lifecycle), which brings the per-secret access
    /// rollup up to date before reading it. Taken for reading by the baselines endpoint.
    /// Without it two requests rebuilt the same rollup at once, and a reader that listed
    /// a rollup could read its replacement at the old file's length.
    pub detector: tokio::sync::RwLock<()>,
}

/// Shared between the cycle and the API.
#[derive(Debug)]
pub struct ServiceState {
    lake: LakePaths,
    ingest: RwLock<IngestStatus>,
    pub locks: LakeLocks,
    /// Bumped after every cycle and alert change: what the API caches is keyed on it.
    generation: AtomicU64,
}

impl ServiceState {
    /// The state of `lake`'s service, as persisted by the last run (empty if none).
    pub fn load(lake: &LakePaths) -> ServiceState {
        let ingest = std::fs::read(lake.service_state_file())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        ServiceState {
            lake: lake.clone(),
            ingest: RwLock::new(ingest),
            locks: LakeLocks::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// A copy of the ingest state.
    pub fn ingest(&self) -> IngestStatus {
        self.ingest.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes the ingest state and persists it. A failed write is logged, not fatal: the
    /// state is a convenience for the dashboard, the lake's checkpoints are the truth.
    pub fn update(&self, change: impl FnOnce(&mut IngestStatus)) {
        let snapshot = {
            let mut guard = self.ingest.write().unwrap_or_else(|e| e.into_inner());
            change(&mut guard);
            guard.clone()
        };
        let bytes = serde_json::to_vec_pretty(&snapshot).unwrap_or_default();
        if let Err(error) = crate::lake::write_atomically(&self.lake.service_state_file(), &bytes) {
            tracing::warn!(%error, "Could not save the service state.");
        }
        self.bump();
    }

    /// Marks that what the lake holds changed.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakePaths::new(dir.path());
        let state = ServiceState::load(&lake);
        let newest = Utc::now() - chrono::Duration::seconds(90);
        state.update(|s| {
            s.records_total += 10;
            s.newest_event = Some(newest);
            s.last_error = Some("source x: unreachable".into());
        });
        let again = ServiceState::load(&lake).ingest();
        assert_eq!(again.records_total, 10);
        assert_eq!(again.last_error.as_deref(), Some("source x: unreachable"));
        let lag = again.lag_seconds(Utc::now()).unwrap();
        assert!((89.0..200.0).contains(&lag), "{lag}");
    }
}
