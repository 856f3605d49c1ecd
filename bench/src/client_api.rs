//! `client-api`: the Authly v2 client API (`POST /api/v2/<endpoint>`, JSON) of the real server
//! under load. Each endpoint runs on `--concurrency` keep-alive connections, one worker each that
//! sends its next request as soon as the previous answer is read, right after `GET /healthz`
//! measured the same way on the same server: the ratio of the two is what the endpoint costs
//! beyond HTTP on this machine. Login and register each run one argon2id, so the raw rate of
//! `tollgate_core::password::verify` on every core is measured too (before the server starts):
//! it is the ceiling those two can reach.
//!
//! The Authon v1 dialect (`POST /v1`, one JSON body whose `type` selects the call) is measured
//! the same way: `authon-check` (the heartbeat) and `authon-var` (an app variable), each on its
//! own session opened with `type: license`, bodies as Authon's Go SDK sends them (no nonce).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rand::RngCore;
use serde_json::{json, Map, Value};

use crate::generate::{find_id, BenchState};
use crate::list::Stats;
use crate::proc::{self, Tollgate};
use crate::server::{self, Server};
use crate::{group, ms};

/// The client-API endpoints measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Endpoint {
    Init,
    ValidateSession,
    Variables,
    Login,
    Register,
    /// Authon v1 `type: check`.
    AuthonCheck,
    /// Authon v1 `type: var`.
    AuthonVar,
}

impl Endpoint {
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Init,
        Endpoint::ValidateSession,
        Endpoint::Variables,
        Endpoint::Login,
        Endpoint::Register,
        Endpoint::AuthonCheck,
        Endpoint::AuthonVar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Init => "init",
            Endpoint::ValidateSession => "validate-session",
            Endpoint::Variables => "variables",
            Endpoint::Login => "login",
            Endpoint::Register => "register",
            Endpoint::AuthonCheck => "authon-check",
            Endpoint::AuthonVar => "authon-var",
        }
    }

    /// Whether the call is Authon v1's (`POST /v1`) rather than Authly v2's.
    pub fn authon(self) -> bool {
        matches!(self, Endpoint::AuthonCheck | Endpoint::AuthonVar)
    }

    /// What a report calls the series: the method and path, and Authon's `type`.
    pub fn what(self) -> String {
        match self {
            Endpoint::AuthonCheck => "POST /v1 check".to_owned(),
            Endpoint::AuthonVar => "POST /v1 var".to_owned(),
            e => format!("POST /api/v2/{}", e.name()),
        }
    }
}

/// Knobs of the client-API benchmark.
pub struct ClientApiOptions {
    pub port: Option<u16>,
    pub concurrency: usize,
    pub duration: Duration,
    pub warmup: Duration,
    /// Unused keys generated for `register` (one per request; the run stops when they run out).
    pub register_keys: u64,
    /// How long the raw argon2id verifications run, and on how many threads.
    pub argon2: Duration,
    pub argon2_threads: usize,
    pub endpoints: Vec<Endpoint>,
    /// PostgreSQL: `ANALYZE` after generating the keys (autovacuum may be off, or not yet run).
    pub analyze: bool,
    /// `tollgate serve` processes over the one database; connection i of a series goes to node
    /// i mod `nodes`.
    pub nodes: usize,
    pub startup_timeout: Duration,
}

/// What the server must be started with: no per-IP limit on the client API, or the bench
/// would measure the limiter.
pub const SERVE_ARGS: [&str; 2] = ["--client-rate-limit", "0"];

const VAR_KEY: &str = "bench_var";
const VAR_VALUE: &str = "bench-variable-value";
const USER_PASSWORD: &str = "bench-user-password";
/// The user agent of Authon's Go SDK.
const AUTHON_UA: &str = "Authon-Go-SDK/2.0.0";
/// Every login comes from this device (hwidLock is turned off anyway).
const LOGIN_SID: &str = "S-1-5-21-0000000000-0000000000-0000000000-1001";
/// Error bodies kept per series for the report.
const SAMPLES: usize = 3;
/// The longest a warm-up waits for every connection's first answer beyond `--warmup-secs`.
const MAX_EXTRA_WARMUP: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------
// Results

/// Raw `tollgate_core::password::verify` on every core, no server running.
pub struct Argon2Rate {
    /// `$argon2id$v=19$m=...,t=...,p=...` of the hash verified.
    pub params: String,
    pub threads: usize,
    pub verifications: u64,
    pub wall: Duration,
}

impl Argon2Rate {
    pub fn per_sec(&self) -> f64 {
        self.verifications as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// CPU used over a measured window, in cores (CPU seconds / wall seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuShare {
    pub server: f64,
    pub bench: f64,
    /// PostgreSQL runs: the backends of the bench's database and the server's shared
    /// processes (WAL writer, checkpointer, ...), not other databases' backends.
    pub postgres: Option<f64>,
    /// Everything else the machine ran meanwhile (busy CPU of `/proc/stat` minus the above):
    /// others' work competing for the cores.
    pub others: f64,
}

/// One series: a warm-up, then a measured window of one kind of request.
pub struct Series {
    /// `GET /healthz`, `POST /api/v2/init`, ...
    pub what: String,
    /// Successful requests that completed inside the measured window.
    pub ok: u64,
    /// The warm-up it took: at least `--warmup-secs`, and until every connection had an answer.
    pub warmup: Duration,
    /// The measured window (shorter than asked if register ran out of keys).
    pub measured: Duration,
    pub stats: Stats,
    /// Failed requests (non-2xx, `success` not true, or no answer), warm-up included.
    pub errors: u64,
    /// Failures by kind (`429 RATE_LIMITED`, `transport: ...`).
    pub error_kinds: BTreeMap<String, u64>,
    pub samples: Vec<String>,
    /// Register: the keys ran out this far into the measured window (zero: during the warm-up).
    pub ran_out: Option<Duration>,
    pub cpu: Option<CpuShare>,
    /// The server's highest `VmRSS` sampled (every 50 ms) from the warm-up to the end of the
    /// series, KiB.
    pub rss_peak_kib: Option<u64>,
}

impl Series {
    pub fn rps(&self) -> f64 {
        if self.measured.is_zero() {
            return 0.0;
        }
        self.ok as f64 / self.measured.as_secs_f64()
    }
}

/// An endpoint and the `/healthz` series measured right before it.
pub struct Row {
    pub endpoint: Endpoint,
    pub healthz: Series,
    pub api: Series,
}

pub struct ClientApiResult {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Threads of the bench's own tokio runtime.
    pub client_threads: usize,
    pub argon2: Argon2Rate,
    pub app_id: String,
    pub register_keys: u64,
    pub keys_wall: Duration,
    pub startup: Duration,
    pub rows: Vec<Row>,
    pub server_peak_rss_kib: Option<u64>,
    pub shutdown: Option<Duration>,
    pub postgres: bool,
    /// `/proc/loadavg` when the run began: others' work on the machine shows here.
    pub load_before: Option<String>,
    /// `ANALYZE` ran after the keys were generated (PostgreSQL).
    pub analyzed: bool,
    /// `tollgate serve` processes over the database.
    pub nodes: usize,
}

impl ClientApiResult {
    /// Failed requests over every series.
    pub fn errors(&self) -> u64 {
        self.rows.iter().map(|r| r.healthz.errors + r.api.errors).sum()
    }
}

// ---------------------------------------------------------------------------------------
// Requests

/// The replay-defence fields the Authly v2 SDKs add to every body: `request_id` (UUID4), `nonce`
/// (32 hex characters) and `timestamp` (unix milliseconds).
#[derive(Debug)]
struct Stamp {
    request_id: String,
    nonce: String,
    timestamp: i64,
}

impl Stamp {
    fn fresh() -> Stamp {
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        Stamp { request_id: uuid_v4(&b[..16]), nonce: hex(&b[16..]), timestamp: chrono::Utc::now().timestamp_millis() }
    }

