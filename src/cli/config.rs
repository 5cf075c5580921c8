//! The typed configuration: raw arguments validated once, so commands never re-check
//! them. Errors here name the flag and say what is expected.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use kvaudit::detect::lifecycle::LifecyclePolicy;
use kvaudit::detect::practice::PracticePolicy;
use kvaudit::ingest::BlobIngestOptions;
use kvaudit::lake::LakePaths;
use kvaudit::query::Engine;
use kvaudit::query::output::Format;
use kvaudit::source::azure::{BlobConfig, BlobLocation, Credential, SasToken};

use super::args::{
    Args, Command, CompactOrder, DeliverAction, ExportAction, ExportFileFormat, InventoryAction, ObjectType,
    ResultFormat, RoleArg, SummaryFormat, TokenAction,
};

pub struct Config {
    /// The local lake, or with `remote` the local work directory of the lake in Blob Storage.
    pub lake: LakePaths,
    /// `--lake az://ACCOUNT/CONTAINER[/PATH]`: the lake in Blob Storage.
    pub remote: Option<RemoteLakeConfig>,
    pub command: CommandConfig,
}

/// A lake in Blob Storage: where it is and how to reach it (endpoint and credential taken
/// the same way as an az:// source's).
pub struct RemoteLakeConfig {
    pub blob: BlobConfig,
}

/// The commands that work with a lake in Blob Storage, and those that never touch a lake;
/// the rest refuse an az:// lake with the command's name.
fn needs_local_lake(command: &Command) -> Option<&'static str> {
    match command {
        Command::Ingest { .. } | Command::Query { .. } => None,
        Command::Generate { .. } | Command::Evaluate { .. } | Command::Token { .. } => None,
        Command::Detect { .. } => Some("detect"),
        Command::Inventory { .. } => Some("inventory"),
        Command::SecretStatus { .. } => Some("secret-status"),
        Command::RotationPlan { .. } => Some("rotation-plan"),
        Command::RotationCheck { .. } => Some("rotation-check"),
        Command::Secrets { .. } => Some("secrets"),
        Command::Export { .. } => Some("export"),
        Command::Compact { .. } => Some("compact"),
        Command::Retention { .. } => Some("retention"),
        Command::Serve { .. } => Some("serve"),
        Command::Deliver { .. } => Some("deliver"),
        Command::Demo { .. } => Some("demo"),
    }
}

/// The endpoint and credential of an az:// location: `--blob-endpoint` (or the public
/// cloud's), and a SAS from `--sas-file`/`KVAUDIT_SAS_TOKEN`, else Entra ID.
fn blob_access(
    location: &BlobLocation,
    blob_endpoint: Option<&str>,
    sas_file: Option<PathBuf>,
) -> Result<(url::Url, Credential)> {
    let endpoint = match blob_endpoint {
        Some(text) => url::Url::parse(text)
            .ok()
            .filter(|u| !u.cannot_be_a_base() && u.query().is_none())
            .with_context(|| format!("--blob-endpoint must be an http(s) URL without a query, not {text:?}"))?,
        None => BlobConfig::public_endpoint(&location.account),
    };
    let credential = sas_credential(sas_file)?.map_or(Credential::EntraId, Credential::Sas);
    Ok((endpoint, credential))
}

/// Where an az:// lake's work directory is by default: `$XDG_CACHE_HOME` (or
/// `~/.cache`)`/kvaudit/lakes/<account>-<container>-<hash of the URL and endpoint>`.
fn default_work_dir(blob: &BlobConfig) -> Result<PathBuf> {
    use sha2::Digest;
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .context("--work-dir is needed for an az:// lake: neither XDG_CACHE_HOME nor HOME is set")?,
        )
        .join(".cache"),
    };
    let location = &blob.location;
    let digest = sha2::Sha256::digest(format!("{} {}", location.url(), blob.endpoint).as_bytes());
    let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Ok(cache.join("kvaudit").join("lakes").join(format!("{}-{}-{hash}", location.account, location.container)))
}

