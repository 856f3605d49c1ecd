//! The process's metrics: requests and latencies per route, password checks and the process's
//! own resources (memory, CPU, file descriptors, threads), in the Prometheus text format for
//! `GET /metrics`.

use metrics::{counter, describe_counter, describe_histogram, histogram, with_local_recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Latency bucket upper bounds, seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

const PASSWORD_CHECKS: &str = "tollgate_password_checks_total";
const PASSWORD_BUSY: &str = "tollgate_password_busy_total";
const HTTP_REQUESTS: &str = "tollgate_http_requests_total";
const HTTP_DURATION: &str = "tollgate_http_request_duration_seconds";
const WEBHOOK_ATTEMPTS: &str = "tollgate_webhook_attempts_total";
const ACTIVITY_DROPPED: &str = "tollgate_activity_dropped_total";

/// The metrics of one server: its own Prometheus recorder, never the process-wide one.
///
/// Every recording goes through [`metrics::with_local_recorder`] with this recorder, and
/// `/metrics` renders through its handle. A global recorder can be installed once per process,
/// and tests start many servers in one process, each of which must count only its own
/// requests; a recorder per server keeps them apart. The process metrics (read from `/proc`)
/// are the same for every server in a process and are refreshed into this recorder on each
/// render.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &BUCKETS)
            // The only error is an empty bucket list, and BUCKETS is a non-empty constant.
            .unwrap_or_else(|_| unreachable!("latency buckets are not empty"))
            .build_recorder();
        let handle = recorder.handle();
        let process = metrics_process::Collector::default();
        with_local_recorder(&recorder, || {
            describe_counter!(PASSWORD_CHECKS, "Password verifications computed (argon2id).");
            describe_counter!(PASSWORD_BUSY, "Password checks refused because the argon2 gate was full.");
            describe_counter!(HTTP_REQUESTS, "HTTP requests by route and status.");
            describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency by route.");
            describe_counter!(
                WEBHOOK_ATTEMPTS,
                "Webhook delivery attempts by outcome: delivered, retry (failed, tried again later), failed (for good)."
            );
            // The password counters show from the start, at 0.
            counter!(PASSWORD_CHECKS).absolute(0);
            counter!(PASSWORD_BUSY).absolute(0);
            process.describe();
        });
        Self { recorder, handle, process }
    }

    /// Count a request and its latency under its matched route template (never the raw path,
    /// so ids and keys in URLs do not leak into labels or blow up cardinality).
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        with_local_recorder(&self.recorder, || {
            let (method, route) = (method.to_owned(), route.to_owned());
            counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
                .increment(1);
            histogram!(HTTP_DURATION, "method" => method, "route" => route).record(seconds);
        });
    }

    /// Count a password check by its outcome: ran (argon2 verifications, the dummy one for
    /// unknown accounts too), or turned away because the argon2 gate was full.
    pub fn password_checked<T>(&self, r: &Result<T, tollgate_core::DomainError>) {
        let name = match r {
            Ok(_) => PASSWORD_CHECKS,
            Err(tollgate_core::DomainError::Busy) => PASSWORD_BUSY,
            Err(_) => return,
        };
        with_local_recorder(&self.recorder, || counter!(name).increment(1));
    }

    /// Count a webhook delivery attempt by what it came to: `delivered`, `retry` or `failed`.
    pub fn webhook_attempt(&self, outcome: &'static str) {
        with_local_recorder(&self.recorder, || counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome).increment(1));
    }

    /// Count a client call the overview's activity recorder dropped (too many pending keys).
    pub fn activity_dropped(&self) {
        with_local_recorder(&self.recorder, || counter!(ACTIVITY_DROPPED).increment(1));
    }

    /// Fold the latencies recorded since the last upkeep into their histogram buckets. The
    /// recorder keeps every observation until then, so without it the server's memory grows by a
    /// few bytes per request until `/metrics` is scraped; `spawn_workers` runs it every few
    /// seconds.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The Prometheus text, with the process metrics read just now.
    pub fn render(&self) -> String {
        with_local_recorder(&self.recorder, || self.process.collect());
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_line(text: &str) -> Option<String> {
        text.lines().find(|l| l.starts_with(&format!("{HTTP_DURATION}_count"))).map(str::to_owned)
    }

    #[test]
    fn upkeep_keeps_every_observation_in_the_histogram() {
        let m = Metrics::new();
        for i in 0..1000 {
            m.observe("POST", "/api/v2/init", 200, f64::from(i % 7) / 1000.0);
        }
        m.upkeep();
        for i in 0..500 {
            m.observe("POST", "/api/v2/init", 200, f64::from(i % 7) / 1000.0);
        }
        m.upkeep();
        m.upkeep();
        let text = m.render();
        let count = count_line(&text).unwrap_or_else(|| panic!("no histogram count in:\n{text}"));
        assert!(count.ends_with(" 1500"), "{count}");
        // Rendering drains nothing that a later render would miss.
        assert_eq!(count_line(&m.render()), Some(count));
    }
}