    fn apply(&self, body: &mut Map<String, Value>) {
        body.insert("request_id".into(), json!(self.request_id));
        body.insert("nonce".into(), json!(self.nonce));
        body.insert("timestamp".into(), json!(self.timestamp));
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A random (version 4) UUID from 16 random bytes.
fn uuid_v4(random: &[u8]) -> String {
    let mut b = [0u8; 16];
    for (d, s) in b.iter_mut().zip(random) {
        *d = *s;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// The app and the users the requests speak for.
pub(crate) struct Target {
    base: String,
    /// Every node's base URL (the first is `base`); series spread their connections over them.
    nodes: Vec<String>,
    /// The app's id and key, as Authon clients send them on every call.
    app_id: String,
    owner_id: String,
    app_name: String,
    secret: String,
    version: String,
    /// The accounts `login` signs in as, one per connection, taken in turn: the server lets at
    /// most 10 attempts on one account from one address be in flight (the password throttle),
    /// so 64 connections on one account would be answered 429.
    login_users: Vec<String>,
    next_login: AtomicUsize,
    /// Unused license keys; register takes the next one, whose index makes the username unique.
    keys: Vec<String>,
    next_key: AtomicUsize,
    tag: String,
    /// The key Authon sessions sign in with (hwidLock is off: one key opens them all).
    authon_key: String,
}

impl Target {
    /// The fields of one request (no stamp); `None` when register has no key left.
    fn fields(&self, ep: Endpoint, session: Option<&str>) -> Option<Map<String, Value>> {
        let sid = session.unwrap_or_default();
        let v = match ep {
            Endpoint::Init => json!({
                "owner_id": self.owner_id, "app_name": self.app_name, "secret": self.secret,
                "version": self.version, "hash": "",
            }),
            Endpoint::ValidateSession => json!({ "session_id": sid }),
            Endpoint::AuthonCheck => json!({
                "type": "check", "appId": self.app_id, "apiKey": self.secret, "sessionToken": sid,
            }),
            Endpoint::AuthonVar => json!({
                "type": "var", "appId": self.app_id, "apiKey": self.secret, "sessionToken": sid, "key": VAR_KEY,
            }),
            Endpoint::Variables => json!({ "session_id": sid, "var_key": VAR_KEY }),
            Endpoint::Login => {
                let i = self.next_login.fetch_add(1, Ordering::Relaxed);
                let user = self.login_users.get(i % self.login_users.len().max(1))?;
                json!({
                    "session_id": sid, "username": user, "password": USER_PASSWORD,
                    "sid": LOGIN_SID, "ip": "",
                })
            }
            Endpoint::Register => {
                let i = self.next_key.fetch_add(1, Ordering::Relaxed);
                let key = self.keys.get(i)?;
                json!({
                    "session_id": sid, "username": format!("bench-{}-{i}", self.tag),
                    "password": USER_PASSWORD, "key": key, "hwid": "x",
                })
            }
        };
        match v {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
}

/// How one request ended.
enum Outcome {
    Ok,
    /// Register only: no key left, nothing was sent.
    NoKey,
    Failed {
        kind: String,
        sample: String,
        transport: bool,
    },
}

/// One request, timed by the caller: `ep = None` is `GET /healthz`.
async fn send(
    client: &reqwest::Client,
    t: &Target,
    base: &str,
    ep: Option<Endpoint>,
    session: Option<&str>,
) -> Outcome {
    let req = match ep {
        None => client.get(format!("{base}/healthz")),
        Some(ep) => {
            let Some(mut body) = t.fields(ep, session) else { return Outcome::NoKey };
            if ep.authon() {
                // As Authon's Go SDK: the JSON body and its user agent, no replay fields.
                let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
                client
                    .post(format!("{base}/v1"))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(reqwest::header::USER_AGENT, AUTHON_UA)
                    .body(bytes)
            } else {
                let stamp = Stamp::fresh();
                stamp.apply(&mut body);
                // serde_json's map is sorted and `to_vec` compact: the canonical JSON the SDKs send.
                let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
                client
                    .post(format!("{base}/api/v2/{}", ep.name()))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("x-request-id", &stamp.request_id)
                    .header("x-auth-nonce", &stamp.nonce)
                    .header("x-auth-timestamp", stamp.timestamp.to_string())
                    .body(bytes)
            }
        }
    };
    let r = match req.send().await {
        Ok(r) => r,
        Err(e) => return transport_failure(&e),
    };
    let status = r.status().as_u16();
    match r.bytes().await {
        Ok(body) => match classify(status, &body, ep.is_some()) {
            None => Outcome::Ok,
            Some(kind) => Outcome::Failed { kind, sample: sample(status, &body), transport: false },
        },
        Err(e) => transport_failure(&e),
    }
}

fn transport_failure(e: &reqwest::Error) -> Outcome {
    let what = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    };
    Outcome::Failed { kind: format!("transport: {what}"), sample: format!("{e}"), transport: true }
}

/// `None` for a success: 2xx, and for the client API `"success": true` in the body.
fn classify(status: u16, body: &[u8], api: bool) -> Option<String> {
    let code = || {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned))
            .map_or_else(String::new, |c| format!(" {c}"))
    };
    if !(200..300).contains(&status) {
        return Some(format!("{status}{}", code()));
    }
    if api && !success_true(body) {
        return Some(format!("{status} without success=true{}", code()));
    }
    None
}

/// `"success":true` in the body; the substring first, as parsing every body costs the bench
/// CPU the server would otherwise get.
fn success_true(body: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"\"success\":true";
    body.windows(NEEDLE.len()).any(|w| w == NEEDLE)
        || serde_json::from_slice::<Value>(body).is_ok_and(|v| v.get("success") == Some(&Value::Bool(true)))
}

fn sample(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let cut: String = text.chars().take(300).collect();
    format!("{status} {cut}")
}

/// A strict request for setting up: 2xx and `success: true`, or an error carrying the body.
async fn call(client: &reqwest::Client, t: &Target, path: &str, mut body: Map<String, Value>) -> Result<Value> {
    Stamp::fresh().apply(&mut body);
    let url = format!("{}/api/v2/{path}", t.base);
    let r =
        client.post(&url).json(&Value::Object(body)).send().await.with_context(|| format!("POST /api/v2/{path}"))?;
    let status = r.status().as_u16();
    let bytes = r.bytes().await.with_context(|| format!("POST /api/v2/{path}: reading the body"))?;
    if let Some(kind) = classify(status, &bytes, true) {
        if status == 404 && path == "init" && !bytes.starts_with(b"{\"success\"") {
            bail!(
                "POST /api/v2/init: 404 — this binary has no Authly v2 client API (rebuild it with \
                 `cargo build --release -p tollgate-server`): {}",
                sample(status, &bytes)
            );
        }
        bail!("POST /api/v2/{path}: {kind}: {}", sample(status, &bytes));
    }
    serde_json::from_slice(&bytes).with_context(|| format!("POST /api/v2/{path}: the body is not JSON"))
}

pub(crate) async fn open_session(client: &reqwest::Client, t: &Target) -> Result<String> {
    let body = t.fields(Endpoint::Init, None).context("init body")?;
    let v = call(client, t, "init", body).await?;
    v.get("session_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no session_id in the init answer: {v}"))
}

/// An Authon session: `type: license` with the run's Authon key (unmeasured).
async fn open_authon_session(client: &reqwest::Client, t: &Target) -> Result<String> {
    let body = json!({ "type": "license", "appId": t.app_id, "apiKey": t.secret, "licenseKey": t.authon_key,
                       "hwid": LOGIN_SID });
    let r = client.post(format!("{}/v1", t.base)).json(&body).send().await.context("POST /v1 license")?;
    let status = r.status().as_u16();
    let bytes = r.bytes().await.context("POST /v1 license: reading the body")?;
    if let Some(kind) = classify(status, &bytes, true) {
        bail!("POST /v1 license: {kind}: {}", sample(status, &bytes));
    }
    let v: Value = serde_json::from_slice(&bytes).context("POST /v1 license: the body is not JSON")?;
    v.pointer("/data/sessionToken")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no data.sessionToken in the license answer: {v}"))
}

/// `n` Authon sessions, opened `concurrency` at a time (unmeasured).
async fn open_authon_sessions(client: &reqwest::Client, t: &Arc<Target>, n: usize) -> Result<Vec<String>> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, t) = (client.clone(), t.clone());
        set.spawn(async move { open_authon_session(&client, &t).await });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        out.push(r.context("a license task panicked")??);
    }
    Ok(out)
}

