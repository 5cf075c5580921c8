//! The service's tables of `kvaudit.toml`: `[serve]`, `[[source]]` and `[api]`, read from
//! the TOML text and validated once into a [`ServeConfig`].
//!
//! Every secret is a [`SecretRef`] (`{ env = ... }` or `{ file = ... }`), resolved here
//! at start-up so a missing variable fails the start, not the first cycle hours later. API
//! tokens are never in the file at all: only the SHA-256 of each.
//!
//! Invariant: no error built here quotes a value of the file (a TOML error is reduced to
//! its line and message, because the parser's own report prints the offending line, and
//! that line may hold a literal secret).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::api::auth::{Role, TokenEntry};
use crate::ingest::BlobIngestOptions;
use crate::secret_ref::SecretRef;
use crate::source::azure::{BlobConfig, BlobLocation, Credential, SasToken};

/// Why the service's configuration cannot be used. Messages never quote a secret.
#[derive(Debug, thiserror::Error)]
pub enum ServeConfigError {
    /// The file is not valid TOML, or a table has the wrong shape (a literal secret, for
    /// one). The message names the line.
    #[error(transparent)]
    Syntax(#[from] crate::secret_ref::ConfigSyntaxError),
    /// A value is out of range or malformed.
    #[error("{table}: {message}")]
    Invalid { table: String, message: String },
    /// A secret reference could not be resolved.
    #[error("{table}: {source}")]
    Secret { table: String, source: crate::secret_ref::SecretRefError },
}

fn invalid(table: impl Into<String>, message: impl Into<String>) -> ServeConfigError {
    ServeConfigError::Invalid { table: table.into(), message: message.into() }
}

/// The file's tables the service reads; other tables belong to other parts.
#[derive(Debug, Default, Deserialize)]
struct RawFile {
    #[serde(default)]
    serve: RawServe,
    #[serde(default)]
    source: Vec<RawSource>,
    #[serde(default)]
    api: RawApi,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServe {
    #[serde(default = "default_interval")]
    interval: String,
    #[serde(default = "default_listen")]
    listen: String,
    #[serde(default)]
    workers: Option<usize>,
    #[serde(default = "default_commit_bytes")]
    commit_bytes: u64,
    #[serde(default = "default_compact_every")]
    compact_every: String,
    #[serde(default = "default_compact_target_size")]
    compact_target_size: String,
    #[serde(default = "default_compact_max_days")]
    compact_max_days: usize,
    #[serde(default = "default_retention_every")]
    retention_every: String,
}

impl Default for RawServe {
    fn default() -> Self {
        RawServe {
            interval: default_interval(),
            listen: default_listen(),
            workers: None,
            commit_bytes: default_commit_bytes(),
            compact_every: default_compact_every(),
            compact_target_size: default_compact_target_size(),
            compact_max_days: default_compact_max_days(),
            retention_every: default_retention_every(),
        }
    }
}

fn default_interval() -> String {
    "5m".into()
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_commit_bytes() -> u64 {
    1 << 30
}

fn default_compact_every() -> String {
    "1h".into()
}

fn default_compact_target_size() -> String {
    "128MB".into()
}

fn default_compact_max_days() -> usize {
    7
}

fn default_retention_every() -> String {
    "24h".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    from: String,
    #[serde(default)]
    blob_endpoint: Option<String>,
    #[serde(default)]
    sas: Option<SecretRef>,
    #[serde(default = "default_grace_hours")]
    grace_hours: u32,
    #[serde(default = "default_full_listing_every")]
    full_listing_every: String,
    #[serde(default = "default_downloads")]
    downloads: usize,
    #[serde(default = "default_retry_seconds")]
    retry_seconds: u64,
    #[serde(default = "default_request_timeout_seconds")]
    request_timeout_seconds: u64,
}

fn default_grace_hours() -> u32 {
    2
}

fn default_full_listing_every() -> String {
    "24h".into()
}

fn default_downloads() -> usize {
    8
}

fn default_retry_seconds() -> u64 {
    60
}

fn default_request_timeout_seconds() -> u64 {
    30
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    #[serde(default)]
    token: Vec<RawToken>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    name: String,
    role: String,
    #[serde(default)]
    vaults: Option<Vec<String>>,
    #[serde(default)]
    sha256: Option<String>,
    /// Refused: a token itself never belongs in the file. Read as "present", never kept.
    #[serde(default)]
    token: Option<serde::de::IgnoredAny>,
}

/// Where one source's logs come from.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// A local folder (or file) of log files.
    Local(PathBuf),
    /// A Blob Storage container.
    Blob(Box<BlobIngestOptions>),
}

impl SourceConfig {
    /// How the source is named in logs, state and the dashboard (never with a credential).
    pub fn name(&self) -> String {
        match self {
            SourceConfig::Local(path) => path.display().to_string(),
            SourceConfig::Blob(blob) => blob.config.location.url(),
        }
    }
}

/// The service's validated configuration.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Time between the start of one cycle and the next.
    pub interval: Duration,
    /// Where the HTTP API listens; port 0 takes a free port (printed at start).
    pub listen: SocketAddr,
    pub sources: Vec<SourceConfig>,
    pub tokens: Vec<TokenEntry>,
    /// Decoding threads per ingest (default: one per core).
    pub workers: Option<usize>,
    pub commit_bytes: u64,
    /// How often the service compacts the date partitions of past days (`None`: never).
    pub compact_every: Option<Duration>,
    /// The size of the files compaction writes.
    pub compact_target_bytes: u64,
    /// Date partitions one compaction turn rewrites at most, newest first (a turn holds up
    /// the cycle: a year of uncompacted days is done over many turns, not in one).
    pub compact_max_days: usize,
    /// How often the service applies `[retention]` (when that table sets a limit).
    pub retention_every: Duration,
}

impl ServeConfig {
    /// Reads the service's tables from the text of `kvaudit.toml` and resolves its secrets.
    pub fn from_toml(text: &str) -> Result<ServeConfig, ServeConfigError> {
        let raw: RawFile = crate::secret_ref::parse_config(text)?;
        let interval = parse_interval(&raw.serve.interval)
            .ok_or_else(|| invalid("[serve] interval", "must be like 30s, 5m or 1h (at least 1s)"))?;
        let listen: SocketAddr = raw
            .serve
            .listen
            .parse()
            .map_err(|_| invalid("[serve] listen", "must be an address and port like 127.0.0.1:8080"))?;
        if raw.serve.workers == Some(0) {
            return Err(invalid("[serve] workers", "must be at least 1"));
        }
        if raw.serve.commit_bytes == 0 {
            return Err(invalid("[serve] commit_bytes", "must be at least 1"));
        }
        let compact_every = match raw.serve.compact_every.trim() {
            "off" => None,
            text => Some(
                parse_interval(text)
                    .ok_or_else(|| invalid("[serve] compact_every", "must be like 30m or 1h, or \"off\""))?,
            ),
        };
        let compact_target_bytes = parse_size(&raw.serve.compact_target_size)
            .filter(|b| *b >= 1_000_000)
            .ok_or_else(|| invalid("[serve] compact_target_size", "must be like 128MB or 1GB (at least 1MB)"))?;
        if raw.serve.compact_max_days == 0 {
            return Err(invalid("[serve] compact_max_days", "must be at least 1"));
        }
        let retention_every = parse_interval(&raw.serve.retention_every)
            .ok_or_else(|| invalid("[serve] retention_every", "must be like 6h or 24h"))?;
        let mut sources = Vec::new();
        for (n, source) in raw.source.into_iter().enumerate() {
            sources.push(source_config(n + 1, source)?);
        }
        if sources.is_empty() {
            return Err(invalid("[[source]]", "name at least one source: a folder of logs or az://ACCOUNT/CONTAINER"));
        }
        let mut tokens: Vec<TokenEntry> = Vec::new();
        for (n, token) in raw.api.token.into_iter().enumerate() {
            let entry = token_entry(n + 1, token)?;
            if tokens.iter().any(|t| t.name == entry.name) {
                return Err(invalid(
                    format!("[[api.token]] {}", n + 1),
                    format!("the name {:?} is used twice", entry.name),
                ));
            }
            if tokens.iter().any(|t| t.sha256 == entry.sha256) {
                return Err(invalid(format!("[[api.token]] {}", n + 1), "two tokens have the same sha256"));
            }
            tokens.push(entry);
        }
        Ok(ServeConfig {
            interval,
            listen,
            sources,
            tokens,
            workers: raw.serve.workers,
            commit_bytes: raw.serve.commit_bytes,
            compact_every,
            compact_target_bytes,
            compact_max_days: raw.serve.compact_max_days,
            retention_every,
        })
    }
}

fn source_config(n: usize, raw: RawSource) -> Result<SourceConfig, ServeConfigError> {
    let table = format!("[[source]] {n}");
    let Some(location) = BlobLocation::parse(&raw.from) else {
        if raw.sas.is_some() || raw.blob_endpoint.is_some() {
            return Err(invalid(table, "sas and blob_endpoint are for az:// sources only"));
        }
        if raw.from.trim().is_empty() {
            return Err(invalid(table, "from must name a folder of logs or az://ACCOUNT/CONTAINER"));
        }
        return Ok(SourceConfig::Local(PathBuf::from(raw.from)));
    };
    let location = location.map_err(|e| invalid(&table, e.to_string()))?;
    if raw.downloads == 0 {
        return Err(invalid(table, "downloads must be at least 1"));
    }
    if raw.request_timeout_seconds == 0 {
        return Err(invalid(table, "request_timeout_seconds must be at least 1"));
    }
    let full_listing_every = match raw.full_listing_every.trim() {
        "off" => None,
        text => Some(
            parse_interval(text)
                .ok_or_else(|| invalid(&table, "full_listing_every must be like 12h or 24h, or \"off\""))?,
        ),
    };
    let endpoint = match raw.blob_endpoint {
        Some(text) => url::Url::parse(&text)
            .ok()
            .filter(|u| !u.cannot_be_a_base() && u.query().is_none())
            .ok_or_else(|| invalid(&table, "blob_endpoint must be an http(s) URL without a query"))?,
        None => BlobConfig::public_endpoint(&location.account),
    };
    let credential = match raw.sas {
        None => Credential::EntraId,
        Some(reference) => {
            let secret = reference
                .resolve()
                .map_err(|source| ServeConfigError::Secret { table: format!("{table} sas"), source })?;
            // SasToken's errors never quote the token.
            Credential::Sas(SasToken::new(secret.expose()).map_err(|e| invalid(format!("{table} sas"), e.to_string()))?)
        }
    };
    Ok(SourceConfig::Blob(Box::new(BlobIngestOptions {
        config: BlobConfig {
            location,
            endpoint,
            credential,
            retry_for: Duration::from_secs(raw.retry_seconds),
            request_timeout: Duration::from_secs(raw.request_timeout_seconds),
            concurrency: raw.downloads,
            grace_hours: raw.grace_hours,
            full_listing_every,
        },
        chunk_bytes: 4 << 20,
        full_listing: false,
    })))
}

fn token_entry(n: usize, raw: RawToken) -> Result<TokenEntry, ServeConfigError> {
    let table = format!("[[api.token]] {n}");
    if raw.token.is_some() {
        return Err(invalid(
            table,
            "an API token is never written in the config file: write the SHA-256 of it as sha256 \
             (`kvaudit token new` prints the line to paste)",
        ));
    }
    let name = raw.name.trim().to_string();
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)) {
        return Err(invalid(table, "name must be 1 to 64 letters, digits or - _ . @"));
    }
    let role = Role::parse(&raw.role)
        .ok_or_else(|| invalid(&table, format!("role must be one of {}", Role::NAMES.join(", "))))?;
    let sha256 = raw.sha256.as_deref().and_then(crate::api::auth::parse_sha256).ok_or_else(|| {
        invalid(&table, "sha256 must be the 64 hex digits of the token's SHA-256 (`kvaudit token new`)")
    })?;
    let vaults = match raw.vaults {
        None => None,
        Some(list) if list.is_empty() => {
            return Err(invalid(table, "vaults, when given, must name at least one vault (leave it out for all)"));
        }
        Some(list) => Some(list.iter().map(|v| v.trim().to_ascii_lowercase()).collect::<BTreeSet<String>>()),
    };
    Ok(TokenEntry { name, role, vaults, sha256 })
}