// Built once per process and matched once: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum CommandConfig {
    Ingest(IngestConfig),
    Query(QueryConfig),
    Generate(GenerateConfig),
    Demo(DemoConfig),
    Detect(DetectConfig),
    Evaluate(EvaluateConfig),
    InventoryImport { files: Vec<PathBuf>, json: bool },
    SecretStatus(SecretStatusConfig),
    Secrets(SecretsConfig),
    RotationPlan(SecretStatusConfig),
    RotationCheck { vault: String, secret: String, since: chrono::DateTime<chrono::Utc>, json: bool },
    Export(ExportConfig),
    Compact { options: kvaudit::compact::CompactOptions, json: bool },
    Retention { options: kvaudit::retention::RetentionOptions, json: bool },
    Serve(Box<ServeCommandConfig>),
    TokenNew { name: String, role: kvaudit::api::auth::Role, vaults: Vec<String> },
    Deliver(DeliverConfig),
}

/// `kvaudit serve`: the service's tables and the detection settings of one config file.
pub struct ServeCommandConfig {
    pub path: PathBuf,
    pub serve: kvaudit::serve::ServeConfig,
    pub detect: kvaudit::detect::DetectOptions,
    pub delivery: Option<kvaudit::deliver::DeliveryConfig>,
    pub retention: Option<kvaudit::retention::RetentionRules>,
}

/// Reads the config file of `kvaudit serve`. A literal secret in it is refused with the
/// line, and how to reference the secret instead; the secret itself is never repeated.
fn read_serve_config(path: &std::path::Path, listen: Option<String>) -> Result<ServeCommandConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the config file {}", path.display()))?;
    let mut serve = kvaudit::serve::ServeConfig::from_toml(&text)
        .map_err(|e| anyhow::anyhow!("in the config file {}: {e}", path.display()))?;
    if let Some(listen) = listen {
        serve.listen = listen
            .parse()
            .with_context(|| format!("--listen must be an address and port like 127.0.0.1:8080, not {listen:?}"))?;
    }
    let FileConfig { detect: policy, lifecycle, practice, retention, delivery } = read_policy(Some(path))?;
    let detect = kvaudit::detect::DetectOptions { policy, lifecycle, practice, ..Default::default() };
    let retention =
        retention.validate().map_err(|e| anyhow::anyhow!("in the config file {}: [retention] {e}", path.display()))?;
    let retention = retention.limits_anything().then_some(retention);
    Ok(ServeCommandConfig { path: path.to_path_buf(), serve, detect, delivery, retention })
}

/// `kvaudit deliver`: one run, the status view, or the health check.
pub enum DeliverConfig {
    Run { delivery: kvaudit::deliver::DeliveryConfig, flush: bool, json: bool },
    Status { alert: Option<String>, json: bool },
    Check { delivery: kvaudit::deliver::DeliveryConfig, json: bool },
}

pub struct SecretStatusConfig {
    pub vault: String,
    pub secret: String,
    pub days: u32,
    pub policy: LifecyclePolicy,
    pub json: bool,
}

pub struct SecretsConfig {
    pub vault: Option<String>,
    pub state: Option<kvaudit::status::SecretState>,
    pub object_type: &'static str,
    pub days: u32,
    pub policy: LifecyclePolicy,
    pub json: bool,
}

/// `kvaudit export`: write an export, or verify one.
pub enum ExportConfig {
    Write { scope: kvaudit::export::ExportScope, out: PathBuf },
    Verify { dir: PathBuf },
}

fn export_bound(flag: &str, text: Option<String>) -> Result<chrono::DateTime<chrono::Utc>> {
    let text = text.with_context(|| format!("{flag} is required"))?;
    kvaudit::export::scope::parse_bound(&text).with_context(|| {
        format!("{flag} must be a date like 2026-10-01 or an RFC 3339 time like 2026-10-01T00:00:00Z, not {text:?}")
    })
}

pub struct DetectConfig {
    pub options: kvaudit::detect::DetectOptions,
    pub json: bool,
}

