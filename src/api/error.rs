//! The API's errors: each becomes `{"error": "..."}` with its status code.
//!
//! Invariant: a message never holds a token or a secret. Messages are written here or
//! come from the library's errors, which never quote secrets either; errors of the lake
//! (a failed query, a broken file) are logged and answered with a generic 500 message, so
//! internal paths do not leak to callers.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, a bad parameter). 400.
    #[error("{0}")]
    BadRequest(String),
    /// No token, or a token that is not configured. 401.
    #[error("a valid API token is required: send it as `Authorization: Bearer <token>`")]
    Unauthenticated,
    /// The token's role or vault scope does not allow this. 403.
    #[error("{0}")]
    Forbidden(String),
    /// No such alert, secret, export or file. 404.
    #[error("{0}")]
    NotFound(String),
    /// The object is in a state that does not allow the change, or the lake is busy. 409.
    #[error("{0}")]
    Conflict(String),
    /// Something failed inside kvaudit (logged with the details). 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A failure inside kvaudit: logged in full, answered in short.
    pub fn internal(what: &str, error: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %error, "The API failed while {what}.");
        ApiError::Internal(format!("{what} failed; the service's log has the details"))
    }

    /// The role does not allow the action.
    pub fn role(role: super::auth::Role) -> ApiError {
        ApiError::Forbidden(format!("the {role} role does not allow this"))
    }

    /// The token's vault scope does not include `vault`.
    pub fn vault(vault: &str) -> ApiError {
        ApiError::Forbidden(format!("this token is not granted the vault {vault}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// `Result` with an [`ApiError`].
pub type ApiResult<T> = Result<T, ApiError>;
