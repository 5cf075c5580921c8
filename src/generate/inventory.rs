//! The secret inventory as of the end of the period, one file per vault, in the JSON shape
//! `az keyvault secret list --vault-name NAME` prints (what `kvaudit inventory import`
//! reads): an array of objects with alphabetically ordered keys, dates as
//! `2025-11-03T10:15:22+00:00`, no secret values, and ids without versions.
//!
//! Deleted secrets are absent; certificate-backed secrets are present with `managed: true`,
//! as the CLI lists them.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::Serialize;

use super::GenerateError;
use super::time::az_datetime;
use super::world::{Vault, World};

#[derive(Serialize)]
struct Attributes {
    created: String,
    enabled: bool,
    expires: Option<String>,
    #[serde(rename = "notBefore")]
    not_before: Option<String>,
    #[serde(rename = "recoverableDays")]
    recoverable_days: u32,
    #[serde(rename = "recoveryLevel")]
    recovery_level: &'static str,
    updated: String,
}

#[derive(Serialize)]
struct Entry<'w> {
    attributes: Attributes,
    #[serde(rename = "contentType")]
    content_type: Option<&'w str>,
    id: String,
    managed: Option<bool>,
    name: &'w str,
    tags: BTreeMap<&'w str, &'w str>,
}

fn entries<'w>(world: &World, vault: &'w Vault) -> Vec<Entry<'w>> {
    let mut out: Vec<Entry<'w>> = vault
        .secrets
        .iter()
        .filter(|s| s.exists_at(world.end - 1))
        .map(|s| {
            let current = s.current();
            Entry {
                attributes: Attributes {
                    created: az_datetime(current.created),
                    enabled: true,
                    expires: current.expires.map(az_datetime),
                    not_before: None,
                    recoverable_days: 90,
                    // Purge protection makes soft-deleted secrets unpurgeable.
                    recovery_level: if vault.purge_protection { "Recoverable" } else { "Recoverable+Purgeable" },
                    updated: az_datetime(current.created),
                },
                content_type: s.content_type,
                id: format!("{}secrets/{}", vault.url, s.name),
                managed: s.managed.then_some(true),
                name: s.name,
                tags: s.tags.iter().copied().collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(b.name));
    out
}

/// Writes `{dir}/{vault}.json` for every vault.
pub fn write(world: &World, dir: &Path) -> Result<(), GenerateError> {
    fs::create_dir_all(dir).map_err(|source| GenerateError::CreateDir { path: dir.to_owned(), source })?;
    for vault in &world.vaults {
        let path = dir.join(format!("{}.json", vault.name));
        let mut text = serde_json::to_vec_pretty(&entries(world, vault))
            .map_err(|source| GenerateError::Json { path: path.clone(), source })?;
        text.push(b'\n');
        fs::write(&path, text).map_err(|source| GenerateError::Write { path, source })?;
    }
    Ok(())
}
