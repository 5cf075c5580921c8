//! The container client: listing (flat and one folder level at a time), range reads, and
//! the health check. Every call goes through `azure_storage_blob`'s pipeline, whose retry
//! policy retries timeouts, 408/429/5xx and dropped connections with exponential backoff
//! and jitter, within `retry_for`. Requests go through our own `reqwest` client so that
//! `request_timeout` bounds a hung connection (connect, and each wait for bytes); the
//! SDK's default client waits 60 s and cannot be configured.
//!
//! One exception, on purpose: `azure_storage_blob` 1.1.0 removed
//! `list_blobs_hierarchical` (changelog of 1.1.0-beta.2), so a listing with a delimiter is
//! sent as a plain `List Blobs` request through an `azure_core` pipeline built with the same
//! options and authorization policy, and its XML read here.
//!
//! Invariant: error messages name the account and container, never the request URL, which
//! carries the SAS token; every message also passes through [`Redactor`].

use std::sync::Arc;

use azure_core::error::ErrorKind;
use azure_core::http::policies::Policy;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{
    ClientOptions, Context, ExponentialRetryOptions, Method, Pipeline, Request, RetryOptions, StatusCode, Transport,
    Url,
};
use azure_storage_blob::models::{BlobClientDownloadOptions, BlobContainerClientListBlobsOptions, HttpRange};
use azure_storage_blob::{BlobContainerClient, BlobContainerClientOptions};
use futures::TryStreamExt;
use serde::Deserialize;

use super::config::{BlobConfig, Credential};
use super::{BlobError, credential};

/// A blob as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBlob {
    pub name: String,
    pub length: u64,
    pub etag: String,
    /// Creation time (Unix seconds): a blob deleted and created again gets a new one.
    pub created: Option<i64>,
}

/// What one folder level holds.
#[derive(Debug, Default)]
pub struct Level {
    pub folders: Vec<String>,
    pub blobs: Vec<ListedBlob>,
}

/// The outcome of a range read.
#[derive(Debug)]
pub enum RangeRead {
    Bytes(azure_core::Bytes),
    /// Nothing at or after the offset: `416 InvalidRange` (Azure) or an empty `206`
    /// (Azurite).
    NoNewData,
}

/// Replaces secrets in messages.
#[derive(Debug, Clone, Default)]
pub struct Redactor(Vec<String>);

impl Redactor {
    /// A redactor of these secrets (and of any `sig=` value).
    pub fn for_secrets(secrets: Vec<String>) -> Self {
        Redactor(secrets)
    }

    pub fn clean(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in self.0.iter().filter(|s| s.len() >= 4) {
            text = text.replace(secret.as_str(), "[redacted]");
        }
        // Belt and braces: any `sig=` left (a token we did not see whole) goes too.
        let mut from = 0;
        while let Some(found) = text[from..].find("sig=") {
            let i = from + found + 4;
            let end = text[i..].find(|c: char| c == '&' || c.is_whitespace() || c == ')').map_or(text.len(), |e| i + e);
            text.replace_range(i..end, "[redacted]");
            from = i + "[redacted]".len();
        }
        text
    }
}

/// One container, ready to list and read.
pub struct BlobStore {
    config: BlobConfig,
    container: BlobContainerClient,
    pipeline: Pipeline,
    /// The container URL with the SAS query, if any. Never shown.
    url: Url,
    redactor: Redactor,
}

