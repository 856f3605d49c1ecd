//! Running the real `tollgate` binary as a child process and measuring it.
//!
//! Children are reaped with `wait4(2)` on their own pid, so the resource usage reported
//! (peak RSS, CPU time) is that one child's alone, not the maximum over every child the
//! bench ever waited for (which `getrusage(RUSAGE_CHILDREN)` would give: `seller create`
//! runs argon2id, whose memory could otherwise hide the figure of `license generate`).

use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Environment variables that would override the flags or defaults the bench relies on.
const SCRUBBED_ENV: &[&str] = &[
    "TOLLGATE_DATABASE_URL",
    "TOLLGATE_DATA_DIR",
    "TOLLGATE_LISTEN",
    "TOLLGATE_CONFIG",
    "TOLLGATE_WEBHOOK_RETRY_SCHEDULE",
    "TOLLGATE_WEBHOOK_ALLOW_PRIVATE",
    "TOLLGATE_WEBHOOK_DISABLE_AFTER",
    "TOLLGATE_WEBHOOK_TIMEOUT",
    "TOLLGATE_WEBHOOK_CONCURRENCY",
];

/// How much of a child's stdout is kept verbatim (the rest is only counted).
const STDOUT_KEEP: usize = 64 * 1024;

/// The tollgate binary and the data directory (and database) every command runs against.
#[derive(Clone)]
pub struct Tollgate {
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    /// `--database-url` for every command; `None`: the SQLite file in the data dir.
    pub database_url: Option<String>,
}

/// A finished child: its exit status, what it printed, and what it cost.
pub struct Finished {
    pub status: ExitStatus,
    pub wall: Duration,
    /// Peak resident set size, KiB (Linux `ru_maxrss`).
    pub max_rss_kib: u64,
    pub user_cpu: Duration,
    pub sys_cpu: Duration,
    /// The first `STDOUT_KEEP` bytes of stdout.
    pub stdout: String,
    pub stdout_lines: u64,
    /// Captured stderr (empty when it was inherited).
    pub stderr: String,
}

impl Tollgate {
    /// A command with `--data-dir` (and `--database-url`, if any) set and the overriding
    /// environment removed.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        for k in SCRUBBED_ENV {
            c.env_remove(k);
        }
        c.arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            c.arg("--database-url").arg(url);
        }
        c
    }

    /// Run `tollgate --data-dir D [--database-url U] <args>` to completion and measure it. With
    /// `inherit_stderr`, the child's stderr (progress bar, logs) goes to ours.
    pub fn run(&self, args: &[&str], inherit_stderr: bool) -> Result<Finished> {
        let mut cmd = self.command();
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped());
        cmd.stderr(if inherit_stderr { Stdio::inherit() } else { Stdio::piped() });
        let what = format!("tollgate {}", args.join(" "));
        let start = Instant::now();
        let mut child = cmd.spawn().with_context(|| format!("cannot start {}", self.bin.display()))?;
        let out = drain(child.stdout.take(), STDOUT_KEEP);
        let err = drain(child.stderr.take(), usize::MAX);
        let (status, ru) = wait4(&child).with_context(|| format!("waiting for `{what}`"))?;
        let wall = start.elapsed();
        let (stdout, stdout_lines) = join(out)?;
        let (stderr, _) = join(err)?;
        Ok(Finished {
            status,
            wall,
            max_rss_kib: u64::try_from(ru.ru_maxrss).unwrap_or(0),
            user_cpu: timeval(ru.ru_utime),
            sys_cpu: timeval(ru.ru_stime),
            stdout,
            stdout_lines,
            stderr,
        })
    }

    /// Like [`Tollgate::run`], but a non-zero exit is an error carrying the child's output.
    pub fn run_ok(&self, args: &[&str], inherit_stderr: bool) -> Result<Finished> {
        let f = self.run(args, inherit_stderr)?;
        if !f.status.success() {
            bail!(
                "`tollgate {}` failed ({}):\n{}{}",
                args.join(" "),
                f.status,
                f.stderr.trim_end(),
                if f.stdout.trim().is_empty() { String::new() } else { format!("\nstdout: {}", f.stdout.trim_end()) }
            );
        }
        Ok(f)
    }

    /// The help text of a subcommand path, or `None` if the binary does not know it.
    pub fn help(&self, sub: &[&str]) -> Result<Option<String>> {
        let mut args = sub.to_vec();
        args.push("--help");
        let f = self.run(&args, false)?;
        Ok(f.status.success().then_some(f.stdout))
    }
}

type Drain = Option<JoinHandle<io::Result<(String, u64)>>>;

/// Read a pipe to its end on a thread (so the child never blocks on a full pipe), keeping
/// the first `keep` bytes and counting lines.
fn drain<R: Read + Send + 'static>(pipe: Option<R>, keep: usize) -> Drain {
    let mut pipe = pipe?;
    Some(std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut lines = 0u64;
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            let room = keep.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        Ok((String::from_utf8_lossy(&kept).into_owned(), lines))
    }))
}

fn join(h: Drain) -> Result<(String, u64)> {
    match h {
        None => Ok((String::new(), 0)),
        Some(h) => match h.join() {
            Ok(r) => r.context("reading the child's output"),
            Err(_) => bail!("the thread reading the child's output panicked"),
        },
    }
}

/// Reap `child` and return its exit status and its own resource usage.
pub fn wait4(child: &Child) -> io::Result<(ExitStatus, libc::rusage)> {
    let pid = libc::pid_t::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; pid is our own unreaped child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            return Ok((ExitStatus::from_raw(status), ru));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Non-blocking: `Some` once the child has exited (and is then reaped).
pub fn try_wait4(child: &Child) -> io::Result<Option<(ExitStatus, libc::rusage)>> {
    let pid = libc::pid_t::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: as in `wait4`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as in `wait4`.
    let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
    match r {
        0 => Ok(None),
        r if r == pid => Ok(Some((ExitStatus::from_raw(status), ru))),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Send `sig` to the child.
pub fn signal(child: &Child, sig: libc::c_int) -> io::Result<()> {
    let pid = libc::pid_t::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
    // SAFETY: kill(2) with our own child's pid.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub fn timeval(t: libc::timeval) -> Duration {
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let micros = u32::try_from(t.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

/// Peak RSS of a live process, KiB (`VmHWM` of /proc/PID/status), if readable.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// Current RSS of a live process, KiB (`VmRSS` of /proc/PID/status), if readable.
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Total size of the files directly in `dir` whose name starts with `prefix`.
pub fn files_size(dir: &Path, prefix: &str) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
