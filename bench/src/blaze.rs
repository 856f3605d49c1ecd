//! `blaze`: the Blazeauth WebSocket endpoint of a fresh `tollgate serve`.
//!
//! 1. `--blaze-idle N` (10,000) connections upgraded at `/ws` and initialized, then left idle:
//!    the server's RSS before and with them, and per connection.
//! 2. Get variable (packet 11) on `--concurrency` (64) of those connections, each sending its next
//!    packet as soon as the previous is answered, for `--duration` after `--warmup-secs`, with
//!    `/healthz` requested beside it by 8 HTTP workers over the same window: packets/s, req/s and
//!    their latencies.
//! 3. File transfer (packet 7) of a `--blaze-file-mib` (64) MiB file from its first byte on an
//!    authorized connection, `--blaze-transfers` (3) times in a row: MiB/s of each, the bytes
//!    checked against the final packet's `range_checksum`.
//!
//! Every answer is checked for its status; a failed one counts as an error (the report says so
//! and the run exits non-zero). The file descriptor limit of the bench (and so of the server it
//! starts) is raised to the hard limit first.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite::Message;

use crate::generate::{self, BenchState};
use crate::proc::{self, Tollgate};
use crate::server::{self, Server};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const VAR_KEY: &str = "bench_ws_var";
const VAR_VALUE: &str = "a variable read over the WebSocket";
const FILE_NAME: &str = "bench-transfer.bin";
const HEALTHZ_WORKERS: usize = 8;

pub struct BlazeOptions {
    pub port: Option<u16>,
    pub idle: usize,
    pub concurrency: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub file_mib: usize,
    pub transfers: usize,
    pub startup_timeout: Duration,
}

pub struct Latency {
    pub n: u64,
    pub p50: Duration,
    pub p99: Duration,
}

fn latency(mut v: Vec<Duration>) -> Latency {
    v.sort();
    let at = |q: f64| v.get(((v.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or_default();
    Latency { n: v.len() as u64, p50: at(0.5), p99: at(0.99) }
}

pub struct BlazeResult {
    pub fd_limit: u64,
    pub idle: usize,
    pub connect_wall: Duration,
    pub rss_before_kib: u64,
    pub rss_idle_kib: u64,
    pub packets: Latency,
    pub packets_per_sec: f64,
    pub healthz: Latency,
    pub healthz_per_sec: f64,
    pub concurrency: usize,
    pub window: Duration,
    pub file_bytes: u64,
    /// MiB/s of each transfer.
    pub transfers: Vec<f64>,
    pub hwm_kib: u64,
    pub errors: Vec<String>,
}

/// Raise this process's open-file limit to its hard limit; the new soft limit.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        lim.rlim_cur = lim.rlim_max;
        let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}

async fn connect(ws_url: &str) -> Result<Ws> {
    let (ws, _) = tokio_tungstenite::connect_async(ws_url).await.context("WebSocket upgrade")?;
    Ok(ws)
}

/// Send a packet and wait for the text packet answering it (binary frames are skipped).
async fn call(ws: &mut Ws, packet: Value) -> Result<Value> {
    let id = packet["id"].clone();
    ws.send(Message::Text(packet.to_string().into())).await.context("send")?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).context("an answer that is not JSON")?;
                if v["id"] == id {
                    return Ok(v);
                }
            }
            Some(Ok(Message::Close(c))) => bail!("closed by the server: {c:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => bail!("socket error: {e}"),
            None => bail!("socket ended"),
        }
    }
}

fn ok(v: &Value, what: &str) -> Result<()> {
    if v["status"] != json!(1) {
        bail!("{what}: status {} ({})", v["status"], v.get("status").map_or("", |_| "see the server log"));
    }
    Ok(())
}

async fn initialized(ws_url: &str, ws_key: &str, client_id: &str) -> Result<Ws> {
    let mut ws = connect(ws_url).await?;
    let a = call(&mut ws, json!({"type": 0, "id": 0, "websocket_api_key": ws_key, "client_id": client_id})).await?;
    ok(&a, "initialize")?;
    Ok(ws)
}

