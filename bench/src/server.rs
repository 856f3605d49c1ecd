//! A `tollgate serve` child on a free loopback port, and the admin login the benches share.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::generate::BenchState;
use crate::proc::{self, Tollgate};

/// The server child; killed (SIGKILL) if the bench leaves early.
pub struct Server {
    child: Option<Child>,
    pub pid: u32,
    pub log: PathBuf,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    started: Instant,
}

impl Server {
    /// `tollgate --data-dir D [--database-url U] --listen 127.0.0.1:PORT serve <serve_args>`, its
    /// output to `D/bench-server.log`.
    pub fn start(tg: &Tollgate, port: Option<u16>, serve_args: &[&str]) -> Result<Server> {
        Server::start_logged(tg, port, serve_args, "bench-server.log")
    }

    /// [`Server::start`] with its output to `D/<log_name>` (a second node beside the first).
    pub fn start_logged(tg: &Tollgate, port: Option<u16>, serve_args: &[&str], log_name: &str) -> Result<Server> {
        let port = match port {
            Some(p) => p,
            None => free_port()?,
        };
        let listen = format!("127.0.0.1:{port}");
        let log = tg.data_dir.join(log_name);
        let log_file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let log_err = log_file.try_clone()?;
        let mut cmd = tg.command();
        cmd.args(["--listen", &listen, "serve"]).args(serve_args).stdin(Stdio::null()).stdout(log_file).stderr(log_err);
        let db = tg
            .database_url
            .as_deref()
            .map_or_else(String::new, |u| format!(" --database-url {}", crate::pg::redact(u)));
        let extra = serve_args.iter().map(|a| format!(" {a}")).collect::<String>();
        eprintln!(
            "tollgate-bench: starting `tollgate --data-dir {}{db} --listen {listen} serve{extra}` (log: {})",
            tg.data_dir.display(),
            log.display()
        );
        let started = Instant::now();
        let child = cmd.spawn().with_context(|| format!("cannot start {}", tg.bin.display()))?;
        let pid = child.id();
        Ok(Server { child: Some(child), pid, log, base: format!("http://{listen}"), started })
    }

    /// Poll `/healthz` until it answers 2xx; the time from spawning to that answer.
    pub async fn wait_healthy(&mut self, client: &reqwest::Client, timeout: Duration) -> Result<Duration> {
        let url = format!("{}/healthz", self.base);
        loop {
            if let Some(child) = self.child.as_ref() {
                if let Some((status, _)) = proc::try_wait4(child)? {
                    self.child = None;
                    bail!("the server exited during start-up ({status})");
                }
            }
            if let Ok(r) = client.get(&url).timeout(Duration::from_secs(2)).send().await {
                if r.status().is_success() {
                    return Ok(self.started.elapsed());
                }
            }
            if self.started.elapsed() > timeout {
                bail!("the server did not answer /healthz within {} s", timeout.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last 20 lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM, then wait up to 30 s for a graceful exit (SIGKILL after that).
    pub fn stop(&mut self) -> Result<Duration> {
        let Some(child) = self.child.take() else { bail!("server already stopped") };
        let t = Instant::now();
        proc::signal(&child, libc::SIGTERM).context("sending SIGTERM to the server")?;
        while t.elapsed() < Duration::from_secs(30) {
            if let Some((status, _)) = proc::try_wait4(&child)? {
                if !status.success() {
                    eprintln!("tollgate-bench: warning: server exited with {status} after SIGTERM");
                }
                return Ok(t.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = proc::signal(&child, libc::SIGKILL);
        let _ = proc::wait4(&child);
        bail!("the server did not exit within 30 s of SIGTERM (killed)")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            let _ = proc::signal(&child, libc::SIGKILL);
            let _ = proc::wait4(&child);
        }
    }
}

pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// The bench seller's access token (`POST /v1/auth/login`).
pub async fn login(client: &reqwest::Client, base: &str, state: &BenchState) -> Result<String> {
    let r = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "email": state.email, "password": state.password }))
        .send()
        .await
        .context("POST /v1/auth/login")?;
    let status = r.status();
    let body: Value = r.json().await.context("login response is not JSON")?;
    if !status.is_success() {
        bail!("login failed: {status} {body}");
    }
    body.pointer("/data/accessToken")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no data.accessToken in the login response: {body}"))
}
