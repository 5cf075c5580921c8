//! Where the blobs are and how to authenticate: `az://ACCOUNT/CONTAINER[/PREFIX]`, the
//! endpoint (public cloud by default, or `--blob-endpoint` for sovereign clouds and
//! Azurite) and the credential.
//!
//! Invariant: a SAS token lives only in [`SasToken`], whose `Debug` and `Display` print
//! nothing of it, so no log line or error message can carry it by accident.

use url::Url;

use super::BlobError;

/// `az://ACCOUNT/CONTAINER[/PREFIX]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobLocation {
    pub account: String,
    pub container: String,
    /// A blob name prefix inside the container, without a leading `/` (may be empty).
    pub prefix: String,
}

impl BlobLocation {
    /// Parses `az://ACCOUNT/CONTAINER[/PREFIX]`; `None` when `text` is not an `az://` URL.
    pub fn parse(text: &str) -> Option<Result<Self, BlobError>> {
        let rest = text.strip_prefix("az://")?;
        let bad = |reason: &str| {
            Some(Err(BlobError::Config(format!("{text:?} is not az://ACCOUNT/CONTAINER[/PREFIX]: {reason}"))))
        };
        let mut parts = rest.splitn(3, '/');
        let account = parts.next().unwrap_or_default();
        let container = parts.next().unwrap_or_default();
        let prefix = parts.next().unwrap_or_default();
        if account.is_empty() || !account.chars().all(|c| c.is_ascii_alphanumeric()) {
            return bad("the account name is letters and digits");
        }
        if container.is_empty() {
            return bad("the container is missing");
        }
        Some(Ok(BlobLocation { account: account.into(), container: container.into(), prefix: prefix.into() }))
    }

    /// The `az://` form, used as the key of this location's listing state and as the
    /// prefix of every blob's `source`.
    pub fn url(&self) -> String {
        format!("az://{}/{}/{}", self.account, self.container, self.prefix)
    }

    /// The `source` of one blob: `az://ACCOUNT/CONTAINER/NAME`.
    pub fn blob_key(&self, name: &str) -> String {
        format!("az://{}/{}/{name}", self.account, self.container)
    }
}

/// A SAS token. Never printed: `Debug` and `Display` show `SasToken(…)`.
#[derive(Clone, PartialEq, Eq)]
pub struct SasToken(String);

impl SasToken {
    /// Takes a token as the portal or `az storage ... generate-sas` prints it, with or
    /// without the leading `?`, or a whole SAS URL (its query is the token).
    pub fn new(text: &str) -> Result<Self, BlobError> {
        let text = text.trim();
        let token = match text.split_once('?') {
            Some((_, query)) => query,
            None => text,
        };
        if token.is_empty() || !token.contains("sig=") {
            return Err(BlobError::Config("the SAS token has no signature (sig=...)".into()));
        }
        Ok(SasToken(token.to_string()))
    }

    pub(crate) fn query(&self) -> &str {
        &self.0
    }

    /// The strings that must never be shown: the token, and its signature as written and
    /// decoded.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.0.clone()];
        for (k, v) in url::form_urlencoded::parse(self.0.as_bytes()) {
            if k == "sig" && !v.is_empty() {
                secrets.push(v.to_string());
                if let Some(raw) = self.0.split('&').find_map(|p| p.strip_prefix("sig=")) {
                    secrets.push(raw.to_string());
                }
            }
        }
        secrets
    }
}

impl std::fmt::Debug for SasToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SasToken(…)")
    }
}

/// How requests are authorized.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A SAS token appended to every request's query.
    Sas(SasToken),
    /// Entra ID through `azure_identity` (see `credential.rs` for the order tried).
    EntraId,
}

/// Everything needed to talk to one container.
#[derive(Debug, Clone)]
pub struct BlobConfig {
    pub location: BlobLocation,
    /// The account's blob endpoint, e.g. `https://ACCOUNT.blob.core.windows.net` or
    /// Azurite's `http://127.0.0.1:10000/devstoreaccount1`.
    pub endpoint: Url,
    pub credential: Credential,
    /// How long transient failures (timeouts, 5xx, 429, dropped connections) are retried
    /// before a request fails.
    pub retry_for: std::time::Duration,
    /// How long one request may wait for the service (to connect, or between two reads of
    /// an answer) before it counts as a timeout and is retried: a connection that hangs
    /// without failing must not stall a run forever.
    pub request_timeout: std::time::Duration,
    /// Blobs downloaded at once.
    pub concurrency: usize,
    /// Hours before the newest hour seen that every run lists again: the service can
    /// append to an hour's blob after the hour ends.
    pub grace_hours: u32,
    /// How often a run lists the whole prefix instead of the recent hours, to find appends
    /// later than the grace period (`None`: never by itself).
    pub full_listing_every: Option<std::time::Duration>,
}

impl BlobConfig {
    /// The public cloud's endpoint for `account`.
    pub fn public_endpoint(account: &str) -> Url {
        Url::parse(&format!("https://{account}.blob.core.windows.net/")).expect("account names are URL-safe")
    }

    /// The container's URL, without credential.
    pub fn container_url(&self) -> Url {
        let mut url = self.endpoint.clone();
        url.set_query(None);
        url.path_segments_mut().expect("blob endpoints are base URLs").pop_if_empty().push(&self.location.container);
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn az_urls_name_account_container_and_prefix() {
        let loc =
            BlobLocation::parse("az://acct1/insights-logs-auditevent/resourceId=/SUBSCRIPTIONS/S1").unwrap().unwrap();
        assert_eq!(
            (loc.account.as_str(), loc.container.as_str(), loc.prefix.as_str()),
            ("acct1", "insights-logs-auditevent", "resourceId=/SUBSCRIPTIONS/S1")
        );
        assert!(BlobLocation::parse("/tmp/x").is_none());
        assert!(BlobLocation::parse("az://acct1").unwrap().is_err());
        assert!(BlobLocation::parse("az://a-b/c").unwrap().is_err());
    }

    #[test]
    fn sas_tokens_never_print() {
        let sas = SasToken::new("?sv=2020-08-04&ss=b&sig=abc%2Bdef").unwrap();
        assert_eq!(format!("{sas:?}"), "SasToken(…)");
        assert_eq!(sas.query(), "sv=2020-08-04&ss=b&sig=abc%2Bdef");
        assert!(sas.secrets().contains(&"abc+def".to_string()));
        assert!(sas.secrets().contains(&"abc%2Bdef".to_string()));
        assert!(SasToken::new("sv=1").is_err());
    }

    #[test]
    fn container_url_joins_endpoint_and_container() {
        let config = BlobConfig {
            location: BlobLocation::parse("az://devstoreaccount1/c1").unwrap().unwrap(),
            endpoint: Url::parse("http://127.0.0.1:10000/devstoreaccount1").unwrap(),
            credential: Credential::EntraId,
            retry_for: std::time::Duration::from_secs(1),
            request_timeout: std::time::Duration::from_secs(5),
            concurrency: 1,
            grace_hours: 2,
            full_listing_every: None,
        };
        assert_eq!(config.container_url().as_str(), "http://127.0.0.1:10000/devstoreaccount1/c1");
        let public = BlobConfig { endpoint: BlobConfig::public_endpoint("acct"), ..config };
        assert_eq!(public.container_url().as_str(), "https://acct.blob.core.windows.net/c1");
    }
}
