//! `kvaudit retention`: one retention run (or a dry run), what it deleted and kept.

use anyhow::Result;
use kvaudit::retention::{RetentionOptions, run as apply};

pub fn run(options: &RetentionOptions, json: bool) -> Result<()> {
    let summary = super::runtime()?.block_on(apply(options))?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{summary}");
    }
    Ok(())
}