/// `n` sessions, one per worker, opened `concurrency` at a time (unmeasured).
async fn open_sessions(client: &reqwest::Client, t: &Arc<Target>, n: usize) -> Result<Vec<String>> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, t) = (client.clone(), t.clone());
        set.spawn(async move { open_session(&client, &t).await });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        out.push(r.context("an init task panicked")??);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// CPU accounting

/// CPU seconds consumed so far by the server, the bench, and (PostgreSQL runs) PostgreSQL's
/// processes that work for the bench.
#[derive(Clone, Copy)]
pub(crate) struct CpuSample {
    at: Instant,
    server: Duration,
    bench: Duration,
    postgres: Option<Duration>,
    /// Busy CPU of the whole machine.
    machine: Duration,
}

pub(crate) struct CpuProbe {
    /// The server processes (nodes) measured together.
    pub(crate) server_pids: Vec<u32>,
    /// The bench's database, on PostgreSQL.
    pub(crate) postgres: Option<String>,
}

impl CpuProbe {
    pub(crate) fn sample(&self) -> CpuSample {
        CpuSample {
            at: Instant::now(),
            server: self.server_pids.iter().filter_map(|&p| pid_cpu(p)).sum(),
            bench: self_cpu(),
            postgres: self.postgres.as_deref().map(postgres_cpu),
            machine: machine_busy().unwrap_or_default(),
        }
    }
}

pub(crate) fn share(a: &CpuSample, b: &CpuSample) -> CpuShare {
    let wall = b.at.duration_since(a.at).as_secs_f64().max(1e-9);
    let cores = |x: Duration, y: Duration| y.saturating_sub(x).as_secs_f64() / wall;
    let (server, bench) = (cores(a.server, b.server), cores(a.bench, b.bench));
    let postgres = a.postgres.zip(b.postgres).map(|(x, y)| cores(x, y));
    let others = (cores(a.machine, b.machine) - server - bench - postgres.unwrap_or(0.0)).max(0.0);
    CpuShare { server, bench, postgres, others }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// `(comm, utime + stime in ticks)` from the text of `/proc/PID/stat`.
fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    // After the comm: state (field 3), ..., utime (14), stime (15).
    let mut rest = stat.get(close + 1..)?.split_whitespace().skip(11);
    let utime: u64 = rest.next()?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

/// Busy time of the aggregate `cpu` line of `/proc/stat`: user, nice, system, irq, softirq and
/// steal; not idle or iowait (guest time is already inside user).
fn parse_proc_stat_busy(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let field = |i: usize| v.get(i).copied().unwrap_or(0);
    (v.len() >= 4).then(|| field(0) + field(1) + field(2) + field(5) + field(6) + field(7))
}

fn machine_busy() -> Option<Duration> {
    parse_proc_stat_busy(&std::fs::read_to_string("/proc/stat").ok()?).map(ticks)
}

fn ticks(t: u64) -> Duration {
    Duration::from_secs_f64(t as f64 / clock_ticks())
}

fn pid_cpu(pid: u32) -> Option<Duration> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&s).map(|(_, t)| ticks(t))
}

fn self_cpu() -> Duration {
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a local.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    proc::timeval(ru.ru_utime) + proc::timeval(ru.ru_stime)
}

/// Is this `postgres` process (its command line, NULs as spaces) one that works for `db`: a
/// backend connected to it (`postgres: 15/main: user db 127.0.0.1(5432) idle`), or a shared
/// one (postmaster, WAL writer, checkpointer: no client address)? Other databases' backends
/// (others' tests) are not.
fn serves_db(cmdline: &str, db: &str) -> bool {
    let client = cmdline.contains('(') || cmdline.contains("[local]");
    !client || cmdline.split_whitespace().any(|w| w == db)
}

fn postgres_cpu(db: &str) -> Duration {
    let Ok(rd) = std::fs::read_dir("/proc") else { return Duration::ZERO };
    let total: u64 = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let (comm, t) = parse_stat(&stat)?;
            if comm != "postgres" {
                return None;
            }
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            serves_db(&cmdline, db).then_some(t)
        })
        .sum();
    ticks(total)
}

// ---------------------------------------------------------------------------------------
// Load

#[derive(Clone, Copy)]
struct Window {
    measure: Instant,
    end: Instant,
}

/// When the measured window of a series begins, decided while it runs: after the minimum
/// warm-up once every worker has had an answer, so that slow endpoints (64 argon2id in flight
/// take seconds each) are measured in their steady state and not in the first burst.
struct Clock {
    t0: Instant,
    /// Nanoseconds from `t0` to the start of the measured window; 0 while warming up.
    measure_ns: std::sync::atomic::AtomicU64,
    duration: Duration,
    /// Workers that have had at least one answer (or have nothing left to send).
    answered: AtomicUsize,
}

impl Clock {
    fn new(duration: Duration) -> Clock {
        Clock {
            t0: Instant::now(),
            measure_ns: std::sync::atomic::AtomicU64::new(0),
            duration,
            answered: AtomicUsize::new(0),
        }
    }

