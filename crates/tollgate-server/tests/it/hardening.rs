//! Connection limits and response headers on the wire: slow or idle clients are closed, the
//! connection cap answers 503, every answer carries its security headers, /metrics can require
//! a token.

use std::time::Duration;

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::TestServer;

/// Bound on how long a test waits for the server to act; far above every configured timeout.
const PATIENCE: Duration = Duration::from_secs(30);

/// Read one HTTP/1.1 response (head + content-length body) as text.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await.expect("no answer").unwrap();
        assert!(n > 0, "closed before a full answer: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= len {
                return text;
            }
        }
    }
}

/// Wait (boundedly) for the server to close the connection; what it sent before, as text.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open: {}", String::from_utf8_lossy(&buf));
    String::from_utf8_lossy(&buf).into_owned()
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n";

#[tokio::test]
async fn unfinished_request_head_is_closed() {
    // idle_timeout is far above PATIENCE: only the header timeout can close these
    let s = TestServer::start_with(|c| {
        c.header_read_timeout = Some("1".into());
        c.idle_timeout = Some("3600".into());
    })
    .await;
    let mut half = TcpStream::connect(s.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n").await.unwrap();
    let silent = TcpStream::connect(s.addr).await.unwrap();
    assert_eq!(read_until_closed(&mut half).await, "", "closed without an answer");
    let mut silent = silent;
    assert_eq!(read_until_closed(&mut silent).await, "");
    // a prompt client is served as before
    let mut ok = TcpStream::connect(s.addr).await.unwrap();
    ok.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut ok).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn stalled_request_body_is_answered_408_and_closed() {
    let s = TestServer::start_with(|c| {
        c.body_timeout = Some("1".into());
        c.idle_timeout = Some("3600".into());
        c.header_read_timeout = Some("3600".into());
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(
            b"POST /v1/auth/login HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let text = read_until_closed(&mut stream).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"REQUEST_TIMEOUT\""), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
    // nothing was done with the partial body: the server still answers others
    s.req(Method::GET, "/healthz", None, None).await.assert_status(200);
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed() {
    let s = TestServer::start_with(|c| {
        c.idle_timeout = Some("1".into());
        c.header_read_timeout = Some("3600".into());
    })
    .await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream.write_all(HEALTH).await.unwrap();
    let first = read_response(&mut stream).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(!first.to_ascii_lowercase().contains("connection: close"), "kept alive: {first}");
    assert_eq!(read_until_closed(&mut stream).await, "", "closed when idle, without a word");
}

#[tokio::test]
async fn connections_past_the_cap_are_answered_503() {
    let s = TestServer::start_with(|c| c.max_connections = Some("2".into())).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        c.write_all(HEALTH).await.unwrap();
        assert!(read_response(&mut c).await.starts_with("HTTP/1.1 200"));
        held.push(c);
    }
    let mut third = TcpStream::connect(s.addr).await.unwrap();
    let text = read_until_closed(&mut third).await;
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("\"code\":\"UNAVAILABLE\""), "{text}");
    assert!(text.to_ascii_lowercase().contains("retry-after: 1"), "{text}");
    // a slot frees when a held connection closes
    drop(held.pop());
    let mut served = false;
    for _ in 0..300 {
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        c.write_all(HEALTH).await.unwrap();
        let text = read_until_closed_or_response(&mut c).await;
        if text.starts_with("HTTP/1.1 200") {
            served = true;
            break;
        }
        assert!(text.starts_with("HTTP/1.1 503"), "{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "the freed slot was never reused");
}

/// A 200 answer (connection kept) or whatever came before a close.
async fn read_until_closed_or_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await.expect("no answer").unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if text.starts_with("HTTP/1.1 200") && text.contains("\r\n\r\n{") && text.ends_with('}') {
            break;
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn answers_carry_security_headers() {
    let s = TestServer::start().await;
    let seller = s.seller().await; // carries tokens
    let app = s.create_app(&seller, "Headers").await;
    let checks = [
        s.req(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(serde_json::json!({"email": seller.email, "password": "correct horse"})),
        )
        .await,
        s.get(&format!("/v1/admin/apps/{}", app["id"].as_str().unwrap()), &seller.token).await,
        s.req(Method::GET, "/healthz", None, None).await,
        s.req(Method::GET, "/nope", None, None).await,
        s.req(Method::GET, "/openapi.json", None, None).await,
    ];
    for r in &checks {
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{:?}", r.headers);
        assert_eq!(r.headers["cache-control"], "no-store", "{:?}", r.headers);
    }
    checks[0].assert_status(200);
    assert!(checks[0].data()["accessToken"].is_string());
    // the Authly dialect's signed answers too
    let r = s.http.post(s.url("/api/v2/init")).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn metrics_token_guards_metrics() {
    let token = "metrics-token-0123456789";
    let s = TestServer::start_with(|c| c.metrics_token = Some(token.into())).await;
    s.req(Method::GET, "/healthz", None, None).await.assert_status(200);
    let none = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(none.status().as_u16(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let body = none.text().await.unwrap();
    assert!(body.contains("UNAUTHORIZED") && !body.contains(token), "{body}");
    let wrong = s.http.get(s.url("/metrics")).bearer_auth("metrics-token-0123456780").send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let ok = s.http.get(s.url("/metrics")).bearer_auth(token).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let text = ok.text().await.unwrap();
    assert!(text.contains(r#"tollgate_http_requests_total{method="GET",route="/healthz",status="200"} 1"#), "{text}");
    assert!(!text.contains(token));
    // a token too short to be one is refused at start-up, without echoing it
    let e = tollgate_server::config::Config::resolve(tollgate_server::config::RawConfig {
        metrics_token: Some("short".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(e.setting, "metrics_token");
    assert!(!e.to_string().contains("short"));
}
