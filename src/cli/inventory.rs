//! `kvaudit inventory import`: stores what `az keyvault secret list` printed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use kvaudit::lake::LakePaths;

pub fn run(lake: &LakePaths, files: &[PathBuf], json: bool) -> Result<()> {
    let report = kvaudit::inventory::store::import(lake, files, chrono::Utc::now())?;
    if report.values_dropped > 0 {
        tracing::warn!(values = report.values_dropped, "The input held secret values; they were not stored.");
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        writeln!(
            out,
            "imported {} entries from {} files ({} unchanged since an earlier import) for {} vaults: {}{}",
            report.entries,
            report.files,
            report.unchanged,
            report.vaults.len(),
            report.vaults.join(", "),
            if report.values_dropped > 0 {
                format!("; {} secret values in the input were not stored", report.values_dropped)
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}