    fn window(&self) -> Option<Window> {
        let n = self.measure_ns.load(Ordering::Acquire);
        (n != 0).then(|| {
            let measure = self.t0 + Duration::from_nanos(n);
            Window { measure, end: measure + self.duration }
        })
    }

    fn start_measuring(&self, at: Instant) -> Window {
        let n = u64::try_from(at.duration_since(self.t0).as_nanos()).unwrap_or(u64::MAX).max(1);
        self.measure_ns.store(n, Ordering::Release);
        let measure = self.t0 + Duration::from_nanos(n);
        Window { measure, end: measure + self.duration }
    }
}

#[derive(Default)]
struct WorkerOut {
    latencies: Vec<Duration>,
    last_ok: Option<Instant>,
    errors: u64,
    kinds: BTreeMap<String, u64>,
    samples: Vec<String>,
    ran_out_at: Option<Instant>,
}

/// Request after request until the window ends; only successes that complete inside the
/// measured part count.
async fn worker(
    client: reqwest::Client,
    t: Arc<Target>,
    base: String,
    ep: Option<Endpoint>,
    session: Option<String>,
    clock: Arc<Clock>,
) -> WorkerOut {
    let mut out = WorkerOut::default();
    let mut answered = false;
    loop {
        let start = Instant::now();
        if clock.window().is_some_and(|w| start >= w.end) {
            break;
        }
        let outcome = send(&client, &t, &base, ep, session.as_deref()).await;
        let done = Instant::now();
        if !answered {
            answered = true;
            clock.answered.fetch_add(1, Ordering::AcqRel);
        }
        match outcome {
            Outcome::Ok => {
                if clock.window().is_some_and(|w| done >= w.measure && done <= w.end) {
                    out.latencies.push(done - start);
                    out.last_ok = Some(done);
                }
            }
            Outcome::NoKey => {
                out.ran_out_at = Some(start);
                break;
            }
            Outcome::Failed { kind, sample, transport } => {
                out.errors += 1;
                *out.kinds.entry(kind).or_default() += 1;
                if out.samples.len() < SAMPLES {
                    out.samples.push(sample);
                }
                if transport {
                    // A dead server would otherwise be hammered in a tight loop.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    out
}

/// Merge the workers' figures into a series measured over `win`.
fn merge(what: String, outs: Vec<WorkerOut>, win: Window, warmup: Duration, cpu: Option<CpuShare>) -> Series {
    let ran_out_at = outs.iter().filter_map(|o| o.ran_out_at).min();
    let mut latencies = Vec::new();
    let (mut errors, mut kinds, mut samples) = (0, BTreeMap::new(), Vec::new());
    let mut last_ok = None::<Instant>;
    for o in outs {
        latencies.extend(o.latencies);
        errors += o.errors;
        for (k, n) in o.kinds {
            *kinds.entry(k).or_default() += n;
        }
        for s in o.samples {
            if samples.len() < SAMPLES {
                samples.push(s);
            }
        }
        last_ok = last_ok.max(o.last_ok);
    }
    let window = win.end.duration_since(win.measure);
    let (measured, ran_out) = match ran_out_at {
        None => (window, None),
        // The last answers arrive after the keys ran out: measure up to the last one.
        Some(r) => {
            let m = last_ok.map_or(Duration::ZERO, |l| l.duration_since(win.measure)).min(window);
            (m, Some(r.saturating_duration_since(win.measure)))
        }
    };
    Series {
        what,
        ok: latencies.len() as u64,
        warmup,
        measured,
        stats: Stats::of(latencies),
        errors,
        error_kinds: kinds,
        samples,
        ran_out,
        cpu,
        rss_peak_kib: None,
    }
}

/// Samples the summed `VmRSS` of processes every 50 ms until stopped, keeping the highest.
struct RssSampler {
    peak: Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    fn start(pids: Vec<u32>) -> RssSampler {
        let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = peak.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                tick.tick().await;
                if let Some(kib) = pids.iter().map(|&p| proc::vm_rss_kib(p)).sum::<Option<u64>>() {
                    seen.fetch_max(kib, Ordering::Relaxed);
                }
            }
        });
        RssSampler { peak, task }
    }

    /// The highest sample, `None` when none could be read.
    async fn stop(self) -> Option<u64> {
        self.task.abort();
        let _ = self.task.await;
        Some(self.peak.load(Ordering::Relaxed)).filter(|&kib| kib > 0)
    }
}

async fn series(
    client: &reqwest::Client,
    t: &Arc<Target>,
    ep: Option<Endpoint>,
    sessions: Vec<Option<String>>,
    opts: &ClientApiOptions,
    probe: &CpuProbe,
) -> Result<Series> {
    let what = ep.map_or_else(|| "GET /healthz".to_owned(), Endpoint::what);
    eprintln!(
        "tollgate-bench: {what}: {} connections, {:.0} s warm-up + {:.0} s",
        sessions.len(),
        opts.warmup.as_secs_f64(),
        opts.duration.as_secs_f64()
    );
    let n = sessions.len();
    let rss = RssSampler::start(probe.server_pids.clone());
    let clock = Arc::new(Clock::new(opts.duration));
    let mut tasks = Vec::with_capacity(n);
    for (i, s) in sessions.into_iter().enumerate() {
        let base = t.nodes[i % t.nodes.len()].clone();
        tasks.push(tokio::spawn(worker(client.clone(), t.clone(), base, ep, s, clock.clone())));
    }
    tokio::time::sleep(opts.warmup).await;
    let cap = Instant::now() + MAX_EXTRA_WARMUP;
    while clock.answered.load(Ordering::Acquire) < n && Instant::now() < cap {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let a = probe.sample();
    let win = clock.start_measuring(a.at);
    let warmup = win.measure.duration_since(clock.t0);
    tokio::time::sleep_until(win.end.into()).await;
    let b = probe.sample();
    let mut outs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outs.push(task.await.context("a request task panicked")?);
    }
    let mut s = merge(what, outs, win, warmup, Some(share(&a, &b)));
    s.rss_peak_kib = rss.stop().await;
    eprintln!(
        "tollgate-bench:   {} req/s, p50 {} ms, p99 {} ms, {} errors (warm-up {:.1} s)",
        rate(s.rps()),
        ms(s.stats.p50),
        ms(s.stats.p99),
        s.errors,
        s.warmup.as_secs_f64()
    );
    Ok(s)
}

// ---------------------------------------------------------------------------------------
// argon2id

/// `tollgate_core::password::verify` on `threads` threads for `secs`.
pub fn argon2_rate(secs: Duration, threads: usize) -> Result<Argon2Rate> {
    const PASSWORD: &str = "bench-argon2-password";
    let phc = tollgate_core::password::hash(PASSWORD).map_err(|e| anyhow!("argon2id hash: {e}"))?;
    let params = phc.split('$').take(4).collect::<Vec<_>>().join("$");
    let threads = threads.max(1);
    eprintln!("tollgate-bench: argon2id verify ({params}) on {threads} threads for {:.0} s", secs.as_secs_f64());
    let start = Instant::now();
    let deadline = start + secs;
    let counts: Vec<Option<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    loop {
                        if !tollgate_core::password::verify(PASSWORD, &phc) {
                            return None;
                        }
                        n += 1;
                        if Instant::now() >= deadline {
                            return Some(n);
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().ok().flatten()).collect()
    });
    let wall = start.elapsed();
    let mut verifications = 0;
    for c in counts {
        verifications += c.context("an argon2id verification failed (or its thread panicked)")?;
    }
    Ok(Argon2Rate { params, threads, verifications, wall })
}

