//! Names out of Key Vault's two identifiers: `resourceId` (the ARM id of the vault or
//! Managed HSM, upper-case in logs) and `properties.id` (the URL of the object touched,
//! lower-case host, names as the caller wrote them).
//!
//! Invariant: vault, subscription and resource group come out lower-case, so that the
//! upper-case `resourceId` and the lower-case `properties.id` host compare equal. Object
//! names keep their case: Key Vault object names are case-insensitive but reported as
//! created, and owners search for them as they know them.

/// What `resourceId` says about where a record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    pub subscription_id: Option<String>,
    pub resource_group: Option<String>,
    /// `vault` for Key Vault, `managed_hsm` for Managed HSM.
    pub resource_type: &'static str,
    pub name: String,
}

/// Parses `/SUBSCRIPTIONS/{S}/RESOURCEGROUPS/{RG}/PROVIDERS/MICROSOFT.KEYVAULT/{VAULTS|MANAGEDHSMS}/{NAME}`
/// in any case. Returns `None` when no vault or HSM name can be found.
pub fn parse_resource_id(resource_id: &str) -> Option<ResourceRef> {
    let mut subscription_id = None;
    let mut resource_group = None;
    let mut found: Option<(&'static str, String)> = None;
    let mut parts = resource_id.split('/').filter(|p| !p.is_empty());
    while let Some(part) = parts.next() {
        let kind = if part.eq_ignore_ascii_case("subscriptions") {
            0
        } else if part.eq_ignore_ascii_case("resourcegroups") {
            1
        } else if part.eq_ignore_ascii_case("vaults") {
            2
        } else if part.eq_ignore_ascii_case("managedhsms") {
            3
        } else {
            continue;
        };
        let Some(value) = parts.next() else { break };
        let value = value.to_ascii_lowercase();
        match kind {
            0 => subscription_id = Some(value),
            1 => resource_group = Some(value),
            2 => found = Some(("vault", value)),
            _ => found = Some(("managed_hsm", value)),
        }
    }
    let (resource_type, name) = found?;
    Some(ResourceRef { subscription_id, resource_group, resource_type, name })
}

/// What `properties.id` says about the object a record touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectRef<'a> {
    /// Lower-case first label of the host (`https://VAULT.vault.azure.net/...`).
    pub vault: Option<String>,
    /// `secret`, `key` or `certificate`; `None` for the vault itself and other collections.
    pub object_type: Option<&'static str>,
    pub name: Option<&'a str>,
    pub version: Option<&'a str>,
}

/// Path segments after an object name that are actions, not versions
/// (`/certificates/NAME/pending`, `/keys/NAME/create`).
const NOT_A_VERSION: &[&str] =
    &["pending", "create", "import", "backup", "restore", "recover", "rotate", "rotationpolicy", "versions"];

/// Parses `https://VAULT.vault.azure.net/{secrets|keys|certificates|deleted*}/NAME[/VERSION]`.
/// Any other URL yields only the vault, when the host has one.
pub fn parse_object_id(id: &str) -> ObjectRef<'_> {
    let rest = id.strip_prefix("https://").or_else(|| id.strip_prefix("http://")).unwrap_or(id);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.split(['?', '#']).next().unwrap_or("");
    let vault =
        host.split('.').next().filter(|label| !label.is_empty() && host.contains('.')).map(str::to_ascii_lowercase);
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let collection = segments.next().unwrap_or("");
    let object_type = match collection.to_ascii_lowercase().as_str() {
        "secrets" | "deletedsecrets" => Some("secret"),
        "keys" | "deletedkeys" => Some("key"),
        "certificates" | "deletedcertificates" => Some("certificate"),
        _ => None,
    };
    let (name, version) = if object_type.is_some() {
        let name = segments.next();
        let version = segments.next().filter(|v| !NOT_A_VERSION.iter().any(|n| v.eq_ignore_ascii_case(n)));
        (name, version)
    } else {
        (None, None)
    };
    ObjectRef { vault, object_type, name, version }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_id_in_upper_case_reads_lower_case() {
        let r = parse_resource_id(
            "/SUBSCRIPTIONS/A921D5D4-BDB7/RESOURCEGROUPS/SECURAALLRG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/SECURAALLKEYVAULT",
        )
        .unwrap();
        assert_eq!(r.subscription_id.as_deref(), Some("a921d5d4-bdb7"));
        assert_eq!(r.resource_group.as_deref(), Some("securaallrg"));
        assert_eq!((r.resource_type, r.name.as_str()), ("vault", "securaallkeyvault"));
    }

    #[test]
    fn managed_hsm_resource_id_is_recognised() {
        let r = parse_resource_id("/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/managedHSMs/Hsm1")
            .unwrap();
        assert_eq!((r.resource_type, r.name.as_str()), ("managed_hsm", "hsm1"));
        assert!(parse_resource_id("/SUBSCRIPTIONS/S/RESOURCEGROUPS/G").is_none());
    }

    #[test]
    fn object_id_gives_type_name_and_version() {
        let o = parse_object_id(
            "https://securaallkeyvault.vault.azure.net/secrets/SecuraAllSecret/4c39bacace9a49b2bd542ce61bd6f312",
        );
        assert_eq!(o.vault.as_deref(), Some("securaallkeyvault"));
        assert_eq!(o.object_type, Some("secret"));
        assert_eq!(o.name, Some("SecuraAllSecret"));
        assert_eq!(o.version, Some("4c39bacace9a49b2bd542ce61bd6f312"));
    }

    #[test]
    fn deleted_collections_and_vault_urls() {
        let o = parse_object_id("https://testpermissionvault.vault.azure.net/deletedkeys/MyFirstKey");
        assert_eq!((o.object_type, o.name, o.version), (Some("key"), Some("MyFirstKey"), None));
        let v = parse_object_id("https://contosokeyvault.vault.azure.net/");
        assert_eq!((v.vault.as_deref(), v.object_type, v.name), (Some("contosokeyvault"), None, None));
        let p = parse_object_id("https://v.vault.azure.net/certificates/c/pending");
        assert_eq!((p.name, p.version), (Some("c"), None));
    }
}
