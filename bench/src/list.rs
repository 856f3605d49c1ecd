//! `list-licenses`: the real server on the generated data dir, and the latency of the admin
//! license listing at page 1, at a deep page, and (when the API offers one) by cursor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::generate::BenchState;
use crate::proc::{self, Tollgate};
use crate::server::{login, Server};

/// Knobs of the listing benchmark.
pub struct ListOptions {
    pub port: Option<u16>,
    pub limit: u64,
    pub deep_page: u64,
    pub requests: usize,
    pub warmup: usize,
    pub concurrency: usize,
    pub cursor: bool,
    pub cursor_param: String,
    pub startup_timeout: Duration,
}

/// Latency figures of one series of identical requests.
pub struct Series {
    pub label: String,
    pub concurrency: usize,
    pub stats: Stats,
    /// Requests per second over the whole series (wall clock).
    pub throughput: f64,
}

pub struct Stats {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
    pub min: Duration,
    pub max: Duration,
}

impl Stats {
    pub fn of(mut v: Vec<Duration>) -> Stats {
        v.sort_unstable();
        let n = v.len();
        // Nearest-rank percentiles.
        let pct = |p: f64| -> Duration {
            if n == 0 {
                return Duration::ZERO;
            }
            let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
            v[rank - 1]
        };
        let total: Duration = v.iter().sum();
        Stats {
            n,
            p50: pct(0.50),
            p99: pct(0.99),
            mean: if n == 0 { Duration::ZERO } else { total / u32::try_from(n).unwrap_or(u32::MAX) },
            min: v.first().copied().unwrap_or_default(),
            max: v.last().copied().unwrap_or_default(),
        }
    }
}

/// A walk through the listing by cursor, from page 1 to the deep page.
pub struct CursorWalk {
    pub steps: usize,
    pub total: Duration,
    pub step_stats: Stats,
}

pub struct ListResult {
    pub total_licenses: Option<u64>,
    pub deep_page: u64,
    pub deep_offset: u64,
    pub series: Vec<Series>,
    pub cursor_walk: Option<CursorWalk>,
    /// Why the cursor part did not run, if it did not.
    pub cursor_note: Option<String>,
    pub startup: Duration,
    pub server_peak_rss_kib: Option<u64>,
    pub shutdown: Option<Duration>,
}

pub fn run(tg: &Tollgate, state: &BenchState, opts: &ListOptions) -> Result<ListResult> {
    let mut server = Server::start(tg, opts.port, &[])?;
    let pid = server.pid;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let base = server.base.clone();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(64)
        .build()
        .context("building the HTTP client")?;

    let measured = rt.block_on(async {
        let startup = server.wait_healthy(&client, opts.startup_timeout).await?;
        measure(&client, &base, state, opts, startup).await
    });
    let mut result = match measured {
        Ok(r) => r,
        Err(e) => {
            let tail = server.log_tail();
            bail!("{e:#}\n--- server log (last lines) ---\n{tail}");
        }
    };
    result.server_peak_rss_kib = proc::vm_hwm_kib(pid);
    result.shutdown = Some(server.stop()?);
    Ok(result)
}

/// The list of licenses in a listing response (`data` itself, or `data.licenses|items`).
fn items(body: &Value) -> Option<&Vec<Value>> {
    let d = body.get("data")?;
    d.as_array()
        .or_else(|| d.get("licenses").and_then(Value::as_array))
        .or_else(|| d.get("items").and_then(Value::as_array))
}

/// One request, checked: 200 and a list of licenses.
async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> Result<Value> {
    let r = client.get(url).bearer_auth(token).send().await.with_context(|| format!("GET {url}"))?;
    let status = r.status();
    let body: Value = r.json().await.with_context(|| format!("GET {url}: body is not JSON"))?;
    if !status.is_success() {
        bail!("GET {url}: {status} {body}");
    }
    if items(&body).is_none() {
        bail!("GET {url}: no list of licenses in the response: {body}");
    }
    Ok(body)
}

/// One timed request: from sending to the last byte of the body.
async fn timed(client: &reqwest::Client, url: &str, token: &str) -> Result<Duration> {
    let t = Instant::now();
    let r = client.get(url).bearer_auth(token).send().await.with_context(|| format!("GET {url}"))?;
    let status = r.status();
    let body = r.bytes().await.with_context(|| format!("GET {url}: reading the body"))?;
    let d = t.elapsed();
    if !status.is_success() {
        bail!("GET {url}: {status} {}", String::from_utf8_lossy(&body));
    }
    Ok(d)
}

