//! The same container reached through `object_store` (its `azure` feature), for the lake
//! kept in Blob Storage (`--lake az://…`): DataFusion reads Parquet through this trait, and
//! the lake's remote commits need its conditional puts.
//!
//! Endpoint and credential are the ones the blob source takes ([`BlobConfig`]): a SAS
//! token, or Entra ID through the same `azure_identity` credential chain as `client.rs`
//! (wrapped below as an `object_store` credential provider), never a second set of flags.
//!
//! Invariant: no error leaving this module carries a secret. `object_store` already leaves
//! the URL out of errors of requests signed with a SAS; [`clean`] removes any token or
//! signature that might still appear.

use std::ops::Range;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::azure::{AzureCredential, MicrosoftAzureBuilder};
use object_store::path::Path;
use object_store::{
    ClientOptions, CopyOptions, CredentialProvider, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RetryConfig,
};

use super::client::{BlobStore, Redactor};
use super::config::{BlobConfig, Credential};
use super::{BlobError, credential};

/// The scope of Entra ID tokens for Blob Storage.
const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// Entra ID tokens from `azure_identity` (which caches and refreshes them), handed to
/// `object_store` as bearer tokens.
struct EntraIdProvider {
    credential: Arc<dyn TokenCredential>,
}

impl std::fmt::Debug for EntraIdProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntraIdProvider")
    }
}

#[async_trait::async_trait]
impl CredentialProvider for EntraIdProvider {
    type Credential = AzureCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AzureCredential>> {
        let token = self.credential.get_token(&[STORAGE_SCOPE], None).await.map_err(|e| {
            object_store::Error::Unauthenticated { path: String::new(), source: format!("Entra ID: {e}").into() }
        })?;
        Ok(Arc::new(AzureCredential::BearerToken(token.token.secret().to_string())))
    }
}

/// The container of `config` as an object store, its paths relative to the container.
/// `object_store` retries 5xx, 429 and timeouts itself, for `config.retry_for`.
pub fn container_store(config: &BlobConfig) -> Result<Arc<dyn ObjectStore>, BlobError> {
    let location = &config.location;
    let mut builder = MicrosoftAzureBuilder::new()
        .with_account(&location.account)
        .with_container_name(&location.container)
        .with_endpoint(config.endpoint.as_str().trim_end_matches('/').to_string())
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(config.endpoint.scheme() == "http")
                .with_connect_timeout(config.request_timeout)
                // A whole request (a Parquet file of up to a few hundred MB goes up in parts
                // of 10 MB) may take longer than one wait for bytes; `object_store` has no
                // read timeout, so the bound is generous.
                .with_timeout(config.request_timeout * 10),
        )
        .with_retry(RetryConfig { retry_timeout: config.retry_for, ..Default::default() });
    builder = match &config.credential {
        Credential::Sas(sas) => {
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(sas.query().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            builder.with_sas_authorization(pairs)
        }
        Credential::EntraId => {
            builder.with_credentials(Arc::new(EntraIdProvider { credential: credential::entra_id(config)? }))
        }
    };
    let store = builder
        .build()
        .map_err(|e| BlobError::Config(format!("account {}: {}", location.account, clean(config, &e.to_string()))))?;
    let blobs = Arc::new(BlobStore::new(config.clone())?);
    Ok(Arc::new(SingleDeletes { inner: Arc::new(store), blobs }))
}

/// Deletes sent one Delete Blob at a time, through the SDK client of `client.rs`:
/// `object_store` sends them as Blob Batch requests, which Azurite answers with a 500.
/// Everything else goes to `object_store`'s Azure store.
#[derive(Debug)]
struct SingleDeletes {
    inner: Arc<dyn ObjectStore>,
    blobs: Arc<BlobStore>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.config().location.url())
    }
}

impl std::fmt::Display for SingleDeletes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.inner)
    }
}

/// Deletes in flight at once.
const DELETES: usize = 8;

#[async_trait::async_trait]
impl ObjectStore for SingleDeletes {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let blobs = Arc::clone(&self.blobs);
        locations
            .map(move |location| {
                let blobs = Arc::clone(&blobs);
                async move {
                    let location = location?;
                    match blobs.delete_blob(location.as_ref()).await {
                        Ok(true) => Ok(location),
                        Ok(false) => Err(object_store::Error::NotFound {
                            path: location.to_string(),
                            source: "no such blob".into(),
                        }),
                        Err(e) => Err(object_store::Error::Generic { store: "MicrosoftAzure", source: Box::new(e) }),
                    }
                }
            })
            .buffered(DELETES)
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// `text` with the SAS token of `config` (if any) and any `sig=` value removed.
pub fn clean(config: &BlobConfig, text: &str) -> String {
    let redactor = match &config.credential {
        Credential::Sas(sas) => Redactor::for_secrets(sas.secrets()),
        Credential::EntraId => Redactor::default(),
    };
    redactor.clean(text)
}
