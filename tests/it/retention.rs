//! `kvaudit retention`, run as the real binary over a lake of ten days: it deletes exactly
//! the partitions past the limit, none a legal hold covers (by vault or by period), writes
//! each deletion to the audit log first; `--dry-run` lists the same and deletes nothing.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{Duration, NaiveDate, Utc};

use crate::common::{query_i64, record, run, run_ok};

/// Ten days before today, one file of records per day: `kv-held` on the days in `held`,
/// `kv-other` on every day.
fn lake_of_ten_days(dir: &Path, held_vault_days: &[i64]) -> (std::path::PathBuf, NaiveDate) {
    let today = Utc::now().date_naive();
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    for back in 1..=10i64 {
        let date = today - Duration::days(back);
        let mut text = String::new();
        for hour in [3, 12, 20] {
            let time = format!("{date}T{hour:02}:15:00.0000000Z");
            text.push_str(&record(&time, "kv-other", &format!("s{hour}")));
            text.push('\n');
            if held_vault_days.contains(&back) {
                text.push_str(&record(&time, "kv-held", "evidence"));
                text.push('\n');
            }
        }
        std::fs::write(logs.join(format!("day-{back:02}.json")), text).unwrap();
    }
    let lake = dir.join("lake");
    run_ok(&["--lake", lake.to_str().unwrap(), "ingest", "--from", logs.to_str().unwrap(), "--no-progress"]);
    (lake, today)
}

fn partitions(lake: &Path) -> BTreeSet<NaiveDate> {
    kvaudit::lake::manifest::partition_dates(&kvaudit::lake::LakePaths::new(lake)).unwrap().into_iter().collect()
}

fn days_back(today: NaiveDate, backs: &[i64]) -> BTreeSet<NaiveDate> {
    backs.iter().map(|b| today - Duration::days(*b)).collect()
}

fn audit_lines(lake: &Path) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(lake.join("_audit/retention.jsonl")) {
        Ok(text) => text.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn retention_deletes_exactly_the_partitions_past_the_limit_except_held_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (lake, today) = lake_of_ten_days(dir.path(), &[9, 2]);
    let l = lake.to_str().unwrap();
    assert_eq!(partitions(&lake), days_back(today, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    let rows_before = query_i64(&lake, "SELECT count(*) FROM events");

    // Rollups of every day, with their own (longer) limit.
    for back in 1..=10 {
        let d = lake.join(format!("baselines/activity/date={}", today - Duration::days(back)));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("activity.parquet"), b"rollup").unwrap();
    }
    let config = dir.path().join("kvaudit.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[retention]
keep = "30d"
keep_baselines = "8d"
[[retention.legal_holds]]
vault = "KV-Held"
reason = "case 17"
[[retention.legal_holds]]
from = "{d7}"
to = "{d7}"
reason = "audit of that day"
[[retention.legal_holds]]
vault = "kv-nowhere"
reason = "a vault with no events holds nothing"
"#,
            d7 = today - Duration::days(7)
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();

    // Keep 5 days: a partition goes once its whole day is more than 5 days old, i.e. the
    // days 6 to 10 back; day 9 holds kv-held's events and day 7 is in a held period.
    let dry = run_ok(&["--lake", l, "retention", "--keep", "5d", "--config", c, "--dry-run", "--format", "json"]);
    let dry: serde_json::Value = serde_json::from_str(dry.trim()).unwrap();
    let listed: BTreeSet<String> = dry["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "events_partition")
        .map(|d| d["target"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = days_back(today, &[6, 8, 10]).iter().map(|d| format!("events/date={d}")).collect();
    assert_eq!(listed, expected);
    assert_eq!(dry["dry_run"], true);
    // A dry run deletes nothing and writes no audit line.
    assert_eq!(partitions(&lake).len(), 10);
    assert_eq!(query_i64(&lake, "SELECT count(*) FROM events"), rows_before);
    assert!(audit_lines(&lake).is_empty());
    assert_eq!(std::fs::read_dir(lake.join("baselines/activity")).unwrap().count(), 10);

    let out = run_ok(&["--lake", l, "retention", "--keep", "5d", "--config", c, "--format", "json"]);
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["partitions_deleted"], 3);
    assert_eq!(partitions(&lake), days_back(today, &[1, 2, 3, 4, 5, 7, 9]));
    let held: BTreeSet<String> = summary["held"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "events_partition")
        .map(|h| h["target"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(held, days_back(today, &[7, 9]).iter().map(|d| format!("events/date={d}")).collect());
    // 3 records a day of kv-other were deleted with their partitions.
    assert_eq!(query_i64(&lake, "SELECT count(*) FROM events"), rows_before - 9);
    assert_eq!(query_i64(&lake, "SELECT count(*) FROM events WHERE vault = 'kv-held'"), 6);

    // The audit log names each deletion, with its rows, before it happened.
    let audit = audit_lines(&lake);
    let events: Vec<&serde_json::Value> = audit.iter().filter(|a| a["kind"] == "events_partition").collect();
    assert_eq!(events.iter().map(|a| a["target"].as_str().unwrap().to_owned()).collect::<BTreeSet<_>>(), expected);
    for line in &events {
        assert_eq!(line["rows"], 3);
        assert_eq!(line["files"], 1);
        assert!(line["bytes"].as_u64().unwrap() > 0);
        assert!(line["reason"].as_str().unwrap().contains("5d"));
        assert!(line["time"].as_str().is_some());
    }
    // Baselines: their own limit (8 days): days 9 and 10 back are past it; day 9 is not
    // in a held period, but a vault hold without a period covers every day of a rollup
    // (rollup files hold every vault), so both stay.
    assert_eq!(std::fs::read_dir(lake.join("baselines/activity")).unwrap().count(), 10);

    // A second run finds nothing more to delete.
    let again = run_ok(&["--lake", l, "retention", "--keep", "5d", "--config", c, "--format", "json"]);
    let again: serde_json::Value = serde_json::from_str(again.trim()).unwrap();
    assert_eq!(again["partitions_deleted"], 0);
}

#[test]
fn baselines_past_their_limit_go_unless_a_period_hold_covers_them() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let today = Utc::now().date_naive();
    for back in 1..=10 {
        let d = lake.join(format!("baselines/object_access/date={}", today - Duration::days(back)));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("object_access.parquet"), b"rollup").unwrap();
    }
    let config = dir.path().join("kvaudit.toml");
    std::fs::write(
        &config,
        format!(
            "[retention]\nkeep_baselines = \"8d\"\n[[retention.legal_holds]]\nfrom = \"{d}\"\nto = \"{d}\"\nreason = \"audit\"\n",
            d = today - Duration::days(10)
        ),
    )
    .unwrap();
    let l = lake.to_str().unwrap();
    run_ok(&["--lake", l, "retention", "--config", config.to_str().unwrap()]);
    let left: BTreeSet<String> = std::fs::read_dir(lake.join("baselines/object_access"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> =
        [1, 2, 3, 4, 5, 6, 7, 8, 10].iter().map(|b| format!("date={}", today - Duration::days(*b))).collect();
    assert_eq!(left, expected, "day 9 back is past 8 days and not held; day 10 back is held");
    assert_eq!(audit_lines(&lake).len(), 1);
}

#[test]
fn retention_refuses_a_limit_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["--lake", dir.path().to_str().unwrap(), "retention", "--keep", "400"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("400d"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["--lake", dir.path().to_str().unwrap(), "retention"]);
    assert!(!out.status.success(), "no limit at all is refused");
}
