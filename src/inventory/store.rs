//! Where imports live: `<lake>/inventory/<taken>-<hash>.jsonl`, one line per entry.
//!
//! An import is written whole beside its name and renamed, and never rewritten. Its name
//! carries a hash of its content, so importing the same file again changes nothing.
//! What the vaults hold now is, per vault and object type, the newest import that
//! describes that vault's objects of that type: a secret missing from it has been deleted
//! (or was never listed), even if an older import had it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::parse::parse;
use super::{InventoryError, Item};
use crate::lake::LakePaths;

/// Every import of a lake.
#[derive(Debug, Default)]
pub struct Inventory {
    /// All entries of all imports, oldest import first.
    pub history: Vec<Item>,
}

/// What one `inventory import` did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub files: usize,
    pub entries: usize,
    /// Entries whose file had been imported before with the same content.
    pub unchanged: usize,
    pub vaults: Vec<String>,
    /// Secret values present in the input (`az keyvault secret show`) and not stored.
    pub values_dropped: usize,
}

impl Inventory {
    /// Reads every import of the lake (none yet is an empty inventory).
    pub fn load(lake: &LakePaths) -> Result<Inventory, InventoryError> {
        let dir = lake.inventory_dir();
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Inventory::default()),
            Err(source) => return Err(InventoryError::Io { path: dir, source }),
        };
        files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
        // Names start with the import time: sorted names are imports in order.
        files.sort();
        let mut history = Vec::new();
        for path in files {
            let text =
                std::fs::read_to_string(&path).map_err(|source| InventoryError::Io { path: path.clone(), source })?;
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let item: Item = serde_json::from_str(line).map_err(|source| InventoryError::Corrupt {
                    path: path.clone(),
                    line: n + 1,
                    source,
                })?;
                history.push(item);
            }
        }
        Ok(Inventory { history })
    }

    /// What the vaults hold according to the newest import of each vault and object type,
    /// keyed by (vault, object type, name).
    pub fn current(&self) -> BTreeMap<(String, String, String), &Item> {
        let mut newest: BTreeMap<(&str, &str), DateTime<Utc>> = BTreeMap::new();
        for item in &self.history {
            let t = newest.entry((&item.vault, &item.object_type)).or_insert(item.imported_at);
            *t = (*t).max(item.imported_at);
        }
        let mut out: BTreeMap<(String, String, String), &Item> = BTreeMap::new();
        for item in &self.history {
            if newest.get(&(item.vault.as_str(), item.object_type.as_str())) != Some(&item.imported_at) {
                continue;
            }
            let key = (item.vault.clone(), item.object_type.clone(), item.name.clone());
            // `list-versions` lists every version: the newest created is the current one.
            match out.get(&key) {
                Some(have) if have.created >= item.created => {}
                _ => {
                    out.insert(key, item);
                }
            }
        }
        out
    }

    /// Every entry ever imported for one object, oldest import first.
    pub fn history_of(&self, vault: &str, object_type: &str, name: &str) -> Vec<&Item> {
        self.history.iter().filter(|i| i.vault == vault && i.object_type == object_type && i.name == name).collect()
    }
}

/// Imports `paths` (files, or folders whose `*.json` files are imported) into the lake.
pub fn import(lake: &LakePaths, paths: &[PathBuf], now: DateTime<Utc>) -> Result<ImportReport, InventoryError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| InventoryError::Io { path: path.clone(), source })?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    let dir = lake.inventory_dir();
    std::fs::create_dir_all(&dir).map_err(|source| InventoryError::Io { path: dir.clone(), source })?;
    let mut report =
        ImportReport { files: files.len(), entries: 0, unchanged: 0, vaults: Vec::new(), values_dropped: 0 };
    for (n, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).map_err(|source| InventoryError::Io { path: file.clone(), source })?;
        let source = file.display().to_string();
        let parsed =
            parse(&text, &source, now).map_err(|reason| InventoryError::Format { path: file.clone(), reason })?;
        report.values_dropped += parsed.values_dropped;
        report.entries += parsed.items.len();
        for item in &parsed.items {
            if !report.vaults.contains(&item.vault) {
                report.vaults.push(item.vault.clone());
            }
        }
        // The hash of what is kept (not of the file: a value or key order must not count).
        let mut kept: Vec<String> = parsed
            .items
            .iter()
            .map(|i| {
                serde_json::to_string(&Item { imported_at: DateTime::UNIX_EPOCH, source: String::new(), ..i.clone() })
            })
            .collect::<Result<_, _>>()
            .map_err(|e| InventoryError::Format { path: file.clone(), reason: e.to_string() })?;
        kept.sort();
        let hash = format!("{:016x}", crate::hash::fnv1a(kept.join("\n").as_bytes()));
        if already_imported(&dir, &hash) {
            report.unchanged += parsed.items.len();
            continue;
        }
        let name = format!("{}-{n:04}-{hash}.jsonl", now.format("%Y%m%dT%H%M%S%.6fZ"));
        let mut lines = Vec::new();
        for item in &parsed.items {
            serde_json::to_writer(&mut lines, item)
                .map_err(|e| InventoryError::Format { path: file.clone(), reason: e.to_string() })?;
            lines.push(b'\n');
        }
        crate::lake::write_atomically(&dir.join(name), &lines)?;
    }
    report.vaults.sort();
    Ok(report)
}

fn already_imported(dir: &Path, hash: &str) -> bool {
    let suffix = format!("-{hash}.jsonl");
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().ends_with(&suffix)))
        .unwrap_or(false)
}
