//! `kvaudit export verify DIR`: the directory still holds exactly what its manifest lists.
//!
//! Every listed file must exist with its size and SHA-256; no other file may be present
//! (an added file is as much a change as an altered one); the row counts must add up.
//! The first problem found is the error, naming the file. What this cannot prove is that
//! the manifest itself is the one kvaudit wrote: `export` prints the manifest's SHA-256 so
//! it can be recorded elsewhere (a ticket, a signed log) and compared with the one printed
//! here.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::layout::ExportLayout;
use super::manifest::Manifest;
use super::writers::hex;

/// Why a directory does not verify. Each message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The directory has no manifest.
    #[error("{0}: no manifest.json: not a kvaudit export, or an incomplete one")]
    NoManifest(PathBuf),
    /// The manifest cannot be read as one.
    #[error("{path}: not a valid manifest: {reason}")]
    BadManifest { path: PathBuf, reason: String },
    /// A listed path is absolute or climbs out of the export.
    #[error("manifest.json lists {0:?}, a path outside the export")]
    UnsafePath(String),
    /// A listed file is gone.
    #[error("{0}: listed in manifest.json but missing")]
    Missing(String),
    /// A listed file has another size.
    #[error("{path}: {found} bytes, manifest.json says {listed}")]
    SizeChanged { path: String, listed: u64, found: u64 },
    /// A listed file has other bytes.
    #[error("{path}: SHA-256 {found} differs from manifest.json's {listed}")]
    HashChanged { path: String, listed: String, found: String },
    /// A file the manifest does not list.
    #[error("{0}: not listed in manifest.json (added after the export)")]
    Unlisted(String),
    /// The directory could not be read.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// What a successful verification checked.
#[derive(Debug, Clone)]
pub struct VerifySummary {
    pub files: usize,
    pub bytes: u64,
    pub rows: u64,
    pub manifest_sha256: String,
    pub manifest: Manifest,
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex(&hasher.finalize())))
}

/// Every file under `dir`, relative and `/`-separated.
fn files_under(dir: &Path) -> Result<BTreeSet<String>, VerifyError> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| VerifyError::Io { path: d.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| VerifyError::Io { path: d.clone(), source })?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap_or(&path);
                let parts: Vec<String> =
                    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                found.insert(parts.join("/"));
            }
        }
    }
    Ok(found)
}

/// Checks `dir` against its manifest.
pub fn verify(dir: &Path) -> Result<VerifySummary, VerifyError> {
    let manifest_path = dir.join(ExportLayout::MANIFEST);
    let bytes = match std::fs::read(&manifest_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(VerifyError::NoManifest(dir.to_path_buf())),
        Err(source) => return Err(VerifyError::Io { path: manifest_path, source }),
    };
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| VerifyError::BadManifest { path: manifest_path.clone(), reason: e.to_string() })?;
    let manifest_sha256 = hex(&Sha256::digest(&bytes));

    let mut listed = BTreeSet::new();
    let mut total = 0u64;
    for entry in &manifest.files {
        let rel = Path::new(&entry.path);
        if entry.path == ExportLayout::MANIFEST || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(VerifyError::UnsafePath(entry.path.clone()));
        }
        let path = dir.join(rel);
        let (size, sha) = match sha256_file(&path) {
            Ok(found) => found,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(VerifyError::Missing(entry.path.clone())),
            Err(source) => return Err(VerifyError::Io { path, source }),
        };
        if size != entry.bytes {
            return Err(VerifyError::SizeChanged { path: entry.path.clone(), listed: entry.bytes, found: size });
        }
        if sha != entry.sha256 {
            return Err(VerifyError::HashChanged {
                path: entry.path.clone(),
                listed: entry.sha256.clone(),
                found: sha,
            });
        }
        if entry.path.starts_with("events/") {
            total += entry.rows.unwrap_or(0);
        }
        listed.insert(entry.path.clone());
    }
    for file in files_under(dir)? {
        if file != ExportLayout::MANIFEST && !listed.contains(&file) {
            return Err(VerifyError::Unlisted(file));
        }
    }
    let per_vault: u64 = manifest.rows.per_vault.values().sum();
    if total != manifest.rows.total || per_vault != manifest.rows.total {
        return Err(VerifyError::BadManifest {
            path: manifest_path,
            reason: format!(
                "rows.total is {} but the event files hold {total} rows and rows.per_vault adds up to {per_vault}",
                manifest.rows.total
            ),
        });
    }
    Ok(VerifySummary {
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.bytes).sum(),
        rows: total,
        manifest_sha256,
        manifest,
    })
}
