//! Webhooks: one HTTP POST per alert, in the receiver's shape (`shape`), signed (`sign`).
//!
//! Every request carries `X-Kvaudit-Delivery` (stable for the alert on this channel, the
//! receiver's key to drop a resend: see `outbox`), `X-Kvaudit-Alert` (the alert id) and,
//! when the channel has a key, `X-Kvaudit-Signature`. A 2xx answer is delivery; anything
//! else is retried. Errors never show the URL (Slack and Teams URLs are credentials): only
//! its host.

pub mod shape;
pub mod sign;

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::config::{ConfigError, WebhookFormat};
use crate::alert::Alert;
use crate::secret_ref::Secret;

/// Why one post was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// No answer: connection refused, TLS failure, timeout.
    #[error("webhook {host} unreachable: {source}")]
    Unreachable { host: String, source: reqwest::Error },
    /// The receiver answered with a status other than 2xx.
    #[error("webhook {host} answered HTTP {status}")]
    Status { host: String, status: u16 },
}

impl HookError {
    /// Whether the receiver itself is down (rather than this one post refused).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, HookError::Unreachable { .. })
    }
}

/// Why a webhook cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum HookSetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be built (TLS roots).
    #[error("channel {channel:?}: HTTP client: {source}")]
    Client { channel: String, source: reqwest::Error },
}

/// Checks a webhook URL: http or https, with a host. The error never repeats the URL.
pub fn check_url(channel: &str, text: &str) -> Result<url::Url, ConfigError> {
    let bad = |reason: &str| ConfigError::BadUrl { channel: channel.to_owned(), reason: reason.to_owned() };
    let url = url::Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(&format!("the scheme is {:?}", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    Ok(url)
}

/// A webhook channel, ready to post.
pub struct Webhook {
    client: reqwest::Client,
    url: url::Url,
    /// The host (and port), the only part of the URL shown anywhere.
    host: String,
    format: WebhookFormat,
    key: Option<Secret>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("host", &self.host).field("format", &self.format).finish()
    }
}

impl Webhook {
    /// `url` is the resolved URL (from the config, or from its secret reference).
    pub fn new(
        channel: &str,
        url: &str,
        format: WebhookFormat,
        key: Option<Secret>,
        timeout: Duration,
    ) -> Result<Webhook, HookSetupError> {
        let url = check_url(channel, url)?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("kvaudit/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the signed body to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| HookSetupError::Client { channel: channel.to_owned(), source })?;
        Ok(Webhook { client, url, host, format, key })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Posts `alert`; `now` is the signature's timestamp.
    pub async fn send(&self, alert: &Alert, delivery_id: &str, now: DateTime<Utc>) -> Result<(), HookError> {
        let body = serde_json::to_vec(&shape::body(self.format, alert)).unwrap_or_default();
        let mut request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Kvaudit-Delivery", delivery_id)
            .header("X-Kvaudit-Alert", &alert.id);
        if let Some(key) = &self.key {
            request = request.header(sign::SIGNATURE_HEADER, sign::sign(key.expose().as_bytes(), now, &body));
        }
        let response = request.body(body).send().await.map_err(|e| self.unreachable(e))?;
        let status = response.status();
        // Read the answer so the connection can be reused; its content does not matter.
        let _ = response.bytes().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(HookError::Status { host: self.host.clone(), status: status.as_u16() })
        }
    }

    /// Whether the receiver's host accepts TCP connections. No request is sent: a POST
    /// would deliver something, and receivers answer GET with anything from 200 to 405.
    pub async fn check(&self) -> Result<(), std::io::Error> {
        let host = self.url.host_str().unwrap_or_default().to_owned();
        let port = self.url.port_or_known_default().unwrap_or(443);
        let connect = tokio::net::TcpStream::connect((host.as_str(), port));
        match tokio::time::timeout(Duration::from_secs(10), connect).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer within 10s")),
        }
    }

    fn unreachable(&self, e: reqwest::Error) -> HookError {
        HookError::Unreachable { host: self.host.clone(), source: e.without_url() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_errors_do_not_repeat_them() {
        assert!(check_url("c", "https://hooks.slack.com/services/T/B/XYZ").is_ok());
        for bad in ["ftp://x/y", "https://", "not a url secretpart"] {
            let err = check_url("c", bad).unwrap_err().to_string();
            assert!(!err.contains("secretpart") && !err.contains("x/y"), "{err}");
        }
    }
}
