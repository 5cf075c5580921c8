//! `kvaudit ingest`.

use anyhow::Result;
use kvaudit::ingest::{IngestOptions, IngestSummary, ingest};
use kvaudit::lake::LakePaths;

use super::config::IngestConfig;

pub fn run(lake: &LakePaths, config: IngestConfig) -> Result<()> {
    let summary = run_quietly(lake, &config)?;
    if config.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{summary}");
    }
    Ok(())
}

/// Runs an ingest and returns its summary without printing it.
pub fn run_quietly(lake: &LakePaths, config: &IngestConfig) -> Result<IngestSummary> {
    let mut options = IngestOptions::new(lake.clone(), config.from.clone());
    options.progress = config.progress;
    options.commit_bytes = config.commit_bytes;
    if let Some(n) = config.workers {
        options.workers = n;
    }
    Ok(ingest(&options)?)
}
