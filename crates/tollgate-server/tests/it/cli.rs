//! The real `tollgate` binary: operator commands, start-up errors, graceful shutdown, and
//! durability (SIGKILL during license generation; a backup taken under write load).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::process::{Child, Command};
use tollgate_core::model::{Creator, LicenseStatus};
use tollgate_store::{LicenseFilter, LicenseStore, PageRequest, Store};

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn assert_ok(&self) -> &Self {
        assert!(self.status.success(), "exit {:?}\nstdout: {}\nstderr: {}", self.status, self.stdout, self.stderr);
        self
    }
    /// Non-zero exit, a message on stderr containing every `needle`, and no panic.
    #[track_caller]
    fn assert_fails_with(&self, needles: &[&str]) {
        assert!(!self.status.success(), "expected failure; stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.status.code().is_some(), "killed by a signal: {:?}", self.status);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        for n in needles {
            assert!(self.stderr.contains(n), "stderr lacks {n:?}: {}", self.stderr);
        }
    }
}

/// The binary with a clean environment: no `TOLLGATE_*` from the caller, quiet logs.
fn tollgate_cmd() -> Command {
    let mut c = Command::new(BIN);
    for (_, env, _) in tollgate_server::config::SETTINGS {
        c.env_remove(env);
    }
    c.env("TOLLGATE_LOG", "warn").stdin(Stdio::null()).kill_on_drop(true);
    c
}

async fn tollgate(data_dir: &Path, args: &[&str]) -> Run {
    tollgate_stdin(data_dir, args, None).await
}

async fn tollgate_stdin(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut c = tollgate_cmd();
    c.arg("--data-dir").arg(data_dir).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        c.stdin(Stdio::piped());
    }
    let mut child = c.spawn().unwrap();
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("command timed out")
        .unwrap();
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn db_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("tollgate.db").display())
}

/// Every license key of an app, read straight from a database file.
async fn stored_keys(url: &str, app_id: &str) -> Vec<tollgate_core::model::License> {
    let store = tollgate_sqlite::SqliteStore::open(url, 1).await.unwrap();
    let mut out = Vec::new();
    for page in 1.. {
        let p = store.list_licenses(app_id, &LicenseFilter::default(), PageRequest { page, limit: 100 }).await.unwrap();
        let n = p.items.len();
        out.extend(p.items);
        if n < 100 {
            break;
        }
    }
    store.close().await;
    out
}

/// `key: value` lines of `tollgate app create`.
fn field<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or_else(|| panic!("no {name} in {stdout}"))
}

#[tokio::test]
async fn seller_app_and_license_generate_print_exactly_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tollgate(d, &["migrate"]).await.assert_ok();
    let r = tollgate(
        d,
        &["seller", "create", "--email", "Ops@Example.com", "--password", "correct horse", "--name", "Ops"],
    )
    .await;
    r.assert_ok();
    let seller_id = r.stdout.trim().to_owned();
    assert!(seller_id.starts_with("seller_") && !seller_id.contains('\n'), "{}", r.stdout);
    assert!(!r.stdout.contains("correct horse") && !r.stderr.contains("correct horse"));

    // the password can come from stdin instead of the process list
    let r = tollgate_stdin(
        d,
        &["seller", "create", "--email", "two@example.com", "--password-stdin", "--name", "Two"],
        Some("stdin secret\n"),
    )
    .await;
    r.assert_ok();

    let r = tollgate(d, &["app", "create", "--seller", &seller_id, "--name", "CLI App", "--version", "2.1.0"]).await;
    r.assert_ok();
    let app_id = field(&r.stdout, "id").to_owned();
    assert!(app_id.starts_with("app_"));
    assert!(field(&r.stdout, "apiKey").starts_with("as_"));
    assert_eq!(field(&r.stdout, "wsKey").len(), 21);
    assert_eq!(field(&r.stdout, "ownerId"), seller_id);

    let r = tollgate(d, &["license", "generate", "--app", &app_id, "--count", "20000"]).await;
    r.assert_ok();
    let printed: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(printed.len(), 20000);
    assert!(r.stderr.contains("generated 20000 licenses") && r.stderr.contains("keys/s"), "{}", r.stderr);

    let out_file = d.join("keys.txt");
    let r = tollgate(
        d,
        &[
            "license",
            "generate",
            "--app",
            &app_id,
            "--count",
            "250",
            "--duration",
            "lifetime",
            "--level",
            "3",
            "--max-devices",
            "2",
            "--prefix",
            "VIP",
            "--note",
            "batch two",
            "--batch-size",
            "100",
            "--output",
            out_file.to_str().unwrap(),
        ],
    )
    .await;
    r.assert_ok();
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let from_file = std::fs::read_to_string(&out_file).unwrap();
    let filed: Vec<&str> = from_file.lines().collect();
    assert_eq!(filed.len(), 250);
    assert!(filed.iter().all(|k| k.starts_with("VIP-")), "{:?}", &filed[..3]);

    let printed_set: HashSet<&str> = printed.iter().chain(filed.iter()).copied().collect();
    assert_eq!(printed_set.len(), 20250, "keys are distinct");

    let stored = stored_keys(&db_url(d), &app_id).await;
    let stored_set: HashSet<&str> = stored.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(stored.len(), 20250);
    assert_eq!(stored_set, printed_set);
    for l in &stored {
        assert_eq!(l.status, LicenseStatus::Unused);
        assert_eq!(l.created_by, Creator::Seller(seller_id.clone()));
        if l.key.starts_with("VIP-") {
            assert_eq!((l.level, l.max_devices, l.duration.to_string().as_str()), (3, 2, "lifetime"));
            assert_eq!(l.note.as_deref(), Some("batch two"));
        } else {
            assert_eq!((l.level, l.max_devices, l.duration.to_string().as_str()), (1, 1, "30d"));
        }
    }
}