// ---------------------------------------------------------------------------------------
// The run

pub(crate) fn run_tag() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:08x}", (nanos as u64 ^ u64::from(std::process::id()) << 32) & 0xffff_ffff)
}

/// `tollgate license generate` of `count` lifetime keys for `app_id`; the keys and the time taken.
pub(crate) fn generate_keys(tg: &Tollgate, app_id: &str, count: u64) -> Result<(Vec<String>, Duration)> {
    let file = tg.data_dir.join("bench-client-api-keys.txt");
    // The CLI refuses to overwrite a file; one may be left over from an interrupted run.
    let _ = std::fs::remove_file(&file);
    let path = file.to_string_lossy().into_owned();
    let count_s = count.to_string();
    let args =
        ["license", "generate", "--app", app_id, "--count", &count_s, "--duration", "lifetime", "--output", &path];
    eprintln!("tollgate-bench: running `tollgate {}`", args.join(" "));
    let f = tg.run_ok(&args, true)?;
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()));
    let _ = std::fs::remove_file(&file);
    let keys: Vec<String> = text?.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    if keys.len() as u64 != count {
        bail!("asked `tollgate license generate` for {count} keys, got {}", keys.len());
    }
    Ok((keys, f.wall))
}

/// Admin setup (no hwidLock, the variable), then `login_users` accounts registered through the
/// API for `login` (one per connection).
pub(crate) async fn setup(
    client: &reqwest::Client,
    base: &str,
    state: &BenchState,
    app_id: &str,
    mut keys: Vec<String>,
    tag: &str,
    login_users: usize,
) -> Result<Target> {
    let authon_key = keys.pop().context("no license key for the Authon sessions")?;
    let token = server::login(client, base, state).await?;
    let url = format!("{base}/v1/admin/apps/{app_id}");
    let r = client.patch(&url).bearer_auth(&token).json(&json!({ "hwidLock": false })).send().await?;
    let status = r.status();
    let app: Value = r.json().await.context("PATCH app: the body is not JSON")?;
    if !status.is_success() || app.pointer("/data/hwidLock") != Some(&Value::Bool(false)) {
        bail!("PATCH /v1/admin/apps/{app_id} {{\"hwidLock\": false}}: {status} {}", redact_app(&app));
    }
    let field = |k: &str| -> Result<String> {
        app.pointer(&format!("/data/{k}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("no data.{k} in the app: {}", redact_app(&app)))
    };
    let t = Target {
        base: base.to_owned(),
        nodes: vec![base.to_owned()],
        app_id: app_id.to_owned(),
        owner_id: field("ownerId")?,
        app_name: field("name")?,
        secret: field("apiKey")?,
        version: field("version")?,
        login_users: (0..login_users.max(1)).map(|i| format!("bench-login-{tag}-{i}")).collect(),
        next_login: AtomicUsize::new(0),
        keys,
        next_key: AtomicUsize::new(0),
        tag: tag.to_owned(),
        authon_key,
    };
    let r = client
        .post(format!("{url}/variables"))
        .bearer_auth(&token)
        .json(&json!({ "key": VAR_KEY, "value": VAR_VALUE }))
        .send()
        .await?;
    let status = r.status();
    if !status.is_success() {
        bail!("POST /v1/admin/apps/{app_id}/variables: {status} {}", r.text().await.unwrap_or_default());
    }

    // The login users take the first keys, with the device every login will claim, and each
    // signs in once.
    for user in &t.login_users {
        let session = open_session(client, &t).await?;
        let mut body = t.fields(Endpoint::Register, Some(&session)).context("no license key for a login user")?;
        body.insert("username".into(), json!(user));
        body.insert("hwid".into(), json!(LOGIN_SID));
        call(client, &t, "register", body).await.context("registering a login user")?;
    }
    for _ in 0..t.login_users.len() {
        let session = open_session(client, &t).await?;
        let body = t.fields(Endpoint::Login, Some(&session)).context("login body")?;
        call(client, &t, "login", body).await.context("logging a login user in")?;
    }
    Ok(t)
}

/// The app's JSON with its keys hidden (it goes into error messages).
fn redact_app(app: &Value) -> Value {
    let mut app = app.clone();
    if let Some(d) = app.get_mut("data").and_then(Value::as_object_mut) {
        for k in ["apiKey", "wsKey"] {
            if d.contains_key(k) {
                d.insert(k.into(), json!("***"));
            }
        }
    }
    app
}

struct Measured {
    startup: Duration,
    rows: Vec<Row>,
    /// The rows of the second pass, after [`Between`] ran.
    second: Option<Vec<Row>>,
}

/// What a step between two passes gets: the running server and the run's app.
pub struct BetweenCtx {
    pub client: reqwest::Client,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The bench seller's access token.
    pub token: String,
    pub app_id: String,
}

/// A step run on the bench's runtime after every endpoint was measured once, before they are all
/// measured again on the same server and app (e.g. subscribing a webhook). Whatever it spawns
/// runs until the server is stopped.
pub type Between = Box<dyn FnOnce(BetweenCtx) -> futures::future::LocalBoxFuture<'static, Result<()>>>;

/// Every endpoint once: its sessions, `/healthz`, then the endpoint.
async fn pass(
    client: &reqwest::Client,
    t: &Arc<Target>,
    opts: &ClientApiOptions,
    probe: &CpuProbe,
) -> Result<Vec<Row>> {
    let n = opts.concurrency.max(1);
    let mut rows = Vec::new();
    for &ep in &opts.endpoints {
        let sessions: Vec<Option<String>> = match ep {
            Endpoint::Init => vec![None; n],
            e if e.authon() => open_authon_sessions(client, t, n).await?.into_iter().map(Some).collect(),
            _ => open_sessions(client, t, n).await?.into_iter().map(Some).collect(),
        };
        let healthz = series(client, t, None, vec![None; n], opts, probe).await?;
        let api = series(client, t, Some(ep), sessions, opts, probe).await?;
        rows.push(Row { endpoint: ep, healthz, api });
    }
    Ok(rows)
}

/// The app made for this run through the CLI.
struct Prepared {
    app_id: String,
    keys: Vec<String>,
    tag: String,
}

async fn measure(
    client: &reqwest::Client,
    (server, others): (&mut Server, &mut [Server]),
    state: &BenchState,
    prepared: Prepared,
    opts: &ClientApiOptions,
    probe: &CpuProbe,
    (between, after): (Option<Between>, Option<Between>),
) -> Result<Measured> {
    let startup = server.wait_healthy(client, opts.startup_timeout).await?;
    for other in others.iter_mut() {
        other.wait_healthy(client, opts.startup_timeout).await?;
    }
    let Prepared { app_id, keys, tag } = prepared;
    let mut t = setup(client, &server.base, state, &app_id, keys, &tag, opts.concurrency.max(1)).await?;
    t.nodes.extend(others.iter().map(|o| o.base.clone()));
    let t = Arc::new(t);
    let rows = pass(client, &t, opts, probe).await?;
    let second = match between {
        None => None,
        Some(step) => {
            let token = server::login(client, &server.base, state).await?;
            let ctx = || BetweenCtx {
                client: client.clone(),
                base: server.base.clone(),
                token: token.clone(),
                app_id: app_id.clone(),
            };
            step(ctx()).await?;
            let rows = pass(client, &t, opts, probe).await?;
            if let Some(after) = after {
                after(ctx()).await?;
            }
            Some(rows)
        }
    };
    Ok(Measured { startup, rows, second })
}

pub fn run(tg: &Tollgate, state: &BenchState, opts: &ClientApiOptions) -> Result<ClientApiResult> {
    run_with(tg, state, opts, &[], None, None).map(|(r, _)| r)
}

/// [`run`], with `extra_serve_args` after [`SERVE_ARGS`] and, with `between`, a second pass over
/// the endpoints after it ran: its rows are the second value (the result holds the first pass).
/// `after` runs after the second pass, before the server stops.
pub fn run_with(
    tg: &Tollgate,
    state: &BenchState,
    opts: &ClientApiOptions,
    extra_serve_args: &[&str],
    between: Option<Between>,
    after: Option<Between>,
) -> Result<(ClientApiResult, Option<Vec<Row>>)> {
    let load_before = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    let argon2 = argon2_rate(opts.argon2, opts.argon2_threads)?;

    let tag = run_tag();
    let app_name = format!("Client API {tag}");
    let app =
        tg.run_ok(&["app", "create", "--seller", &state.seller_id, "--name", &app_name, "--version", "1.0.0"], false)?;
    let app_id =
        find_id(&app.stdout, "app_").context("no app id (`app_...`) in the output of `tollgate app create`")?;
    let register = if opts.endpoints.contains(&Endpoint::Register) { opts.register_keys } else { 0 };
    // One more key for each user that login signs in as (one per connection), and one the
    // Authon sessions sign in with.
    let logins = opts.concurrency.max(1) as u64;
    let (keys, keys_wall) = generate_keys(tg, &app_id, register + logins + 1)?;
    let pg_url = tg.database_url.as_deref().filter(|u| crate::pg::is_postgres(u));
    let analyzed = match pg_url {
        Some(url) if opts.analyze => {
            eprintln!("tollgate-bench: ANALYZE on the bench database");
            crate::pg::analyze(url)?;
            true
        }
        _ => false,
    };

    let serve_args: Vec<&str> = SERVE_ARGS.iter().chain(extra_serve_args).copied().collect();
    let mut server = Server::start(tg, opts.port, &serve_args)?;
    let pid = server.pid;
    if opts.nodes > 1 && pg_url.is_none() {
        bail!("--nodes {} needs PostgreSQL (--database-url postgres://...): SQLite is one process's", opts.nodes);
    }
    let mut others = (1..opts.nodes)
        .map(|n| Server::start_logged(tg, None, &serve_args, &format!("bench-server-{}.log", n + 1)))
        .collect::<Result<Vec<_>>>()?;
    let pids: Vec<u32> = std::iter::once(pid).chain(others.iter().map(|o| o.pid)).collect();
    let client_threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(client_threads)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(opts.concurrency.max(1))
        .build()
        .context("building the HTTP client")?;
    let probe =
        CpuProbe { server_pids: pids.clone(), postgres: pg_url.and_then(crate::pg::database_of).map(str::to_owned) };

    let prepared = Prepared { app_id: app_id.clone(), keys, tag };
    let measured =
        rt.block_on(measure(&client, (&mut server, &mut others), state, prepared, opts, &probe, (between, after)));
    let m = match measured {
        Ok(m) => m,
        Err(e) => {
            let tail = server.log_tail();
            let hint = if tail.contains("client-rate-limit") {
                "\nThis binary does not know `--client-rate-limit`: rebuild it with `cargo build --release -p tollgate-server`."
            } else {
                ""
            };
            bail!("{e:#}\n--- server log (last lines) ---\n{tail}{hint}");
        }
    };
    let server_peak_rss_kib = pids.iter().map(|&p| proc::vm_hwm_kib(p)).sum::<Option<u64>>();
    for other in &mut others {
        other.stop()?;
    }
    let shutdown = Some(server.stop()?);
    let result = ClientApiResult {
        concurrency: opts.concurrency.max(1),
        warmup: opts.warmup,
        duration: opts.duration,
        client_threads,
        argon2,
        app_id,
        register_keys: register,
        keys_wall,
        startup: m.startup,
        rows: m.rows,
        server_peak_rss_kib,
        shutdown,
        postgres: probe.postgres.is_some(),
        load_before,
        analyzed,
        nodes: pids.len(),
    };
    Ok((result, m.second))
}

// ---------------------------------------------------------------------------------------
// Report

/// A ratio to three significant digits (`0.0123`, `0.456`, `1.23`).
pub(crate) fn ratio(x: f64) -> String {
    if !x.is_finite() || x <= 0.0 {
        return "0".to_owned();
    }
    let decimals = (2 - x.log10().floor() as i32).clamp(0, 6) as usize;
    format!("{x:.decimals$}")
}

pub(crate) fn rate(x: f64) -> String {
    if x >= 100.0 {
        group(x.round() as u64)
    } else {
        format!("{x:.1}")
    }
}

pub(crate) fn cores(c: &Option<CpuShare>) -> String {
    match c {
        None => "—".to_owned(),
        Some(c) => match c.postgres {
            Some(p) => format!("{:.2} / {:.2} / {p:.2} / {:.2}", c.server, c.bench, c.others),
            None => format!("{:.2} / {:.2} / {:.2}", c.server, c.bench, c.others),
        },
    }
}

pub fn render(s: &mut String, r: &ClientApiResult) {
    let secs = |d: Duration| format!("{:.0}", d.as_secs_f64());
    let _ = writeln!(s, "\n### Authly v2 client API at {} connections (`client-api`)\n", r.concurrency);
    let errors = r.errors();
    if errors > 0 {
        let _ = writeln!(
            s,
            "**ERRORS: {} requests failed in this run. The figures of the series below that have errors do not \
             measure what they claim.**\n",
            group(errors)
        );
        for row in &r.rows {
            for x in [&row.healthz, &row.api] {
                if x.errors == 0 {
                    continue;
                }
                let kinds: Vec<String> = x.error_kinds.iter().map(|(k, n)| format!("{} × `{k}`", group(*n))).collect();
                let _ = writeln!(s, "- `{}`: {}", x.what, kinds.join(", "));
                for sm in &x.samples {
                    let _ = writeln!(s, "  - `{}`", sm.replace('`', "'").replace('\n', " "));
                }
            }
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "`POST /api/v2/<endpoint>`, canonical JSON bodies with a fresh `nonce`, `timestamp` and `request_id` each \
         (`authon-*`: `POST /v1` with the JSON body Authon's Go SDK sends, no replay fields); \
         {} keep-alive HTTP/1.1 connections, one worker each that sends its next request as soon as the previous \
         answer is read; per series a warm-up of at least {} s and until every connection has had an answer, then \
         {} s measured. `GET /healthz` is measured the same way right before each endpoint on the same server \
         (`serve --client-rate-limit 0`). *server RSS peak* is the server's highest `VmRSS`, sampled every 50 ms \
         from the series' warm-up to its end. The bench runs on the same machine ({} runtime threads): client, \
         server{} share the cores.{}\n",
        r.concurrency,
        secs(r.warmup),
        secs(r.duration),
        r.client_threads,
        if r.postgres { " and PostgreSQL" } else { "" },
        if r.postgres {
            " *postgres* is the CPU of the bench database's backends and of PostgreSQL's shared processes \
             (WAL writer, checkpointer, ...); *others* is whatever else the machine ran meanwhile."
        } else {
            " *others* is whatever else the machine ran meanwhile."
        }
    );
    if r.nodes > 1 {
        let _ = writeln!(
            s,
            "**{} nodes**: as many `tollgate serve` processes over the one database; connection *i* of every series \
             goes to node *i* mod {} (the bench's own round robin), so sessions opened on one node are checked on \
             another. *server* CPU and *server RSS peak* are the nodes' sums.\n",
            r.nodes, r.nodes
        );
    }
    let pg = if r.postgres { " / postgres / others" } else { " / others" };
    let _ = writeln!(
        s,
        "| endpoint | req/s | p50 ms | p99 ms | requests | errors | `/healthz` req/s | `/healthz` p50 / p99 ms | endpoint / healthz | CPU cores: server / bench{pg} | server RSS peak |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &r.rows {
        let (a, h) = (&row.api, &row.healthz);
        let errs = if a.errors > 0 { format!("**{}**", group(a.errors)) } else { "0".to_owned() };
        let hz = if h.errors > 0 { format!(" (**{} errors**)", group(h.errors)) } else { String::new() };
        let _ = writeln!(
            s,
            "| `{}` | **{}** | {} | {} | {} | {errs} | {}{hz} | {} / {} | {} | {} | {} |",
            row.endpoint.name(),
            rate(a.rps()),
            ms(a.stats.p50),
            ms(a.stats.p99),
            group(a.ok),
            rate(h.rps()),
            ms(h.stats.p50),
            ms(h.stats.p99),
            ratio(a.rps() / h.rps().max(1e-9)),
            cores(&a.cpu),
            a.rss_peak_kib.map_or_else(|| "unknown".to_owned(), crate::mib),
        );
    }
    let long: Vec<String> = r
        .rows
        .iter()
        .flat_map(|row| [(&row.healthz, "`/healthz` before "), (&row.api, "")].map(|(x, pre)| (x, pre, row.endpoint)))
        .filter(|(x, _, _)| x.warmup > r.warmup + Duration::from_millis(500))
        .map(|(x, pre, ep)| format!("{pre}`{}` {:.1} s", ep.name(), x.warmup.as_secs_f64()))
        .collect();
    if !long.is_empty() {
        let _ = writeln!(s, "\nWarm-ups that waited for every connection's first answer: {}.", long.join(", "));
    }
    for row in &r.rows {
        match row.api.ran_out {
            Some(d) if d.is_zero() => {
                let _ = writeln!(
                    s,
                    "\n`{}`: the {} keys ran out during the warm-up: no figures.",
                    row.endpoint.name(),
                    group(r.register_keys)
                );
            }
            Some(d) => {
                let _ = writeln!(
                    s,
                    "\n`{}`: the {} keys ran out {:.1} s into the measured window; req/s is over the {:.1} s up to the last answer.",
                    row.endpoint.name(),
                    group(r.register_keys),
                    d.as_secs_f64(),
                    row.api.measured.as_secs_f64()
                );
            }
            None => {}
        }
    }

    let a = &r.argon2;
    let _ = writeln!(
        s,
        "\nRaw argon2id (`{}`): `tollgate_core::password::verify` on {} threads for {:.1} s, no server running: \
         **{} verifications/s** ({:.1} ms each per thread).",
        a.params,
        a.threads,
        a.wall.as_secs_f64(),
        rate(a.per_sec()),
        1e3 * a.threads as f64 / a.per_sec().max(1e-9)
    );
    for row in r.rows.iter().filter(|x| matches!(x.endpoint, Endpoint::Login | Endpoint::Register)) {
        let what = if row.endpoint == Endpoint::Login { "one argon2id verify" } else { "one argon2id hash" };
        let _ = writeln!(
            s,
            "- `{}` ({what} per request): **{} req/s = {:.0} %** of that ceiling.",
            row.endpoint.name(),
            rate(row.api.rps()),
            100.0 * row.api.rps() / a.per_sec().max(1e-9)
        );
    }
    let rss = r.server_peak_rss_kib.map_or_else(|| "unknown".to_owned(), crate::mib);
    let down = r.shutdown.map_or_else(|| "?".to_owned(), ms);
    let load = r.load_before.as_deref().map_or_else(String::new, |l| format!("; load average before the run: {l}"));
    let analyzed = if r.analyzed { " (then `ANALYZE`, --analyze)" } else { "" };
    let _ = writeln!(
        s,
        "\nApp `{}`; {} register keys, plus one per login account and one for the Authon sessions, made by `tollgate license generate` in {:.1} s{analyzed}; server healthy {} ms \
         after spawning, peak RSS {rss}, exit after SIGTERM {down} ms{load}.",
        r.app_id,
        group(r.register_keys),
        r.keys_wall.as_secs_f64(),
        ms(r.startup)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(keys: &[&str]) -> Target {
        Target {
            base: "http://127.0.0.1:1".into(),
            nodes: vec!["http://127.0.0.1:1".into()],
            app_id: "app_x".into(),
            owner_id: "seller_x".into(),
            app_name: "App".into(),
            secret: "as_secret".into(),
            version: "1.0.0".into(),
            login_users: vec!["bench-login-t-0".into(), "bench-login-t-1".into()],
            next_login: AtomicUsize::new(0),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            next_key: AtomicUsize::new(0),
            tag: "t".into(),
            authon_key: "K-AUTHON".into(),
        }
    }

    #[test]
    fn stamps_are_fresh_and_well_formed() {
        let (a, b) = (Stamp::fresh(), Stamp::fresh());
        assert_eq!(a.nonce.len(), 32);
        assert!(a.nonce.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.request_id, b.request_id);
        let parts: Vec<&str> = a.request_id.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('4'), "version 4: {}", a.request_id);
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "RFC 4122 variant: {}", a.request_id);
        let now = chrono::Utc::now().timestamp_millis();
        assert!((now - a.timestamp).abs() < 60_000, "timestamp is in ms: {}", a.timestamp);
        let mut m = Map::new();
        a.apply(&mut m);
        assert_eq!(m["nonce"], json!(a.nonce));
        assert!(m["timestamp"].is_i64());
    }

    #[test]
    fn uuid_sets_version_and_variant() {
        assert_eq!(uuid_v4(&[0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(uuid_v4(&[0; 16]), "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn bodies_carry_the_wire_fields() {
        let t = target(&["K-1", "K-2"]);
        let init = t.fields(Endpoint::Init, None).unwrap();
        assert_eq!(
            Value::Object(init),
            json!({"owner_id": "seller_x", "app_name": "App", "secret": "as_secret", "version": "1.0.0", "hash": ""})
        );
        let v = t.fields(Endpoint::Variables, Some("s1")).unwrap();
        assert_eq!(Value::Object(v), json!({"session_id": "s1", "var_key": VAR_KEY}));
        let l = t.fields(Endpoint::Login, Some("s1")).unwrap();
        assert_eq!(l["username"], "bench-login-t-0");
        let names: Vec<Value> =
            (0..3).map(|_| t.fields(Endpoint::Login, Some("s1")).unwrap()["username"].clone()).collect();
        assert_eq!(names, ["bench-login-t-1", "bench-login-t-0", "bench-login-t-1"], "the accounts in turn");
        assert_eq!(l["sid"], LOGIN_SID);
        assert_eq!(l["ip"], "");
        let r1 = t.fields(Endpoint::Register, Some("s1")).unwrap();
        let r2 = t.fields(Endpoint::Register, Some("s1")).unwrap();
        assert_eq!((r1["key"].as_str(), r2["key"].as_str()), (Some("K-1"), Some("K-2")));
        assert_ne!(r1["username"], r2["username"], "one username per key");
        assert!(t.fields(Endpoint::Register, Some("s1")).is_none(), "keys ran out");
        let c = t.fields(Endpoint::AuthonCheck, Some("tok")).unwrap();
        assert_eq!(
            Value::Object(c),
            json!({"type": "check", "appId": "app_x", "apiKey": "as_secret", "sessionToken": "tok"})
        );
        let v = t.fields(Endpoint::AuthonVar, Some("tok")).unwrap();
        assert_eq!((v["type"].as_str(), v["key"].as_str()), (Some("var"), Some(VAR_KEY)));
    }

    #[test]
    fn canonical_body_is_sorted_and_compact() {
        let t = target(&[]);
        let mut body = t.fields(Endpoint::ValidateSession, Some("abc")).unwrap();
        Stamp { request_id: "r".into(), nonce: "n".into(), timestamp: 5 }.apply(&mut body);
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"nonce":"n","request_id":"r","session_id":"abc","timestamp":5}"#
        );
    }

    #[test]
    fn classifies_answers() {
        assert_eq!(classify(200, br#"{"success":true,"message":"ok"}"#, true), None);
        assert_eq!(classify(200, br#"{"message": "ok", "success": true}"#, true), None, "spaced JSON");
        assert_eq!(classify(200, b"ok", false), None, "healthz needs no JSON");
        assert_eq!(
            classify(429, br#"{"success":false,"code":"RATE_LIMITED","message":"x"}"#, true).as_deref(),
            Some("429 RATE_LIMITED")
        );
        assert_eq!(classify(502, b"Bad Gateway", true).as_deref(), Some("502"));
        assert_eq!(classify(503, b"", false).as_deref(), Some("503"));
        assert_eq!(
            classify(200, br#"{"success":false,"code":"INVALID_SESSION"}"#, true).as_deref(),
            Some("200 without success=true INVALID_SESSION")
        );
        assert!(classify(200, b"not json", true).is_some());
    }

    #[test]
    fn parses_proc_stat() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        let s = "4242 (tollgate (x) y) S 1 2 3 4 5 6 7 8 9 10 123 45 0 0 20 0 8 0";
        assert_eq!(parse_stat(s), Some(("tollgate (x) y", 168)));
        assert_eq!(parse_stat("1 (postgres) S 1"), None);
    }

    #[test]
    fn machine_busy_leaves_out_idle_and_iowait() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let text = "cpu  100 5 50 1000 40 3 2 1 7 0\ncpu0 50 2 25 500 20 1 1 0 3 0\n";
        assert_eq!(parse_proc_stat_busy(text), Some(100 + 5 + 50 + 3 + 2 + 1));
        assert_eq!(parse_proc_stat_busy("intr 1 2 3"), None);
    }

    #[test]
    fn counts_only_postgres_processes_that_serve_the_bench() {
        let db = "tg_bench_0123456789ab";
        assert!(serves_db("postgres: 15/main: postgres tg_bench_0123456789ab 127.0.0.1(51234) idle", db));
        assert!(serves_db("postgres: 15/main: walwriter", db));
        assert!(serves_db("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", db));
        assert!(!serves_db("postgres: 15/main: postgres tg_test_42 127.0.0.1(51236) INSERT", db));
        assert!(!serves_db("postgres: 15/main: postgres tg_bench_0123456789abc [local] idle", db));
    }

    #[test]
    fn merges_windows_and_running_out() {
        let t0 = Instant::now();
        let win = Window { measure: t0, end: t0 + Duration::from_secs(10) };
        let w = |n: u32, last: u64| WorkerOut {
            latencies: vec![Duration::from_millis(5); n as usize],
            last_ok: Some(t0 + Duration::from_secs(last)),
            errors: 1,
            kinds: BTreeMap::from([("429 RATE_LIMITED".to_owned(), 1)]),
            samples: vec!["429 {}".into()],
            ran_out_at: None,
        };
        let s = merge("x".into(), vec![w(30, 9), w(20, 10)], win, Duration::ZERO, None);
        assert_eq!((s.ok, s.errors, s.measured), (50, 2, Duration::from_secs(10)));
        assert_eq!(s.error_kinds["429 RATE_LIMITED"], 2);
        assert!((s.rps() - 5.0).abs() < 1e-9);

        let mut a = w(30, 4);
        a.ran_out_at = Some(t0 + Duration::from_secs(3));
        let s = merge("x".into(), vec![a, w(10, 5)], win, Duration::ZERO, None);
        assert_eq!(s.ran_out, Some(Duration::from_secs(3)));
        assert_eq!(s.measured, Duration::from_secs(5), "measured up to the last answer");
        assert!((s.rps() - 8.0).abs() < 1e-9);

        let early = WorkerOut { ran_out_at: Some(t0 - Duration::from_secs(1)), ..WorkerOut::default() };
        let s = merge("x".into(), vec![early], win, Duration::ZERO, None);
        assert_eq!((s.ran_out, s.rps()), (Some(Duration::ZERO), 0.0), "ran out in the warm-up");
    }

    #[test]
    fn the_window_opens_when_told() {
        let c = Clock::new(Duration::from_secs(10));
        assert!(c.window().is_none(), "warming up");
        let at = c.t0 + Duration::from_secs(3);
        let w = c.start_measuring(at);
        assert_eq!((w.measure, w.end), (at, at + Duration::from_secs(10)));
        let seen = c.window().unwrap();
        assert_eq!((seen.measure, seen.end), (w.measure, w.end));
    }

    #[test]
    fn formats_ratios() {
        assert_eq!(ratio(0.012345), "0.0123");
        assert_eq!(ratio(0.4567), "0.457");
        assert_eq!(ratio(1.234), "1.23");
        assert_eq!(ratio(0.0), "0");
        assert_eq!(rate(12.34), "12.3");
        assert_eq!(rate(12_345.6), "12,346");
    }

    #[test]
    fn argon2_runs_at_tollgates_parameters() {
        let r = argon2_rate(Duration::from_millis(1), 2).unwrap();
        assert_eq!(r.threads, 2);
        assert_eq!(r.params, "$argon2id$v=19$m=19456,t=2,p=1");
        assert!(r.verifications >= r.threads as u64, "every thread verified at least once");
    }
}
