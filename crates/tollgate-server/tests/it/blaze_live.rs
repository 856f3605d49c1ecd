//! A seller's actions reaching live Blazeauth connections at once: kicks (4100, 4101, 4102,
//! 4204), panel events (pushed only while subscribed), a license change signing the connection
//! out; and, on PostgreSQL, the same through another node.

use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::multinode::on_postgres;
use crate::ws::{BlazeApp, Ws};

/// The id panel events carry.
const PUSH_ID: u64 = u64::MAX;

/// The session id the admin API lists for the connection initialized with `client_id`.
async fn session_of(s: &TestServer, app: &BlazeApp, client_id: &str) -> String {
    let r = s.get(&app.path("/sessions"), &app.seller.token).await;
    r.assert_status(200);
    let found = r.data().as_array().unwrap().iter().find(|x| x["clientId"] == client_id).cloned();
    found.unwrap_or_else(|| panic!("a session for {client_id}: {}", r.data()))["id"].as_str().unwrap().to_owned()
}

/// Subscribe to panel events (packet 17).
async fn subscribe(ws: &mut Ws, on: bool) {
    let a = ws.call(17, json!({ "subscribed": on })).await;
    assert_eq!(a["status"], 1, "{a}");
}

/// The next frame must be a panel event of `event_type`; its content.
async fn event(ws: &mut Ws, event_type: u64) -> Value {
    let p = ws.packet().await;
    assert_eq!(p["id"], json!(PUSH_ID), "a panel event: {p}");
    assert_eq!(p["event_type"], json!(event_type), "{p}");
    assert!(p.get("status").is_none(), "events carry no status: {p}");
    p["content"].clone()
}

/// The connection still answers (packet 17 is answered 1 whatever the state).
async fn still_open(ws: &mut Ws) {
    let a = ws.call(17, json!({ "subscribed": false })).await;
    assert_eq!(a["status"], 1, "{a}");
}

/// A fresh license of the app (30 days); its id and key.
async fn license(s: &TestServer, app: &BlazeApp) -> (String, String) {
    let r = s.post(&app.path("/licenses"), &app.seller.token, json!({ "count": 1, "durationType": "30d" })).await;
    r.assert_status(201);
    let l = &r.data()[0];
    (l["id"].as_str().unwrap().to_owned(), l["key"].as_str().unwrap().to_owned())
}

async fn authorize_license(ws: &mut Ws, key: &str) {
    let a = ws.call(2, json!({ "license": key })).await;
    assert_eq!(a["status"], 1, "authorize by license: {a}");
}

/// Packet 15: 1 while signed in with a license, 3 once signed out.
async fn current_license_status(ws: &mut Ws) -> Value {
    ws.call(15, json!({})).await["status"].clone()
}

#[tokio::test]
async fn a_killed_session_closes_4100_with_event_1_only_when_subscribed() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut listening = app.connect(&s, "client-listening").await;
    subscribe(&mut listening, true).await;
    let mut quiet = app.connect(&s, "client-quiet").await;
    let mut bystander = app.connect(&s, "client-bystander").await;

    let id = session_of(&s, &app, "client-listening").await;
    s.delete(&app.path(&format!("/sessions/{id}")), &app.seller.token).await.assert_status(200);
    assert_eq!(event(&mut listening, 1).await, json!({}));
    let (code, reason, before) = listening.closed().await;
    assert_eq!((code, reason.as_str()), (4100, "disconnected from panel"));
    assert!(before.is_empty(), "nothing between the event and the close: {before:?}");

    let id = session_of(&s, &app, "client-quiet").await;
    s.delete(&app.path(&format!("/sessions/{id}")), &app.seller.token).await.assert_status(200);
    let (code, reason, before) = quiet.closed().await;
    assert_eq!((code, reason.as_str()), (4100, "disconnected from panel"));
    assert!(before.is_empty(), "no event without a subscription: {before:?}");

    still_open(&mut bystander).await;
}

