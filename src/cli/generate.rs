//! `kvaudit generate`.

use anyhow::Result;

use super::config::GenerateConfig;

pub fn run(config: GenerateConfig) -> Result<()> {
    let summary = kvaudit::generate::generate(&config.options)?;
    if config.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "generated {} records in {} files ({:.1} MB) from {} identities and {} vaults ({} team{}) with {} findings in the truth file{} under {}; truth in {}, inventory in {}",
            summary.records,
            summary.files,
            summary.bytes as f64 / 1e6,
            summary.identities,
            summary.vaults,
            summary.teams,
            if summary.teams == 1 { "" } else { "s" },
            summary.incidents,
            if config.options.incidents { "" } else { " (no planted incidents)" },
            config.options.out.display(),
            summary.truth_path.display(),
            summary.inventory_path.display()
        );
    }
    Ok(())
}