/// `30s`, `5m`, `1h` or a number of seconds; at least one second.
pub fn parse_interval(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

/// `128MB`, `1GB`, `512KB` or a number of bytes (decimal units, as disks count); above zero.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_uppercase();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let per = match unit.trim() {
        "" | "B" => 1,
        "KB" | "K" => 1_000,
        "MB" | "M" => 1_000_000,
        "GB" | "G" => 1_000_000_000,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(per).filter(|b| *b > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn a_literal_secret_is_refused_without_quoting_it() {
        let text = "[[source]]\nfrom = \"az://acct/insights-logs-auditevent\"\nsas = \"sv=2024&sig=TOPSECRETSIG\"\n";
        let err = ServeConfig::from_toml(text).unwrap_err().to_string();
        assert!(err.contains("{ env = "), "{err}");
        assert!(err.starts_with("line 3"), "{err}");
        assert!(!err.contains("TOPSECRETSIG"), "{err}");

        let text = format!(
            "[[source]]\nfrom = \"logs\"\n[[api.token]]\nname = \"a\"\nrole = \"admin\"\ntoken = \"kva_LEAKED\"\nsha256 = \"{HASH}\"\n"
        );
        let err = ServeConfig::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("never written in the config file"), "{err}");
        assert!(!err.contains("kva_LEAKED"), "{err}");
    }

    #[test]
    fn sources_tokens_and_defaults_validate() {
        let text = format!(
            "[serve]\ninterval = \"2m\"\nlisten = \"127.0.0.1:0\"\n[[source]]\nfrom = \"/var/log/kv\"\n\
             [[api.token]]\nname = \"alice\"\nrole = \"analyst\"\nvaults = [\"KV-Web-Prod\"]\nsha256 = \"{HASH}\"\n"
        );
        let config = ServeConfig::from_toml(&text).unwrap();
        assert_eq!(config.interval, Duration::from_secs(120));
        assert_eq!(config.listen.port(), 0);
        assert!(matches!(&config.sources[..], [SourceConfig::Local(p)] if p == std::path::Path::new("/var/log/kv")));
        assert_eq!(config.tokens[0].role, Role::Analyst);
        assert_eq!(config.tokens[0].vaults.as_ref().unwrap().iter().next().unwrap(), "kv-web-prod");

        for (bad, says) in [
            ("[serve]\ninterval = \"0s\"\n[[source]]\nfrom = \"x\"\n", "interval"),
            ("[serve]\nlisten = \"nowhere\"\n[[source]]\nfrom = \"x\"\n", "listen"),
            ("[serve]\n", "at least one source"),
            ("[[source]]\nfrom = \"x\"\n[[api.token]]\nname = \"a\"\nrole = \"root\"\nsha256 = \"00\"\n", "role"),
            ("[[source]]\nfrom = \"x\"\n[[api.token]]\nname = \"a\"\nrole = \"admin\"\nsha256 = \"00\"\n", "sha256"),
        ] {
            let err = ServeConfig::from_toml(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
        let twice = format!(
            "[[source]]\nfrom = \"x\"\n[[api.token]]\nname = \"a\"\nrole = \"admin\"\nsha256 = \"{HASH}\"\n\
             [[api.token]]\nname = \"b\"\nrole = \"owner\"\nsha256 = \"{HASH}\"\n"
        );
        assert!(ServeConfig::from_toml(&twice).unwrap_err().to_string().contains("same sha256"));
    }

    #[test]
    fn the_example_config_parses_with_the_defaults_it_shows() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/kvaudit.example.toml")).unwrap();
        let config = ServeConfig::from_toml(&text).unwrap();
        assert_eq!(config.interval, Duration::from_secs(300));
        assert_eq!(config.listen, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
        assert_eq!(config.commit_bytes, default_commit_bytes());
        assert!(matches!(&config.sources[..], [SourceConfig::Local(_)]));
        // The commented Blob Storage source, uncommented, is valid too (its SAS from the
        // environment, as the example says).
        let blob: String = text
            .lines()
            .skip_while(|l| !l.starts_with("# [[source]]"))
            .take_while(|l| l.starts_with('#'))
            .filter(|l| !l.starts_with("# #") && !l.starts_with("# sas = { file"))
            .map(|l| format!("{}\n", l.trim_start_matches("# ")))
            .collect();
        assert!(blob.contains("sas = { env = "), "{blob}");
        let err = ServeConfig::from_toml(&blob.replace("KVAUDIT_SAS_TOKEN", "KVAUDIT_SURELY_UNSET_SAS")).unwrap_err();
        assert!(err.to_string().contains("KVAUDIT_SURELY_UNSET_SAS is not set"), "{err}");
    }

    #[test]
    fn blob_sources_list_whole_daily_unless_told_otherwise() {
        let every = |extra: &str| {
            ServeConfig::from_toml(&format!("[[source]]\nfrom = \"az://acct/c\"\n{extra}")).map(|c| {
                match &c.sources[..] {
                    [SourceConfig::Blob(blob)] => blob.config.full_listing_every,
                    _ => panic!("one blob source"),
                }
            })
        };
        assert_eq!(every("").unwrap(), Some(Duration::from_secs(86_400)));
        assert_eq!(every("full_listing_every = \"6h\"\n").unwrap(), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(every("full_listing_every = \"off\"\n").unwrap(), None);
        let err = every("full_listing_every = \"daily\"\n").unwrap_err().to_string();
        assert!(err.contains("full_listing_every"), "{err}");
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_interval("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_interval("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_interval("0m"), None);
        assert_eq!(parse_interval("5 minutes"), None);
    }
}
