//! SQL over the lake: one DataFusion session factory (`session.rs`), the `events` table
//! with time-to-partition pruning (`events_table.rs`), read through a store that follows
//! the partition manifests of compaction (`lake_store.rs`), the named queries kept as files in
//! `queries/` (`registry.rs`), and result formatting (`output.rs`). Queries run in this
//! process or, with the `ballista` feature, on a Ballista cluster (`engine.rs`,
//! `ballista.rs`).
//!
//! This module only reads the lake; it never writes it.

#[cfg(feature = "ballista")]
pub mod ballista;
pub mod engine;
pub mod events_table;
mod filter_while_decoding;
pub mod lake_store;
pub mod output;
pub mod registry;
pub mod session;

pub use engine::Engine;
pub use session::{QuerySession, SessionOptions};

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// DataFusion rejected or failed the query; its message says why.
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Formatting the result failed.
    #[error("formatting the result: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The lake directory could not be prepared for reading.
    #[error("{path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    /// The alert store could not be read.
    #[error(transparent)]
    Alerts(#[from] crate::alert::AlertError),
    /// The imported inventory could not be read.
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    /// The engine asked for is not available in this build.
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    /// `--file` or a query name did not resolve to SQL.
    #[error("no query named {0:?}; `kvaudit query --list` shows the named queries")]
    UnknownQuery(String),
}
