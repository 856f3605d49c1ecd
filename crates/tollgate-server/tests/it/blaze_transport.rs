//! The Blazeauth endpoint's transport: framing and its close codes, the Initialize deadline, the
//! per-connection rate limit with its address backoff, the per-address limit on upgrades, ids
//! and signatures.

use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::ws::{refused_upgrade, signature_ok, BlazeApp, Frame, Ws};

/// Send raw text on a fresh connection (initialized first when `app` is given) and read the
/// close it earns, with no answer before it.
async fn close_for(s: &TestServer, app: Option<&BlazeApp>, text: &str) -> (u16, String) {
    let mut ws = match app {
        Some(app) => app.connect(s, "cl-1234").await,
        None => Ws::connect(s, "/ws").await,
    };
    ws.send_text(text).await;
    let (code, reason, before) = ws.closed().await;
    assert!(before.is_empty(), "no answer before the close of {text}: {before:?}");
    (code, reason)
}

const NO_TYPE_OR_ID: (u16, &str) = (4300, "packet does not contain mandatory 'type' and/or 'id' fields");
const UNKNOWN_TYPE: (u16, &str) = (4301, "invalid handler type specified");
const BAD_BODY: (u16, &str) = (4302, "invalid request body");

fn pair(got: &(u16, String)) -> (u16, &str) {
    (got.0, got.1.as_str())
}

#[tokio::test]
async fn a_binary_frame_closes_4304() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    for initialized in [false, true] {
        let mut ws = if initialized { app.connect(&s, "cl-1234").await } else { Ws::connect(&s, "/").await };
        ws.send_binary(br#"{"type":10,"id":1}"#.to_vec()).await;
        let (code, reason, before) = ws.closed().await;
        assert_eq!((code, reason.as_str()), (4304, "received unsupported data"));
        assert!(before.is_empty());
    }
}

#[tokio::test]
async fn a_packet_without_type_or_id_closes_4300() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    for text in [
        "not json",
        "",
        "[1,2]",
        "42",
        r#"{"type":0}"#,
        r#"{"id":1}"#,
        r#"{"type":"0","id":1}"#,
        r#"{"type":10,"id":"1"}"#,
        r#"{"type":10,"id":-1}"#,
        r#"{"type":10,"id":1.5}"#,
        r#"{"type":10,"id":18446744073709551616}"#,
        r#"{"type":-3,"id":1}"#,
    ] {
        assert_eq!(pair(&close_for(&s, None, text).await), NO_TYPE_OR_ID, "{text}");
    }
    // the same after Initialize
    assert_eq!(pair(&close_for(&s, Some(&app), r#"{"id":7}"#).await), NO_TYPE_OR_ID);
}

#[tokio::test]
async fn an_unknown_type_closes_4301() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    for text in [r#"{"type":18,"id":1}"#, r#"{"type":99,"id":1}"#, r#"{"type":18446744073709551615,"id":1}"#] {
        assert_eq!(pair(&close_for(&s, None, text).await), UNKNOWN_TYPE, "{text}");
        assert_eq!(pair(&close_for(&s, Some(&app), text).await), UNKNOWN_TYPE, "{text}");
    }
}

#[tokio::test]
async fn a_body_that_does_not_fit_its_packet_closes_4302() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    for text in [
        r#"{"type":0,"id":1}"#,
        r#"{"type":0,"id":1,"websocket_api_key":"x"}"#,
        r#"{"type":0,"id":1,"websocket_api_key":5,"client_id":"abcd"}"#,
        r#"{"type":0,"id":1,"websocket_api_key":"x","client_id":null}"#,
    ] {
        assert_eq!(pair(&close_for(&s, None, text).await), BAD_BODY, "{text}");
    }
    for text in [
        r#"{"type":11,"id":1}"#,
        r#"{"type":11,"id":1,"name":["a"]}"#,
        r#"{"type":12,"id":1,"key":"k"}"#,
        r#"{"type":12,"id":1,"key":"k","value":5}"#,
        r#"{"type":12,"id":1,"key":"k","value":"v","ttl":"soon"}"#,
        r#"{"type":12,"id":1,"key":"","value":"v"}"#,
        r#"{"type":13,"id":1}"#,
        r#"{"type":13,"id":1,"key":""}"#,
        r#"{"type":14,"id":1,"key":7}"#,
        r#"{"type":17,"id":1}"#,
        r#"{"type":17,"id":1,"subscribed":"yes"}"#,
    ] {
        assert_eq!(pair(&close_for(&s, Some(&app), text).await), BAD_BODY, "{text}");
    }
}