/// `warmup` unmeasured requests, then `n` measured ones spread over `concurrency` workers.
async fn series(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    label: &str,
    n: usize,
    warmup: usize,
    concurrency: usize,
) -> Result<Series> {
    for _ in 0..warmup {
        timed(client, url, token).await?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, token, next) = (client.clone(), url.to_owned(), token.to_owned(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut v = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                v.push(timed(&client, &url, &token).await?);
            }
            Ok::<_, anyhow::Error>(v)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for task in tasks {
        all.extend(task.await.context("a request task panicked")??);
    }
    let wall = t.elapsed();
    Ok(Series {
        label: label.to_owned(),
        concurrency: concurrency.max(1),
        stats: Stats::of(all),
        throughput: n as f64 / wall.as_secs_f64(),
    })
}

async fn measure(
    client: &reqwest::Client,
    base: &str,
    state: &BenchState,
    opts: &ListOptions,
    startup: Duration,
) -> Result<ListResult> {
    let list = format!("{base}/v1/admin/apps/{}/licenses", state.app_id);
    let limit = opts.limit;
    let page_url = |page: u64| format!("{list}?page={page}&limit={limit}");

    // A fresh token per phase: access tokens are short-lived.
    let token = login(client, base, state).await?;
    let first = get_json(client, &page_url(1), &token).await?;
    let total = first.pointer("/pagination/total").and_then(Value::as_u64);
    let mut deep_page = opts.deep_page;
    if let Some(total) = total {
        let last = total.div_ceil(limit).max(1);
        if deep_page > last {
            eprintln!("tollgate-bench: warning: only {total} licenses; the deep page is the last one, {last}, not {deep_page}");
            deep_page = last;
        }
    }
    let deep = get_json(client, &page_url(deep_page), &token).await?;
    let deep_items = items(&deep).map_or(0, Vec::len);
    if deep_items == 0 {
        bail!("page {deep_page} is empty: {deep}");
    }

    let mut out = Vec::new();
    let conc: Vec<usize> = if opts.concurrency > 1 { vec![1, opts.concurrency] } else { vec![1] };
    for &c in &conc {
        for (label, page) in [("page 1", 1), ("deep page", deep_page)] {
            let token = login(client, base, state).await?;
            let label = format!("{label} (`page={page}&limit={limit}`)");
            eprintln!("tollgate-bench: {label}, concurrency {c}: {} + {} requests", opts.warmup, opts.requests);
            out.push(series(client, &page_url(page), &token, &label, opts.requests, opts.warmup, c).await?);
        }
    }

    let (mut cursor_walk, mut cursor_note) = (None, None);
    let cursor = first.pointer("/pagination/nextCursor").and_then(Value::as_str).map(str::to_owned);
    match cursor {
        _ if !opts.cursor => cursor_note = Some("skipped (--no-cursor)".to_owned()),
        None => cursor_note = Some("the listing carries no `pagination.nextCursor`: cursor walk skipped".to_owned()),
        Some(c) => {
            let (walk, deep_cursor) = walk_cursor(client, base, state, &list, opts, c, deep_page).await?;
            if deep_cursor.is_none() {
                cursor_note = Some(format!("the cursor ran out after {} pages", walk.steps + 1));
            }
            if let Some(dc) = deep_cursor {
                let token = login(client, base, state).await?;
                let url = format!("{list}?{}={}&limit={limit}", opts.cursor_param, urlencode(&dc));
                // The cursor must lead where the offset does, or the comparison means nothing.
                let ids = |b: &Value| -> Vec<Value> {
                    items(b).map_or_else(Vec::new, |v| v.iter().map(|l| l["id"].clone()).collect())
                };
                let by_cursor = get_json(client, &url, &token).await?;
                if ids(&by_cursor) != ids(&deep) {
                    bail!("the deep page by cursor is not page {deep_page} by offset:\n{by_cursor}\nversus\n{deep}");
                }
                cursor_note = Some(format!(
                    "the deep page by cursor lists the same {} licenses as `page={deep_page}`",
                    ids(&deep).len()
                ));
                for &c in &conc {
                    let label = format!("deep page by cursor (page {deep_page})");
                    eprintln!("tollgate-bench: {label}, concurrency {c}");
                    out.push(series(client, &url, &token, &label, opts.requests, opts.warmup, c).await?);
                }
            }
            cursor_walk = Some(walk);
        }
    }
    Ok(ListResult {
        total_licenses: total,
        deep_page,
        deep_offset: (deep_page - 1) * limit,
        series: out,
        cursor_walk,
        cursor_note,
        startup,
        server_peak_rss_kib: None,
        shutdown: None,
    })
}

/// Follow `nextCursor` from page 1 until the page before `deep_page`; return the walk and
/// the cursor that leads to `deep_page`.
async fn walk_cursor(
    client: &reqwest::Client,
    base: &str,
    state: &BenchState,
    list: &str,
    opts: &ListOptions,
    first: String,
    deep_page: u64,
) -> Result<(CursorWalk, Option<String>)> {
    eprintln!("tollgate-bench: walking by cursor to page {deep_page}");
    let mut token = login(client, base, state).await?;
    let mut token_at = Instant::now();
    let mut cursor = first;
    let mut lat = Vec::new();
    let t = Instant::now();
    // The cursor we hold leads to page `page`.
    let mut page = 2u64;
    while page < deep_page {
        if token_at.elapsed() > Duration::from_secs(5 * 60) {
            token = login(client, base, state).await?;
            token_at = Instant::now();
        }
        let url = format!("{list}?{}={}&limit={}", opts.cursor_param, urlencode(&cursor), opts.limit);
        let s = Instant::now();
        let body = get_json(client, &url, &token).await?;
        lat.push(s.elapsed());
        match body.pointer("/pagination/nextCursor").and_then(Value::as_str) {
            Some(c) => cursor = c.to_owned(),
            None => {
                let steps = lat.len();
                return Ok((CursorWalk { steps, total: t.elapsed(), step_stats: Stats::of(lat) }, None));
            }
        }
        page += 1;
    }
    let steps = lat.len();
    Ok((CursorWalk { steps, total: t.elapsed(), step_stats: Stats::of(lat) }, Some(cursor)))
}

/// Percent-encode a query value (cursors are usually base64url, but be safe).
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Stats::of(v);
        assert_eq!(s.p50, Duration::from_millis(50));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
        assert_eq!(s.mean, Duration::from_micros(50_500));
        assert_eq!(Stats::of(vec![]).n, 0);
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(urlencode("abc-_.~"), "abc-_.~");
        assert_eq!(urlencode("a+b/c="), "a%2Bb%2Fc%3D");
    }
}
