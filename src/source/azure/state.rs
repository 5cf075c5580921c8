//! What listing remembers between runs (`_state/blob-listing.json` in the lake): per
//! `az://` location, per resource folder (one per vault), the newest hour listed.
//!
//! It is only a narrowing: the next run lists that hour's day minus the grace period
//! onward. It is saved after a run's last commit, never before, so a run that dies keeps
//! the older, wider mark and the next run lists everything it might have missed.
//! A resource folder without a mark (a new vault) is listed whole.
//!
//! Per location it also keeps when the last *full* listing (every folder listed whole)
//! began: an append later than the grace period is only found by one, so a run lists the
//! whole prefix again once that is older than `full_listing_every`. A location without one
//! (a lake of an older kvaudit) is due for one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::BlobError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingState {
    /// `az://ACCOUNT/CONTAINER/PREFIX` → resource folder → newest hour seen (`YYYY-MM-DDTHH`).
    pub locations: BTreeMap<String, BTreeMap<String, String>>,
    /// `az://ACCOUNT/CONTAINER/PREFIX` → when its last completed full listing began (RFC 3339).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub full_listings: BTreeMap<String, String>,
}

impl ListingState {
    /// When `location`'s last completed full listing began, if it had one.
    pub fn last_full_listing(&self, location: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let text = self.full_listings.get(location)?;
        chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&chrono::Utc))
    }

    /// Whether `location` is due for a full listing at `now`, listing whole every `every`
    /// (`None`: never by itself).
    pub fn full_listing_due(
        &self,
        location: &str,
        every: Option<std::time::Duration>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        let Some(every) = every else { return false };
        match self.last_full_listing(location) {
            None => true,
            Some(last) => (now - last).to_std().is_ok_and(|age| age >= every),
        }
    }

    pub fn set_full_listing(&mut self, location: &str, began: chrono::DateTime<chrono::Utc>) {
        self.full_listings.insert(location.to_string(), began.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }

    pub fn load(path: &Path) -> Result<Self, BlobError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::from_json(&bytes, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(BlobError::State(format!("{}: {e}", path.display()))),
        }
    }

    /// Parses the marks as stored (`path` names them in errors): from a file, or from a
    /// lake in an object store.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self, BlobError> {
        serde_json::from_slice(bytes).map_err(|e| BlobError::State(format!("{}: {e}", path.display())))
    }

    /// Saves atomically: a temporary file, synced, renamed over the old one.
    pub fn save(&self, path: &Path) -> Result<(), BlobError> {
        use std::io::Write;
        let err = |e: std::io::Error| BlobError::State(format!("{}: {e}", path.display()));
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut file = std::fs::File::create(&tmp).map_err(err)?;
        file.write_all(&serde_json::to_vec_pretty(self).expect("state serializes")).map_err(err)?;
        file.sync_all().map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_listing_is_due_once_the_last_is_older_than_the_interval() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z").unwrap().to_utc();
        let day = Some(std::time::Duration::from_secs(86_400));
        let mut state = ListingState::default();
        // Never listed whole (a lake of an older kvaudit): due, unless sweeps are off.
        assert!(state.full_listing_due("az://a/c/", day, now));
        assert!(!state.full_listing_due("az://a/c/", None, now));
        state.set_full_listing("az://a/c/", now - chrono::TimeDelta::hours(23));
        assert!(!state.full_listing_due("az://a/c/", day, now));
        assert!(state.full_listing_due("az://a/c/", day, now + chrono::TimeDelta::hours(1)));
        assert!(state.full_listing_due("az://a/other/", day, now));
        // The state of an older kvaudit, without the field, still loads.
        let old: ListingState = serde_json::from_str(r#"{"locations":{"az://a/c/":{"F/":"2026-10-01T10"}}}"#).unwrap();
        assert!(old.full_listings.is_empty() && old.locations.len() == 1);
    }
}
