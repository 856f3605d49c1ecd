//! Session resumption with the `Resume-Id` header: a client that went away gets its
//! initialization, authorization, session values and subscription back, once, within the
//! window, on any node; a server-initiated close cannot be resumed.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::ws::{BlazeApp, Frame, Ws};

/// A connection that dropped: its resume id.
async fn drop_connection(s: &TestServer, app: &BlazeApp, ws: Ws) -> String {
    let resume_id = ws.resume_id.clone().expect("a Resume-Id header");
    drop(ws);
    // The server keeps the dropped session exactly as long as it can be resumed: once its expiry
    // comes within the window, the record is saved.
    wait_for_resumable(s, app).await;
    resume_id
}

async fn session_count(s: &TestServer, app: &BlazeApp) -> usize {
    let r = s.get(&app.path("/sessions"), &app.seller.token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().len()
}

/// Until some session of the app expires within the hour (a dropped one is kept for the resume
/// window only; a live one for 24 hours).
async fn wait_for_resumable(s: &TestServer, app: &BlazeApp) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let now = tollgate_core::time::now();
        // Listed from an hour ago, so one whose short window has already run out is seen too.
        let sessions = s.state.store.list_live_sessions(&app.id, now - chrono::Duration::hours(1)).await.unwrap();
        let soon = now + chrono::Duration::hours(1);
        if sessions.iter().any(|v| v.session.expires_at < soon) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the dropped session was not kept for resumption");
}

async fn resume(s: &TestServer, resume_id: &str) -> Ws {
    Ws::connect_with(s, "/ws", &[("Resume-Id", resume_id)]).await.expect("upgrade")
}

/// A fresh license of the app (30 days): its key.
async fn license_key(s: &TestServer, app: &BlazeApp) -> String {
    let r = s.post(&app.path("/licenses"), &app.seller.token, json!({ "count": 1, "durationType": "30d" })).await;
    r.assert_status(201);
    r.data()[0]["key"].as_str().unwrap().to_owned()
}

/// Send packet `kind` with this id; nothing read.
async fn send_with_id(ws: &mut Ws, kind: u64, id: u64, fields: Value) {
    let mut p = fields.as_object().cloned().unwrap_or_default();
    p.insert("type".into(), json!(kind));
    p.insert("id".into(), json!(id));
    ws.send(Value::Object(p)).await;
}

/// A connection initialized, signed in with a license, holding a value, subscribed; the ids it
/// used.
async fn busy_connection(s: &TestServer, app: &BlazeApp, key: &str) -> (Ws, Vec<u64>) {
    let mut ws = app.connect(s, "client-resumer").await;
    assert_eq!(ws.call(2, json!({ "license": key })).await["status"], 1);
    assert_eq!(ws.call(12, json!({ "key": "colour", "value": "blue", "ttl": 0 })).await["status"], 1);
    assert_eq!(ws.call(17, json!({ "subscribed": true })).await["status"], 1);
    (ws, vec![1, 2, 3, 4])
}

/// The resumed connection has it all back: no Initialize needed (4 AlreadyInitialized), the
/// license, the value, the subscription; the ids answered before are not answered again.
async fn assert_restored(s: &TestServer, app: &BlazeApp, ws: &mut Ws, key: &str, answered: &[u64]) {
    // Ids answered before the drop are skipped; the next fresh id is answered first.
    for &old in answered {
        send_with_id(ws, 17, old, json!({ "subscribed": true })).await;
    }
    send_with_id(ws, 13, 1000, json!({ "key": "colour" })).await;
    let a = ws.packet().await;
    assert_eq!(a["id"], 1000, "an id answered before the drop is not answered again: {a}");
    assert_eq!((a["status"].clone(), a["value"].clone()), (json!(1), json!("blue")));
    send_with_id(ws, 15, 1001, json!({})).await;
    let a = ws.packet().await;
    assert_eq!((a["id"].clone(), a["status"].clone(), a["license"].clone()), (json!(1001), json!(1), json!(key)));
    send_with_id(ws, 0, 1002, json!({ "websocket_api_key": app.ws_key, "client_id": "client-resumer" })).await;
    assert_eq!(ws.packet().await["status"], 4, "already initialized");
    // still subscribed
    s.patch(&app.path(""), &app.seller.token, json!({ "version": "5.0.0" })).await.assert_status(200);
    let p = ws.packet().await;
    assert_eq!((p["event_type"].clone(), p["content"].clone()), (json!(102), json!({ "version": "5.0.0" })));
}

#[tokio::test]
async fn a_dropped_session_resumes_on_the_same_node_with_everything_back() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let key = license_key(&s, &app).await;
    let (ws, answered) = busy_connection(&s, &app, &key).await;
    let first_id = ws.resume_id.clone().unwrap();
    let resume_id = drop_connection(&s, &app, ws).await;

    let mut back = resume(&s, &resume_id).await;
    let second_id = back.resume_id.clone().expect("a new Resume-Id");
    assert_ne!(second_id, first_id, "each connection has its own resume id");
    assert_restored(&s, &app, &mut back, &key, &answered).await;
    assert_eq!(session_count(&s, &app).await, 1, "the same session, not a new one");

    // Dropped again: the answered ids carry forward into the next resume.
    let resume_id = drop_connection(&s, &app, back).await;
    let mut again = resume(&s, &resume_id).await;
    send_with_id(&mut again, 17, 1000, json!({ "subscribed": true })).await;
    send_with_id(&mut again, 17, 2000, json!({ "subscribed": true })).await;
    assert_eq!(again.packet().await["id"], 2000, "1000 was answered on the resumed connection");
    send_with_id(&mut again, 17, 1, json!({ "subscribed": true })).await;
    send_with_id(&mut again, 17, 2001, json!({ "subscribed": true })).await;
    assert_eq!(again.packet().await["id"], 2001, "1 was answered on the first connection");
}