#[tokio::test]
async fn bad_arguments_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    tollgate(dir.path(), &["migrate"]).await.assert_ok();
    let d = dir.path();
    let seller =
        tollgate(d, &["seller", "create", "--email", "a@example.com", "--password", "long enough", "--name", "A"])
            .await;
    seller.assert_ok();
    let seller_id = seller.stdout.trim().to_owned();
    let app = tollgate(d, &["app", "create", "--seller", &seller_id, "--name", "App"]).await;
    app.assert_ok();
    let app_id = field(&app.stdout, "id").to_owned();

    tollgate(d, &["license", "generate", "--app", "app_nope", "--count", "5"])
        .await
        .assert_fails_with(&["no application with id `app_nope`"]);
    tollgate(d, &["license", "generate", "--app", &app_id, "--count", "0"]).await.assert_fails_with(&["--count"]);
    tollgate(d, &["license", "generate", "--app", &app_id, "--count", "many"]).await.assert_fails_with(&["--count"]);
    tollgate(d, &["license", "generate", "--app", &app_id, "--count", "5", "--duration", "2w"])
        .await
        .assert_fails_with(&["--duration", "30d"]);
    tollgate(d, &["license", "generate", "--app", &app_id, "--count", "5", "--max-devices", "0"])
        .await
        .assert_fails_with(&["invalid --max-devices"]);
    tollgate(d, &["license", "generate", "--app", &app_id, "--count", "5", "--level", "-1"])
        .await
        .assert_fails_with(&["invalid --level"]);
    tollgate(d, &["license", "generate", "--app", &app_id, "--count", "5", "--mask", "XX"])
        .await
        .assert_fails_with(&["invalid --mask"]);
    tollgate(d, &["license", "generate", "--app", &app_id]).await.assert_fails_with(&["--count"]);
    let existing = d.join("already.txt");
    std::fs::write(&existing, "keep me").unwrap();
    tollgate(d, &["license", "generate", "--app", &app_id, "--count", "5", "--output", existing.to_str().unwrap()])
        .await
        .assert_fails_with(&["--output"]);
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    // none of the failures stored anything
    assert!(stored_keys(&db_url(d), &app_id).await.is_empty());

    tollgate(d, &["app", "create", "--seller", "seller_nope", "--name", "X"])
        .await
        .assert_fails_with(&["no seller with id `seller_nope`"]);
    tollgate(d, &["app", "create", "--seller", &seller_id, "--name", "App"])
        .await
        .assert_fails_with(&["You already have an application with this name"]);
    tollgate(d, &["app", "create", "--seller", &seller_id, "--name", "V", "--version", "not a version"])
        .await
        .assert_fails_with(&["version"]);
    tollgate(d, &["seller", "create", "--email", "nope", "--password", "long enough", "--name", "B"])
        .await
        .assert_fails_with(&["invalid --email"]);
    let short =
        tollgate(d, &["seller", "create", "--email", "b@example.com", "--password", "short", "--name", "B"]).await;
    short.assert_fails_with(&["invalid --password"]);
    assert!(!short.stderr.contains("short "), "the password is not echoed: {}", short.stderr);
    let dup =
        tollgate(d, &["seller", "create", "--email", "A@example.com", "--password", "other secret", "--name", "A2"])
            .await;
    dup.assert_fails_with(&["An account with this email already exists"]);
    assert!(!dup.stderr.contains("other secret"));
    tollgate(d, &["seller", "create", "--email", "c@example.com", "--name", "C"])
        .await
        .assert_fails_with(&["--password"]);

    tollgate(d, &["backup", "--to", existing.to_str().unwrap()]).await.assert_fails_with(&["already exists"]);
    tollgate(d, &["backup", "--to", d.join("no/such/dir/b.db").to_str().unwrap()])
        .await
        .assert_fails_with(&["no such directory"]);
    let empty = tempfile::tempdir().unwrap();
    tollgate(empty.path(), &["backup", "--to", d.join("b.db").to_str().unwrap()])
        .await
        .assert_fails_with(&["no database"]);
    tollgate(d, &["--database-url", "postgres://u@localhost/db", "backup", "--to", d.join("b.db").to_str().unwrap()])
        .await
        .assert_fails_with(&["pg_dump"]);
    assert!(!d.join("b.db").exists());
}

