//! The dashboard's error: an HTML page with the status, a title and what to do, never a
//! stack or an internal cause (those are logged once, as the API does).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::error::ApiError;
use crate::manage::ManageError;

#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    pub retry_after: Option<u64>,
}

pub type WebResult<T> = Result<T, WebError>;

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl WebError {
    pub fn new(status: StatusCode, title: &str, message: &str) -> WebError {
        WebError { status, title: title.to_owned(), message: message.to_owned(), retry_after: None }
    }

    pub fn not_found(what: &str) -> WebError {
        WebError::new(StatusCode::NOT_FOUND, "Not found", &format!("{what} not found."))
    }

    pub fn bad_request(message: &str) -> WebError {
        WebError::new(StatusCode::BAD_REQUEST, "Bad request", message)
    }

    /// A state-changing request without the form's CSRF token (or from another site).
    pub fn csrf() -> WebError {
        WebError::new(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form could not be verified (CSRF check failed). Go back, reload the page and try again.",
        )
    }

    pub fn internal() -> WebError {
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The server could not do this. Try again.",
        )
    }
}

/// The API's one mapping from a use case's error to a status and message is reused: the page
/// says what the API would.
impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        let title = match e.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Invalid input",
            StatusCode::CONFLICT => "Not possible now",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::UNAUTHORIZED => "Sign in again",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            StatusCode::SERVICE_UNAVAILABLE => "Server busy",
            s if s.is_server_error() => "Something went wrong",
            _ => "Refused",
        };
        WebError { status: e.status, title: title.to_owned(), message: e.message, retry_after: e.retry_after }
    }
}

impl From<ManageError> for WebError {
    fn from(e: ManageError) -> Self {
        WebError::from(ApiError::from(e))
    }
}

impl From<tollgate_core::DomainError> for WebError {
    fn from(e: tollgate_core::DomainError) -> Self {
        WebError::from(ApiError::from(e))
    }
}

impl From<tollgate_store::StoreError> for WebError {
    fn from(e: tollgate_store::StoreError) -> Self {
        WebError::from(ApiError::from(e))
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %e, "a dashboard template failed to render");
        WebError::internal()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let page = ErrorPage { status: self.status.as_u16(), title: &self.title, message: &self.message };
        let body = askama::Template::render(&page).unwrap_or_else(|_| self.message.clone());
        let mut res = (self.status, Html(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}