#[tokio::test]
async fn killing_all_sessions_closes_every_connection_of_the_app_only() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let other = BlazeApp::create(&s).await;
    let mut a1 = app.connect(&s, "client-one").await;
    let mut a2 = app.connect(&s, "client-two").await;
    subscribe(&mut a2, true).await;
    let mut elsewhere = other.connect(&s, "client-one").await;

    s.delete(&app.path("/sessions"), &app.seller.token).await.assert_status(200);
    assert_eq!(a1.closed().await.0, 4100);
    let (code, _, before) = a2.closed().await;
    assert_eq!(code, 4100);
    assert_eq!(before.len(), 1, "event 1 first: {before:?}");
    assert_eq!(before[0]["event_type"], 1);
    still_open(&mut elsewhere).await;
}

#[tokio::test]
async fn pausing_the_app_closes_4101_after_event_101_when_subscribed() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut listening = app.connect(&s, "client-listening").await;
    subscribe(&mut listening, true).await;
    let mut quiet = app.connect(&s, "client-quiet").await;

    s.patch(&app.path(""), &app.seller.token, json!({ "status": "PAUSED" })).await.assert_status(200);
    event(&mut listening, 101).await;
    let (code, reason, _) = listening.closed().await;
    assert_eq!((code, reason.as_str()), (4101, "application paused"));
    let (code, reason, before) = quiet.closed().await;
    assert_eq!((code, reason.as_str()), (4101, "application paused"));
    assert!(before.is_empty(), "{before:?}");

    // and a new connection cannot initialize while it is paused
    let mut again = Ws::connect(&s, "/ws").await;
    assert_eq!(again.initialize(&app.ws_key, "client-listening").await["status"], 601);
}

#[tokio::test]
async fn deleting_the_app_closes_4102_after_event_100_when_subscribed() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut listening = app.connect(&s, "client-listening").await;
    subscribe(&mut listening, true).await;
    let mut quiet = app.connect(&s, "client-quiet").await;

    s.delete(&app.path(""), &app.seller.token).await.assert_status(200);
    event(&mut listening, 100).await;
    let (code, reason, _) = listening.closed().await;
    assert_eq!((code, reason.as_str()), (4102, "application deleted"));
    let (code, reason, before) = quiet.closed().await;
    assert_eq!((code, reason.as_str()), (4102, "application deleted"));
    assert!(before.is_empty(), "{before:?}");
}

#[tokio::test]
async fn a_new_version_is_pushed_as_event_102_only_while_subscribed() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut listening = app.connect(&s, "client-listening").await;
    subscribe(&mut listening, true).await;
    let mut quiet = app.connect(&s, "client-quiet").await;

    s.patch(&app.path(""), &app.seller.token, json!({ "version": "2.0.0" })).await.assert_status(200);
    assert_eq!(event(&mut listening, 102).await, json!({ "version": "2.0.0" }));
    // A setting that leaves the version alone pushes nothing.
    s.patch(&app.path(""), &app.seller.token, json!({ "hwidLock": false })).await.assert_status(200);

    // The quiet one heard nothing: once subscribed, the first event it gets is the next change.
    subscribe(&mut quiet, true).await;
    s.patch(&app.path(""), &app.seller.token, json!({ "version": "3.0.0" })).await.assert_status(200);
    assert_eq!(event(&mut quiet, 102).await, json!({ "version": "3.0.0" }));
    assert_eq!(
        event(&mut listening, 102).await,
        json!({ "version": "3.0.0" }),
        "not 2.0.0 again, nothing for hwidLock"
    );

    // Unsubscribed again: nothing more is pushed, the answer comes first.
    subscribe(&mut listening, false).await;
    s.patch(&app.path(""), &app.seller.token, json!({ "version": "4.0.0" })).await.assert_status(200);
    assert_eq!(event(&mut quiet, 102).await, json!({ "version": "4.0.0" }));
    let a = listening.call(17, json!({ "subscribed": false })).await;
    assert_eq!(a["status"], 1);
}

#[tokio::test]
async fn blacklisting_the_client_id_closes_its_connections_4204() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut banned = app.connect(&s, "client-banned").await;
    let mut other = app.connect(&s, "client-other").await;

    let r = s
        .post(&app.path("/blacklist"), &app.seller.token, json!({ "type": "CLIENT_ID", "value": "client-banned" }))
        .await;
    r.assert_status(201);
    let (code, reason, _) = banned.closed().await;
    assert_eq!((code, reason.as_str()), (4204, "external ID is blacklisted"));
    still_open(&mut other).await;
}