#[tokio::test]
async fn a_text_frame_over_64_kib_closes_4302_and_one_under_it_is_read() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = app.connect(&s, "cl-1234").await;
    // just under the limit: a session value of 60 KiB is too big for the store, but read
    let a = ws.call(12, json!({"key": "k", "value": "x".repeat(60 * 1024)})).await;
    assert_eq!(a["status"], 701);
    let big = json!({"type": 12, "id": 9, "key": "k", "value": "x".repeat(65 * 1024)}).to_string();
    ws.send_text(&big).await;
    let (code, reason, before) = ws.closed().await;
    assert_eq!((code, reason.as_str()), BAD_BODY);
    assert!(before.is_empty());
}

#[tokio::test]
async fn every_packet_before_a_successful_initialize_closes_4200() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let bodies: Vec<(u64, Value)> = vec![
        (1, json!({"login": "someone", "password": "secret-pass"})),
        (2, json!({"license": "ABCDEF-123456"})),
        (3, json!({"login": "someone", "password": "secret-pass"})),
        (4, json!({"license": "ABCDEF-123456"})),
        (5, json!({})),
        (6, json!({"comment": "x"})),
        (7, json!({"filename": "file.bin"})),
        (8, json!({"filename": "file.bin"})),
        (9, json!({"filename": "file.bin"})),
        (10, json!({})),
        (11, json!({"name": "var"})),
        (12, json!({"key": "k", "value": "v"})),
        (13, json!({"key": "k"})),
        (14, json!({"key": "k"})),
        (15, json!({})),
        (16, json!({})),
        (17, json!({"subscribed": true})),
    ];
    for (kind, fields) in bodies {
        let mut packet = fields.as_object().unwrap().clone();
        packet.insert("type".into(), json!(kind));
        packet.insert("id".into(), json!(1));
        let (code, reason) = close_for(&s, None, &Value::Object(packet).to_string()).await;
        assert_eq!((code, reason.as_str()), (4200, "connection is not initialized"), "type {kind}");
    }
    // a failed Initialize does not initialize
    let mut ws = Ws::connect(&s, "/ws").await;
    assert_eq!(ws.initialize("A".repeat(21).as_str(), "cl-1234").await["status"], 600);
    ws.send(json!({"type": 10, "id": 2})).await;
    let (code, reason, before) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4200, "connection is not initialized"));
    assert!(before.is_empty());
    // the app itself was fine all along
    app.connect(&s, "cl-1234").await;
}

#[tokio::test]
async fn a_connection_not_initialized_in_time_closes_4202_and_an_initialized_one_stays() {
    let s = TestServer::start_with(|c| c.ws_init_timeout = Some("3".into())).await;
    let app = BlazeApp::create(&s).await;
    // opened first, initialized: its deadline passes before the other's
    let mut kept = app.connect(&s, "cl-1234").await;
    let mut idle = Ws::connect(&s, "/ws").await;
    let (code, reason, before) = idle.closed().await;
    assert_eq!((code, reason.as_str()), (4202, "session wasn't initialized in 3 seconds after connection"));
    assert!(before.is_empty());
    let a = kept.call(10, json!({})).await;
    assert_eq!(a["status"], 1, "{a}");
    // failed Initialize packets do not stop the clock
    let mut failing = Ws::connect(&s, "/ws").await;
    assert_eq!(failing.initialize("short", "cl-1234").await["status"], 2);
    let (code, _, _) = failing.closed().await;
    assert_eq!(code, 4202);
}

