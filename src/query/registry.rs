//! The named queries: every `queries/*.sql` file, compiled into the binary through one
//! list, so `kvaudit query --file queries/NAME.sql` works from any directory and a test can
//! run each of them over a small lake.
//!
//! Invariant: the list below and the directory agree; a test fails if a `.sql` file is
//! missing from it.

/// A query kept as a file.
#[derive(Debug, Clone, Copy)]
pub struct NamedQuery {
    /// The file stem: `queries/<name>.sql`.
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! queries {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(NamedQuery { name: $name, sql: include_str!(concat!("../../queries/", $dir, $name, ".sql")) }),*]
    };
}

/// Every query in `queries/`, by name.
pub const QUERIES: &[NamedQuery] =
    queries!["": "events_per_vault", "top_identities", "events_per_day", "denied_access", "secret_readers",];

/// The detector's queries, `queries/detect/*.sql`. They read the relations the detector
/// binds for a run (`scope`: the caller events of a time range; `records`: every record of
/// it, for `secret_in_log`; `history`: the activity
/// rollup of the history window), not `events` directly, so they run through
/// `detect::relations` rather than `kvaudit query`.
pub const DETECTOR_QUERIES: &[NamedQuery] = queries!["detect/":
    "activity",
    "baseline_hourly",
    "baseline_identities",
    "baseline_addresses",
    "baseline_active_hours",
    "baseline_operations",
    "baseline_objects",
    "window_calls",
    "sentinel_mass_secret_retrieval",
    "sentinel_sensitive_operations",
    "secret_in_log",
];

/// The lifecycle queries, `queries/lifecycle/*.sql`: the per-secret access index
/// (`object_access`, built per event date from `records`) and what `secret-status`,
/// `secrets` and the lifecycle findings read from it (the relation `access`, bound by
/// `detect::relations::bind_access`); `object_events` and `object_summary` fold its old
/// days (`detect::lifecycle::summary`, which also binds their `dating_operations` and
/// `boundaries`).
pub const LIFECYCLE_QUERIES: &[NamedQuery] = queries!["lifecycle/":
    "object_access",
    "object_events",
    "object_history",
    "object_summary",
    "vault_coverage",
    "vault_operations",
];

/// The compliance export's queries, `queries/export/*.sql`. They read `export_scope` (the
/// events of the export's time range, vault and identity) and `coverage_scope` (the same
/// without the identity filter), which `export::scope` binds for a run.
pub const EXPORT_QUERIES: &[NamedQuery] = queries!["export/": "events", "access_review", "coverage_hours",];

/// The SQL of `queries/<dir><name>.sql` in `list`; a missing one is a bug caught by the
/// registry tests.
fn lookup(list: &'static [NamedQuery], dir: &str, name: &str) -> &'static str {
    list.iter().find(|q| q.name == name).map(|q| q.sql).unwrap_or_else(|| panic!("no query {dir}{name}.sql"))
}

/// The detector query of that name.
pub fn detector_query(name: &str) -> &'static str {
    lookup(DETECTOR_QUERIES, "detect/", name)
}

/// The lifecycle query of that name.
pub fn lifecycle_query(name: &str) -> &'static str {
    lookup(LIFECYCLE_QUERIES, "lifecycle/", name)
}

/// The export query of that name.
pub fn export_query(name: &str) -> &'static str {
    lookup(EXPORT_QUERIES, "export/", name)
}

/// The query of that name (`events_per_vault`, or `queries/events_per_vault.sql`).
pub fn find(name_or_path: &str) -> Option<&'static NamedQuery> {
    let stem = std::path::Path::new(name_or_path).file_stem()?.to_str()?;
    QUERIES.iter().find(|q| q.name == stem)
}

/// The text a query file starts with, up to its first line of SQL: its description.
pub fn description(query: &NamedQuery) -> String {
    query
        .sql
        .lines()
        .take_while(|l| l.starts_with("--"))
        .map(|l| l.trim_start_matches('-').trim())
        .collect::<Vec<_>>()
        .join(" ")
}
