//! The raw command line, as clap parses it. Nothing here is trusted yet: `config.rs`
//! validates it into the typed configuration the commands run with.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "kvaudit", version, about = "Azure Key Vault audit logs into a Parquet lake, and answers out of it")]
pub struct Args {
    /// The lake directory, or a lake in Blob Storage: az://ACCOUNT/CONTAINER[/PATH]
    /// (`ingest` and `query` only; credentials as for an az:// source).
    #[arg(long, global = true, env = "KVAUDIT_LAKE", default_value = "./kvaudit-lake")]
    pub lake: PathBuf,

    /// With an az:// lake: the local directory ingest stages files in before they go up
    /// (default: under the user's cache directory, one per lake).
    #[arg(long, global = true, env = "KVAUDIT_WORK_DIR")]
    pub work_dir: Option<PathBuf>,

    /// The account's blob endpoint of an az:// source or lake, for sovereign clouds and
    /// emulators (default https://ACCOUNT.blob.core.windows.net).
    #[arg(long, global = true, env = "KVAUDIT_BLOB_ENDPOINT")]
    pub blob_endpoint: Option<String>,

    /// A file holding a SAS token (or a SAS URL) for an az:// source or lake.
    #[arg(long, global = true)]
    pub sas_file: Option<PathBuf>,

    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SummaryFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ResultFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CompactOrder {
    Hour,
    Time,
    VaultIdentityTime,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ObjectType {
    Secret,
    Key,
    Certificate,
}

#[derive(Debug, Subcommand)]
pub enum InventoryAction {
    /// Import `az keyvault secret list` (or `show`, `list-versions`, and the key and
    /// certificate equivalents) output: files, or folders of *.json files. Repeatable:
    /// every import is kept, so changed expiry dates keep their history. Secret values
    /// (`az keyvault secret show` prints them) are never stored.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFileFormat {
    Csv,
    Jsonl,
    Parquet,
}

#[derive(Debug, Subcommand)]
pub enum ExportAction {
    /// Check an export directory against its manifest: every hash, no file missing or added.
    Verify {
        /// The export directory.
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RoleArg {
    Analyst,
    Owner,
    Auditor,
    Admin,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a new API token: prints the token once, and the lines to paste into
    /// kvaudit.toml (which hold only its SHA-256).
    New {
        /// Who the token is for (shown in the audit log): letters, digits, - _ . @.
        #[arg(long)]
        name: String,
        /// analyst: alerts; owner: secret status of its vaults; auditor: exports and
        /// read-only; admin: everything, with suppressions and SQL.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Limit the token to this vault (repeatable); default: every vault.
        #[arg(long = "vault")]
        vaults: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeliverAction {
    /// Show the delivery state of each alert on each channel (from the outbox).
    Status {
        /// Only this alert.
        #[arg(long)]
        alert: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
    /// Check that the SMTP server answers (connect, TLS, login) and that each webhook's host
    /// accepts connections; exits non-zero if one does not.
    Check {
        /// The configuration file with the [delivery] table.
        #[arg(long, env = "KVAUDIT_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read new Key Vault log records from files or Blob Storage into the lake
    /// (incremental, idempotent).
    Ingest {
        /// A log file, a directory tree of them, or a container:
        /// az://ACCOUNT/insights-logs-auditevent[/PREFIX]. Blob Storage credentials: a SAS
        /// token from the KVAUDIT_SAS_TOKEN variable or --sas-file, else Entra ID (client
        /// secret, workload or managed identity from the environment, or `az login`).
        #[arg(long)]
        from: String,
        /// Keep pulling until stopped (Ctrl-C or SIGTERM stop at a checkpoint).
        #[arg(long)]
        follow: bool,
        /// Time between pulls with --follow, like 30s, 5m or 1h.
        #[arg(long, default_value = "5m", requires = "follow")]
        interval: String,
        /// Hours before the newest hour seen that every run lists again.
        #[arg(long, default_value_t = 2)]
        grace_hours: u32,
        /// How often a run lists the whole container prefix, not only the recent hours, to
        /// find appends later than the grace period: like 12h or 24h, or `off`.
        #[arg(long, default_value = "24h")]
        full_listing_every: String,
        /// List the whole container prefix this run (with --follow, the first run).
        #[arg(long)]
        full_listing: bool,
        /// Blobs downloaded at once.
        #[arg(long, default_value_t = 8)]
        downloads: usize,
        /// How long to retry a failing request (timeouts, 5xx, 429, dropped connections),
        /// in seconds.
        #[arg(long, default_value_t = 60)]
        retry_seconds: u64,
        /// Seconds one request may wait for the service (to connect, or for the next bytes
        /// of an answer) before it is a timeout, retried like the failures above.
        #[arg(long, default_value_t = 30)]
        request_timeout: u64,
        /// Print the summary as a line of text or as one JSON object.
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
        /// Never draw a progress bar, even on a terminal.
        #[arg(long)]
        no_progress: bool,
        /// Decoding threads (default: one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// Input bytes between commits: a crash redoes at most this much work.
        #[arg(long, default_value_t = 1 << 30)]
        commit_bytes: u64,
    },
    /// Run SQL over the lake (`events` table), or a named query from queries/.
    Query {
        /// The SQL to run. It may start with a `--` comment: a value starting with `-` that is
        /// none of this command's options is taken as the SQL.
        #[arg(allow_hyphen_values = true)]
        sql: Option<String>,
        /// A query file (queries/NAME.sql), read from disk or, failing that, by name from
        /// the queries built into kvaudit.
        #[arg(long, conflicts_with = "sql")]
        file: Option<PathBuf>,
        /// List the named queries.
        #[arg(long, conflicts_with_all = ["sql", "file"])]
        list: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: ResultFormat,
        /// Where the query runs: `local`, or `ballista://HOST:PORT` (a Ballista scheduler
        /// whose executors see the lake at the same absolute path; needs a build with
        /// `--features ballista`).
        #[arg(long, env = "KVAUDIT_ENGINE", default_value = "local")]
        engine: String,
    },
    /// Write synthetic Key Vault logs in the archive layout, with planted incidents, a truth
    /// file and a secret inventory.
    Generate {
        #[arg(long)]
        out: PathBuf,
        /// Days of logs.
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// First day (UTC), YYYY-MM-DD.
        #[arg(long, default_value = "2026-10-01")]
        start: String,
        /// Multiplies the steady traffic (1.0 ≈ 30k records a day per team).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Replicas of the organisation (6 vaults, about 18 identities each), named -t01, -t02, ….
        #[arg(long, default_value_t = 1)]
        teams: u32,
        /// Vaults kept per team (1 to 6), with only the identities that use them.
        #[arg(long, default_value_t = 6)]
        vaults: u32,
        /// Plant no incidents: the same world's ordinary traffic only.
        #[arg(long)]
        no_incidents: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
    /// Look for unusual access in a window against baselines learned from the history
    /// before it; print and store the alerts.
    Detect {
        /// Start of the window (RFC 3339); default: where the last run ended, or 24 hours
        /// before --to.
        #[arg(long)]
        from: Option<String>,
        /// End of the window (RFC 3339); default: just after the newest event.
        #[arg(long)]
        to: Option<String>,
        /// Days of history the baselines are learned from (overrides the config file).
        #[arg(long)]
        history_days: Option<u32>,
        /// The configuration file; its `[detect]` table sets thresholds, the allow-list
        /// and suppression rules.
        #[arg(long, env = "KVAUDIT_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
        /// Where the queries over events run (rollups, window, baselines' sources):
        /// `local`, or `ballista://HOST:PORT` (needs a build with `--features ballista`).
        #[arg(long, env = "KVAUDIT_ENGINE", default_value = "local")]
        engine: String,
    },
    /// Score the detector against generated logs with planted incidents: generate, ingest,
    /// detect day by day, and compare with the truth file (and with Sentinel's rules).
    Evaluate {
        /// Working folder: logs/ and lake/ are created in it (it must not hold logs yet).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Days before detection starts, learned only.
        #[arg(long, default_value_t = 10)]
        warmup_days: u32,
        /// Generate no planted incidents: every unusual-access alert is a false alarm.
        #[arg(long)]
        clean: bool,
        /// Copies of the generated organisation (22 identities and 6 vaults each).
        #[arg(long, default_value_t = 1)]
        teams: u32,
        /// Vaults kept per team (1–6), with the identities that use them.
        #[arg(long, default_value_t = 6)]
        vaults: u32,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
    /// The vaults' secret inventory, as the Azure CLI prints it.
    Inventory {
        #[command(subcommand)]
        action: InventoryAction,
    },
    /// Is this secret still used, by whom, which version? A verdict, the last successful
    /// read, every reader, the versions read, expiry and age, and a recommendation.
    SecretStatus {
        /// VAULT/SECRET (or the secret's URL).
        secret: String,
        /// The window readers are listed over, in days before the end of the newest day
        /// in the lake.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// The configuration file; its `[lifecycle]` table sets the stale period and the
        /// other lifecycle thresholds.
        #[arg(long, env = "KVAUDIT_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
    /// Who must pick up a new version of this secret: every consumer (identity, app,
    /// networks, client software, last read, version read), and who missed the last
    /// rotation.
    RotationPlan {
        /// VAULT/SECRET (or the secret's URL).
        secret: String,
        /// Consumers are the readers of the last N days.
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, env = "KVAUDIT_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
    /// After a rotation: who reads the version set at or after --since, and who still
    /// reads an old one.
    RotationCheck {
        /// VAULT/SECRET (or the secret's URL).
        secret: String,
        /// When the rotation started (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        since: String,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
    /// Every secret with its state (in-use, idle, unread, stale, expired, near-expiry,
    /// past-max-age, no-expiry, old-version, deleted).
    Secrets {
        /// Only this vault.
        #[arg(long)]
        vault: Option<String>,
        /// Only secrets in this state.
        #[arg(long)]
        state: Option<String>,
        /// List keys or certificates instead of secrets.
        #[arg(long = "type", value_enum, default_value = "secret")]
        object_type: ObjectType,
        /// The window "in use" and the read counts look at, in days.
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, env = "KVAUDIT_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
    /// Export every access in a period (optionally one vault, one identity) with an access
    /// review, a lifecycle report and a manifest of SHA-256 hashes; or verify an export.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Export {
        #[command(subcommand)]
        action: Option<ExportAction>,
        /// Start of the period: a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 time.
        #[arg(long, required = true)]
        from: Option<String>,
        /// End of the period, excluded: a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 time.
        #[arg(long, required = true)]
        to: Option<String>,
        /// Only this vault (case-insensitive).
        #[arg(long)]
        vault: Option<String>,
        /// Only this identity: object id, app id or UPN (case-insensitive).
        #[arg(long)]
        identity: Option<String>,
        /// A new directory (or an empty one) for the export.
        #[arg(long, required = true)]
        out: Option<PathBuf>,
        /// Format of the event files.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFileFormat,
    },
    /// Merge the small Parquet files of date partitions into sorted files of a target
    /// size, dropping duplicate records; safe while ingest runs.
    Compact {
        /// Only this date partition (YYYY-MM-DD).
        #[arg(long, conflicts_with_all = ["from", "to"])]
        date: Option<String>,
        /// First date partition (YYYY-MM-DD) of a range.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Last date partition (YYYY-MM-DD) of a range, included.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Size of the files written, like 128MB, 512MB or 1GB; files under half of it are
        /// the small ones merged.
        #[arg(long, default_value = "128MB")]
        target_size: String,
        /// Row order: by hour, then vault, identity and time (hour ranges prune, files stay
        /// as small as ingest's); time first (finest time pruning, larger files); or vault,
        /// identity, time.
        #[arg(long, value_enum, default_value = "hour")]
        order: CompactOrder,
        /// Rewrite every file of a partition with more than one, not only the small ones.
        #[arg(long)]
        full: bool,
        /// Rows per row group, the unit statistics prune (smaller: finer pruning, larger
        /// footers).
        #[arg(long, default_value_t = 64 * 1024)]
        row_group_rows: usize,
        /// How long replaced files stay for queries that started before the switch, like
        /// 0s, 10m or 1h; a later run deletes them.
        #[arg(long, default_value = "0s")]
        grace: String,
        /// Memory the sort may use before spilling to disk, like 512MB or 2GB.
        #[arg(long, default_value = "1GB")]
        memory: String,
        /// Rewrite at most this many partitions, newest first; a later run takes the rest.
        #[arg(long)]
        max_partitions: Option<usize>,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
    /// Delete date partitions (and alerts, baselines, exports) past their retention limit,
    /// except what a legal hold covers; every deletion is written to _audit/retention.jsonl.
    Retention {
        /// Keep events this recent, like 400d or 57w (overrides `keep` of `[retention]`).
        #[arg(long)]
        keep: Option<String>,
        /// List what would be deleted and delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// The configuration file; its `[retention]` table sets the limits and legal holds.
        #[arg(long, env = "KVAUDIT_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
    /// Run the service: ingest the config's sources on a schedule, detect after each ingest,
    /// and serve the HTTP API and dashboard, until SIGTERM or Ctrl-C.
    Serve {
        /// The configuration file: [serve], [[source]], [api] and the detection tables.
        #[arg(long, env = "KVAUDIT_CONFIG", default_value = "kvaudit.toml")]
        config: PathBuf,
        /// Listen on this address instead of [serve] listen (port 0: any free port).
        #[arg(long)]
        listen: Option<String>,
    },
    /// API tokens for `kvaudit serve`.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Deliver alerts by email and webhook, once: enqueue new alerts into the outbox
    /// (<lake>/alerts/outbox.jsonl), send what is due, print a summary. Failed sends are
    /// retried by later runs, with backoff. `deliver status` shows the state per alert.
    #[command(subcommand_negates_reqs = true)]
    Deliver {
        #[command(subcommand)]
        action: Option<DeliverAction>,
        /// The configuration file with the [delivery] table (channels, routes, SMTP server).
        #[arg(long, env = "KVAUDIT_CONFIG")]
        config: Option<PathBuf>,
        /// Send every open entry now: retries before their time, digests before their
        /// period ends (for example once a channel is back).
        #[arg(long)]
        flush: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: SummaryFormat,
    },
    /// Generate a month of logs, ingest them, and show what kvaudit sees.
    Demo {
        /// Where the generated logs go (the lake is --lake).
        #[arg(long, default_value = "./kvaudit-demo")]
        logs: PathBuf,
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}
