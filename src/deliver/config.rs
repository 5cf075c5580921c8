//! The `[delivery]` table of `kvaudit.toml`: one SMTP server, named channels (email
//! recipient lists and webhooks), routes that send alerts to channels, and the retry policy.
//!
//! Everything here is plain data, validated once by [`DeliveryConfig::validate`]; secrets
//! are [`SecretRef`]s, read only when a [`super::Delivery`] is opened, so a config file can
//! be checked on a machine that does not hold the secrets.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Deserialize;

use super::route::Route;
use crate::alert::Severity;
use crate::secret_ref::SecretRef;

/// Why the `[delivery]` table cannot be used. Each message names the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Two channels have the same name.
    #[error("two channels are named {0:?}: channel names must be unique")]
    DuplicateChannel(String),
    /// A channel name that cannot be a file or header part.
    #[error("channel name {0:?}: use letters, digits, '-' and '_' only")]
    BadChannelName(String),
    /// A route names a channel that is not defined.
    #[error("route {route} sends to {channel:?}, which is not a channel (defined: {defined})")]
    UnknownChannel { route: usize, channel: String, defined: String },
    /// A route sends nowhere.
    #[error("route {0} names no channels")]
    RouteWithoutChannels(usize),
    /// A vault pattern of a route is empty.
    #[error("route {0} has an empty vault pattern")]
    EmptyVaultPattern(usize),
    /// An email channel exists but `[delivery.smtp]` does not.
    #[error("channel {0:?} sends email, but there is no [delivery.smtp] table")]
    NoSmtp(String),
    /// An email channel without recipients.
    #[error("channel {0:?} has no recipients (to = [...])")]
    NoRecipients(String),
    /// An address that is not an email address (or mailbox, for `from`).
    #[error("{field}: {value:?} is not an email address: {reason}")]
    BadAddress { field: String, value: String, reason: String },
    /// Username without password or the reverse.
    #[error("[delivery.smtp] username and password go together: give both or neither")]
    IncompleteCredentials,
    /// A password would cross the network in clear text.
    #[error(
        "[delivery.smtp] tls = \"none\" with a password would send the password unencrypted: use tls = \"starttls\" or \"implicit\""
    )]
    PasswordWithoutTls,
    /// A webhook URL that is not an http(s) URL.
    #[error("channel {channel:?}: url must be an http(s) URL: {reason}")]
    BadUrl { channel: String, reason: String },
    /// A generic JSON webhook without a signing key: its receiver could not tell our posts
    /// from anyone's.
    #[error("channel {0:?}: a json webhook needs signing_key = {{ env = \"VARIABLE\" }} so its receiver can verify it")]
    UnsignedWebhook(String),
    /// A number outside its range.
    #[error("{field} must be {expected}, not {value}")]
    OutOfRange { field: String, expected: &'static str, value: u64 },
}

/// The `[delivery]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// The mail server of every email channel.
    pub smtp: Option<SmtpConfig>,
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Alerts last raised longer ago than this are not enqueued, so that pointing delivery
    /// at an old lake does not mail its whole history.
    #[serde(default = "default_max_age_hours")]
    pub enqueue_max_age_hours: u32,
}

fn default_max_age_hours() -> u32 {
    72
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    Starttls,
    /// TLS from the first byte, "SMTPS" (port 465).
    Implicit,
    /// No encryption at all: only for a relay on the same host or a test server.
    None,
}

impl SmtpTls {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Starttls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        }
    }
}

/// `[delivery.smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 587 with STARTTLS, 465 with implicit TLS, 25 without TLS.
    pub port: Option<u16>,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
    /// The sender, `kvaudit <kvaudit@contoso.com>` or a bare address.
    pub from: String,
    /// A PEM file of extra certificate authorities to trust (a private mail relay's).
    pub ca_file: Option<PathBuf>,
    /// The name kvaudit gives in EHLO (default: the host name of this machine is not
    /// looked up; `kvaudit.localdomain`).
    pub hello_name: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    30
}

/// `[[delivery.channels]]`: where alerts go.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelConfig {
    Email(EmailChannelConfig),
    Webhook(WebhookChannelConfig),
}