/// An account made straight in the store (the action under test is the seller's, on the wire).
async fn account(s: &TestServer, app: &BlazeApp, login: &str) -> String {
    let hash = tollgate_core::password::hash("correct horse 1").unwrap();
    let user = crate::harness::user_row(&app.id, login, hash);
    s.state.store.create_user(&user, &[]).await.unwrap();
    user.id
}

async fn authorize_account(ws: &mut Ws, login: &str) {
    let a = ws.call(3, json!({ "login": login, "password": "correct horse 1", "credentials_type": 0 })).await;
    assert_eq!(a["status"], 1, "authorize by credentials: {a}");
}

#[tokio::test]
async fn banning_pausing_or_deleting_a_user_closes_their_connections_4100() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut conns = Vec::new();
    for (i, login) in ["banned", "paused", "deleted"].into_iter().enumerate() {
        let id = account(&s, &app, login).await;
        let mut ws = app.connect(&s, &format!("client-{login}")).await;
        authorize_account(&mut ws, login).await;
        if i == 0 {
            subscribe(&mut ws, true).await;
        }
        conns.push((id, ws));
    }
    let mut signed_out = app.connect(&s, "client-anonymous").await;

    let (banned, paused, deleted) = (conns[0].0.clone(), conns[1].0.clone(), conns[2].0.clone());
    s.post(&app.path(&format!("/users/{banned}/ban")), &app.seller.token, json!({})).await.assert_status(200);
    s.post(&app.path(&format!("/users/{paused}/pause")), &app.seller.token, json!({})).await.assert_status(200);
    s.delete(&app.path(&format!("/users/{deleted}")), &app.seller.token).await.assert_status(200);
    let (code, _, before) = conns[0].1.closed().await;
    assert_eq!(code, 4100);
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["event_type"], 1);
    for (_, ws) in conns.iter_mut().skip(1) {
        let (code, reason, before) = ws.closed().await;
        assert_eq!((code, reason.as_str()), (4100, "disconnected from panel"));
        assert!(before.is_empty(), "{before:?}");
    }
    still_open(&mut signed_out).await;
}

#[tokio::test]
async fn banning_a_license_signs_its_connections_out_with_event_201() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let (id, key) = license(&s, &app).await;
    let (_, other_key) = license(&s, &app).await;
    let mut listening = app.connect(&s, "client-one").await;
    authorize_license(&mut listening, &key).await;
    subscribe(&mut listening, true).await;
    let mut quiet = app.connect(&s, "client-one").await;
    authorize_license(&mut quiet, &key).await;
    let mut bystander = app.connect(&s, "client-two").await;
    authorize_license(&mut bystander, &other_key).await;

    s.post(&app.path(&format!("/licenses/{id}/ban")), &app.seller.token, json!({})).await.assert_status(200);
    let content = event(&mut listening, 201).await;
    assert_eq!(content["license"], json!(key));
    assert_eq!(content["license_id"], json!(id));
    // Signed out, still connected; the key no longer signs in.
    assert_eq!(current_license_status(&mut listening).await, 3);
    assert_eq!(listening.call(2, json!({ "license": key })).await["status"], 105);
    // No event without a subscription, but signed out all the same.
    assert_eq!(current_license_status(&mut quiet).await, 3);
    // Another license's connection is untouched.
    assert_eq!(current_license_status(&mut bystander).await, 1);
}