#[tokio::test]
async fn the_packet_crossing_the_rate_limit_is_answered_then_4201_and_the_address_backs_off() {
    let s = TestServer::start_with(|c| c.ws_rate_limit = Some("5".into())).await;
    let app = BlazeApp::create(&s).await;
    // opened before the limit is hit: it is not cut, but cannot Initialize during the backoff
    let mut bystander = Ws::connect(&s, "/ws").await;
    let mut ws = app.connect(&s, "cl-1234").await; // action 1
    for _ in 0..4 {
        assert_eq!(ws.call(10, json!({})).await["status"], 1); // actions 2-5
    }
    // action 6 crosses the limit: answered, then closed
    ws.send(json!({"type": 13, "id": 4242, "key": "nothing"})).await;
    let (code, reason, before) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4201, "rate limit hit"));
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["id"], 4242);
    assert_eq!(before[0]["status"], 700);
    // the address is held back: no upgrade for it, on either path
    for path in ["/ws", "/"] {
        let (status, retry) = refused_upgrade(&s, path).await;
        assert_eq!(status, 429);
        let retry = retry.expect("a Retry-After header");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
    }
    bystander.send(json!({"type": 0, "id": 1, "websocket_api_key": app.ws_key, "client_id": "cl-1234"})).await;
    let (code, reason, before) = bystander.closed().await;
    assert!(before.is_empty());
    assert_eq!(code, 4201);
    let secs: u64 = reason
        .strip_prefix("rate limited, ")
        .and_then(|r| r.strip_suffix(" seconds left"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("reason {reason:?}"));
    assert!((1..=60).contains(&secs));
}

#[tokio::test]
async fn pings_and_binary_frames_count_toward_the_rate_limit() {
    let s = TestServer::start_with(|c| c.ws_rate_limit = Some("5".into())).await;
    let app = BlazeApp::create(&s).await;
    let mut ws = app.connect(&s, "cl-1234").await; // 1
    for _ in 0..4 {
        ws.ping().await; // 2-5
    }
    // the pings were within the limit: this packet crosses it
    ws.send(json!({"type": 17, "id": 77, "subscribed": true})).await;
    let (code, reason, before) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4201, "rate limit hit"));
    assert_eq!(before.len(), 1);
    assert_eq!((before[0]["id"].clone(), before[0]["status"].clone()), (json!(77), json!(1)));

    // a fresh server: five pings, then the sixth one crosses
    let s = TestServer::start_with(|c| c.ws_rate_limit = Some("5".into())).await;
    let mut ws = Ws::connect(&s, "/ws").await;
    for _ in 0..6 {
        ws.ping().await;
    }
    let (code, reason, _) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4201, "rate limit hit"));
    assert_eq!(refused_upgrade(&s, "/ws").await.0, 429);
}

#[tokio::test]
async fn the_per_address_client_rate_limit_applies_to_upgrades() {
    // one upgrade a second, a burst of ten
    let s = TestServer::start_with(|c| c.client_rate_limit = Some("1".into())).await;
    let mut open = Vec::new();
    let mut refused = None;
    for _ in 0..40 {
        match Ws::connect_with(&s, "/ws", &[]).await {
            Ok(ws) => open.push(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                refused = Some((res.status().as_u16(), retry));
                break;
            }
            Err(other) => panic!("{other}"),
        }
    }
    let (status, retry) = refused.expect("an upgrade refused past the burst");
    assert_eq!(status, 429);
    assert!(retry.and_then(|r| r.parse::<u64>().ok()).is_some_and(|r| r >= 1));
    assert!(open.len() >= 10, "the burst passed: {}", open.len());
}

