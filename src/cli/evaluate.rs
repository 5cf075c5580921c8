//! `kvaudit evaluate`: generate → ingest → detect day by day → score against the truth
//! file, beside Sentinel's rules on the same lake.

use std::io::Write;

use anyhow::{Context, Result, bail};
use chrono::{Duration, NaiveDate};
use kvaudit::alert::AlertKind;
use kvaudit::detect::lifecycle::LifecyclePolicy;
use kvaudit::evaluate::{Scorecard, detect_daily, identity_days, score, sentinel::sentinel_alerts};
use kvaudit::generate::{GenerateOptions, Truth};
use kvaudit::lake::LakePaths;

use super::config::{EvaluateConfig, IngestConfig, IngestFrom};

pub fn run(config: EvaluateConfig) -> Result<()> {
    let logs = config.out.join("logs");
    let lake = LakePaths::new(config.out.join("lake"));
    if logs.exists() || lake.root().exists() {
        bail!("{} already holds logs or a lake; give an empty or new folder", config.out.display());
    }
    let options = GenerateOptions {
        out: logs.clone(),
        days: config.days,
        seed: config.seed,
        scale: config.scale,
        teams: config.teams,
        vaults: config.vaults,
        incidents: !config.clean,
        ..GenerateOptions::default()
    };
    let generated = kvaudit::generate::generate(&options)?;
    let ingest = IngestConfig {
        from: IngestFrom::Local(logs.join("insights-logs-auditevent")),
        follow: None,
        json: false,
        progress: false,
        workers: None,
        commit_bytes: 1 << 30,
    };
    super::ingest::run_quietly(&lake, &ingest)?;
    // The vaults' inventory as `az keyvault secret list` would print it at the end.
    kvaudit::inventory::store::import(&lake, &[logs.join("inventory")], chrono::Utc::now())?;
    let truth: Truth = serde_json::from_slice(&std::fs::read(&generated.truth_path)?)
        .with_context(|| format!("reading {}", generated.truth_path.display()))?;

    let start = day_start(options.start);
    let first = start + Duration::days(i64::from(config.warmup_days));
    let end = start + Duration::days(i64::from(config.days));
    let policy = kvaudit::detect::Policy::default();
    // The generated period is shorter than the 90-day default stale period, and
    // `stale_secret` is only claimed when the logs cover it: half the period lets the
    // planted unused secrets be found (and tests that nothing read is called stale).
    let lifecycle = LifecyclePolicy { stale_days: (config.days / 2).max(1), ..LifecyclePolicy::default() };
    let settings = kvaudit::detect::DetectOptions { policy, lifecycle, ..Default::default() };
    let runtime = super::runtime()?;
    let (ours, sentinel, identity_days) = runtime.block_on(async {
        let alerts = detect_daily(&lake, first, end, &settings).await?;
        let sentinel = sentinel_alerts(&lake, first, end).await?;
        let days = identity_days(&lake, first, end).await?;
        Ok::<_, anyhow::Error>((alerts, sentinel, days))
    })?;
    // Every kind DESIGN.md defines: unusual access, lifecycle, practice (secret_in_log included).
    let kinds: Vec<AlertKind> = AlertKind::ALL.to_vec();
    let kinds = &kinds;
    let ours = score("kvaudit", &ours, &truth.incidents, kinds, (first, end), identity_days);
    let sentinel_kinds = [AlertKind::MassRetrieval, AlertKind::SensitiveOperation];
    let theirs = score("sentinel", &sentinel, &truth.incidents, &sentinel_kinds, (first, end), identity_days);
    let mut out = std::io::stdout().lock();
    if config.json {
        let setup = serde_json::json!({
            "seed": config.seed, "scale": config.scale, "days": config.days, "teams": config.teams,
            "vaults_per_team": config.vaults, "clean": config.clean, "identities": truth.identities,
            "vaults": truth.vaults,
        });
        writeln!(out, "{}", serde_json::json!({"setup": setup, "kvaudit": ours, "sentinel": theirs}))?;
    } else {
        writeln!(
            out,
            "seed {}, {} days at scale {}, {} identities in {} vaults{}, detection from day {} ({} identity-days)",
            config.seed,
            config.days,
            config.scale,
            truth.identities,
            truth.vaults,
            if config.clean { ", no planted incidents" } else { "" },
            config.warmup_days,
            identity_days
        )?;
        write_scorecards(&mut out, &[&ours, &theirs])?;
    }
    Ok(())
}

fn day_start(date: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default()
}

fn ratio(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into())
}

/// Per kind: incidents, found, recall, alerts, precision; then totals and the false alarms.
pub fn write_scorecards(out: &mut impl Write, cards: &[&Scorecard]) -> Result<()> {
    writeln!(
        out,
        "{:<9} {:<20} {:>9} {:>6} {:>7} {:>7} {:>10}",
        "detector", "kind", "incidents", "found", "recall", "alerts", "precision"
    )?;
    for card in cards {
        for k in &card.kinds {
            writeln!(
                out,
                "{:<9} {:<20} {:>9} {:>6} {:>7} {:>7} {:>10}",
                card.detector,
                k.kind.as_str(),
                k.incidents,
                k.found,
                ratio(k.recall()),
                k.alerts,
                ratio(k.precision())
            )?;
        }
        writeln!(
            out,
            "{:<9} {:<20} {:>9} {:>6} {:>7} {:>7} {:>10}   false alarms per 1,000 identity-days: {:.2}",
            card.detector,
            "all",
            card.kinds.iter().map(|k| k.incidents).sum::<usize>(),
            card.kinds.iter().map(|k| k.found).sum::<usize>(),
            "",
            card.alerts,
            ratio(card.precision()),
            card.false_alarms_per_1000_identity_days(),
        )?;
    }
    for card in cards.iter().filter(|c| c.detector == "kvaudit") {
        for alarm in &card.false_alarms {
            writeln!(out, "false alarm: {}\n    {}", super::detect::summary_line(alarm), alarm.explanation)?;
        }
        for incident in &card.missed {
            writeln!(
                out,
                "missed: {} {} {} {}: {}",
                incident.kind,
                incident.vault.as_deref().unwrap_or("-"),
                incident.window_start,
                incident.identity_upn.as_deref().or(incident.identity_appid.as_deref()).unwrap_or("-"),
                incident.description
            )?;
        }
    }
    Ok(())
}