#[tokio::test]
async fn serve_with_a_bad_setting_exits_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tollgate(d, &["serve", "--listen", "nope"]).await.assert_fails_with(&["listen", "nope"]);
    tollgate(d, &["serve", "--database-url", "mysql://x"]).await.assert_fails_with(&["database_url", "mysql"]);
    tollgate(d, &["serve", "--seller-signup", "maybe"]).await.assert_fails_with(&["seller_signup"]);
    let mut c = tollgate_cmd();
    let out = c.args(["serve", "--data-dir"]).arg(d).env("TOLLGATE_MAX_UPLOAD_BYTES", "lots").output().await.unwrap();
    let r = Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    r.assert_fails_with(&["max_upload_bytes", "TOLLGATE_MAX_UPLOAD_BYTES"]);
    // a port that is taken
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    tollgate(d, &["serve", "--listen", &addr]).await.assert_fails_with(&["listen", &addr]);
}

/// A `tollgate serve` child process on a free loopback port.
struct ServerProc {
    child: Child,
    base: String,
    http: reqwest::Client,
    log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl ServerProc {
    /// Start on `data_dir` (or on the defaults, in `cwd`, when `data_dir` is None) and wait,
    /// boundedly, for `/healthz`.
    async fn start(data_dir: Option<&Path>, cwd: &Path) -> ServerProc {
        Self::start_with(data_dir, cwd, "info", &[]).await
    }

    /// `start` with a log filter and extra arguments (e.g. `--database-url`).
    async fn start_with(data_dir: Option<&Path>, cwd: &Path, log_filter: &str, extra: &[&str]) -> ServerProc {
        for _attempt in 0..5 {
            let port = free_port();
            let log = cwd.join(format!("server-{port}.log"));
            let mut c = tollgate_cmd();
            c.current_dir(cwd).args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
            if let Some(d) = data_dir {
                c.arg("--data-dir").arg(d);
            }
            c.args(extra);
            c.env("TOLLGATE_LOG", log_filter).stdout(Stdio::null()).stderr(std::fs::File::create(&log).unwrap());
            let child = c.spawn().unwrap();
            let mut s =
                ServerProc { child, base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new(), log };
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Some(status) = s.child.try_wait().unwrap() {
                    eprintln!("server exited early ({status}): {}", s.log_text());
                    break;
                }
                if let Ok(r) = s.http.get(format!("{}/healthz", s.base)).send().await {
                    if r.status().is_success() {
                        return s;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = s.child.start_kill();
        }
        panic!("tollgate serve did not come up");
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: libc::c_int) {
        let pid = self.child.id().expect("still running") as libc::pid_t;
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    }

    async fn wait(&mut self, limit: Duration) -> ExitStatus {
        tokio::time::timeout(limit, self.child.wait()).await.expect("server did not exit").unwrap()
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path)).timeout(Duration::from_secs(60));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await?;
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// Register a seller and create an app through HTTP: `(token, app_id)`.
    async fn seller_and_app(&self) -> (String, String) {
        let (st, b) = self
            .call(
                reqwest::Method::POST,
                "/v1/auth/register",
                None,
                Some(json!({"email": "d@example.com", "password": "correct horse", "name": "D"})),
            )
            .await
            .unwrap();
        assert_eq!(st, 201, "{b}");
        let token = b["data"]["accessToken"].as_str().unwrap().to_owned();
        let (st, b) = self
            .call(reqwest::Method::POST, "/v1/admin/apps", Some(&token), Some(json!({"name": "Durable"})))
            .await
            .unwrap();
        assert_eq!(st, 201, "{b}");
        (token, b["data"]["id"].as_str().unwrap().to_owned())
    }

    /// Every key of the app through the admin API.
    async fn all_keys(&self, token: &str, app_id: &str) -> HashSet<String> {
        let mut keys = HashSet::new();
        for page in 1.. {
            let (st, b) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/v1/admin/apps/{app_id}/licenses?page={page}&limit=100"),
                    Some(token),
                    None,
                )
                .await
                .unwrap();
            assert_eq!(st, 200, "{b}");
            let items = b["data"].as_array().unwrap();
            keys.extend(items.iter().map(|l| l["key"].as_str().unwrap().to_owned()));
            if items.len() < 100 {
                break;
            }
        }
        keys
    }
}

/// Workers that POST `.../licenses` (100 keys a request) until `stop` is set, a request fails,
/// or `max_requests` each; the keys of every 201 go into `acked`.
fn spawn_writers(
    server: &ServerProc,
    token: &str,
    app_id: &str,
    workers: usize,
    max_requests: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
) -> Vec<tokio::task::JoinHandle<usize>> {
    (0..workers)
        .map(|_| {
            let (http, url, token) =
                (server.http.clone(), format!("{}/v1/admin/apps/{app_id}/licenses", server.base), token.to_owned());
            let (stop, acked) = (stop.clone(), acked.clone());
            tokio::spawn(async move {
                let mut ok = 0;
                for _ in 0..max_requests {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let res = http
                        .post(&url)
                        .bearer_auth(&token)
                        .timeout(Duration::from_secs(30))
                        .json(&json!({"count": 100, "durationType": "30d"}))
                        .send()
                        .await;
                    let Ok(res) = res else { break };
                    if res.status().as_u16() != 201 {
                        break;
                    }
                    // A response cut by the kill is not an acknowledgement.
                    let Ok(body) = res.json::<Value>().await else {
                        break;
                    };
                    let keys: Vec<String> = body["data"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|l| l["key"].as_str().unwrap().to_owned())
                        .collect();
                    assert_eq!(keys.len(), 100);
                    acked.lock().unwrap().extend(keys);
                    ok += 1;
                }
                ok
            })
        })
        .collect()
}

async fn wait_for_acked(acked: &Mutex<Vec<String>>, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.lock().unwrap().len() < at_least {
        assert!(Instant::now() < deadline, "writers made too little progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn serve_on_defaults_answers_and_shuts_down_gracefully() {
    let cwd = tempfile::tempdir().unwrap();
    let mut s = ServerProc::start(None, cwd.path()).await;
    let (st, b) = s.call(reqwest::Method::GET, "/readyz", None, None).await.unwrap();
    assert_eq!(st, 200, "{b}");
    // the defaults put everything in ./tollgate-data
    assert!(cwd.path().join("tollgate-data/tollgate.db").is_file());
    assert!(cwd.path().join("tollgate-data/master.key").is_file());
    s.signal(libc::SIGTERM);
    let status = s.wait(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{status}: {}", s.log_text());
    assert!(s.log_text().contains("shutting down"), "{}", s.log_text());
}

#[tokio::test]
async fn sigkill_during_license_generation_keeps_every_acknowledged_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = ServerProc::start(Some(&data), dir.path()).await;
    let (token, app_id) = s.seller_and_app().await;

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let writers = spawn_writers(&s, &token, &app_id, 8, 400, stop.clone(), acked.clone());
    wait_for_acked(&acked, 3000).await;
    s.child.start_kill().unwrap(); // SIGKILL
    let status = s.wait(Duration::from_secs(30)).await;
    assert_eq!(status.code(), None, "killed by a signal");
    for w in writers {
        tokio::time::timeout(Duration::from_secs(60), w).await.unwrap().unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(acked.len() >= 3000);

    let mut s2 = ServerProc::start(Some(&data), dir.path()).await;
    let stored = s2.all_keys(&token, &app_id).await;
    let missing: Vec<&String> = acked.iter().filter(|k| !stored.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged keys lost, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(3)]
    );
    eprintln!("acknowledged {} keys before SIGKILL; {} stored after restart", acked.len(), stored.len());
    // each request is one transaction: requests cut by the kill left all of their keys or none
    assert_eq!(stored.len() % 100, 0, "{} keys stored", stored.len());
    s2.signal(libc::SIGTERM);
    assert!(s2.wait(Duration::from_secs(30)).await.success());
}

#[tokio::test]
async fn backup_under_write_load_is_consistent_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = ServerProc::start(Some(&data), dir.path()).await;
    let (token, app_id) = s.seller_and_app().await;

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let writers = spawn_writers(&s, &token, &app_id, 4, 2000, stop.clone(), acked.clone());
    wait_for_acked(&acked, 1000).await;
    let backup = dir.path().join("backup.db");
    let r = tollgate(&data, &["backup", "--to", backup.to_str().unwrap()]).await;
    r.assert_ok();
    assert!(r.stderr.contains("master.key"), "{}", r.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let acked_at_backup_end = acked.lock().unwrap().len();
    // keep writing a little past the copy, then stop
    wait_for_acked(&acked, acked_at_backup_end + 500).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        assert!(tokio::time::timeout(Duration::from_secs(60), w).await.unwrap().unwrap() > 0);
    }
    let total_written = acked.lock().unwrap().len();

    // the copy opens, migrates, and holds whole transactions of complete rows
    let url = format!("sqlite://{}", backup.display());
    let copied = stored_keys(&url, &app_id).await;
    assert!(copied.len() >= 1000 && copied.len() <= total_written, "{} of {total_written}", copied.len());
    assert_eq!(copied.len() % 100, 0, "{} licenses in the backup", copied.len());
    eprintln!("backup holds {} licenses; {total_written} written in all", copied.len());
    let store = tollgate_sqlite::SqliteStore::open(&url, 1).await.unwrap();
    store.ping().await.unwrap();
    store.close().await;
    let all: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    for l in &copied {
        assert!(l.id.starts_with("lic_") && !l.key.is_empty(), "{l:?}");
        assert!(all.contains(&l.key), "a key in the backup that no one was given: {}", l.key);
        assert_eq!(l.app_id, app_id);
        assert_eq!(l.status, LicenseStatus::Unused);
        assert_eq!((l.level, l.max_devices, l.duration.to_string().as_str()), (1, 1, "30d"));
        assert!(matches!(&l.created_by, Creator::Seller(id) if id.starts_with("seller_")));
    }

    s.signal(libc::SIGTERM);
    assert!(s.wait(Duration::from_secs(30)).await.success());

    // restore: the copy as the database of a fresh data dir, with the master key
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&backup, restored.join("tollgate.db")).unwrap();
    std::fs::copy(data.join("master.key"), restored.join("master.key")).unwrap();
    let mut s3 = ServerProc::start(Some(&restored), dir.path()).await;
    let (st, b) = s3
        .call(
            reqwest::Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "d@example.com", "password": "correct horse"})),
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{b}");
    let token = b["data"]["accessToken"].as_str().unwrap().to_owned();
    let keys = s3.all_keys(&token, &app_id).await;
    let copied_keys: HashSet<String> = copied.iter().map(|l| l.key.clone()).collect();
    assert_eq!(keys, copied_keys);
    // and it takes writes
    let (st, _) = s3
        .call(
            reqwest::Method::POST,
            &format!("/v1/admin/apps/{app_id}/licenses"),
            Some(&token),
            Some(json!({"count": 1, "durationType": "1d"})),
        )
        .await
        .unwrap();
    assert_eq!(st, 201);
    s3.signal(libc::SIGTERM);
    assert!(s3.wait(Duration::from_secs(30)).await.success());
}

