//! `tollgate-bench`: measures the real `tollgate` release binary and prints the figures as
//! Markdown (recorded by hand in `docs/benchmarks.md`). It asserts nothing about speed.
//!
//! ```text
//! cargo build --release -p tollgate-server -p tollgate-bench
//! target/release/tollgate-bench all
//! target/release/tollgate-bench all --database-url postgres://postgres@127.0.0.1:5432/postgres
//! target/release/tollgate-bench client-api   # the Authly v2 client API only
//! target/release/tollgate-bench webhooks     # webhook delivery rate and added latency
//! target/release/tollgate-bench dashboard    # each dashboard page's latency, 1,000,000 licenses
//! ```

mod blaze;
mod burst;
mod client_api;
mod dashboard;
mod generate;
mod list;
mod pg;
mod proc;
mod server;
mod webhooks;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use client_api::{ClientApiOptions, ClientApiResult, Endpoint};
use generate::{BenchState, GenerateResult};
use list::{ListOptions, ListResult};
use proc::Tollgate;

#[derive(Parser)]
#[command(name = "tollgate-bench", about = "Benchmarks of the real tollgate release binary")]
struct Cli {
    /// The tollgate binary to measure [default: target/release/tollgate]
    #[arg(long, global = true)]
    tollgate: Option<PathBuf>,
    /// Data dir to use and keep (created if absent). `all` and `list-licenses` reuse the
    /// licenses a previous run left there; without it a temporary dir is used and removed.
    #[arg(long, global = true, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Run every `tollgate` command with `--database-url URL` (the data dir still holds the
    /// master key). For `postgres://...`, a fresh database `tg_bench_<random>` is created with
    /// `psql` on that server (the database in the URL is only connected to for CREATE/DROP
    /// DATABASE) and dropped at the end, unless --keep (then it is recorded in the data dir and
    /// reused by later runs with the same --keep DIR).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Keys to generate
    #[arg(long, global = true, default_value_t = 1_000_000)]
    count: u64,
    /// Measured requests per listing series
    #[arg(long, global = true, default_value_t = 200)]
    requests: usize,
    /// Unmeasured warm-up requests before each series
    #[arg(long, global = true, default_value_t = 20)]
    warmup: usize,
    /// Concurrent connections: of the listing's second round of series (1 = sequential only)
    /// [default: 8]; of client-api [default: 64]
    #[arg(long, global = true)]
    concurrency: Option<usize>,
    /// client-api: measured seconds per series
    #[arg(long, global = true, default_value = "10", value_parser = parse_secs, value_name = "SECS")]
    duration: Duration,
    /// client-api: unmeasured seconds before each series
    #[arg(long, global = true, default_value = "2", value_parser = parse_secs, value_name = "SECS")]
    warmup_secs: Duration,
    /// client-api: unused license keys made for `register` (one per request; it stops when they run out)
    #[arg(long, global = true, default_value_t = 50_000)]
    register_keys: u64,
    /// client-api: seconds of raw argon2id verifications
    #[arg(long, global = true, default_value = "5", value_parser = parse_secs, value_name = "SECS")]
    argon2_secs: Duration,
    /// client-api: threads verifying argon2id at once [default: one per core]
    #[arg(long, global = true)]
    argon2_threads: Option<usize>,
    /// client-api on PostgreSQL: `ANALYZE` the database after generating the keys (as autovacuum
    /// would, where it runs; without statistics the planner may pick poor plans)
    #[arg(long, global = true)]
    analyze: bool,
    /// client-api: `tollgate serve` processes over the one database (more than one needs
    /// PostgreSQL); each connection of a series goes to the next node in turn
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=8))]
    nodes: u64,
    /// client-api: the endpoints to measure, comma-separated [default: all]
    #[arg(long, global = true, value_delimiter = ',', value_enum)]
    endpoints: Vec<Endpoint>,
    /// Page size of the listing
    #[arg(long, global = true, default_value_t = 100)]
    limit: u64,
    /// The deep page (clamped to the last page)
    #[arg(long, global = true, default_value_t = 10_000)]
    deep_page: u64,
    /// Port of the server [default: a free one]
    #[arg(long, global = true)]
    port: Option<u16>,
    /// Query parameter that carries a cursor, when the listing offers `pagination.nextCursor`
    #[arg(long, global = true, default_value = "cursor")]
    cursor_param: String,
    /// Skip the cursor walk even if the listing offers a cursor
    #[arg(long, global = true)]
    no_cursor: bool,
    /// webhooks: events queued while the receiver holds every request
    #[arg(long, global = true, default_value_t = 1_000)]
    webhook_events: usize,
    /// webhooks: the server's `--webhook-concurrency`
    #[arg(long, global = true, default_value_t = 16)]
    webhook_concurrency: usize,
    /// login-burst: how many bursts
    #[arg(long, global = true, default_value_t = 5)]
    bursts: usize,
    /// login-burst: concurrent logins per burst
    #[arg(long, global = true, default_value_t = 100)]
    burst_size: usize,
    /// blaze: idle initialized WebSocket connections to hold open
    #[arg(long, global = true, default_value_t = 10_000)]
    blaze_idle: usize,
    /// blaze: size of the transferred file, MiB
    #[arg(long, global = true, default_value_t = 64)]
    blaze_file_mib: usize,
    /// blaze: transfers of the file in a row
    #[arg(long, global = true, default_value_t = 3)]
    blaze_transfers: usize,
    /// dashboard: measured requests per page (sequential)
    #[arg(long, global = true, default_value_t = 50)]
    page_requests: usize,
    /// dashboard: how many times the licenses list's next-page link is followed for the deep page
    #[arg(long, global = true, default_value_t = 50)]
    cursor_steps: usize,
    /// Also write the Markdown report to this file
    #[arg(long, global = true, value_name = "FILE")]
    report: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    /// `tollgate license generate --count N` in a fresh data dir: keys/s, peak RSS
    LicenseGenerate,
    /// Listing latency (page 1, deep page, cursor) on a data dir kept by an earlier run
    ListLicenses,
    /// The client API under load (Authly v2 init, validate-session, variables, login, register;
    /// Authon v1 check and var),
    /// each beside /healthz, and raw argon2id verifications/s
    ClientApi,
    /// Webhook delivery: events/s to a local receiver with N queued events, and the added
    /// latency of `init` and `register` with one webhook subscribed (beside the same without)
    Webhooks,
    /// License generation, listing, client API and webhook delivery throughput, on one data dir
    All,
    /// Bursts of concurrent seller logins for unknown emails: the server's RSS before, after each
    /// burst and after an idle pause (a fresh data dir; nothing else is measured)
    LoginBurst,
    /// The dashboard: sign in through the form, then the latency of each page of the bench app
    /// (licenses generated first when the data dir has none)
    Dashboard,
    /// The Blazeauth WebSocket: server RSS with N idle initialized connections, get-variable
    /// packets/s at 64 connections beside /healthz req/s, file transfer MiB/s (a fresh data dir)
    Blaze,
}

