//! What every Authly v2 request goes through whatever the endpoint (`dialect/authly/envelope.rs`):
//! echoed and signed answers (errors, unknown endpoints and wrong methods included), bad and
//! oversized bodies, the replay defence, the C# SDK's request MAC, and the per-IP rate limit.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};
use tollgate_core::canonical::canonical_json;
use tollgate_core::integrity::{request_mac, signed_message};

use crate::authly::{self, assert_signed, call, client_app, fresh_meta, init, send, ClientApp};
use crate::authly_init::{assert_row, sessions, with, without};
use crate::harness::{Resp, TestServer};

const INVALID_REQUEST_SIGNATURE: (u16, &str, &str) =
    (401, "INVALID_REQUEST_SIGNATURE", "Request signature does not match");
const REPLAYED_REQUEST: (u16, &str, &str) =
    (401, "REPLAYED_REQUEST", "Request was already used or its timestamp is out of range");
const RATE_LIMITED: (u16, &str, &str) = (429, "RATE_LIMITED", "Too many requests, slow down");

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.insert(HeaderName::from_static(name), HeaderValue::from_str(value).unwrap());
    }
    h
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// The body with the SDK's three integrity fields.
fn with_meta(body: Value, request_id: &str, nonce: &str, ts: i64) -> Value {
    with(body, json!({ "request_id": request_id, "nonce": nonce, "timestamp": ts }))
}

/// The Python SDK's headers.
fn python_headers(request_id: &str, nonce: &str, ts: i64) -> HeaderMap {
    headers(&[("x-request-id", request_id), ("x-auth-nonce", nonce), ("x-auth-timestamp", &ts.to_string())])
}

// ---------------------------------------------------------------------------------------------
// Echo and signature

#[tokio::test]
async fn request_id_and_nonce_are_echoed_from_either_sdk_or_the_body() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;

    // Python SDK header names, nothing in the body
    let (rid, nonce, ts) = fresh_meta();
    let r = send(&s, "init", bytes(&app.init_body()), python_headers(&rid, &nonce, ts)).await;
    r.assert_status(200);
    assert_signed(&s, &r, &rid, &nonce);

    // C# SDK header names
    let (rid, nonce, ts) = fresh_meta();
    let h = headers(&[("x-v2-request-id", &rid), ("x-v2-nonce", &nonce), ("x-v2-timestamp", &ts.to_string())]);
    let r = send(&s, "init", bytes(&app.init_body()), h).await;
    r.assert_status(200);
    assert_signed(&s, &r, &rid, &nonce);

    // no headers: the body's fields
    let (rid, nonce, ts) = fresh_meta();
    let r = send(&s, "init", bytes(&with_meta(app.init_body(), &rid, &nonce, ts)), HeaderMap::new()).await;
    r.assert_status(200);
    assert_signed(&s, &r, &rid, &nonce);

    // headers win over the body
    let (rid, nonce, ts) = fresh_meta();
    let (body_rid, body_nonce, _) = fresh_meta();
    let body = with_meta(app.init_body(), &body_rid, &body_nonce, ts);
    let r = send(&s, "init", bytes(&body), python_headers(&rid, &nonce, ts)).await;
    r.assert_status(200);
    assert_signed(&s, &r, &rid, &nonce);

    // errors are echoed and signed the same way
    let (rid, nonce, ts) = fresh_meta();
    let h = headers(&[("x-v2-request-id", &rid), ("x-v2-nonce", &nonce), ("x-v2-timestamp", &ts.to_string())]);
    let r = send(&s, "init", bytes(&with(app.init_body(), json!({ "secret": "as_wrong" }))), h).await;
    assert_eq!(r.code(), "INVALID_SECRET");
    assert_signed(&s, &r, &rid, &nonce);
}

