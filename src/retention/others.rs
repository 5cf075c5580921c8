//! Rollup days under `baselines/` and export folders past their limits.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use super::audit::AuditLog;
use super::{DataKind, Deletion, Held, Keep, RetentionError, RetentionOptions, RetentionSummary};
use crate::lake::paths::parse_partition_name;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RetentionError + '_ {
    move |source| RetentionError::Io { path: path.to_path_buf(), source }
}

/// Files and bytes under `dir`.
fn size_of(dir: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => {
                    files += 1;
                    bytes += m.len();
                }
                Err(_) => {}
            }
        }
    }
    (files, bytes)
}

/// `baselines/<rollup>/date=D/` days whose every hour is past the limit. A rollup file
/// holds every vault, so any hold covering the date keeps it.
pub(crate) fn baselines(
    options: &RetentionOptions,
    keep: Keep,
    audit: &mut AuditLog,
    summary: &mut RetentionSummary,
) -> Result<(), RetentionError> {
    let lake = &options.lake;
    let cutoff = keep.cutoff(options.as_of);
    let root = lake.baselines_dir();
    let Ok(rollups) = std::fs::read_dir(&root) else { return Ok(()) };
    let mut rollups: Vec<_> = rollups.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    rollups.sort();
    for rollup in rollups {
        let mut days: Vec<_> = std::fs::read_dir(&rollup)
            .map_err(io(&rollup))?
            .flatten()
            .filter_map(|e| parse_partition_name(&e.file_name().to_string_lossy()).map(|d| (d, e.path())))
            .collect();
        days.sort();
        for (date, dir) in days {
            let end = date.and_hms_opt(0, 0, 0).map(|t| (t + Duration::days(1)).and_utc());
            if end.is_none_or(|end| end > cutoff) {
                continue;
            }
            let target = dir.strip_prefix(lake.root()).unwrap_or(&dir).display().to_string();
            if let Some(hold) = options.rules.legal_holds.iter().find(|h| h.covers_date(date)) {
                summary.held.push(Held { kind: DataKind::BaselinesPartition, target, hold: hold.to_string() });
                continue;
            }
            let (files, bytes) = size_of(&dir);
            let deletion = Deletion {
                kind: DataKind::BaselinesPartition,
                target,
                files,
                rows: 0,
                bytes,
                reason: format!("older than the baselines limit {keep} ({})", cutoff.to_rfc3339()),
                items: Vec::new(),
            };
            audit.carry_out(deletion, summary, |_| std::fs::remove_dir_all(&dir).map_err(io(&dir)))?;
        }
    }
    Ok(())
}

/// Export folders (each with a `manifest.json`) created before the limit, unless their
/// scope meets a hold. Folders without a readable manifest are not exports: left alone.
pub(crate) fn exports(
    options: &RetentionOptions,
    keep: Keep,
    exports_dir: &Path,
    audit: &mut AuditLog,
    summary: &mut RetentionSummary,
) -> Result<(), RetentionError> {
    let cutoff = keep.cutoff(options.as_of);
    let Ok(entries) = std::fs::read_dir(exports_dir) else { return Ok(()) };
    let mut dirs: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        let manifest_path = dir.join(crate::export::layout::ExportLayout::MANIFEST);
        let Ok(bytes) = std::fs::read(&manifest_path) else { continue };
        let Ok(manifest) = serde_json::from_slice::<crate::export::manifest::Manifest>(&bytes) else { continue };
        let Ok(created) = DateTime::parse_from_rfc3339(&manifest.created).map(|t| t.with_timezone(&Utc)) else {
            continue;
        };
        if created > cutoff {
            continue;
        }
        let bound = |t: &str| crate::export::scope::parse_bound(t).map(|t| t.date_naive());
        let target = dir.display().to_string();
        let (from, to) = (bound(&manifest.scope.from), bound(&manifest.scope.to));
        let hold = options.rules.legal_holds.iter().find(|h| {
            let period = match (from, to) {
                (Some(f), Some(t)) => h.overlaps(f, t),
                _ => true,
            };
            let vault = match (&h.vault, &manifest.scope.vault) {
                (None, _) | (Some(_), None) => true,
                (Some(held), Some(v)) => held.eq_ignore_ascii_case(v),
            };
            period && vault
        });
        if let Some(hold) = hold {
            summary.held.push(Held { kind: DataKind::Export, target, hold: hold.to_string() });
            continue;
        }
        let (files, bytes) = size_of(&dir);
        let deletion = Deletion {
            kind: DataKind::Export,
            target,
            files,
            rows: manifest.rows.total,
            bytes,
            reason: format!("created {}, before the exports limit {keep} ({})", manifest.created, cutoff.to_rfc3339()),
            items: Vec::new(),
        };
        audit.carry_out(deletion, summary, |_| std::fs::remove_dir_all(&dir).map_err(io(&dir)))?;
    }
    Ok(())
}
