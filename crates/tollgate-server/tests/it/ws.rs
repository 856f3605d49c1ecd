//! A Blazeauth WebSocket client for the tests, over the real socket (tokio-tungstenite): send a
//! packet, read the answer with its signature checked independently of the server's code
//! (ed25519-dalek over the canonical JSON), read binary frames and close frames.

#![allow(dead_code)]

use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePublicKey;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tollgate_core::canonical::canonical_json;

use crate::harness::{SellerLogin, TestServer};

pub type Stream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for any one frame.
pub const WAIT: Duration = Duration::from_secs(10);

/// What the server sent.
#[derive(Debug)]
pub enum Frame {
    /// A text packet, its signature verified.
    Packet(Value),
    Binary(Vec<u8>),
    /// The close frame: code and reason.
    Close(u16, String),
    /// The socket ended without a close frame.
    Ended,
}

pub struct Ws {
    pub stream: Stream,
    /// The server's public key (SPKI PEM) every packet is checked against.
    pub pem: String,
    /// The `Resume-Id` header of the upgrade answer.
    pub resume_id: Option<String>,
    next_id: u64,
}

/// Check a packet's `signature`, `signature_ts` and `signature_kid` the way a client would:
/// Ed25519 over `"{signature_ts}\n{id}\n\n{canonical JSON without the three fields}"`.
pub fn signature_ok(pem: &str, packet: &Value) -> bool {
    let Some(obj) = packet.as_object() else { return false };
    let (Some(sig), Some(ts), Some(_kid)) = (
        obj.get("signature").and_then(Value::as_str),
        obj.get("signature_ts").and_then(Value::as_i64),
        obj.get("signature_kid").and_then(Value::as_str),
    ) else {
        return false;
    };
    let mut body = obj.clone();
    for f in ["signature", "signature_ts", "signature_kid"] {
        body.remove(f);
    }
    let id = body.get("id").map(|v| v.to_string()).unwrap_or_default();
    let message = format!("{ts}\n{id}\n\n{}", canonical_json(&Value::Object(body)));
    let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) else { return false };
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(sig) else { return false };
    let Ok(signature) = ed25519_dalek::Signature::from_slice(&bytes) else { return false };
    key.verify_strict(message.as_bytes(), &signature).is_ok()
}

impl Ws {
    /// Connect to `path` (`/` or `/ws`).
    pub async fn connect(server: &TestServer, path: &str) -> Ws {
        Ws::connect_with(server, path, &[]).await.expect("upgrade")
    }

