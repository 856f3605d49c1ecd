//! Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

pub async fn track_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    state.metrics.observe(&method, &route, res.status().as_u16(), start.elapsed().as_secs_f64());
    res
}

/// The answer of `/healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`: the process is up and serving.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The answer of `/readyz`.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, or `unavailable` when the database does not answer.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// The backend: `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    pub database: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Up", body = Health)))]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(Health { status: "ok" })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "Ready to serve (503 with `status: unavailable` when the database does not answer)", body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(Readiness { status: "ready", database: state.store.backend() }).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(Readiness { status: "unavailable", database: state.store.backend() }),
            )
                .into_response()
        }
    }
}

/// The OpenAPI document of this API (this document).
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub async fn openapi_json(doc: std::sync::Arc<utoipa::openapi::OpenApi>) -> impl IntoResponse {
    axum::Json(doc.as_ref().clone())
}

/// `/metrics`: open, or behind `Authorization: Bearer <metrics_token>` when that is set.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Metrics in the Prometheus text format (0.0.4)",
               content_type = "text/plain", body = String),
              (status = 401, description = "A metrics token is set and the request does not carry it")))]
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let expected = crate::crypto::sha256_hex(token);
        let ok: bool =
            subtle::ConstantTimeEq::ct_eq(crate::crypto::sha256_hex(given).as_bytes(), expected.as_bytes()).into();
        if !ok {
            let mut res = crate::error::ApiError::unauthorized("Metrics need the metrics token").into_response();
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return res;
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

/// Headers on every answer: `nosniff` always; `Cache-Control: no-store` unless the handler chose
/// its own (answers carry tokens, keys and secrets); for HTML, no referrer and no framing.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let html = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if html {
        // `same-origin`: the dashboard's own form posts carry a real `Origin` (under `no-referrer`
        // a browser sends `Origin: null`), and no other site learns a dashboard URL.
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        // The dashboard's pages load only this server's own stylesheet and script.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ),
        );
    }
    res
}

/// The URI as logs show it: the path, and each query parameter's name with its value replaced
/// (license keys, passwords and tokens travel in query strings).
pub fn redacted_uri(uri: &Uri) -> String {
    let path = uri.path();
    match uri.query() {
        None => path.to_owned(),
        Some(q) => {
            let params: Vec<String> = q
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, _)) => format!("{k}=[redacted]"),
                    None => "[redacted]".to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_redacted() {
        let uri: Uri = "/api/v2/x?search=KEY-1234&flag&type=init".parse().unwrap_or_default();
        assert_eq!(redacted_uri(&uri), "/api/v2/x?search=[redacted]&[redacted]&type=[redacted]");
        let uri: Uri = "/healthz".parse().unwrap_or_default();
        assert_eq!(redacted_uri(&uri), "/healthz");
    }
}
