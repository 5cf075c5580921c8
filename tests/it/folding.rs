//! The folded access index (`detect::lifecycle::summary`) changes what a detection run
//! reads, never what it finds. Over a generated lake of 100 days, its planted lifecycle
//! incidents and its inventory, the lifecycle and practice findings from the folded index
//! equal those from every day's rows, at several times of a week (each a different cutoff);
//! a late record on a folded day reaches the findings through a rebuilt summary.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use kvaudit::alert::Alert;
use kvaudit::detect::lifecycle::catalog::Catalog;
use kvaudit::detect::lifecycle::summary::Horizon;
use kvaudit::detect::lifecycle::{self, LifecyclePolicy};
use kvaudit::detect::practice::{self, PracticePolicy};
use kvaudit::inventory::Inventory;
use kvaudit::lake::LakePaths;
use kvaudit::query::{QuerySession, SessionOptions};

use crate::common::{ingest, record, run_ok};

const HISTORY_DAYS: u32 = 30;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// 100 generated days from 2026-10-01 (incidents planted, inventory imported).
fn generated_lake() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (logs, lake) = (dir.path().join("logs"), dir.path().join("lake"));
    run_ok(&["generate", "--out", logs.to_str().unwrap(), "--days", "100", "--seed", "3", "--scale", "0.02"]);
    ingest(&lake, &logs.join("insights-logs-auditevent"));
    run_ok(&["--lake", lake.to_str().unwrap(), "inventory", "import", logs.join("inventory").to_str().unwrap()]);
    (dir, lake)
}

/// The lifecycle and practice findings as of `as_of`, from the folded index or from every
/// day, with their evidence apart (the one thing folding may change).
fn findings(lake: &Path, as_of: DateTime<Utc>, folded: bool) -> (Vec<Alert>, Vec<usize>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let lake = LakePaths::new(lake);
        let session = QuerySession::open(&SessionOptions::new(lake.clone())).await.unwrap();
        let inventory = Inventory::load(&lake).unwrap();
        let policy = LifecyclePolicy::default();
        let folding = folded.then(|| Horizon::new(HISTORY_DAYS, &policy));
        let catalog = Catalog::load(&session, &lake, &inventory, as_of, None, folding).await.unwrap();
        let mut alerts = lifecycle::find(&catalog, &policy);
        alerts.extend(practice::find(&catalog, &PracticePolicy::default(), HISTORY_DAYS));
        // In the catalog's order (by object): both runs list the same findings the same way.
        let evidence = alerts.iter().map(|a| a.evidence.len()).collect();
        for alert in &mut alerts {
            alert.evidence.clear();
            // When it was raised is the clock's, not the finding's.
            (alert.first_raised, alert.last_raised) = (as_of, as_of);
        }
        (alerts, evidence)
    })
}

fn summary_cutoff(lake: &Path) -> String {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(LakePaths::new(lake).object_summary_state_file()).unwrap()).unwrap();
    state["cutoff"].as_str().unwrap().to_owned()
}

#[test]
fn folded_history_gives_the_same_lifecycle_and_practice_findings() {
    let (_dir, lake) = generated_lake();
    let mut kinds = std::collections::BTreeSet::new();
    // The last day, and days of the week before: each folds up to a different Monday.
    for as_of in ["2027-01-08T23:00:00Z", "2027-01-06T05:00:00Z", "2027-01-02T12:00:00Z", "2026-12-27T00:30:00Z"] {
        let as_of = at(as_of);
        let (days, days_evidence) = findings(&lake, as_of, false);
        let (folded, folded_evidence) = findings(&lake, as_of, true);
        let cutoff = summary_cutoff(&lake);
        assert!(cutoff.as_str() <= (as_of - Duration::days(30)).format("%Y-%m-%d").to_string().as_str());
        assert!(!days.is_empty(), "the planted incidents raise lifecycle findings as of {as_of}");
        assert_eq!(folded, days, "as of {as_of}, folded before {cutoff}");
        // A folded stretch shows one call where its days showed one each, never more.
        for (f, d) in folded_evidence.iter().zip(&days_evidence) {
            assert!(f <= d && (*f > 0) == (*d > 0), "evidence {folded_evidence:?} vs {days_evidence:?}");
        }
        kinds.extend(days.iter().map(|a| a.kind));
    }
    // The comparison covers findings that read old days: an expiry and a rotation of the
    // period's first two months, and secrets unread for 90 days.
    for kind in ["expired_secret_in_use", "old_version_in_use", "stale_secret"] {
        assert!(kinds.iter().any(|k| k.as_str() == kind), "{kind} among {kinds:?}");
    }

    // A late record on a folded day: the never-read FTP password was read on 2026-11-16.
    let as_of = at("2027-01-08T23:00:00Z");
    let stale = |alerts: &[Alert]| {
        alerts
            .iter()
            .any(|a| a.kind.as_str() == "stale_secret" && a.object_name.as_deref() == Some("legacy-ftp-password"))
    };
    assert!(stale(&findings(&lake, as_of, true).0), "stale before the late record");
    let before = std::fs::read(LakePaths::new(&lake).object_summary_state_file()).unwrap();
    let late = lake.with_file_name("late.jsonl");
    std::fs::write(&late, record("2026-11-16T10:00:00Z", "kv-shared-prod", "legacy-ftp-password") + "\n").unwrap();
    ingest(&lake, &late);
    let (folded, _) = findings(&lake, as_of, true);
    assert_ne!(std::fs::read(LakePaths::new(&lake).object_summary_state_file()).unwrap(), before, "summary rebuilt");
    assert!(!stale(&folded), "read 53 days ago: not stale");
    assert_eq!(folded, findings(&lake, as_of, false).0);
}
