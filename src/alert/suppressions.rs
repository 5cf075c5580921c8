//! Suppressions of single alerts made by a person (through the API), each with a reason and
//! an end: `<lake>/alerts/suppressions.json`, rewritten atomically.
//!
//! The config's `[[detect.suppress]]` rules suppress whole classes of findings when they
//! are raised; these suppress one stored alert from now until `until`. When the end
//! passes, [`Suppressions::expire`] reopens the alert (if it is still suppressed by this
//! entry), so a suppression is never forgotten into a permanent one.
//!
//! Invariant: writers hold the detector lock, like every writer of the alert store.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AlertError, AlertState, AlertStore};
use crate::lake::LakePaths;

/// One alert's suppression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    #[serde(with = "super::rfc3339")]
    pub until: DateTime<Utc>,
    pub reason: String,
    /// Who suppressed it (the API token's name).
    pub by: String,
    #[serde(with = "super::rfc3339")]
    pub at: DateTime<Utc>,
}

impl Suppression {
    /// The alert's `state_reason` while this suppression holds.
    pub fn state_reason(&self) -> String {
        format!("suppressed until {} by {}: {}", self.until.to_rfc3339(), self.by, self.reason)
    }
}

/// Every API suppression of a lake, by alert id.
#[derive(Debug, Default)]
pub struct Suppressions {
    by_alert: BTreeMap<String, Suppression>,
}

impl Suppressions {
    /// Reads the file (none yet: no suppressions).
    pub fn load(lake: &LakePaths) -> Result<Self, AlertError> {
        let path = lake.alert_suppressions_file();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let by_alert = serde_json::from_slice(&bytes).map_err(|source| AlertError::Corrupt {
                    path: path.clone(),
                    line: 1,
                    source,
                })?;
                Ok(Suppressions { by_alert })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Suppressions::default()),
            Err(source) => Err(AlertError::Io { path, source }),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Suppression> {
        self.by_alert.get(id)
    }

    /// Suppresses the alert `id` in `store` and records it here; both must be saved.
    pub fn suppress(&mut self, store: &mut AlertStore, id: &str, suppression: Suppression) -> Result<(), AlertError> {
        store.set_state(id, AlertState::Suppressed, Some(suppression.state_reason()))?;
        self.by_alert.insert(id.to_owned(), suppression);
        Ok(())
    }

    /// Forgets the suppression of `id` (the alert was acknowledged or closed since).
    pub fn forget(&mut self, id: &str) {
        self.by_alert.remove(id);
    }

    /// Reopens the alerts whose suppression ended by `now`. Returns their ids.
    pub fn expire(&mut self, store: &mut AlertStore, now: DateTime<Utc>) -> Vec<String> {
        let ended: Vec<String> =
            self.by_alert.iter().filter(|(_, s)| s.until <= now).map(|(id, _)| id.clone()).collect();
        let mut reopened = Vec::new();
        for id in ended {
            let Some(suppression) = self.by_alert.remove(&id) else { continue };
            // Only an alert still in this suppression's state: a later close stands.
            let still = store.alerts().iter().any(|a| {
                a.id == id
                    && a.state == AlertState::Suppressed
                    && a.state_reason.as_deref() == Some(&suppression.state_reason())
            });
            if still {
                let reason = format!("suppression by {} ended {}", suppression.by, suppression.until.to_rfc3339());
                if store.set_state(&id, AlertState::Open, Some(reason)).is_ok() {
                    reopened.push(id);
                }
            }
        }
        reopened
    }

    /// Writes the file back, atomically.
    pub fn save(&self, lake: &LakePaths) -> Result<(), AlertError> {
        let bytes = serde_json::to_vec_pretty(&self.by_alert).unwrap_or_default();
        crate::lake::write_atomically(&lake.alert_suppressions_file(), &bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::alert::{AlertKind, Severity, testing};

    fn raised(store: &mut AlertStore, identity: &str) -> String {
        let mut alert = testing::alert(AlertKind::NewIp, Severity::Medium, Some("kv-web-prod"));
        alert.identity_oid = Some(identity.into());
        alert.caller_ip = Some("10.0.0.1".into());
        store.raise(alert, testing::t0()).0
    }

    #[test]
    fn a_suppression_ends_by_reopening_the_alert_unless_someone_closed_it() {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakePaths::new(dir.path());
        let mut store = AlertStore::open(&lake).unwrap();
        let (a, b) = (raised(&mut store, "a"), raised(&mut store, "b"));
        let now = Utc::now();
        let mut sup = Suppressions::default();
        for id in [&a, &b] {
            let s =
                Suppression { until: now + Duration::days(1), reason: "known job".into(), by: "root".into(), at: now };
            sup.suppress(&mut store, id, s).unwrap();
        }
        sup.save(&lake).unwrap();
        store.set_state(&b, AlertState::Closed, Some("done".into())).unwrap();

        let mut sup = Suppressions::load(&lake).unwrap();
        assert!(sup.expire(&mut store, now).is_empty(), "nothing ends before its time");
        let reopened = sup.expire(&mut store, now + Duration::days(2));
        assert_eq!(reopened, vec![a.clone()]);
        let state = |id: &str| store.alerts().iter().find(|x| x.id == id).unwrap().state;
        assert_eq!(state(&a), AlertState::Open);
        assert_eq!(state(&b), AlertState::Closed);
        assert!(sup.get(&a).is_none() && sup.get(&b).is_none());
    }
}
