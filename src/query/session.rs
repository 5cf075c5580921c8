//! The one place a DataFusion session is built. Every setting that differs from
//! DataFusion's default, or that a reader might wonder about, is set here with its reason.
//!
//! The engine (`SessionOptions::engine`) only changes where plans execute: the settings
//! and the tables are the same for a local session and a Ballista one (see `ballista.rs`
//! for the one difference in how `events` is wrapped, and why).

use std::sync::Arc;

use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::config::{ConfigNonZeroUsize, TableParquetOptions};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::context::SessionContext;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;
use object_store::local::LocalFileSystem;

use super::QueryError;
use super::engine::Engine;
use super::events_table::EventsTable;
use super::lake_store::{LakeStore, ManifestSource};
use crate::lake::LakePaths;
use crate::lake::remote::RemoteLake;
use crate::lake::schema::events_read_schema;

/// What a session needs to know.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// The local lake; with `remote`, the local directory `alerts` and `inventory` are
    /// read from (a lake in an object store has neither yet).
    pub lake: LakePaths,
    /// `events` of a lake in an object store (`--lake az://…`).
    pub remote: Option<Arc<RemoteLake>>,
    /// Parallelism of query execution; defaults to the number of cores.
    pub target_partitions: Option<usize>,
    /// Where queries run; local unless `--engine ballista://…` says otherwise.
    pub engine: Engine,
}

impl SessionOptions {
    pub fn new(lake: LakePaths) -> Self {
        SessionOptions { lake, remote: None, target_partitions: None, engine: Engine::Local }
    }

    /// Reads `events` from a lake in an object store.
    pub fn with_remote(mut self, remote: Arc<RemoteLake>) -> Self {
        self.remote = Some(remote);
        self
    }

    pub fn with_engine(mut self, engine: Engine) -> Self {
        self.engine = engine;
        self
    }
}

/// Sets every DataFusion option named by an environment variable, under DataFusion's
/// naming (`datafusion.execution.parquet.pushdown_filters` is
/// `DATAFUSION_EXECUTION_PARQUET_PUSHDOWN_FILTERS`). A value DataFusion cannot read fails
/// the session with its message, rather than being ignored.
fn apply_environment(options: &mut datafusion::config::ConfigOptions) -> Result<(), QueryError> {
    let keys: Vec<String> = options.entries().into_iter().map(|entry| entry.key).collect();
    for key in keys {
        let variable = key.to_uppercase().replace('.', "_");
        if let Ok(value) = std::env::var(&variable) {
            tracing::debug!(option = %key, value = %value, "A DataFusion option is set from the environment.");
            options.set(&key, &value)?;
        }
    }
    Ok(())
}

/// A DataFusion session with the lake's tables registered.
pub struct QuerySession {
    ctx: SessionContext,
}

