//! The outbox: `<lake>/alerts/outbox.jsonl`, one line per alert × channel, rewritten
//! atomically (temporary file, fsync, rename), like the alert store beside it.
//!
//! Invariants:
//! - An entry is written (and the file synced) before the first attempt to deliver it, so a
//!   crash at any point loses no alert: the next run finds the entry and delivers it.
//! - There is at most one entry per (alert id, channel), and it is never removed: an alert
//!   raised again under the same id is not enqueued again, and its delivery state stays
//!   visible.
//! - Before a send, its entry is marked `attempt_open` and the file saved; after it, the
//!   outcome is recorded. An entry still `attempt_open` when the outbox is read was being
//!   sent when a process died: the message may or may not have arrived. It is sent again
//!   under the same delivery id (the email's Message-ID, the webhook's
//!   `X-Kvaudit-Delivery`), so a receiver that keeps the ids it has seen can drop the copy.
//!   That window, between the receiver's acceptance and our record of it, is the only way a
//!   duplicate arises; outside it every entry is delivered exactly once.
//! - Waits between attempts grow exponentially with jitter, up to a cap; an entry failing
//!   for longer than the policy's deadline is `given_up`, never silently dropped.
//!
//! Writers are serialized by `_state/deliver.lock` (taken by [`super::Delivery::run`]).

use std::io::BufRead;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::config::RetryPolicy;
use crate::alert::rfc3339;

/// Where one alert stands on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Stored, not yet attempted (or waiting for its digest period to end).
    Pending,
    /// Failed at least once; the next attempt is scheduled.
    Retrying,
    /// The receiver accepted it.
    Delivered,
    /// Failed for longer than the retry deadline; kept, never attempted again.
    GivenUp,
    /// The alert was closed or suppressed before it could be delivered.
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Delivered => "delivered",
            DeliveryState::GivenUp => "given_up",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    /// Whether more attempts will be made.
    pub fn is_open(self) -> bool {
        matches!(self, DeliveryState::Pending | DeliveryState::Retrying)
    }
}

/// One alert on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub alert_id: String,
    pub channel: String,
    /// Stable across attempts and crashes: the Message-ID / `X-Kvaudit-Delivery` of this
    /// alert on this channel (a digest mail carries its batch's id instead).
    pub delivery_id: String,
    pub state: DeliveryState,
    /// Goes out in its channel's digest mail.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub digest: bool,
    /// The digest mail this entry was first attempted in; retries resend the same mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    #[serde(with = "rfc3339")]
    pub enqueued: DateTime<Utc>,
    pub attempts: u32,
    #[serde(with = "rfc3339")]
    pub next_attempt: DateTime<Utc>,
    #[serde(default, with = "rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<DateTime<Utc>>,
    /// An attempt started and its outcome was never recorded (see the module doc).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attempt_open: bool,
    /// The last failure, as the channel reported it (secrets scrubbed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, with = "rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub delivered: Option<DateTime<Utc>>,
}

/// Why the outbox could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A line of the outbox is not an entry.
    #[error("{path}, line {line}: not an outbox entry: {source}")]
    Corrupt { path: PathBuf, line: usize, source: serde_json::Error },
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
}

/// The delivery id of `alert_id` on `channel`: 32 hex digits of SHA-256, the same in every
/// process and after every crash.
pub fn delivery_id(alert_id: &str, channel: &str) -> String {
    stable_id(&["alert", alert_id, channel])
}

/// The delivery id of a digest mail.
pub fn batch_delivery_id(channel: &str, batch: &str) -> String {
    stable_id(&["digest", channel, batch])
}

fn stable_id(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// All entries of a lake.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    entries: Vec<OutboxEntry>,
}

impl Outbox {
    /// Reads the outbox at `path` (empty if there is none yet).
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        let mut entries = Vec::new();
        match std::fs::File::open(path) {
            Ok(file) => {
                for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
                    let line = line.map_err(|source| OutboxError::Io { path: path.to_owned(), source })?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    let entry = serde_json::from_str(&line).map_err(|source| OutboxError::Corrupt {
                        path: path.to_owned(),
                        line: n + 1,
                        source,
                    })?;
                    entries.push(entry);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(OutboxError::Io { path: path.to_owned(), source }),
        }
        Ok(Outbox { path: path.to_owned(), entries })
    }

    pub fn entries(&self) -> &[OutboxEntry] {
        &self.entries
    }

    pub(crate) fn entries_mut(&mut self) -> &mut [OutboxEntry] {
        &mut self.entries
    }

    /// Whether `alert_id` already has an entry on `channel`.
    pub fn contains(&self, alert_id: &str, channel: &str) -> bool {
        self.entries.iter().any(|e| e.alert_id == alert_id && e.channel == channel)
    }

    /// Adds a pending entry, due at `due` (now, or the end of its digest period). Returns
    /// false, changing nothing, if the alert already has an entry on that channel.
    pub fn enqueue(
        &mut self,
        alert_id: &str,
        channel: &str,
        digest: bool,
        now: DateTime<Utc>,
        due: DateTime<Utc>,
    ) -> bool {
        if self.contains(alert_id, channel) {
            return false;
        }
        self.entries.push(OutboxEntry {
            alert_id: alert_id.to_owned(),
            channel: channel.to_owned(),
            delivery_id: delivery_id(alert_id, channel),
            state: DeliveryState::Pending,
            digest,
            batch: None,
            enqueued: now,
            attempts: 0,
            next_attempt: due,
            last_attempt: None,
            attempt_open: false,
            last_error: None,
            delivered: None,
        });
        true
    }

