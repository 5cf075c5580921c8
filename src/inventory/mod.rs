//! The secret inventory: what the vaults hold, as `az keyvault secret list` (or `show`,
//! `list-versions`, and the `key` and `certificate` equivalents) print it, imported with
//! `kvaudit inventory import`.
//!
//! The logs say who reads a secret; only the vault knows a secret nobody reads, and the
//! expiry and creation dates of its current version. Imports land in
//! `<lake>/inventory/`, one file per import, never rewritten: a secret's expiry can
//! change, and every import keeps what was true when it was taken.
//!
//! Invariant: a secret's value never reaches the lake. `az keyvault secret show` prints
//! it; the importer reads entries into [`Item`], which has no field for it, and counts the
//! values it dropped.

pub mod parse;
pub mod store;
pub mod table;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use store::{ImportReport, Inventory};

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    /// A file is not the JSON the Azure CLI prints.
    #[error("{path}: not an inventory as `az keyvault secret list` prints it: {reason}")]
    Format { path: std::path::PathBuf, reason: String },
    /// A stored import is damaged.
    #[error("{path}, line {line}: not an inventory entry: {source}")]
    Corrupt { path: std::path::PathBuf, line: usize, source: serde_json::Error },
    /// Writing an import atomically failed.
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
}

/// One secret, key or certificate as the vault described it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Lower-case vault name, from the id's host.
    pub vault: String,
    /// `secret`, `key` or `certificate`.
    pub object_type: String,
    /// Lower-case (Key Vault names are case-insensitive).
    pub name: String,
    /// Present when the CLI printed a versioned id (`show`, `list-versions`).
    pub version: Option<String>,
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub updated: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub expires: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::alert::rfc3339::option")]
    pub not_before: Option<DateTime<Utc>>,
    pub enabled: Option<bool>,
    pub content_type: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Certificate-backed secrets and keys: their lifetime is the certificate's.
    #[serde(default)]
    pub managed: bool,
    /// When the import that holds this entry was taken.
    #[serde(with = "crate::alert::rfc3339")]
    pub imported_at: DateTime<Utc>,
    /// The file it was imported from.
    pub source: String,
}

impl Item {
    /// `vault/name`, as commands name a secret.
    pub fn path(&self) -> String {
        format!("{}/{}", self.vault, self.name)
    }
}
