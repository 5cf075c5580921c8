//! `kvaudit ingest`: one run, or with `--follow` a run every interval until Ctrl-C or
//! SIGTERM, which stop the current run at its next checkpoint and end the loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use kvaudit::ingest::{IngestOptions, IngestSummary, RemoteIngest, ingest, ingest_blobs};
use kvaudit::lake::LakePaths;
use kvaudit::lake::remote::RemoteLake;

use super::config::{IngestConfig, IngestFrom};

/// `lake` is the local lake, or with `remote` the work directory of the lake in Blob Storage.
pub fn run(lake: &LakePaths, remote: Option<Arc<RemoteLake>>, mut config: IngestConfig) -> Result<()> {
    let Some(interval) = config.follow else {
        print(&config, &run_once(lake, remote, &config)?)?;
        return Ok(());
    };
    let runtime = super::runtime()?;
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(tokio::sync::Notify::new());
    {
        let (stop, wake) = (Arc::clone(&stop), Arc::clone(&wake));
        runtime.spawn(async move {
            wait_for_signal().await;
            tracing::info!("Stop requested; finishing at the next checkpoint.");
            stop.store(true, Ordering::SeqCst);
            wake.notify_one();
        });
    }
    loop {
        let summary = run_with(lake, remote.clone(), &config, Some(Arc::clone(&stop)), Some(runtime.handle()))?;
        print(&config, &summary)?;
        // --full-listing asks for one full listing; later runs sweep on their interval.
        if let IngestFrom::Blob(blob) = &mut config.from {
            blob.full_listing = false;
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        runtime.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = wake.notified() => {}
            }
        });
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn print(config: &IngestConfig, summary: &IngestSummary) -> Result<()> {
    if config.json {
        println!("{}", serde_json::to_string(summary)?);
    } else {
        println!("{summary}");
    }
    Ok(())
}

/// Runs an ingest into a local lake and returns its summary without printing it.
pub fn run_quietly(lake: &LakePaths, config: &IngestConfig) -> Result<IngestSummary> {
    run_once(lake, None, config)
}

fn run_once(lake: &LakePaths, remote: Option<Arc<RemoteLake>>, config: &IngestConfig) -> Result<IngestSummary> {
    match (&config.from, &remote) {
        (IngestFrom::Local(_), None) => run_with(lake, None, config, None, None),
        _ => {
            let runtime = super::runtime()?;
            run_with(lake, remote, config, None, Some(runtime.handle()))
        }
    }
}

fn run_with(
    lake: &LakePaths,
    remote: Option<Arc<RemoteLake>>,
    config: &IngestConfig,
    stop: Option<Arc<AtomicBool>>,
    handle: Option<&tokio::runtime::Handle>,
) -> Result<IngestSummary> {
    let from = match &config.from {
        IngestFrom::Local(path) => path.clone(),
        IngestFrom::Blob(blob) => blob.config.location.url().into(),
    };
    let mut options = IngestOptions::new(lake.clone(), from);
    options.remote = remote
        .map(|lake| RemoteIngest { lake, handle: handle.expect("a remote lake is written with a runtime").clone() });
    options.progress = config.progress;
    options.commit_bytes = config.commit_bytes;
    options.stop = stop;
    if let Some(n) = config.workers {
        options.workers = n;
    }
    Ok(match &config.from {
        IngestFrom::Local(_) => ingest(&options)?,
        IngestFrom::Blob(blob) => ingest_blobs(&options, blob, handle.expect("blob ingest runs with a runtime"))?,
    })
}
