//! `/api/exports`: compliance exports started through the API, run in the background,
//! downloaded file by file, and verified against their manifest.
//!
//! An export is `<lake>/_exports/<id>/` (the same directory `kvaudit export` writes) and its
//! job record `<lake>/_exports/<id>.json` (who asked, the scope, running, done or failed),
//! so both survive a restart. An export runs in the service's writer queue: it waits for
//! the cycle's ingest instead of failing on the lake's writer lock, and the cycle waits for it.
//!
//! Vault scope: a scoped token exports one of its vaults (its only vault by default), and
//! sees only exports of its vaults; an export of every vault needs an unscoped token.
//! Invariant: a file is served only if the manifest lists it (or it is the manifest), so a
//! name can never reach outside the export.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use axum::Extension;
use axum::Json;
use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::audit::Object;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::extract::{Body, PathParams};
use crate::export::layout::ExportLayout;
use crate::export::manifest::Manifest;
use crate::export::{ExportFormat, ExportScope};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

/// `<id>.json`: one export started through the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub requested_by: String,
    pub role: String,
    pub from: String,
    pub to: String,
    pub vault: Option<String>,
    pub identity: Option<String>,
    pub format: String,
    pub state: JobState,
    pub error: Option<String>,
    pub started: String,
    pub finished: Option<String>,
}

/// The jobs of this lake: in memory, and as files beside the exports.
pub struct ExportJobs {
    dir: PathBuf,
    jobs: Mutex<BTreeMap<String, Job>>,
}

impl ExportJobs {
    /// The jobs under `dir`. Jobs a previous run left running never finished: they are
    /// marked failed, and their partial directories removed.
    pub fn new(dir: PathBuf) -> ExportJobs {
        let mut jobs = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".partial-") {
                let _ = std::fs::remove_dir_all(&path);
                continue;
            }
            if path.extension().is_some_and(|e| e == "json")
                && let Some(mut job) = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Job>(&b).ok())
            {
                if job.state == JobState::Running {
                    job.state = JobState::Failed;
                    job.error = Some("the service stopped before the export finished; start it again".into());
                    let _ = crate::lake::write_atomically(&path, &serde_json::to_vec_pretty(&job).unwrap_or_default());
                }
                jobs.insert(job.id.clone(), job);
            }
        }
        ExportJobs { dir, jobs: Mutex::new(jobs) }
    }

    fn job_file(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn out_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn save(&self, job: Job) {
        let bytes = serde_json::to_vec_pretty(&job).unwrap_or_default();
        if let Err(error) = crate::lake::write_atomically(&self.job_file(&job.id), &bytes) {
            tracing::error!(export = %job.id, %error, "Cannot save an export's job record.");
        }
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).insert(job.id.clone(), job);
    }

    fn get(&self, id: &str) -> Option<Job> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    fn all(&self) -> Vec<Job> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    from: String,
    to: String,
    #[serde(default)]
    vault: Option<String>,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

/// The job `id`, if the caller may see it.
fn visible(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Job> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::BadRequest("an export id is letters, digits and dashes".into()));
    }
    let job = state.exports.get(id).ok_or_else(|| ApiError::NotFound(format!("no export {id}")))?;
    match &job.vault {
        Some(v) if !caller.sees_vault(Some(v)) => Err(ApiError::vault(v)),
        None if caller.vaults.is_some() => {
            Err(ApiError::Forbidden("this export covers every vault; it needs a token for every vault".into()))
        }
        _ => Ok(job),
    }
}

fn with_object(mut response: Response, id: &str) -> Response {
    response.extensions_mut().insert(Object(format!("export {id}")));
    response
}

/// `POST /api/exports` `{"from","to","vault","identity","format"}` → 202 `{"id"}`.
pub async fn start(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Body(body): Body<StartBody>,
) -> ApiResult<Response> {
    let bound = |name: &str, text: &str| {
        crate::export::scope::parse_bound(text)
            .ok_or_else(|| ApiError::BadRequest(format!("{name} must be a date like 2026-10-01 or an RFC 3339 time")))
    };
    let (from, to) = (bound("from", &body.from)?, bound("to", &body.to)?);
    let format = match body.format.as_deref().unwrap_or("csv") {
        "csv" => ExportFormat::Csv,
        "jsonl" => ExportFormat::Jsonl,
        "parquet" => ExportFormat::Parquet,
        other => return Err(ApiError::BadRequest(format!("format must be csv, jsonl or parquet, not {other:?}"))),
    };
    let vault = match (body.vault.as_deref().map(str::trim).filter(|v| !v.is_empty()), &caller.vaults) {
        (Some(v), _) if !caller.sees_vault(Some(v)) => return Err(ApiError::vault(v)),
        (Some(v), _) => Some(v.to_ascii_lowercase()),
        (None, None) => None,
        (None, Some(scope)) if scope.len() == 1 => scope.iter().next().cloned(),
        (None, Some(_)) => {
            return Err(ApiError::BadRequest(
                "this token is scoped to several vaults: name the vault to export".into(),
            ));
        }
    };
    let scope = ExportScope::new(from, to, vault.as_deref(), body.identity.as_deref(), format)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let now = Utc::now();
    let salt: u32 = rand::random();
    let id = format!("exp-{}-{salt:08x}", now.format("%Y%m%dt%H%M%S"));
    let job = Job {
        id: id.clone(),
        requested_by: caller.name.clone(),
        role: caller.role.as_str().to_owned(),
        from: crate::export::manifest::time_text(scope.from),
        to: crate::export::manifest::time_text(scope.to),
        vault: scope.vault.clone(),
        identity: scope.identity.clone(),
        format: format.extension().to_owned(),
        state: JobState::Running,
        error: None,
        started: crate::export::manifest::time_text(now),
        finished: None,
    };
    if let Err(e) = std::fs::create_dir_all(&state.exports.dir) {
        return Err(ApiError::internal("creating the exports folder", e));
    }
    state.exports.save(job.clone());
    tracing::info!(export = %id, by = %caller.name, "Export started through the API.");
    let background = state.clone();
    tokio::spawn(async move {
        let out = background.exports.out_dir(&job.id);
        let result = {
            let _queue = background.service.locks.writer.lock().await;
            crate::export::export(&background.lake, &scope, &out).await
        };
        let mut job = job;
        job.finished = Some(crate::export::manifest::time_text(Utc::now()));
        match result {
            Ok(summary) => {
                job.state = JobState::Done;
                tracing::info!(export = %job.id, rows = summary.manifest.rows.total, "Export finished.");
            }
            Err(error) => {
                tracing::error!(export = %job.id, %error, "Export failed.");
                job.state = JobState::Failed;
                job.error = Some(error.to_string().replace(&background.lake.root().display().to_string(), "<lake>"));
            }
        }
        background.exports.save(job);
    });
    let response = (StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id, "state": "running" }))).into_response();
    Ok(with_object(response, &id))
}