#[tokio::test]
async fn unknown_endpoints_and_other_methods_are_answered_signed() {
    let s = TestServer::start().await;
    for endpoint in ["no-such-endpoint", "init/extra", "", "v2/init", "variables/delete"] {
        let (rid, nonce, ts) = fresh_meta();
        let r = send(&s, endpoint, bytes(&json!({})), python_headers(&rid, &nonce, ts)).await;
        assert_row(&r, (404, "NOT_FOUND", "Unknown endpoint"));
        assert_signed(&s, &r, &rid, &nonce);
    }
    for method in [reqwest::Method::GET, reqwest::Method::PUT, reqwest::Method::DELETE] {
        for path in ["/api/v2/init", "/api/v2/validate-session", "/api/v2/nowhere"] {
            let (rid, nonce, ts) = fresh_meta();
            let res = s
                .http
                .request(method.clone(), s.url(path))
                .headers(python_headers(&rid, &nonce, ts))
                .send()
                .await
                .unwrap();
            let r = TestServer::into_resp(res).await;
            assert_row(&r, (405, "METHOD_NOT_ALLOWED", "Use POST"));
            assert_signed(&s, &r, &rid, &nonce);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bad bodies

/// Send `body` as is with fresh Python SDK headers; the answer must be a signed 400 with `code`.
async fn refused_body(s: &TestServer, endpoint: &str, body: Vec<u8>, code: &str) -> Resp {
    let (rid, nonce, ts) = fresh_meta();
    let r = send(s, endpoint, body, python_headers(&rid, &nonce, ts)).await;
    assert_signed(s, &r, &rid, &nonce);
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    assert_eq!(r.body["success"], false, "{}", r.body);
    assert_eq!(r.code(), code, "{}", r.body);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.body);
    r
}

#[tokio::test]
async fn malformed_and_wrongly_typed_bodies_change_nothing() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let good = app.init_body();
    let text = serde_json::to_string(&good).unwrap();
    let cases: Vec<Vec<u8>> = vec![
        text.as_bytes()[..text.len() - 1].to_vec(),
        b"{\"owner_id\": ".to_vec(),
        b"".to_vec(),
        b"not json".to_vec(),
        b"\xff\xfe{}".to_vec(),
        bytes(&json!([good.clone()])),
        bytes(&json!("init")),
        b"null".to_vec(),
        b"42".to_vec(),
        bytes(&with(good.clone(), json!({ "app_name": 5 }))),
        bytes(&with(good.clone(), json!({ "version": 1.3 }))),
        bytes(&with(good.clone(), json!({ "owner_id": ["a"] }))),
        bytes(&with(good.clone(), json!({ "secret": { "value": app.secret } }))),
        bytes(&with(good.clone(), json!({ "hash": true }))),
    ];
    for body in cases {
        refused_body(&s, "init", body, "INVALID_REQUEST").await;
    }
    // the envelope's own fields, read from the body when no header carries them
    for patch in [json!({ "nonce": 12345678 }), json!({ "request_id": ["r"] }), json!({ "timestamp": [1] })] {
        let r = send(&s, "init", bytes(&with(good.clone(), patch)), HeaderMap::new()).await;
        assert_signed(&s, &r, "", "");
        assert_eq!((r.status.as_u16(), r.code()), (400, "INVALID_REQUEST"), "{}", r.body);
    }
    assert!(sessions(&s, &app).await.is_empty(), "nothing was created");
    // the same body, well formed, does create one
    init(&s, &app).await;
    assert_eq!(sessions(&s, &app).await.len(), 1);
}

#[tokio::test]
async fn bodies_over_96_kib_are_refused() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let padded = |n: usize| bytes(&with(app.init_body(), json!({ "padding": "x".repeat(n) })));
    let r = refused_body(&s, "init", padded(97 * 1024), "PAYLOAD_TOO_LARGE").await;
    assert!(r.body["message"].as_str().unwrap().contains("98304"), "{}", r.body);
    refused_body(&s, "init", padded(1 << 20), "PAYLOAD_TOO_LARGE").await;
    assert!(sessions(&s, &app).await.is_empty());
    // just under the limit is fine (unknown fields are ignored)
    let (rid, nonce, ts) = fresh_meta();
    let r = send(&s, "init", padded(90 * 1024), python_headers(&rid, &nonce, ts)).await;
    r.assert_status(200);
    assert_signed(&s, &r, &rid, &nonce);
}