impl ChannelConfig {
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Email(c) => &c.name,
            ChannelConfig::Webhook(c) => &c.name,
        }
    }
}

/// An email channel: a list of recipients on the `[delivery.smtp]` server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChannelConfig {
    pub name: String,
    pub to: Vec<String>,
    /// Alerts up to a severity gathered into one mail per period.
    pub digest: Option<DigestConfig>,
}

/// Digest mode: alerts of `up_to_severity` or lower wait for the end of their period and go
/// out together in one mail.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    #[serde(default = "default_digest_severity")]
    pub up_to_severity: Severity,
    #[serde(default = "default_period")]
    pub period_minutes: u32,
}

fn default_digest_severity() -> Severity {
    Severity::Low
}

fn default_period() -> u32 {
    60
}

/// The body shape a webhook receiver expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// The alert record of DESIGN.md, as `kvaudit detect --format json` prints it.
    Json,
    /// A Microsoft Teams message with an Adaptive Card (Teams workflows' incoming webhook).
    Teams,
    /// A Slack message with blocks (Slack incoming webhooks).
    Slack,
}

/// A webhook URL: plain text, or a secret reference for URLs that carry their credential
/// (Slack and Teams incoming webhooks do: whoever has the URL can post).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UrlSetting {
    Plain(String),
    Secret(SecretRef),
}

/// A webhook channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannelConfig {
    pub name: String,
    pub url: UrlSetting,
    #[serde(default = "default_format")]
    pub format: WebhookFormat,
    /// The HMAC-SHA256 key of the `X-Kvaudit-Signature` header. Required for `json`.
    pub signing_key: Option<SecretRef>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_format() -> WebhookFormat {
    WebhookFormat::Json
}

/// `[delivery.retry]`: exponential backoff with equal jitter, capped, and a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// The wait after the first failure; each further failure doubles it.
    pub first_seconds: u64,
    /// The longest wait between two attempts.
    pub max_seconds: u64,
    /// After this long without success an alert is given up on that channel (and shown as
    /// such), so a channel removed for good does not retry forever.
    pub give_up_hours: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { first_seconds: 30, max_seconds: 1800, give_up_hours: 72 }
    }
}

impl DeliveryConfig {
    /// Checks everything that can be checked without the secrets.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut names = BTreeSet::new();
        for channel in &self.channels {
            let name = channel.name();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(ConfigError::BadChannelName(name.to_owned()));
            }
            if !names.insert(name) {
                return Err(ConfigError::DuplicateChannel(name.to_owned()));
            }
            match channel {
                ChannelConfig::Email(email) => {
                    if self.smtp.is_none() {
                        return Err(ConfigError::NoSmtp(email.name.clone()));
                    }
                    if email.to.is_empty() {
                        return Err(ConfigError::NoRecipients(email.name.clone()));
                    }
                    for to in &email.to {
                        super::email::parse_address(&format!("channel {:?} to", email.name), to)?;
                    }
                    if let Some(digest) = email.digest {
                        range("digest.period_minutes", digest.period_minutes.into(), 1, 7 * 24 * 60)?;
                    }
                }
                ChannelConfig::Webhook(hook) => {
                    if let UrlSetting::Plain(url) = &hook.url {
                        super::webhook::check_url(&hook.name, url)?;
                    }
                    if hook.format == WebhookFormat::Json && hook.signing_key.is_none() {
                        return Err(ConfigError::UnsignedWebhook(hook.name.clone()));
                    }
                    range("timeout_seconds", hook.timeout_seconds, 1, 600)?;
                }
            }
        }
        if let Some(smtp) = &self.smtp {
            super::email::parse_mailbox("[delivery.smtp] from", &smtp.from)?;
            if smtp.username.is_some() != smtp.password.is_some() {
                return Err(ConfigError::IncompleteCredentials);
            }
            if smtp.tls == SmtpTls::None && smtp.password.is_some() {
                return Err(ConfigError::PasswordWithoutTls);
            }
            range("[delivery.smtp] timeout_seconds", smtp.timeout_seconds, 1, 600)?;
        }
        for (i, route) in self.routes.iter().enumerate() {
            let n = i + 1;
            if route.channels.is_empty() {
                return Err(ConfigError::RouteWithoutChannels(n));
            }
            if route.vaults.iter().any(|v| v.trim().is_empty()) {
                return Err(ConfigError::EmptyVaultPattern(n));
            }
            for channel in &route.channels {
                if !names.contains(channel.as_str()) {
                    let defined = names.iter().copied().collect::<Vec<_>>().join(", ");
                    return Err(ConfigError::UnknownChannel { route: n, channel: channel.clone(), defined });
                }
            }
        }
        let retry = &self.retry;
        range("[delivery.retry] first_seconds", retry.first_seconds, 1, 86_400)?;
        range("[delivery.retry] max_seconds", retry.max_seconds, retry.first_seconds, 7 * 86_400)?;
        range("[delivery.retry] give_up_hours", retry.give_up_hours, 1, 90 * 24)?;
        range("[delivery] enqueue_max_age_hours", self.enqueue_max_age_hours.into(), 1, 366 * 24)?;
        Ok(())
    }
}

