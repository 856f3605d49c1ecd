//! Test client for the Authly v2 dialect: every call goes over HTTP with a fresh request id,
//! nonce and timestamp (as the official SDKs send them), and every answer's signature and echo
//! headers are checked against the server's public key before the test sees it.

use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use tollgate_server::dialect::authly::envelope::header;
use tollgate_server::signing::verify;

use crate::harness::{Resp, SellerLogin, TestServer};

/// An app ready for client calls, with what its clients are given.
pub struct ClientApp {
    pub seller: SellerLogin,
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub secret: String,
    pub version: String,
}

impl ClientApp {
    /// The init body of this app.
    pub fn init_body(&self) -> Value {
        json!({
            "owner_id": self.owner_id,
            "app_name": self.name,
            "secret": self.secret,
            "version": self.version,
            "hash": "",
        })
    }
}

/// A new seller and app (version 1.0, default settings) through the admin API.
pub async fn client_app(s: &TestServer) -> ClientApp {
    let seller = s.seller().await;
    let name = format!("App {}", tollgate_core::ids::random_hex(3));
    let r = s.post("/v1/admin/apps", &seller.token, json!({ "name": name, "version": "1.0" })).await;
    r.assert_status(201);
    let app = r.data().clone();
    ClientApp {
        owner_id: seller.id.clone(),
        seller,
        id: app["id"].as_str().unwrap().to_owned(),
        name,
        secret: app["apiKey"].as_str().unwrap().to_owned(),
        version: "1.0".into(),
    }
}

/// The three request-integrity values an SDK adds.
pub fn fresh_meta() -> (String, String, i64) {
    let request_id = format!("req-{}", tollgate_core::ids::random_hex(8));
    let nonce = tollgate_core::ids::random_hex(16);
    let ts = tollgate_core::time::to_millis(&tollgate_core::time::now());
    (request_id, nonce, ts)
}

/// Check the signature and echo headers of an answer to a request with this id and nonce;
/// panics (failing the test) when anything is off.
pub fn assert_signed(s: &TestServer, r: &Resp, request_id: &str, nonce: &str) {
    let h = |name: &str| r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(h(header::REQUEST_ID), request_id, "request id echoed");
    assert_eq!(h(header::NONCE), nonce, "nonce echoed");
    assert_eq!(h(header::SIGNATURE_KID), s.state.signer.get().kid(), "kid");
    let ts = h(header::SIGNATURE_TS);
    assert!(ts.parse::<i64>().is_ok(), "signature ts is milliseconds: {ts:?}");
    assert!(
        verify(s.state.signer.get().public_key_pem(), &ts, request_id, nonce, &r.body, &h(header::SIGNATURE)),
        "signature of {} {}",
        r.status,
        r.body
    );
}

/// `POST /api/v2/{endpoint}` with `body` plus a fresh `request_id`/`nonce`/`timestamp` in the
/// body and in the Python SDK's headers; the answer's signature is verified.
pub async fn call(s: &TestServer, endpoint: &str, mut body: Value) -> Resp {
    let (request_id, nonce, ts) = fresh_meta();
    if let Value::Object(m) = &mut body {
        m.insert("request_id".into(), json!(request_id));
        m.insert("nonce".into(), json!(nonce));
        m.insert("timestamp".into(), json!(ts));
    }
    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", request_id.parse().unwrap());
    headers.insert("x-auth-nonce", nonce.parse().unwrap());
    headers.insert("x-auth-timestamp", ts.to_string().parse().unwrap());
    let r = send(s, endpoint, serde_json::to_vec(&body).unwrap(), headers).await;
    assert_signed(s, &r, &request_id, &nonce);
    r
}

/// A raw request: the body bytes and headers as given, nothing added. The caller checks the
/// signature with [`assert_signed`].
pub async fn send(s: &TestServer, endpoint: &str, body: Vec<u8>, headers: HeaderMap) -> Resp {
    let res = s
        .http
        .post(s.url(&format!("/api/v2/{endpoint}")))
        .header("content-type", "application/json")
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    TestServer::into_resp(res).await
}

/// Init and return the session id.
pub async fn init(s: &TestServer, app: &ClientApp) -> String {
    let r = call(s, "init", app.init_body()).await;
    r.assert_status(200);
    r.body["session_id"].as_str().unwrap().to_owned()
}

/// Generate `count` keys through the admin API with `spec` merged in; returns the keys.
pub async fn keys(s: &TestServer, app: &ClientApp, count: u32, spec: Value) -> Vec<String> {
    let mut body = json!({ "count": count, "durationType": "30d" });
    if let (Value::Object(b), Value::Object(extra)) = (&mut body, spec) {
        b.extend(extra);
    }
    let r = s.post(&format!("/v1/admin/apps/{}/licenses", app.id), &app.seller.token, body).await;
    r.assert_status(201);
    let list = r.data()["keys"].as_array().or_else(|| r.data().as_array()).cloned().unwrap_or_default();
    list.iter()
        .map(|k| k.as_str().map(str::to_owned).or_else(|| k["key"].as_str().map(str::to_owned)).unwrap())
        .collect()
}

/// Init, then register `username` with a fresh key; returns the session id.
pub async fn registered(s: &TestServer, app: &ClientApp, username: &str, password: &str) -> String {
    let sid = init(s, app).await;
    let key = keys(s, app, 1, json!({})).await.remove(0);
    let r = call(
        s,
        "register",
        json!({ "session_id": sid, "username": username, "password": password, "key": key, "hwid": "HWID-1" }),
    )
    .await;
    r.assert_status(200);
    sid
}

/// Patch the app's settings through the admin API.
pub async fn settings(s: &TestServer, app: &ClientApp, patch: Value) {
    let r = s.patch(&format!("/v1/admin/apps/{}", app.id), &app.seller.token, patch).await;
    r.assert_status(200);
}
