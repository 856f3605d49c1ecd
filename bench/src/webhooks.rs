//! `webhooks`: webhook delivery of the real server to a receiver in the bench process.
//!
//! - **Throughput.** A receiver on 127.0.0.1 (HTTP/1.1, answers 200 with a small body) that first
//!   holds every request (answers none until released). A webhook subscribed to every kind points
//!   at it, then N Authly `init` calls each queue one `session.create`: the server sends as many
//!   as its `--webhook-concurrency` allows, and the rest wait in the outbox. Then the receiver is
//!   released and the bench times how long it takes until every one of the N distinct
//!   `webhook-id`s has arrived; every `webhook-signature` is checked against the webhook's
//!   `whsec_` secret as the receiver gets it.
//! - **Added latency.** The `client-api` series of `init` and `register` on one server, first
//!   with no webhook, then again after one webhook subscribed to every kind was created (its
//!   receiver answering 200 at once).
//!
//! Nothing here asserts anything about speed.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::watch;

use crate::client_api::{self, ClientApiOptions, ClientApiResult, CpuProbe, CpuShare, Endpoint, Row};
use crate::generate::{find_id, BenchState};
use crate::list::Stats;
use crate::proc::{self, Tollgate};
use crate::server::{self, Server};
use crate::{group, ms};

/// What the receiver answers.
const ANSWER: &str = "ok";
/// How far a `webhook-timestamp` may be from the receiver's clock (Standard Webhooks' tolerance).
const TIMESTAMP_TOLERANCE_SECS: i64 = 300;
/// Requests the bench keeps making at once while it queues the events.
const QUEUE_CONNECTIONS: usize = 64;
/// How long the bench waits for every event to arrive after the release, at most, and with no
/// new id arriving.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(300);
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it keeps listening after the last new id, for late duplicates.
const GRACE: Duration = Duration::from_secs(2);
/// The server's webhook timeout in the throughput run: longer than the receiver holds requests,
/// so that no held request is given up and sent again.
const HOLD_TIMEOUT_SECS: &str = "120";

// ---------------------------------------------------------------------------------------
// The receiver

/// What the receiver has seen.
#[derive(Default, Clone)]
pub struct Seen {
    pub requests: u64,
    /// Requests per `webhook-id`.
    pub by_id: HashMap<String, u32>,
    /// Requests per `event` of the body.
    pub kinds: BTreeMap<String, u64>,
    /// Requests with no `webhook-id`.
    pub without_id: u64,
    /// Requests carrying a `webhook-signature` header.
    pub signed: u64,
    /// Requests whose signature is the HMAC-SHA256 of `{id}.{timestamp}.{body}` under the
    /// webhook's secret, with a timestamp within five minutes of the receiver's clock.
    pub verified: u64,
    pub in_flight: usize,
    pub max_in_flight: usize,
    /// When the last id not seen before arrived.
    pub last_new_id: Option<Instant>,
}

impl Seen {
    /// Ids that arrived more than once, and how many extra requests they made.
    pub fn duplicates(&self) -> (usize, u64) {
        let dup = self.by_id.values().filter(|&&n| n > 1);
        (dup.clone().count(), dup.map(|&n| u64::from(n - 1)).sum())
    }
}

struct Shared {
    /// `true` while every request is held.
    hold: watch::Sender<bool>,
    /// The HMAC key of the webhook's secret (the base64 after `whsec_`).
    key: Mutex<Option<Vec<u8>>>,
    seen: Mutex<Seen>,
}

/// A webhook receiver on 127.0.0.1 in the bench process.
#[derive(Clone)]
pub struct Receiver {
    shared: Arc<Shared>,
}

impl Receiver {
    /// A receiver that holds requests (`hold`) or answers at once; not yet listening.
    pub fn new(hold: bool) -> Receiver {
        let (tx, _) = watch::channel(hold);
        Receiver { shared: Arc::new(Shared { hold: tx, key: Mutex::new(None), seen: Mutex::new(Seen::default()) }) }
    }

