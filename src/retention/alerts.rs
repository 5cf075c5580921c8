//! Alerts past their limit: those whose window ended before the cutoff, unless a hold
//! covers their vault (or every vault) on a date of their window. Runs under the
//! detector's lock, the one every writer of the alert store holds.

use super::audit::AuditLog;
use super::{DataKind, Deletion, Keep, RetentionError, RetentionOptions, RetentionSummary};
use crate::alert::AlertStore;
use crate::lake::lock::LakeLock;

pub(crate) fn apply(
    options: &RetentionOptions,
    keep: Keep,
    audit: &mut AuditLog,
    summary: &mut RetentionSummary,
) -> Result<(), RetentionError> {
    let lake = &options.lake;
    let _lock = LakeLock::acquire_detector(lake)?;
    let cutoff = keep.cutoff(options.as_of);
    let mut store = AlertStore::open(lake)?;
    let holds = &options.rules.legal_holds;
    let mut held = 0;
    let removed = store.remove_where(|a| {
        if a.window_end > cutoff {
            return false;
        }
        let (from, to) = (a.window_start.date_naive(), a.window_end.date_naive());
        let covered = holds
            .iter()
            .any(|h| h.overlaps(from, to) && h.vault.as_ref().is_none_or(|v| a.vault.as_deref() == Some(v)));
        held += usize::from(covered);
        !covered
    });
    if held > 0 {
        summary.held.push(super::Held {
            kind: DataKind::Alerts,
            target: format!("{held} alerts"),
            hold: "legal holds on their vault or period".to_owned(),
        });
    }
    if removed.is_empty() {
        return Ok(());
    }
    let deletion = Deletion {
        kind: DataKind::Alerts,
        target: "alerts/alerts.jsonl".to_owned(),
        files: 0,
        rows: removed.len() as u64,
        bytes: 0,
        reason: format!("window ended before the alerts limit {keep} ({})", cutoff.to_rfc3339()),
        items: removed.iter().map(|a| a.id.clone()).collect(),
    };
    audit.carry_out(deletion, summary, |_| {
        store.save()?;
        tracing::info!(alerts = removed.len(), "Deleted alerts past the retention limit.");
        Ok(())
    })
}
