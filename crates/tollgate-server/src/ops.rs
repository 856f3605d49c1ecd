//! Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// Latency bucket upper bounds, seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct RouteStats {
    /// by status code
    requests: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Requests and latencies per route (the matched route template, never the raw path, so ids
/// and keys in URLs do not leak into labels or blow up cardinality).
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
    /// Password checks that ran (argon2 verifications, the dummy one for unknown accounts too).
    password_checks: AtomicU64,
    /// Password checks turned away because the argon2 gate was full.
    password_busy: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let s = routes.entry((method.to_owned(), route.to_owned())).or_default();
        *s.requests.entry(status).or_default() += 1;
        s.count += 1;
        s.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    /// Count a password check by its outcome: ran, or turned away busy.
    pub fn password_checked<T>(&self, r: &Result<T, tollgate_core::DomainError>) {
        match r {
            Ok(_) => self.password_checks.fetch_add(1, Ordering::Relaxed),
            Err(tollgate_core::DomainError::Busy) => self.password_busy.fetch_add(1, Ordering::Relaxed),
            Err(_) => 0,
        };
    }

    pub fn render(&self) -> String {
        use std::fmt::Write;
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP tollgate_password_checks_total Password verifications computed (argon2id).\n");
        out.push_str("# TYPE tollgate_password_checks_total counter\n");
        let _ = writeln!(out, "tollgate_password_checks_total {}", self.password_checks.load(Ordering::Relaxed));
        out.push_str("# HELP tollgate_password_busy_total Password checks refused because the argon2 gate was full.\n");
        out.push_str("# TYPE tollgate_password_busy_total counter\n");
        let _ = writeln!(out, "tollgate_password_busy_total {}", self.password_busy.load(Ordering::Relaxed));
        out.push_str("# HELP tollgate_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE tollgate_http_requests_total counter\n");
        for ((method, route), s) in routes.iter() {
            for (status, n) in &s.requests {
                let _ = writeln!(
                    out,
                    "tollgate_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP tollgate_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE tollgate_http_request_duration_seconds histogram\n");
        for ((method, route), s) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "tollgate_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(out, "tollgate_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "tollgate_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "tollgate_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        out
    }
}

pub async fn track_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    state.metrics.observe(&method, &route, res.status().as_u16(), start.elapsed().as_secs_f64());
    res
}

pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(json!({ "status": "ready", "database": state.store.backend() })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "status": "unavailable", "database": state.store.backend() })),
            )
                .into_response()
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}
