//! The loader builder (`/v1/builder/*`) and the loaders it hands out, run as real child
//! processes against the real server: each authType, the protected program downloaded, checked
//! and run (or saved), and the refusals: wrong credentials, a rotated key, another server, a
//! tampered download. Every builder error answers a clear 4xx.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tollgate_core::loader_config::{self, AuthType, LoaderConfig};

use crate::harness::{SellerLogin, TestServer};

const HOST: &str = "loader_rust_linux_x86_64";
const MARKER: &str = "PROTECTED-PROGRAM-RAN";
const SCRIPT: &str = "#!/bin/sh\necho \"PROTECTED-PROGRAM-RAN args=[$*] user=[$TOLLGATE_USERNAME] session=[${TOLLGATE_SESSION:+set}]\"\nexit 0\n";
const PASSWORD: &str = "hunter2 but longer";

/// The debug (or release) `tollgate-loader` beside this test binary, built first so it is the
/// current one: `<target>/<profile>/deps/it-xxx` → `<target>/<profile>/tollgate-loader`.
fn loader_template() -> &'static Path {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
        let path = profile_dir.join("tollgate-loader");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "tollgate-loader", "--manifest-path"]).arg(&manifest);
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => {}
            Some("release") => {
                cmd.arg("--release");
            }
            Some(other) => {
                cmd.args(["--profile", other]);
            }
            None => {}
        }
        let built = cmd.status().map(|s| s.success()).unwrap_or(false);
        assert!(
            path.is_file(),
            "no loader template at {} (cargo build -p tollgate-loader {}): build it with `cargo build -p tollgate-loader` or run `cargo test --workspace`",
            path.display(),
            if built { "succeeded" } else { "failed" }
        );
        path
    })
}

/// Put the loader template into the server's `<data_dir>/templates/` under `name`.
fn install_template(s: &TestServer, name: &str) {
    let dir = s.dir.path().join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(loader_template(), dir.join(name)).unwrap();
}

