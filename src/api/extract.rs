//! Request extractors whose rejections are the API's JSON errors (axum's own answer in
//! plain text): a JSON body, query parameters, path parameters.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// At most this much request body is read.
const MAX_BODY: usize = 1 << 20;

/// A JSON body. An empty body reads as `{}`, so a body of optional fields may be left out.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiError::BadRequest("the request body could not be read".into()))?;
        if bytes.len() > MAX_BODY {
            return Err(ApiError::BadRequest("the request body is too large".into()));
        }
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        serde_json::from_slice(text)
            .map(Body)
            .map_err(|e| ApiError::BadRequest(format!("the body must be a JSON object: {}", without_input(&e))))
    }
}

/// serde_json's message without the part that quotes the input (a value can be anything
/// a caller pasted, a secret included).
fn without_input(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match error.classify() {
        // "invalid type: string \"...\", expected ..." quotes the value: keep the kind only.
        serde_json::error::Category::Data if text.starts_with("invalid") => {
            let kind = text.split(':').next().unwrap_or("invalid value");
            format!("{kind} at line {} column {}", error.line(), error.column())
        }
        _ => text,
    }
}

/// Query parameters.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|_| ApiError::BadRequest("a query parameter is malformed (see the API's documentation)".into()))
    }
}

/// Path parameters.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| PathParams(v))
            .map_err(|_| ApiError::BadRequest("a path parameter is malformed".into()))
    }
}
