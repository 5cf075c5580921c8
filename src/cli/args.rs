//! The raw command line, as clap parses it. Nothing here is trusted yet: `config.rs`
//! validates it into the typed configuration the commands run with.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "kvaudit", version, about = "Azure Key Vault audit logs into a Parquet lake, and answers out of it")]
pub struct Args {
    /// The lake directory.
    #[arg(long, global = true, env = "KVAUDIT_LAKE", default_value = "./kvaudit-lake")]
    pub lake: PathBuf,

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
        /// The account's blob endpoint, for sovereign clouds and emulators
        /// (default https://ACCOUNT.blob.core.windows.net).
        #[arg(long, env = "KVAUDIT_BLOB_ENDPOINT")]
        blob_endpoint: Option<String>,
        /// A file holding a SAS token (or a SAS URL) for the container.
        #[arg(long)]
        sas_file: Option<PathBuf>,
        /// Keep pulling until stopped (Ctrl-C or SIGTERM stop at a checkpoint).
        #[arg(long)]
        follow: bool,
        /// Time between pulls with --follow, like 30s, 5m or 1h.
        #[arg(long, default_value = "5m", requires = "follow")]
        interval: String,
        /// Hours before the newest hour seen that every run lists again.
        #[arg(long, default_value_t = 2)]
        grace_hours: u32,
        /// Blobs downloaded at once.
        #[arg(long, default_value_t = 8)]
        downloads: usize,
        /// How long to retry a failing request (timeouts, 5xx, 429, dropped connections),
        /// in seconds.
        #[arg(long, default_value_t = 60)]
        retry_seconds: u64,
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
        /// The SQL to run.
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
        /// Multiplies the steady traffic (1.0 ≈ 30k records a day).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
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
