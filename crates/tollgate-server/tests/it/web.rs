//! The dashboard over real HTTP: a browser-like client (cookies, CSRF field, no redirects
//! followed) and the sign-in, sign-up and sign-out pages. The other pages' tests are in
//! `web_*.rs` and use [`Web`].

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};

use crate::harness::{SellerLogin, TestServer};

/// A page as the browser got it.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "status; body:\n{}", self.body);
        self
    }

    /// A 303 to `to`.
    #[track_caller]
    pub fn assert_redirect(&self, to: &str) -> &Self {
        assert_eq!(self.status, 303, "expected a redirect; body:\n{}", self.body);
        assert_eq!(self.location(), Some(to));
        self
    }

    #[track_caller]
    pub fn assert_contains(&self, text: &str) -> &Self {
        assert!(self.body.contains(text), "page does not contain {text:?}:\n{}", self.body);
        self
    }

    #[track_caller]
    pub fn assert_lacks(&self, text: &str) -> &Self {
        assert!(!self.body.contains(text), "page contains {text:?}:\n{}", self.body);
        self
    }

    /// The `Set-Cookie` header that sets `name`, whole.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

/// A browser: keeps cookies, follows no redirect, and fills in the CSRF field of every form
/// it posts (unless told not to).
pub struct Web<'a> {
    pub srv: &'a TestServer,
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl<'a> Web<'a> {
    pub fn new(srv: &'a TestServer) -> Web<'a> {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Web { srv, http, cookies: Mutex::new(BTreeMap::new()) }
    }

    /// A browser signed in as `seller` (through the sign-in form).
    pub async fn signed_in(srv: &'a TestServer, seller: &SellerLogin) -> Web<'a> {
        let web = Web::new(srv);
        web.get("/login").await.assert_status(200);
        web.post("/login", &[("email", &seller.email), ("password", "correct horse"), ("next", "/apps")])
            .await
            .assert_redirect("/apps");
        web
    }

    /// A new seller signed up through the API, and a browser signed in as them.
    pub async fn new_seller(srv: &'a TestServer) -> (Web<'a>, SellerLogin) {
        let seller = srv.seller().await;
        (Web::signed_in(srv, &seller).await, seller)
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.lock().unwrap().insert(name.to_owned(), value.to_owned());
    }

    /// The CSRF token the pages' forms carry (the browser must have loaded a page first).
    pub fn csrf(&self) -> String {
        self.cookie("tollgate_csrf").expect("load a page first: no CSRF cookie yet")
    }

    fn cookie_header(&self) -> String {
        self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = req.header(COOKIE, self.cookie_header());
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for v in headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let first = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = first.split_once('=') {
                let max_age_zero = v.contains("Max-Age=0");
                let mut jar = self.cookies.lock().unwrap();
                if max_age_zero {
                    jar.remove(k);
                } else {
                    jar.insert(k.to_owned(), val.to_owned());
                }
            }
        }
        let body = res.text().await.unwrap();
        Page { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.http.get(self.srv.url(path))).await
    }

    /// POST a form with the CSRF field filled in.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        if self.cookie("tollgate_csrf").is_none() {
            self.get("/login").await;
        }
        let csrf = self.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POST a form exactly as given (no CSRF field added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(self.http.post(self.srv.url(path)).form(fields)).await
    }

    /// POST a multipart form (an upload) with the CSRF token in `X-CSRF-Token`, as the page's
    /// script sends it.
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Page {
        let csrf = self.csrf();
        self.send(self.http.post(self.srv.url(path)).header("x-csrf-token", csrf).multipart(form)).await
    }

    /// Create an app through the dashboard; its id.
    pub async fn create_app(&self, name: &str) -> String {
        let page = self.post("/apps", &[("name", name)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        page.location().unwrap().trim_start_matches("/apps/").to_owned()
    }
}

#[tokio::test]
async fn sign_up_sign_in_and_out_with_cookie_attributes() {
    let srv = TestServer::start().await;
    let web = Web::new(&srv);
    // Not signed in: any page sends to the sign-in page, remembering where it was going.
    web.get("/").await.assert_redirect("/apps");
    let first = web.get("/apps").await;
    first.assert_redirect("/login?next=%2Fapps");
    let csrf_cookie = first.set_cookie("tollgate_csrf").expect("the first page sets the CSRF cookie");
    let signup = web.get("/signup").await;
    signup.assert_status(200).assert_contains(&web.csrf());
    assert!(signup.set_cookie("tollgate_csrf").is_none(), "the CSRF cookie is set once");
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict"), "{csrf_cookie}");
    assert!(!csrf_cookie.contains("Secure"), "no Secure over plain http: {csrf_cookie}");

    // A bad field is shown beside the form, and nothing is created.
    let page = web.post("/signup", &[("name", "Ann"), ("email", "not-an-email"), ("password", "correct horse")]).await;
    page.assert_status(400).assert_contains("email").assert_contains("aria-invalid=\"true\"");
    let page =
        web.post("/signup", &[("name", "Ann"), ("email", "ann@example.com"), ("password", "correct horse")]).await;
    page.assert_redirect("/apps");
    let session = page.set_cookie("tollgate_session").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(session.contains(attr), "{attr} missing: {session}");
    }
    web.get("/apps").await.assert_status(200).assert_contains("No apps yet");
    // The same email again: refused on the form.
    let other = Web::new(&srv);
    other.get("/signup").await;
    other
        .post("/signup", &[("name", "Bob"), ("email", "ann@example.com"), ("password", "correct horse")])
        .await
        .assert_status(409)
        .assert_contains("already registered");

    // The dashboard cookie is not an API token.
    let token = web.cookie("tollgate_session").unwrap();
    srv.get("/v1/auth/profile", &token).await.assert_status(401);

    // Sign out: the cookie is cleared and the old token no longer works anywhere.
    let page = web.post("/logout", &[]).await;
    page.assert_redirect("/login");
    assert!(page.set_cookie("tollgate_session").unwrap().contains("Max-Age=0"));
    web.get("/login").await.assert_status(200).assert_contains("Signed out.");
    // Shown once.
    web.get("/login").await.assert_lacks("Signed out.");
    let stale = Web::new(&srv);
    stale.set_cookie("tollgate_session", &token);
    stale.get("/apps").await.assert_redirect("/login?next=%2Fapps");

    // Sign in again, and land where the sign-in page was asked to go.
    web.get("/login?next=/apps").await;
    web.post("/login", &[("email", "ann@example.com"), ("password", "correct horse"), ("next", "/apps")])
        .await
        .assert_redirect("/apps");
    // An outside address as `next` is ignored.
    let web2 = Web::new(&srv);
    web2.get("/login").await;
    web2.post("/login", &[("email", "ann@example.com"), ("password", "correct horse"), ("next", "//evil.example/x")])
        .await
        .assert_redirect("/apps");
}

#[tokio::test]
async fn cookies_are_secure_behind_an_https_public_url() {
    let srv = TestServer::start_with(|c| c.public_url = Some("https://licenses.example.com".into())).await;
    let seller = srv.seller().await;
    let web = Web::new(&srv);
    let csrf = web.get("/login").await.set_cookie("tollgate_csrf").unwrap();
    assert!(csrf.contains("; Secure"), "{csrf}");
    let page = web.post("/login", &[("email", &seller.email), ("password", "correct horse"), ("next", "/apps")]).await;
    assert!(page.set_cookie("tollgate_session").unwrap().contains("; Secure"));
}

#[tokio::test]
async fn every_form_needs_its_csrf_token() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    // No token, a wrong one, or a token with no cookie: 403 and nothing happens.
    web.post_raw("/apps", &[("name", "A")]).await.assert_status(403).assert_contains("CSRF");
    web.post_raw("/apps", &[("csrf", "0000000000000000000000000000000000000000"), ("name", "A")])
        .await
        .assert_status(403);
    let cookieless = Web::new(&srv);
    cookieless.set_cookie("tollgate_session", &web.cookie("tollgate_session").unwrap());
    cookieless.post_raw("/apps", &[("csrf", &web.csrf()), ("name", "A")]).await.assert_status(403);
    // Another site's form, even with the token: refused on its Origin.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(srv.url("/apps"))
        .header("origin", "https://evil.example")
        .header(
            "cookie",
            format!("tollgate_session={}; tollgate_csrf={}", web.cookie("tollgate_session").unwrap(), web.csrf()),
        )
        .form(&[("csrf", web.csrf().as_str()), ("name", "A")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // Sign-in and sign-out are forms too.
    Web::new(&srv)
        .post_raw("/login", &[("email", &seller.email), ("password", "correct horse")])
        .await
        .assert_status(403);
    web.post_raw("/logout", &[]).await.assert_status(403);
    let apps = srv.get("/v1/admin/apps", &seller.token).await;
    assert_eq!(apps.data().as_array().unwrap().len(), 0, "nothing was created");
    // With the token it works.
    web.create_app("A").await;
}

#[tokio::test]
async fn sign_in_is_throttled_as_the_api_is() {
    let srv = TestServer::start().await;
    let seller = srv.seller().await;
    let web = Web::new(&srv);
    web.get("/login").await;
    let mut limited = None;
    for i in 0..15 {
        let page =
            web.post("/login", &[("email", &seller.email), ("password", "wrong password"), ("next", "/apps")]).await;
        if page.status == 429 {
            limited = Some(i);
            assert!(page.headers.get("retry-after").is_some());
            assert!(page.body.contains("Too many"), "{}", page.body);
            break;
        }
        page.assert_status(401).assert_contains("Invalid email or password");
    }
    assert_eq!(limited, Some(10), "the 11th failed attempt is refused");
    // The right password is refused too while the throttle holds.
    web.post("/login", &[("email", &seller.email), ("password", "correct horse"), ("next", "/apps")])
        .await
        .assert_status(429);
}

#[tokio::test]
async fn sign_up_closed_shows_no_form() {
    let srv = TestServer::start_with(|c| c.seller_signup = Some("closed".into())).await;
    let web = Web::new(&srv);
    web.get("/login").await.assert_status(200).assert_lacks("/signup");
    web.get("/signup").await.assert_status(403).assert_contains("closed");
    web.post("/signup", &[("name", "A"), ("email", "a@example.com"), ("password", "correct horse")])
        .await
        .assert_status(403);
}

#[tokio::test]
async fn apps_list_and_create_with_inline_errors_and_isolation() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let id = web.create_app("Alpha").await;
    assert!(id.starts_with("app_"));
    let page = web.get("/apps").await;
    page.assert_status(200).assert_contains("Alpha").assert_contains(&format!("/apps/{id}"));
    // Blank and duplicate names: the form again, with the error beside the field.
    web.post("/apps", &[("name", "  ")]).await.assert_status(400).assert_contains("app-name-error");
    web.post("/apps", &[("name", "Alpha")]).await.assert_status(400).assert_contains("already have an app");
    let apps = srv.get("/v1/admin/apps", &seller.token).await;
    assert_eq!(apps.data().as_array().unwrap().len(), 1);
    // Another seller sees none of it: the app's pages are 404.
    let (other, _) = Web::new_seller(&srv).await;
    other.get("/apps").await.assert_lacks("Alpha");
    other.get(&format!("/apps/{id}")).await.assert_status(404);
    web.get(&format!("/apps/{id}")).await.assert_status(200);
    web.get("/apps/app_doesnotexist").await.assert_status(404);
}

#[tokio::test]
async fn pages_carry_the_dashboard_policy_and_assets_are_served() {
    let srv = TestServer::start().await;
    let web = Web::new(&srv);
    let page = web.get("/login").await;
    let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers.get("x-frame-options").unwrap(), "DENY");
    let css = web.get("/assets/app.css").await;
    css.assert_status(200);
    assert!(css.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/css"));
    let js = web.get("/assets/app.js").await;
    js.assert_status(200).assert_contains("data-refresh");
    // The Blazeauth WebSocket on `/` still answers an upgrade; a plain GET is the dashboard.
    web.get("/ws").await.assert_status(404);
}
