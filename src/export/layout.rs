//! The layout of an export directory, made in one place:
//!
//! ```text
//! <out>/events/<vault>.csv|jsonl|parquet   every event in scope, one file per vault, by time
//! <out>/access_review.csv                  identity × vault × object: calls, reads, failures, first/last access
//! <out>/lifecycle_report.csv               lifecycle findings in scope, with the controls they match
//! <out>/manifest.json                      scope, SQL, counts, coverage, SHA-256 of every other file; written last
//! ```
//!
//! Names are relative to the export's root with `/` separators, as the manifest lists them.

use super::scope::ExportFormat;

pub struct ExportLayout;

impl ExportLayout {
    pub const MANIFEST: &'static str = "manifest.json";
    pub const ACCESS_REVIEW: &'static str = "access_review.csv";
    pub const LIFECYCLE_REPORT: &'static str = "lifecycle_report.csv";

    /// `events/<vault>.<ext>`. Vault names are letters, digits and dashes; anything else
    /// (never seen in a real vault name) becomes `_`, so a name can never leave `events/`.
    pub fn events_file(vault: &str, format: ExportFormat) -> String {
        let safe: String = vault.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        format!("events/{safe}.{}", format.extension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vault_name_cannot_escape_the_events_folder() {
        assert_eq!(ExportLayout::events_file("kv-web-prod", ExportFormat::Csv), "events/kv-web-prod.csv");
        assert_eq!(ExportLayout::events_file("../x", ExportFormat::Jsonl), "events/___x.jsonl");
    }
}
