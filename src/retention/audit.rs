//! `<lake>/_audit/retention.jsonl`: one line per deletion, appended and synced before the
//! deletion it describes, never rewritten. A deletion interrupted by a crash is therefore
//! always in the log (possibly a line for something deleted on the next run too).

use std::io::Write;

use chrono::Utc;
use serde::Serialize;

use super::{Deletion, RetentionError, RetentionSummary};
use crate::lake::{LakePaths, RunId};

/// One audit line.
#[derive(Serialize)]
struct AuditLine<'a> {
    /// When the deletion was recorded (just before it happened).
    time: String,
    /// The retention run.
    run: &'a str,
    #[serde(flatten)]
    deletion: &'a Deletion,
}

/// The audit log of one run.
pub(crate) struct AuditLog {
    path: std::path::PathBuf,
    run: RunId,
    dry_run: bool,
}

impl AuditLog {
    pub(crate) fn new(lake: &LakePaths, dry_run: bool) -> Self {
        AuditLog { path: lake.retention_audit_file(), run: RunId::new(), dry_run }
    }

    /// The one way retention deletes: records `deletion` durably, then runs `delete`, then
    /// counts it in `summary`. A dry run only counts it.
    pub(crate) fn carry_out(
        &mut self,
        deletion: Deletion,
        summary: &mut RetentionSummary,
        delete: impl FnOnce(&Deletion) -> Result<(), RetentionError>,
    ) -> Result<(), RetentionError> {
        if !self.dry_run {
            self.record(&deletion)?;
            delete(&deletion)?;
        }
        summary.add(deletion);
        Ok(())
    }

    /// Records `deletion` durably; a dry run records nothing.
    fn record(&mut self, deletion: &Deletion) -> Result<(), RetentionError> {
        if self.dry_run {
            return Ok(());
        }
        let io = |source| RetentionError::Io { path: self.path.clone(), source };
        let line = AuditLine {
            time: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            run: self.run.as_str(),
            deletion,
        };
        let mut text = serde_json::to_string(&line).expect("an audit line serializes");
        text.push('\n');
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(())
    }
}