#[tokio::test]
async fn huge_fields_are_refused() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let sid = init(&s, &app).await;
    let key = authly::keys(&s, &app, 1, json!({})).await.remove(0);
    let huge = "u".repeat(64 * 1024);
    let register = |patch: Value| {
        with(
            json!({ "session_id": sid, "username": "alice", "password": "hunter22", "key": key, "hwid": "HWID-1" }),
            patch,
        )
    };
    for patch in [json!({ "username": huge }), json!({ "hwid": huge }), json!({ "email": huge })] {
        let field = patch.as_object().unwrap().keys().next().unwrap().clone();
        let r = call(&s, "register", register(patch)).await;
        assert_eq!(r.status.as_u16(), 400, "{field}: {}", r.body);
        assert_eq!(r.body["success"], false);
        assert!(!r.code().is_empty(), "{field}: {}", r.body);
        assert!(r.body.to_string().len() < 4096, "{field}: the answer does not echo the field back");
    }
    let users = s.get(&format!("/v1/admin/apps/{}/users", app.id), &app.seller.token).await;
    users.assert_status(200);
    assert_eq!(users.data().as_array().map(Vec::len), Some(0), "{}", users.body);
    // the key was not consumed by the refused attempts
    call(&s, "register", register(json!({}))).await.assert_status(200);
}

// ---------------------------------------------------------------------------------------------
// Replay defence

/// One request with a fixed id, nonce and timestamp (headers and body, as the Python SDK).
async fn replayable(s: &TestServer, endpoint: &str, body: &Value, rid: &str, nonce: &str, ts: i64) -> Resp {
    let r = send(s, endpoint, bytes(&with_meta(body.clone(), rid, nonce, ts)), python_headers(rid, nonce, ts)).await;
    assert_signed(s, &r, rid, nonce);
    r
}

/// Batching under load: 48 concurrent inits, each with its own nonce, each open their own
/// session, all valid at once; after a kill, 48 concurrent checks on two nodes (when the database
/// can be shared) are all refused; 32 concurrent copies of one request, on both nodes, are
/// accepted exactly once, every other copy refused as a replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_commits_and_a_nonce_still_counts_once() {
    let s = TestServer::start().await;
    let other = match s.pg.is_some() {
        true => Some(s.second_node().await),
        false => None,
    };
    let app = client_app(&s).await;
    let inits = futures::future::join_all((0..48).map(|_| call(&s, "init", app.init_body()))).await;
    let mut ids = std::collections::HashSet::new();
    for r in &inits {
        r.assert_status(200);
        ids.insert(r.body["session_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 48, "48 distinct sessions");
    assert_eq!(sessions(&s, &app).await.len(), 48, "every session stored");
    let checks =
        futures::future::join_all(ids.iter().map(|sid| call(&s, "validate-session", json!({ "session_id": sid }))))
            .await;
    for r in &checks {
        r.assert_status(200);
    }

    // Killing every session on one node is in force at the next requests on every node, however
    // the reads are batched: 48 concurrent checks, half of them on the other node, all refused.
    let r = s.delete(&format!("/v1/admin/apps/{}/sessions", app.id), &app.seller.token).await;
    r.assert_status(200);
    let nodes = [&s, other.as_ref().unwrap_or(&s)];
    let checks = futures::future::join_all(
        ids.iter().enumerate().map(|(i, sid)| call(nodes[i % 2], "validate-session", json!({ "session_id": sid }))),
    )
    .await;
    for r in &checks {
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.body["code"], "INVALID_SESSION", "{}", r.body);
    }
    let ids: std::collections::HashSet<String> =
        futures::future::join_all((0..8).map(|_| init(&s, &app))).await.into_iter().collect();

    let (rid, nonce, ts) = fresh_meta();
    let body = json!({ "session_id": ids.iter().next().unwrap() });
    let copies = futures::future::join_all(
        (0..32).map(|i| replayable(nodes[i % 2], "validate-session", &body, &rid, &nonce, ts)),
    )
    .await;
    assert_eq!(copies.iter().filter(|r| r.status == 200).count(), 1, "one copy passes");
    for r in copies.iter().filter(|r| r.status != 200) {
        assert_row(r, REPLAYED_REQUEST);
    }
}

#[tokio::test]
async fn a_nonce_is_accepted_once() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let (rid, nonce, ts) = fresh_meta();
    replayable(&s, "init", &app.init_body(), &rid, &nonce, ts).await.assert_status(200);
    assert_row(&replayable(&s, "init", &app.init_body(), &rid, &nonce, ts).await, REPLAYED_REQUEST);
    // a new request id or another endpoint does not make the nonce new
    let (rid2, _, ts2) = fresh_meta();
    assert_row(&replayable(&s, "init", &app.init_body(), &rid2, &nonce, ts2).await, REPLAYED_REQUEST);
    let sid = init(&s, &app).await;
    let r = replayable(&s, "validate-session", &json!({ "session_id": sid }), &rid2, &nonce, ts2).await;
    assert_row(&r, REPLAYED_REQUEST);
    assert_eq!(sessions(&s, &app).await.len(), 2, "the replays opened nothing");
    // a nonce in the body alone is remembered too
    let (rid, nonce, ts) = fresh_meta();
    let body = bytes(&with_meta(app.init_body(), &rid, &nonce, ts));
    send(&s, "init", body.clone(), HeaderMap::new()).await.assert_status(200);
    let r = send(&s, "init", body, HeaderMap::new()).await;
    assert_signed(&s, &r, &rid, &nonce);
    assert_row(&r, REPLAYED_REQUEST);
}

