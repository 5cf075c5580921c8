//! `kvaudit demo`: the whole pipeline on generated data, a short tour of what to ask, and
//! the `kvaudit serve` command (with a config and a token it writes) to see the dashboard.

use anyhow::{Context, Result};
use kvaudit::lake::LakePaths;
use kvaudit::query::{QuerySession, SessionOptions, output, registry};

use super::config::{DemoConfig, IngestConfig, IngestFrom};

/// The demo's `kvaudit serve` config and the token it accepts.
struct DemoServe {
    path: std::path::PathBuf,
    token: String,
}

/// Writes `<logs>/kvaudit.toml`: the demo logs as the source, a fresh admin token's hash.
fn write_serve_config(logs: &std::path::Path) -> Result<DemoServe> {
    use kvaudit::api::auth::{Role, config_lines, new_token, token_sha256};
    let token = new_token().context("reading random bytes from the operating system")?;
    let logs = std::fs::canonicalize(logs)?;
    let text = format!(
        "# Written by `kvaudit demo`: `kvaudit serve` over the demo's logs.\n\
         [serve]\ninterval = \"5m\"\nlisten = \"127.0.0.1:8080\"\n\n\
         [[source]]\nfrom = {:?}\n\n{}",
        logs.join("insights-logs-auditevent").display().to_string(),
        config_lines("demo-admin", Role::Admin, &[], &token_sha256(&token)),
    );
    let path = logs.join("kvaudit.toml");
    std::fs::write(&path, text)?;
    Ok(DemoServe { path, token })
}

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
    // What `az keyvault secret list` prints for each vault: expiry and creation dates, and
    // the secrets nobody reads (the logs cannot show those).
    let inventory = kvaudit::inventory::store::import(lake, &[config.logs.join("inventory")], chrono::Utc::now())?;
    println!(
        "   imported the secret inventory of {} vaults ({} entries) with `kvaudit inventory import`",
        inventory.vaults.len(),
        inventory.entries
    );
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
        "\n4. Detecting unusual access day by day from {}, each day against the days before it, and secret \
         lifecycle as of each day's end ...",
        first.format("%Y-%m-%d")
    );
    let settings = kvaudit::detect::DetectOptions::default();
    let lifecycle = &settings.lifecycle;
    let mut alerts = runtime.block_on(kvaudit::evaluate::detect_daily(lake, first, end, &settings))?;
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
    // 5. "Is this secret still used?": one nobody reads (planted) and the busiest one.
    let truth: kvaudit::generate::Truth = serde_json::from_slice(&std::fs::read(&generated.truth_path)?)?;
    let as_of = kvaudit::status::lake_as_of(lake);
    let catalog = runtime.block_on(kvaudit::status::load_catalog(lake, as_of, None))?;
    let rows = kvaudit::status::list(&catalog, lifecycle, 30, None, None, "secret");
    let unused = truth
        .incidents
        .iter()
        .find(|i| i.kind == "stale_secret" && i.window_start <= truth.start.clone() + "T00:00:00Z");
    let busiest =
        rows.iter().filter(|r| r.state == kvaudit::status::SecretState::InUse).max_by_key(|r| (r.readers, r.reads));
    for (label, secret) in [
        ("a secret nobody reads", unused.and_then(|i| Some((i.vault.clone()?, i.object_name.clone()?)))),
        ("the busiest secret", busiest.map(|r| (r.vault.clone(), r.name.clone()))),
    ] {
        let Some((vault, name)) = secret else { continue };
        println!("\n5. Is it still used? {label}: kvaudit secret-status {vault}/{name}\n");
        let status = runtime.block_on(kvaudit::status::status(lake, (&vault, &name), 30, as_of, lifecycle))?;
        super::secrets::write_status(&mut std::io::stdout(), &status)?;
    }

    let lake_flag = format!("--lake {}", lake.root().display());
    let serve = write_serve_config(&config.logs)?;
    println!("\n6. See it in the dashboard: this serves the demo lake (and keeps ingesting its logs):\n");
    println!("  kvaudit {lake_flag} serve --config {}", serve.path.display());
    println!("\n   then open http://127.0.0.1:8080/ and sign in with the demo's admin token (valid for this");
    println!("   demo config only; make your own with `kvaudit token new`):\n");
    println!("  {}", serve.token);
    println!("\nTry next:");
    println!("  kvaudit {lake_flag} secrets --state unread");
    println!(
        "  kvaudit {lake_flag} export --from {} --to {} --out ./kvaudit-export --format csv",
        options.start,
        options.start + chrono::Days::new(u64::from(config.days))
    );
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
