//! One cycle of the service, and the schedule of cycles.
//!
//! A cycle runs its steps in this order, each seeing what the one before stored:
//! 1. **ingest** every source into the lake (in the service's writer queue, so an API
//!    export waits for it and it waits for an export);
//! 2. **detect** over the new events (in the detector queue, so an API alert change waits
//!    for it); first, alerts whose API suppression ended are reopened;
//! 3. **after detection** ([`Cycles::after_detection`], [`super::upkeep`]): delivery of
//!    what detection stored and of retries now due, then compaction and retention when
//!    their turn has come.
//!
//! A failing source or a failing detection is recorded in the service state (`last_error`,
//! `/metrics`, the dashboard) and retried next cycle; the service keeps serving.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::config::{ServeConfig, SourceConfig};
use super::state::{ServiceState, SourceStatus};
use super::upkeep::Upkeep;
use crate::alert::AlertStore;
use crate::alert::suppressions::Suppressions;
use crate::detect::{DetectError, DetectOptions, detect};
use crate::ingest::{IngestOptions, IngestSummary, ingest, ingest_blobs};
use crate::lake::LakePaths;
use crate::lake::lock::LakeLock;
use crate::query::{QuerySession, SessionOptions};

/// The schedule of cycles, and what every cycle needs.
pub struct Cycles {
    lake: LakePaths,
    config: ServeConfig,
    detect: DetectOptions,
    state: Arc<ServiceState>,
    /// Set on SIGTERM / Ctrl-C: ingest stops at its next checkpoint.
    stop: Arc<AtomicBool>,
    /// Whether a detection succeeded since the service started.
    detected: bool,
    upkeep: Upkeep,
}

/// What a cycle's ingest did.
#[derive(Debug, Default)]
struct Ingested {
    records: u64,
    quarantined: u64,
    errors: Vec<String>,
}

