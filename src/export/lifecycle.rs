//! `lifecycle_report.csv`: every secret lifecycle finding in the alert store that touches
//! the export's scope, with the controls it is evidence for.
//!
//! The findings are whatever lifecycle alerts (`stale_secret`, `expired_secret_in_use`,
//! `secret_near_expiry`, `secret_past_max_age`, `secret_without_expiry`,
//! `old_version_in_use`) the store holds; this module does not raise any. Controls are
//! Azure Policy built-in definitions (display names as Microsoft publishes them in
//! Azure/azure-policy, `built-in-policies/policyDefinitions/Key Vault/Secrets_*.json`) and
//! AWS Config managed rules (rule names as in the AWS Config developer guide) that check the
//! same property of a secret. A kind no control checks gets an empty cell, never a guess.

use std::path::Path;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;

use super::ExportError;
use super::layout::ExportLayout;
use super::manifest::{FileEntry, time_text};
use super::scope::ExportScope;
use super::writers::CsvTable;
use crate::alert::{Alert, AlertKind};

/// The kinds the report lists: the lifecycle kinds of DESIGN.md, then the practice kinds
/// (shared secrets, environment crossover, role mixing, secrets in logs), which no Azure
/// Policy or AWS Config control covers.
pub const LIFECYCLE_KINDS: [AlertKind; 10] = {
    let (l, p) = (AlertKind::LIFECYCLE, AlertKind::PRACTICE);
    [l[0], l[1], l[2], l[3], l[4], l[5], p[0], p[1], p[2], p[3]]
};

const EXPIRATION_DATE: &str = "Key Vault secrets should have an expiration date";
const DAYS_BEFORE_EXPIRATION: &str = "Secrets should have more than the specified number of days before expiration";
const MAX_VALIDITY: &str = "Secrets should have the specified maximum validity period";
const ACTIVE_PERIOD: &str = "Secrets should not be active for longer than the specified number of days";

/// The Azure Policy built-ins and AWS Config managed rules a finding of `kind` is
/// evidence for.
pub fn controls(kind: AlertKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        // Nobody read it for the rule's number of days: delete it.
        AlertKind::StaleSecret => (&[], &["secretsmanager-secret-unused"]),
        // Still read after it expired: it was not renewed before its end of life.
        AlertKind::ExpiredSecretInUse => {
            (&[DAYS_BEFORE_EXPIRATION], &["secretsmanager-scheduled-rotation-success-check"])
        }
        AlertKind::SecretNearExpiry => {
            (&[DAYS_BEFORE_EXPIRATION], &["secretsmanager-scheduled-rotation-success-check"])
        }
        AlertKind::SecretPastMaxAge => (&[MAX_VALIDITY, ACTIVE_PERIOD], &["secretsmanager-secret-periodic-rotation"]),
        // No expiry is the Key Vault form of "never rotated by schedule".
        AlertKind::SecretWithoutExpiry => (&[EXPIRATION_DATE], &["secretsmanager-rotation-enabled-check"]),
        // Consumers still on a previous version: the rotation did not finish.
        AlertKind::OldVersionInUse => (&[], &["secretsmanager-scheduled-rotation-success-check"]),
        _ => (&[], &[]),
    }
}

/// The lifecycle findings of `alerts` that touch `scope`, oldest first.
pub fn findings<'a>(alerts: &'a [Alert], scope: &ExportScope) -> Vec<&'a Alert> {
    let mut found: Vec<&Alert> =
        alerts.iter().filter(|a| LIFECYCLE_KINDS.contains(&a.kind) && scope.touches(a)).collect();
    found.sort_by(|a, b| (a.window_start, &a.id).cmp(&(b.window_start, &b.id)));
    found
}

const COLUMNS: [&str; 16] = [
    "alert_id",
    "kind",
    "severity",
    "state",
    "vault",
    "object_name",
    "identity_oid",
    "identity_appid",
    "identity_upn",
    "window_start",
    "window_end",
    "explanation",
    "azure_policy",
    "aws_config_rule",
    "first_raised",
    "last_raised",
];

/// Writes the report (a header only when there are no findings).
pub fn write(root: &Path, findings: &[&Alert]) -> Result<FileEntry, ExportError> {
    let schema =
        Arc::new(Schema::new(COLUMNS.iter().map(|c| Field::new(*c, DataType::Utf8, true)).collect::<Vec<_>>()));
    let mut table = CsvTable::create(root, ExportLayout::LIFECYCLE_REPORT, &schema)?;
    if findings.is_empty() {
        return table.finish();
    }
    let column = |f: &dyn Fn(&Alert) -> Option<String>| -> ArrayRef {
        Arc::new(findings.iter().map(|a| f(a)).collect::<StringArray>())
    };
    let join = |names: &[&str]| (!names.is_empty()).then(|| names.join("; "));
    let columns: Vec<ArrayRef> = vec![
        column(&|a| Some(a.id.clone())),
        column(&|a| Some(a.kind.as_str().to_owned())),
        column(&|a| Some(a.severity.as_str().to_owned())),
        column(&|a| Some(a.state.as_str().to_owned())),
        column(&|a| a.vault.clone()),
        column(&|a| a.object_name.clone()),
        column(&|a| a.identity_oid.clone()),
        column(&|a| a.identity_appid.clone()),
        column(&|a| a.identity_upn.clone()),
        column(&|a| Some(time_text(a.window_start))),
        column(&|a| Some(time_text(a.window_end))),
        column(&|a| Some(a.explanation.clone())),
        column(&|a| join(controls(a.kind).0)),
        column(&|a| join(controls(a.kind).1)),
        column(&|a| Some(time_text(a.first_raised))),
        column(&|a| Some(time_text(a.last_raised))),
    ];
    table.write(&RecordBatch::try_new(schema, columns)?)?;
    table.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lifecycle_kind_maps_to_at_least_one_control_and_others_to_none() {
        for kind in AlertKind::LIFECYCLE {
            let (azure, aws) = controls(kind);
            assert!(!azure.is_empty() || !aws.is_empty(), "{kind}");
        }
        assert_eq!(controls(AlertKind::SecretWithoutExpiry).0, [EXPIRATION_DATE]);
        assert_eq!(controls(AlertKind::StaleSecret).1, ["secretsmanager-secret-unused"]);
        assert_eq!(controls(AlertKind::VolumeSpike), (&[][..], &[][..]));
    }
}