/// `GET /api/exports`: the exports the caller may see, newest first.
pub async fn list(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Response> {
    let mut jobs: Vec<Job> = state
        .exports
        .all()
        .into_iter()
        .filter(|j| match &j.vault {
            Some(v) => caller.sees_vault(Some(v)),
            None => caller.vaults.is_none(),
        })
        .collect();
    jobs.sort_by(|a, b| b.started.cmp(&a.started));
    let mut response = Json(serde_json::json!({ "exports": jobs })).into_response();
    response.extensions_mut().insert(Object("export list".into()));
    Ok(response)
}

/// `GET /api/exports/{id}`: the manifest when done; 202 `{"id","state":"running"}` while
/// running; 409 with the reason when it failed.
pub async fn one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let job = match visible(&state, &caller, &id) {
        Ok(job) => job,
        Err(e) => return Ok(with_object(e.into_response(), &id)),
    };
    let response = match job.state {
        JobState::Running => {
            (StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id, "state": "running" }))).into_response()
        }
        JobState::Failed => {
            ApiError::Conflict(format!("export {id} failed: {}", job.error.unwrap_or_default())).into_response()
        }
        JobState::Done => match std::fs::read(state.exports.out_dir(&id).join(ExportLayout::MANIFEST)) {
            Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
            Err(e) => ApiError::internal("reading an export's manifest", e).into_response(),
        },
    };
    Ok(with_object(response, &id))
}

/// The content type of an export file.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("csv") => "text/csv; charset=utf-8",
        Some("jsonl") => "application/x-ndjson",
        Some("json") => "application/json",
        Some("parquet") => "application/vnd.apache.parquet",
        _ => "application/octet-stream",
    }
}

/// `GET /api/exports/{id}/files/{name}`: one file of a finished export, streamed.
pub async fn file(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams((id, name)): PathParams<(String, String)>,
) -> ApiResult<Response> {
    let job = match visible(&state, &caller, &id) {
        Ok(job) => job,
        Err(e) => return Ok(with_object(e.into_response(), &id)),
    };
    if job.state != JobState::Done {
        return Ok(with_object(ApiError::Conflict(format!("export {id} is not finished")).into_response(), &id));
    }
    let dir = state.exports.out_dir(&id);
    let manifest: Manifest =
        match std::fs::read(dir.join(ExportLayout::MANIFEST)).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
            Some(m) => m,
            None => return Err(ApiError::internal("reading an export's manifest", "unreadable manifest")),
        };
    let listed = name == ExportLayout::MANIFEST || manifest.files.iter().any(|f| f.path == name);
    if !listed {
        let response = ApiError::NotFound(format!("export {id} has no file {name:?}")).into_response();
        return Ok(with_object(response, &id));
    }
    let file =
        tokio::fs::File::open(dir.join(&name)).await.map_err(|e| ApiError::internal("opening an export file", e))?;
    let stream = futures::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let download = name.rsplit('/').next().unwrap_or("export").replace('"', "");
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type(&name).to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{download}\"")),
        ],
        HttpBody::from_stream(stream),
    )
        .into_response();
    response.extensions_mut().insert(Object(format!("export {id} file {name}")));
    Ok(response)
}

/// `POST /api/exports/{id}/verify`: `{"verified": true, ...}` or `{"verified": false,
/// "problem": "..."}` (a failed verification is an answer, not an error of the request).
pub async fn verify(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let job = match visible(&state, &caller, &id) {
        Ok(job) => job,
        Err(e) => return Ok(with_object(e.into_response(), &id)),
    };
    if job.state != JobState::Done {
        return Ok(with_object(ApiError::Conflict(format!("export {id} is not finished")).into_response(), &id));
    }
    let dir = state.exports.out_dir(&id);
    let verified = tokio::task::spawn_blocking(move || crate::export::verify(&dir))
        .await
        .map_err(|e| ApiError::internal("verifying an export", e))?;
    let body = match verified {
        Ok(summary) => serde_json::json!({
            "verified": true,
            "files": summary.files,
            "bytes": summary.bytes,
            "rows": summary.rows,
            "manifest_sha256": summary.manifest_sha256,
        }),
        Err(problem) => serde_json::json!({
            "verified": false,
            "problem": problem.to_string().replace(&state.exports.dir.display().to_string(), "<exports>"),
        }),
    };
    Ok(with_object(Json(body).into_response(), &id))
}
