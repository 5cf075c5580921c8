//! Wires the library's parts into commands. Nothing in the library depends on this.

pub mod args;
mod config;
mod demo;
mod detect;
mod evaluate;
mod export;
mod generate;
mod ingest;
mod inventory;
mod query;
mod secrets;
mod serve;

use anyhow::Result;

use config::{CommandConfig, Config};

/// Validates the arguments and runs the command.
pub fn run(args: args::Args) -> Result<()> {
    let config = Config::from_args(args)?;
    match config.command {
        CommandConfig::Ingest(c) => ingest::run(&config.lake, c),
        CommandConfig::Query(c) => query::run(&config.lake, c),
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
        CommandConfig::Serve(c) => serve::run(&config.lake, *c),
        CommandConfig::TokenNew { name, role, vaults } => serve::new_token(&name, role, &vaults),
    }
}

/// A tokio runtime for the commands that query: DataFusion is async.
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
