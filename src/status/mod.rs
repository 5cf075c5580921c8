//! Answers about secrets, for the people who own them: `secret-status` (is this secret
//! still used, by whom, which version?) and `secrets` (every secret's state).
//!
//! Both read the lifecycle [`Catalog`] (the per-secret access index plus the newest
//! inventory import), never raw events, so they answer in well under a second on a lake
//! of months. They are as of the end of the newest event date in the lake: a day's index
//! is materialized once and rebuilt only when that day's events change.

pub mod list;
pub mod rotation;
pub mod secret;

use chrono::{DateTime, NaiveDate, Utc};

use crate::detect::DetectError;
use crate::detect::lifecycle::catalog::Catalog;
use crate::inventory::Inventory;
use crate::lake::LakePaths;
use crate::query::{QuerySession, SessionOptions};

pub use list::{SecretRow, SecretState, list};
pub use secret::{SecretStatus, Verdict, status};

/// Why a status could not be given.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// Reading the lake failed.
    #[error(transparent)]
    Detect(#[from] DetectError),
    /// Opening the query session failed.
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    /// The inventory could not be read.
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    /// Neither the logs nor the inventory know the secret.
    #[error("unknown secret {0}: the lake has no record of it and no imported inventory lists it")]
    Unknown(String),
}

/// The end of the newest event date in the lake (midnight after it), or now when the
/// lake is empty.
pub fn lake_as_of(lake: &LakePaths) -> DateTime<Utc> {
    let newest = std::fs::read_dir(lake.events_dir())
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            NaiveDate::parse_from_str(name.strip_prefix("date=")?, "%Y-%m-%d").ok()
        })
        .max();
    newest.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()).unwrap_or_else(Utc::now)
}

/// Opens a session and loads the catalog as of `as_of` (one object when `only` is given).
pub async fn load_catalog(
    lake: &LakePaths,
    as_of: DateTime<Utc>,
    only: Option<(&str, &str)>,
) -> Result<Catalog, StatusError> {
    let session = QuerySession::open(&SessionOptions::new(lake.clone())).await?;
    let inventory = Inventory::load(lake)?;
    Ok(Catalog::load(&session, lake, &inventory, as_of, only, None).await?)
}