#[tokio::test]
async fn timestamps_more_than_five_minutes_away_are_refused() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    const MINUTE: i64 = 60_000;
    for (offset, ok) in [(-6 * MINUTE, false), (6 * MINUTE, false), (-4 * MINUTE, true), (4 * MINUTE, true)] {
        let (rid, nonce, now) = fresh_meta();
        let r = replayable(&s, "init", &app.init_body(), &rid, &nonce, now + offset).await;
        if ok {
            r.assert_status(200);
        } else {
            assert_row(&r, REPLAYED_REQUEST);
        }
        // the same in the body alone, and in the C# header
        let (rid, nonce, now) = fresh_meta();
        let body = bytes(&with_meta(app.init_body(), &rid, &nonce, now + offset));
        let r = send(&s, "init", body, HeaderMap::new()).await;
        assert_signed(&s, &r, &rid, &nonce);
        assert_eq!(r.status.as_u16() == 200, ok, "body timestamp {offset}: {}", r.body);
        let (rid, nonce, now) = fresh_meta();
        let h = headers(&[
            ("x-v2-request-id", &rid),
            ("x-v2-nonce", &nonce),
            ("x-v2-timestamp", &(now + offset).to_string()),
        ]);
        let r = send(&s, "init", bytes(&app.init_body()), h).await;
        assert_signed(&s, &r, &rid, &nonce);
        assert_eq!(r.status.as_u16() == 200, ok, "C# timestamp {offset}: {}", r.body);
    }
    // a timestamp that is not a number of milliseconds
    for ts in ["yesterday", "1.5e12", ""] {
        let (rid, nonce, _) = fresh_meta();
        let body = with(app.init_body(), json!({ "request_id": rid, "nonce": nonce, "timestamp": ts }));
        let r = send(&s, "init", bytes(&body), HeaderMap::new()).await;
        assert_signed(&s, &r, &rid, &nonce);
        if ts.is_empty() {
            // blank is absent
            r.assert_status(200);
        } else {
            assert_row(&r, REPLAYED_REQUEST);
        }
    }
    assert_eq!(sessions(&s, &app).await.len(), 7);
}

#[tokio::test]
async fn concurrent_requests_with_one_nonce_let_exactly_one_through() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let (_, nonce, ts) = fresh_meta();
    let attempts = (0..30).map(|i| {
        let rid = format!("req-{i}");
        let body = app.init_body();
        let nonce = nonce.clone();
        let s = &s;
        async move { (rid.clone(), replayable(s, "init", &body, &rid, &nonce, ts).await) }
    });
    let answers = futures::future::join_all(attempts).await;
    let through: Vec<&(String, Resp)> = answers.iter().filter(|(_, r)| r.code() != "REPLAYED_REQUEST").collect();
    assert_eq!(through.len(), 1, "{:?}", answers.iter().map(|(_, r)| r.body.clone()).collect::<Vec<_>>());
    through[0].1.assert_status(200);
    for (_, r) in &answers {
        if r.code() == "REPLAYED_REQUEST" {
            assert_row(r, REPLAYED_REQUEST);
        }
    }
    assert_eq!(sessions(&s, &app).await.len(), 1);
}

