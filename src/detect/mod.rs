//! The detector: baselines learned from the lake's history, scored against a detection
//! window, and alerts that explain themselves.
//!
//! A run over `[from, to)`:
//! 1. takes `_state/detect.lock` (one detection at a time; ingest may go on);
//! 2. brings the materialized activity rollups of the history days up to date
//!    ([`rollup`]), so history is read as small hourly summaries, never as raw events;
//! 3. binds `history` to the `history_days` before `from` and loads the baselines from
//!    `queries/detect/baseline_*.sql` ([`profile`]);
//! 4. loads the window's caller events ([`calls`]) and runs each kind's detector
//!    ([`kinds`]), and reports the credentials redacted from the window's records
//!    (`secret_in_log`);
//! 5. evaluates secret lifecycle as of `to` ([`lifecycle`]) from the object access index
//!    and the newest inventory import;
//!    and checks the practice ([`practice`]: shared secrets, environment crossover, role
//!    mixing) over the history window;
//! 6. marks alerts matching a suppression rule as suppressed (recorded, never dropped),
//!    stores them (a finding raised again keeps its id), and remembers `to` as where the
//!    next run starts.
//!
//! Service records (`*EventGridNotification`) are not caller activity, and calls by the
//! allow-listed first-party callers ([`policy::FIRST_PARTY_ALLOW`]) are left out of both
//! baselines and detection.

pub mod calls;
pub mod columns;
mod finding;
pub mod kinds;
pub mod lifecycle;
pub mod policy;
pub mod practice;
pub mod profile;
pub mod relations;
pub mod rollup;
pub mod stats;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::store::Stored;
use crate::alert::{Alert, AlertError, AlertKind, AlertState, AlertStore};
use crate::lake::LakePaths;
use crate::lake::lock::LakeLock;
use crate::query::{QuerySession, SessionOptions};

pub use policy::Policy;

/// Why a detection run failed.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A query over the lake failed.
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Opening the query session failed.
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    /// Reading a query result failed.
    #[error("reading a query result: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A query result lacks a column the detector reads (a query file and the code disagree).
    #[error("a detector query returned no column {0:?}")]
    MissingColumn(String),
    /// The lake could not be locked or written.
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    /// The alert store could not be read or written.
    #[error(transparent)]
    Alerts(#[from] AlertError),
    /// A baseline file could not be written.
    #[error("{path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    /// A baseline file could not be encoded.
    #[error("writing {path}: {source}")]
    Parquet { path: std::path::PathBuf, source: parquet::errors::ParquetError },
    /// A time fell outside what the calendar code handles.
    #[error("a time is out of range")]
    BadTime,
    /// The lake has no events to detect on.
    #[error("the lake {0} holds no events yet; run `kvaudit ingest` first")]
    NoEvents(std::path::PathBuf),
    /// The imported inventory could not be read.
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    /// `from` is not before `to`.
    #[error("the detection window is empty: --from {from} is not before --to {to}")]
    EmptyWindow { from: DateTime<Utc>, to: DateTime<Utc> },
}

/// What a run detects over.
#[derive(Debug, Clone, Default)]
pub struct DetectOptions {
    /// Start of the window; default: where the last run ended, or 24 hours before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End of the window; default: just after the newest event.
    pub to: Option<DateTime<Utc>>,
    pub policy: Policy,
    /// Thresholds of the lifecycle findings.
    pub lifecycle: lifecycle::LifecyclePolicy,
    /// Settings of the practice findings.
    pub practice: practice::PracticePolicy,
    /// Where the queries run. On a Ballista cluster, those reading the lake (rollups of
    /// events, the window, records) run there; those reading the collected rollups in
    /// memory (`history`, `access`) run here (see `query::ballista`).
    pub engine: crate::query::Engine,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct DetectReport {
    #[serde(with = "crate::alert::rfc3339")]
    pub from: DateTime<Utc>,
    #[serde(with = "crate::alert::rfc3339")]
    pub to: DateTime<Utc>,
    #[serde(with = "crate::alert::rfc3339")]
    pub history_start: DateTime<Utc>,
    /// Activity rollups (days) built or rebuilt.
    pub rollups_built: usize,
    /// Caller events scored.
    pub calls: usize,
    /// Alerts raised by this run, as stored (ids, merged windows, states).
    pub alerts: Vec<Alert>,
    pub new: usize,
    pub merged: usize,
    pub suppressed: usize,
}

/// `_state/detector.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct DetectorState {
    #[serde(default, with = "crate::alert::rfc3339::option")]
    last_to: Option<DateTime<Utc>>,
}