    /// Writes the outbox back, atomically and synced.
    pub fn save(&mut self) -> Result<(), OutboxError> {
        self.entries.sort_by(|a, b| (a.enqueued, &a.alert_id, &a.channel).cmp(&(b.enqueued, &b.alert_id, &b.channel)));
        let mut text = String::new();
        for entry in &self.entries {
            // Plain data with string keys: serializing cannot fail.
            text.push_str(&serde_json::to_string(entry).unwrap_or_default());
            text.push('\n');
        }
        crate::lake::write_atomically(&self.path, text.as_bytes())?;
        Ok(())
    }
}

impl OutboxEntry {
    /// Whether an attempt is due at `now` (`flush`: every open entry is).
    pub fn is_due(&self, now: DateTime<Utc>, flush: bool) -> bool {
        self.state.is_open() && (flush || self.next_attempt <= now)
    }

    /// Marks an attempt as started (saved before the send: see the module doc).
    pub fn begin_attempt(&mut self, now: DateTime<Utc>) {
        self.attempts += 1;
        self.last_attempt = Some(now);
        self.attempt_open = true;
    }

    /// The attempt was not made after all (its channel failed earlier in the run).
    pub fn undo_attempt(&mut self, next: DateTime<Utc>) {
        self.attempts = self.attempts.saturating_sub(1);
        self.attempt_open = false;
        self.next_attempt = self.next_attempt.max(next);
    }

    pub fn succeed(&mut self, now: DateTime<Utc>) {
        self.state = DeliveryState::Delivered;
        self.attempt_open = false;
        self.delivered = Some(now);
        self.last_error = None;
    }

    /// Records a failure: retried after a backoff, or given up past the deadline.
    pub fn fail(&mut self, now: DateTime<Utc>, error: String, policy: &RetryPolicy, jitter: f64) {
        self.attempt_open = false;
        self.last_error = Some(error);
        if now - self.enqueued >= Duration::hours(policy.give_up_hours as i64) {
            self.state = DeliveryState::GivenUp;
        } else {
            self.state = DeliveryState::Retrying;
            self.next_attempt = now + backoff(policy, self.attempts, jitter);
        }
    }

    pub fn cancel(&mut self, reason: &str) {
        self.state = DeliveryState::Cancelled;
        self.attempt_open = false;
        self.last_error = Some(reason.to_owned());
    }
}

/// The wait after the `attempts`th failed attempt: `first * 2^(attempts-1)`, capped at
/// `max`, of which the upper half is random ("equal jitter"), so that many alerts failing
/// together do not all retry in the same second, and no wait is below half the schedule.
/// `jitter` is uniform in [0, 1).
pub fn backoff(policy: &RetryPolicy, attempts: u32, jitter: f64) -> Duration {
    let exponent = attempts.saturating_sub(1).min(32);
    let full = policy.first_seconds.saturating_mul(1u64 << exponent).min(policy.max_seconds) as f64;
    let seconds = full / 2.0 + full / 2.0 * jitter.clamp(0.0, 1.0);
    Duration::milliseconds((seconds * 1000.0) as i64)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 23, 14, 0, 0).unwrap()
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_jitters_within_the_upper_half() {
        let policy = RetryPolicy { first_seconds: 30, max_seconds: 600, give_up_hours: 24 };
        let secs = |attempts, jitter| backoff(&policy, attempts, jitter).num_milliseconds() as f64 / 1000.0;
        assert_eq!(
            [secs(1, 1.0), secs(2, 1.0), secs(3, 1.0), secs(5, 1.0), secs(6, 1.0)],
            [30.0, 60.0, 120.0, 480.0, 600.0]
        );
        assert_eq!(secs(40, 1.0), 600.0, "a large attempt count does not overflow");
        assert_eq!([secs(1, 0.0), secs(3, 0.5)], [15.0, 90.0]);
    }

    #[test]
    fn an_entry_is_enqueued_once_and_survives_a_reopen_with_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts/outbox.jsonl");
        let mut outbox = Outbox::open(&path).unwrap();
        assert!(outbox.enqueue("a1", "mail", false, t0(), t0()));
        assert!(!outbox.enqueue("a1", "mail", false, t0(), t0()), "the same alert and channel twice");
        assert!(outbox.enqueue("a1", "hook", false, t0(), t0()));
        outbox.entries_mut()[0].begin_attempt(t0());
        outbox.save().unwrap();

        // A crash here: the reopened outbox shows the attempt whose outcome is unknown.
        let mut reopened = Outbox::open(&path).unwrap();
        assert_eq!(reopened.entries(), outbox.entries());
        let open = reopened.entries().iter().find(|e| e.attempt_open).unwrap();
        assert_eq!(open.delivery_id, delivery_id(&open.alert_id, &open.channel));
        assert_ne!(delivery_id("a1", "mail"), delivery_id("a1", "hook"));

        let policy = RetryPolicy { first_seconds: 60, max_seconds: 600, give_up_hours: 2 };
        let entry = &mut reopened.entries_mut()[0];
        entry.fail(t0() + Duration::minutes(1), "connection refused".into(), &policy, 1.0);
        assert_eq!(entry.state, DeliveryState::Retrying);
        assert_eq!(entry.next_attempt, t0() + Duration::minutes(2));
        assert!(!entry.is_due(t0() + Duration::seconds(90), false));
        assert!(entry.is_due(t0() + Duration::seconds(90), true), "a flush sends it now");
        entry.begin_attempt(t0() + Duration::hours(3));
        entry.fail(t0() + Duration::hours(3), "still refused".into(), &policy, 1.0);
        assert_eq!(entry.state, DeliveryState::GivenUp, "past the deadline");
        assert!(!entry.is_due(t0() + Duration::days(9), true));
    }

    #[test]
    fn a_corrupt_line_is_reported_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        std::fs::write(&path, "\nnot json\n").unwrap();
        let err = Outbox::open(&path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
