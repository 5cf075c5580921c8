//! `kvaudit demo`: the whole pipeline on generated data, then a short tour of what to ask.

use anyhow::Result;
use kvaudit::lake::LakePaths;
use kvaudit::query::{QuerySession, SessionOptions, output, registry};

use super::config::{DemoConfig, IngestConfig, IngestFrom};

pub fn run(lake: &LakePaths, config: DemoConfig) -> Result<()> {
    let options = kvaudit::generate::GenerateOptions {
        out: config.logs.clone(),
        days: config.days,
        seed: config.seed,
        ..Default::default()
    };
    // A demo folder from an earlier run (it has our truth file) is regenerated, not mixed.
    if config.logs.join("truth.json").exists() {
        std::fs::remove_dir_all(&config.logs)?;
    }
    println!("1. Generating {} days of Key Vault logs into {} ...", config.days, config.logs.display());
    let generated = kvaudit::generate::generate(&options)?;
    println!(
        "   {} records in {} hourly blobs, {} planted incidents (truth: {})",
        generated.records,
        generated.files,
        generated.incidents,
        generated.truth_path.display()
    );
    println!("2. Ingesting them into the lake {} ...", lake.root().display());
    // The archive container only: the truth file and inventory beside it are not logs.
    let ingest = IngestConfig {
        from: IngestFrom::Local(config.logs.join("insights-logs-auditevent")),
        follow: None,
        json: false,
        progress: true,
        workers: None,
        commit_bytes: 1 << 30,
    };
    let summary = super::ingest::run_quietly(lake, &ingest)?;
    println!("   {summary}");
    println!("3. What the lake holds:");
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let session = QuerySession::open(&SessionOptions::new(lake.clone())).await?;
        for name in ["events_per_vault", "top_identities"] {
            let query = registry::find(name).expect("the demo's queries are registered");
            println!("\n-- {} (queries/{name}.sql)", registry::description(query));
            let (schema, batches) = session.sql(query.sql).await?;
            output::write(&mut std::io::stdout(), output::Format::Table, &schema, &batches)?;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    // 4. Detection, day by day after ten days of learning, as `kvaudit serve` would run it.
    let start = options.start.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
    let warmup = i64::from(config.days.min(10).saturating_sub(1).max(1));
    let (first, end) = (start + chrono::Duration::days(warmup), start + chrono::Duration::days(i64::from(config.days)));
    println!(
        "\n4. Detecting unusual access day by day from {}, each day against the days before it ...",
        first.format("%Y-%m-%d")
    );
    let policy = kvaudit::detect::Policy::default();
    let lifecycle = kvaudit::detect::lifecycle::LifecyclePolicy::default();
    let mut alerts = runtime.block_on(kvaudit::evaluate::detect_daily(lake, first, end, &policy, &lifecycle))?;
    alerts.sort_by_key(|a| (a.window_start, a.kind));
    println!("   {} alerts (planted incidents are listed in {}):", alerts.len(), generated.truth_path.display());
    for alert in &alerts {
        println!("   {}", super::detect::summary_line(alert));
    }
    if let Some(example) =
        alerts.iter().max_by_key(|a| (a.severity, a.kind == kvaudit::alert::AlertKind::MassRetrieval))
    {
        println!("\n   One of them in full, as `kvaudit detect --format json` and webhooks deliver it:\n");
        println!("{}", serde_json::to_string_pretty(example)?);
    }
    let lake_flag = format!("--lake {}", lake.root().display());
    println!("\nTry next:");
    println!(
        "  kvaudit {lake_flag} query \"SELECT kind, severity, count(*) FROM alerts GROUP BY 1, 2 ORDER BY 3 DESC\""
    );
    println!("  kvaudit {lake_flag} query --list");
    println!("  kvaudit {lake_flag} query --file queries/denied_access.sql");
    println!(
        "  kvaudit {lake_flag} query \"SELECT operation, count(*) FROM events WHERE time >= '{}' GROUP BY 1 ORDER BY 2 DESC\"",
        options.start + chrono::Days::new(u64::from(config.days.saturating_sub(1)))
    );
    println!(
        "  duckdb -c \"SELECT vault, count(*) FROM read_parquet('{}/events/*/*.parquet', hive_partitioning=true) GROUP BY 1\"",
        lake.root().display()
    );
    Ok(())
}
