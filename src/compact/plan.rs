//! Which files of a partition a compaction rewrites.
//!
//! A file under half the target size is small. A partition is worth rewriting when it has
//! at least two small files; only those are rewritten, so a day compacted once and then
//! given a few late files costs a rewrite of the late files, not of the whole day. With
//! `full`, every file of a partition with more than one file is rewritten, for one sort
//! and one deduplication across the whole day.

use chrono::NaiveDate;

use super::CompactOptions;
use crate::lake::manifest::{VisibleFile, visible_files};
use crate::lake::{LakePaths, Result};

/// The files of `date` to rewrite, or `None` if the partition is left as it is. Empty
/// files (a killed writer's leftovers never reach the partition, but be safe) are never
/// counted as data.
pub(crate) fn inputs(lake: &LakePaths, date: NaiveDate, options: &CompactOptions) -> Result<Option<Vec<VisibleFile>>> {
    let files = visible_files(lake, date)?;
    Ok(choose(files, options.target_bytes, options.full))
}

fn choose(files: Vec<VisibleFile>, target_bytes: u64, full: bool) -> Option<Vec<VisibleFile>> {
    let chosen: Vec<VisibleFile> =
        if full { files } else { files.into_iter().filter(|f| f.bytes < target_bytes / 2).collect() };
    (chosen.len() >= 2).then_some(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: u64) -> VisibleFile {
        VisibleFile { name: name.into(), bytes }
    }

    #[test]
    fn only_small_files_are_rewritten_and_only_two_or_more() {
        let files = vec![file("big", 100), file("a", 10), file("b", 20)];
        let chosen = choose(files.clone(), 100, false).unwrap();
        assert_eq!(chosen.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(choose(vec![file("big", 100), file("a", 10)], 100, false), None);
        assert_eq!(choose(files, 100, true).unwrap().len(), 3);
        assert_eq!(choose(vec![file("a", 10)], 100, true), None);
    }
}