/// Admin setup: the app's WebSocket key, the variable, a lifetime license and the file.
async fn setup(http: &reqwest::Client, base: &str, state: &BenchState, file: &[u8]) -> Result<(String, String)> {
    let token = server::login(http, base, state).await?;
    let app_url = format!("{base}/v1/admin/apps/{}", state.app_id);
    let r = http.patch(&app_url).bearer_auth(&token).json(&json!({ "hwidLock": false })).send().await?;
    let app: Value = r.json().await.context("PATCH app: not JSON")?;
    let ws_key = app.pointer("/data/wsKey").and_then(Value::as_str).context("no data.wsKey in the app")?.to_owned();
    let r = http
        .post(format!("{app_url}/variables"))
        .bearer_auth(&token)
        .json(&json!({ "key": VAR_KEY, "value": VAR_VALUE }))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("POST variables: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
    let r = http
        .post(format!("{app_url}/licenses"))
        .bearer_auth(&token)
        .json(&json!({ "count": 1, "durationType": "lifetime" }))
        .send()
        .await?;
    let body: Value = r.json().await.context("POST licenses: not JSON")?;
    let key = body
        .pointer("/data/keys/0")
        .or_else(|| body.pointer("/data/0"))
        .and_then(|k| k.as_str().map(str::to_owned).or_else(|| k["key"].as_str().map(str::to_owned)))
        .with_context(|| format!("no key in the license answer: {body}"))?;
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(file.to_vec()).file_name(FILE_NAME))
        .text("name", FILE_NAME);
    let r = http.post(format!("{app_url}/files")).bearer_auth(&token).multipart(form).send().await?;
    if !r.status().is_success() {
        bail!("POST files: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
    Ok((ws_key, key))
}

/// One transfer of the whole file: MiB/s, the bytes checked against `range_checksum`.
async fn transfer(ws: &mut Ws, id: u64, size: u64, sha: &str) -> Result<f64> {
    let t = Instant::now();
    let first = call(ws, json!({"type": 7, "id": id, "filename": FILE_NAME, "resume_at": 0})).await?;
    ok(&first, "transfer file")?;
    let mut hash = Sha256::new();
    let mut got = 0u64;
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => {
                let n = u32::from_be_bytes(b.get(..4).context("short frame")?.try_into()?) as usize;
                let data = b.get(4 + n..).context("short frame")?;
                hash.update(data);
                got += data.len() as u64;
            }
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str())?;
                if v["id"] != json!(id) {
                    continue;
                }
                ok(&v, "transfer end")?;
                if got != size
                    || v["range_checksum"] != json!(hex::encode(hash.finalize()))
                    || v["file_checksum"] != sha
                {
                    bail!("the transfer's bytes do not match: {got} of {size} bytes, {v}");
                }
                break;
            }
            other => bail!("transfer: {other:?}"),
        }
    }
    Ok(size as f64 / (1024.0 * 1024.0) / t.elapsed().as_secs_f64())
}

pub fn run(tg: &Tollgate, opts: &BlazeOptions) -> Result<BlazeResult> {
    let fd_limit = raise_fd_limit();
    if (fd_limit as usize) < opts.idle + 256 {
        eprintln!("tollgate-bench: warning: open-file limit {fd_limit} is below {} connections", opts.idle);
    }
    generate::ensure_fresh(&tg.data_dir)?;
    let state = generate::prepare(tg)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    let serve = ["--client-rate-limit", "0", "--ws-rate-limit", "1000000"];
    let mut server = Server::start(tg, opts.port, &serve)?;
    let result = rt.block_on(run_on(&mut server, &state, opts, fd_limit));
    let _ = server.stop();
    result
}

