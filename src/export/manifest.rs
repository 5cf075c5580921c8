//! `manifest.json`: what an export claims, and the SHA-256 of every file it wrote.
//!
//! It records the kvaudit version, when the export was made, the scope, the exact SQL run
//! (the two scope views with their literals, and each query file with its parameters), the
//! rows per vault and in total, the lake's coverage of the period with its gaps named, the
//! report sizes, and one entry per file (path, bytes, SHA-256, rows). `export verify`
//! checks a directory against it.
//!
//! Invariant: the manifest is written last, after every file it lists is complete and
//! synced, and it never lists itself.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::coverage::Coverage;

/// Bumped when a field changes meaning.
pub const MANIFEST_VERSION: u32 = 1;

/// One file of the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the export's root, `/`-separated.
    pub path: String,
    pub bytes: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// Data rows (CSV rows after the header, JSONL lines, Parquet rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// One SQL statement run, with the parameters it ran with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SqlRun {
    /// `export_scope`, `coverage_scope`, or the query file (`queries/export/events.sql`).
    pub name: String,
    pub sql: String,
    /// Parameter name → the values it was run with, once per value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Vec<String>>,
}

/// The manifest's scope: as given, normalized.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScopeRecord {
    pub from: String,
    pub to: String,
    pub vault: Option<String>,
    pub identity: Option<String>,
    pub format: String,
}

/// Rows exported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowCounts {
    pub total: u64,
    pub per_vault: BTreeMap<String, u64>,
    /// JSONL only: records whose line breaks were replaced by spaces (see `writers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonl_newlines_replaced: Option<u64>,
}

/// The reports beside the events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reports {
    pub access_review_rows: u64,
    pub lifecycle_findings: u64,
    /// The alert store the lifecycle findings were read from.
    pub lifecycle_source: String,
    /// The alert kinds counted as lifecycle findings.
    pub lifecycle_kinds: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub manifest_version: u32,
    pub kvaudit_version: String,
    pub created: String,
    /// The lake exported from.
    pub lake: String,
    pub scope: ScopeRecord,
    pub sql: Vec<SqlRun>,
    pub rows: RowCounts,
    pub coverage: Coverage,
    pub reports: Reports,
    pub files: Vec<FileEntry>,
}

/// RFC 3339, UTC, microseconds.
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
