//! The writer lease of a lake in an object store: `_state/lake.lock`, an object naming its
//! holder and until when it holds the lake, taken and renewed only by conditional puts.
//!
//! An object store has no lock that dies with its process, so the lease expires: a holder
//! renews it before every commit (`commit.rs`), and a writer that finds an expired lease
//! may take it over. Each lease names the work directory it was taken from (its random
//! instance id): a writer whose own work directory holds a lease is the next run of a
//! process that died (it holds that directory's OS file lock, so no other process of it is
//! alive) and takes the lease at once instead of waiting for it to expire.
//!
//! The lease keeps two ingests from doing the same work; it is not what makes commits
//! safe. A writer that stalls past its lease and commits anyway is refused by the state
//! object's conditional put (`state.rs`) once anyone else has committed.

use chrono::{DateTime, Utc};
use object_store::{PutMode, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::{RemoteError, RemoteLake};

/// How long a lease holds without renewal.
pub const LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// The lease object's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// The instance id of the holder's work directory.
    pub holder: String,
    /// Host name and process id, to tell a waiting user who holds it.
    pub process: String,
    /// RFC 3339: the lease is free after this.
    pub expires_at: String,
}

impl LeaseRecord {
    fn expires(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.expires_at).ok().map(|t| t.with_timezone(&Utc))
    }
}

/// What a writer may do with the lease it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Take,
    /// Someone else holds it, until then.
    Wait {
        holder: String,
        until: String,
    },
}

/// Whether `me` may take the lease `found` at `now`: if there is none, if it is expired
/// (or unreadable: a lease nobody can renew holds nothing), or if it is `me`'s own.
pub fn decide(found: Option<&LeaseRecord>, me: &str, now: DateTime<Utc>) -> Decision {
    match found {
        None => Decision::Take,
        Some(lease) if lease.holder == me => Decision::Take,
        Some(lease) => match lease.expires() {
            Some(until) if until > now => {
                Decision::Wait { holder: lease.process.clone(), until: lease.expires_at.clone() }
            }
            _ => Decision::Take,
        },
    }
}

/// A lease this process holds.
#[derive(Debug)]
pub struct Lease {
    record: LeaseRecord,
    version: UpdateVersion,
}

fn record(me: &str, until: DateTime<Utc>) -> LeaseRecord {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    LeaseRecord {
        holder: me.to_string(),
        process: format!("pid {} on {}", std::process::id(), host.trim()),
        expires_at: until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

fn expiry(from: DateTime<Utc>) -> DateTime<Utc> {
    from + chrono::TimeDelta::from_std(LEASE_TTL).expect("the lease TTL fits")
}

impl Lease {
    /// Takes the lease for the work directory `me`, or says who holds it.
    pub async fn acquire(lake: &RemoteLake, me: &str) -> Result<Lease, RemoteError> {
        let key = lake.key(&RemoteLake::layout().lock_file());
        // A race with another writer taking the lease at the same moment loses the put;
        // looking again then shows who won.
        for _ in 0..3 {
            let found = lake.get(&key).await?;
            let parsed = found.as_ref().and_then(|(bytes, _)| serde_json::from_slice::<LeaseRecord>(bytes).ok());
            let now = Utc::now();
            if let Decision::Wait { holder, until } = decide(parsed.as_ref(), me, now) {
                return Err(RemoteError::Locked { lake: lake.url().to_string(), holder, until });
            }
            let record = record(me, expiry(now));
            let mode = match &found {
                None => PutMode::Create,
                Some((_, version)) => PutMode::Update(version.clone().into()),
            };
            let bytes = serde_json::to_vec(&record).expect("a lease serializes");
            match lake.put(&key, bytes, mode).await {
                Ok(put) => return Ok(Lease { record, version: put.into() }),
                Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => continue,
                Err(e) => return Err(lake.fail("taking the writer lease", &e)),
            }
        }
        Err(RemoteError::Conflict { lake: lake.url().to_string(), what: "the writer lease kept changing".into() })
    }

    /// Extends the lease from now; fails if someone else has taken it meanwhile.
    pub async fn renew(&mut self, lake: &RemoteLake) -> Result<(), RemoteError> {
        let record = record(&self.record.holder, expiry(Utc::now()));
        self.put(lake, record).await
    }

    /// Gives the lease up (an expired record, put only if it is still ours).
    pub async fn release(mut self, lake: &RemoteLake) -> Result<(), RemoteError> {
        let mut record = self.record.clone();
        record.expires_at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.put(lake, record).await
    }

    async fn put(&mut self, lake: &RemoteLake, record: LeaseRecord) -> Result<(), RemoteError> {
        let key = lake.key(&RemoteLake::layout().lock_file());
        let bytes = serde_json::to_vec(&record).expect("a lease serializes");
        match lake.put(&key, bytes, PutMode::Update(self.version.clone())).await {
            Ok(put) => {
                self.version = put.into();
                self.record = record;
                Ok(())
            }
            Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => {
                Err(RemoteError::Conflict {
                    lake: lake.url().to_string(),
                    what: "the writer lease was taken over".into(),
                })
            }
            Err(e) => Err(lake.fail("renewing the writer lease", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_lease_is_taken_when_free_expired_or_our_own() {
        let now = at("2026-11-28T12:00:00Z");
        let lease = |holder: &str, until: &str| LeaseRecord {
            holder: holder.into(),
            process: "pid 7 on h".into(),
            expires_at: until.into(),
        };
        assert_eq!(decide(None, "me", now), Decision::Take);
        let theirs = lease("other", "2026-11-28T12:05:00.000Z");
        assert_eq!(
            decide(Some(&theirs), "me", now),
            Decision::Wait { holder: "pid 7 on h".into(), until: "2026-11-28T12:05:00.000Z".into() }
        );
        // Expired, or unreadable: free.
        assert_eq!(decide(Some(&lease("other", "2026-11-28T11:59:59Z")), "me", now), Decision::Take);
        assert_eq!(decide(Some(&lease("other", "soon")), "me", now), Decision::Take);
        // Our own work directory's lease, still running: its process died.
        assert_eq!(decide(Some(&lease("me", "2026-11-28T12:05:00Z")), "me", now), Decision::Take);
    }

    #[test]
    fn renewal_moves_the_expiry_by_the_ttl() {
        let now = at("2026-11-28T12:00:00Z");
        let r = record("me", expiry(now));
        assert_eq!(r.expires_at, "2026-11-28T12:10:00.000Z");
        assert!(r.process.starts_with(&format!("pid {}", std::process::id())));
    }
}