#[tokio::test]
async fn requests_without_nonce_or_timestamp_are_accepted() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    for _ in 0..2 {
        let r = send(&s, "init", bytes(&app.init_body()), HeaderMap::new()).await;
        r.assert_status(200);
        // signed over an empty id and nonce
        assert_signed(&s, &r, "", "");
    }
    assert_eq!(sessions(&s, &app).await.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// The C# SDK's request MAC

/// A C# SDK request: meta in the body and the `x-v2-*` headers, the body sent canonical, and
/// `x-v2-signature` computed with `key`.
async fn csharp(s: &TestServer, endpoint: &str, body: Value, key: &str) -> Resp {
    let (rid, nonce, ts) = fresh_meta();
    let body = with_meta(body, &rid, &nonce, ts);
    let mac = request_mac(key, &signed_message(&ts.to_string(), &rid, &nonce, &body));
    csharp_with_mac(s, endpoint, &body, &rid, &nonce, ts, &mac).await
}

async fn csharp_with_mac(
    s: &TestServer,
    endpoint: &str,
    body: &Value,
    rid: &str,
    nonce: &str,
    ts: i64,
    mac: &str,
) -> Resp {
    let h = headers(&[
        ("x-v2-request-id", rid),
        ("x-v2-nonce", nonce),
        ("x-v2-timestamp", &ts.to_string()),
        ("x-v2-signature", mac),
    ]);
    let r = send(s, endpoint, canonical_json(body).into_bytes(), h).await;
    assert_signed(s, &r, rid, nonce);
    r
}

#[tokio::test]
async fn csharp_request_mac_on_init() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let other = client_app(&s).await;
    let r = csharp(&s, "init", app.init_body(), &app.secret).await;
    r.assert_status(200);
    assert_eq!(r.body["app_name"], app.name.as_str());

    // keyed with another secret
    assert_row(&csharp(&s, "init", app.init_body(), &other.secret).await, INVALID_REQUEST_SIGNATURE);
    // not base64, or empty after trimming
    for mac in ["not base64!", "AAAA", " "] {
        let (rid, nonce, ts) = fresh_meta();
        let body = with_meta(app.init_body(), &rid, &nonce, ts);
        let r = csharp_with_mac(&s, "init", &body, &rid, &nonce, ts, mac).await;
        if mac.trim().is_empty() {
            // a blank header is no header: the request is not MACed
            r.assert_status(200);
        } else {
            assert_row(&r, INVALID_REQUEST_SIGNATURE);
        }
    }
    // a body changed after it was MACed
    let (rid, nonce, ts) = fresh_meta();
    let body = with_meta(app.init_body(), &rid, &nonce, ts);
    let mac = request_mac(&app.secret, &signed_message(&ts.to_string(), &rid, &nonce, &body));
    let tampered = with(body, json!({ "hash": "0".repeat(64) }));
    assert_row(&csharp_with_mac(&s, "init", &tampered, &rid, &nonce, ts, &mac).await, INVALID_REQUEST_SIGNATURE);
    // MACed over another timestamp than the one sent
    let (rid, nonce, ts) = fresh_meta();
    let body = with_meta(app.init_body(), &rid, &nonce, ts);
    let mac = request_mac(&app.secret, &signed_message(&(ts - 1).to_string(), &rid, &nonce, &body));
    assert_row(&csharp_with_mac(&s, "init", &body, &rid, &nonce, ts, &mac).await, INVALID_REQUEST_SIGNATURE);

    assert_eq!(sessions(&s, &app).await.len(), 2, "only the correctly MACed inits opened sessions");
}

#[tokio::test]
async fn csharp_request_mac_on_a_session_endpoint() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let other = client_app(&s).await;
    let sid = init(&s, &app).await;
    let body = json!({ "session_id": sid });
    let r = csharp(&s, "validate-session", body.clone(), &app.secret).await;
    r.assert_status(200);
    assert_eq!(r.body["valid"], true);
    assert_row(&csharp(&s, "validate-session", body.clone(), &other.secret).await, INVALID_REQUEST_SIGNATURE);
    // the npm alias too
    assert_row(&csharp(&s, "validate", body, "as_not_the_secret").await, INVALID_REQUEST_SIGNATURE);
}

