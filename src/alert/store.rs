//! The alert store: `<lake>/alerts/alerts.jsonl`, one alert per line, rewritten atomically.
//!
//! Alerts are few (findings, not events), so the whole file is read, changed and written
//! back; the atomic rename means a reader or a crash sees either the old or the new file.
//! Writers are serialized by the caller (the detector holds `_state/detect.lock`).

use std::io::BufRead;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::id::{new_id, same_finding};
use super::{Alert, AlertError, AlertState, EVIDENCE_SAMPLE};
use crate::lake::LakePaths;

/// What storing a raised alert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// A finding not seen before.
    New,
    /// A finding already stored (same subject, overlapping window): merged into it.
    Merged,
}

/// All alerts of a lake.
#[derive(Debug)]
pub struct AlertStore {
    path: PathBuf,
    alerts: Vec<Alert>,
}

impl AlertStore {
    /// Reads the store (empty if the lake has none yet).
    pub fn open(lake: &LakePaths) -> Result<Self, AlertError> {
        let path = lake.alerts_file();
        let mut alerts = Vec::new();
        match std::fs::File::open(&path) {
            Ok(file) => {
                for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
                    let line = line.map_err(|source| AlertError::Io { path: path.clone(), source })?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    let alert = serde_json::from_str(&line).map_err(|source| AlertError::Corrupt {
                        path: path.clone(),
                        line: n + 1,
                        source,
                    })?;
                    alerts.push(alert);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(AlertError::Io { path, source }),
        }
        Ok(AlertStore { path, alerts })
    }

    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// Stores a raised alert: merged into the same finding if one is stored, else added
    /// with a new id. Returns the stored alert's id and what happened.
    pub fn raise(&mut self, mut alert: Alert, now: DateTime<Utc>) -> (String, Stored) {
        if let Some(existing) = self.alerts.iter_mut().find(|a| same_finding(a, &alert)) {
            existing.window_start = existing.window_start.min(alert.window_start);
            existing.window_end = existing.window_end.max(alert.window_end);
            existing.severity = existing.severity.max(alert.severity);
            existing.observed = alert.observed;
            existing.baseline = alert.baseline;
            existing.score = alert.score;
            existing.explanation = alert.explanation;
            for e in alert.evidence {
                if existing.evidence.len() < EVIDENCE_SAMPLE && !existing.evidence.contains(&e) {
                    existing.evidence.push(e);
                }
            }
            existing.evidence.sort_by(|a, b| a.time.cmp(&b.time));
            // Fill in what an earlier raise did not know; never change who or where.
            for (slot, value) in [
                (&mut existing.identity_appid, alert.identity_appid),
                (&mut existing.identity_upn, alert.identity_upn),
                (&mut existing.caller_ip, alert.caller_ip),
            ] {
                if slot.is_none() {
                    *slot = value;
                }
            }
            // A suppression rule added since the first raise applies to an alert nobody has
            // acted on yet; an analyst's acknowledgement or closing stands.
            if existing.state == AlertState::Open && alert.state == AlertState::Suppressed {
                existing.state = alert.state;
                existing.state_reason = alert.state_reason;
            }
            existing.last_raised = now;
            return (existing.id.clone(), Stored::Merged);
        }
        alert.id = new_id(&alert);
        alert.first_raised = now;
        alert.last_raised = now;
        let id = alert.id.clone();
        self.alerts.push(alert);
        (id, Stored::New)
    }

    /// Changes an alert's state (acknowledge, close, reopen), with a reason.
    pub fn set_state(&mut self, id: &str, state: AlertState, reason: Option<String>) -> Result<&Alert, AlertError> {
        let alert = self.alerts.iter_mut().find(|a| a.id == id).ok_or_else(|| AlertError::NotFound(id.to_owned()))?;
        alert.state = state;
        alert.state_reason = reason;
        Ok(alert)
    }

    /// Takes out every alert `drop` selects (retention), returning them; `save` makes it
    /// durable.
    pub fn remove_where(&mut self, mut drop: impl FnMut(&Alert) -> bool) -> Vec<Alert> {
        let (removed, kept) = std::mem::take(&mut self.alerts).into_iter().partition(|a| drop(a));
        self.alerts = kept;
        removed
    }

    /// Writes the store back, atomically.
    pub fn save(&mut self) -> Result<(), AlertError> {
        self.alerts.sort_by(|a, b| (a.window_start, &a.id).cmp(&(b.window_start, &b.id)));
        let mut text = String::new();
        for alert in &self.alerts {
            // Serializing plain data with string keys cannot fail.
            text.push_str(&serde_json::to_string(alert).unwrap_or_default());
            text.push('\n');
        }
        crate::lake::write_atomically(&self.path, text.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::alert::{AlertKind, Severity, testing};

    fn alert(kind: AlertKind, identity: &str, start_min: i64, len_min: i64) -> Alert {
        let mut alert = testing::alert(kind, Severity::Medium, Some("kv-web-prod"));
        alert.identity_oid = Some(identity.into());
        alert.window_start = testing::t0() + Duration::minutes(start_min);
        alert.window_end = testing::t0() + Duration::minutes(start_min + len_min);
        alert
    }

    fn store() -> (tempfile::TempDir, AlertStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = AlertStore::open(&LakePaths::new(dir.path())).unwrap();
        (dir, store)
    }

    #[test]
    fn the_same_finding_raised_again_keeps_its_id_and_grows_its_window() {
        let (_dir, mut store) = store();
        let now = Utc::now();
        let (id, first) = store.raise(alert(AlertKind::VolumeSpike, "a", 0, 60), now);
        // An overlapping window (a rerun), then an adjacent one (the next hour's run).
        let (again, second) = store.raise(alert(AlertKind::VolumeSpike, "a", 30, 60), now);
        let (later, third) = store.raise(alert(AlertKind::VolumeSpike, "a", 90, 60), now);
        assert_eq!((first, second, third), (Stored::New, Stored::Merged, Stored::Merged));
        assert_eq!(id, again);
        assert_eq!(id, later);
        assert_eq!(store.alerts().len(), 1);
        let stored = &store.alerts()[0];
        assert_eq!(stored.window_end - stored.window_start, Duration::minutes(150));
    }

    #[test]
    fn other_subjects_kinds_and_distant_windows_are_new_findings() {
        let (_dir, mut store) = store();
        let now = Utc::now();
        let (a, _) = store.raise(alert(AlertKind::VolumeSpike, "a", 0, 60), now);
        let (b, _) = store.raise(alert(AlertKind::VolumeSpike, "b", 0, 60), now);
        let (c, _) = store.raise(alert(AlertKind::MassRetrieval, "a", 0, 60), now);
        let (d, _) = store.raise(alert(AlertKind::VolumeSpike, "a", 24 * 60, 60), now);
        let ids = [a, b, c, d];
        for (i, x) in ids.iter().enumerate() {
            assert_eq!(ids.iter().filter(|y| *y == x).count(), 1, "id {i} repeats");
        }
    }

    #[test]
    fn ids_survive_a_fresh_store_and_states_survive_saving() {
        let (dir, mut store) = store();
        let now = Utc::now();
        let (id, _) = store.raise(alert(AlertKind::NewIp, "a", 0, 10), now);
        store.set_state(&id, AlertState::Acknowledged, Some("on it".into())).unwrap();
        store.save().unwrap();
        let mut reopened = AlertStore::open(&LakePaths::new(dir.path())).unwrap();
        assert_eq!(reopened.alerts()[0].state, AlertState::Acknowledged);
        // Raised again, suppressed by a new rule: an acknowledged alert stays acknowledged.
        let mut again = alert(AlertKind::NewIp, "a", 5, 10);
        again.state = AlertState::Suppressed;
        let (same, _) = reopened.raise(again, now);
        assert_eq!(same, id);
        assert_eq!(reopened.alerts()[0].state, AlertState::Acknowledged);
        // A store that never saw it gives the same finding the same id.
        let (_other, mut fresh) = super::tests::store();
        assert_eq!(fresh.raise(alert(AlertKind::NewIp, "a", 0, 10), now).0, id);
        assert!(matches!(reopened.set_state("nope", AlertState::Closed, None), Err(AlertError::NotFound(_))));
    }
}
