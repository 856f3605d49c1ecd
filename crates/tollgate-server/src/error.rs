//! The admin/seller API's error: one envelope `{success:false, code, message}` and one table
//! from the seller's use-case errors (and the domain and store errors inside them) to status
//! and code.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tollgate_core::DomainError;
use tollgate_store::{constraint, StoreError};

use crate::manage::ManageError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn validation(field: &str, message: &str) -> Self {
        ApiError::bad_request("VALIDATION_ERROR", format!("{field}: {message}"))
    }
    pub fn not_found(what: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("{what} not found"))
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "CONFLICT", message)
    }
    /// `503 SERVER_BUSY` with `Retry-After`: too many password checks at once, nothing done.
    pub fn busy() -> Self {
        ApiError {
            retry_after: Some(crate::password::BUSY_RETRY_AFTER_SECS),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "SERVER_BUSY", "Server is busy, try again shortly")
        }
    }
    pub fn internal() -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "Internal server error")
    }
}

/// What a seller reads when a unique constraint refuses a write.
fn conflict_message(name: &str) -> &'static str {
    match name {
        constraint::SELLER_EMAIL => "An account with this email already exists",
        constraint::APP_OWNER_NAME => "You already have an application with this name",
        constraint::LICENSE_APP_KEY => "A license with this key already exists",
        constraint::USER_APP_USERNAME => "Username is already taken",
        constraint::VARIABLE_APP_KEY => "A variable with this key already exists",
        constraint::BLACKLIST_APP_KIND_VALUE => "This value is already blacklisted",
        constraint::RESELLER_APP_USERNAME => "A reseller with this username already exists",
        constraint::CHAT_CHANNEL_APP_NAME => "A channel with this name already exists",
        constraint::DEVICE_LICENSE_APP_DEVICE => "A device license for this device already exists",
        _ => "Conflict with an existing record",
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("Resource"),
            StoreError::Conflict { constraint } => ApiError::conflict(conflict_message(&constraint)),
            StoreError::Unavailable(cause) => {
                tracing::error!(%cause, "database unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "Service temporarily unavailable")
            }
            StoreError::Unstorable(cause) => {
                tracing::warn!(%cause, "the database refused a value");
                ApiError::validation("body", "contains text that cannot be stored")
            }
            StoreError::Other(cause) => {
                tracing::error!(%cause, "database error");
                ApiError::internal()
            }
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        use DomainError as D;
        match e {
            D::MissingFields(f) => ApiError::bad_request("MISSING_FIELDS", format!("Missing field: {f}")),
            D::Validation { field, message } => ApiError::validation(&field, &message),
            D::RateLimited { retry_after_secs } => ApiError {
                retry_after: Some(retry_after_secs),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "Too many requests, slow down")
            },
            D::Unavailable => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "Service temporarily unavailable")
            }
            D::Busy => ApiError::busy(),
            D::Internal => ApiError::internal(),
            other => ApiError::bad_request("BAD_REQUEST", other.to_string()),
        }
    }
}

impl From<ManageError> for ApiError {
    fn from(e: ManageError) -> Self {
        match e {
            ManageError::Domain(d) => d.into(),
            ManageError::Store(s) => s.into(),
            ManageError::NotFound(what) => ApiError::not_found(what),
            ManageError::Conflict(m) => ApiError::conflict(m),
            ManageError::Unauthorized(m) => ApiError::unauthorized(m),
            ManageError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", m),
            e @ ManageError::InsufficientCredit { .. } => {
                ApiError::new(StatusCode::PAYMENT_REQUIRED, "INSUFFICIENT_CREDIT", e.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "success": false, "code": self.code, "message": self.message });
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}
