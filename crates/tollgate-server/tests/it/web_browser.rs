//! The dashboard in a real browser: headless Chromium driven over WebDriver (`chromedriver`),
//! against the real server. The flows a seller goes through (sign up, create an app, a setting
//! refused then saved, licenses generated, found and banned, a live session that shows up by
//! itself and is killed, the overview's chart), sign-in with the keyboard alone, no sideways
//! scrolling at 360 px, and screenshots of the main pages under `target/screenshots/<backend>/`.
//!
//! Without `chromedriver` these tests print why and pass, unless `TOLLGATE_BROWSER_TESTS=1`
//! (as CI sets), where they fail. `TOLLGATE_CHROMEDRIVER` / `TOLLGATE_CHROMIUM` name other
//! binaries than `/usr/bin/chromedriver` / `/usr/bin/chromium`.

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::authly::{self, ClientApp};
use crate::harness::{SellerLogin, TestServer};

const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (360, 800);
/// How long a page may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(15);

/// One browser at a time: the tests run in parallel threads and Chromium is heavy.
static ONE_AT_A_TIME: Semaphore = Semaphore::const_new(1);

fn chromedriver() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TOLLGATE_CHROMEDRIVER") {
        return Some(PathBuf::from(p));
    }
    let fixed = PathBuf::from("/usr/bin/chromedriver");
    if fixed.exists() {
        return Some(fixed);
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("chromedriver")).find(|p| p.exists()))
}

