//! `kvaudit serve`: one long-running process per lake that ingests its sources on a
//! schedule, runs detection after each ingest, and serves the HTTP API and dashboard.
//!
//! Shape of a run:
//! 1. take `_state/serve.lock` (a second service on the same lake is refused, naming the
//!    holder's pid), load the persisted service state, bind the listener;
//! 2. serve the API ([`crate::api`]) on its own tasks for the whole run;
//! 3. run a cycle ([`cycle`]) every `interval`: ingest every source, detect, then deliver
//!    alerts, compact past days and apply retention ([`upkeep`]);
//! 4. on SIGTERM or Ctrl-C: stop the cycle at its next checkpoint (ingest commits what it
//!    read so far and stops at the next source; a running detection finishes, one not yet
//!    started is skipped), let in-flight API requests finish, and return.
//!
//! Invariants: the service never holds the lake's writer or detector lock between cycles,
//! so one-off commands (`kvaudit query`, `export`, even `ingest`) still run beside it; a
//! crash at any moment loses nothing, because ingest and detection are each exactly-once on
//! their own (see `lake` and `detect`).

pub mod config;
pub mod cycle;
pub mod state;
pub mod upkeep;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::api::auth::Tokens;
use crate::api::{AppState, router};
use crate::detect::DetectOptions;
use crate::lake::lock::LakeLock;
use crate::lake::{LakeError, LakePaths};
pub use config::{ServeConfig, SourceConfig};
use state::ServiceState;

/// Why the service could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The lake could not be created or locked (another service holds it).
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// The `[delivery]` table cannot be used (a bad setting, a secret that cannot be read).
    #[error(transparent)]
    Delivery(#[from] crate::deliver::DeliveryError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    /// The HTTP server stopped with an error.
    #[error("the HTTP server failed: {0}")]
    Server(std::io::Error),
}

/// How the service runs.
pub struct Service {
    pub lake: LakePaths,
    pub config: ServeConfig,
    /// The `[detect]`, `[lifecycle]` and `[practice]` settings.
    pub detect: DetectOptions,
    /// The `[delivery]` table, if the config has one.
    pub delivery: Option<crate::deliver::DeliveryConfig>,
    /// The `[retention]` limits and legal holds, if the config sets a limit.
    pub retention: Option<crate::retention::RetentionRules>,
}

/// Registers for SIGTERM and Ctrl-C now, and returns a future resolving when one arrives.
/// Registering before anything else happens means a signal sent as soon as the service
/// says it listens is a clean stop, never the default "terminate at once".
fn termination() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

impl Service {
    /// Runs until SIGTERM or Ctrl-C. `listening` is told the bound address once the API
    /// accepts connections (port 0 in the config takes a free port).
    pub async fn run(self, listening: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
        std::fs::create_dir_all(self.lake.root())
            .map_err(|source| LakeError::Io { path: self.lake.root().to_path_buf(), source })?;
        let _service_lock = LakeLock::acquire_service(&self.lake)?;
        // Delivery's secrets are read and its transports built before anything is served:
        // a bad [delivery] table stops the start, not the first alert.
        let delivery = match &self.delivery {
            Some(config) => Some(crate::deliver::Delivery::open(&self.lake, config)?),
            None => None,
        };
        // Signals are caught from here on: a SIGTERM during start-up is a clean stop too.
        let stop = Arc::new(AtomicBool::new(false));
        let (stopped_tx, stopped_rx) = tokio::sync::watch::channel(false);
        {
            let stop = Arc::clone(&stop);
            let signalled = termination();
            tokio::spawn(async move {
                signalled.await;
                tracing::info!("Stop requested; finishing at the next checkpoint.");
                stop.store(true, Ordering::SeqCst);
                let _ = stopped_tx.send(true);
            });
        }

        let service = Arc::new(ServiceState::load(&self.lake));
        if self.config.tokens.is_empty() {
            tracing::warn!("No [[api.token]] in the config: every API call will be refused (401).");
        }
        let app = AppState::new(
            self.lake.clone(),
            Tokens::new(self.config.tokens.clone()),
            self.detect.clone(),
            Arc::clone(&service),
        );
        let listener = tokio::net::TcpListener::bind(self.config.listen)
            .await
            .map_err(|source| ServeError::Bind { addr: self.config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr: self.config.listen, source })?;
        let mut server_stop = stopped_rx.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, router(app))
                .with_graceful_shutdown(async move {
                    let _ = server_stop.wait_for(|stopped| *stopped).await;
                })
                .await
        });
        tracing::info!(%addr, lake = %self.lake.root().display(), sources = self.config.sources.len(), "Serving.");
        listening(addr);

        let upkeep = upkeep::Upkeep::new(delivery, self.retention.clone(), &self.config);
        let cycles =
            cycle::Cycles::new(self.lake.clone(), self.config.clone(), self.detect.clone(), service, stop, upkeep);
        cycles.run_until_stopped(stopped_rx).await;

        // In-flight requests finish; idle connections are closed by the graceful shutdown.
        match tokio::time::timeout(std::time::Duration::from_secs(30), server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return Err(ServeError::Server(e)),
            Ok(Err(join)) => return Err(ServeError::Server(std::io::Error::other(join.to_string()))),
            Err(_) => tracing::warn!("API requests still running 30 s after the stop; leaving them."),
        }
        tracing::info!("Stopped.");
        Ok(())
    }
}
