//! `tollgate-bench-download`: a large file through the real release binary. Uploads a generated
//! file (1 GiB by default) through the admin API, downloads it back whole through
//! `GET /v1/admin/apps/{appId}/files/{fileId}/download` (the same streaming code as the client
//! route), checks its SHA-256, and prints MiB/s each way with the server's resident memory:
//! sampled every 20 ms during each transfer, and its lifetime peak (`VmHWM`). The file is
//! generated and hashed on the fly on the bench side too, so neither side holds it in memory.
//!
//! ```text
//! cargo build --release -p tollgate-server -p tollgate-bench
//! target/release/tollgate-bench-download            # --size-mib 1024 --report FILE
//! ```

#[allow(dead_code)]
#[path = "generate.rs"]
mod generate;
#[allow(dead_code)]
#[path = "pg.rs"]
mod pg;
#[allow(dead_code)]
#[path = "proc.rs"]
mod proc;
#[allow(dead_code)]
#[path = "server.rs"]
mod server;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};

use proc::Tollgate;
use server::Server;

#[derive(Parser)]
#[command(
    name = "tollgate-bench-download",
    about = "Upload and download one large file through the real tollgate binary"
)]
struct Cli {
    /// The tollgate binary to measure [default: target/release/tollgate]
    #[arg(long)]
    tollgate: Option<PathBuf>,
    /// File size in MiB
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// Port of the server [default: a free one]
    #[arg(long)]
    port: Option<u16>,
    /// Also write the Markdown report to this file
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

/// Bytes per generated piece of the upload.
const PIECE: usize = 1024 * 1024;

/// Deterministic, incompressible-looking bytes (xorshift64*), a piece at a time.
struct Generator {
    state: u64,
    left: u64,
}

impl Generator {
    fn piece(&mut self) -> Option<Vec<u8>> {
        if self.left == 0 {
            return None;
        }
        let n = (PIECE as u64).min(self.left) as usize;
        self.left -= n as u64;
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            v.extend_from_slice(&self.state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        v.truncate(n);
        Some(v)
    }
}

/// Samples a process's `VmRSS` until stopped; the highest value seen, KiB.
struct RssSampler {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let max = Arc::new(AtomicU64::new(proc::vm_rss_kib(pid).unwrap_or(0)));
        let (s, m) = (stop.clone(), max.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = proc::vm_rss_kib(pid) {
                    m.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        RssSampler { stop, max, task }
    }

    async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.max.load(Ordering::Relaxed)
    }
}

struct Transfer {
    wall: Duration,
    peak_rss_kib: u64,
}

struct Outcome {
    size: u64,
    rss_start_kib: u64,
    upload: Transfer,
    rss_between_kib: u64,
    download: Transfer,
    hwm_kib: u64,
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate-bench-download: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let bin = cli.tollgate.clone().unwrap_or_else(|| PathBuf::from("target/release/tollgate"));
    if !bin.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p tollgate-server` or pass --tollgate",
            bin.display()
        );
    }
    let temp =
        tempfile::Builder::new().prefix("tollgate-bench-dl-").tempdir().context("creating a temporary data dir")?;
    let tg = Tollgate { bin: bin.canonicalize()?, data_dir: temp.path().to_path_buf(), database_url: None };
    let state = generate::prepare(&tg)?;
    let size = cli.size_mib.max(1) * 1024 * 1024;
    let limit = (size + 1024 * 1024).to_string();
    let mut srv = Server::start(&tg, cli.port, &["--max-upload-bytes", &limit])?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    let outcome = rt.block_on(measure(&mut srv, &state, size));
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("server log tail:\n{}", srv.log_tail());
            return Err(e);
        }
    };
    srv.stop()?;
    let report = render(&outcome);
    print!("{report}");
    if let Some(p) = &cli.report {
        std::fs::write(p, &report).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

async fn measure(srv: &mut Server, state: &generate::BenchState, size: u64) -> Result<Outcome> {
    let client = reqwest::Client::new();
    srv.wait_healthy(&client, Duration::from_secs(60)).await?;
    let token = server::login(&client, &srv.base, state).await?;
    let rss_start_kib = proc::vm_rss_kib(srv.pid).unwrap_or(0);

    // upload, generated and hashed as it goes
    let hasher = Arc::new(std::sync::Mutex::new(Sha256::new()));
    let h = hasher.clone();
    let gen = Generator { state: 0x9E37_79B9_7F4A_7C15, left: size };
    let body = futures::stream::unfold(gen, move |mut g| {
        let h = h.clone();
        async move {
            let piece = g.piece()?;
            h.lock().map(|mut h| h.update(&piece)).ok();
            Some((Ok::<_, std::io::Error>(piece), g))
        }
    });
    let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(body), size)
        .file_name("big.bin")
        .mime_str("application/octet-stream")?;
    let form = reqwest::multipart::Form::new().part("file", part);
    let sampler = RssSampler::start(srv.pid);
    let t = Instant::now();
    let r = client
        .post(format!("{}/v1/admin/apps/{}/files", srv.base, state.app_id))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .context("uploading")?;
    let status = r.status();
    let answer: Value = r.json().await.context("upload answer is not JSON")?;
    let upload = Transfer { wall: t.elapsed(), peak_rss_kib: sampler.finish().await };
    if !status.is_success() {
        bail!("upload failed: {status} {answer}");
    }
    let sent_sha =
        hex::encode(std::mem::take(&mut *hasher.lock().map_err(|_| anyhow::anyhow!("hasher poisoned"))?).finalize());
    let file_id =
        answer.pointer("/data/id").and_then(Value::as_str).context("no data.id in the upload answer")?.to_owned();
    if answer.pointer("/data/sha256").and_then(Value::as_str) != Some(sent_sha.as_str()) {
        bail!("the server's SHA-256 differs from the uploaded bytes': {answer}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_between_kib = proc::vm_rss_kib(srv.pid).unwrap_or(0);

    // download, hashed as it arrives
    let sampler = RssSampler::start(srv.pid);
    let t = Instant::now();
    let r = client
        .get(format!("{}/v1/admin/apps/{}/files/{file_id}/download", srv.base, state.app_id))
        .bearer_auth(&token)
        .send()
        .await
        .context("downloading")?;
    if r.status().as_u16() != 200 {
        bail!("download failed: {}", r.status());
    }
    let mut got = 0u64;
    let mut sha = Sha256::new();
    let mut stream = r.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("download cut short")?;
        got += chunk.len() as u64;
        sha.update(&chunk);
    }
    let download = Transfer { wall: t.elapsed(), peak_rss_kib: sampler.finish().await };
    if got != size || hex::encode(sha.finalize()) != sent_sha {
        bail!("the download differs from the upload ({got} bytes of {size})");
    }
    let hwm_kib = proc::vm_hwm_kib(srv.pid).unwrap_or(0);
    Ok(Outcome { size, rss_start_kib, upload, rss_between_kib, download, hwm_kib })
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn render(o: &Outcome) -> String {
    let mut s = String::from("## File upload and download\n\n");
    let size_mib = o.size as f64 / (1024.0 * 1024.0);
    let rate = |t: &Transfer| size_mib / t.wall.as_secs_f64().max(1e-9);
    let _ = writeln!(
        s,
        "One {size_mib:.0} MiB file through the admin API (SQLite); server RSS (`VmRSS`) at start {}.\n",
        mib(o.rss_start_kib)
    );
    let _ = writeln!(s, "| transfer | wall | MiB/s | server peak RSS during it |");
    let _ = writeln!(s, "|---|---|---|---|");
    for (what, t) in [
        ("upload (multipart, encrypted as it arrives)", &o.upload),
        ("download (whole, decrypted as it streams)", &o.download),
    ] {
        let _ = writeln!(s, "| {what} | {:.1} s | {:.0} | {} |", t.wall.as_secs_f64(), rate(t), mib(t.peak_rss_kib));
    }
    let _ = writeln!(
        s,
        "\nRSS between the two: {}; the server's lifetime peak (`VmHWM`): {}. The bench generates, \
         sends, receives and hashes on the same machine as the server.\n",
        mib(o.rss_between_kib),
        mib(o.hwm_kib)
    );
    s
}
