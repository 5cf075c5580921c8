//! Alert delivery: stored alerts to people, by email and webhook, through a durable outbox.
//!
//! A run ([`Delivery::run`]) reads the alert store, enqueues every open alert that a route
//! sends to a channel and that has no entry for that channel yet, saves the outbox, and only
//! then attempts what is due: so an alert is in the outbox before anything is sent, and a
//! crash anywhere loses nothing (`outbox` says precisely what "exactly once" means across a
//! crash). Failures are retried with capped exponential backoff; a channel that is down for
//! hours only delays its alerts. One run at a time holds `_state/deliver.lock`.
//!
//! The parts: `config` (the `[delivery]` table, validated once), `route` (alert → channels),
//! `outbox` (state per alert × channel), `render` (what a person reads), `email` (SMTP) and
//! `webhook` (signed HTTP posts in JSON, Teams or Slack shape), `status` (what the CLI and
//! the API show).
//!
//! Secrets (SMTP password, signing keys, webhook URLs given by reference) are resolved once
//! in [`Delivery::open`]; every error text stored or logged passes through a scrubber that
//! replaces their values, so none can reach the outbox file or a log line even if a server
//! echoed one.

pub mod config;
pub mod email;
pub mod outbox;
pub mod render;
pub mod route;
pub mod status;
pub mod webhook;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;

pub use config::DeliveryConfig;
use config::{ChannelConfig, ConfigError, DigestConfig, RetryPolicy, UrlSetting};
use email::{MailError, Smtp, SmtpSetupError};
pub use outbox::{DeliveryState, Outbox, OutboxEntry, OutboxError};
use route::Route;
pub use status::{DeliveryStatus, status};
use webhook::{HookError, HookSetupError, Webhook};

use crate::alert::{Alert, AlertError, AlertState, AlertStore};
use crate::lake::LakePaths;
use crate::lake::lock::LakeLock;
use crate::secret_ref::{Secret, SecretRefError};