impl Cycles {
    pub fn new(
        lake: LakePaths,
        config: ServeConfig,
        detect: DetectOptions,
        state: Arc<ServiceState>,
        stop: Arc<AtomicBool>,
        upkeep: Upkeep,
    ) -> Cycles {
        Cycles { lake, config, detect, state, stop, detected: false, upkeep }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Runs a cycle every `interval` (measured start to start) until `stopped` turns true.
    pub async fn run_until_stopped(mut self, mut stopped: tokio::sync::watch::Receiver<bool>) {
        loop {
            let started = Instant::now();
            self.run_once().await;
            // What the cycle freed goes back to the system until the next one needs it
            // (see `allocator`): otherwise the service stays as large as its largest cycle.
            crate::allocator::release_free_memory();
            if self.stopping() {
                return;
            }
            let pause = self.config.interval.saturating_sub(started.elapsed());
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
        }
    }

    /// One cycle: ingest, detect, then the steps after detection.
    pub async fn run_once(&mut self) {
        let started = Instant::now();
        let ingested = self.ingest_all().await;
        if self.stopping() {
            tracing::info!("Stopped after ingest; detection runs at the next start.");
            return;
        }
        // Without new records the detection window is empty: nothing new to find.
        if ingested.records > 0 || !self.detected {
            self.detect_new().await;
        }
        self.after_detection().await;
        self.state.update(|s| s.cycles += 1);
        tracing::info!(
            records = ingested.records,
            quarantined = ingested.quarantined,
            errors = ingested.errors.len(),
            seconds = started.elapsed().as_secs_f64(),
            "Cycle done."
        );
    }

    /// Step 3: delivery (the outbox, email and webhooks), then compaction and retention of
    /// the lake, each skipped once a stop is requested.
    async fn after_detection(&mut self) {
        self.upkeep.deliver(&self.state).await;
        if self.stopping() {
            return;
        }
        self.upkeep.compact(&self.lake, &self.state).await;
        if self.stopping() {
            return;
        }
        let _writer = self.state.locks.writer.lock().await;
        let _detector = self.state.locks.detector.write().await;
        self.upkeep.retain(&self.lake, &self.state).await;
    }

    /// Step 1: every source, one after the other, then the lake's newest event time.
    async fn ingest_all(&mut self) -> Ingested {
        let mut done = Ingested::default();
        let mut statuses = Vec::new();
        {
            let _queue = self.state.locks.writer.lock().await;
            for source in &self.config.sources {
                if self.stopping() {
                    break;
                }
                let name = source.name();
                let result = self.ingest_one(source).await;
                let mut status =
                    SourceStatus { source: name.clone(), last_run: Some(Utc::now()), ..Default::default() };
                match result {
                    Ok(summary) => {
                        tracing::info!(source = %name, records = summary.records, quarantined = summary.quarantined, "Ingested a source.");
                        done.records += summary.records;
                        done.quarantined += summary.quarantined;
                        status.last_records = summary.records;
                        status.last_quarantined = summary.quarantined;
                    }
                    Err(error) => {
                        tracing::warn!(source = %name, %error, "Ingest of a source failed; retrying next cycle.");
                        done.errors.push(format!("{name}: {error}"));
                        status.last_error = Some(error);
                    }
                }
                statuses.push(status);
            }
        }
        let newest = newest_event(&self.lake).await;
        self.state.update(|s| {
            s.last_run = Some(Utc::now());
            s.records_total += done.records;
            s.quarantined_total += done.quarantined;
            s.last_records = done.records;
            s.last_quarantined = done.quarantined;
            s.last_error = (!done.errors.is_empty()).then(|| done.errors.join("; "));
            if newest.is_some() {
                s.newest_event = newest;
            }
            for status in statuses {
                match s.sources.iter_mut().find(|x| x.source == status.source) {
                    Some(slot) => *slot = status,
                    None => s.sources.push(status),
                }
            }
        });
        done
    }

    /// Ingests one source on a blocking thread (ingest runs its own thread pipeline).
    async fn ingest_one(&self, source: &SourceConfig) -> Result<IngestSummary, String> {
        let from = match source {
            SourceConfig::Local(path) => path.clone(),
            SourceConfig::Blob(blob) => PathBuf::from(blob.config.location.url()),
        };
        let mut options = IngestOptions::new(self.lake.clone(), from);
        options.stop = Some(Arc::clone(&self.stop));
        options.commit_bytes = self.config.commit_bytes;
        if let Some(workers) = self.config.workers {
            options.workers = workers;
        }
        let source = source.clone();
        let handle = tokio::runtime::Handle::current();
        let joined = tokio::task::spawn_blocking(move || match &source {
            SourceConfig::Local(_) => ingest(&options),
            SourceConfig::Blob(blob) => ingest_blobs(&options, blob, &handle),
        })
        .await;
        match joined {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(join) => Err(format!("the ingest thread stopped unexpectedly: {join}")),
        }
    }

    /// Step 2: reopen alerts whose API suppression ended, then detect over the new events.
    async fn detect_new(&mut self) {
        let _queue = self.state.locks.detector.write().await;
        if let Err(error) = self.expire_suppressions() {
            tracing::warn!(%error, "Could not reopen alerts whose suppression ended; retrying next cycle.");
        }
        let started = Instant::now();
        let result = detect(&self.lake, &self.detect).await;
        let outcome = match result {
            Ok(report) => {
                tracing::info!(
                    from = %report.from, to = %report.to, new = report.new, merged = report.merged,
                    suppressed = report.suppressed, seconds = started.elapsed().as_secs_f64(),
                    "Detection done."
                );
                self.detected = true;
                Ok(())
            }
            Err(DetectError::NoEvents(_)) => {
                tracing::info!("The lake holds no events yet; detection waits for the first ones.");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, "Detection failed; retrying next cycle.");
                Err(error.to_string())
            }
        };
        self.state.update(|s| match outcome {
            Ok(()) => {
                s.last_detection = Some(Utc::now());
                s.last_detection_error = None;
            }
            Err(error) => s.last_detection_error = Some(error),
        });
    }

    /// Reopens the alerts whose API suppression ended (under the detector lock).
    fn expire_suppressions(&self) -> Result<(), crate::alert::AlertError> {
        let mut suppressions = Suppressions::load(&self.lake)?;
        let _lock = LakeLock::acquire_detector(&self.lake)?;
        let mut store = AlertStore::open(&self.lake)?;
        let reopened = suppressions.expire(&mut store, Utc::now());
        if !reopened.is_empty() {
            store.save()?;
            suppressions.save(&self.lake)?;
            tracing::info!(alerts = reopened.len(), "Reopened alerts whose suppression ended.");
        }
        Ok(())
    }
}

/// The time of the newest event in the lake: the maximum of its newest date partition.
async fn newest_event(lake: &LakePaths) -> Option<DateTime<Utc>> {
    let date = lake.newest_event_date()?;
    let session = QuerySession::open(&SessionOptions::new(lake.clone())).await.ok()?;
    let sql = format!("SELECT max(time) AS newest FROM events WHERE date = '{}'", date.format("%Y-%m-%d"));
    let (_, batches) = session.sql(&sql).await.ok()?;
    let batch = batches.first()?;
    let micros = crate::detect::columns::micros(batch, "newest").ok()?;
    DateTime::from_timestamp_micros((*micros.first()?)?)
}