#[tokio::test]
async fn a_resume_id_works_once_and_an_unknown_one_closes_4401() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut unknown = resume(&s, "no-such-resume-id").await;
    let (code, reason, before) = unknown.closed().await;
    assert_eq!((code, reason.as_str()), (4401, "resume ID was not found or it is expired"));
    assert!(before.is_empty());

    let ws = app.connect(&s, "client-resumer").await;
    let resume_id = drop_connection(&s, &app, ws).await;
    let mut first = resume(&s, &resume_id).await;
    // (ids from 100 on: 1 was answered before the drop and would not be answered again)
    assert_eq!(answer(&mut first, 100).await["status"], 1);
    let mut second = resume(&s, &resume_id).await;
    assert_eq!(second.closed().await.0, 4401, "taken already");
    // a live connection's resume id is not resumable either (nothing saved while it is open)
    let live_id = first.resume_id.clone().unwrap();
    let mut third = resume(&s, &live_id).await;
    assert_eq!(third.closed().await.0, 4401);
    assert_eq!(answer(&mut first, 101).await["status"], 1);
}

/// Packet 17 with this id, and its answer.
async fn answer(ws: &mut Ws, id: u64) -> Value {
    send_with_id(ws, 17, id, json!({ "subscribed": true })).await;
    let a = ws.packet().await;
    assert_eq!(a["id"], id, "{a}");
    a
}

#[tokio::test]
async fn a_kicked_session_cannot_be_resumed() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    // Kicked while connected: the server closed it, nothing was saved.
    let mut ws = app.connect(&s, "client-kicked").await;
    let resume_id = ws.resume_id.clone().unwrap();
    s.delete(&app.path("/sessions"), &app.seller.token).await.assert_status(200);
    assert_eq!(ws.closed().await.0, 4100);
    let mut back = resume(&s, &resume_id).await;
    assert_eq!(back.closed().await.0, 4401);

    // Kicked while away: the record is there, the session is not.
    let ws = app.connect(&s, "client-away").await;
    let resume_id = drop_connection(&s, &app, ws).await;
    s.delete(&app.path("/sessions"), &app.seller.token).await.assert_status(200);
    let mut back = resume(&s, &resume_id).await;
    let (code, reason, _) = back.closed().await;
    assert_eq!((code, reason.as_str()), (4400, "failed to resume session"));

    // Paused while away: not resumed either.
    let ws = app.connect(&s, "client-paused").await;
    let resume_id = drop_connection(&s, &app, ws).await;
    s.patch(&app.path(""), &app.seller.token, json!({ "status": "PAUSED" })).await.assert_status(200);
    let mut back = resume(&s, &resume_id).await;
    assert_eq!(back.closed().await.0, 4400);
}

#[tokio::test]
async fn a_session_closed_by_the_server_ends() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = app.connect(&s, "client-bad").await;
    let resume_id = ws.resume_id.clone().unwrap();
    ws.send_text("{\"type\": 999, \"id\": 5}").await;
    assert_eq!(ws.closed().await.0, 4301);
    let mut back = resume(&s, &resume_id).await;
    assert_eq!(back.closed().await.0, 4401);
    // and its session is gone with it
    let start = Instant::now();
    while session_count(&s, &app).await > 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "the closed session still lives");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_expired_resume_id_closes_4401() {
    let s = TestServer::start_with(|c| c.ws_resume_window = Some("1".into())).await;
    let app = BlazeApp::create(&s).await;
    let ws = app.connect(&s, "client-late").await;
    let resume_id = drop_connection(&s, &app, ws).await;
    // Past the one-second window.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut back = resume(&s, &resume_id).await;
    let (code, reason, _) = back.closed().await;
    assert_eq!((code, reason.as_str()), (4401, "resume ID was not found or it is expired"));
    match back.next().await {
        Frame::Ended | Frame::Close(..) => {}
        other => panic!("nothing after the close: {other:?}"),
    }
}

#[tokio::test]
async fn a_session_dropped_on_one_node_resumes_on_another() {
    if tollgate_postgres::testing::admin_url().is_none() {
        eprintln!("multi-node tests skipped: TOLLGATE_TEST_POSTGRES_URL is not set");
        return;
    }
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let app = BlazeApp::create(&a).await;
    let key = license_key(&a, &app).await;
    let (ws, answered) = busy_connection(&a, &app, &key).await;
    let resume_id = drop_connection(&a, &app, ws).await;

    let mut back = resume(&b, &resume_id).await;
    assert_restored(&a, &app, &mut back, &key, &answered).await;
    // and the seller's kick through node A reaches it on node B
    a.delete(&app.path("/sessions"), &app.seller.token).await.assert_status(200);
    let (code, _, _) = back.closed().await;
    assert_eq!(code, 4100);
    b.stop().await;
    a.stop().await;
}