struct Fixture {
    s: TestServer,
    seller: SellerLogin,
    app_id: String,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::on(TestServer::start_public(|_| {}).await).await
    }

    async fn on(s: TestServer) -> Fixture {
        install_template(&s, HOST);
        let seller = s.seller().await;
        let app_id = s.create_app(&seller, "Loader App").await["id"].as_str().unwrap().to_owned();
        Fixture { s, seller, app_id }
    }

    async fn upload(&self, name: &str, bytes: &[u8]) -> String {
        let form = Form::new().part("file", Part::bytes(bytes.to_vec()).file_name(name.to_owned()));
        let res = self
            .s
            .http
            .post(self.s.url(&format!("/v1/admin/apps/{}/files", self.app_id)))
            .bearer_auth(&self.seller.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let r = TestServer::into_resp(res).await;
        r.assert_status(201);
        r.data()["id"].as_str().unwrap().to_owned()
    }

    async fn license_key(&self) -> String {
        let r = self
            .s
            .post(
                &format!("/v1/admin/apps/{}/licenses", self.app_id),
                &self.seller.token,
                json!({"count": 1, "durationType": "30d"}),
            )
            .await;
        r.assert_status(201);
        let keys = r.data()["keys"].as_array().or_else(|| r.data().as_array()).cloned().unwrap();
        keys[0].as_str().map(str::to_owned).unwrap_or_else(|| keys[0]["key"].as_str().unwrap().to_owned())
    }

    async fn user(&self, username: &str) {
        let hash = tollgate_core::password::hash(PASSWORD).unwrap();
        let u = crate::harness::user_row(&self.app_id, username, hash);
        self.s.state.store.create_user(&u, &[]).await.unwrap();
    }

    async fn build(&self, body: Value) -> reqwest::Response {
        self.s
            .http
            .post(self.s.url("/v1/builder/build"))
            .bearer_auth(&self.seller.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Build a loader and return its bytes.
    async fn loader(&self, auth_type: &str, file_id: Option<&str>) -> Vec<u8> {
        let mut body = json!({"appId": self.app_id, "language": "rust", "title": "Loader Test", "authType": auth_type});
        if let Some(id) = file_id {
            body["fileId"] = json!(id);
        }
        let res = self.build(body).await;
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap().to_vec()
    }
}

/// The configuration written into a built loader.
fn embedded(bytes: &[u8]) -> LoaderConfig {
    let at = loader_config::find_marker(bytes).unwrap();
    loader_config::read(&bytes[at..]).unwrap().expect("a configured loader")
}

/// The same loader pointed at another URL.
fn repoint(bytes: &mut [u8], url: &str) {
    let mut config = embedded(bytes);
    config.url = url.to_owned();
    loader_config::write(bytes, &config).unwrap();
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Write `bytes` to an executable file in a fresh folder, run it there with `args` and `stdin`.
async fn run_loader(bytes: &[u8], stdin: &str, args: &[&str]) -> (Run, tempfile::TempDir) {
    let cwd = tempfile::tempdir().unwrap();
    let bin_dir = tempfile::tempdir().unwrap();
    let path = bin_dir.path().join("Loader_Test_loader");
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o755).open(&path).unwrap();
        std::io::Write::write_all(&mut f, bytes).unwrap();
    }
    // Another test's fork may still hold the file open for writing for a moment: ETXTBSY.
    let mut child = None;
    for _ in 0..50 {
        match tokio::process::Command::new(&path)
            .args(args)
            .current_dir(cwd.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => {
                child = Some(c);
                break;
            }
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => panic!("cannot start the loader: {e}"),
        }
    }
    let mut child = child.expect("the loader never started (text file busy)");
    let mut input = child.stdin.take().unwrap();
    // A loader that stops before asking (server unreachable) closes its stdin: a broken pipe.
    if let Err(e) = input.write_all(stdin.as_bytes()).await {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing the loader's stdin: {e}");
    }
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the loader did not finish within 60 s")
        .unwrap();
    drop(bin_dir);
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (run, cwd)
}

#[track_caller]
fn assert_ran(run: &Run, user: &str) {
    assert_eq!(run.code, Some(0), "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert!(run.stdout.contains(MARKER), "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert!(run.stdout.contains(&format!("user=[{user}]")), "stdout: {}", run.stdout);
    assert!(run.stdout.contains("session=[set]"), "stdout: {}", run.stdout);
}

#[track_caller]
fn assert_refused(run: &Run, code: i32, message: &str) {
    assert_eq!(run.code, Some(code), "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert!(run.stderr.contains(message), "expected {message:?} in stderr: {}", run.stderr);
    assert!(!run.stdout.contains(MARKER), "the protected program ran: {}", run.stdout);
}

// ------------------------------------------------------------------------------ builder API

#[tokio::test]
async fn status_lists_the_templates_in_the_data_dir() {
    let fx = Fixture::new().await;
    // Not templates: no marker, and a name without the prefix.
    std::fs::write(fx.s.dir.path().join("templates/loader_rust_broken"), b"not a template").unwrap();
    std::fs::copy(loader_template(), fx.s.dir.path().join("templates/other_name")).unwrap();
    install_template(&fx.s, "loader_rust_windows_x86_64.exe");
    let r = fx.s.get("/v1/builder/status", &fx.seller.token).await;
    r.assert_status(200);
    assert_eq!(
        r.body,
        json!({"success": true, "templates": {HOST: true, "loader_rust_windows_x86_64.exe": true}}),
        "exactly that shape, no data wrapper"
    );
    let r = fx.s.req(Method::GET, "/v1/builder/status", None, None).await;
    r.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn build_writes_the_configuration_into_a_copy_of_the_template() {
    let fx = Fixture::new().await;
    let file_id = fx.upload("program.sh", SCRIPT.as_bytes()).await;
    let res = fx
        .build(json!({"appId": fx.app_id, "language": "rust", "fileId": file_id, "title": "My Tool v1/ü", "authType": "both"}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"My_Tool_v1___loader\"");
    let bytes = res.bytes().await.unwrap();
    let template = std::fs::read(loader_template()).unwrap();
    assert_eq!(bytes.len(), template.len(), "the same executable, the region rewritten");

    let app = fx.s.state.store.get_app(&fx.seller.id, &fx.app_id).await.unwrap().unwrap();
    let expected = LoaderConfig {
        url: fx.s.base.clone(),
        app_id: fx.app_id.clone(),
        api_key: app.api_key.clone(),
        public_key_pem: fx.s.state.signer.get().public_key_pem().to_owned(),
        title: "My Tool v1/ü".into(),
        auth_type: AuthType::Both,
        file_id: Some(file_id),
    };
    assert_eq!(embedded(&bytes), expected);
    // Outside the region, not a byte changed.
    let at = loader_config::find_marker(&bytes).unwrap();
    assert_eq!(bytes[..at], template[..at]);
    assert_eq!(bytes[at + loader_config::REGION_LEN..], template[at + loader_config::REGION_LEN..]);

    // A Windows template gives a `.exe`; the audit trail has the build, not the key.
    install_template(&fx.s, "loader_rust_windows_x86_64.exe");
    let res = fx
        .build(json!({"appId": fx.app_id, "language": "rust", "title": "Tool", "authType": "login", "template": "loader_rust_windows_x86_64.exe"}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"Tool_loader.exe\"");
    let audit = fx.s.get("/v1/admin/audit", &fx.seller.token).await;
    audit.assert_status(200);
    let text = audit.body.to_string();
    assert!(text.contains("loader.build"), "audit: {text}");
    assert!(!text.contains(&app.api_key), "the api key must not be in the audit trail");
}

#[tokio::test]
async fn builder_errors_are_clear_4xx() {
    let fx = Fixture::new().await;
    let ok = json!({"appId": fx.app_id, "language": "rust", "title": "T", "authType": "license"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let check = |r: crate::harness::Resp, status: u16, code: &str, contains: &str| {
        r.assert_error(status, code);
        assert!(r.body["message"].as_str().unwrap().contains(contains), "body: {}", r.body);
    };
    let t = &fx.seller.token;
    check(
        fx.s.post("/v1/builder/build", t, with("language", json!("cpp"))).await,
        400,
        "UNSUPPORTED_LANGUAGE",
        "language must be one of: rust",
    );
    check(
        fx.s.post("/v1/builder/build", t, with("template", json!("loader_rust_plan9_mips"))).await,
        404,
        "TEMPLATE_NOT_FOUND",
        HOST,
    );
    check(
        fx.s.post("/v1/builder/build", t, with("authType", json!("token"))).await,
        400,
        "VALIDATION_ERROR",
        "authType",
    );
    check(fx.s.post("/v1/builder/build", t, with("title", json!(""))).await, 400, "VALIDATION_ERROR", "title");
    check(
        fx.s.post("/v1/builder/build", t, with("title", json!("x".repeat(65)))).await,
        400,
        "VALIDATION_ERROR",
        "title",
    );

    // Another seller's app, and a file of another app.
    let other = fx.s.seller().await;
    let their_app = fx.s.create_app(&other, "Theirs").await["id"].as_str().unwrap().to_owned();
    check(
        fx.s.post("/v1/builder/build", t, with("appId", json!(their_app))).await,
        404,
        "APP_NOT_FOUND",
        "Application not found",
    );
    let my_other_app = fx.s.create_app(&fx.seller, "Second").await["id"].as_str().unwrap().to_owned();
    let form = Form::new().part("file", Part::bytes(b"x".to_vec()).file_name("x.bin"));
    let res =
        fx.s.http
            .post(fx.s.url(&format!("/v1/admin/apps/{my_other_app}/files")))
            .bearer_auth(t)
            .multipart(form)
            .send()
            .await
            .unwrap();
    let other_file = TestServer::into_resp(res).await.data()["id"].as_str().unwrap().to_owned();
    check(
        fx.s.post("/v1/builder/build", t, with("fileId", json!(other_file))).await,
        404,
        "FILE_NOT_FOUND",
        "File not found",
    );
    // No bearer token.
    fx.s.req(Method::POST, "/v1/builder/build", None, Some(ok.clone())).await.assert_error(401, "UNAUTHORIZED");
    // None of that built anything.
    let audit = fx.s.get("/v1/admin/audit", t).await;
    assert!(!audit.body.to_string().contains("loader.build"), "audit: {}", audit.body);
    // The valid request builds.
    assert_eq!(fx.build(ok).await.status(), 200);
}

#[tokio::test]
async fn no_public_url_or_no_template_is_a_conflict() {
    // A server without public_url.
    let s = TestServer::start().await;
    install_template(&s, HOST);
    let seller = s.seller().await;
    let app = s.create_app(&seller, "A").await["id"].as_str().unwrap().to_owned();
    let body = json!({"appId": app, "language": "rust", "title": "T", "authType": "login"});
    let r = s.post("/v1/builder/build", &seller.token, body.clone()).await;
    r.assert_error(409, "PUBLIC_URL_REQUIRED");
    assert!(r.body["message"].as_str().unwrap().contains("TOLLGATE_PUBLIC_URL"), "body: {}", r.body);

    // A server with no template at all (none beside the test binary, none in data_dir).
    let s = TestServer::start_public(|_| {}).await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "A").await["id"].as_str().unwrap().to_owned();
    let r = s.get("/v1/builder/status", &seller.token).await;
    assert_eq!(r.body, json!({"success": true, "templates": {}}));
    let r = s
        .post(
            "/v1/builder/build",
            &seller.token,
            json!({"appId": app, "language": "rust", "title": "T", "authType": "login"}),
        )
        .await;
    r.assert_error(409, "NO_TEMPLATE");
    assert!(r.body["message"].as_str().unwrap().contains("templates/"), "body: {}", r.body);
}

// --------------------------------------------------------------------- the loader, end to end

#[tokio::test]
async fn license_loader_authenticates_downloads_and_runs_the_program() {
    let fx = Fixture::new().await;
    let file_id = fx.upload("program.sh", SCRIPT.as_bytes()).await;
    let key = fx.license_key().await;
    let loader = fx.loader("license", Some(&file_id)).await;
    let (run, _cwd) = run_loader(&loader, &format!("{key}\n"), &["one", "two"]).await;
    // A license sign-in has no username: TOLLGATE_USERNAME is unset.
    assert_ran(&run, "");
    assert!(run.stdout.contains("args=[one two]"), "stdout: {}", run.stdout);
    assert!(run.stderr.contains("Loader Test") && run.stderr.contains("License key: "), "stderr: {}", run.stderr);
    assert!(!run.stdout.contains(&embedded(&loader).api_key) && !run.stderr.contains(&embedded(&loader).api_key));

    // A wrong key: refused with the server's message, nothing run.
    let (run, _cwd) = run_loader(&loader, "NOT-A-REAL-KEY\n", &[]).await;
    assert_refused(&run, 1, "tollgate-loader: ");
}

#[tokio::test]
async fn login_loader_authenticates_and_runs_the_program() {
    let fx = Fixture::new().await;
    let file_id = fx.upload("program.sh", SCRIPT.as_bytes()).await;
    fx.user("alice").await;
    let loader = fx.loader("login", Some(&file_id)).await;
    let (run, _cwd) = run_loader(&loader, &format!("alice\n{PASSWORD}\n"), &[]).await;
    assert_ran(&run, "alice");
    assert!(run.stderr.contains("Username: ") && run.stderr.contains("Password: "), "stderr: {}", run.stderr);
    assert!(!run.stderr.contains(PASSWORD), "the password is never echoed back");

    let (run, _cwd) = run_loader(&loader, "alice\nwrong password\n", &[]).await;
    assert_refused(&run, 1, "tollgate-loader: ");
    // Closed stdin: nothing to sign in with.
    let (run, _cwd) = run_loader(&loader, "", &[]).await;
    assert_refused(&run, 1, "no username given");
}

#[tokio::test]
async fn both_loader_offers_each_way_in() {
    let fx = Fixture::new().await;
    let file_id = fx.upload("program.sh", SCRIPT.as_bytes()).await;
    fx.user("bob").await;
    let key = fx.license_key().await;
    let loader = fx.loader("both", Some(&file_id)).await;

    let (run, _cwd) = run_loader(&loader, &format!("1\n{key}\n"), &[]).await;
    assert_ran(&run, "");
    assert!(run.stderr.contains("[1] license key  [2] username and password"), "stderr: {}", run.stderr);

    // A wrong choice is asked again.
    let (run, _cwd) = run_loader(&loader, &format!("3\n2\nbob\n{PASSWORD}\n"), &[]).await;
    assert_ran(&run, "bob");
    assert!(run.stderr.contains("Please answer 1 or 2."), "stderr: {}", run.stderr);
}

#[tokio::test]
async fn a_file_that_is_not_a_program_is_saved_in_the_current_folder() {
    let fx = Fixture::new().await;
    let content = b"plain data, not a program\n".repeat(100);
    let file_id = fx.upload("notes.txt", &content).await;
    let key = fx.license_key().await;
    let loader = fx.loader("license", Some(&file_id)).await;
    let (run, dir) = run_loader(&loader, &format!("{key}\n"), &[]).await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(std::fs::read(dir.path().join("notes.txt")).unwrap(), content);
    assert!(run.stdout.contains("saved ") && run.stdout.contains("notes.txt"), "stdout: {}", run.stdout);
}

#[tokio::test]
async fn a_saved_file_never_replaces_one_already_there() {
    let fx = Fixture::new().await;
    let file_id = fx.upload("notes.txt", b"from the server").await;
    let loader = fx.loader("license", Some(&file_id)).await;
    let key = fx.license_key().await;
    // Run the loader twice in one folder: the second copy gets a suffix.
    let cwd = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let path = cwd.path().join("loader");
        std::fs::write(&path, &loader).unwrap();
        let out = run_in(&path, cwd.path(), &format!("{key}\n")).await;
        assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::remove_file(&path).unwrap();
    }
    assert_eq!(std::fs::read(cwd.path().join("notes.txt")).unwrap(), b"from the server");
    assert_eq!(std::fs::read(cwd.path().join("notes (1).txt")).unwrap(), b"from the server");
}

async fn run_in(path: &Path, cwd: &Path, stdin: &str) -> std::process::Output {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = loop {
        match tokio::process::Command::new(path)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => break c,
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => panic!("cannot start the loader: {e}"),
        }
    };
    let mut input = child.stdin.take().unwrap();
    // A loader that stops before asking (server unreachable) closes its stdin: a broken pipe.
    if let Err(e) = input.write_all(stdin.as_bytes()).await {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing the loader's stdin: {e}");
    }
    drop(input);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await.unwrap().unwrap()
}

#[tokio::test]
async fn without_a_file_the_loader_only_authenticates() {
    let fx = Fixture::new().await;
    let key = fx.license_key().await;
    let loader = fx.loader("license", None).await;
    let (run, _cwd) = run_loader(&loader, &format!("{key}\n"), &[]).await;
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stdout.trim(), "authenticated");
}

#[tokio::test]
async fn a_loader_refuses_a_server_signing_with_another_key() {
    let fx = Fixture::new().await;
    let file_id = fx.upload("program.sh", SCRIPT.as_bytes()).await;
    let key = fx.license_key().await;
    let loader = fx.loader("license", Some(&file_id)).await;

    // Another server: its answers are signed by its own key.
    let other = TestServer::start_public(|_| {}).await;
    let mut elsewhere = loader.clone();
    repoint(&mut elsewhere, &other.base);
    let (run, _cwd) = run_loader(&elsewhere, &format!("{key}\n"), &[]).await;
    assert_refused(&run, 3, "the server's answer is not signed by the key this loader trusts");

    // This server after a key rotation.
    let s = &fx.s;
    tollgate_server::signing::Signer::rotate(s.state.store.as_ref(), &s.state.master).await.unwrap();
    s.state.signer.refresh(s.state.store.as_ref(), &s.state.master).await;
    let (run, _cwd) = run_loader(&loader, &format!("{key}\n"), &[]).await;
    assert_refused(&run, 3, "the server's answer is not signed by the key this loader trusts");
}

#[tokio::test]
async fn a_tampered_download_is_refused_and_not_run() {
    let fx = Fixture::new().await;
    let file_id = fx.upload("program.sh", SCRIPT.as_bytes()).await;
    let key = fx.license_key().await;
    let mut loader = fx.loader("license", Some(&file_id)).await;
    let proxy = TamperProxy::start(&fx.s.base).await;
    repoint(&mut loader, &proxy.base);
    let (run, _cwd) = run_loader(&loader, &format!("{key}\n"), &[]).await;
    assert_refused(&run, 4, "the download was tampered with");
    assert!(proxy.flipped.load(std::sync::atomic::Ordering::SeqCst) > 0, "the proxy never saw the download");
}

#[tokio::test]
async fn an_unreachable_server_is_a_network_failure() {
    let fx = Fixture::new().await;
    let mut loader = fx.loader("license", None).await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    repoint(&mut loader, &url);
    let (run, _cwd) = run_loader(&loader, "KEY\n", &[]).await;
    assert_refused(&run, 5, "cannot reach the server");
}

/// A proxy between the loader and the server that forwards everything and flips one byte of
/// every file download's body.
struct TamperProxy {
    base: String,
    flipped: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl TamperProxy {
    async fn start(upstream: &str) -> TamperProxy {
        use axum::body::Bytes;
        use axum::extract::Request;
        use axum::response::IntoResponse;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let flipped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let upstream = upstream.to_owned();
        let counter = flipped.clone();
        let http = reqwest::Client::new();
        let app = axum::Router::new().fallback(move |req: Request| {
            let (upstream, counter, http) = (upstream.clone(), counter.clone(), http.clone());
            async move {
                let (parts, body) = req.into_parts();
                let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let path = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
                let mut out = http.request(parts.method.clone(), format!("{upstream}{path}")).body(body);
                for (name, value) in &parts.headers {
                    if name != "host" && name != "content-length" {
                        out = out.header(name, value);
                    }
                }
                let res = out.send().await.unwrap();
                let status = res.status();
                let headers = res.headers().clone();
                let mut bytes = res.bytes().await.unwrap().to_vec();
                if parts.uri.path().starts_with("/v1/files/download/") && status.is_success() && !bytes.is_empty() {
                    let last = bytes.len() - 1;
                    bytes[last] ^= 0x01;
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                let mut response = (status, bytes).into_response();
                for (name, value) in &headers {
                    if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                        response.headers_mut().insert(name, value.clone());
                    }
                }
                response
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TamperProxy { base, flipped, _task: task }
    }
}