    /// Connect with extra request headers; the HTTP error when the upgrade is refused.
    pub async fn connect_with(
        server: &TestServer,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let mut req = format!("ws://{}{}", server.addr, path).into_client_request().unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                reqwest::header::HeaderValue::from_str(v).unwrap(),
            );
        }
        let (stream, res) = tokio_tungstenite::connect_async(req).await?;
        let resume_id = res.headers().get("resume-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Ws { stream, pem: server.state.signer.get().public_key_pem().to_owned(), resume_id, next_id: 1 })
    }

    /// A fresh packet id.
    pub fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Send a JSON value as a text frame.
    pub async fn send(&mut self, packet: Value) {
        self.stream.send(Message::Text(packet.to_string().into())).await.expect("send");
    }

    /// Send raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.stream.send(Message::Text(text.to_owned().into())).await.expect("send");
    }

    /// The next frame (pings and pongs skipped); text packets must carry a valid signature.
    pub async fn next(&mut self) -> Frame {
        loop {
            let got = tokio::time::timeout(WAIT, self.stream.next()).await.expect("a frame within the wait");
            return match got {
                None => Frame::Ended,
                Some(Err(_)) => Frame::Ended,
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("packets are JSON");
                    assert!(signature_ok(&self.pem, &v), "packet not signed by the server: {v}");
                    Frame::Packet(v)
                }
                Some(Ok(Message::Binary(b))) => Frame::Binary(b.to_vec()),
                Some(Ok(Message::Close(c))) => match c {
                    Some(c) => Frame::Close(u16::from(c.code), c.reason.to_string()),
                    None => Frame::Close(u16::from(CloseCode::Status), String::new()),
                },
                Some(Ok(_)) => continue,
            };
        }
    }

    /// The next frame, which must be a packet.
    pub async fn packet(&mut self) -> Value {
        match self.next().await {
            Frame::Packet(v) => v,
            other => panic!("expected a packet, got {other:?}"),
        }
    }

    /// Send `fields` as packet `kind` with a fresh id, and read its answer (which must echo it).
    pub async fn call(&mut self, kind: u64, fields: Value) -> Value {
        let id = self.id();
        let mut packet = fields.as_object().cloned().unwrap_or_default();
        packet.insert("type".into(), json!(kind));
        packet.insert("id".into(), json!(id));
        self.send(Value::Object(packet)).await;
        let answer = self.packet().await;
        assert_eq!(answer["id"], json!(id), "the answer echoes the id: {answer}");
        answer
    }

    /// The close the server sends next (packets before it are skipped and returned).
    pub async fn closed(&mut self) -> (u16, String, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            match self.next().await {
                Frame::Close(code, reason) => return (code, reason, before),
                Frame::Ended => panic!("socket ended without a close frame (after {before:?})"),
                Frame::Packet(p) => before.push(p),
                Frame::Binary(_) => {}
            }
        }
    }

    /// Send a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.stream.send(Message::Binary(bytes.into())).await.expect("send");
    }

    /// Send a WebSocket ping frame.
    pub async fn ping(&mut self) {
        self.stream.send(Message::Ping(b"hi".to_vec().into())).await.expect("send");
    }

    /// Initialize with this key and client id; the answer.
    pub async fn initialize(&mut self, ws_key: &str, client_id: &str) -> Value {
        self.call(0, json!({"websocket_api_key": ws_key, "client_id": client_id})).await
    }
}

/// An upgrade the server refused: its HTTP status and `Retry-After` (seconds), if any.
pub async fn refused_upgrade(server: &TestServer, path: &str) -> (u16, Option<u64>) {
    match Ws::connect_with(server, path, &[]).await {
        Ok(_) => panic!("the upgrade was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
            (res.status().as_u16(), retry)
        }
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
    }
}

/// A seller and an app for WebSocket tests: the app's id and WebSocket key.
pub struct BlazeApp {
    pub seller: SellerLogin,
    pub id: String,
    pub ws_key: String,
    pub app: Value,
}

impl BlazeApp {
    pub async fn create(s: &TestServer) -> BlazeApp {
        let seller = s.seller().await;
        let app = s.create_app(&seller, "Blaze").await;
        let id = app["id"].as_str().unwrap().to_owned();
        let ws_key = app["wsKey"].as_str().expect("apps have a wsKey").to_owned();
        BlazeApp { seller, id, ws_key, app }
    }

    /// A connection already initialized with `client_id`.
    pub async fn connect(&self, s: &TestServer, client_id: &str) -> Ws {
        let mut ws = Ws::connect(s, "/ws").await;
        let a = ws.initialize(&self.ws_key, client_id).await;
        assert_eq!(a["status"], 1, "initialize: {a}");
        ws
    }

    /// Change the app's settings through the admin API.
    pub async fn settings(&self, s: &TestServer, patch: Value) {
        s.patch(&self.path(""), &self.seller.token, patch).await.assert_status(200);
    }

    /// Add an entry to the app's blacklist (`IP`, `HWID`, `USERNAME` or `CLIENT_ID`).
    pub async fn blacklist(&self, s: &TestServer, kind: &str, value: &str) {
        let body = json!({ "type": kind, "value": value, "reason": "test" });
        s.post(&self.path("/blacklist"), &self.seller.token, body).await.assert_status(201);
    }

    /// Add an app variable.
    pub async fn variable(&self, s: &TestServer, key: &str, value: &str, auth_required: bool) {
        let body = json!({ "key": key, "value": value, "authRequired": auth_required });
        s.post(&self.path("/variables"), &self.seller.token, body).await.assert_status(201);
    }

    /// Admin path under this app.
    pub fn path(&self, rest: &str) -> String {
        format!("/v1/admin/apps/{}{rest}", self.id)
    }
}