/// `kid: k1` then the PEM, as `tollgate keys show` and `keys rotate` print them.
fn printed_key(stdout: &str) -> (String, String) {
    let (first, pem) = stdout.split_once('\n').unwrap_or_else(|| panic!("no PEM in {stdout:?}"));
    let kid = first.strip_prefix("kid: ").unwrap_or_else(|| panic!("no kid in {stdout:?}"));
    (kid.to_owned(), pem.to_owned())
}

/// The key commands on one database: `extra` selects it (none: SQLite in the data dir).
async fn keys_commands(d: &Path, extra: &[&str]) {
    let run = |args: &'static [&'static str]| {
        let all: Vec<String> = extra.iter().chain(args).map(|s| (*s).to_owned()).collect();
        async move { tollgate(d, &all.iter().map(String::as_str).collect::<Vec<_>>()).await }
    };

    // `migrate` makes a ready install (master key, database, signing key); `show` prints the key.
    run(&["migrate"]).await.assert_ok();
    let show = run(&["keys", "show"]).await;
    show.assert_ok();
    let (kid, pem) = printed_key(&show.stdout);
    assert_eq!(kid, "k1");
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines.len(), 3, "{pem}");
    assert_eq!((lines[0], lines[2]), ("-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"));
    assert!(lines[1].starts_with("MCowBQYDK2VwAyEA"), "an Ed25519 SPKI key: {pem}");
    assert_eq!(run(&["keys", "show"]).await.assert_ok().stdout, show.stdout);

    // Rotation: a new key, printed the same way, with a note on stderr.
    let rotated = run(&["keys", "rotate"]).await;
    rotated.assert_ok();
    let (kid2, pem2) = printed_key(&rotated.stdout);
    assert_eq!(kid2, "k2");
    assert_ne!(pem2, pem);
    assert!(rotated.stderr.contains("switch") && rotated.stderr.contains("k2"), "{}", rotated.stderr);
    assert_eq!(printed_key(&run(&["keys", "show"]).await.assert_ok().stdout), (kid2.clone(), pem2.clone()));

    let list = run(&["keys", "list"]).await;
    list.assert_ok();
    let rows: Vec<Vec<&str>> = list.stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2, "{}", list.stdout);
    assert_eq!((rows[0][0], rows[0][2]), ("k2", "active"));
    assert_eq!((rows[1][0], rows[1][2]), ("k1", "inactive"));
    for row in &rows {
        assert!(tollgate_core::time::parse_rfc3339(row[1]).is_some(), "{row:?}");
    }

    // What was printed is what a server on this database signs with.
    let mut raw =
        tollgate_server::config::RawConfig { data_dir: Some(d.to_string_lossy().into_owned()), ..Default::default() };
    if let [flag, url] = extra {
        assert_eq!(*flag, "--database-url");
        raw.database_url = Some((*url).to_owned());
    }
    let state =
        tollgate_server::app::build_state(tollgate_server::config::Config::resolve(raw).unwrap()).await.unwrap();
    let signer = tollgate_server::signing::Signer::load_or_create(state.store.as_ref(), &state.master).await.unwrap();
    assert_eq!((signer.kid(), signer.public_key_pem()), (kid2.as_str(), pem2.as_str()));
    let body = json!({"success": true, "code": "OK"});
    let (signature, _) = signer.sign(1, "request", "nonce", &body);
    assert!(tollgate_server::signing::verify(&pem2, "1", "request", "nonce", &body, &signature));
    assert!(!tollgate_server::signing::verify(&pem, "1", "request", "nonce", &body, &signature));

    // Another master key cannot open the stored key, and does not replace it.
    let other = tempfile::tempdir().unwrap();
    let key_file = other.path().join("other.key");
    std::fs::write(&key_file, "cd".repeat(32)).unwrap();
    let key_arg = key_file.to_string_lossy().into_owned();
    let all: Vec<&str> = extra.iter().copied().chain(["--master-key-file", key_arg.as_str(), "keys", "show"]).collect();
    tollgate(d, &all).await.assert_fails_with(&["signing key k2", "master key"]);
    assert_eq!(run(&["keys", "list"]).await.assert_ok().stdout.lines().count(), 2);
}

