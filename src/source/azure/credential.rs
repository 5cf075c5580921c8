//! Entra ID credentials, chosen from the environment the way the cloud provides them:
//! a service principal's secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
//! `AZURE_CLIENT_SECRET`); workload identity on Kubernetes (`AZURE_FEDERATED_TOKEN_FILE`);
//! a managed identity where the platform announces one (`IDENTITY_ENDPOINT`, or
//! `KVAUDIT_MANAGED_IDENTITY=1` on a VM, optionally with `AZURE_CLIENT_ID` for a
//! user-assigned one); otherwise the developer's own login (`az login` or `azd auth login`).
//! SAS tokens are handled by `config.rs`; nothing here reads them.

use std::sync::Arc;

use azure_core::credentials::{Secret, TokenCredential};
use azure_identity::{
    ClientSecretCredential, DeveloperToolsCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential,
};

use super::BlobError;
use super::config::BlobConfig;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The Entra ID credential this environment offers.
pub fn entra_id(config: &BlobConfig) -> Result<Arc<dyn TokenCredential>, BlobError> {
    let account = &config.location.account;
    let fail = |what: &str, e: azure_core::Error| BlobError::Config(format!("account {account}: {what}: {e}"));
    if let (Some(tenant), Some(client), Some(secret)) =
        (var("AZURE_TENANT_ID"), var("AZURE_CLIENT_ID"), var("AZURE_CLIENT_SECRET"))
    {
        let credential = ClientSecretCredential::new(&tenant, client, Secret::new(secret), None)
            .map_err(|e| fail("the client secret credential is not usable", e))?;
        return Ok(credential);
    }
    if var("AZURE_FEDERATED_TOKEN_FILE").is_some() {
        let credential =
            WorkloadIdentityCredential::new(None).map_err(|e| fail("the workload identity is not usable", e))?;
        return Ok(credential);
    }
    if var("IDENTITY_ENDPOINT").is_some() || var("KVAUDIT_MANAGED_IDENTITY").is_some_and(|v| v == "1") {
        let options = ManagedIdentityCredentialOptions {
            user_assigned_id: var("AZURE_CLIENT_ID").map(UserAssignedId::ClientId),
            ..Default::default()
        };
        let credential =
            ManagedIdentityCredential::new(Some(options)).map_err(|e| fail("the managed identity is not usable", e))?;
        return Ok(credential);
    }
    let credential =
        DeveloperToolsCredential::new(None).map_err(|e| fail("no developer login (az login) is usable", e))?;
    Ok(credential)
}