// ---------------------------------------------------------------------------------------------
// Rate limit

#[tokio::test]
async fn bursts_over_the_limit_get_429_with_retry_after() {
    // one request a second, bursts of ten
    let s = TestServer::start_with(|c| c.client_rate_limit = Some("1".into())).await;
    let app = client_app(&s).await;
    let body = without(app.init_body(), "version");
    let mut limited = 0;
    for i in 0..30 {
        let r = call(&s, "init", body.clone()).await;
        if i == 0 {
            assert_eq!(r.code(), "MISSING_FIELDS", "the first request of a burst passes: {}", r.body);
        }
        if r.status.as_u16() == 429 {
            limited += 1;
            assert_row(&r, RATE_LIMITED);
            let retry = r.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
            assert!(retry.is_some_and(|s| s >= 1), "Retry-After {:?}", r.headers.get("retry-after"));
        } else {
            assert_row(&r, (400, "MISSING_FIELDS", "Required fields are missing"));
        }
    }
    assert!(limited > 0, "none of 30 requests was limited");
    // every endpoint shares the bucket
    let mut limited = false;
    for _ in 0..30 {
        let r = call(&s, "validate-session", json!({ "session_id": "0".repeat(64) })).await;
        if r.status.as_u16() == 429 {
            assert_row(&r, RATE_LIMITED);
            limited = true;
            break;
        }
    }
    assert!(limited, "validate-session is limited too");
}

#[tokio::test]
async fn the_default_limit_leaves_normal_use_alone() {
    let s = TestServer::start().await;
    let app: ClientApp = client_app(&s).await;
    let body = without(app.init_body(), "secret");
    for _ in 0..60 {
        assert_row(&call(&s, "init", body.clone()).await, (400, "MISSING_FIELDS", "Required fields are missing"));
    }
    init(&s, &app).await;
}

/// `tollgate keys rotate` on a running server: the next answers are signed by the new key, no
/// restart (the rotation is announced on the invalidation feed, as the CLI does).
#[tokio::test]
async fn a_rotated_key_signs_the_next_answers_without_a_restart() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let old = s.state.signer.get();
    let rotated = tollgate_server::signing::Signer::rotate(s.state.store.as_ref(), &s.state.master).await.unwrap();
    assert_ne!(old.kid(), rotated.kid());
    s.state.store.publish(&tollgate_store::Invalidation::SigningKeys).await.unwrap();
    // The feed is asynchronous: wait (bounded) for the switch, then look at a real answer.
    for _ in 0..250 {
        if s.state.signer.get().kid() == rotated.kid() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let r = call(&s, "init", app.init_body()).await;
    r.assert_status(200);
    let header = |name: &str| r.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header(tollgate_server::dialect::authly::envelope::header::SIGNATURE_KID), rotated.kid());
    // A client still pinned to the old key refuses it: the signature is the new key's.
    let verified_by_old = tollgate_server::signing::verify(
        old.public_key_pem(),
        &header(tollgate_server::dialect::authly::envelope::header::SIGNATURE_TS),
        &header(tollgate_server::dialect::authly::envelope::header::REQUEST_ID),
        &header(tollgate_server::dialect::authly::envelope::header::NONCE),
        &r.body,
        &header(tollgate_server::dialect::authly::envelope::header::SIGNATURE),
    );
    assert!(!verified_by_old);
}

#[tokio::test]
async fn every_operation_documents_its_success_body() {
    let s = TestServer::start().await;
    let doc = s.req(reqwest::Method::GET, "/openapi.json", None, None).await.body;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap().iter().filter(|(p, _)| p.starts_with("/api/v2/")) {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
            let name = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/"));
            let name = name.unwrap_or_else(|| panic!("{method} {path}: no 200 schema: {schema}"));
            let props = &schemas[name]["properties"];
            assert!(props["success"].is_object() && props["message"].is_object(), "{method} {path}: {name}");
        }
    }
    assert_eq!(operations, 18);
}
