//! Practice findings and rotation readiness, end to end over logs written for each case:
//! `shared_secret`, `environment_crossover`, `role_mixing` from `kvaudit detect`, and
//! `rotation-plan` / `rotation-check` on a lake with a rotation and a lagging consumer.

use chrono::Duration;

use crate::common::{run, run_ok};
use crate::lifecycle::{at, daily, detect, kinds_about, lake_of, op};
use crate::service::{Server, new_token, write_config};

fn of_kind<'a>(alerts: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    alerts.iter().filter(|a| a["kind"] == kind).collect()
}

#[test]
fn a_secret_read_by_two_workloads_is_shared_but_not_one_read_once_or_by_a_broker() {
    let start = at("2026-10-01T00:00:00Z");
    let mut lines = daily(start, 5, "kv-a-prod", "redis", "r1", "frontend");
    lines.extend(daily(start, 5, "kv-a-prod", "redis", "r1", "worker"));
    lines.extend(daily(start, 1, "kv-a-prod", "redis", "r1", "one-off-job"));
    lines.extend(daily(start, 3, "kv-a-prod", "redis", "r1", "erin@contoso.com"));
    // The backup reads every secret of the vault every day: a broker, not a consumer.
    for name in ["redis", "db", "smtp", "cdn", "maps"] {
        lines.extend(daily(start + Duration::hours(5), 5, "kv-a-prod", name, "v", "backup"));
    }
    lines.extend(daily(start, 5, "kv-a-prod", "db", "d1", "frontend"));
    let (_dir, lake) = lake_of(&lines, None);
    let alerts = detect(&lake, &["--from", "2026-10-05T00:00:00Z"]);
    let shared = of_kind(&alerts, "shared_secret");
    assert_eq!(shared.len(), 1, "{alerts:#?}");
    assert_eq!(shared[0]["object_name"], "redis");
    let consumers: Vec<&str> = shared[0]["observed"]["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["identity_oid"].as_str().unwrap())
        .collect();
    assert_eq!(consumers, ["oid-frontend", "oid-worker"]);
    assert_eq!(shared[0]["observed"]["people"], serde_json::json!(["erin@contoso.com"]));

    // Declared a broker, the worker no longer counts: nothing is shared.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kvaudit.toml");
    std::fs::write(&config, "[practice]\nbrokers = [\"app-worker\"]\n").unwrap();
    let alerts = detect(&lake, &["--config", config.to_str().unwrap(), "--from", "2026-10-05T00:00:00Z"]);
    assert!(of_kind(&alerts, "shared_secret").is_empty(), "{alerts:#?}");
}

#[test]
fn a_production_workload_reading_a_dev_vault_crosses_environments() {
    let start = at("2026-10-01T00:00:00Z");
    let mut lines = daily(start, 5, "kv-pay-prod", "db", "d1", "pay-api");
    lines.extend(daily(start, 5, "kv-pay-prod", "stripe", "s1", "pay-api"));
    lines.extend(daily(start, 5, "kv-pay-dev", "stripe", "s0", "pay-api"));
    lines.extend(daily(start, 5, "kv-pay-dev", "db", "d0", "pay-api-dev"));
    let (dir, lake) = lake_of(&lines, None);
    let alerts = detect(&lake, &["--from", "2026-10-05T00:00:00Z"]);
    let cross = of_kind(&alerts, "environment_crossover");
    assert_eq!(cross.len(), 1, "{alerts:#?}");
    assert_eq!((cross[0]["vault"].as_str(), cross[0]["object_name"].as_str()), (Some("kv-pay-dev"), Some("stripe")));
    assert_eq!(cross[0]["identity_oid"], "oid-pay-api");
    assert_eq!(cross[0]["observed"]["same_name_in_both"], serde_json::json!(["stripe"]));

    // Mapped to production explicitly, the same vault is no crossover.
    let config = dir.path().join("kvaudit.toml");
    std::fs::write(&config, "[practice.environments]\n\"kv-pay-dev\" = \"production\"\n").unwrap();
    let alerts = detect(&lake, &["--config", config.to_str().unwrap(), "--from", "2026-10-05T00:00:00Z"]);
    assert!(of_kind(&alerts, "environment_crossover").is_empty(), "{alerts:#?}");
}

#[test]
fn changing_a_production_vault_and_reading_its_secrets_mixes_roles() {
    let start = at("2026-10-01T00:00:00Z");
    let t = start + Duration::days(3) + Duration::hours(9);
    let mut lines = daily(start, 4, "kv-ops-prod", "db", "d1", "app1");
    lines.push(op(t, "kv-ops-prod", "VaultPut", "", "", "dave@contoso.com", 200));
    lines.push(op(t + Duration::minutes(8), "kv-ops-prod", "SecretGet", "db", "d1", "dave@contoso.com", 200));
    // The same on a test vault: ordinary work for its team, unless configured otherwise.
    lines.push(op(t, "kv-ops-test", "VaultPut", "", "", "carol@contoso.com", 200));
    lines.push(op(t + Duration::minutes(5), "kv-ops-test", "SecretGet", "db", "d1", "carol@contoso.com", 200));
    // An auditor who reads a value.
    lines.push(op(t, "kv-ops-prod", "SecretGet", "db", "d1", "audrey@contoso.com", 200));
    let (dir, lake) = lake_of(&lines, None);
    let alerts = detect(&lake, &["--from", "2026-10-04T00:00:00Z"]);
    let mixed = of_kind(&alerts, "role_mixing");
    assert_eq!(mixed.len(), 1, "{alerts:#?}");
    assert_eq!(
        (mixed[0]["vault"].as_str(), mixed[0]["identity_upn"].as_str()),
        (Some("kv-ops-prod"), Some("dave@contoso.com"))
    );
    assert_eq!(mixed[0]["observed"]["admin_operations"], serde_json::json!(["VaultPut"]));
    assert!(mixed[0]["explanation"].as_str().unwrap().contains("VaultPut"), "{}", mixed[0]);

    let config = dir.path().join("kvaudit.toml");
    std::fs::write(&config, "[practice]\nrole_mixing_non_production = true\nauditors = [\"AUDREY@contoso.com\"]\n")
        .unwrap();
    let alerts = detect(&lake, &["--config", config.to_str().unwrap(), "--from", "2026-10-04T00:00:00Z"]);
    let mut who: Vec<&str> =
        of_kind(&alerts, "role_mixing").iter().map(|a| a["identity_upn"].as_str().unwrap()).collect();
    who.sort();
    assert_eq!(who, ["audrey@contoso.com", "carol@contoso.com", "dave@contoso.com"], "{alerts:#?}");
}

#[test]
fn rotation_plan_and_check_follow_a_rotation_with_a_lagging_consumer() {
    let start = at("2026-10-01T00:00:00Z");
    let rotated = start + Duration::days(9) + Duration::hours(3);
    let mut lines = vec![op(rotated, "kv-a-prod", "SecretSet", "conn", "v2", "rotator", 200)];
    lines.extend(daily(start + Duration::hours(1), 20, "kv-a-prod", "conn", "v1", "laggard"));
    lines.extend(daily(start, 9, "kv-a-prod", "conn", "v1", "follower"));
    lines.extend(daily(start + Duration::days(9), 11, "kv-a-prod", "conn", "v2", "follower"));
    lines.extend(daily(start, 5, "kv-a-prod", "conn", "v1", "quitter")); // gone before the rotation
    lines.extend(daily(start, 2, "kv-a-prod", "conn", "v1", "bob@contoso.com"));
    let (dir, lake) = lake_of(&lines, None);
    let lake_arg = lake.to_str().unwrap();

    let plan: serde_json::Value = serde_json::from_str(
        run_ok(&["--lake", lake_arg, "rotation-plan", "kv-a-prod/conn", "--format", "json"]).trim(),
    )
    .unwrap();
    assert_eq!(plan["current_version"], "v2");
    let mut consumers: Vec<(String, bool, bool)> = plan["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["identity_oid"].as_str().unwrap().to_owned(),
                c["on_current_version"].as_bool().unwrap(),
                c["missed_last_rotation"].as_bool().unwrap(),
            )
        })
        .collect();
    consumers.sort();
    assert_eq!(
        consumers,
        [
            ("oid-follower".to_owned(), true, false),
            ("oid-laggard".to_owned(), false, true),
            ("oid-quitter".to_owned(), false, false)
        ]
    );
    assert_eq!(plan["people"][0]["identity_upn"], "bob@contoso.com");

    let check: serde_json::Value = serde_json::from_str(
        run_ok(&["--lake", lake_arg, "rotation-check", "kv-a-prod/conn", "--since", "2026-10-09", "--format", "json"])
            .trim(),
    )
    .unwrap();
    assert_eq!(check["new_version"], "v2");
    let progress: std::collections::BTreeMap<String, String> = check["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["identity_oid"].as_str().unwrap().to_owned(), c["progress"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(progress["oid-follower"], "moved");
    assert_eq!(progress["oid-laggard"], "still_old");
    assert_eq!(progress["oid-quitter"], "not_seen_since");
    assert_eq!((check["moved"].as_u64(), check["pending"].as_u64()), (Some(1), Some(2)));

    // No rotation after the given time: said, and a failure.
    let out = run(&["--lake", lake_arg, "rotation-check", "kv-a-prod/conn", "--since", "2026-10-15"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no new version"));
    assert!(kinds_about(&[], "conn").is_empty());

    // The service answers the same, to an owner of the vault and to nobody else.
    let owner = new_token("olga", "owner", &["kv-a-prod"]);
    let stranger = new_token("otto", "owner", &["kv-b-dev"]);
    let no_new_logs = dir.path().join("no-new-logs");
    std::fs::create_dir_all(&no_new_logs).unwrap();
    let config = write_config(dir.path(), &no_new_logs, "1h", &[&owner, &stranger], "");
    let server = Server::start(&lake, &config, &[]);
    let api_plan = server.get("/api/secrets/kv-a-prod/conn/rotation-plan", Some(&owner.token));
    assert_eq!((api_plan.status, api_plan.json()), (200, plan));
    let api_check = server.get("/api/secrets/kv-a-prod/conn/rotation-check?since=2026-10-09", Some(&owner.token));
    assert_eq!((api_check.status, api_check.json()), (200, check));
    let none = server.get("/api/secrets/kv-a-prod/conn/rotation-check?since=2026-10-15", Some(&owner.token));
    assert_eq!(none.status, 404, "{}", none.text());
    assert!(none.json()["error"].as_str().unwrap().contains("no new version"));
    let refused = server.get("/api/secrets/kv-a-prod/conn/rotation-plan", Some(&stranger.token));
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(server.terminate().success());
}

#[test]
fn the_example_config_is_valid_and_its_defaults_are_the_defaults() {
    let start = at("2026-10-01T00:00:00Z");
    let mut lines = daily(start, 5, "kv-a-prod", "redis", "r1", "frontend");
    lines.extend(daily(start, 5, "kv-a-prod", "redis", "r1", "worker"));
    let (_dir, lake) = lake_of(&lines, None);
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kvaudit.example.toml");
    let with = detect(&lake, &["--config", example.to_str().unwrap(), "--from", "2026-10-05T00:00:00Z"]);
    let without = detect(&lake, &["--from", "2026-10-05T00:00:00Z"]);
    let kinds = |alerts: &[serde_json::Value]| alerts.iter().map(|a| a["kind"].to_string()).collect::<Vec<_>>();
    assert_eq!(kinds(&with), kinds(&without));
    assert!(kinds(&with).contains(&"\"shared_secret\"".to_owned()), "{with:?}");
}