    /// Listen on a free loopback port (on the current runtime); its URL.
    pub async fn listen(&self) -> Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the receiver")?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let app = axum::Router::new().fallback(receive).with_state(self.shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("tollgate-bench: the webhook receiver stopped: {e}");
            }
        });
        Ok(url)
    }

    /// The webhook's `whsec_...` secret, to verify signatures with from now on.
    pub fn set_secret(&self, secret: &str) -> Result<()> {
        let b64 = secret.strip_prefix("whsec_").context("the webhook secret does not start with whsec_")?;
        let key = B64.decode(b64).context("the webhook secret is not base64 after whsec_")?;
        *self.shared.key.lock().unwrap_or_else(|e| e.into_inner()) = Some(key);
        Ok(())
    }

    /// Answer the held requests, and every later one at once.
    pub fn release(&self) {
        self.shared.hold.send_replace(false);
    }

    pub fn seen(&self) -> Seen {
        self.shared.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn in_flight(&self) -> usize {
        self.shared.seen.lock().unwrap_or_else(|e| e.into_inner()).in_flight
    }

    fn last_new_id(&self) -> Option<Instant> {
        self.shared.seen.lock().unwrap_or_else(|e| e.into_inner()).last_new_id
    }

    fn distinct(&self) -> usize {
        self.shared.seen.lock().unwrap_or_else(|e| e.into_inner()).by_id.len()
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, as Standard Webhooks signs.
fn expected_signature(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return String::new() };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// Whether one of the space-separated signatures of the header is the expected one and the
/// timestamp is within the tolerance of `now` (unix seconds).
fn verify(key: &[u8], id: &str, timestamp: &str, body: &[u8], signatures: &str, now: i64) -> bool {
    let fresh = timestamp.parse::<i64>().is_ok_and(|t| (now - t).abs() <= TIMESTAMP_TOLERANCE_SECS);
    let want = expected_signature(key, id, timestamp, body);
    fresh && signatures.split_whitespace().any(|s| s == want)
}

/// The `event` of a body.
fn event_of(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("event").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "(no event)".to_owned())
}

async fn receive(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let at = Instant::now();
    let id = header(&headers, "webhook-id");
    let signature = header(&headers, "webhook-signature");
    let verified = match (id, header(&headers, "webhook-timestamp"), signature) {
        (Some(id), Some(ts), Some(sig)) => {
            let key = sh.key.lock().unwrap_or_else(|e| e.into_inner()).clone();
            key.is_some_and(|k| verify(&k, id, ts, &body, sig, chrono::Utc::now().timestamp()))
        }
        _ => false,
    };
    let kind = event_of(&body);
    {
        let mut s = sh.seen.lock().unwrap_or_else(|e| e.into_inner());
        s.requests += 1;
        *s.kinds.entry(kind).or_default() += 1;
        s.signed += u64::from(signature.is_some());
        s.verified += u64::from(verified);
        match id {
            Some(id) => {
                let n = s.by_id.entry(id.to_owned()).or_default();
                *n += 1;
                if *n == 1 {
                    s.last_new_id = Some(at);
                }
            }
            None => s.without_id += 1,
        }
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
    }
    let mut rx = sh.hold.subscribe();
    let _ = rx.wait_for(|held| !*held).await;
    sh.seen.lock().unwrap_or_else(|e| e.into_inner()).in_flight -= 1;
    (StatusCode::OK, ANSWER)
}

/// `POST /v1/admin/apps/{appId}/webhooks` for `url` and every kind; its id and `whsec_` secret.
pub async fn create_webhook(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    app_id: &str,
    url: &str,
) -> Result<(String, String)> {
    let events = tollgate_core::model::WEBHOOK_EVENTS;
    let r = client
        .post(format!("{base}/v1/admin/apps/{app_id}/webhooks"))
        .bearer_auth(token)
        .json(&json!({ "url": url, "events": events }))
        .send()
        .await
        .context("POST /v1/admin/apps/{appId}/webhooks")?;
    let status = r.status();
    let body: Value = r.json().await.context("creating the webhook: the answer is not JSON")?;
    let field = |k: &str| body.pointer(&format!("/data/{k}")).and_then(Value::as_str).map(str::to_owned);
    match (status.is_success(), field("id"), field("secret")) {
        (true, Some(id), Some(secret)) => Ok((id, secret)),
        _ => {
            let mut shown = body.clone();
            if let Some(d) = shown.get_mut("data").and_then(Value::as_object_mut) {
                d.remove("secret");
            }
            bail!("POST /v1/admin/apps/{app_id}/webhooks: {status} {shown}")
        }
    }
}

// ---------------------------------------------------------------------------------------
// Throughput

pub struct ThroughputOptions {
    pub port: Option<u16>,
    /// Events queued while the receiver holds every request.
    pub events: usize,
    /// The server's `--webhook-concurrency`.
    pub concurrency: usize,
    pub startup_timeout: Duration,
}

pub struct Throughput {
    pub events: usize,
    pub concurrency: usize,
    pub app_id: String,
    /// The N `init` calls, at `QUEUE_CONNECTIONS` at once.
    pub queue_wall: Duration,
    pub init_errors: u64,
    /// Requests the receiver held when it was released.
    pub held_at_release: usize,
    /// From the release to the arrival of the last of the N distinct ids (`None`: not all came).
    pub delivered_in: Option<Duration>,
    pub seen: Seen,
    /// Server / bench / PostgreSQL CPU from the release to the last id.
    pub cpu: Option<CpuShare>,
    /// `pagination.total` of the webhook's delivery log at the end.
    pub logged: Option<u64>,
    pub startup: Duration,
    pub server_peak_rss_kib: Option<u64>,
    pub postgres: bool,
}

impl Throughput {
    pub fn per_sec(&self) -> Option<f64> {
        self.delivered_in.map(|d| self.events as f64 / d.as_secs_f64().max(1e-9))
    }

    /// Something is wrong with the run: not every event arrived, an `init` failed, a request
    /// arrived unsigned or with a signature that does not verify.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.init_errors > 0 {
            p.push(format!("{} init calls failed", self.init_errors));
        }
        if self.delivered_in.is_none() {
            p.push(format!(
                "only {} of the {} events arrived (the bench waits {} s at most, and {} s for a new one)",
                self.seen.by_id.len(),
                self.events,
                DELIVERY_TIMEOUT.as_secs(),
                STALL_TIMEOUT.as_secs()
            ));
        }
        if self.seen.verified != self.seen.requests {
            p.push(format!(
                "{} of {} requests had no valid signature",
                self.seen.requests - self.seen.verified,
                self.seen.requests
            ));
        }
        p
    }
}

