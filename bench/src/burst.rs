//! `login-burst`: bursts of concurrent seller logins for emails that do not exist, against a
//! fresh `tollgate serve`, with the server's resident memory before, after each burst and after
//! an idle pause. Every such login costs one argon2id check (against a dummy hash, so that timing
//! does not tell whether the email exists): this is the pre-authentication memory a stranger can
//! make the server spend. Each login comes "from" its own address (the server trusts the
//! loopback proxy and every request carries its own `X-Forwarded-For` in 198.18.0.0/15, the
//! benchmarking range), so the per-address throttle does not stand in the way and every request
//! costs its argon2id check.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

use crate::proc::{self, Tollgate};
use crate::server::Server;

pub struct BurstOptions {
    pub port: Option<u16>,
    pub bursts: usize,
    pub size: usize,
    pub idle: Duration,
    pub startup_timeout: Duration,
}

pub struct Burst {
    pub wall: Duration,
    /// Answers by status (`0`: the request itself failed).
    pub statuses: BTreeMap<u16, u64>,
    pub rss_after_kib: u64,
}

pub struct BurstResult {
    pub size: usize,
    pub rss_start_kib: u64,
    pub bursts: Vec<Burst>,
    pub idle: Duration,
    pub rss_idle_kib: u64,
    pub hwm_kib: u64,
}

pub fn run(tg: &Tollgate, opts: &BurstOptions) -> Result<BurstResult> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    let mut server = Server::start(tg, opts.port, &["--trusted-proxy", "127.0.0.1/32"])?;
    let result = rt.block_on(async {
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
        server.wait_healthy(&client, opts.startup_timeout).await?;
        let rss = |pid| proc::vm_rss_kib(pid).unwrap_or(0);
        let rss_start_kib = rss(server.pid);
        let url = format!("{}/v1/auth/login", server.base);
        let mut bursts = Vec::new();
        for b in 0..opts.bursts {
            let t = Instant::now();
            let tasks: Vec<_> = (0..opts.size)
                .map(|i| {
                    let (client, url) = (client.clone(), url.clone());
                    let body =
                        json!({ "email": format!("nobody-{b}-{i}@example.com"), "password": "not the password" });
                    let from = format!("198.18.{}.{}", b % 256, i % 256);
                    tokio::spawn(async move {
                        let req = client.post(&url).header("x-forwarded-for", from).json(&body);
                        match req.timeout(Duration::from_secs(120)).send().await {
                            Ok(r) => r.status().as_u16(),
                            Err(_) => 0,
                        }
                    })
                })
                .collect();
            let mut statuses = BTreeMap::new();
            for t in tasks {
                *statuses.entry(t.await.unwrap_or(0)).or_insert(0) += 1;
            }
            bursts.push(Burst { wall: t.elapsed(), statuses, rss_after_kib: rss(server.pid) });
        }
        tokio::time::sleep(opts.idle).await;
        let rss_idle_kib = rss(server.pid);
        let hwm_kib = proc::vm_hwm_kib(server.pid).unwrap_or(0);
        anyhow::Ok(BurstResult { size: opts.size, rss_start_kib, bursts, idle: opts.idle, rss_idle_kib, hwm_kib })
    });
    server.stop()?;
    result
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

pub fn render(s: &mut String, r: &BurstResult) {
    let _ = writeln!(s, "## Login bursts (unknown emails)\n");
    let _ = writeln!(
        s,
        "{} bursts of {} concurrent `POST /v1/auth/login` for emails that do not exist; server RSS \
         (`VmRSS`) at start {}.\n",
        r.bursts.len(),
        r.size,
        mib(r.rss_start_kib)
    );
    let _ = writeln!(s, "| burst | wall | answers | RSS after |");
    let _ = writeln!(s, "|---|---|---|---|");
    for (i, b) in r.bursts.iter().enumerate() {
        let answers = b
            .statuses
            .iter()
            .map(|(st, n)| format!("{n} × {}", if *st == 0 { "failed".to_owned() } else { st.to_string() }));
        let _ = writeln!(
            s,
            "| {} | {:.2} s | {} | {} |",
            i + 1,
            b.wall.as_secs_f64(),
            answers.collect::<Vec<_>>().join(", "),
            mib(b.rss_after_kib)
        );
    }
    let _ = writeln!(
        s,
        "\nAfter {} s idle: RSS {}; peak RSS of the server (`VmHWM`) {}.\n",
        r.idle.as_secs(),
        mib(r.rss_idle_kib),
        mib(r.hwm_kib)
    );
}