#[tokio::test]
async fn every_license_change_reaches_the_connection_signed_in_with_it() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let (id, key) = license(&s, &app).await;
    let mut ws = app.connect(&s, "client-one").await;
    subscribe(&mut ws, true).await;
    authorize_license(&mut ws, &key).await;
    let lic = |rest: &str| app.path(&format!("/licenses/{id}{rest}"));

    // 200: the devices reset; still signed in.
    s.post(&lic("/reset-devices"), &app.seller.token, json!({})).await.assert_status(200);
    assert_eq!(event(&mut ws, 200).await["license"], json!(key));
    assert_eq!(current_license_status(&mut ws).await, 1);

    // 203: new terms (level), then an extension; each signs the connection out.
    s.patch(&lic(""), &app.seller.token, json!({ "level": 2 })).await.assert_status(200);
    assert_eq!(event(&mut ws, 203).await["license"], json!(key));
    assert_eq!(current_license_status(&mut ws).await, 3);
    // A note alone is not new terms.
    authorize_license(&mut ws, &key).await;
    s.patch(&lic(""), &app.seller.token, json!({ "note": "hello" })).await.assert_status(200);
    s.post(&lic("/extend"), &app.seller.token, json!({ "days": 1 })).await.assert_status(200);
    assert_eq!(event(&mut ws, 203).await["license"], json!(key), "the extension, not the note");
    assert_eq!(current_license_status(&mut ws).await, 3);

    // 205 paused (signed out), 206 unpaused (heard by the connection it signed out).
    authorize_license(&mut ws, &key).await;
    s.post(&lic("/pause"), &app.seller.token, json!({})).await.assert_status(200);
    assert_eq!(event(&mut ws, 205).await["license"], json!(key));
    assert_eq!(current_license_status(&mut ws).await, 3);
    s.post(&lic("/unpause"), &app.seller.token, json!({})).await.assert_status(200);
    assert_eq!(event(&mut ws, 206).await["license"], json!(key));

    // 201 banned, 202 unbanned.
    authorize_license(&mut ws, &key).await;
    s.post(&lic("/ban"), &app.seller.token, json!({})).await.assert_status(200);
    assert_eq!(event(&mut ws, 201).await["license"], json!(key));
    s.post(&lic("/unban"), &app.seller.token, json!({})).await.assert_status(200);
    assert_eq!(event(&mut ws, 202).await["license"], json!(key));
    assert_eq!(current_license_status(&mut ws).await, 3);

    // 204 deleted: known by its id only.
    authorize_license(&mut ws, &key).await;
    s.delete(&lic(""), &app.seller.token).await.assert_status(200);
    let content = event(&mut ws, 204).await;
    assert_eq!(content["license_id"], json!(id));
    assert_eq!(current_license_status(&mut ws).await, 3);
    still_open(&mut ws).await;
}

#[tokio::test]
async fn a_kick_taken_through_another_node_reaches_the_connection() {
    if !on_postgres() {
        return;
    }
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let app = BlazeApp::create(&a).await;
    let (lid, key) = license(&a, &app).await;
    // Connections on node B; the seller acts through node A.
    let mut killed = app.connect(&b, "client-killed").await;
    subscribe(&mut killed, true).await;
    let mut licensed = app.connect(&b, "client-licensed").await;
    subscribe(&mut licensed, true).await;
    authorize_license(&mut licensed, &key).await;
    let mut quiet = app.connect(&b, "client-quiet").await;

    let sid = session_of(&a, &app, "client-killed").await;
    a.delete(&app.path(&format!("/sessions/{sid}")), &app.seller.token).await.assert_status(200);
    event(&mut killed, 1).await;
    assert_eq!(killed.closed().await.0, 4100);

    a.post(&app.path(&format!("/licenses/{lid}/ban")), &app.seller.token, json!({})).await.assert_status(200);
    assert_eq!(event(&mut licensed, 201).await["license"], json!(key));
    assert_eq!(current_license_status(&mut licensed).await, 3);

    a.patch(&app.path(""), &app.seller.token, json!({ "version": "9.9.9" })).await.assert_status(200);
    assert_eq!(event(&mut licensed, 102).await, json!({ "version": "9.9.9" }));
    a.patch(&app.path(""), &app.seller.token, json!({ "status": "PAUSED" })).await.assert_status(200);
    event(&mut licensed, 101).await;
    assert_eq!(licensed.closed().await.0, 4101);
    let (code, _, before) = quiet.closed().await;
    assert_eq!(code, 4101);
    assert!(before.is_empty(), "{before:?}");
    b.stop().await;
    a.stop().await;
}