/// Whether a transport error was a timeout somewhere down its chain of causes (the retry
/// policy's own message, on top, only says that it gave up).
fn timed_out(error: &azure_core::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<reqwest::Error>().is_some_and(reqwest::Error::is_timeout)
            || e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// `x-ms-version` of the requests sent outside the SDK's typed clients.
const API_VERSION: &str = "2025-01-05";

impl BlobStore {
    pub fn new(config: BlobConfig) -> Result<Self, BlobError> {
        let mut url = config.container_url();
        let (token, redactor) = match &config.credential {
            Credential::Sas(sas) => {
                url.set_query(Some(sas.query()));
                (None, Redactor(sas.secrets()))
            }
            Credential::EntraId => (Some(credential::entra_id(&config)?), Redactor::default()),
        };
        let retry = RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(200),
            max_retries: 10,
            max_total_elapsed: azure_core::time::Duration::try_from(config.retry_for)
                .unwrap_or(azure_core::time::Duration::seconds(60)),
            max_delay: azure_core::time::Duration::seconds(10),
        });
        let http = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            .read_timeout(config.request_timeout)
            // The Blob service never redirects; following one could send the SAS elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BlobError::Config(format!("cannot build the HTTP client: {e}")))?;
        let client_options =
            ClientOptions { retry, transport: Some(Transport::new(Arc::new(http))), ..Default::default() };
        let options = BlobContainerClientOptions { client_options: client_options.clone(), ..Default::default() };
        let account = config.location.account.clone();
        let container = BlobContainerClient::new(url.clone(), token.clone(), Some(options))
            .map_err(|e| BlobError::Config(format!("account {account}: {}", redactor.clean(&e.to_string()))))?;
        let mut per_try: Vec<Arc<dyn Policy>> = Vec::new();
        if let Some(token) = token {
            per_try
                .push(Arc::new(BearerTokenAuthorizationPolicy::new(token, vec!["https://storage.azure.com/.default"])));
        }
        let pipeline =
            Pipeline::new(Some("kvaudit"), Some(env!("CARGO_PKG_VERSION")), client_options, Vec::new(), per_try, None);
        Ok(BlobStore { config, container, pipeline, url, redactor })
    }

    pub fn config(&self) -> &BlobConfig {
        &self.config
    }

    /// A one-line reason naming the account and container, without any secret.
    fn fail(&self, doing: &str, error: azure_core::Error) -> BlobError {
        let loc = &self.config.location;
        let reason = match error.kind() {
            ErrorKind::HttpResponse { status, error_code, .. } => {
                let code = error_code.clone().unwrap_or_default();
                match *status {
                    StatusCode::Forbidden => format!(
                        "access denied ({code}): check the SAS token or the Entra ID role (Storage Blob Data Reader)"
                    ),
                    StatusCode::NotFound if code == "ContainerNotFound" => "the container does not exist".to_string(),
                    StatusCode::Unauthorized => format!("not authorized ({code})"),
                    status => format!("the service answered {} {code}", u16::from(status)),
                }
            }
            ErrorKind::Connection | ErrorKind::Io if timed_out(&error) => format!(
                "cannot reach {}: no answer within the request timeout of {} s, retried for {} s",
                self.config.endpoint.as_str().trim_end_matches('/'),
                self.config.request_timeout.as_secs(),
                self.config.retry_for.as_secs()
            ),
            ErrorKind::Connection | ErrorKind::Io => {
                format!("cannot reach {} ({})", self.config.endpoint.as_str().trim_end_matches('/'), error)
            }
            ErrorKind::Credential => format!("no Entra ID credential worked ({error})"),
            _ => error.to_string(),
        };
        BlobError::Request {
            account: loc.account.clone(),
            container: loc.container.clone(),
            doing: doing.to_string(),
            reason: self.redactor.clean(&reason),
        }
    }

    /// Fails fast, with the reason, when the account cannot be reached, the credential is
    /// refused or the container is missing: one cheap listing of at most one blob.
    pub async fn check(&self) -> Result<(), BlobError> {
        let options = BlobContainerClientListBlobsOptions { maxresults: Some(1), ..Default::default() };
        let mut pager =
            self.container.list_blobs(Some(options)).map_err(|e| self.fail("checking access", e))?.into_pages();
        pager.try_next().await.map_err(|e| self.fail("checking access", e))?;
        Ok(())
    }

    /// Every blob under `prefix`, in name order.
    pub async fn list_flat(&self, prefix: &str) -> Result<Vec<ListedBlob>, BlobError> {
        let options = BlobContainerClientListBlobsOptions { prefix: Some(prefix.to_string()), ..Default::default() };
        let mut items = self.container.list_blobs(Some(options)).map_err(|e| self.fail("listing blobs", e))?;
        let mut out = Vec::new();
        while let Some(item) = items.try_next().await.map_err(|e| self.fail("listing blobs", e))? {
            let (Some(name), Some(props)) = (item.name, item.properties) else { continue };
            out.push(ListedBlob {
                name,
                length: props.content_length.unwrap_or(0),
                etag: props.etag.map(|e| e.to_string()).unwrap_or_default(),
                created: props.creation_time.map(|t| t.unix_timestamp()),
            });
        }
        Ok(out)
    }

    /// The folders and blobs directly under `prefix` (a listing with delimiter `/`).
    pub async fn list_level(&self, prefix: &str) -> Result<Level, BlobError> {
        let mut level = Level::default();
        let mut marker: Option<String> = None;
        loop {
            let mut url = self.url.clone();
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("restype", "container").append_pair("comp", "list");
                q.append_pair("delimiter", "/").append_pair("prefix", prefix);
                if let Some(m) = &marker {
                    q.append_pair("marker", m);
                }
            }
            let mut request = Request::new(url, Method::Get);
            request.insert_header("x-ms-version", API_VERSION);
            request.insert_header("accept", "application/xml");
            let response = self
                .pipeline
                .send(&Context::new(), &mut request, None)
                .await
                .map_err(|e| self.fail("listing folders", e))?;
            let body = response.into_body();
            let page: EnumerationResults =
                azure_core::xml::from_xml(&body).map_err(|e| self.fail("listing folders", e))?;
            for item in page.blobs.map(|b| b.items).unwrap_or_default() {
                match item {
                    Item::BlobPrefix(p) => level.folders.push(p.name),
                    Item::Blob(b) => level.blobs.push(ListedBlob {
                        name: b.name,
                        length: b.properties.content_length,
                        etag: b.properties.etag,
                        created: b
                            .properties
                            .creation_time
                            .and_then(|t| chrono::DateTime::parse_from_rfc2822(&t).ok())
                            .map(|t| t.timestamp()),
                    }),
                    Item::Other => {}
                }
            }
            match page.next_marker.filter(|m| !m.is_empty()) {
                Some(m) => marker = Some(m),
                None => return Ok(level),
            }
        }
    }

    /// Deletes a blob with one Delete Blob request; `false` if there was none.
    pub async fn delete_blob(&self, name: &str) -> Result<bool, BlobError> {
        match self.container.blob_client(name).delete(None).await {
            Ok(_) => Ok(true),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => Ok(false),
            Err(e) => Err(self.fail("deleting a blob", e)),
        }
    }

    /// Reads `[start, end)` of a blob. A range at or past the blob's end is "no new data",
    /// however the service says it.
    pub async fn read_range(&self, name: &str, start: u64, end: u64) -> Result<RangeRead, BlobError> {
        if end <= start {
            return Ok(RangeRead::NoNewData);
        }
        let blob = self.container.blob_client(name);
        let options = BlobClientDownloadOptions {
            range: Some(HttpRange::new(start, end - start)),
            parallel: std::num::NonZero::new(1),
            partition_size: usize::try_from(end - start).ok().and_then(std::num::NonZero::new),
            ..Default::default()
        };
        let doing = "reading a blob";
        match blob.download(Some(options)).await {
            Ok(result) => {
                let bytes = result.body.collect().await.map_err(|e| self.fail(doing, e))?;
                if bytes.is_empty() { Ok(RangeRead::NoNewData) } else { Ok(RangeRead::Bytes(bytes)) }
            }
            Err(e) if e.http_status() == Some(StatusCode::RequestedRangeNotSatisfiable) => Ok(RangeRead::NoNewData),
            Err(e) => Err(self.fail(doing, e)),
        }
    }
}