fn range(field: &str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    let expected = if min == 1 { "positive and not absurdly large" } else { "within its range" };
    Err(ConfigError::OutOfRange { field: format!("{field} ({min} to {max})"), expected, value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;

    fn parse(text: &str) -> Result<DeliveryConfig, String> {
        let config: DeliveryConfig = crate::secret_ref::parse_config(text).map_err(|e| e.to_string())?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    const GOOD: &str = r#"
        [smtp]
        host = "smtp.contoso.com"
        tls = "starttls"
        username = "kvaudit@contoso.com"
        password = { env = "KVAUDIT_SMTP_PASSWORD" }
        from = "kvaudit <kvaudit@contoso.com>"

        [[channels]]
        name = "soc-mail"
        type = "email"
        to = ["soc@contoso.com"]
        digest = { up_to_severity = "low", period_minutes = 60 }

        [[channels]]
        name = "siem"
        type = "webhook"
        url = "https://siem.contoso.com/hooks/kvaudit"
        signing_key = { file = "/run/secrets/kvaudit-webhook" }

        [[channels]]
        name = "slack"
        type = "webhook"
        format = "slack"
        url = { env = "KVAUDIT_SLACK_URL" }

        [[routes]]
        channels = ["soc-mail", "siem"]

        [[routes]]
        channels = ["slack"]
        vaults = ["kv-*-prod"]
        min_severity = "high"
        kinds = ["mass_retrieval", "enumeration"]
    "#;

    #[test]
    fn a_complete_config_parses_and_validates() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.channels.len(), 3);
        assert_eq!(config.retry, RetryPolicy::default());
        assert!(matches!(&config.channels[2], ChannelConfig::Webhook(w) if matches!(w.url, UrlSetting::Secret(_))));
        assert_eq!(config.routes[1].kinds, vec![AlertKind::MassRetrieval, AlertKind::Enumeration]);
    }

    #[test]
    fn mistakes_are_refused_with_the_setting_named() {
        let cases = [
            (GOOD.replace("channels = [\"slack\"]", "channels = [\"slak\"]"), "slak"),
            (GOOD.replace("name = \"siem\"", "name = \"soc-mail\""), "two channels"),
            (GOOD.replace("to = [\"soc@contoso.com\"]", "to = [\"soc at contoso\"]"), "soc at contoso"),
            (GOOD.replace("signing_key = { file = \"/run/secrets/kvaudit-webhook\" }", ""), "signing_key"),
            (GOOD.replace("tls = \"starttls\"", "tls = \"none\""), "unencrypted"),
            (GOOD.replace("url = \"https://siem", "url = \"ftp://siem"), "http(s)"),
            (GOOD.replace("\"enumeration\"", "\"enumeraton\""), "enumeraton"),
            (GOOD.replace("password = { env = \"KVAUDIT_SMTP_PASSWORD\" }", "password = \"hunter2\""), "never written"),
            (GOOD.replace("period_minutes = 60", "period_minutes = 0"), "period_minutes"),
        ];
        for (text, expected) in cases {
            let err = parse(&text).unwrap_err();
            assert!(err.contains(expected), "expected {expected:?} in: {err}");
            assert!(!err.contains("hunter2"), "the literal secret is echoed: {err}");
        }
    }
}
