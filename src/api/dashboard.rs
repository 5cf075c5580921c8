//! The dashboard's static files, embedded at build time from `dashboards/` (see
//! `build.rs`): `GET /` and `GET /dashboard/` answer `index.html`, `GET /dashboard/<path>`
//! any other file. No token is needed for the files: they hold no data; the dashboard
//! calls the API with the user's token.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::extract::PathParams;

include!(concat!(env!("OUT_DIR"), "/dashboard_files.rs"));

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str) -> Response {
    let Some((name, bytes)) = DASHBOARD_FILES.iter().find(|(name, _)| *name == path) else {
        return ApiError::NotFound(format!("the dashboard has no file {path:?}")).into_response();
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    // The files change with the binary only; revalidating is cheap and avoids stale pages
    // after an upgrade.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The dashboard has no inline script or style and never evaluates strings: it may load
    // its own files and call its own API, nothing else, and never be framed.
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// `GET /`, `GET /dashboard`, `GET /dashboard/`.
pub async fn index() -> Response {
    serve("index.html")
}

/// `GET /dashboard/{*path}`.
pub async fn file(PathParams(path): PathParams<String>) -> Response {
    if path.is_empty() || path.ends_with('/') {
        return serve(&format!("{path}index.html"));
    }
    serve(&path)
}