/// A new app made through the CLI with two keys (the login user's and the Authon one that
/// `client_api::setup` takes), and its tag.
fn new_app(tg: &Tollgate, state: &BenchState, what: &str) -> Result<(String, Vec<String>, String)> {
    let tag = client_api::run_tag();
    let name = format!("{what} {tag}");
    let app =
        tg.run_ok(&["app", "create", "--seller", &state.seller_id, "--name", &name, "--version", "1.0.0"], false)?;
    let app_id =
        find_id(&app.stdout, "app_").context("no app id (`app_...`) in the output of `tollgate app create`")?;
    let (keys, _) = client_api::generate_keys(tg, &app_id, 2)?;
    Ok((app_id, keys, tag))
}

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(QUEUE_CONNECTIONS)
        .build()
        .context("building the HTTP client")
}

pub fn throughput(tg: &Tollgate, state: &BenchState, opts: &ThroughputOptions) -> Result<Throughput> {
    let (app_id, keys, tag) = new_app(tg, state, "Webhooks")?;
    let concurrency = opts.concurrency.max(1).to_string();
    let args = [
        "--client-rate-limit",
        "0",
        "--webhook-allow-private=true",
        "--webhook-concurrency",
        &concurrency,
        "--webhook-timeout",
        HOLD_TIMEOUT_SECS,
    ];
    let mut server = Server::start(tg, opts.port, &args)?;
    let pid = server.pid;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the tokio runtime")?;
    let pg_url = tg.database_url.as_deref().filter(|u| crate::pg::is_postgres(u));
    let probe =
        CpuProbe { server_pids: vec![pid], postgres: pg_url.and_then(crate::pg::database_of).map(str::to_owned) };
    let client = http_client()?;
    let r = rt.block_on(async {
        let startup = server.wait_healthy(&client, opts.startup_timeout).await?;
        let t = Arc::new(client_api::setup(&client, &server.base, state, &app_id, keys, &tag, 1).await?);
        let receiver = Receiver::new(true);
        let url = receiver.listen().await?;
        let token = server::login(&client, &server.base, state).await?;
        let (hook_id, secret) = create_webhook(&client, &server.base, &token, &app_id, &url).await?;
        receiver.set_secret(&secret)?;

        let n = opts.events;
        eprintln!("tollgate-bench: webhooks: {n} init calls, the receiver holding every request");
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..QUEUE_CONNECTIONS.min(n) {
            let (client, t, next) = (client.clone(), t.clone(), next.clone());
            tasks.spawn(async move {
                let mut errors = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    if let Err(e) = client_api::open_session(&client, &t).await {
                        errors.push(format!("{e:#}"));
                    }
                }
                errors
            });
        }
        let mut errors = Vec::new();
        while let Some(e) = tasks.join_next().await {
            errors.extend(e.context("an init task panicked")?);
        }
        let queue_wall = started.elapsed();
        if let Some(e) = errors.first() {
            eprintln!("tollgate-bench: {} init calls failed, e.g. {e}", errors.len());
        }

        // The worker takes what its slots allow at once; give it a moment to fill them all.
        let expected = opts.concurrency.max(1).min(n);
        let fill = Instant::now();
        while receiver.in_flight() < expected && fill.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let held_at_release = receiver.in_flight();
        eprintln!("tollgate-bench: webhooks: releasing the receiver ({held_at_release} requests held)");
        let a = probe.sample();
        let released = Instant::now();
        receiver.release();
        while receiver.distinct() < n && released.elapsed() < DELIVERY_TIMEOUT {
            let last = receiver.last_new_id().map_or(released, |l| l.max(released));
            if last.elapsed() > STALL_TIMEOUT {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let b = probe.sample();
        let last = receiver.last_new_id();
        let delivered_in =
            (receiver.distinct() >= n).then(|| last.map_or(Duration::ZERO, |l| l.saturating_duration_since(released)));
        tokio::time::sleep(GRACE).await;
        let seen = receiver.seen();
        let logged = delivery_log_total(&client, &server.base, &token, &app_id, &hook_id).await;
        eprintln!(
            "tollgate-bench: webhooks: {} distinct ids, {} requests, {} verified, in {}",
            seen.by_id.len(),
            seen.requests,
            seen.verified,
            delivered_in.map_or_else(|| "(incomplete)".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()))
        );
        anyhow::Ok(Throughput {
            events: n,
            concurrency: opts.concurrency.max(1),
            app_id: app_id.clone(),
            queue_wall,
            init_errors: errors.len() as u64,
            held_at_release,
            delivered_in,
            seen,
            cpu: Some(client_api::share(&a, &b)),
            logged,
            startup,
            server_peak_rss_kib: None,
            postgres: probe.postgres.is_some(),
        })
    });
    let mut r = match r {
        Ok(r) => r,
        Err(e) => bail!("{e:#}\n--- server log (last lines) ---\n{}", server.log_tail()),
    };
    r.server_peak_rss_kib = proc::vm_hwm_kib(pid);
    server.stop()?;
    Ok(r)
}