pub struct EvaluateConfig {
    pub out: PathBuf,
    pub days: u32,
    pub seed: u64,
    pub scale: f64,
    pub warmup_days: u32,
    pub clean: bool,
    pub teams: u32,
    pub vaults: u32,
    pub json: bool,
}

/// The parts of `kvaudit.toml` commands other than `serve` read.
#[derive(Debug, Default, serde::Deserialize)]
pub struct FileConfig {
    #[serde(default)]
    pub detect: kvaudit::detect::Policy,
    #[serde(default)]
    pub lifecycle: LifecyclePolicy,
    #[serde(default)]
    pub practice: PracticePolicy,
    #[serde(default)]
    pub retention: kvaudit::retention::RetentionConfig,
    /// Alert delivery (`kvaudit deliver`, `serve`).
    #[serde(default)]
    pub delivery: Option<kvaudit::deliver::DeliveryConfig>,
}

/// The `[detect]`, `[lifecycle]` and `[practice]` tables of the config file (defaults
/// without one), each validated.
fn read_policy(path: Option<&std::path::Path>) -> Result<FileConfig> {
    let Some(path) = path else { return Ok(FileConfig::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the config file {}", path.display()))?;
    let file: FileConfig = kvaudit::secret_ref::parse_config(&text)
        .map_err(|e| anyhow::anyhow!("in the config file {}: {e}", path.display()))?;
    let checks = [
        ("detect", file.detect.validate()),
        ("lifecycle", file.lifecycle.validate()),
        ("practice", file.practice.validate()),
    ];
    for (table, check) in checks {
        check.map_err(|e| anyhow::anyhow!("in the config file {}: [{table}] {e}", path.display()))?;
    }
    if let Some(delivery) = &file.delivery {
        delivery.validate().map_err(|e| anyhow::anyhow!("in the config file {}: [delivery] {e}", path.display()))?;
    }
    Ok(file)
}

fn parse_time(flag: &str, text: Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    text.map(|t| {
        chrono::DateTime::parse_from_rfc3339(&t)
            .map(|t| t.with_timezone(&chrono::Utc))
            .with_context(|| format!("{flag} must be an RFC 3339 time like 2026-10-23T14:00:00Z, not {t:?}"))
    })
    .transpose()
}

/// Where ingest reads from.
pub enum IngestFrom {
    Local(PathBuf),
    Blob(Box<BlobIngestOptions>),
}

pub struct IngestConfig {
    pub from: IngestFrom,
    /// `--follow`: the pause between runs.
    pub follow: Option<std::time::Duration>,
    pub json: bool,
    pub progress: bool,
    pub workers: Option<usize>,
    pub commit_bytes: u64,
}

pub enum QuerySource {
    Sql(String),
    File(PathBuf),
    List,
}

pub struct QueryConfig {
    pub source: QuerySource,
    pub format: Format,
    pub engine: Engine,
}

pub struct GenerateConfig {
    pub options: kvaudit::generate::GenerateOptions,
    pub json: bool,
}

pub struct DemoConfig {
    pub logs: PathBuf,
    pub days: u32,
    pub seed: u64,
}

/// `VAULT/SECRET` (or a secret URL) as (vault, secret), lower-case.
fn secret_path(text: &str) -> Result<(String, String)> {
    kvaudit::status::secret::parse_path(text)
        .with_context(|| format!("name the secret as VAULT/SECRET (or its URL), not {text:?}"))
}

fn check_days(days: u32) -> Result<u32> {
    if !(1..=3660).contains(&days) {
        bail!("--days must be between 1 and 3660, not {days}");
    }
    Ok(days)
}

/// The SAS token, from `--sas-file` or `KVAUDIT_SAS_TOKEN` (read here, not through clap,
/// so that `--help` can never show it). Errors never quote the token.
fn sas_credential(sas_file: Option<PathBuf>) -> Result<Option<SasToken>> {
    if let Some(path) = sas_file {
        let text = std::fs::read_to_string(&path).with_context(|| format!("--sas-file {}", path.display()))?;
        return Ok(Some(SasToken::new(&text).with_context(|| format!("--sas-file {}", path.display()))?));
    }
    match std::env::var("KVAUDIT_SAS_TOKEN") {
        Ok(text) if !text.trim().is_empty() => Ok(Some(SasToken::new(&text).context("KVAUDIT_SAS_TOKEN")?)),
        _ => Ok(None),
    }
}

/// `128MB`, `1GB`, `512KB` or a number of bytes (decimal units, as disks count).
fn parse_size(flag: &str, text: &str) -> Result<u64> {
    kvaudit::serve::config::parse_size(text).with_context(|| format!("{flag} must be like 128MB or 1GB, not {text:?}"))
}

fn parse_date(flag: &str, text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .with_context(|| format!("{flag} must be a date like 2026-10-01, not {text:?}"))
}

/// `30s`, `5m`, `1h` or a number of seconds; at least one second.
fn parse_interval(text: &str) -> Result<std::time::Duration> {
    kvaudit::serve::config::parse_interval(text)
        .with_context(|| format!("must be like 30s, 5m or 1h (at least 1s), not {text:?}"))
}

impl Config {
    pub fn from_args(args: Args) -> Result<Self> {
        if args.lake.as_os_str().is_empty() {
            bail!("--lake must name a directory");
        }
        let lake_text = args.lake.to_string_lossy().into_owned();
        let remote = match BlobLocation::parse(&lake_text) {
            None => None,
            Some(location) => {
                let location = location.context("--lake")?;
                if let Some(name) = needs_local_lake(&args.command) {
                    bail!(
                        "`kvaudit {name}` needs a local lake directory; --lake {} is in Blob Storage, which only `ingest` and `query` support",
                        location.url().trim_end_matches('/')
                    );
                }
                let (endpoint, credential) =
                    blob_access(&location, args.blob_endpoint.as_deref(), args.sas_file.clone())?;
                Some(RemoteLakeConfig {
                    blob: BlobConfig {
                        location,
                        endpoint,
                        credential,
                        retry_for: std::time::Duration::from_secs(60),
                        request_timeout: std::time::Duration::from_secs(30),
                        concurrency: 8,
                        grace_hours: 0,
                        full_listing_every: None,
                    },
                })
            }
        };
        let lake = match &remote {
            None => LakePaths::new(&args.lake),
            Some(remote) => LakePaths::new(match &args.work_dir {
                Some(dir) => dir.clone(),
                None => default_work_dir(&remote.blob)?,
            }),
        };
        let command = match args.command {
            Command::Ingest {
                from,
                format,
                no_progress,
                workers,
                commit_bytes,
                follow,
                interval,
                grace_hours,
                full_listing_every,
                full_listing,
                downloads,
                retry_seconds,
                request_timeout,
            } => {
                let (blob_endpoint, sas_file) = (args.blob_endpoint.as_deref(), args.sas_file.clone());
                if workers == Some(0) {
                    bail!("--workers must be at least 1");
                }
                if commit_bytes == 0 {
                    bail!("--commit-bytes must be at least 1");
                }
                if downloads == 0 {
                    bail!("--downloads must be at least 1");
                }
                if request_timeout == 0 {
                    bail!("--request-timeout must be at least 1 second");
                }
                let full_listing_every = match full_listing_every.trim() {
                    "off" => None,
                    text => Some(parse_interval(text).context("--full-listing-every (or off)")?),
                };
                let from = match BlobLocation::parse(&from) {
                    None if full_listing => {
                        bail!("--full-listing is for az:// sources: a folder is always listed whole")
                    }
                    None => IngestFrom::Local(PathBuf::from(from)),
                    Some(location) => {
                        let location = location?;
                        let (endpoint, credential) = blob_access(&location, blob_endpoint, sas_file)?;
                        IngestFrom::Blob(Box::new(BlobIngestOptions {
                            config: BlobConfig {
                                location,
                                endpoint,
                                credential,
                                retry_for: std::time::Duration::from_secs(retry_seconds),
                                request_timeout: std::time::Duration::from_secs(request_timeout),
                                concurrency: downloads,
                                grace_hours,
                                full_listing_every,
                            },
                            chunk_bytes: 4 << 20,
                            full_listing,
                        }))
                    }
                };
                let follow = if follow { Some(parse_interval(&interval).context("--interval")?) } else { None };
                CommandConfig::Ingest(IngestConfig {
                    from,
                    follow,
                    json: format == SummaryFormat::Json,
                    progress: !no_progress && format == SummaryFormat::Table,
                    workers,
                    commit_bytes,
                })
            }
            Command::Query { sql, file, list, format, engine } => {
                let source = match (sql, file, list) {
                    (_, _, true) => QuerySource::List,
                    (Some(sql), None, false) => QuerySource::Sql(sql),
                    (None, Some(file), false) => QuerySource::File(file),
                    _ => bail!("give the SQL to run, or --file queries/NAME.sql, or --list"),
                };
                let format = match format {
                    ResultFormat::Table => Format::Table,
                    ResultFormat::Csv => Format::Csv,
                    ResultFormat::Json => Format::Json,
                };
                let engine = Engine::parse(&engine)?;
                CommandConfig::Query(QueryConfig { source, format, engine })
            }
            Command::Generate { out, days, seed, start, scale, teams, vaults, no_incidents, format } => {
                let start = NaiveDate::parse_from_str(&start, "%Y-%m-%d")
                    .with_context(|| format!("--start must be a date like 2026-10-01, not {start:?}"))?;
                if !(scale > 0.0 && scale <= 1000.0) {
                    bail!("--scale must be above 0 and at most 1000, not {scale}");
                }
                if !(1..=1000).contains(&teams) {
                    bail!("--teams must be between 1 and 1000, not {teams}");
                }
                if !(1..=6).contains(&vaults) {
                    bail!("--vaults must be between 1 and 6, not {vaults}");
                }
                let days = check_days(days)?;
                let incidents = !no_incidents;
                let options =
                    kvaudit::generate::GenerateOptions { out, days, seed, start, scale, teams, vaults, incidents };
                CommandConfig::Generate(GenerateConfig { options, json: format == SummaryFormat::Json })
            }
            Command::Inventory { action: InventoryAction::Import { files, format } } => {
                CommandConfig::InventoryImport { files, json: format == SummaryFormat::Json }
            }
            Command::SecretStatus { secret, days, config, format } => {
                let (vault, secret) = secret_path(&secret)?;
                let policy = read_policy(config.as_deref())?.lifecycle;
                CommandConfig::SecretStatus(SecretStatusConfig {
                    vault,
                    secret,
                    days: check_days(days)?,
                    policy,
                    json: format == SummaryFormat::Json,
                })
            }
            Command::RotationPlan { secret, days, config, format } => {
                let (vault, secret) = secret_path(&secret)?;
                let policy = read_policy(config.as_deref())?.lifecycle;
                CommandConfig::RotationPlan(SecretStatusConfig {
                    vault,
                    secret,
                    days: check_days(days)?,
                    policy,
                    json: format == SummaryFormat::Json,
                })
            }
            Command::RotationCheck { secret, since, format } => {
                let (vault, secret) = secret_path(&secret)?;
                let since = kvaudit::export::scope::parse_bound(&since).with_context(|| {
                    format!("--since must be a date like 2026-10-01 or an RFC 3339 time, not {since:?}")
                })?;
                CommandConfig::RotationCheck { vault, secret, since, json: format == SummaryFormat::Json }
            }
            Command::Secrets { vault, state, object_type, days, config, format } => {
                let state = match state {
                    None => None,
                    Some(s) => Some(kvaudit::status::SecretState::parse(&s).with_context(|| {
                        let all: Vec<&str> = kvaudit::status::SecretState::ALL.iter().map(|s| s.as_str()).collect();
                        format!("--state must be one of {}, not {s:?}", all.join(", "))
                    })?),
                };
                let object_type = match object_type {
                    ObjectType::Secret => "secret",
                    ObjectType::Key => "key",
                    ObjectType::Certificate => "certificate",
                };
                let policy = read_policy(config.as_deref())?.lifecycle;
                CommandConfig::Secrets(SecretsConfig {
                    vault: vault.map(|v| v.to_ascii_lowercase()),
                    state,
                    object_type,
                    days: check_days(days)?,
                    policy,
                    json: format == SummaryFormat::Json,
                })
            }
            Command::Detect { from, to, history_days, config, format, engine } => {
                let FileConfig { detect: mut policy, lifecycle, practice, .. } = read_policy(config.as_deref())?;
                if let Some(days) = history_days {
                    policy.history_days = check_days(days)?;
                }
                let options = kvaudit::detect::DetectOptions {
                    from: parse_time("--from", from)?,
                    to: parse_time("--to", to)?,
                    policy,
                    lifecycle,
                    practice,
                    engine: Engine::parse(&engine)?,
                };
                CommandConfig::Detect(DetectConfig { options, json: format == SummaryFormat::Json })
            }
            Command::Evaluate { out, days, seed, scale, warmup_days, clean, teams, vaults, format } => {
                let days = check_days(days)?;
                if !(1..=1000).contains(&teams) || !(1..=6).contains(&vaults) {
                    bail!("--teams must be between 1 and 1000 and --vaults between 1 and 6, not {teams} and {vaults}");
                }
                if warmup_days == 0 || warmup_days >= days {
                    bail!("--warmup-days must be at least 1 and less than --days ({days}), not {warmup_days}");
                }
                if !(scale > 0.0 && scale <= 1000.0) {
                    bail!("--scale must be above 0 and at most 1000, not {scale}");
                }
                CommandConfig::Evaluate(EvaluateConfig {
                    out,
                    days,
                    seed,
                    scale,
                    warmup_days,
                    clean,
                    teams,
                    vaults,
                    json: format == SummaryFormat::Json,
                })
            }
            Command::Export { action: Some(ExportAction::Verify { dir }), .. } => {
                CommandConfig::Export(ExportConfig::Verify { dir })
            }
            Command::Export { action: None, from, to, vault, identity, out, format } => {
                let format = match format {
                    ExportFileFormat::Csv => kvaudit::export::ExportFormat::Csv,
                    ExportFileFormat::Jsonl => kvaudit::export::ExportFormat::Jsonl,
                    ExportFileFormat::Parquet => kvaudit::export::ExportFormat::Parquet,
                };
                let (from, to) = (export_bound("--from", from)?, export_bound("--to", to)?);
                let scope = kvaudit::export::ExportScope::new(from, to, vault.as_deref(), identity.as_deref(), format)?;
                let out = out.context("--out is required")?;
                CommandConfig::Export(ExportConfig::Write { scope, out })
            }
            Command::Compact {
                date,
                from,
                to,
                target_size,
                order,
                full,
                row_group_rows,
                grace,
                memory,
                max_partitions,
                format,
            } => {
                let mut options = kvaudit::compact::CompactOptions::new(LakePaths::new(&args.lake));
                options.dates = match (date, from, to) {
                    (Some(d), _, _) => {
                        let d = parse_date("--date", &d)?;
                        Some(kvaudit::compact::DateRange { from: d, to: d })
                    }
                    (None, Some(f), Some(t)) => {
                        let (from, to) = (parse_date("--from", &f)?, parse_date("--to", &t)?);
                        if from > to {
                            bail!("--from ({from}) must not be after --to ({to})");
                        }
                        Some(kvaudit::compact::DateRange { from, to })
                    }
                    _ => None,
                };
                options.target_bytes = parse_size("--target-size", &target_size)?;
                if options.target_bytes < 1_000_000 {
                    bail!("--target-size must be at least 1MB, not {target_size}");
                }
                let memory = parse_size("--memory", &memory)?;
                if memory < 64_000_000 {
                    bail!("--memory must be at least 64MB, not {memory}");
                }
                options.memory_limit = usize::try_from(memory).unwrap_or(usize::MAX);
                options.order = match order {
                    CompactOrder::Hour => kvaudit::compact::SortOrder::Hour,
                    CompactOrder::Time => kvaudit::compact::SortOrder::Time,
                    CompactOrder::VaultIdentityTime => kvaudit::compact::SortOrder::VaultIdentityTime,
                };
                options.full = full;
                if max_partitions == Some(0) {
                    bail!("--max-partitions must be at least 1");
                }
                options.max_partitions = max_partitions;
                if !(1_000..=10_000_000).contains(&row_group_rows) {
                    bail!("--row-group-rows must be between 1000 and 10000000, not {row_group_rows}");
                }
                options.row_group_rows = row_group_rows;
                options.grace = if grace.trim().trim_end_matches('s') == "0" {
                    std::time::Duration::ZERO
                } else {
                    parse_interval(&grace).context("--grace")?
                };
                CommandConfig::Compact { options, json: format == SummaryFormat::Json }
            }
            Command::Retention { keep, dry_run, config, format } => {
                let file = read_policy(config.as_deref())?;
                let mut rules = file.retention.validate().map_err(|e| match &config {
                    Some(path) => anyhow::anyhow!("in the config file {}: [retention] {e}", path.display()),
                    None => anyhow::anyhow!("{e}"),
                })?;
                if let Some(keep) = keep {
                    rules.keep = Some(keep.parse().with_context(|| format!("--keep {keep}"))?);
                }
                if !rules.limits_anything() {
                    bail!("nothing to do: give --keep, or limits in the [retention] table of --config");
                }
                let mut options = kvaudit::retention::RetentionOptions::new(LakePaths::new(&args.lake), rules);
                options.dry_run = dry_run;
                CommandConfig::Retention { options, json: format == SummaryFormat::Json }
            }
            Command::Serve { config, listen } => CommandConfig::Serve(Box::new(read_serve_config(&config, listen)?)),
            Command::Token { action: TokenAction::New { name, role, vaults } } => {
                let role = match role {
                    RoleArg::Analyst => kvaudit::api::auth::Role::Analyst,
                    RoleArg::Owner => kvaudit::api::auth::Role::Owner,
                    RoleArg::Auditor => kvaudit::api::auth::Role::Auditor,
                    RoleArg::Admin => kvaudit::api::auth::Role::Admin,
                };
                let ok = |s: &str| {
                    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
                };
                if !ok(&name) {
                    bail!("--name must be 1 to 64 letters, digits or - _ . @, not {name:?}");
                }
                if let Some(bad) = vaults.iter().find(|v| !ok(v)) {
                    bail!("--vault must name a vault (letters, digits and dashes), not {bad:?}");
                }
                CommandConfig::TokenNew { name, role, vaults }
            }
            Command::Deliver { action, config, flush, format } => {
                let json = format == SummaryFormat::Json;
                let delivery = |config: Option<PathBuf>| -> Result<kvaudit::deliver::DeliveryConfig> {
                    let path = config
                        .context("--config is required: the config file's [delivery] table names the channels")?;
                    read_policy(Some(&path))?
                        .delivery
                        .with_context(|| format!("the config file {} has no [delivery] table", path.display()))
                };
                CommandConfig::Deliver(match action {
                    None => DeliverConfig::Run { delivery: delivery(config)?, flush, json },
                    Some(DeliverAction::Status { alert, format }) => {
                        DeliverConfig::Status { alert, json: format == SummaryFormat::Json }
                    }
                    Some(DeliverAction::Check { config: check_config, format }) => DeliverConfig::Check {
                        delivery: delivery(check_config.or(config))?,
                        json: format == SummaryFormat::Json,
                    },
                })
            }
            Command::Demo { logs, days, seed } => {
                CommandConfig::Demo(DemoConfig { logs, days: check_days(days)?, seed })
            }
        };
        Ok(Config { lake, remote, command })
    }
}
