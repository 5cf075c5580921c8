//! Azure Blob Storage: the `insights-logs-auditevent` container that a vault's diagnostic
//! setting archives to, read incrementally.
//!
//! - `config.rs`: `az://ACCOUNT/CONTAINER[/PREFIX]`, endpoint, credential (SAS or Entra ID).
//! - `credential.rs`: which Entra ID credential the environment offers.
//! - `client.rs`: the container client (listing, range reads, health check, retries).
//! - `layout.rs`: the `y=/m=/d=/h=` hour folders.
//! - `discover.rs`: listing narrowed to the hours that can hold new data, or whole (the
//!   periodic full listing that finds appends later than the grace period).
//! - `state.rs`: the listing marks kept in the lake between runs, and when each location
//!   was last listed whole.
//! - `feed.rs`: concurrent, bounded downloads feeding the (blocking) ingest reader.
//! - `objects.rs`: the same endpoint and credential as an `object_store`, for a lake kept
//!   in Blob Storage (`--lake az://…`).
//!
//! What is read, and how far, is decided by the ingest planner with the lake's checkpoints
//! (`ingest/blobs.rs`); this module only lists and reads.

pub mod client;
pub mod config;
pub mod credential;
pub mod discover;
pub mod feed;
pub mod layout;
pub mod objects;
pub mod state;

pub use client::{BlobStore, ListedBlob, RangeRead};
pub use config::{BlobConfig, BlobLocation, Credential, SasToken};

/// Why Blob Storage could not be listed or read. Messages name the account, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The location, endpoint or credential given is not usable.
    #[error("{0}")]
    Config(String),
    /// A request failed after its retries.
    #[error("storage account {account}, container {container}: {doing}: {reason}")]
    Request { account: String, container: String, doing: String, reason: String },
    /// The listing state in the lake is unreadable, or the download task stopped.
    #[error("blob listing state: {0}")]
    State(String),
}