/// `pagination.total` of `GET .../webhooks/{id}/deliveries?limit=1`, if the server answers it.
async fn delivery_log_total(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    app_id: &str,
    hook_id: &str,
) -> Option<u64> {
    let url = format!("{base}/v1/admin/apps/{app_id}/webhooks/{hook_id}/deliveries?page=1&limit=1");
    let v: Value = client.get(url).bearer_auth(token).send().await.ok()?.json().await.ok()?;
    v.pointer("/pagination/total").and_then(Value::as_u64)
}

// ---------------------------------------------------------------------------------------
// Added latency

pub struct Latency {
    /// The run without a webhook (its rows), as `client-api` reports it.
    pub without: ClientApiResult,
    /// The same endpoints after one webhook was subscribed to every kind.
    pub with: Vec<Row>,
    /// What the receiver got from the second pass, until the backlog was delivered.
    pub seen: Seen,
    pub backlog: Option<Backlog>,
}

/// The deliveries still owed when the second pass ended.
#[derive(Clone, Copy)]
pub struct Backlog {
    /// `pagination.total` of the webhook's delivery log: every event queued for it.
    pub queued: u64,
    /// Distinct ids the receiver had when the pass ended.
    pub received: u64,
    /// How long after the pass the last of them arrived (`None`: not within the wait).
    pub drained_in: Option<Duration>,
}

