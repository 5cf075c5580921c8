//! Wires the library's parts into commands. Nothing in the library depends on this.

pub mod args;
mod compact;
mod config;
mod deliver;
mod demo;
mod detect;
mod evaluate;
mod export;
mod generate;
mod ingest;
mod inventory;
mod query;
mod retention;
mod secrets;
mod serve;

use std::sync::Arc;

use anyhow::Result;
use kvaudit::lake::remote::RemoteLake;
use kvaudit::source::azure::objects;

use config::{CommandConfig, Config, RemoteLakeConfig};

/// Validates the arguments and runs the command.
pub fn run(args: args::Args) -> Result<()> {
    let config = Config::from_args(args)?;
    // Before any thread starts: the service trims what each cycle freed (`serve::run`); a
    // command that runs once keeps it for reuse instead (see `kvaudit::allocator`).
    if !matches!(config.command, CommandConfig::Serve(_)) {
        kvaudit::allocator::keep_freed_memory();
    }
    // Only `ingest` and `query` get this far with an az:// lake (`Config` refuses the rest).
    let remote = config.remote.as_ref().map(remote_lake).transpose()?;
    match config.command {
        CommandConfig::Ingest(c) => ingest::run(&config.lake, remote, c),
        CommandConfig::Query(c) => query::run(&config.lake, remote, c),
        CommandConfig::Generate(c) => generate::run(c),
        CommandConfig::Demo(c) => demo::run(&config.lake, c),
        CommandConfig::Detect(c) => detect::run(&config.lake, c),
        CommandConfig::Evaluate(c) => evaluate::run(c),
        CommandConfig::InventoryImport { files, json } => inventory::run(&config.lake, &files, json),
        CommandConfig::SecretStatus(c) => secrets::status(&config.lake, c),
        CommandConfig::Secrets(c) => secrets::list(&config.lake, c),
        CommandConfig::RotationPlan(c) => secrets::rotation_plan(&config.lake, c),
        CommandConfig::RotationCheck { vault, secret, since, json } => {
            secrets::rotation_check(&config.lake, (&vault, &secret), since, json)
        }
        CommandConfig::Export(c) => export::run(&config.lake, c),
        CommandConfig::Compact { options, json } => compact::run(&options, json),
        CommandConfig::Retention { options, json } => retention::run(&options, json),
        CommandConfig::Serve(c) => serve::run(&config.lake, *c),
        CommandConfig::TokenNew { name, role, vaults } => serve::new_token(&name, role, &vaults),
        CommandConfig::Deliver(c) => deliver::run(&config.lake, c),
    }
}

/// The lake in Blob Storage, reached with the endpoint and credential of its config.
fn remote_lake(config: &RemoteLakeConfig) -> Result<Arc<RemoteLake>> {
    let blob = config.blob.clone();
    let store = objects::container_store(&blob)?;
    let location = blob.location.clone();
    let clean = Arc::new(move |text: &str| objects::clean(&blob, text));
    let url = location.url().trim_end_matches('/').to_string();
    Ok(Arc::new(RemoteLake::new(store, &location.container, &location.prefix, url, clean)))
}

/// A tokio runtime for the commands that query: DataFusion is async.
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