async fn run_on(server: &mut Server, state: &BenchState, opts: &BlazeOptions, fd_limit: u64) -> Result<BlazeResult> {
    let http = reqwest::Client::builder().build()?;
    server.wait_healthy(&http, opts.startup_timeout).await?;
    let mut file = vec![0u8; opts.file_mib * 1024 * 1024];
    rand::fill(&mut file[..]);
    let sha = hex::encode(Sha256::digest(&file));
    let (ws_key, license) = setup(&http, &server.base, state, &file).await?;
    let ws_url = format!("{}/ws", server.base.replacen("http://", "ws://", 1));
    let mut errors = Vec::new();

    // 1. idle connections
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before_kib = proc::vm_rss_kib(server.pid).unwrap_or(0);
    let t = Instant::now();
    let mut conns: Vec<Ws> = Vec::with_capacity(opts.idle);
    let mut next = 0usize;
    while next < opts.idle {
        let batch: Vec<_> = (next..(next + 64).min(opts.idle))
            .map(|i| {
                let (url, key) = (ws_url.clone(), ws_key.clone());
                tokio::spawn(async move { initialized(&url, &key, &format!("bench-idle-{i:05}")).await })
            })
            .collect();
        next += batch.len();
        for b in batch {
            match b.await? {
                Ok(ws) => conns.push(ws),
                Err(e) if errors.len() < 10 => errors.push(format!("idle connection: {e:#}")),
                Err(_) => {}
            }
        }
    }
    let connect_wall = t.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle_kib = proc::vm_rss_kib(server.pid).unwrap_or(0);
    eprintln!("tollgate-bench: {} idle connections open in {:.1} s", conns.len(), connect_wall.as_secs_f64());

    // 2. get variable on `concurrency` of them, /healthz beside
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = conns
        .drain(..opts.concurrency.min(conns.len()))
        .enumerate()
        .map(|(w, mut ws)| {
            let (stop, measuring) = (stop.clone(), measuring.clone());
            tokio::spawn(async move {
                let (mut lat, mut failed, mut id) = (Vec::new(), 0u64, (w as u64) << 40);
                while !stop.load(Ordering::Relaxed) {
                    id += 1;
                    let t = Instant::now();
                    let a = call(&mut ws, json!({"type": 11, "id": id, "name": VAR_KEY})).await;
                    let good = a.as_ref().is_ok_and(|a| a["status"] == json!(1) && a["content"] == json!(VAR_VALUE));
                    if measuring.load(Ordering::Relaxed) {
                        if good {
                            lat.push(t.elapsed());
                        } else {
                            failed += 1;
                        }
                    }
                    if a.is_err() {
                        break;
                    }
                }
                (lat, failed, ws)
            })
        })
        .collect();
    let healthz: Vec<_> = (0..HEALTHZ_WORKERS)
        .map(|_| {
            let (stop, measuring, http, url) =
                (stop.clone(), measuring.clone(), http.clone(), format!("{}/healthz", server.base));
            tokio::spawn(async move {
                let (mut lat, mut failed) = (Vec::new(), 0u64);
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let good = match http.get(&url).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if measuring.load(Ordering::Relaxed) {
                        if good {
                            lat.push(t.elapsed());
                        } else {
                            failed += 1;
                        }
                    }
                }
                (lat, failed)
            })
        })
        .collect();
    tokio::time::sleep(opts.warmup).await;
    measuring.store(true, Ordering::Relaxed);
    let t = Instant::now();
    tokio::time::sleep(opts.duration).await;
    measuring.store(false, Ordering::Relaxed);
    let window = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (mut packet_lat, mut health_lat) = (Vec::new(), Vec::new());
    for w in workers {
        let (lat, failed, ws) = w.await?;
        packet_lat.extend(lat);
        if failed > 0 {
            errors.push(format!("get variable: {failed} answers were not status 1 with the content"));
        }
        conns.push(ws);
    }
    for h in healthz {
        let (lat, failed) = h.await?;
        health_lat.extend(lat);
        if failed > 0 {
            errors.push(format!("/healthz: {failed} requests failed"));
        }
    }
    let packets = latency(packet_lat);
    let healthz = latency(health_lat);
    let packets_per_sec = packets.n as f64 / window.as_secs_f64();
    let healthz_per_sec = healthz.n as f64 / window.as_secs_f64();

    // 3. file transfer, the idle connections still open
    let mut transfers = Vec::new();
    let mut ws = initialized(&ws_url, &ws_key, "bench-transfer").await?;
    let a = call(&mut ws, json!({"type": 2, "id": 1, "license": license})).await?;
    ok(&a, "authorize by license")?;
    for i in 0..opts.transfers {
        match transfer(&mut ws, 100 + i as u64, file.len() as u64, &sha).await {
            Ok(r) => transfers.push(r),
            Err(e) => errors.push(format!("transfer: {e:#}")),
        }
    }
    let hwm_kib = proc::vm_hwm_kib(server.pid).unwrap_or(0);
    let idle = conns.len();
    drop(conns);
    Ok(BlazeResult {
        fd_limit,
        idle,
        connect_wall,
        rss_before_kib,
        rss_idle_kib,
        packets,
        packets_per_sec,
        healthz,
        healthz_per_sec,
        concurrency: opts.concurrency,
        window,
        file_bytes: file.len() as u64,
        transfers,
        hwm_kib,
        errors,
    })
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

pub fn render(s: &mut String, r: &BlazeResult) {
    let _ = writeln!(s, "\n### Blazeauth WebSocket\n");
    if !r.errors.is_empty() {
        let _ = writeln!(s, "**ERRORS**: {}\n", r.errors.join("; "));
    }
    let per = (r.rss_idle_kib.saturating_sub(r.rss_before_kib)) as f64 * 1024.0 / r.idle.max(1) as f64;
    let _ = writeln!(s, "| figure | value |\n|---|---|");
    let _ = writeln!(s, "| open-file limit (bench and server) | {} |", r.fd_limit);
    let _ = writeln!(
        s,
        "| idle initialized connections | {} (opened in {:.1} s, 64 at a time) |",
        r.idle,
        r.connect_wall.as_secs_f64()
    );
    let _ = writeln!(s, "| server RSS before / with them | {} / **{}** |", mib(r.rss_before_kib), mib(r.rss_idle_kib));
    let _ = writeln!(s, "| server RSS per idle connection | {:.1} KiB |", per / 1024.0);
    let _ = writeln!(
        s,
        "| get variable, {} connections, {:.1} s | **{:.0} packets/s** (p50 {} ms, p99 {} ms, n {}) |",
        r.concurrency,
        r.window.as_secs_f64(),
        r.packets_per_sec,
        ms(r.packets.p50),
        ms(r.packets.p99),
        r.packets.n
    );
    let _ = writeln!(
        s,
        "| `/healthz` beside it, {HEALTHZ_WORKERS} workers | **{:.0} req/s** (p50 {} ms, p99 {} ms) |",
        r.healthz_per_sec,
        ms(r.healthz.p50),
        ms(r.healthz.p99)
    );
    let runs = r.transfers.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(", ");
    let _ = writeln!(
        s,
        "| file transfer, {} MiB from byte 0, one connection | **{runs} MiB/s** |",
        r.file_bytes / (1024 * 1024)
    );
    let _ = writeln!(s, "| server peak RSS (`VmHWM`) | {} |", mib(r.hwm_kib));
}
