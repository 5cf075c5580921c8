//! The steps a cycle runs after detection: alert delivery, then compaction and retention.
//!
//! - **Delivery** runs every cycle (retries fall due between detections). A send that fails
//!   stays in the outbox and is retried by a later cycle; only a run that cannot start (the
//!   outbox unreadable, another `kvaudit deliver` holding its lock) is an error here.
//! - **Compaction** merges the small files of past days' partitions, at most every
//!   `[serve] compact_every`. Today's partition is left alone: ingest adds a file to it
//!   every cycle, so compacting it would rewrite the same growing day again and again.
//!   Replaced files are kept for [`COMPACT_GRACE`] so that an API query that listed a
//!   partition before the switch still finds its files.
//! - **Retention** applies `[retention]` at most every `[serve] retention_every`, inside
//!   both of the service's queues, because it deletes alerts (the detector's store) and
//!   whole partitions (which an export may be reading).
//!
//! Each step records its outcome in the service state (`/metrics`, the overview) and never
//! stops the service: what failed is tried again at its next turn.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};

use super::config::ServeConfig;
use super::state::ServiceState;
use crate::compact::{CompactOptions, DateRange, compact};
use crate::deliver::Delivery;
use crate::lake::LakePaths;
use crate::retention::{RetentionOptions, RetentionRules};

/// How long files replaced by a compaction stay for queries that listed them before.
pub const COMPACT_GRACE: Duration = Duration::from_secs(10 * 60);

/// The memory a compaction's sort may use before it spills (the service shares its
/// machine with the API and ingest).
const COMPACT_MEMORY: usize = 512 << 20;

/// What runs after detection, and when each step last ran.
pub struct Upkeep {
    pub delivery: Option<Delivery>,
    pub retention: Option<RetentionRules>,
    pub compact_every: Option<Duration>,
    pub compact_target_bytes: u64,
    pub compact_max_days: usize,
    pub retention_every: Duration,
    last_compaction: Option<Instant>,
    last_retention: Option<Instant>,
}

impl Upkeep {
    /// The steps `config`'s `[serve]` table schedules, none of them run yet.
    pub fn new(delivery: Option<Delivery>, retention: Option<RetentionRules>, config: &ServeConfig) -> Upkeep {
        Upkeep {
            delivery,
            retention,
            compact_every: config.compact_every,
            compact_target_bytes: config.compact_target_bytes,
            compact_max_days: config.compact_max_days,
            retention_every: config.retention_every,
            last_compaction: None,
            last_retention: None,
        }
    }

    /// Delivers what is due; counts failed sends by channel kind.
    pub async fn deliver(&self, state: &ServiceState) {
        let Some(delivery) = &self.delivery else { return };
        match delivery.run(Utc::now(), false).await {
            Ok(report) => {
                let delivered: usize = report.channels.iter().map(|c| c.delivered).sum();
                let waiting: usize = report.channels.iter().map(|c| c.waiting).sum();
                let failed: usize = report.channels.iter().map(|c| c.failed_messages).sum();
                if report.enqueued + delivered + failed > 0 {
                    tracing::info!(enqueued = report.enqueued, delivered, failed, waiting, "Delivery done.");
                }
                state.update(|s| {
                    s.last_delivery = Some(Utc::now());
                    s.last_delivery_error = None;
                    s.delivery_waiting = waiting as u64;
                    for channel in &report.channels {
                        if channel.failed_messages > 0 {
                            *s.delivery_failures.entry(channel.kind.to_owned()).or_default() +=
                                channel.failed_messages as u64;
                        }
                    }
                });
            }
            Err(error) => {
                tracing::warn!(%error, "Delivery could not run; retrying next cycle.");
                state.update(|s| s.last_delivery_error = Some(error.to_string()));
            }
        }
    }

    /// Whether a step that last ran at `last` is due again after `every`.
    fn due(last: Option<Instant>, every: Duration) -> bool {
        last.is_none_or(|at| at.elapsed() >= every)
    }

    /// Compacts past days' partitions when compaction is due.
    pub async fn compact(&mut self, lake: &LakePaths, state: &ServiceState) {
        let Some(every) = self.compact_every else { return };
        if !Self::due(self.last_compaction, every) {
            return;
        }
        self.last_compaction = Some(Instant::now());
        let Some(yesterday) = Utc::now().date_naive().pred_opt() else { return };
        let mut options = CompactOptions::new(lake.clone());
        options.dates = Some(DateRange { from: NaiveDate::MIN, to: yesterday });
        options.target_bytes = self.compact_target_bytes;
        options.max_partitions = Some(self.compact_max_days);
        options.memory_limit = COMPACT_MEMORY;
        options.grace = COMPACT_GRACE;
        match compact(&options).await {
            Ok(summary) => {
                if summary.partitions_compacted > 0 {
                    tracing::info!(
                        partitions = summary.partitions_compacted,
                        files_before = summary.files_before,
                        files_after = summary.files_after,
                        duplicates = summary.duplicates_dropped,
                        seconds = summary.seconds,
                        "Compaction done."
                    );
                }
                state.update(|s| {
                    s.last_compaction = Some(Utc::now());
                    clear_error(s, "compaction:");
                });
            }
            Err(error) => {
                tracing::warn!(%error, "Compaction failed; retrying at its next turn.");
                state.update(|s| s.last_upkeep_error = Some(format!("compaction: {error}")));
            }
        }
    }

    /// Applies the retention rules when retention is due. The caller holds the service's
    /// writer and detector queues.
    pub async fn retain(&mut self, lake: &LakePaths, state: &ServiceState) {
        let Some(rules) = &self.retention else { return };
        if !Self::due(self.last_retention, self.retention_every) {
            return;
        }
        self.last_retention = Some(Instant::now());
        match crate::retention::run(&RetentionOptions::new(lake.clone(), rules.clone())).await {
            Ok(summary) => {
                if !summary.deleted.is_empty() {
                    tracing::info!(
                        partitions = summary.partitions_deleted,
                        rows = summary.rows_deleted,
                        alerts = summary.alerts_deleted,
                        baselines = summary.baselines_deleted,
                        exports = summary.exports_deleted,
                        held = summary.held.len(),
                        "Retention done; what it deleted is in _audit/retention.jsonl."
                    );
                }
                state.update(|s| {
                    s.last_retention = Some(Utc::now());
                    clear_error(s, "retention:");
                });
            }
            Err(error) => {
                tracing::warn!(%error, "Retention failed; retrying at its next turn.");
                state.update(|s| s.last_upkeep_error = Some(format!("retention: {error}")));
            }
        }
    }
}

/// Forgets the last upkeep error if it was this step's.
fn clear_error(status: &mut super::state::IngestStatus, step: &str) {
    if status.last_upkeep_error.as_deref().is_some_and(|e| e.starts_with(step)) {
        status.last_upkeep_error = None;
    }
}
