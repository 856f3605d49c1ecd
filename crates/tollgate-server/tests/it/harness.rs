//! Typed helpers over a real server: `TestServer::start()`, `seller()`, `create_app()`, and
//! request helpers that return status, JSON body and headers.

#![allow(dead_code)]

use std::net::SocketAddr;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tollgate_server::config::{Config, RawConfig};
use tollgate_server::state::AppState;

pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    /// The test's own PostgreSQL database when `TOLLGATE_TEST_POSTGRES_URL` is set.
    pub pg: Option<tollgate_postgres::testing::FreshDb>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Resp {
    /// `body.code` of an error envelope.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        self
    }
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(self.body["success"], false, "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        self
    }
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
}

/// A seller account signed in through the API.
#[derive(Clone, Debug)]
pub struct SellerLogin {
    pub id: String,
    pub email: String,
    pub token: String,
    pub refresh: String,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Start with a config tweaked by `f` (data dir and listen address are set for you).
    pub async fn start_with(f: impl FnOnce(&mut RawConfig)) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, f).await
    }

    /// Start with `public_url` set to this server's own address (the listener is bound first),
    /// config tweaked by `f` as in [`TestServer::start_with`].
    pub async fn start_public(f: impl FnOnce(&mut RawConfig)) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        Self::start_on(listener, move |c| {
            c.public_url = Some(format!("http://{addr}"));
            f(c)
        })
        .await
    }

    async fn start_on(listener: tokio::net::TcpListener, f: impl FnOnce(&mut RawConfig)) -> TestServer {
        let addr = listener.local_addr().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut raw = RawConfig {
            listen: Some(addr.to_string()),
            data_dir: Some(dir.path().to_string_lossy().into_owned()),
            ..Default::default()
        };
        f(&mut raw);
        // The whole suite runs on PostgreSQL when TOLLGATE_TEST_POSTGRES_URL is set, each test
        // in a fresh database; otherwise on a temp SQLite file.
        let pg = match tollgate_postgres::testing::admin_url() {
            Some(admin) if raw.database_url.is_none() => {
                Some(tollgate_postgres::testing::FreshDb::create(&admin).await.unwrap())
            }
            Some(_) => None,
            None => {
                static NOTED: std::sync::Once = std::sync::Once::new();
                NOTED.call_once(|| {
                    // Straight to the process's stderr, once: the test harness captures `eprintln!`.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "PostgreSQL runs of the server tests skipped: {} is unset, so they run on SQLite only",
                        tollgate_postgres::testing::ADMIN_URL_VAR
                    );
                });
                None
            }
        };
        if let Some(db) = &pg {
            raw.database_url = Some(db.url.clone());
        }
        let config = Config::resolve(raw).unwrap();
        let state = tollgate_server::app::build_state(config).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let st = state.clone();
        let task = tokio::spawn(async move {
            tollgate_server::app::serve_on(listener, st, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            addr,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            state,
            dir,
            pg,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A second node on this server's database, sharing its master key (PostgreSQL only).
    pub async fn second_node(&self) -> TestServer {
        let url = self.pg.as_ref().expect("a shared database needs PostgreSQL").url.clone();
        let key = self.dir.path().join("master.key").to_string_lossy().into_owned();
        TestServer::start_with(move |c| {
            c.database_url = Some(url);
            c.master_key_file = Some(key);
        })
        .await
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
        if let Some(db) = self.pg.take() {
            db.drop().await;
        }
    }

    /// `sqlite` or `postgres`: the backend this run uses.
    pub fn backend(&self) -> &'static str {
        self.state.store.backend()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Any request; `body` None sends no body, `Some(Value)` sends JSON.
    pub async fn req(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut rb = self.http.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.unwrap();
        Self::into_resp(res).await
    }

    /// A request with a raw body (bad JSON, huge bodies).
    pub async fn raw(&self, method: Method, path: &str, token: Option<&str>, body: Vec<u8>) -> Resp {
        let mut rb = self.http.request(method, self.url(path)).header("content-type", "application/json").body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        Self::into_resp(rb.send().await.unwrap()).await
    }

    pub async fn into_resp(res: reqwest::Response) -> Resp {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Resp { status, body, headers }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.req(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.req(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.req(Method::PATCH, path, Some(token), Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.req(Method::DELETE, path, Some(token), None).await
    }

    /// Register a fresh seller through `/v1/auth/register`.
    pub async fn seller(&self) -> SellerLogin {
        let email = format!("{}@example.com", tollgate_core::ids::random_hex(6));
        let r = self
            .req(
                Method::POST,
                "/v1/auth/register",
                None,
                Some(json!({"email": email, "password": "correct horse", "name": "Dev"})),
            )
            .await;
        r.assert_status(201);
        SellerLogin {
            id: r.data()["id"].as_str().unwrap().to_owned(),
            email,
            token: r.data()["accessToken"].as_str().unwrap().to_owned(),
            refresh: r.data()["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// Create an app through the admin API; returns its JSON object.
    pub async fn create_app(&self, seller: &SellerLogin, name: &str) -> Value {
        let r = self.post("/v1/admin/apps", &seller.token, json!({ "name": name })).await;
        r.assert_status(201);
        r.data().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// An active end user of `app_id`, stored as the client API would make one: level 1, one device,
/// no expiry, with the given password hash.
pub fn user_row(app_id: &str, username: &str, password_hash: String) -> tollgate_core::model::User {
    tollgate_core::model::User {
        note: None,
        id: tollgate_core::ids::new_id("usr"),
        app_id: app_id.to_owned(),
        username: username.to_owned(),
        password_hash,
        email: None,
        level: 1,
        expires_at: None,
        devices: Vec::new(),
        max_devices: 1,
        last_ip: None,
        status: tollgate_core::model::UserStatus::Active,
        ban_reason: None,
        last_login: None,
        created_at: tollgate_core::time::now(),
    }
}
