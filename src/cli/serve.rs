//! `kvaudit serve` and `kvaudit token new`.

use anyhow::{Context, Result};
use kvaudit::api::auth::{Role, config_lines, new_token as fresh_token, token_sha256};
use kvaudit::lake::LakePaths;
use kvaudit::serve::Service;

use super::config::ServeCommandConfig;

/// Runs the service until SIGTERM or Ctrl-C. The first line on stdout says where it
/// listens (scripts and tests read it to find a port chosen by the system).
pub fn run(lake: &LakePaths, config: ServeCommandConfig) -> Result<()> {
    kvaudit::allocator::limit_arenas();
    let service = Service {
        lake: lake.clone(),
        config: config.serve,
        detect: config.detect,
        delivery: config.delivery,
        retention: config.retention,
    };
    let path = config.path;
    super::runtime()?
        .block_on(service.run(|addr| {
            println!(
                "kvaudit serve: listening on http://{addr}/ (lake {}, config {})",
                lake.root().display(),
                path.display()
            );
        }))
        .map_err(|e| match e {
            kvaudit::serve::ServeError::Lake(kvaudit::lake::LakeError::Locked { lake, holder }) => anyhow::anyhow!(
                "another kvaudit serve runs on the lake {} ({holder}); one service per lake",
                lake.display()
            ),
            other => other.into(),
        })
}

/// Prints a new token once, and the config lines holding its hash.
pub fn new_token(name: &str, role: Role, vaults: &[String]) -> Result<()> {
    let token = fresh_token().context("reading random bytes from the operating system")?;
    let scope = if vaults.is_empty() { "every vault".to_owned() } else { vaults.join(", ") };
    println!("API token for {name} ({role}, {scope}). It is shown this once; kvaudit keeps only its SHA-256:");
    println!();
    println!("  {token}");
    println!();
    println!("Add these lines to kvaudit.toml and restart kvaudit serve:");
    println!();
    print!("{}", config_lines(name, role, vaults, &token_sha256(&token)));
    Ok(())
}
