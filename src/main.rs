//! The `kvaudit` binary: parses the command line once into a typed configuration, runs
//! the command, and turns any error into one line on stderr and a non-zero exit status.
//! This is the only place `anyhow` is used; the library reports typed errors.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::args::Args::parse();
    init_tracing(args.verbose);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line: the chain of causes joined, so scripts can log it as is.
            let text = format!("{error:#}").replace('\n', " ");
            eprintln!("kvaudit: error: {text}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr so that stdout stays clean for results. `RUST_LOG` overrides `-v`.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "kvaudit=warn",
        1 => "kvaudit=info",
        _ => "kvaudit=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}
