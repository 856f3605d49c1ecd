//! A real webhook receiver on 127.0.0.1: records every request it gets and answers as scripted
//! (a status per request, then a default; optionally slow).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use axum::Router;
use serde_json::Value;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
    /// The `event` field of a standard body.
    pub fn event(&self) -> String {
        self.json()["event"].as_str().unwrap_or("").to_owned()
    }
}

#[derive(Default)]
struct Script {
    /// Statuses for the next requests, first first; then `default`.
    statuses: Vec<u16>,
    default: u16,
    delay: Duration,
    /// Answer with a redirect to this URL instead (status 307 unless scripted otherwise).
    redirect_to: Option<String>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Script>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// A receiver answering 200 to everything.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener)
    }

    /// A receiver on a given port (to bring one up where a webhook already points).
    pub async fn start_on(port: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        Self::serve(listener)
    }

    fn serve(listener: tokio::net::TcpListener) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script = Arc::new(Mutex::new(Script { default: 200, ..Script::default() }));
        let (g, sc) = (got.clone(), script.clone());
        let app = Router::new().fallback(any(move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let (g, sc) = (g.clone(), sc.clone());
            async move {
                g.lock().unwrap().push(Received { path: uri.path().to_owned(), headers, body, at: Instant::now() });
                let (status, delay, redirect) = {
                    let mut s = sc.lock().unwrap();
                    let status = if s.statuses.is_empty() { s.default } else { s.statuses.remove(0) };
                    (status, s.delay, s.redirect_to.clone())
                };
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let mut res = axum::response::Response::new(axum::body::Body::from(format!("answer {status}")));
                *res.status_mut() = StatusCode::from_u16(status).unwrap();
                if let Some(to) = redirect {
                    *res.status_mut() = StatusCode::TEMPORARY_REDIRECT;
                    res.headers_mut().insert("location", to.parse().unwrap());
                }
                res
            }
        }));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url: format!("http://127.0.0.1:{port}/hook"), port, got, script, task: Arc::new(task) }
    }

    /// Answer the next requests with these statuses, then with `then`.
    pub fn answer(&self, statuses: &[u16], then: u16) {
        let mut s = self.script.lock().unwrap();
        s.statuses = statuses.to_vec();
        s.default = then;
    }

    /// Wait this long before answering.
    pub fn delay(&self, d: Duration) {
        self.script.lock().unwrap().delay = d;
    }

    /// Answer every request with a 307 to `to`.
    pub fn redirect(&self, to: &str) {
        self.script.lock().unwrap().redirect_to = Some(to.to_owned());
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The requests whose standard body has this `event`.
    pub fn events(&self, kind: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| serde_json::from_slice::<Value>(&r.body).is_ok_and(|v| v["event"] == kind))
            .collect()
    }

    /// Wait (up to `within`) until `n` requests matching `pred` have arrived; returns them.
    pub async fn wait_for(&self, n: usize, within: Duration, pred: impl Fn(&Received) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got: Vec<Received> = self.received().into_iter().filter(|r| pred(r)).collect();
            if got.len() >= n || Instant::now() >= deadline {
                assert!(
                    got.len() >= n,
                    "expected {n} requests within {within:?}, got {}: {:?}",
                    got.len(),
                    got.iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect::<Vec<_>>()
                );
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait until `n` requests with this `event` have arrived.
    pub async fn wait_for_event(&self, kind: &str, n: usize) -> Vec<Received> {
        let kind = kind.to_owned();
        self.wait_for(n, Duration::from_secs(20), move |r| {
            serde_json::from_slice::<Value>(&r.body).is_ok_and(|v| v["event"] == kind.as_str())
        })
        .await
    }

    /// Stop listening (the port is then refused).
    pub fn stop(&self) {
        self.task.abort();
    }
}
