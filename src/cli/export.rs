//! `kvaudit export` and `kvaudit export verify`: one summary line on stdout each.

use anyhow::Result;
use kvaudit::export::{export, verify};
use kvaudit::lake::LakePaths;

use super::config::ExportConfig;

pub fn run(lake: &LakePaths, config: ExportConfig) -> Result<()> {
    match config {
        ExportConfig::Write { scope, out } => {
            let summary = super::runtime()?.block_on(export(lake, &scope, &out))?;
            let m = &summary.manifest;
            let vaults: Vec<String> = m.rows.per_vault.iter().map(|(v, n)| format!("{v} {n}")).collect();
            let gaps: u64 = m.coverage.gaps.iter().map(|g| g.hours).sum();
            println!(
                "exported {} events ({}) from {} to {} into {}: {} access review rows, {} lifecycle findings, \
                 {} hours without events in {} gap(s), {} missing date partition(s); manifest.json sha256 {}",
                m.rows.total,
                if vaults.is_empty() { "no vaults".to_owned() } else { vaults.join(", ") },
                m.scope.from,
                m.scope.to,
                summary.out.display(),
                m.reports.access_review_rows,
                m.reports.lifecycle_findings,
                gaps,
                m.coverage.gaps.len(),
                m.coverage.missing_partitions.len(),
                summary.manifest_sha256,
            );
        }
        ExportConfig::Verify { dir } => {
            let summary = verify(&dir)?;
            println!(
                "{}: verified {} files, {} bytes, {} events; manifest.json sha256 {}",
                dir.display(),
                summary.files,
                summary.bytes,
                summary.rows,
                summary.manifest_sha256,
            );
        }
    }
    Ok(())
}