#[tokio::test]
async fn ids_up_to_u64_max_are_echoed() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = Ws::connect(&s, "/ws").await;
    ws.send_text(&format!(
        r#"{{"type":0,"id":18446744073709551615,"websocket_api_key":"{}","client_id":"cl-1234"}}"#,
        app.ws_key
    ))
    .await;
    let a = ws.packet().await;
    assert_eq!(a["id"].as_u64(), Some(u64::MAX));
    assert_eq!(a["status"], 1);
    for id in [0u64, 1, (1 << 53) + 1, u64::MAX - 1, u64::MAX] {
        ws.send_text(&format!(r#"{{"type":10,"id":{id}}}"#)).await;
        let a = ws.packet().await;
        assert_eq!(a["id"].as_u64(), Some(id), "{a}");
        assert_eq!(a["status"], 1);
    }
}

#[tokio::test]
async fn every_answer_is_signed_and_a_changed_field_breaks_the_signature() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = app.connect(&s, "cl-1234").await; // Ws::next checked this answer's signature
    let a = ws.call(12, json!({"key": "k", "value": "v"})).await;
    assert!(signature_ok(&ws.pem, &a));
    for (field, forged) in [("status", json!(700)), ("id", json!(999)), ("value", json!("w"))] {
        let mut changed = a.clone();
        changed[field] = forged;
        assert!(!signature_ok(&ws.pem, &changed), "changed {field} still verifies");
    }
    let mut unsigned = a.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    assert!(!signature_ok(&ws.pem, &unsigned));
    // another server's key does not verify it
    let other = TestServer::start().await;
    assert!(!signature_ok(other.state.signer.get().public_key_pem(), &a));
}

#[tokio::test]
async fn a_plain_get_is_not_found_and_the_client_closing_is_clean() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let r = s.req(reqwest::Method::GET, "/ws", None, None).await;
    r.assert_status(404);
    let mut ws = app.connect(&s, "cl-1234").await;
    ws.stream.close(None).await.unwrap();
    // the server answers the close and ends the socket
    let end = ws.next().await;
    assert!(matches!(end, Frame::Close(..) | Frame::Ended), "{end:?}");
}

#[tokio::test]
async fn past_the_connection_cap_upgrades_are_refused_503_until_one_closes() {
    let s = TestServer::start_with(|c| c.ws_max_connections = Some("3".into())).await;
    let app = BlazeApp::create(&s).await;
    app.variable(&s, "motd", "hello", false).await;
    let mut initialized = app.connect(&s, "cl-cap-1").await;
    let mut open = vec![Ws::connect(&s, "/ws").await, Ws::connect(&s, "/").await];

    for path in ["/ws", "/"] {
        let (status, retry) = refused_upgrade(&s, path).await;
        assert_eq!(status, 503, "{path}");
        assert!(retry.is_some_and(|r| r >= 1), "Retry-After on {path}: {retry:?}");
    }
    // Plain HTTP is not counted against the WebSocket cap.
    s.get("/healthz", "").await.assert_status(200);
    // The open connections are served as before.
    let a = initialized.call(11, json!({"name": "motd"})).await;
    assert_eq!(a["status"], 1, "{a}");

    // One closes: exactly one place is free again, even for many upgrades at once.
    drop(open.pop());
    let mut freed = false;
    for _ in 0..500 {
        match Ws::connect_with(&s, "/ws", &[]).await {
            Ok(ws) => {
                open.push(ws);
                freed = true;
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
    assert!(freed, "the closed connection's place was not given back");
    drop(open.pop());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let tries = (0..20).map(|_| Ws::connect_with(&s, "/ws", &[]));
    let results = futures::future::join_all(tries).await;
    let mut accepted = Vec::new();
    for r in results {
        match r {
            Ok(ws) => accepted.push(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status().as_u16(), 503),
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(accepted.len(), 1, "one free place, {} upgrades accepted", accepted.len());
}
