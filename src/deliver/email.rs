//! Email: one SMTP server (`[delivery.smtp]`, lettre over tokio and rustls), many
//! recipient lists (email channels).
//!
//! A mail is `multipart/alternative` with a plain-text and an HTML part (see `render`).
//! Its Message-ID is derived from the alert id and the channel (or, for a digest, from the
//! channel and batch), so every attempt at the same delivery carries the same Message-ID:
//! a resend after a crash is recognisably the same mail (see `outbox`).
//!
//! TLS is STARTTLS (required, never opportunistic) or implicit; an unencrypted connection
//! only when the config says `tls = "none"`, and never with a password. The password is
//! read once from its reference and handed to lettre only; errors show the server's reply,
//! which never contains it (and `Delivery` scrubs every stored error anyway).

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::config::{ConfigError, SmtpConfig, SmtpTls};
use super::render;
use crate::alert::Alert;
use crate::secret_ref::Secret;

/// Why an SMTP server cannot be set up (before any mail is sent).
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    /// The `ca_file` could not be read or holds no certificate.
    #[error("[delivery.smtp] ca_file {path}: {reason}")]
    CaFile { path: std::path::PathBuf, reason: String },
    /// rustls refused the TLS settings.
    #[error("[delivery.smtp] TLS settings: {0}")]
    Tls(lettre::transport::smtp::Error),
    /// A setting that `DeliveryConfig::validate` refuses.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Why one mail was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server could not be reached, refused the connection, failed TLS or timed out:
    /// nothing else will go through this run either.
    #[error("SMTP server unreachable: {0}")]
    Unreachable(lettre::transport::smtp::Error),
    /// The server accepted the connection but did not answer NOOP.
    #[error("SMTP server connected but did not answer")]
    NotResponding,
    /// The server answered, and refused (4xx for now, 5xx for good) or authentication failed.
    #[error("SMTP server refused: {0}")]
    Refused(lettre::transport::smtp::Error),
    /// The message could not be built.
    #[error("building the mail: {0}")]
    Build(#[from] lettre::error::Error),
}

/// `field` as a bare address (recipients).
pub fn parse_address(field: &str, text: &str) -> Result<Address, ConfigError> {
    text.trim().parse::<Address>().map_err(|e| ConfigError::BadAddress {
        field: field.to_owned(),
        value: text.to_owned(),
        reason: e.to_string(),
    })
}

/// `field` as a mailbox, `Name <address>` or a bare address (the sender).
pub fn parse_mailbox(field: &str, text: &str) -> Result<Mailbox, ConfigError> {
    text.trim().parse::<Mailbox>().map_err(|e| ConfigError::BadAddress {
        field: field.to_owned(),
        value: text.to_owned(),
        reason: e.to_string(),
    })
}

/// The SMTP server, connected on demand (one connection per run of sends).
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain part of Message-IDs: the sender's domain.
    id_domain: String,
    /// `host:port`, for logs.
    endpoint: String,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").field("endpoint", &self.endpoint).field("from", &self.from.email).finish()
    }
}

impl Smtp {
    /// Builds the transport from a validated config and the resolved password.
    pub fn new(config: &SmtpConfig, password: Option<Secret>) -> Result<Smtp, SmtpSetupError> {
        // Validated before: these parse.
        let from = parse_mailbox("[delivery.smtp] from", &config.from)?;
        let port = config.port.unwrap_or(config.tls.default_port());
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(port)
            .timeout(Some(Duration::from_secs(config.timeout_seconds)))
            .hello_name(ClientId::Domain(config.hello_name.clone().unwrap_or_else(|| "kvaudit.localdomain".into())));
        if config.tls != SmtpTls::None {
            let mut tls = TlsParameters::builder(config.host.clone());
            if let Some(path) = &config.ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| SmtpSetupError::CaFile { path: path.clone(), reason: e.to_string() })?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| SmtpSetupError::CaFile { path: path.clone(), reason: e.to_string() })?;
                tls = tls.add_root_certificate(cert);
            }
            let tls = tls.build().map_err(SmtpSetupError::Tls)?;
            builder = builder.tls(match config.tls {
                SmtpTls::Starttls => Tls::Required(tls),
                _ => Tls::Wrapper(tls),
            });
        }
        if let (Some(user), Some(password)) = (&config.username, password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Smtp {
            transport: builder.build(),
            id_domain: from.email.domain().to_owned(),
            from,
            endpoint: format!("{}:{port}", config.host),
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Connects, says EHLO, upgrades to TLS and logs in as a send would, then quits.
    pub async fn check(&self) -> Result<(), MailError> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError::NotResponding),
            Err(e) => Err(classify(e)),
        }
    }

    /// Sends one alert to `to`.
    pub async fn send_alert(&self, alert: &Alert, to: &[Address], delivery_id: &str) -> Result<(), MailError> {
        let subject = format!("[kvaudit] {}", render::title(alert));
        let body = MultiPart::alternative_plain_html(render::plain_text(alert), render::html(alert));
        self.send(subject, body, to, delivery_id, Some(&alert.id)).await
    }

    /// Sends one digest of `alerts` to `to`.
    pub async fn send_digest(&self, alerts: &[&Alert], to: &[Address], delivery_id: &str) -> Result<(), MailError> {
        let subject = format!("[kvaudit] {}", render::digest_title(alerts));
        let body = MultiPart::alternative_plain_html(render::digest_plain_text(alerts), render::digest_html(alerts));
        self.send(subject, body, to, delivery_id, None).await
    }

    async fn send(
        &self,
        subject: String,
        body: MultiPart,
        to: &[Address],
        delivery_id: &str,
        alert_id: Option<&str>,
    ) -> Result<(), MailError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(Some(format!("<kvaudit.{delivery_id}@{}>", self.id_domain)))
            .date_now()
            .user_agent(format!("kvaudit/{}", env!("CARGO_PKG_VERSION")));
        for address in to {
            builder = builder.to(Mailbox::new(None, address.clone()));
        }
        let mut message = builder.multipart(body)?;
        let headers = message.headers_mut();
        headers.insert_raw(HeaderValue::new(HeaderName::new_from_ascii_str("X-Kvaudit-Delivery"), delivery_id.into()));
        if let Some(id) = alert_id {
            headers.insert_raw(HeaderValue::new(HeaderName::new_from_ascii_str("X-Kvaudit-Alert"), id.to_owned()));
        }
        self.transport.send(message).await.map(|_| ()).map_err(classify)
    }
}

/// An answer from the server (a reply code) is about this mail; anything else (connect,
/// TLS, timeout, a dropped connection) is about the server.
fn classify(e: lettre::transport::smtp::Error) -> MailError {
    if e.is_transient() || e.is_permanent() { MailError::Refused(e) } else { MailError::Unreachable(e) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_with_the_field_named() {
        assert!(parse_address("to", "soc@contoso.com").is_ok());
        assert!(parse_mailbox("from", "kvaudit <kvaudit@contoso.com>").is_ok());
        let err = parse_address("channel \"soc\" to", "soc at contoso").unwrap_err().to_string();
        assert!(err.contains("channel \"soc\" to") && err.contains("soc at contoso"), "{err}");
    }
}
