//! Finding the blobs that can hold new data, without listing the whole history.
//!
//! 1. Walk the folders under the location's prefix one level at a time (a listing with
//!    delimiter `/`) down to the *resource folders*, those whose children are `y=`
//!    folders. This costs a request per folder of the `resourceId=` tree above the hours,
//!    whatever the length of the history, and finds new subscriptions and vaults as soon
//!    as they have a blob.
//! 2. List each resource folder: whole when it is new (its backlog) or when the run asks
//!    for a full listing (the periodic sweep that finds appends later than the grace
//!    period), otherwise only the day folders from its mark minus the grace period through
//!    today, keeping blobs of the hours from that point on.
//!
//! Blobs outside the hourly layout met on the way are always returned (they are few, and
//! their checkpoints tell whether they grew).

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, TimeDelta};
use futures::StreamExt;

use super::BlobError;
use super::client::{BlobStore, ListedBlob};
use super::layout::{blob_hour, day_prefixes, hour_text, is_year_folder, parent_folder, parse_hour_text};

/// Folder levels walked at most: the `resourceId=` tree is ten deep.
const MAX_DEPTH: usize = 24;

/// What a listing found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// In hour order, then name order.
    pub blobs: Vec<ListedBlob>,
    /// Resource folder → newest hour seen, to save once the run has committed.
    pub marks: BTreeMap<String, String>,
    /// Resource folders found, and how many of them were new.
    pub folders: usize,
    pub new_folders: usize,
    /// Listing requests made (folder levels and hour listings).
    pub requests: usize,
    /// Every resource folder was listed whole: nothing under the prefix was left out.
    pub full: bool,
}

/// Lists what can hold new data under `prefix`, given the marks of the last run; with
/// `full`, lists every blob under it.
pub async fn discover(
    store: &BlobStore,
    prefix: &str,
    marks: &BTreeMap<String, String>,
    now: NaiveDateTime,
    full: bool,
) -> Result<Discovery, BlobError> {
    let mut found = Discovery::default();
    let mut roots = std::collections::BTreeSet::new();
    let mut level_prefixes = vec![prefix.to_string()];
    for _ in 0..MAX_DEPTH {
        if level_prefixes.is_empty() {
            break;
        }
        let levels: Vec<_> =
            futures::stream::iter(level_prefixes.drain(..).map(|p| async move { store.list_level(&p).await }))
                .buffered(store.config().concurrency.max(1))
                .collect()
                .await;
        for level in levels {
            let level = level?;
            found.requests += 1;
            found.blobs.extend(level.blobs);
            for folder in level.folders {
                if is_year_folder(&folder) {
                    roots.insert(parent_folder(&folder).to_string());
                } else {
                    level_prefixes.push(folder);
                }
            }
        }
    }
    found.folders = roots.len();
    let grace = TimeDelta::hours(i64::from(store.config().grace_hours));
    let mut listings = Vec::new();
    let mut whole = 0;
    for root in &roots {
        let mark = marks.get(root).and_then(|m| parse_hour_text(m));
        if mark.is_none() {
            found.new_folders += 1;
        }
        match mark.filter(|_| !full) {
            None => {
                whole += 1;
                listings.push((root.clone(), root.clone(), None));
            }
            Some(mark) => {
                let from = mark - grace;
                let to = now.max(mark) + TimeDelta::days(1);
                for day in day_prefixes(root, from, to) {
                    listings.push((root.clone(), day, Some(from)));
                }
            }
        }
    }
    let results: Vec<_> = futures::stream::iter(
        listings
            .into_iter()
            .map(|(root, p, from)| async move { store.list_flat(&p).await.map(|blobs| (root, blobs, from)) }),
    )
    .buffered(store.config().concurrency.max(1))
    .collect()
    .await;
    for result in results {
        let (root, blobs, from) = result?;
        found.requests += 1;
        for blob in blobs {
            let hour = blob_hour(&blob.name);
            if let (Some(from), Some(hour)) = (from, hour)
                && hour < from
            {
                continue;
            }
            if let Some(hour) = hour {
                let mark = found.marks.entry(root.clone()).or_default();
                let text = hour_text(hour);
                if *mark < text {
                    *mark = text;
                }
            }
            found.blobs.push(blob);
        }
    }
    // Folders listed but empty in the window keep their old mark.
    for root in roots {
        if let Some(old) = marks.get(&root) {
            let mark = found.marks.entry(root).or_default();
            if *mark < *old {
                *mark = old.clone();
            }
        }
    }
    found.full = whole == found.folders;
    found.blobs.sort_by_cached_key(|b| (blob_hour(&b.name), b.name.clone()));
    found.blobs.dedup_by(|a, b| a.name == b.name);
    Ok(found)
}
