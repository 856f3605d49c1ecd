//! The process's metrics: requests and latencies per route, password checks, rendered in the
//! Prometheus text format for `GET /metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

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
