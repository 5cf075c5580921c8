//! Sessions whose queries run on an Apache DataFusion Ballista cluster (only built with the
//! `ballista` cargo feature).
//!
//! How a query reaches the cluster: this process parses, plans and optimizes the SQL as a
//! local session would, then sends the optimized logical plan (protobuf) to the scheduler,
//! which lists the lake's files, plans the stages and hands them to executors. Executors
//! read the Parquet files themselves, so the lake must be visible to every node at the same
//! absolute path (a shared mount).
//!
//! What the cluster can receive is what DataFusion's plan serialization knows: listing
//! tables over files, views (inlined), built-in functions. Two things follow:
//! - `events` is registered as the bare listing table, not the local `EventsTable`
//!   wrapper, which a stock scheduler could not decode. The wrapper's one job, adding the
//!   `date` partition bounds implied by `time` filters, is done instead by the optimizer
//!   rule [`EventsDateBounds`] before the plan leaves this process, so partition pruning
//!   is the same on both engines.
//! - In-memory tables (`alerts`, `inventory`, and the detector's collected baselines,
//!   `history` and `access`) exist only in this process. A plan that reads one runs here,
//!   on the local planner, and says so in the log ([`placement`] decides); every other plan
//!   runs on the cluster. No user-defined functions exist to register on executors: every
//!   query uses DataFusion's built-in functions, which stock executors have.
//!
//! Invariant: a plan runs on the cluster only when every table it scans is a listing
//! table; nothing is ever sent that an executor would have to fetch from this process.

use std::collections::BTreeSet;
use std::sync::Arc;

use ballista::extension::SessionStateExt;
use datafusion::common::tree_node::{Transformed, TreeNodeRecursion};
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::source_as_provider;
use datafusion::error::Result;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::{QueryPlanner, SessionContext};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::SessionConfig;

use super::events_table::implied_date_bound;

/// The table the date-bound rule applies to.
const EVENTS: &str = "events";

/// A session context whose plans run on the scheduler at `scheduler` (`host:port`), except
/// plans reading in-memory tables (see [`placement`]). `config` is the local session's
/// configuration; Ballista adjusts a few settings for distribution (see
/// `ballista_restricted_configuration` in ballista-core: no round-robin repartition, sort-
/// merge joins, no dynamic filters across stages) and sends every setting with each job,
/// so the Parquet settings chosen in `session.rs` apply on the executors too.
pub(super) fn cluster_context(config: SessionConfig, scheduler: &str) -> Result<SessionContext> {
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_optimizer_rule(Arc::new(EventsDateBounds))
        .build()
        // Installs Ballista's planner (which submits jobs to the scheduler) and its
        // optimizer rules; connects lazily, at the first query.
        .upgrade_for_ballista(format!("http://{scheduler}"))?;
    let cluster = Arc::clone(state.query_planner());
    let state = SessionStateBuilder::new_from_existing(state)
        .with_query_planner(Arc::new(RoutingPlanner { cluster, local: DefaultPhysicalPlanner::default() }))
        .build();
    Ok(SessionContext::new_with_state(state))
}

/// Where a plan runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// On the cluster: every table it scans is a listing table the scheduler can open.
    Cluster,
    /// In this process, because it reads these in-memory tables.
    Local { tables: Vec<String> },
}

/// Where `plan` (an optimized logical plan) runs on a Ballista session.
pub fn placement(plan: &LogicalPlan) -> Result<Placement> {
    let mut local = BTreeSet::new();
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let listing = source_as_provider(&scan.source).is_ok_and(|p| p.is::<ListingTable>());
            // information_schema describes this session's catalog; Ballista's own planner
            // already answers it here.
            if !listing && scan.table_name.schema() != Some("information_schema") {
                local.insert(scan.table_name.to_string());
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(if local.is_empty() { Placement::Cluster } else { Placement::Local { tables: local.into_iter().collect() } })
}

/// Sends plans to Ballista's planner (the cluster) or plans them here, by [`placement`].
struct RoutingPlanner {
    cluster: Arc<dyn QueryPlanner + Send + Sync>,
    local: DefaultPhysicalPlanner,
}

impl std::fmt::Debug for RoutingPlanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // DataFusion's planner has no Debug of its own.
        f.debug_struct("RoutingPlanner").field("cluster", &self.cluster).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl QueryPlanner for RoutingPlanner {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        session: &dyn datafusion::catalog::Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match placement(plan)? {
            Placement::Cluster => {
                tracing::debug!("Sending the query to the Ballista cluster.");
                self.cluster.create_physical_plan(plan, session).await
            }
            Placement::Local { tables } => {
                tracing::info!(
                    tables = tables.join(","),
                    "Running the query in this process: it reads in-memory tables the cluster cannot see."
                );
                self.local.create_physical_plan(plan, session).await
            }
        }
    }
}

/// Adds to every scan of `events` the `date` bounds implied by its `time` filters, as the
/// local `EventsTable` does at scan time (see `events_table.rs`). It runs after filter
/// pushdown (custom rules come after DataFusion's), so the scan's filters are final, and it
/// only adds bounds not already there, so repeated optimizer passes change nothing.
#[derive(Debug, Default)]
pub struct EventsDateBounds;

impl OptimizerRule for EventsDateBounds {
    fn name(&self) -> &str {
        "kvaudit_events_date_bounds"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(&self, plan: LogicalPlan, _config: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::TableScan(mut scan) = plan else {
            return Ok(Transformed::no(plan));
        };
        if scan.table_name.table() != EVENTS {
            return Ok(Transformed::no(LogicalPlan::TableScan(scan)));
        }
        let mut added: Vec<Expr> = Vec::new();
        for bound in scan.filters.iter().filter_map(implied_date_bound) {
            if !scan.filters.contains(&bound) && !added.contains(&bound) {
                added.push(bound);
            }
        }
        if added.is_empty() {
            return Ok(Transformed::no(LogicalPlan::TableScan(scan)));
        }
        scan.filters.extend(added);
        Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
    }
}
