//! `kvaudit compact`: one compaction run, its summary as a line or one JSON object.

use anyhow::Result;
use kvaudit::compact::{CompactOptions, compact};

pub fn run(options: &CompactOptions, json: bool) -> Result<()> {
    let summary = super::runtime()?.block_on(compact(options))?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{summary}");
    }
    Ok(())
}