/// Seconds, fractions allowed, above zero.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let x: f64 = s.trim().parse().map_err(|_| format!("not a number of seconds: {s}"))?;
    if x.is_nan() || x <= 0.0 {
        return Err(format!("must be above zero: {s}"));
    }
    Duration::try_from_secs_f64(x).map_err(|e| e.to_string())
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn find_tollgate(given: Option<PathBuf>) -> Result<PathBuf> {
    let path = match given {
        Some(p) => p,
        None => {
            let default = PathBuf::from("target/release/tollgate");
            let beside_us = std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(Path::to_path_buf))
                .filter(|d| d.file_name().is_some_and(|n| n == "release"))
                .map(|d| d.join("tollgate"));
            match beside_us {
                Some(p) if !default.exists() && p.exists() => p,
                _ => default,
            }
        }
    };
    if !path.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p tollgate-server` or pass --tollgate PATH",
            path.display()
        );
    }
    if path.components().any(|c| c.as_os_str() == "debug") {
        eprintln!(
            "tollgate-bench: warning: {} looks like a debug build; the figures will not mean much",
            path.display()
        );
    }
    path.canonicalize().with_context(|| format!("resolving {}", path.display()))
}

fn run(cli: Cli) -> Result<()> {
    let bin = find_tollgate(cli.tollgate.clone())?;
    let (_temp, data_dir) = match &cli.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            (None, dir.canonicalize().with_context(|| format!("resolving {}", dir.display()))?)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("tollgate-bench-")
                .tempdir()
                .context("creating a temporary data dir")?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let mut notes = Vec::new();
    let pg_db = match cli.database_url.as_deref() {
        Some(url) if pg::is_postgres(url) => {
            if BenchState::path(&data_dir).exists() && !data_dir.join(pg::DB_FILE).exists() {
                bail!(
                    "{} holds bench data generated without --database-url (no {}); use another --keep DIR",
                    data_dir.display(),
                    pg::DB_FILE
                );
            }
            let db = pg::BenchDb::open(url, &data_dir, cli.keep.is_some())?;
            notes.push(if cli.keep.is_some() {
                format!("PostgreSQL database `{}` is kept (recorded in {})", db.name, pg::DB_FILE)
            } else {
                format!("PostgreSQL database `{}` was created for the run and has been dropped", db.name)
            });
            Some(db)
        }
        _ => None,
    };
    let database_url = match &pg_db {
        Some(db) => Some(db.url.clone()),
        None => cli.database_url.clone(),
    };
    let tg = Tollgate { bin, data_dir, database_url };

    if cli.command == Cmd::LoginBurst {
        let opts = burst::BurstOptions {
            port: cli.port,
            bursts: cli.bursts.max(1),
            size: cli.burst_size.max(1),
            idle: Duration::from_secs(5),
            startup_timeout: Duration::from_secs(120),
        };
        let r = burst::run(&tg, &opts)?;
        let mut report = String::from("# tollgate-bench\n\n");
        burst::render(&mut report, &r);
        for n in &notes {
            let _ = writeln!(report, "- {n}");
        }
        print!("{report}");
        if let Some(p) = &cli.report {
            std::fs::write(p, &report).with_context(|| format!("writing {}", p.display()))?;
        }
        return Ok(());
    }

    if cli.command == Cmd::Blaze {
        let opts = blaze::BlazeOptions {
            port: cli.port,
            idle: cli.blaze_idle,
            concurrency: cli.concurrency.unwrap_or(64).max(1),
            duration: cli.duration,
            warmup: cli.warmup_secs,
            file_mib: cli.blaze_file_mib.max(1),
            transfers: cli.blaze_transfers.max(1),
            startup_timeout: Duration::from_secs(120),
        };
        let r = blaze::run(&tg, &opts)?;
        let mut report = String::from("## Tollgate benchmark results\n\n");
        report.push_str(&machine(&tg));
        for n in &notes {
            let _ = writeln!(report, "- note: {n}");
        }
        blaze::render(&mut report, &r);
        print!("{report}");
        if let Some(p) = &cli.report {
            std::fs::write(p, &report).with_context(|| format!("writing {}", p.display()))?;
        }
        if !r.errors.is_empty() {
            bail!("blaze: {} (see ERRORS in the report)", r.errors.join("; "));
        }
        return Ok(());
    }

    let mut state = BenchState::load(&tg.data_dir)?;
    let mut gen = None;
    match cli.command {
        Cmd::LicenseGenerate => {
            generate::ensure_fresh(&tg.data_dir)?;
            let mut s = generate::prepare(&tg)?;
            gen = Some(generate::generate(&tg, &mut s, cli.count)?);
            state = Some(s);
        }
        Cmd::ListLicenses => {
            if state.as_ref().is_none_or(|s| s.licenses == 0) {
                bail!(
                    "list-licenses needs a data dir with licenses: run `license-generate --keep DIR` (or `all --keep DIR`) \
                     first, then `list-licenses --keep DIR`"
                );
            }
        }
        Cmd::All | Cmd::Dashboard => match &state {
            Some(s) if s.licenses > 0 => notes.push(format!(
                "license-generate skipped: {} already holds {} generated licenses (remove it to regenerate)",
                tg.data_dir.display(),
                group(s.licenses)
            )),
            // A client-api run may have left the seller with no licenses.
            _ => {
                let mut s = match state.take() {
                    Some(s) => s,
                    None => {
                        generate::ensure_fresh(&tg.data_dir)?;
                        generate::prepare(&tg)?
                    }
                };
                gen = Some(generate::generate(&tg, &mut s, cli.count)?);
                state = Some(s);
            }
        },
        Cmd::LoginBurst | Cmd::Blaze => {}
        Cmd::ClientApi | Cmd::Webhooks => {
            if state.is_none() {
                let s = generate::prepare(&tg)?;
                s.save(&tg.data_dir)?;
                state = Some(s);
            }
        }
    }

    if let (Some(g), Some(db)) = (gen.as_mut(), pg_db.as_ref()) {
        g.db_bytes = db.size().unwrap_or(0);
    }
    let db_what = if pg_db.is_some() { "`pg_database_size`" } else { "`tollgate.db*`" };

    if cli.command == Cmd::Dashboard {
        let state = state.as_ref().context("no bench state")?;
        let opts = dashboard::DashboardOptions {
            port: cli.port,
            requests: cli.page_requests.max(1),
            warmup: cli.warmup.min(5),
            cursor_steps: cli.cursor_steps.max(1),
            startup_timeout: Duration::from_secs(120),
        };
        let r = dashboard::run(&tg, state, &opts)?;
        if cli.keep.is_none() {
            notes.push("data dir was temporary and has been removed (use --keep DIR to keep it)".to_owned());
        }
        let mut report = render(&tg, gen.as_ref(), db_what, None, None, None, &notes);
        dashboard::render(&mut report, &r);
        print!("{report}");
        if let Some(p) = &cli.report {
            std::fs::write(p, &report).with_context(|| format!("writing {}", p.display()))?;
        }
        return Ok(());
    }

    let mut listed = None;
    if matches!(cli.command, Cmd::ListLicenses | Cmd::All) {
        let state = state.as_ref().context("no bench state")?;
        let opts = ListOptions {
            port: cli.port,
            limit: cli.limit.max(1),
            deep_page: cli.deep_page.max(1),
            requests: cli.requests.max(1),
            warmup: cli.warmup,
            concurrency: cli.concurrency.unwrap_or(8),
            cursor: !cli.no_cursor,
            cursor_param: cli.cursor_param.clone(),
            startup_timeout: Duration::from_secs(120),
        };
        listed = Some(list::run(&tg, state, &opts)?);
    }

    let mut client = None;
    let mut failure = None;
    if matches!(cli.command, Cmd::ClientApi | Cmd::All) {
        let state = state.as_ref().context("no bench state")?;
        let opts = client_api_options(&cli, &Endpoint::ALL);
        match client_api::run(&tg, state, &opts) {
            Ok(r) => {
                if r.errors() > 0 {
                    failure = Some(anyhow::anyhow!(
                        "client-api: {} requests failed (see ERRORS in the report): the figures are not valid",
                        group(r.errors())
                    ));
                }
                client = Some(r);
            }
            // The other benches' figures are still worth printing.
            Err(e) if cli.command == Cmd::All => {
                notes.push("client-api FAILED (error below the report)".to_owned());
                failure = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    let mut hooks = None;
    if matches!(cli.command, Cmd::Webhooks | Cmd::All) {
        let state = state.as_ref().context("no bench state")?;
        let opts = webhooks::ThroughputOptions {
            port: cli.port,
            events: cli.webhook_events.max(1),
            concurrency: cli.webhook_concurrency.max(1),
            startup_timeout: Duration::from_secs(120),
        };
        let mut r = webhooks::WebhooksResult { throughput: None, latency: None };
        match webhooks::throughput(&tg, state, &opts) {
            Ok(t) => {
                let problems = t.problems();
                if !problems.is_empty() && failure.is_none() {
                    failure = Some(anyhow::anyhow!("webhooks: {}", problems.join("; ")));
                }
                r.throughput = Some(t);
            }
            Err(e) if cli.command == Cmd::All => {
                notes.push("webhooks FAILED (error below the report)".to_owned());
                failure = Some(e);
            }
            Err(e) => return Err(e),
        }
        if cli.command == Cmd::Webhooks {
            let opts = client_api_options(&cli, &webhooks::LATENCY_ENDPOINTS);
            let l = webhooks::latency(&tg, state, &opts)?;
            if l.errors() > 0 && failure.is_none() {
                failure = Some(anyhow::anyhow!(
                    "webhooks: {} requests failed (see ERRORS in the report): the figures are not valid",
                    group(l.errors())
                ));
            }
            r.latency = Some(l);
        }
        hooks = Some(r);
    }
    if cli.keep.is_none() {
        notes.push("data dir was temporary and has been removed (use --keep DIR to keep it)".to_owned());
    }

    let report = render(&tg, gen.as_ref(), db_what, listed.as_ref(), client.as_ref(), hooks.as_ref(), &notes);
    print!("{report}");
    if let Some(p) = &cli.report {
        std::fs::write(p, &report).with_context(|| format!("writing {}", p.display()))?;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The client-API knobs from the command line; `endpoints` when none are named.
fn client_api_options(cli: &Cli, endpoints: &[Endpoint]) -> ClientApiOptions {
    ClientApiOptions {
        port: cli.port,
        concurrency: cli.concurrency.unwrap_or(64).max(1),
        duration: cli.duration,
        warmup: cli.warmup_secs,
        register_keys: cli.register_keys,
        argon2: cli.argon2_secs,
        argon2_threads: cli
            .argon2_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        endpoints: if cli.endpoints.is_empty() { endpoints.to_vec() } else { cli.endpoints.clone() },
        analyze: cli.analyze,
        nodes: cli.nodes as usize,
        startup_timeout: Duration::from_secs(120),
    }
}

// ---------------------------------------------------------------------------------------
// Report

/// `1234567` → `1,234,567`.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        let left = s.len() - i;
        if i > 0 && left % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn first_line_of(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

fn command_output(cmd: &mut std::process::Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn machine(tg: &Tollgate) -> String {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = first_line_of("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".to_owned());
    let mem = first_line_of("/proc/meminfo", "MemTotal")
        .and_then(|m| m.split_whitespace().next().and_then(|k| k.parse::<u64>().ok()))
        .map_or_else(|| "? GiB".to_owned(), |k| format!("{:.1} GiB", k as f64 / (1024.0 * 1024.0)));
    let kernel =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(|_| "?".to_owned(), |s| s.trim().to_owned());
    let version =
        command_output(std::process::Command::new(&tg.bin).arg("--version")).unwrap_or_else(|| "?".to_owned());
    let dir = tg.bin.parent().unwrap_or(Path::new("."));
    let rev =
        command_output(std::process::Command::new("git").arg("-C").arg(dir).args(["rev-parse", "--short", "HEAD"]));
    let dirty = command_output(std::process::Command::new("git").arg("-C").arg(dir).args([
        "status",
        "--porcelain",
        "--untracked-files=no",
    ]))
    .is_some_and(|s| !s.is_empty());
    let rev = match rev {
        Some(r) if dirty => format!("git {r} + uncommitted changes"),
        Some(r) => format!("git {r}"),
        None => "git revision unknown".to_owned(),
    };
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let database = match &tg.database_url {
        Some(url) => {
            let server = command_output(std::process::Command::new("psql").args([
                "-X",
                "-A",
                "-t",
                "-d",
                url,
                "-c",
                "SHOW server_version",
            ]))
            .filter(|_| pg::is_postgres(url))
            .map_or_else(String::new, |v| format!(" (PostgreSQL {v})"));
            format!("`{}`{server}", pg::redact(url))
        }
        None => "SQLite, `tollgate.db` in the data dir".to_owned(),
    };
    format!(
        "- date: {date}\n- machine: {nproc} CPUs ({cpu}), {mem} RAM, Linux {kernel}\n- tollgate: `{version}`, {rev}\n- binary: `{}`\n- data dir: `{}`\n- database: {database}\n",
        tg.bin.display(),
        tg.data_dir.display()
    )
}

fn render(
    tg: &Tollgate,
    gen: Option<&GenerateResult>,
    db_what: &str,
    listed: Option<&ListResult>,
    client: Option<&ClientApiResult>,
    hooks: Option<&webhooks::WebhooksResult>,
    notes: &[String],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Tollgate benchmark results\n");
    s.push_str(&machine(tg));
    for n in notes {
        let _ = writeln!(s, "- note: {n}");
    }
    if let Some(g) = gen {
        let secs = g.wall.as_secs_f64();
        let _ = writeln!(s, "\n### `tollgate license generate --count {}`\n", group(g.count));
        let _ = writeln!(s, "| figure | value |\n|---|---|");
        let _ = writeln!(s, "| keys generated (lines output) | {} ({}) |", group(g.count), group(g.keys_output));
        let _ = writeln!(s, "| wall time | {secs:.2} s |");
        let _ = writeln!(s, "| throughput | {} keys/s |", group((g.count as f64 / secs) as u64));
        let _ = writeln!(s, "| peak RSS of the process | {} ({} KiB) |", mib(g.max_rss_kib), group(g.max_rss_kib));
        let _ = writeln!(
            s,
            "| CPU time, user + sys | {:.2} s + {:.2} s |",
            g.user_cpu.as_secs_f64(),
            g.sys_cpu.as_secs_f64()
        );
        let _ = writeln!(s, "| database on disk after ({db_what}) | {} |", mib(g.db_bytes / 1024));
    }
    if let Some(l) = listed {
        let total = l.total_licenses.map_or_else(|| "unknown".to_owned(), group);
        let _ = writeln!(
            s,
            "\n### `GET /v1/admin/apps/{{appId}}/licenses`\n\n{total} licenses in the app (`pagination.total`); deep page = page {} \
             (offset {}). Server start-up to a healthy `/healthz`: {} ms.\n",
            group(l.deep_page),
            group(l.deep_offset),
            ms(l.startup)
        );
        let _ = writeln!(s, "| request | concurrency | n | p50 ms | p99 ms | mean ms | min ms | max ms | req/s |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for x in &l.series {
            let t = &x.stats;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |",
                x.label,
                x.concurrency,
                t.n,
                ms(t.p50),
                ms(t.p99),
                ms(t.mean),
                ms(t.min),
                ms(t.max),
                x.throughput
            );
        }
        // Deep page versus page 1, per concurrency.
        let mut ratios = Vec::new();
        for c in l.series.iter().map(|x| x.concurrency).collect::<std::collections::BTreeSet<_>>() {
            let find = |prefix: &str| l.series.iter().find(|x| x.concurrency == c && x.label.starts_with(prefix));
            if let (Some(a), Some(b)) = (find("page 1"), find("deep page (")) {
                let r = b.stats.p50.as_secs_f64() / a.stats.p50.as_secs_f64().max(1e-9);
                let by_cursor = find("deep page by cursor").map_or_else(String::new, |k| {
                    let rc = k.stats.p50.as_secs_f64() / a.stats.p50.as_secs_f64().max(1e-9);
                    format!(" ({rc:.1}× by cursor)")
                });
                ratios.push(format!("{r:.1}×{by_cursor} at concurrency {c}"));
            }
        }
        if !ratios.is_empty() {
            let _ = writeln!(s, "\np50 of the deep page / p50 of page 1: {}.", ratios.join(", "));
        }
        if let Some(w) = &l.cursor_walk {
            let _ = writeln!(
                s,
                "\nCursor walk from page 1 to page {}: {} requests in {:.2} s (per request p50 {} ms, p99 {} ms, max {} ms).",
                group(l.deep_page),
                group(w.steps as u64),
                w.total.as_secs_f64(),
                ms(w.step_stats.p50),
                ms(w.step_stats.p99),
                ms(w.step_stats.max)
            );
        }
        if let Some(n) = &l.cursor_note {
            let _ = writeln!(s, "\nCursor: {n}.");
        }
        let rss = l.server_peak_rss_kib.map_or_else(|| "unknown".to_owned(), mib);
        let down = l.shutdown.map_or_else(|| "?".to_owned(), ms);
        let _ = writeln!(s, "\nServer peak RSS over the run: {rss}; exit after SIGTERM: {down} ms.");
    }
    if let Some(c) = client {
        client_api::render(&mut s, c);
    }
    if let Some(h) = hooks {
        webhooks::render(&mut s, h);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_000_000), "1,000,000");
    }
}