#[tokio::test]
async fn keys_show_rotate_and_list() {
    let dir = tempfile::tempdir().unwrap();
    keys_commands(dir.path(), &[]).await;
    // And on PostgreSQL when the suite runs there.
    if let Some(admin) = tollgate_postgres::testing::admin_url() {
        let db = tollgate_postgres::testing::FreshDb::create(&admin).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        keys_commands(dir.path(), &["--database-url", &db.url]).await;
        db.drop().await;
    }
}

/// `--database-url` of this run's backend: none (SQLite in the data dir), or a fresh PostgreSQL
/// database when the suite runs there.
async fn backend_args() -> (Vec<String>, Option<tollgate_postgres::testing::FreshDb>) {
    match tollgate_postgres::testing::admin_url() {
        Some(admin) => {
            let db = tollgate_postgres::testing::FreshDb::create(&admin).await.unwrap();
            (vec!["--database-url".to_owned(), db.url.clone()], Some(db))
        }
        None => (Vec::new(), None),
    }
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn data_dir_and_every_file_in_it_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = ServerProc::start(Some(&data), dir.path()).await;
    let (token, app_id) = s.seller_and_app().await;
    // an uploaded file lands under files/
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"secret payload".to_vec()).file_name("a.bin"));
    let r = s
        .http
        .post(format!("{}/v1/admin/apps/{app_id}/files", s.base))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    assert_eq!(mode_of(&data), 0o700);
    for name in ["tollgate.db", "tollgate.db-wal", "tollgate.db-shm", "master.key"] {
        assert_eq!(mode_of(&data.join(name)), 0o600, "{name}");
    }
    let mut uploaded = 0;
    for entry in std::fs::read_dir(data.join("files")).unwrap().flatten() {
        assert_eq!(mode_of(&entry.path()), 0o700, "{}", entry.path().display());
        for f in std::fs::read_dir(entry.path()).unwrap().flatten() {
            assert_eq!(mode_of(&f.path()), 0o600, "{}", f.path().display());
            uploaded += 1;
        }
    }
    assert_eq!(uploaded, 1);
    s.signal(libc::SIGTERM);
    assert!(s.wait(Duration::from_secs(30)).await.success());

    // an older install with open modes is repaired at start
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(data.join("tollgate.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(data.join("master.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut s = ServerProc::start(Some(&data), dir.path()).await;
    assert_eq!(mode_of(&data), 0o700);
    assert_eq!(mode_of(&data.join("tollgate.db")), 0o600);
    assert_eq!(mode_of(&data.join("master.key")), 0o600);
    s.signal(libc::SIGTERM);
    assert!(s.wait(Duration::from_secs(30)).await.success());
}

#[tokio::test]
async fn operator_commands_refuse_to_start_a_new_data_dir() {
    let (extra, pg) = backend_args().await;
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-here");
    fn joined<'a>(extra: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
        extra.iter().chain(args).copied().collect()
    }
    let with = |args: &[&'static str]| joined(&extra, args);
    for args in [
        vec!["keys", "show"],
        vec!["keys", "list"],
        vec!["keys", "rotate"],
        vec!["seller", "create", "--email", "a@example.com", "--password", "long enough", "--name", "A"],
        vec!["app", "create", "--seller", "seller_x", "--name", "X"],
        vec!["license", "generate", "--app", "app_x", "--count", "1"],
    ] {
        let r = tollgate(&missing, &with(&args)).await;
        r.assert_fails_with(&["no data directory", &missing.display().to_string()]);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert!(!missing.exists(), "{args:?} created the data dir");
    }
    // an existing folder without a master key: no key is made either
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    tollgate(&empty, &with(&["keys", "show"])).await.assert_fails_with(&["no master key", "empty"]);
    assert!(!empty.join("master.key").exists());
    // `migrate` starts one; then `keys show` works
    tollgate(&missing, &with(&["migrate"])).await.assert_ok();
    let r = tollgate(&missing, &with(&["keys", "show"])).await;
    r.assert_ok();
    assert!(r.stdout.starts_with("kid: k1\n-----BEGIN PUBLIC KEY-----"), "{}", r.stdout);
    if let Some(db) = pg {
        db.drop().await;
    }
}

#[tokio::test]
async fn debug_logs_show_request_paths_with_query_values_redacted() {
    let (extra, pg) = backend_args().await;
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = ServerProc::start_with(Some(&data), dir.path(), "debug", &extra).await;
    let (token, app_id) = s.seller_and_app().await;
    let secret = "LICENSE-SECRET-7Q2W9E";
    let (st, _) = s
        .call(
            reqwest::Method::GET,
            &format!("/v1/admin/apps/{app_id}/licenses?search={secret}&page=1"),
            Some(&token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    s.signal(libc::SIGTERM);
    assert!(s.wait(Duration::from_secs(30)).await.success());
    let log = s.log_text();
    assert!(
        log.contains(&format!("/v1/admin/apps/{app_id}/licenses?search=[redacted]&page=[redacted]")),
        "the request is logged, its query values redacted: {log}"
    );
    assert!(!log.contains(secret), "a query value reached the log");
    assert!(!log.contains(&token), "a bearer token reached the log");
    assert!(!log.contains("correct horse"), "a password reached the log");
    if let Some(db) = pg {
        db.drop().await;
    }
}

#[tokio::test]
async fn completions_and_man_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef tollgate"), ("fish", "complete -c tollgate")] {
        let r = tollgate(d, &["completions", shell]).await;
        r.assert_ok();
        assert!(r.stdout.contains(marker), "{shell}: {}", &r.stdout[..r.stdout.len().min(400)]);
        assert!(r.stdout.contains("restore") && r.stdout.contains("backup"), "{shell} lacks subcommands");
    }
    tollgate(d, &["completions", "tcsh"]).await.assert_fails_with(&["tcsh"]);
    let r = tollgate(d, &["man"]).await;
    r.assert_ok();
    assert!(r.stdout.contains(".TH tollgate"), "{}", &r.stdout[..r.stdout.len().min(400)]);
    assert!(r.stdout.contains("restore") && r.stdout.contains("\\-\\-data\\-dir"), "{}", r.stdout);
    // neither needs nor makes a data dir
    assert_eq!(std::fs::read_dir(d).unwrap().count(), 0);
}

#[tokio::test]
async fn backup_and_restore_round_trip_and_restore_refused_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = ServerProc::start(Some(&data), dir.path()).await;
    let (token, app_id) = s.seller_and_app().await;
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"payload v1".to_vec()).file_name("a.bin"));
    let r = s
        .http
        .post(format!("{}/v1/admin/apps/{app_id}/files", s.base))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let file_id = r.json::<Value>().await.unwrap()["data"]["id"].as_str().unwrap().to_owned();
    let blob = data.join("files").join(&app_id).join(format!("{file_id}.bin"));
    let blob_bytes = std::fs::read(&blob).unwrap();

    let backup = dir.path().join("b.db");
    let r = tollgate(&data, &["backup", "--to", backup.to_str().unwrap()]).await;
    r.assert_ok();
    assert!(r.stderr.contains("does not hold the master key"), "{}", r.stderr);
    assert!(dir.path().join("b.db.files").is_dir());

    // later changes, to be undone by the restore
    let (st, _) = s
        .call(reqwest::Method::POST, "/v1/admin/apps", Some(&token), Some(json!({"name": "After backup"})))
        .await
        .unwrap();
    assert_eq!(st, 201);

    // refused while the server runs; nothing replaced
    let r = tollgate(&data, &["restore", "--from", backup.to_str().unwrap()]).await;
    r.assert_fails_with(&["server is running", "stop it"]);
    let (_, apps) = s.call(reqwest::Method::GET, "/v1/admin/apps", Some(&token), None).await.unwrap();
    assert_eq!(apps["data"].as_array().map(Vec::len), Some(2), "{apps}");
    s.signal(libc::SIGTERM);
    assert!(s.wait(Duration::from_secs(30)).await.success());

    // a master key other than the backup's is refused before anything changes
    let other = tempfile::tempdir().unwrap();
    let key = other.path().join("k");
    std::fs::write(&key, "cd".repeat(32)).unwrap();
    tollgate(&data, &["--master-key-file", key.to_str().unwrap(), "restore", "--from", backup.to_str().unwrap()])
        .await
        .assert_fails_with(&["not a usable backup", "master key"]);
    // no such backup
    tollgate(&data, &["restore", "--from", dir.path().join("nope.db").to_str().unwrap()])
        .await
        .assert_fails_with(&["no such file"]);

    let r = tollgate(&data, &["restore", "--from", backup.to_str().unwrap()]).await;
    r.assert_ok();
    assert!(r.stderr.contains("replaced"), "{}", r.stderr);
    let mut s = ServerProc::start(Some(&data), dir.path()).await;
    let (_, apps) = s.call(reqwest::Method::GET, "/v1/admin/apps", Some(&token), None).await.unwrap();
    let names: Vec<&str> = apps["data"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Durable"], "{apps}");
    let (st, files) =
        s.call(reqwest::Method::GET, &format!("/v1/admin/apps/{app_id}/files"), Some(&token), None).await.unwrap();
    assert_eq!(st, 200);
    assert_eq!(files["data"][0]["id"], file_id.as_str(), "{files}");
    assert_eq!(std::fs::read(&blob).unwrap(), blob_bytes, "the encrypted upload is back");
    s.signal(libc::SIGTERM);
    assert!(s.wait(Duration::from_secs(30)).await.success());
}