impl QuerySession {
    /// Builds the session and registers `events`, `alerts` and `inventory`.
    pub async fn open(options: &SessionOptions) -> Result<Self, QueryError> {
        let mut config = SessionConfig::new()
            // Identifiers as written: column names are lower-case snake case anyway, and
            // Key Vault names like `SecretGet` stay readable in string literals.
            .with_information_schema(true);
        if let Some(n) = options.target_partitions {
            config = config.with_target_partitions(n);
        }
        let parquet = &mut config.options_mut().execution.parquet;
        // Evaluate filters while decoding (late materialization): rows that fail
        // `vault = ...` or `identity_oid = ...` never have their `raw` column decoded. On a
        // local session `events` does this only for the scans it pays for
        // (`filter_while_decoding`); this setting says whether it may at all.
        parquet.pushdown_filters = true;
        // Apply the most selective, cheapest filters first within that pushdown.
        parquet.reorder_filters = true;
        // Use the page index the writer stores, to skip pages inside row groups.
        parquet.enable_page_index = true;
        // Prune row groups by their min/max statistics (on `time` above all).
        parquet.pruning = true;
        // Row counts and min/max per file let the planner skip files and size joins.
        config.options_mut().execution.collect_statistics = true;
        // Those statistics come from every file's footer, read at planning: DataFusion reads
        // 32 at once by default, which suits an object store's latency. A local lake's
        // footers are a few reads from the page cache each, and 32 at once only start as
        // many threads in tokio's blocking pool (each with its own malloc arena); one per
        // core reads them as fast.
        if options.remote.is_none() {
            let cores = config.options().execution.target_partitions;
            config.options_mut().execution.meta_fetch_concurrency = ConfigNonZeroUsize::try_new(cores)?;
        }
        // Last, DataFusion's own environment variables (`DATAFUSION_EXECUTION_BATCH_SIZE=…`)
        // override any of the above for one run: tuning and comparing settings on a real
        // lake needs no rebuild.
        apply_environment(config.options_mut())?;
        // The Parquet settings above, for the `events` table's format: a `ParquetFormat`
        // reads with its own options, not the session's (only `pushdown_filters` is also
        // read from the session), so without this the page index, pruning and filter
        // order settings would be DataFusion's defaults whatever this function says.
        let reading = TableParquetOptions { global: config.options().execution.parquet.clone(), ..Default::default() };
        if matches!(options.engine, Engine::Local) {
            // DataFusion evaluates filters while decoding whenever the session says so,
            // whatever the table's format says; locally, `EventsTable` decides per scan.
            config.options_mut().execution.parquet.pushdown_filters = false;
        }
        // No cache of file listings: DataFusion 55 keeps one by default, without expiry, so
        // a session kept open (serve, the dashboard) would never see files ingest adds, and
        // after a compaction would plan reads of files it deleted. Listing a partition is
        // a directory read; every scan does it afresh and follows the partition manifests.
        let cache = CacheManagerConfig::default().with_list_files_cache_limit(0);
        let runtime = RuntimeEnvBuilder::new().with_cache_manager(cache).build_arc()?;
        let ctx = match &options.engine {
            Engine::Local => SessionContext::new_with_config_rt(config, runtime),
            #[cfg(feature = "ballista")]
            Engine::Ballista { scheduler } => super::ballista::cluster_context(config, scheduler)?,
            // `Engine::parse` refuses `ballista://` in a build without the feature.
            #[cfg(not(feature = "ballista"))]
            Engine::Ballista { .. } => {
                return Err(QueryError::Engine(super::engine::EngineError::NotBuiltIn(options.engine.to_string())));
            }
        };
        let url = match &options.remote {
            None => {
                let events = options.lake.events_dir();
                std::fs::create_dir_all(&events).map_err(|source| QueryError::Io { path: events.clone(), source })?;
                // A relative lake becomes absolute here (against the working directory),
                // which is also the path Ballista executors open.
                let url = ListingTableUrl::parse(format!("{}/", events.display()))?;
                // Local files are read through `LakeStore`, whose listings of `events/`
                // hide what the partition manifests hide: a query never sees a partition
                // half compacted.
                let source = ManifestSource::Local(options.lake.clone());
                let store = LakeStore::new(Arc::new(LocalFileSystem::new()), source, url.prefix().clone());
                ctx.register_object_store(url.object_store().as_ref(), Arc::new(store));
                url
            }
            Some(remote) => {
                // The same wrapper over the object store, its manifests read from there;
                // `az://CONTAINER/PATH/events/` is the table, the store is the container.
                let url = ListingTableUrl::parse(remote.events_table_url())?;
                let source = ManifestSource::Remote(Arc::clone(remote));
                let store = LakeStore::new(Arc::clone(remote.store()), source, url.prefix().clone());
                ctx.register_object_store(&remote.table_store_url(), Arc::new(store));
                url
            }
        };
        let listing_table = |pushdown_filters: bool| -> Result<Arc<ListingTable>, QueryError> {
            let mut format = reading.clone();
            format.global.pushdown_filters = pushdown_filters;
            let listing = ListingOptions::new(Arc::new(ParquetFormat::default().with_options(format)))
                .with_file_extension(".parquet")
                // Hive partitions: `date=YYYY-MM-DD`, compared as text (ISO dates sort).
                .with_table_partition_cols(vec![("date".to_string(), DataType::Utf8)]);
            let table_config =
                ListingTableConfig::new(url.clone()).with_listing_options(listing).with_schema(events_read_schema());
            Ok(Arc::new(ListingTable::try_new(table_config)?))
        };
        match options.engine {
            Engine::Local => {
                let late = reading.global.pushdown_filters;
                let events = EventsTable::new(listing_table(false)?, listing_table(late)?);
                ctx.register_table("events", Arc::new(events))?
            }
            // A scheduler can decode only the bare listing table; the cluster session adds
            // the same date bounds with an optimizer rule instead (`ballista.rs`), and
            // filters while decoding whenever the session says so.
            Engine::Ballista { .. } => ctx.register_table("events", listing_table(reading.global.pushdown_filters)?)?,
        };
        // `alerts`: the alert store, small enough to read whole at every session.
        let store = crate::alert::AlertStore::open(&options.lake)?;
        let batch = crate::alert::table::alerts_batch(store.alerts())?;
        let alerts = datafusion::datasource::MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        ctx.register_table("alerts", Arc::new(alerts))?;
        // `inventory`: every imported `az keyvault secret list` entry, with its import time.
        let inventory = crate::inventory::Inventory::load(&options.lake)?;
        let batch = crate::inventory::table::inventory_batch(&inventory)?;
        let inventory = datafusion::datasource::MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        ctx.register_table("inventory", Arc::new(inventory))?;
        Ok(QuerySession { ctx })
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs one SQL statement and collects its result.
    pub async fn sql(&self, sql: &str) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>), QueryError> {
        let frame = self.ctx.sql(sql).await?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await?;
        Ok((schema, batches))
    }
}
