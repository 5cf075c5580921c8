//! kvaudit: Azure Key Vault audit logs into a Parquet lake, and answers out of it.
//!
//! The crate is split along the data flow, and dependencies point one way only:
//! `record` (one source record → one normalized event) ← `source` (where bytes come from)
//! ← `ingest` (bytes → lake, with checkpoints and quarantine) → `lake` (paths, schema,
//! Parquet files) ← `query` (DataFusion over the lake) ← `detect` → `alert` (the alert
//! store) ← `deliver` (alerts to email and webhooks through an outbox). `generate` writes
//! synthetic logs in the archive layout and depends on nothing else here. The binary
//! (`main.rs`, `cli/`) wires the parts together; nothing in the library depends on it.
//! `serve` runs ingest, `detect`, `deliver`, `compact` and `retention` on a schedule behind
//! `api`, the HTTP API, which reads the lake through `alert`, `status`, `export` and `query`.

pub mod alert;
pub mod allocator;
pub mod api;
pub mod compact;
pub mod deliver;
pub mod detect;
pub mod evaluate;
pub mod export;
pub mod generate;
pub mod hash;
pub mod ingest;
pub mod inventory;
pub mod lake;
pub mod query;
pub mod record;
pub mod retention;
pub mod secret_ref;
pub mod serve;
pub mod source;
pub mod status;