/// A webhook event is written with the change that caused it: a server killed with SIGKILL
/// right after acknowledging a register sends that `user.register` once it runs again, even
/// though the receiver was down until then.
#[tokio::test]
async fn sigkill_right_after_register_still_delivers_the_event_after_restart() {
    use crate::receiver::Receiver;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (backend, db) = backend_args().await;
    let mut args: Vec<&str> = backend.iter().map(String::as_str).collect();
    args.extend(["--webhook-allow-private", "--webhook-retry-schedule", "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s"]);
    let mut s = ServerProc::start_with(Some(&data), dir.path(), "info", &args).await;
    let (token, app_id) = s.seller_and_app().await;
    let (st, app) =
        s.call(reqwest::Method::GET, &format!("/v1/admin/apps/{app_id}"), Some(&token), None).await.unwrap();
    assert_eq!(st, 200, "{app}");
    let api_key = app["data"]["apiKey"].as_str().unwrap().to_owned();
    let (st, b) = s
        .call(
            reqwest::Method::POST,
            &format!("/v1/admin/apps/{app_id}/licenses"),
            Some(&token),
            Some(json!({"count": 1, "durationType": "30d"})),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{b}");
    let key = b["data"][0]["key"].as_str().unwrap().to_owned();

    // Nothing listens on the webhook's port until the server has been killed.
    let port = free_port();
    let (st, b) = s
        .call(
            reqwest::Method::POST,
            &format!("/v1/admin/apps/{app_id}/webhooks"),
            Some(&token),
            Some(json!({"url": format!("http://localhost:{port}/hook"), "events": ["user.register"]})),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{b}");

    let body = json!({"type": "register", "appId": app_id, "apiKey": api_key, "username": "durable",
                      "password": "correct horse battery", "licenseKey": key, "hwid": "HW-1"});
    let (st, b) = s.call(reqwest::Method::POST, "/v1", None, Some(body)).await.unwrap();
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["success"], true, "{b}");
    s.child.start_kill().unwrap(); // SIGKILL, right after the acknowledgement
    let status = s.wait(Duration::from_secs(30)).await;
    assert_eq!(status.code(), None, "killed by a signal");

    let receiver = Receiver::start_on(port).await;
    let _s2 = ServerProc::start_with(Some(&data), dir.path(), "info", &args).await;
    let got = receiver.wait_for_event("user.register", 1).await;
    let event = got[0].json();
    assert_eq!(event["data"]["username"], "durable", "{event}");
    assert_eq!(event["data"]["appId"], app_id.as_str(), "{event}");
    // Once: a later look finds no second copy.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.events("user.register").len(), 1);
    drop(_s2);
    if let Some(db) = db {
        db.drop().await;
    }
}
