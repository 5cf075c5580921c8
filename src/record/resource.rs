//! Names out of Key Vault's two identifiers: `resourceId` (the ARM id of the vault or
//! Managed HSM, upper-case in logs) and `properties.id` (the URL of the object touched,
//! lower-case host, names as the caller wrote them).
//!
//! Invariant: vault, subscription and resource group come out lower-case, so that the
//! upper-case `resourceId` and the lower-case `properties.id` host compare equal. Object
//! names keep their case: Key Vault object names are case-insensitive but reported as
//! created, and owners search for them as they know them.
//!
//! A blob holds one vault's hour, so consecutive records repeat one `resourceId`:
//! [`ResourceCache`] parses it once per run of equal ids and hands out shared names.

use std::sync::Arc;

/// What `resourceId` says about where a record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    pub subscription_id: Option<Arc<str>>,
    pub resource_group: Option<Arc<str>>,
    /// `vault` for Key Vault, `managed_hsm` for Managed HSM.
    pub resource_type: &'static str,
    pub name: Arc<str>,
}

/// The last `resourceId` parsed and what it said: a record whose id equals the previous
/// one's costs one comparison and three reference counts instead of a parse and three
/// lower-case copies.
#[derive(Debug, Default)]
pub struct ResourceCache {
    last: Option<(String, Option<ResourceRef>)>,
}

impl ResourceCache {
    /// [`parse_resource_id`], remembered for the next call with the same text.
    pub fn parse(&mut self, resource_id: &str) -> Option<ResourceRef> {
        match &self.last {
            Some((text, parsed)) if text == resource_id => parsed.clone(),
            _ => {
                let parsed = parse_resource_id(resource_id);
                self.last = Some((resource_id.to_owned(), parsed.clone()));
                parsed
            }
        }
    }
}

/// Parses `/SUBSCRIPTIONS/{S}/RESOURCEGROUPS/{RG}/PROVIDERS/MICROSOFT.KEYVAULT/{VAULTS|MANAGEDHSMS}/{NAME}`
/// in any case. Returns `None` when no vault or HSM name can be found.
pub fn parse_resource_id(resource_id: &str) -> Option<ResourceRef> {
    let mut subscription_id = None;
    let mut resource_group = None;
    let mut found: Option<(&'static str, Arc<str>)> = None;
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
        let value: Arc<str> = value.to_ascii_lowercase().into();
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
    /// First label of the host (`https://VAULT.vault.azure.net/...`), as written: the
    /// caller lower-cases it when it needs it (only records without `resourceId` do).
    pub vault: Option<&'a str>,
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
    // One SIMD search for the end of the path (`split(['?', '#'])` compared every character
    // against both); this runs for every record.
    let path = memchr::memchr2(b'?', b'#', path.as_bytes()).map_or(path, |end| &path[..end]);
    let vault = host.split_once('.').map(|(label, _)| label).filter(|label| !label.is_empty());
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let collection = segments.next().unwrap_or("");
    // Compared without a lower-case copy: this runs for every record.
    let is = |a: &str, b: &str| collection.eq_ignore_ascii_case(a) || collection.eq_ignore_ascii_case(b);
    let object_type = if is("secrets", "deletedsecrets") {
        Some("secret")
    } else if is("keys", "deletedkeys") {
        Some("key")
    } else if is("certificates", "deletedcertificates") {
        Some("certificate")
    } else {
        None
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
        assert_eq!((r.resource_type, &*r.name), ("vault", "securaallkeyvault"));
    }

    #[test]
    fn managed_hsm_resource_id_is_recognised() {
        let r = parse_resource_id("/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/managedHSMs/Hsm1")
            .unwrap();
        assert_eq!((r.resource_type, &*r.name), ("managed_hsm", "hsm1"));
        assert!(parse_resource_id("/SUBSCRIPTIONS/S/RESOURCEGROUPS/G").is_none());
    }

    #[test]
    fn object_id_gives_type_name_and_version() {
        let o = parse_object_id(
            "https://securaallkeyvault.vault.azure.net/secrets/SecuraAllSecret/4c39bacace9a49b2bd542ce61bd6f312",
        );
        assert_eq!(o.vault, Some("securaallkeyvault"));
        assert_eq!(o.object_type, Some("secret"));
        assert_eq!(o.name, Some("SecuraAllSecret"));
        assert_eq!(o.version, Some("4c39bacace9a49b2bd542ce61bd6f312"));
    }

    #[test]
    fn deleted_collections_and_vault_urls() {
        let o = parse_object_id("https://testpermissionvault.vault.azure.net/deletedkeys/MyFirstKey");
        assert_eq!((o.object_type, o.name, o.version), (Some("key"), Some("MyFirstKey"), None));
        let v = parse_object_id("https://contosokeyvault.vault.azure.net/");
        assert_eq!((v.vault, v.object_type, v.name), (Some("contosokeyvault"), None, None));
        let p = parse_object_id("https://v.vault.azure.net/certificates/c/pending");
        assert_eq!((p.name, p.version), (Some("c"), None));
    }

    #[test]
    fn the_cache_answers_like_the_parser_when_ids_repeat_or_change() {
        let ids = [
            "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/G1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV-A",
            "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/G1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV-A",
            "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/G1",
            "/subscriptions/s2/resourceGroups/g2/providers/Microsoft.KeyVault/managedHSMs/H",
            "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/G1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV-A",
        ];
        let mut cache = ResourceCache::default();
        for id in ids {
            assert_eq!(cache.parse(id), parse_resource_id(id), "{id}");
        }
        assert_eq!(cache.parse(ids[3]).map(|r| r.name), Some("h".into()));
    }

    #[test]
    fn collections_in_any_case() {
        let o = parse_object_id("https://KV.vault.azure.net/Secrets/s1/v1");
        assert_eq!((o.vault, o.object_type, o.name, o.version), (Some("KV"), Some("secret"), Some("s1"), Some("v1")));
        assert_eq!(
            parse_object_id("https://kv.vault.azure.net/DELETEDCERTIFICATES/c").object_type,
            Some("certificate")
        );
        assert_eq!(parse_object_id("https://kv.vault.azure.net/storage/x").object_type, None);
    }
}