/// Why delivery could not start or run (a single failed send is not an error: it is
/// recorded in the outbox and retried).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The `[delivery]` table is invalid.
    #[error("[delivery] {0}")]
    Config(#[from] ConfigError),
    /// A secret reference could not be resolved.
    #[error("{what}: {source}")]
    Secret { what: String, source: SecretRefError },
    /// The SMTP server settings cannot be used.
    #[error(transparent)]
    Smtp(#[from] SmtpSetupError),
    /// A webhook cannot be set up.
    #[error(transparent)]
    Hook(#[from] HookSetupError),
    /// The outbox could not be read or written.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The alert store could not be read.
    #[error(transparent)]
    Alerts(#[from] AlertError),
    /// Another process holds the delivery lock.
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
}

/// Where a channel's messages go.
enum Target {
    Email { to: Vec<lettre::Address>, digest: Option<DigestConfig> },
    Webhook(Webhook),
}

struct Channel {
    name: String,
    target: Target,
}

/// Delivery, opened: secrets resolved, transports built. Cheap to keep for a service's
/// lifetime; [`Delivery::run`] after each detection run.
pub struct Delivery {
    lake: LakePaths,
    smtp: Option<Smtp>,
    channels: Vec<Channel>,
    routes: Vec<Route>,
    retry: RetryPolicy,
    max_age: Duration,
    /// Every secret value, to scrub from error texts.
    secrets: Vec<Secret>,
}

/// What one run did, per channel.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// New outbox entries (alert × channel).
    pub enqueued: usize,
    /// Entries whose alert was closed or suppressed before delivery.
    pub cancelled: usize,
    pub channels: Vec<ChannelReport>,
}

/// One channel's part of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChannelReport {
    pub channel: String,
    /// `email` or `webhook`: the label of the service's failure metric (channel names are
    /// the operator's, kinds are fixed).
    pub kind: &'static str,
    /// Alerts delivered in this run.
    pub delivered: usize,
    /// Alerts whose attempt failed, to be retried.
    pub retrying: usize,
    /// Alerts that failed past the retry deadline in this run.
    pub given_up: usize,
    /// Alerts due but not attempted, because the channel was unreachable earlier in the run.
    pub deferred: usize,
    /// Mails or posts sent successfully (a digest is one mail for several alerts).
    pub messages: usize,
    /// Mails or posts attempted that failed.
    pub failed_messages: usize,
    /// Entries still open after the run (not yet due, or retrying).
    pub waiting: usize,
    /// The last failure of this run, scrubbed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// One channel's health at start-up.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelCheck {
    /// `smtp` or the webhook channel's name.
    pub target: String,
    /// Where: `host:port`.
    pub endpoint: String,
    pub ok: bool,
    /// The failure, scrubbed; empty when ok.
    pub detail: String,
}

/// What to send in one message.
enum Message {
    One { entry: usize },
    Digest { batch: String, entries: Vec<usize> },
}

impl Message {
    fn entries(&self) -> Vec<usize> {
        match self {
            Message::One { entry } => vec![*entry],
            Message::Digest { entries, .. } => entries.clone(),
        }
    }
}

/// How one message went.
enum Outcome {
    Delivered(DateTime<Utc>),
    Failed {
        error: String,
    },
    /// Not attempted: the channel was unreachable earlier in the run.
    Deferred,
}

impl Delivery {
    /// Validates the config, resolves its secrets and builds the transports. Fails with
    /// a message naming the setting; never with a secret's value.
    pub fn open(lake: &LakePaths, config: &DeliveryConfig) -> Result<Delivery, DeliveryError> {
        config.validate()?;
        let mut secrets = Vec::new();
        let mut resolve = |what: String, reference: &crate::secret_ref::SecretRef| {
            let secret = reference.resolve().map_err(|source| DeliveryError::Secret { what, source })?;
            secrets.push(secret.clone());
            Ok::<Secret, DeliveryError>(secret)
        };
        let smtp = match &config.smtp {
            Some(smtp) => {
                let password = match &smtp.password {
                    Some(r) => Some(resolve("[delivery.smtp] password".into(), r)?),
                    None => None,
                };
                Some(Smtp::new(smtp, password)?)
            }
            None => None,
        };
        let mut channels = Vec::new();
        for channel in &config.channels {
            let target = match channel {
                ChannelConfig::Email(c) => Target::Email {
                    to: c
                        .to
                        .iter()
                        .map(|t| email::parse_address(&format!("channel {:?} to", c.name), t))
                        .collect::<Result<_, _>>()?,
                    digest: c.digest,
                },
                ChannelConfig::Webhook(c) => {
                    let url = match &c.url {
                        UrlSetting::Plain(url) => url.clone(),
                        UrlSetting::Secret(r) => resolve(format!("channel {:?} url", c.name), r)?.expose().to_owned(),
                    };
                    let key = match &c.signing_key {
                        Some(r) => Some(resolve(format!("channel {:?} signing_key", c.name), r)?),
                        None => None,
                    };
                    let timeout = StdDuration::from_secs(c.timeout_seconds);
                    Target::Webhook(Webhook::new(&c.name, &url, c.format, key, timeout)?)
                }
            };
            channels.push(Channel { name: channel.name().to_owned(), target });
        }
        Ok(Delivery {
            lake: lake.clone(),
            smtp,
            channels,
            routes: config.routes.clone(),
            retry: config.retry,
            max_age: Duration::hours(config.enqueue_max_age_hours.into()),
            secrets,
        })
    }

    /// The configured channel names.
    pub fn channel_names(&self) -> Vec<&str> {
        self.channels.iter().map(|c| c.name.as_str()).collect()
    }

    /// Health checks: the SMTP server (connect, TLS, login, NOOP) and each webhook's host
    /// (a TCP connection; nothing is posted).
    pub async fn check(&self) -> Vec<ChannelCheck> {
        let mut checks = Vec::new();
        if let Some(smtp) = &self.smtp {
            let result = smtp.check().await;
            checks.push(ChannelCheck {
                target: "smtp".into(),
                endpoint: smtp.endpoint().to_owned(),
                ok: result.is_ok(),
                detail: result.err().map(|e| self.scrub(e.to_string())).unwrap_or_default(),
            });
        }
        for channel in &self.channels {
            if let Target::Webhook(hook) = &channel.target {
                let result = hook.check().await;
                checks.push(ChannelCheck {
                    target: channel.name.clone(),
                    endpoint: hook.host().to_owned(),
                    ok: result.is_ok(),
                    detail: result.err().map(|e| self.scrub(e.to_string())).unwrap_or_default(),
                });
            }
        }
        for check in &checks {
            if check.ok {
                tracing::info!(target = %check.target, endpoint = %check.endpoint, "Delivery channel is reachable.");
            } else {
                tracing::warn!(target = %check.target, endpoint = %check.endpoint, error = %check.detail, "Delivery channel is not reachable; alerts wait in the outbox.");
            }
        }
        checks
    }

    /// One delivery run at `now`: enqueue new alerts, then attempt every due entry (with
    /// `flush`, every open entry: retries and digests waiting for their period too).
    pub async fn run(&self, now: DateTime<Utc>, flush: bool) -> Result<RunReport, DeliveryError> {
        let _lock = LakeLock::acquire_delivery(&self.lake)?;
        let store = AlertStore::open(&self.lake)?;
        let alerts: HashMap<&str, &Alert> = store.alerts().iter().map(|a| (a.id.as_str(), a)).collect();
        let mut outbox = Outbox::open(&self.lake.outbox_file())?;
        let mut report = RunReport { enqueued: self.enqueue(&mut outbox, store.alerts(), now), ..Default::default() };
        for entry in outbox.entries_mut().iter_mut().filter(|e| e.state.is_open()) {
            let reason = match alerts.get(entry.alert_id.as_str()).map(|a| a.state) {
                None => "the alert is no longer in the store",
                Some(AlertState::Closed) => "the alert was closed before delivery",
                Some(AlertState::Suppressed) => "the alert was suppressed before delivery",
                Some(AlertState::Open | AlertState::Acknowledged) => continue,
            };
            entry.cancel(reason);
            report.cancelled += 1;
        }
        // The outbox invariant: every entry is on disk before any attempt.
        outbox.save()?;
        report.channels = self.deliver_due(&mut outbox, &alerts, now, flush).await?;
        Ok(report)
    }

    /// Adds an entry for each routed (alert, channel) pair that has none. Returns how many.
    fn enqueue(&self, outbox: &mut Outbox, alerts: &[Alert], now: DateTime<Utc>) -> usize {
        let mut added = 0;
        for alert in alerts {
            if !matches!(alert.state, AlertState::Open | AlertState::Acknowledged)
                || alert.last_raised < now - self.max_age
            {
                continue;
            }
            for name in route::channels_for(&self.routes, alert) {
                let Some(channel) = self.channel(name) else { continue };
                let digest = match &channel.target {
                    Target::Email { digest: Some(d), .. } if alert.severity <= d.up_to_severity => Some(d),
                    _ => None,
                };
                let due = digest.map_or(now, |d| period_end(now, d.period_minutes));
                if outbox.enqueue(&alert.id, name, digest.is_some(), now, due) {
                    tracing::debug!(alert = %alert.id, channel = name, digest = digest.is_some(), "Alert enqueued.");
                    added += 1;
                }
            }
        }
        added
    }

    fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }

    /// Attempts what is due, channel by channel (channels in parallel, messages of one
    /// channel in order), and records every outcome.
    async fn deliver_due(
        &self,
        outbox: &mut Outbox,
        alerts: &HashMap<&str, &Alert>,
        now: DateTime<Utc>,
        flush: bool,
    ) -> Result<Vec<ChannelReport>, DeliveryError> {
        // Plan the messages of each channel.
        let mut plans: BTreeMap<&str, Vec<Message>> =
            self.channels.iter().map(|c| (c.name.as_str(), Vec::new())).collect();
        let mut digests: BTreeMap<(&str, String), Vec<usize>> = BTreeMap::new();
        let entries = outbox.entries_mut();
        let mut order: Vec<usize> = (0..entries.len()).filter(|&i| entries[i].is_due(now, flush)).collect();
        order.sort_by_key(|&i| (entries[i].next_attempt, entries[i].enqueued));
        for &i in &order {
            let entry = &entries[i];
            let Some(plan) = plans.get_mut(entry.channel.as_str()) else {
                // A channel since removed from the config: its entries wait, visibly.
                continue;
            };
            if !alerts.contains_key(entry.alert_id.as_str()) {
                continue;
            }
            if entry.digest {
                let channel = self.channel(&entry.channel).map_or("", |c| c.name.as_str());
                let batch = entry.batch.clone().unwrap_or_default();
                digests.entry((channel, batch)).or_default().push(i);
            } else {
                plan.push(Message::One { entry: i });
            }
        }
        for ((channel, batch), members) in digests {
            // A new batch is named once, before its first attempt, and kept by every entry
            // in it: a retry resends the same mail under the same Message-ID.
            let batch = if batch.is_empty() {
                let first = members.iter().map(|&i| entries[i].alert_id.as_str()).min().unwrap_or_default();
                let name = format!("{}-{first}", now.format("%Y%m%dT%H%M%SZ"));
                for &i in &members {
                    entries[i].batch = Some(name.clone());
                }
                name
            } else {
                batch
            };
            if let Some(plan) = plans.get_mut(channel) {
                plan.push(Message::Digest { batch, entries: members });
            }
        }
        for plan in plans.values() {
            for send in plan {
                for i in send.entries() {
                    entries[i].begin_attempt(now);
                }
            }
        }
        // Attempts are on disk before they are made (see `outbox`).
        outbox.save()?;

        let entries = outbox.entries();
        let runs = self.channels.iter().map(|channel| {
            let plan = plans.get(channel.name.as_str()).map(Vec::as_slice).unwrap_or_default();
            self.send_channel(channel, plan, entries, alerts, now)
        });
        let outcomes: Vec<Vec<Outcome>> = futures::future::join_all(runs).await;

        let mut reports = Vec::new();
        let entries = outbox.entries_mut();
        for (channel, outcomes) in self.channels.iter().zip(outcomes) {
            let kind = match channel.target {
                Target::Email { .. } => "email",
                Target::Webhook(_) => "webhook",
            };
            let mut report = ChannelReport { channel: channel.name.clone(), kind, ..Default::default() };
            let plan = plans.get(channel.name.as_str()).map(Vec::as_slice).unwrap_or_default();
            let mut retry_after = now;
            for (send, outcome) in plan.iter().zip(outcomes) {
                for i in send.entries() {
                    let entry = &mut entries[i];
                    match &outcome {
                        Outcome::Delivered(at) => {
                            entry.succeed(*at);
                            report.delivered += 1;
                        }
                        Outcome::Failed { error } => {
                            entry.fail(now, error.clone(), &self.retry, rand::random::<f64>());
                            retry_after = retry_after.max(entry.next_attempt);
                            if entry.state == DeliveryState::GivenUp {
                                tracing::error!(alert = %entry.alert_id, channel = %entry.channel, attempts = entry.attempts, error = %error, "Alert given up after failing past the retry deadline.");
                                report.given_up += 1;
                            } else {
                                report.retrying += 1;
                            }
                        }
                        Outcome::Deferred => {
                            entry.undo_attempt(retry_after);
                            report.deferred += 1;
                        }
                    }
                }
                match outcome {
                    Outcome::Delivered(_) => report.messages += 1,
                    Outcome::Failed { error } => {
                        report.failed_messages += 1;
                        report.last_error = Some(error);
                    }
                    Outcome::Deferred => {}
                }
            }
            report.waiting = entries.iter().filter(|e| e.channel == channel.name && e.state.is_open()).count();
            reports.push(report);
        }
        outbox.save()?;
        Ok(reports)
    }

    /// Sends one channel's messages in order; after the channel proves unreachable, the
    /// rest are deferred rather than each waiting for its own timeout.
    async fn send_channel(
        &self,
        channel: &Channel,
        plan: &[Message],
        entries: &[OutboxEntry],
        alerts: &HashMap<&str, &Alert>,
        now: DateTime<Utc>,
    ) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(plan.len());
        let mut unreachable = false;
        for send in plan {
            if unreachable {
                outcomes.push(Outcome::Deferred);
                continue;
            }
            let result = self.send_one(channel, send, entries, alerts, now).await;
            let outcome = match result {
                Ok(()) => {
                    tracing::info!(channel = %channel.name, alerts = send.entries().len(), "Alert delivered.");
                    Outcome::Delivered(Utc::now().max(now))
                }
                Err((error, is_unreachable)) => {
                    let error = self.scrub(error);
                    tracing::warn!(channel = %channel.name, error = %error, "Alert delivery failed; it will be retried.");
                    unreachable = is_unreachable;
                    Outcome::Failed { error }
                }
            };
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn send_one(
        &self,
        channel: &Channel,
        send: &Message,
        entries: &[OutboxEntry],
        alerts: &HashMap<&str, &Alert>,
        now: DateTime<Utc>,
    ) -> Result<(), (String, bool)> {
        let mail_error = |e: MailError| {
            let unreachable = matches!(e, MailError::Unreachable(_) | MailError::NotResponding);
            (e.to_string(), unreachable)
        };
        let hook_error = |e: HookError| (e.to_string(), e.is_unreachable());
        match (send, &channel.target) {
            (Message::One { entry }, Target::Email { to, .. }) => {
                let entry = &entries[*entry];
                let smtp = self.smtp.as_ref().ok_or_else(|| ("no [delivery.smtp] table".to_owned(), true))?;
                smtp.send_alert(alerts[entry.alert_id.as_str()], to, &entry.delivery_id).await.map_err(mail_error)
            }
            (Message::Digest { batch, entries: members }, Target::Email { to, .. }) => {
                let smtp = self.smtp.as_ref().ok_or_else(|| ("no [delivery.smtp] table".to_owned(), true))?;
                let mut list: Vec<&Alert> = members.iter().map(|&i| alerts[entries[i].alert_id.as_str()]).collect();
                list.sort_by(|a, b| (b.severity, a.window_start, &a.id).cmp(&(a.severity, b.window_start, &b.id)));
                let id = outbox::batch_delivery_id(&channel.name, batch);
                smtp.send_digest(&list, to, &id).await.map_err(mail_error)
            }
            (Message::One { entry }, Target::Webhook(hook)) => {
                let entry = &entries[*entry];
                hook.send(alerts[entry.alert_id.as_str()], &entry.delivery_id, now).await.map_err(hook_error)
            }
            (Message::Digest { .. }, Target::Webhook(_)) => {
                // Validation allows digests on email channels only; a digest entry left by an
                // earlier config is sent alone.
                Err(("digest entries on a webhook channel".to_owned(), false))
            }
        }
    }

    /// `text` with every secret value replaced.
    fn scrub(&self, mut text: String) -> String {
        for secret in &self.secrets {
            let value = secret.expose();
            if value.len() >= 4 && text.contains(value) {
                text = text.replace(value, "<redacted>");
            }
        }
        text
    }
}

/// The end of the digest period holding `now`: periods are aligned on multiples of their
/// length since the epoch (whole hours for 60 minutes), so every process agrees.
fn period_end(now: DateTime<Utc>, period_minutes: u32) -> DateTime<Utc> {
    let period = Duration::minutes(period_minutes.into());
    now.duration_trunc(period).unwrap_or(now) + period
}

#[cfg(test)]
pub(crate) mod testing {
    //! Alerts for the module's unit tests.

    use crate::alert::{Alert, AlertKind, Severity};

    pub fn alert(id: &str, kind: AlertKind, severity: Severity, vault: Option<&str>) -> Alert {
        let mut alert = crate::alert::testing::alert(kind, severity, vault);
        alert.id = id.to_owned();
        alert.score.value = 0.001;
        alert
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// `serve` spawns runs and checks on tokio's pool: their futures must be `Send`.
    // Not `async fn`: the point is the `+ Send` bound on the returned future.
    #[allow(dead_code, clippy::manual_async_fn)]
    fn futures_are_send(delivery: &Delivery) -> impl std::future::Future<Output = ()> + Send + '_ {
        async move {
            let _ = delivery.run(Utc::now(), false).await;
            let _ = delivery.check().await;
        }
    }

    #[test]
    fn digest_periods_end_on_aligned_boundaries() {
        let at = |h, m| Utc.with_ymd_and_hms(2026, 10, 23, h, m, 0).unwrap();
        assert_eq!(period_end(at(14, 5), 60), at(15, 0));
        assert_eq!(period_end(at(14, 0), 60), at(15, 0));
        assert_eq!(period_end(at(14, 5), 15), at(14, 15));
    }
}