/// Runs detection over the lake.
pub async fn detect(lake: &LakePaths, options: &DetectOptions) -> Result<DetectReport, DetectError> {
    let started = std::time::Instant::now();
    let _lock = LakeLock::acquire_detector(lake)?;
    let session = QuerySession::open(&SessionOptions::new(lake.clone()).with_engine(options.engine.clone())).await?;
    let state_path = lake.detector_state_file();
    let state: DetectorState =
        std::fs::read(&state_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();

    let to = match options.to {
        Some(to) => to,
        None => {
            newest_event(&session, lake).await?.ok_or_else(|| DetectError::NoEvents(lake.root().to_path_buf()))?
                + Duration::microseconds(1)
        }
    };
    let from = options.from.or(state.last_to.filter(|t| *t < to)).unwrap_or(to - Duration::hours(24));
    if from >= to {
        return Err(DetectError::EmptyWindow { from, to });
    }
    let policy = &options.policy;
    let history_start = from - Duration::days(i64::from(policy.history_days));

    let rollups_built =
        rollup::refresh(&session, lake, rollup::Rollup::Activity, history_start.date_naive(), from.date_naive())
            .await?;
    let allow = policy.allow_rules();
    let t0 = std::time::Instant::now();
    relations::bind_history(&session, lake, history_start, from, &allow).await?;
    let t1 = std::time::Instant::now();
    let profiles = profile::Profiles::load(&session, history_start.timestamp_micros(), from.timestamp_micros()).await?;
    let t2 = std::time::Instant::now();
    relations::bind_scope(&session, from, to, Some(&allow)).await?;
    let calls = calls::load(&session).await?;
    tracing::debug!(
        open_and_refresh_ms = (t0 - started).as_millis(),
        history_ms = (t1 - t0).as_millis(),
        baselines_ms = (t2 - t1).as_millis(),
        window_ms = t2.elapsed().as_millis(),
        "Loaded history, baselines and window."
    );
    tracing::info!(%from, %to, calls = calls.len(), identities = profiles.identities.len(), rollups_built, "Scoring the detection window.");

    let cx = kinds::Context { profiles: &profiles, policy, from: from.timestamp_micros(), to: to.timestamp_micros() };
    let mut raised = kinds::detect_all(&cx, &calls);
    // Credentials redacted at ingest, in every record of the window (service records too).
    relations::bind_records(&session, from, to).await?;
    raised.extend(kinds::secret_in_log::detect(&session).await?);

    let unusual_done = std::time::Instant::now();
    let inventory = crate::inventory::Inventory::load(lake)?;
    let horizon = lifecycle::summary::Horizon::new(policy.history_days, &options.lifecycle);
    let catalog = lifecycle::catalog::Catalog::load(&session, lake, &inventory, to, None, Some(horizon)).await?;
    let catalog_done = std::time::Instant::now();
    raised.extend(lifecycle::find(&catalog, &options.lifecycle));
    raised.extend(practice::find(&catalog, &options.practice, policy.history_days));
    tracing::debug!(
        catalog_ms = (catalog_done - unusual_done).as_millis(),
        findings_ms = catalog_done.elapsed().as_millis(),
        "Checked the secrets' lifecycle and practice."
    );
    tracing::debug!(
        unusual_access_ms = (unusual_done - started).as_millis(),
        lifecycle_and_practice_ms = unusual_done.elapsed().as_millis(),
        objects = catalog.objects.len(),
        "Evaluated the window."
    );

    let now = Utc::now();
    let mut store = AlertStore::open(lake)?;
    let (mut new, mut merged, mut suppressed) = (0, 0, 0);
    let mut ids = Vec::new();
    for mut alert in raised {
        if let Some(rule) = policy.suppression(&alert, now) {
            alert.state = AlertState::Suppressed;
            alert.state_reason = Some(format!("suppressed until {}: {}", rule.expires, rule.reason));
            suppressed += 1;
        }
        let (id, stored) = store.raise(alert, now);
        match stored {
            Stored::New => new += 1,
            Stored::Merged => merged += 1,
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    store.save()?;
    let bytes = serde_json::to_vec_pretty(&DetectorState { last_to: Some(to) }).unwrap_or_default();
    crate::lake::write_atomically(&state_path, &bytes)?;

    let mut alerts: Vec<Alert> = store.alerts().iter().filter(|a| ids.contains(&a.id)).cloned().collect();
    alerts.sort_by_key(|a| (a.window_start, a.kind));
    Ok(DetectReport { from, to, history_start, rollups_built, calls: calls.len(), alerts, new, merged, suppressed })
}

/// The time of the newest event, if any.
async fn newest_event(session: &QuerySession, lake: &LakePaths) -> Result<Option<DateTime<Utc>>, DetectError> {
    // The newest partition holds the newest event; asking only it matters because planning
    // a scan reads the Parquet footer and statistics of every file it covers. Over the
    // whole lake that was the largest allocation of a service's cycle, growing with every
    // file ingested (heaptrack, soak test). The whole lake is asked only if that partition
    // shows no row (nothing visible in it yet).
    let newest_partition =
        lake.newest_event_date().map(|d| format!(" WHERE date = '{}'", d.format("%Y-%m-%d"))).unwrap_or_default();
    for filter in [newest_partition, String::new()] {
        let sql = format!("SELECT max(time) AS newest FROM events{filter}");
        for batch in &session.context().sql(&sql).await?.collect().await? {
            if let Some(Some(t)) = columns::micros(batch, "newest")?.first() {
                return Ok(DateTime::from_timestamp_micros(*t));
            }
        }
        if filter.is_empty() {
            break;
        }
    }
    Ok(None)
}

/// Whether `kind` is one the unusual-access detector raises.
pub fn is_unusual_access(kind: AlertKind) -> bool {
    AlertKind::UNUSUAL_ACCESS.contains(&kind)
}