#[derive(Deserialize)]
struct EnumerationResults {
    #[serde(rename = "Blobs")]
    blobs: Option<Blobs>,
    #[serde(rename = "NextMarker")]
    next_marker: Option<String>,
}

#[derive(Deserialize)]
struct Blobs {
    #[serde(rename = "$value", default)]
    items: Vec<Item>,
}

#[derive(Deserialize)]
enum Item {
    Blob(RawBlob),
    BlobPrefix(RawPrefix),
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct RawPrefix {
    #[serde(rename = "Name")]
    name: String,
}

#[derive(Deserialize)]
struct RawBlob {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Properties")]
    properties: RawProperties,
}

#[derive(Deserialize)]
struct RawProperties {
    #[serde(rename = "Content-Length")]
    content_length: u64,
    #[serde(rename = "Etag", default)]
    etag: String,
    #[serde(rename = "Creation-Time")]
    creation_time: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_listings_parse() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://x/" ContainerName="c"><Prefix>a/</Prefix><Delimiter>/</Delimiter><Blobs><Blob><Name>a/f.json</Name><Properties><Creation-Time>Fri, 27 Nov 2026 10:00:00 GMT</Creation-Time><Etag>0x1</Etag><Content-Length>12</Content-Length><BlobType>AppendBlob</BlobType></Properties></Blob><BlobPrefix><Name>a/b/</Name></BlobPrefix></Blobs><NextMarker/></EnumerationResults>"#;
        let page: EnumerationResults = azure_core::xml::from_xml(xml.as_bytes()).unwrap();
        let items = page.blobs.unwrap().items;
        assert!(matches!(&items[0], Item::Blob(b) if b.name == "a/f.json" && b.properties.content_length == 12));
        assert!(matches!(&items[1], Item::BlobPrefix(p) if p.name == "a/b/"));
        assert_eq!(page.next_marker.as_deref(), Some(""));
    }

