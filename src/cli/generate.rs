//! `kvaudit generate`.

use anyhow::Result;

use super::config::GenerateConfig;

pub fn run(config: GenerateConfig) -> Result<()> {
    let summary = kvaudit::generate::generate(&config.options)?;
    if config.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "generated {} records in {} files ({:.1} MB) with {} planted incidents under {}; truth in {}, inventory in {}",
            summary.records,
            summary.files,
            summary.bytes as f64 / 1e6,
            summary.incidents,
            config.options.out.display(),
            summary.truth_path.display(),
            summary.inventory_path.display()
        );
    }
    Ok(())
}
