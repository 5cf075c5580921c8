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
    ($($name:literal),* $(,)?) => {
        &[$(NamedQuery { name: $name, sql: include_str!(concat!("../../queries/", $name, ".sql")) }),*]
    };
}

/// Every query in `queries/`, by name.
pub const QUERIES: &[NamedQuery] =
    queries!["events_per_vault", "top_identities", "events_per_day", "denied_access", "secret_readers",];

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
