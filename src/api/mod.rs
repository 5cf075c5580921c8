//! The HTTP API of `kvaudit serve` (axum): alerts, baselines, secret status, exports,
//! read-only SQL, the dashboard's overview, `/healthz`, `/metrics`, and the dashboard's
//! static files.
//!
//! Every `/api/*` route is in [`access::ENDPOINTS`] with the action it performs; the router
//! is built from that table, each route behind [`guard`], which authenticates the bearer
//! token, checks the role against the matrix, and writes kvaudit's own audit log
//! ([`audit`]) for the actions that read or change something sensitive and for every
//! refusal. Handlers apply the token's vault scope. `/metrics` counts every request by
//! route template and status (no identity or address labels).
//!
//! Dependencies point one way: the API reads the lake through `alert`, `status`, `export`,
//! `query` and `detect`, and the service's state through `serve::state`; the service loop
//! (`serve`) builds the router and nothing here calls back into it.

pub mod access;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod baseline;
pub mod dashboard;
pub mod deliveries;
pub mod error;
pub mod exports;
pub mod extract;
pub mod metrics;
pub mod overview;
pub mod query;
pub mod rows;
pub mod secrets;

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::detect::DetectOptions;
use crate::lake::LakePaths;
use crate::serve::state::ServiceState;
use access::Action;
use auth::{Caller, Tokens};
use error::ApiError;

/// Everything a handler may need. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState(Arc<ApiContext>);

impl std::ops::Deref for AppState {
    type Target = ApiContext;

    fn deref(&self) -> &ApiContext {
        &self.0
    }
}

/// The API's shared context.
pub struct ApiContext {
    pub lake: LakePaths,
    pub tokens: Tokens,
    /// Detection, lifecycle and practice settings of the config (thresholds the secret
    /// status and baselines use).
    pub detect: DetectOptions,
    pub service: Arc<ServiceState>,
    pub metrics: metrics::Metrics,
    pub audit: audit::AuditLog,
    pub exports: exports::ExportJobs,
    pub overview_cache: overview::Cache,
}

impl AppState {
    pub fn new(lake: LakePaths, tokens: Tokens, detect: DetectOptions, service: Arc<ServiceState>) -> AppState {
        AppState(Arc::new(ApiContext {
            audit: audit::AuditLog::new(lake.api_audit_file()),
            exports: exports::ExportJobs::new(lake.api_exports_dir()),
            lake,
            tokens,
            detect,
            service,
            metrics: metrics::Metrics::default(),
            overview_cache: overview::Cache::default(),
        }))
    }
}

/// The whole router: `/api/*` from the endpoint table, guarded; `/healthz`, `/metrics`,
/// the dashboard; a JSON 404 for anything else; the request counter around all of it.
pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for endpoint in access::ENDPOINTS {
        let guarded =
            (endpoint.handler)().route_layer(middleware::from_fn_with_state((state.clone(), endpoint.action), guard));
        api = api.route(endpoint.path, guarded);
    }
    api.route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .route("/", get(dashboard::index))
        .route("/dashboard", get(dashboard::index))
        .route("/dashboard/", get(dashboard::index))
        .route("/dashboard/{*path}", get(dashboard::file))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), count_request))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

/// `GET /api/whoami`.
async fn whoami(axum::Extension(caller): axum::Extension<Caller>) -> impl IntoResponse {
    axum::Json(serde_json::json!({ "name": caller.name, "role": caller.role, "vaults": caller.vaults }))
}

/// The bearer token of a request, if it sent one.
fn bearer(request: &Request) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Authenticates, authorizes by role, runs the handler, and audits. The caller is handed
/// to the handler as an extension; the handler may name the object it touched by putting
/// an [`audit::Object`] into the response's extensions.
async fn guard(State((state, action)): State<(AppState, Action)>, mut request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let method = request.method().to_string();
    let caller = bearer(&request).and_then(|token| state.tokens.caller(token));
    let response = match &caller {
        None => ApiError::Unauthenticated.into_response(),
        Some(caller) if !access::allows(caller.role, action) => ApiError::role(caller.role).into_response(),
        Some(caller) => {
            request.extensions_mut().insert(caller.clone());
            next.run(request).await
        }
    };
    let mut response = response;
    // Answers carry audit data: never cached, never sniffed as another type.
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, axum::http::HeaderValue::from_static("nosniff"));
    let status = response.status();
    let refused = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
    if refused || audit::audited(action) {
        let object = response.extensions().get::<audit::Object>().map(|o| o.0.clone());
        state.audit.write(&audit::Entry::new(caller.as_ref(), &method, &route, object, status));
    }
    response
}

/// Counts the request by route template and status for `/metrics`.
async fn count_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.count_request(route.as_deref().unwrap_or("unmatched"), response.status().as_u16());
    response
}