fn chromium() -> Option<String> {
    std::env::var("TOLLGATE_CHROMIUM").ok().or_else(|| {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .iter()
            .find(|p| std::path::Path::new(p).exists())
            .map(|p| p.to_string())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `chromedriver` of our own, in its own process group so that the Chromium it starts goes
/// with it when the test ends (even by a failed assertion).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let pid = self.0.id() as i32;
        // SAFETY: signals the process group this test created (its leader is our child).
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// A Chromium window on the test server.
struct Browser<'a> {
    c: Client,
    srv: &'a TestServer,
    _driver: Driver,
    _permit: SemaphorePermit<'static>,
}

/// A browser on `srv`, `size` wide and high; `None` (after saying why) when there is no
/// chromedriver here and the browser tests are not required.
async fn browser(srv: &TestServer, size: (u32, u32)) -> Option<Browser<'_>> {
    let required = std::env::var("TOLLGATE_BROWSER_TESTS").is_ok_and(|v| v == "1");
    let Some(driver) = chromedriver() else {
        assert!(
            !required,
            "TOLLGATE_BROWSER_TESTS=1 but chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "browser test skipped: no chromedriver (apt-get install chromium chromium-driver; TOLLGATE_BROWSER_TESTS=1 makes this a failure)"
        );
        return None;
    };
    let permit = ONE_AT_A_TIME.acquire().await.unwrap();
    let port = free_port();
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
    let driver = Driver(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut options = json!({
        "args": [
            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--no-first-run", "--disable-extensions", "--hide-scrollbars",
            format!("--window-size={},{}", size.0, size.1),
        ],
    });
    if let Some(bin) = chromium() {
        options["binary"] = json!(bin);
    }
    if size.0 < 600 {
        // A phone: the viewport itself is `size` (a desktop window cannot be made that narrow
        // everywhere), laid out as a phone lays out a page with `width=device-width`.
        options["mobileEmulation"] = json!({ "deviceMetrics": { "width": size.0, "height": size.1, "pixelRatio": 1 } });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let c = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session on chromedriver");
    let b = Browser { c, srv, _driver: driver, _permit: permit };
    if size.0 >= 600 {
        b.resize(size).await;
    }
    Some(b)
}

/// The test's browser, or return from the test (no chromedriver, not required).
macro_rules! browser_or_skip {
    ($srv:expr, $size:expr) => {
        match browser($srv, $size).await {
            Some(b) => b,
            None => return,
        }
    };
}

impl Browser<'_> {
    async fn close(self) {
        let Browser { c, _driver, .. } = self;
        let _ = c.close().await;
    }

    /// The viewport made `w` x `h` CSS pixels (the window is sized around it).
    async fn resize(&self, (w, h): (u32, u32)) {
        self.c.set_window_size(w, h).await.unwrap();
        // The window includes the browser's frame: grow it until the viewport has the size.
        for _ in 0..3 {
            let inner = self.js("return [window.innerWidth, window.innerHeight]").await;
            let (iw, ih) = (inner[0].as_u64().unwrap() as u32, inner[1].as_u64().unwrap() as u32);
            if iw == w && ih == h {
                break;
            }
            let (ow, oh) = self.c.get_window_size().await.unwrap();
            self.c.set_window_size(ow as u32 + w - iw.min(w), oh as u32 + h - ih.min(h)).await.unwrap();
            if iw > w || ih > h {
                break;
            }
        }
    }

    async fn js(&self, script: &str) -> Value {
        self.c.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Load `path` of the test server.
    async fn goto(&self, path: &str) {
        self.c.goto(&self.srv.url(path)).await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    }

    /// The path (and query) of the page shown.
    async fn path(&self) -> String {
        let u = self.c.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    /// The element `css` once it is there.
    async fn find(&self, css: &str) -> Element {
        match self.c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => {
                let src = self.c.source().await.unwrap_or_default();
                panic!("no {css:?} on {} ({e}); page:\n{src}", self.path().await)
            }
        }
    }

    async fn all(&self, css: &str) -> Vec<Element> {
        self.c.find_all(Locator::Css(css)).await.unwrap()
    }

    async fn exists(&self, css: &str) -> bool {
        !self.all(css).await.is_empty()
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap().trim().to_owned()
    }

    async fn value(&self, css: &str) -> String {
        self.find(css).await.prop("value").await.unwrap().unwrap_or_default()
    }

    /// Type `text` into the field `css` (emptied first).
    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Click `css` and wait for the next page to have loaded (accepting a `data-confirm`
    /// question on the way).
    async fn click_to_load(&self, css: &str) {
        let e = self.find(css).await;
        self.js("window.__tgOld = true").await;
        e.click().await.unwrap_or_else(|err| panic!("click {css:?}: {err}"));
        self.wait_new_page(css).await;
    }

    async fn wait_new_page(&self, what: &str) {
        let started = Instant::now();
        loop {
            let _ = self.c.accept_alert().await;
            if let Ok(v) = self
                .c
                .execute("return window.__tgOld === undefined && document.readyState === 'complete'", vec![])
                .await
            {
                if v == json!(true) {
                    return;
                }
            }
            assert!(started.elapsed() < WAIT, "no new page after {what:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until `cond` (a JavaScript expression) is true on the page.
    async fn wait_js(&self, cond: &str, what: &str) {
        let started = Instant::now();
        loop {
            if self.js(&format!("return !!({cond})")).await == json!(true) {
                return;
            }
            if started.elapsed() > WAIT {
                let src = self.c.source().await.unwrap_or_default();
                panic!("waited in vain for {what} ({cond}) on {}; page:\n{src}", self.path().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The id of the focused element.
    async fn focused_id(&self) -> String {
        self.c.active_element().await.unwrap().attr("id").await.unwrap().unwrap_or_default()
    }

    /// Press keys on whatever has the focus.
    async fn keys(&self, text: &str) {
        self.c.active_element().await.unwrap().send_keys(text).await.unwrap();
    }

    /// Save the page as `target/screenshots/<backend>/<name>.png`.
    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots").join(self.srv.backend());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// The page scrolls sideways on a `width` px screen: `(scrollWidth, innerWidth)` when it
    /// does (a phone browser zooms out a page wider than the screen: innerWidth grows then).
    async fn overflow(&self, width: u64) -> Option<(u64, u64)> {
        let v = self.js("return [document.documentElement.scrollWidth, window.innerWidth]").await;
        let (sw, iw) = (v[0].as_u64().unwrap(), v[1].as_u64().unwrap());
        (sw > iw || iw > width).then_some((sw, iw))
    }

    /// The page shown is `path`, or the test fails showing the page's text.
    async fn assert_path(&self, path: &str, what: &str) {
        let at = self.path().await;
        if at != path {
            let text = self.js("return document.body ? document.body.innerText : ''").await;
            let cookies: Vec<String> =
                self.c.get_all_cookies().await.unwrap_or_default().iter().map(|c| c.name().to_owned()).collect();
            panic!(
                "{what}: on {at}, not {path}; cookies {cookies:?}; the page says:\n{}",
                text.as_str().unwrap_or_default()
            );
        }
    }

    /// Sign in through the form as `seller` (password "correct horse", as the harness sets).
    async fn sign_in(&self, seller: &SellerLogin) {
        self.goto("/login").await;
        self.fill("#email", &seller.email).await;
        self.fill("#password", "correct horse").await;
        self.click_to_load("form[action='/login'] button[type=submit]").await;
        self.assert_path("/apps", "signed in").await;
    }
}

/// The app's licenses through the admin API.
async fn licenses(srv: &TestServer, app: &ClientApp) -> Vec<Value> {
    let r = srv.get(&format!("/v1/admin/apps/{}/licenses?limit=100", app.id), &app.seller.token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().clone()
}

async fn app_settings(srv: &TestServer, app: &ClientApp) -> Value {
    let r = srv.get(&format!("/v1/admin/apps/{}", app.id), &app.seller.token).await;
    r.assert_status(200);
    r.data().clone()
}

#[tokio::test]
async fn sign_up_create_an_app_and_sign_out() {
    let srv = TestServer::start().await;
    let b = browser_or_skip!(&srv, DESKTOP);
    b.goto("/apps").await;
    assert!(b.path().await.starts_with("/login"), "signed out: sent to sign in, not {}", b.path().await);
    b.click_to_load("a[href='/signup']").await;
    assert_eq!(b.path().await, "/signup");
    b.fill("#name", "Ann Seller").await;
    b.fill("#email", "ann@example.com").await;
    b.fill("#password", "correct horse 1").await;
    b.click_to_load("form[action='/signup'] button[type=submit]").await;
    b.assert_path("/apps", "signed up and in").await;
    b.find("#no-apps").await;

    b.fill("#app-name", "Browser App").await;
    b.click_to_load("#create-app").await;
    let at = b.path().await;
    assert!(at.starts_with("/apps/"), "the new app's page: {at}");
    b.goto("/apps").await;
    let list = b.text("#apps").await;
    assert!(list.contains("Browser App"), "apps list: {list}");

    // the account exists on the server: its email signs in through the API
    let r = srv
        .req(
            reqwest::Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "ann@example.com", "password": "correct horse 1"})),
        )
        .await;
    r.assert_status(200);

    b.click_to_load("#sign-out").await;
    assert_eq!(b.path().await, "/login");
    b.goto("/apps").await;
    assert!(b.path().await.starts_with("/login"), "signed out for good: {}", b.path().await);
    b.close().await;
    srv.stop().await;
}

#[tokio::test]
async fn sign_in_with_the_keyboard_alone() {
    let srv = TestServer::start().await;
    let seller = srv.seller().await;
    let b = browser_or_skip!(&srv, DESKTOP);
    b.goto("/login").await;
    // To the email field by Tab from wherever the focus starts (the field has autofocus).
    let mut tabs = 0;
    while b.focused_id().await != "email" {
        assert!(tabs < 12, "Tab never reaches the email field");
        b.keys(&Key::Tab.to_string()).await;
        tabs += 1;
    }
    b.keys(&seller.email).await;
    b.keys(&Key::Tab.to_string()).await;
    assert_eq!(b.focused_id().await, "password", "Tab goes from email to password");
    b.keys("correct horse").await;
    b.js("window.__tgOld = true").await;
    b.keys(&Key::Enter.to_string()).await;
    b.wait_new_page("Enter").await;
    b.assert_path("/apps", "Enter submits the sign-in form").await;
    b.find("#create-app").await;
    b.close().await;
    srv.stop().await;
}

#[tokio::test]
async fn a_bad_setting_is_refused_beside_its_field_then_a_good_one_saved() {
    let srv = TestServer::start().await;
    let app = authly::client_app(&srv).await;
    let b = browser_or_skip!(&srv, DESKTOP);
    b.sign_in(&app.seller).await;
    let before = app_settings(&srv, &app).await["sessionQuota"].clone();
    b.goto(&format!("/apps/{}/settings", app.id)).await;
    b.find("#settings-form").await;
    b.fill("#sessionQuota", "-1").await;
    // The server's rule is what is tested: the browser's own checks (min=...) are turned off.
    b.js("document.getElementById('settings-form').noValidate = true").await;
    b.click_to_load("#save-settings").await;
    let err = b.text("#sessionQuota-error").await;
    assert!(!err.is_empty(), "an error beside the field");
    assert_eq!(b.find("#sessionQuota").await.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    assert_eq!(b.value("#sessionQuota").await, "-1", "what was typed is kept");
    assert_eq!(app_settings(&srv, &app).await["sessionQuota"], before, "nothing written");

    b.fill("#sessionQuota", "5").await;
    b.click_to_load("#save-settings").await;
    b.find("#flash").await;
    assert!(!b.exists("#sessionQuota-error").await);
    assert_eq!(app_settings(&srv, &app).await["sessionQuota"], 5, "saved");
    b.goto(&format!("/apps/{}/settings", app.id)).await;
    assert_eq!(b.value("#sessionQuota").await, "5");
    b.close().await;
    srv.stop().await;
}

#[tokio::test]
async fn generate_licenses_find_one_by_key_and_ban_it() {
    let srv = TestServer::start().await;
    let app = authly::client_app(&srv).await;
    let b = browser_or_skip!(&srv, DESKTOP);
    b.sign_in(&app.seller).await;
    b.goto(&format!("/apps/{}/licenses", app.id)).await;
    b.fill("#count", "3").await;
    b.click_to_load("#generate").await;
    b.find(".new-key").await;
    let mut keys = Vec::new();
    for e in b.all(".new-key").await {
        keys.push(e.text().await.unwrap().trim().to_owned());
    }
    assert_eq!(keys.len(), 3, "three new keys shown: {keys:?}");
    assert_eq!(licenses(&srv, &app).await.len(), 3, "three licenses stored");

    let key = keys[1].clone();
    b.goto(&format!("/apps/{}/licenses", app.id)).await;
    b.fill("#search", &key).await;
    b.click_to_load("#apply-filter").await;
    let rows = b.all("#licenses tr[data-key]").await;
    assert_eq!(rows.len(), 1, "the search finds one license");
    assert_eq!(rows[0].attr("data-key").await.unwrap().as_deref(), Some(key.as_str()));

    b.click_to_load(&format!("#licenses tr[data-key='{key}'] a")).await;
    let status = b.text("#license-status").await;
    assert!(!status.to_uppercase().contains("BANNED"), "not banned yet: {status}");
    b.fill("#ban-reason", "chargeback").await;
    b.click_to_load("#ban").await;
    b.wait_js("document.querySelector('#license-status') && document.querySelector('#license-status').textContent.toUpperCase().includes('BANNED')", "the status to read BANNED").await;
    let stored = licenses(&srv, &app).await;
    let lic = stored.iter().find(|l| l["key"] == key.as_str()).expect("the license");
    assert_eq!(lic["status"], "BANNED", "banned on the server: {lic}");
    assert!(stored.iter().filter(|l| l["status"] == "BANNED").count() == 1, "only that one");
    b.close().await;
    srv.stop().await;
}

#[tokio::test]
async fn a_live_session_shows_up_by_itself_and_is_killed() {
    let srv = TestServer::start().await;
    let app = authly::client_app(&srv).await;
    let b = browser_or_skip!(&srv, DESKTOP);
    b.sign_in(&app.seller).await;
    b.goto(&format!("/apps/{}/sessions", app.id)).await;
    b.find("#sessions").await;
    b.find("#no-sessions").await;
    // A mark on this document: still there later means the page was not reloaded.
    b.js("window.__tgSame = 'yes'").await;

    let sid = authly::init(&srv, &app).await;
    b.wait_js("document.querySelector('#sessions tr[data-session-id]')", "the new session's row").await;
    assert_eq!(b.js("return window.__tgSame").await, json!("yes"), "the row came without a reload");
    assert_eq!(b.all("#sessions tr[data-session-id]").await.len(), 1);
    assert!(!b.exists("#no-sessions").await);

    b.click_to_load("#sessions tr[data-session-id] .kill-session").await;
    b.find("#no-sessions").await;
    assert!(!b.exists("#sessions tr[data-session-id]").await, "the killed session is gone");
    assert!(crate::authly_init::sessions(&srv, &app).await.is_empty(), "no live session on the server");

    let r = authly::call(&srv, "validate-session", json!({ "session_id": sid })).await;
    assert!(
        !(r.status.as_u16() == 200 && r.body["valid"] == true),
        "the killed session is refused: {} {}",
        r.status,
        r.body
    );
    b.close().await;
    srv.stop().await;
}

#[tokio::test]
async fn the_overview_chart_shows_the_calls() {
    let srv = TestServer::start().await;
    let app = authly::client_app(&srv).await;
    for _ in 0..3 {
        authly::init(&srv, &app).await;
    }
    let b = browser_or_skip!(&srv, DESKTOP);
    b.sign_in(&app.seller).await;
    // The recorder's worker writes the counts every few seconds: reload until they are there.
    let started = Instant::now();
    loop {
        b.goto(&format!("/apps/{}", app.id)).await;
        b.find("svg#chart-activity-24h").await;
        if b.exists("svg#chart-activity-24h rect.bar:not([data-value='0'])").await {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no bar with a count in the 24 h chart after 30 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let bars = b.all("svg#chart-activity-24h rect.bar").await;
    assert!(!bars.is_empty(), "bars in the 24 h chart");
    let mut total = 0u64;
    for bar in &bars {
        total += bar.attr("data-value").await.unwrap().unwrap_or_default().parse::<u64>().unwrap_or(0);
    }
    assert!(total >= 3, "the bars count the three inits: {total}");
    let shown = b.js("const r = document.querySelector('svg#chart-activity-24h rect.bar[data-value]:not([data-value=\"0\"])'); return r ? r.getBoundingClientRect().height : 0").await;
    assert!(shown.as_f64().unwrap_or(0.0) > 0.0, "a non-zero bar is drawn with a height");
    b.close().await;
    srv.stop().await;
}

/// The main pages at desktop and phone width: screenshots of each, and none scrolls sideways
/// at 360 px.
#[tokio::test]
async fn main_pages_at_desktop_and_phone_width() {
    let srv = TestServer::start().await;
    let app = authly::client_app(&srv).await;
    authly::keys(&srv, &app, 30, json!({ "note": "screenshot batch" })).await;
    authly::init(&srv, &app).await;
    authly::init(&srv, &app).await;
    let lic = licenses(&srv, &app).await[0]["id"].as_str().unwrap().to_owned();
    let a = format!("/apps/{}", app.id);
    let pages: Vec<(&str, String)> = vec![
        ("apps", "/apps".into()),
        ("overview", a.clone()),
        ("settings", format!("{a}/settings")),
        ("licenses", format!("{a}/licenses")),
        ("license", format!("{a}/licenses/{lic}")),
        ("users", format!("{a}/users")),
        ("sessions", format!("{a}/sessions")),
        ("variables", format!("{a}/variables")),
        ("files", format!("{a}/files")),
        ("resellers", format!("{a}/resellers")),
        ("blacklist", format!("{a}/blacklist")),
        ("webhooks", format!("{a}/webhooks")),
        ("logs", format!("{a}/logs")),
        ("audit", "/audit".into()),
        ("signing-key", "/signing-key".into()),
    ];
    // Which pages answer at all (a missing one fails the test below, by name).
    let web = crate::web::Web::signed_in(&srv, &app.seller).await;
    let mut missing = Vec::new();
    let mut absent = Vec::new();
    for (name, path) in &pages {
        let status = web.get(path).await.status;
        if status != 200 {
            missing.push(format!("{name} ({path}): {status}"));
            absent.push(*name);
        }
    }

    let mut overflowing = Vec::new();
    for (label, size) in [("desktop", DESKTOP), ("phone", PHONE)] {
        let b = browser_or_skip!(&srv, size);
        b.goto("/login").await;
        b.find("#email").await;
        b.shot(&format!("login-{label}")).await;
        if label == "phone" {
            assert_eq!(b.js("return screen.width").await, json!(360), "a 360 px screen");
            if let Some(o) = b.overflow(PHONE.0 as u64).await {
                overflowing.push(format!("login: {o:?}"));
            }
        }
        b.sign_in(&app.seller).await;
        for (name, path) in &pages {
            if absent.contains(name) {
                continue;
            }
            b.goto(path).await;
            b.find("main").await;
            b.shot(&format!("{name}-{label}")).await;
            if label == "phone" {
                if let Some(o) = b.overflow(PHONE.0 as u64).await {
                    overflowing.push(format!("{name} ({path}): scrollWidth {} > innerWidth {}", o.0, o.1));
                }
            }
        }
        // Settings with an error beside a field.
        b.goto(&format!("{a}/settings")).await;
        if b.exists("#settings-form").await {
            b.fill("#licenseFileTtl", "5").await;
            b.js("document.getElementById('settings-form').noValidate = true").await;
            b.click_to_load("#save-settings").await;
            b.find("#licenseFileTtl-error").await;
            b.shot(&format!("settings-error-{label}")).await;
            if label == "phone" {
                if let Some(o) = b.overflow(PHONE.0 as u64).await {
                    overflowing.push(format!("settings with an error: {o:?}"));
                }
            }
        }
        b.close().await;
    }
    assert!(missing.is_empty(), "pages that do not answer 200: {missing:#?}");
    assert!(overflowing.is_empty(), "pages wider than a 360 px phone: {overflowing:#?}");
    srv.stop().await;
}