    #[test]
    fn redaction_removes_tokens_and_signatures() {
        let r = Redactor(vec!["sv=1&sig=SECRETSIG".into(), "SECRETSIG".into()]);
        assert_eq!(r.clean("GET http://h/c?sv=1&sig=SECRETSIG failed"), "GET http://h/c?[redacted] failed");
        assert_eq!(Redactor::default().clean("url?a=1&sig=OTHER&b=2"), "url?a=1&sig=[redacted]&b=2");
    }

    /// Real Azure answers `416 InvalidRange` to a range starting at the end of a blob
    /// (Azurite does not): a one-request HTTP server replays that answer.
    #[test]
    fn a_416_at_the_end_of_a_blob_is_no_new_data() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).unwrap();
                request.extend_from_slice(&buf[..n]);
            }
            let body = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>InvalidRange</Code><Message>The range specified is invalid for the current size of the resource.</Message></Error>";
            let response = format!(
                "HTTP/1.1 416 The range specified is invalid for the current size of the resource.\r\nContent-Length: {}\r\nContent-Type: application/xml\r\nContent-Range: bytes */100\r\nx-ms-error-code: InvalidRange\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
        let config = BlobConfig {
            location: super::super::BlobLocation::parse("az://acct/c").unwrap().unwrap(),
            endpoint: Url::parse(&format!("http://127.0.0.1:{port}/acct")).unwrap(),
            credential: Credential::Sas(super::super::SasToken::new("sv=1&sig=x").unwrap()),
            retry_for: std::time::Duration::from_secs(1),
            request_timeout: std::time::Duration::from_secs(5),
            concurrency: 1,
            grace_hours: 2,
            full_listing_every: None,
        };
        let store = BlobStore::new(config).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let read = runtime.block_on(store.read_range("b.json", 100, 200)).unwrap();
        assert!(matches!(read, RangeRead::NoNewData), "{read:?}");
        let request = server.join().unwrap();
        assert!(request.to_ascii_lowercase().contains("range: bytes=100-199"), "{request}");
    }
}