impl Latency {
    pub fn errors(&self) -> u64 {
        self.without.errors() + self.with.iter().map(|r| r.healthz.errors + r.api.errors).sum::<u64>()
    }
}

/// The `client-api` series of `opts.endpoints` (`init` and `register` unless told otherwise) on
/// one server, then a webhook subscribed to every kind, then the same series again.
pub fn latency(tg: &Tollgate, state: &BenchState, opts: &ClientApiOptions) -> Result<Latency> {
    let receiver = Receiver::new(false);
    let hook_id = Arc::new(Mutex::new(None::<String>));
    let backlog = Arc::new(Mutex::new(None::<Backlog>));
    let (rec, id) = (receiver.clone(), hook_id.clone());
    let between: client_api::Between = Box::new(move |ctx| {
        Box::pin(async move {
            let url = rec.listen().await?;
            let (hook, secret) = create_webhook(&ctx.client, &ctx.base, &ctx.token, &ctx.app_id, &url).await?;
            rec.set_secret(&secret)?;
            *id.lock().unwrap_or_else(|e| e.into_inner()) = Some(hook);
            eprintln!("tollgate-bench: webhooks: one webhook subscribed to every kind; measuring again");
            Ok(())
        })
    });
    let (rec, id, out) = (receiver.clone(), hook_id.clone(), backlog.clone());
    let after: client_api::Between = Box::new(move |ctx| {
        Box::pin(async move {
            let end = Instant::now();
            let received = rec.distinct() as u64;
            let hook = id.lock().unwrap_or_else(|e| e.into_inner()).clone().context("no webhook")?;
            let Some(queued) = delivery_log_total(&ctx.client, &ctx.base, &ctx.token, &ctx.app_id, &hook).await else {
                return Ok(());
            };
            eprintln!("tollgate-bench: webhooks: {received} of {queued} events delivered; waiting for the rest");
            while (rec.distinct() as u64) < queued && end.elapsed() < DELIVERY_TIMEOUT {
                if rec.last_new_id().map_or(end, |l| l.max(end)).elapsed() > STALL_TIMEOUT {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let drained_in = ((rec.distinct() as u64) >= queued)
                .then(|| rec.last_new_id().map_or(Duration::ZERO, |l| l.saturating_duration_since(end)));
            *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(Backlog { queued, received, drained_in });
            Ok(())
        })
    });
    let extra = ["--webhook-allow-private=true"];
    let (without, with) = client_api::run_with(tg, state, opts, &extra, Some(between), Some(after))?;
    let with = with.context("the second pass did not run")?;
    let backlog = *backlog.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Latency { without, with, seen: receiver.seen(), backlog })
}

// ---------------------------------------------------------------------------------------
// Report

pub struct WebhooksResult {
    pub throughput: Option<Throughput>,
    pub latency: Option<Latency>,
}

fn pct(new: f64, old: f64) -> String {
    if old <= 0.0 {
        return "—".to_owned();
    }
    format!("{:+.1} %", 100.0 * (new - old) / old)
}

fn delta_ms(new: Duration, old: Duration) -> String {
    let d = new.as_secs_f64() - old.as_secs_f64();
    format!("{:+.2}", d * 1e3)
}

fn stats_cells(s: &Stats) -> String {
    format!("{} | {} | {}", ms(s.mean), ms(s.p50), ms(s.p99))
}

pub fn render(s: &mut String, r: &WebhooksResult) {
    if let Some(t) = &r.throughput {
        render_throughput(s, t);
    }
    if let Some(l) = &r.latency {
        render_latency(s, l);
    }
}

fn render_throughput(s: &mut String, t: &Throughput) {
    let _ = writeln!(s, "\n### Webhook delivery throughput ({} queued events)\n", group(t.events as u64));
    let problems = t.problems();
    if !problems.is_empty() {
        let _ =
            writeln!(s, "**PROBLEMS: {}.** The figures below do not measure what they claim.\n", problems.join("; "));
    }
    let _ = writeln!(
        s,
        "`tollgate … serve --webhook-allow-private --webhook-concurrency {} --webhook-timeout {HOLD_TIMEOUT_SECS}`; \
         one webhook subscribed to every kind, its receiver in the bench process (127.0.0.1, HTTP/1.1, `200 {ANSWER}`). \
         While the receiver held every request, {} Authly `init` calls ({QUEUE_CONNECTIONS} at a time) queued one \
         `session.create` each; then the receiver was released, and the time runs from the release to the arrival \
         of the last of the {} distinct `webhook-id`s.\n",
        t.concurrency,
        group(t.events as u64),
        group(t.events as u64),
    );
    let (dup_ids, dup_extra) = t.seen.duplicates();
    let _ = writeln!(s, "| figure | value |\n|---|---|");
    let _ = writeln!(
        s,
        "| queueing: {} `init` calls | {:.2} s ({} failed) |",
        group(t.events as u64),
        t.queue_wall.as_secs_f64(),
        t.init_errors
    );
    let _ =
        writeln!(s, "| requests held at the release (concurrency cap) | {} ({}) |", t.held_at_release, t.concurrency);
    match (t.delivered_in, t.per_sec()) {
        (Some(d), Some(rate)) => {
            let _ = writeln!(s, "| release → last distinct id | {:.3} s |", d.as_secs_f64());
            let _ = writeln!(s, "| **delivery rate** | **{} events/s** |", client_api::rate(rate));
        }
        _ => {
            let _ = writeln!(s, "| release → last distinct id | not all arrived |");
        }
    }
    let _ = writeln!(
        s,
        "| distinct `webhook-id`s / requests received | {} / {} |",
        group(t.seen.by_id.len() as u64),
        group(t.seen.requests)
    );
    let _ = writeln!(s, "| ids received more than once (extra requests) | {dup_ids} ({dup_extra}) |");
    let _ = writeln!(
        s,
        "| `webhook-signature` present / verified with the `whsec_` secret | {} / {} of {} |",
        group(t.seen.signed),
        group(t.seen.verified),
        group(t.seen.requests)
    );
    let kinds: Vec<String> = t.seen.kinds.iter().map(|(k, n)| format!("`{k}` × {}", group(*n))).collect();
    let _ = writeln!(s, "| events by kind | {} |", kinds.join(", "));
    let _ = writeln!(s, "| most requests in flight at once | {} |", t.seen.max_in_flight);
    if let Some(n) = t.logged {
        let _ = writeln!(s, "| deliveries in the webhook's log afterwards | {} |", group(n));
    }
    let pg = if t.postgres { " / postgres" } else { "" };
    let _ = writeln!(s, "| CPU cores while delivering: server / bench{pg} / others | {} |", client_api::cores(&t.cpu));
    let rss = t.server_peak_rss_kib.map_or_else(|| "unknown".to_owned(), crate::mib);
    let _ = writeln!(s, "\nApp `{}`; server healthy {} ms after spawning, peak RSS {rss}.", t.app_id, ms(t.startup));
}

fn render_latency(s: &mut String, l: &Latency) {
    let w = &l.without;
    let _ = writeln!(s, "\n### Added latency of one webhook ({} connections)\n", w.concurrency);
    let errors = l.errors();
    if errors > 0 {
        let _ = writeln!(
            s,
            "**ERRORS: {} requests failed; the figures of the series with errors are not valid.**\n",
            group(errors)
        );
    }
    let _ = writeln!(
        s,
        "The `client-api` series (closed loop, {} keep-alive connections, ≥ {:.0} s warm-up, {:.0} s measured, \
         `GET /healthz` measured right before each) on one server started with `--webhook-allow-private`: first with \
         no webhook, then again after one webhook subscribed to every kind was created, its receiver in the bench \
         process answering `200` at once. The delivery worker sends while the second series run, on the same cores.\n",
        w.concurrency,
        w.warmup.as_secs_f64(),
        w.duration.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "| endpoint | webhook | req/s | mean ms | p50 ms | p99 ms | requests | errors | `/healthz` req/s | CPU cores: server / bench{} / others |",
        if w.postgres { " / postgres" } else { "" }
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for before in &w.rows {
        let Some(after) = l.with.iter().find(|r| r.endpoint == before.endpoint) else { continue };
        let name = before.endpoint.name();
        for (label, row) in [("none", before), ("one, all kinds", after)] {
            let a = &row.api;
            let _ = writeln!(
                s,
                "| `{name}` | {label} | {} | {} | {} | {} | {} | {} |",
                client_api::rate(a.rps()),
                stats_cells(&a.stats),
                group(a.ok),
                a.errors,
                client_api::rate(row.healthz.rps()),
                client_api::cores(&a.cpu)
            );
        }
        let (a, b) = (&before.api, &after.api);
        let _ = writeln!(
            s,
            "| `{name}` | **difference** | {} | {} | {} | {} | | | {} | |",
            pct(b.rps(), a.rps()),
            delta_ms(b.stats.mean, a.stats.mean),
            delta_ms(b.stats.p50, a.stats.p50),
            delta_ms(b.stats.p99, a.stats.p99),
            pct(after.healthz.rps(), before.healthz.rps()),
        );
    }
    let (dup_ids, _) = l.seen.duplicates();
    let kinds: Vec<String> = l.seen.kinds.iter().map(|(k, n)| format!("`{k}` × {}", group(*n))).collect();
    let _ = writeln!(
        s,
        "\nThe receiver got {} requests from the second pass ({} distinct ids, {} received more than once; \
         {} signatures verified): {}.",
        group(l.seen.requests),
        group(l.seen.by_id.len() as u64),
        dup_ids,
        group(l.seen.verified),
        if kinds.is_empty() { "none".to_owned() } else { kinds.join(", ") }
    );
    if let Some(b) = &l.backlog {
        let drained = b.drained_in.map_or_else(
            || "they had not all arrived when the bench stopped waiting".to_owned(),
            |d| format!("the rest arrived within {:.2} s after the load stopped", d.as_secs_f64()),
        );
        let _ = writeln!(
            s,
            "When the second pass ended, {} events had been queued for the webhook and {} delivered; {drained}.",
            group(b.queued),
            group(b.received)
        );
    }
    let rss = w.server_peak_rss_kib.map_or_else(|| "unknown".to_owned(), crate::mib);
    let _ = writeln!(s, "App `{}`; server peak RSS {rss}.", w.app_id);
}

/// The endpoints measured for the added latency when none are named: `register` first, as the
/// worker may still be sending what `init` queued (hundreds of events a second) after its series.
pub const LATENCY_ENDPOINTS: [Endpoint; 2] = [Endpoint::Register, Endpoint::Init];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_standard_webhooks_signatures() {
        // The worked example Standard Webhooks publishes for its signature scheme.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let key = B64.decode(&secret["whsec_".len()..]).unwrap();
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let ts = "1614265330";
        let body = br#"{"test": 2432232314}"#;
        let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(expected_signature(&key, id, ts, body), sig);
        let now = 1_614_265_330;
        assert!(verify(&key, id, ts, body, sig, now));
        assert!(verify(&key, id, ts, body, &format!("v1,bogus {sig}"), now), "any of several");
        assert!(!verify(&key, id, ts, b"{}", sig, now), "another body");
        assert!(!verify(&key, "msg_other", ts, body, sig, now), "another id");
        assert!(!verify(&key, id, ts, body, sig, now + 301), "stale timestamp");
        assert!(!verify(&key, id, "x", body, sig, now), "no timestamp");
    }

    #[test]
    fn the_receiver_holds_until_released_and_verifies() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let r = Receiver::new(true);
            let url = r.listen().await.unwrap();
            let key = [7u8; 24];
            r.set_secret(&format!("whsec_{}", B64.encode(key))).unwrap();
            let client = reqwest::Client::new();
            let ts = chrono::Utc::now().timestamp().to_string();
            let send = |id: &'static str, good: bool| {
                let (client, url, ts) = (client.clone(), url.clone(), ts.clone());
                tokio::spawn(async move {
                    let body = format!(r#"{{"event":"session.create","timestamp":"t","data":{{"n":"{id}"}}}}"#);
                    let sig = if good { expected_signature(&key, id, &ts, body.as_bytes()) } else { "v1,AAAA".into() };
                    let r = client
                        .post(url)
                        .header("webhook-id", id)
                        .header("webhook-timestamp", ts)
                        .header("webhook-signature", sig)
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    (r.status().as_u16(), r.text().await.unwrap())
                })
            };
            let tasks = [send("msg_a", true), send("msg_b", true), send("msg_a", false)];
            let t0 = Instant::now();
            while r.in_flight() < 3 && t0.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(r.in_flight(), 3, "held, not answered");
            assert!(tasks.iter().all(|t| !t.is_finished()));
            r.release();
            for t in tasks {
                assert_eq!(t.await.unwrap(), (200, ANSWER.to_owned()));
            }
            let seen = r.seen();
            assert_eq!((seen.requests, seen.signed, seen.verified, seen.max_in_flight), (3, 3, 2, 3));
            assert_eq!((seen.by_id.len(), seen.duplicates()), (2, (1, 1)));
            assert_eq!(seen.kinds["session.create"], 3);
            assert_eq!(r.in_flight(), 0);
        });
    }

    #[test]
    fn counts_duplicates() {
        let mut s = Seen::default();
        s.by_id.insert("a".into(), 1);
        s.by_id.insert("b".into(), 3);
        s.by_id.insert("c".into(), 2);
        assert_eq!(s.duplicates(), (2, 3));
    }

    #[test]
    fn reads_the_event_kind() {
        assert_eq!(event_of(br#"{"event":"session.create","timestamp":"t","data":{}}"#), "session.create");
        assert_eq!(event_of(b"not json"), "(no event)");
    }

    #[test]
    fn formats_differences() {
        assert_eq!(pct(110.0, 100.0), "+10.0 %");
        assert_eq!(pct(90.0, 100.0), "-10.0 %");
        assert_eq!(pct(1.0, 0.0), "—");
        assert_eq!(delta_ms(Duration::from_micros(1500), Duration::from_millis(1)), "+0.50");
    }
}
