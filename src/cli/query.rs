//! `kvaudit query`.

use std::sync::Arc;

use anyhow::{Context, Result};
use kvaudit::lake::LakePaths;
use kvaudit::lake::remote::RemoteLake;
use kvaudit::query::{QueryError, QuerySession, SessionOptions, output, registry};

use super::config::{QueryConfig, QuerySource};

/// `lake` is the local lake, or with `remote` the work directory of the lake in Blob Storage.
pub fn run(lake: &LakePaths, remote: Option<Arc<RemoteLake>>, config: QueryConfig) -> Result<()> {
    let sql = match config.source {
        QuerySource::List => {
            for q in registry::QUERIES {
                println!("queries/{}.sql\t{}", q.name, registry::description(q));
            }
            return Ok(());
        }
        QuerySource::Sql(sql) => sql,
        QuerySource::File(path) => match std::fs::read_to_string(&path) {
            Ok(sql) => sql,
            // Named queries are built in, so `--file queries/X.sql` works from any directory.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => registry::find(&path.to_string_lossy())
                .map(|q| q.sql.to_string())
                .ok_or_else(|| QueryError::UnknownQuery(path.display().to_string()))?,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        },
    };
    let runtime = super::runtime()?;
    let (schema, batches) = runtime.block_on(async {
        let mut options = SessionOptions::new(lake.clone()).with_engine(config.engine.clone());
        if let Some(remote) = remote {
            options = options.with_remote(remote);
        }
        let session = QuerySession::open(&options).await?;
        session.sql(&sql).await
    })?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    output::write(&mut out, config.format, &schema, &batches)?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}
