//! Blazeauth accounts and licenses over the real socket: create account (1), authorize by license
//! (2) and by credentials (3), link license (4), logout (5), blacklist (6), current license (15)
//! and account (16), with every status each can give, the per-address cap on accounts made
//! without a license, concurrent first uses of one key, and the webhook events of a sign-up.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{json, Value};
use tollgate_core::model::{BlacklistKind, License, LicenseStatus, User, UserStatus};

use crate::harness::TestServer;
use crate::receiver::Receiver;
use crate::ws::{BlazeApp, Ws};

const PW: &str = "blaze-pass-1";

async fn server() -> TestServer {
    TestServer::start_with(|c| c.client_rate_limit = Some("0".into())).await
}

/// `count` fresh keys of the app (30 days unless `spec` says otherwise).
async fn keys(s: &TestServer, app: &BlazeApp, count: u32, spec: Value) -> Vec<String> {
    let mut body = json!({ "count": count, "durationType": "30d" });
    if let (Value::Object(b), Value::Object(extra)) = (&mut body, spec) {
        b.extend(extra);
    }
    let r = s.post(&app.path("/licenses"), &app.seller.token, body).await;
    r.assert_status(201);
    let list = r.data()["keys"].as_array().or_else(|| r.data().as_array()).cloned().unwrap_or_default();
    list.iter()
        .map(|k| k.as_str().map(str::to_owned).or_else(|| k["key"].as_str().map(str::to_owned)).unwrap())
        .collect()
}

async fn key(s: &TestServer, app: &BlazeApp) -> String {
    keys(s, app, 1, json!({})).await.remove(0)
}

async fn license(s: &TestServer, app: &BlazeApp, key: &str) -> License {
    s.state.store.license_by_key(&app.id, key).await.unwrap().expect("the license exists")
}

async fn user(s: &TestServer, app: &BlazeApp, name: &str) -> Option<User> {
    s.state.store.user_by_username(&app.id, name).await.unwrap()
}

async fn user_count(s: &TestServer, app: &BlazeApp) -> usize {
    let r = s.get(&app.path("/users"), &app.seller.token).await;
    r.assert_status(200);
    r.data().as_array().map(Vec::len).unwrap_or_else(|| r.data()["items"].as_array().map_or(0, Vec::len))
}

/// Create account `login` (credentials type 0) with `extra` fields.
async fn create(ws: &mut Ws, login: &str, extra: Value) -> Value {
    let mut body = json!({ "login": login, "password": PW, "credentials_type": 0 });
    if let (Value::Object(b), Value::Object(extra)) = (&mut body, extra) {
        b.extend(extra);
    }
    ws.call(1, body).await
}

async fn by_credentials(ws: &mut Ws, login: &str, password: &str) -> Value {
    ws.call(3, json!({ "login": login, "password": password, "credentials_type": 0 })).await
}

async fn by_license(ws: &mut Ws, key: &str) -> Value {
    ws.call(2, json!({ "license": key })).await
}

/// An account made with a fresh key, over its own connection.
async fn account(s: &TestServer, app: &BlazeApp, login: &str) -> String {
    let k = key(s, app).await;
    let mut ws = app.connect(s, "maker-01").await;
    let a = create(&mut ws, login, json!({ "license": k })).await;
    assert_eq!(a["status"], 1, "{a}");
    k
}

/// An admin action on the license with this key (`ban`, `pause`, ...).
async fn license_action(s: &TestServer, app: &BlazeApp, key: &str, action: &str) {
    let id = license(s, app, key).await.id;
    s.post(&app.path(&format!("/licenses/{id}/{action}")), &app.seller.token, json!({ "reason": "resold" }))
        .await
        .assert_status(200);
}

async fn user_action(s: &TestServer, app: &BlazeApp, name: &str, action: &str) {
    let id = user(s, app, name).await.expect("the user exists").id;
    s.post(&app.path(&format!("/users/{id}/{action}")), &app.seller.token, json!({ "reason": "abuse" }))
        .await
        .assert_status(200);
}

/// An account stored with no time left (as if its license ran out).
async fn expired_account(s: &TestServer, app: &BlazeApp, name: &str) {
    let mut u = crate::harness::user_row(&app.id, name, tollgate_core::password::hash(PW).unwrap());
    u.expires_at = Some(tollgate_core::time::now() - chrono::Duration::hours(1));
    s.state.store.create_user(&u, &[]).await.unwrap();
}

#[track_caller]
fn assert_fields(a: &Value, want: &[&str]) {
    let mut got: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
    got.retain(|k| !k.starts_with("signature"));
    got.sort_unstable();
    let mut want: Vec<&str> = want.iter().copied().chain(["id", "status"]).collect();
    want.sort_unstable();
    assert_eq!(got, want, "{a}");
}

#[tokio::test]
async fn blaze_create_account_with_a_license_redeems_it_without_signing_in() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    let k = keys(&s, &app, 1, json!({ "level": 3 })).await.remove(0);
    let mut ws = app.connect(&s, "client-01").await;
    let a = create(&mut ws, "newbie", json!({ "license": k, "comment": "from the shop" })).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_fields(&a, &[]);
    let u = user(&s, &app, "newbie").await.expect("the account was made");
    assert_eq!(u.note.as_deref(), Some("from the shop"));
    assert_eq!(u.level, 3);
    assert!(u.devices.is_empty(), "no device is bound where an account is made");
    let l = license(&s, &app, &k).await;
    assert_eq!((l.status, l.user_id.as_deref()), (LicenseStatus::Used, Some(u.id.as_str())));
    // The connection is not signed in by it.
    assert_eq!(ws.call(16, json!({})).await["status"], 3);
    assert_eq!(ws.call(5, json!({})).await["status"], 3);
    // The key is the account's now; the name is taken.
    assert_eq!(create(&mut ws, "second", json!({ "license": k })).await["status"], 106, "LicenseAlreadyLinked");
    let k2 = key(&s, &app).await;
    assert_eq!(create(&mut ws, "NEWBIE", json!({ "license": k2 })).await["status"], 202, "AppUserAlreadyExists");
    assert_eq!(create(&mut ws, "other", json!({ "license": "NOPE-NOPE-NOPE" })).await["status"], 100);
    // A key activated by a license sign-in is in use.
    let mut other = app.connect(&s, "client-02").await;
    assert_eq!(by_license(&mut other, &k2).await["status"], 1);
    assert_eq!(create(&mut ws, "third", json!({ "license": k2 })).await["status"], 107, "LicenseAlreadyActivated");
    // Banned, paused keys.
    let banned = key(&s, &app).await;
    license_action(&s, &app, &banned, "ban").await;
    assert_eq!(create(&mut ws, "fourth", json!({ "license": banned })).await["status"], 105);
    let paused = key(&s, &app).await;
    license_action(&s, &app, &paused, "pause").await;
    assert_eq!(create(&mut ws, "fifth", json!({ "license": paused })).await["status"], 104);
    let expired = key(&s, &app).await;
    let id = license(&s, &app, &expired).await.id;
    s.state
        .store
        .set_license_status(&app.id, &id, LicenseStatus::Unused, LicenseStatus::Expired, None, &[])
        .await
        .unwrap();
    assert_eq!(create(&mut ws, "sixth", json!({ "license": expired })).await["status"], 103);
    for name in ["second", "third", "fourth", "fifth", "sixth", "other"] {
        assert!(user(&s, &app, name).await.is_none(), "{name} was not made");
    }
    // The account signs in.
    let a = by_credentials(&mut ws, "newbie", PW).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_eq!(a["comment"], "from the shop");
}

#[tokio::test]
async fn blaze_create_account_by_email_uses_the_address_as_the_login() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    let k = key(&s, &app).await;
    let mut ws = app.connect(&s, "client-01").await;
    let a =
        ws.call(1, json!({ "login": "Dev@Example.com", "password": PW, "credentials_type": 1, "license": k })).await;
    assert_eq!(a["status"], 1, "{a}");
    let u = user(&s, &app, "dev@example.com").await.expect("named by the address");
    assert_eq!(u.email.as_deref(), Some("dev@example.com"));
    let a = ws.call(3, json!({ "login": "dev@example.com", "password": PW, "credentials_type": 1 })).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_eq!(a["login"], "dev@example.com");
}

#[tokio::test]
async fn blaze_length_and_shape_rules_answer_before_anything_is_looked_up() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    let k = key(&s, &app).await;
    let mut ws = app.connect(&s, "client-01").await;
    let long_login = "x".repeat(321);
    let cases: Vec<(Value, u64)> = vec![
        (json!({ "login": "okname", "password": PW, "license": "ABCDE" }), 101),
        (json!({ "login": "okname", "password": PW, "license": "A".repeat(65) }), 102),
        (json!({ "login": "abc", "password": PW, "license": k }), 205),
        (json!({ "login": long_login, "password": PW, "license": k }), 206),
        (json!({ "login": "okname", "password": "", "license": k }), 207),
        (json!({ "login": "okname", "password": "p".repeat(1025), "license": k }), 208),
        (json!({ "login": "not-an-email", "password": PW, "license": k, "credentials_type": 1 }), 209),
        (json!({ "login": "zero\u{200B}width", "password": PW, "license": k }), 210),
        (json!({ "login": "n".repeat(65), "password": PW, "license": k }), 210),
        (json!({ "login": "gооduser", "password": PW, "license": k }), 210),
        (json!({ "login": "okname", "password": PW, "license": "BAD\u{0}KEY" }), 100),
    ];
    for (body, want) in &cases {
        let a = ws.call(1, body.clone()).await;
        assert_eq!(a["status"], *want, "{body} → {a}");
    }
    // Sign-ins hold to the same rules.
    let signins: Vec<(Value, u64)> = vec![
        (json!({ "login": "abc", "password": PW }), 205),
        (json!({ "login": "x".repeat(321), "password": PW }), 206),
        (json!({ "login": "okname", "password": "" }), 207),
        (json!({ "login": "okname", "password": "p".repeat(1025) }), 208),
        (json!({ "login": "okname", "password": PW, "credentials_type": 1 }), 209),
        (json!({ "login": "bad\u{7}name", "password": PW }), 210),
        (json!({ "login": "okname", "password": PW, "license": "SHORT" }), 101),
    ];
    for (body, want) in &signins {
        let a = ws.call(3, body.clone()).await;
        assert_eq!(a["status"], *want, "{body} → {a}");
    }
    assert_eq!(by_license(&mut ws, "ABCDE").await["status"], 101);
    assert_eq!(by_license(&mut ws, &"K".repeat(65)).await["status"], 102);
    assert_eq!(by_license(&mut ws, "UNKNOWN-KEY").await["status"], 100);
    assert_eq!(user_count(&s, &app).await, 0, "nothing was made");
    assert_eq!(license(&s, &app, &k).await.status, LicenseStatus::Unused, "the key is untouched");
    // A comment no note can hold is a body that does not fit: 4302, nothing made.
    let a = json!({ "type": 1, "id": 99, "login": "okname", "password": PW, "license": k, "comment": "c".repeat(501) });
    ws.send(a).await;
    let (code, reason, before) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4302, "invalid request body"));
    assert!(before.is_empty(), "{before:?}");
    assert!(user(&s, &app, "okname").await.is_none());
}

#[tokio::test]
async fn blaze_accounts_require_license_setting_refuses_204() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    let r = s.get(&app.path(""), &app.seller.token).await;
    assert_eq!(r.data()["accountsRequireLicense"], false, "off by default");
    let r = s.patch(&app.path(""), &app.seller.token, json!({ "accountsRequireLicense": true })).await;
    r.assert_status(200);
    assert_eq!(r.data()["accountsRequireLicense"], true);
    let r = s.get(&app.path(""), &app.seller.token).await;
    assert_eq!(r.data()["accountsRequireLicense"], true);
    let mut ws = app.connect(&s, "client-01").await;
    let a = create(&mut ws, "nolicense", json!({ "comment": "hi" })).await;
    assert_eq!(a["status"], 204, "{a}");
    assert!(user(&s, &app, "nolicense").await.is_none());
    // With a license it is made.
    let k = key(&s, &app).await;
    assert_eq!(create(&mut ws, "licensed", json!({ "license": k })).await["status"], 1);
    // Not a boolean: refused by name.
    let r = s.patch(&app.path(""), &app.seller.token, json!({ "accountsRequireLicense": "yes" })).await;
    r.assert_status(400);
}

#[tokio::test]
async fn blaze_unlicensed_accounts_three_per_address_then_5_with_retry_after() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    let mut conns = Vec::new();
    for n in 0..6 {
        conns.push(app.connect(&s, &format!("client-{n:02}")).await);
    }
    let answers = join_all(conns.iter_mut().enumerate().map(|(n, ws)| async move {
        create(ws, &format!("free{n}"), json!({ "comment": format!("note {n}") })).await
    }))
    .await;
    let made: Vec<&Value> = answers.iter().filter(|a| a["status"] == 1).collect();
    let capped: Vec<&Value> = answers.iter().filter(|a| a["status"] == 5).collect();
    assert_eq!((made.len(), capped.len()), (3, 3), "{answers:?}");
    for a in &capped {
        assert_fields(a, &["retry_after"]);
        let after = a["retry_after"].as_u64().expect("retry_after is a number");
        assert!(after > 0 && after <= 24 * 3600, "{a}");
    }
    for a in &made {
        assert_fields(a, &[]);
    }
    let mut names = Vec::new();
    for n in 0..6 {
        if let Some(u) = user(&s, &app, &format!("free{n}")).await {
            assert_eq!(u.level, 0);
            assert_eq!(u.expires_at, Some(u.created_at), "no time until a license is linked");
            assert_eq!(u.note, Some(format!("note {n}")));
            names.push(u.username);
        }
    }
    assert_eq!(names.len(), 3, "{names:?}");
    // One of them signs in: no valid license until one is linked.
    let ws = &mut conns[0];
    let a = by_credentials(ws, &names[0], PW).await;
    assert_eq!(a["status"], 203, "{a}");
    assert_eq!(a["license_required"], true);
    assert_eq!(ws.call(16, json!({})).await["status"], 3, "not signed in");
    // With a license in the sign-in, it is linked first.
    let k = keys(&s, &app, 1, json!({ "level": 2 })).await.remove(0);
    let a = ws.call(3, json!({ "login": names[0], "password": PW, "license": k })).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_eq!(a["license_required"], false);
    assert_eq!(a["levels"], json!(["2"]));
    assert!(a["time_left"].as_i64().unwrap() > 29 * 86400, "{a}");
    // The wrong password links nothing.
    let k2 = key(&s, &app).await;
    let mut other = app.connect(&s, "client-77").await;
    let a = other.call(3, json!({ "login": names[1], "password": "wrong-pass", "license": k2 })).await;
    assert_eq!(a["status"], 200, "{a}");
    assert_eq!(license(&s, &app, &k2).await.status, LicenseStatus::Unused);
}

#[tokio::test]
async fn blaze_create_account_sends_its_webhook_events() {
    let s = TestServer::start_with(|c| {
        c.client_rate_limit = Some("0".into());
        c.webhook_allow_private = Some("true".into());
    })
    .await;
    let app = BlazeApp::create(&s).await;
    let rx = Receiver::start().await;
    let body = json!({ "url": rx.url, "events": ["user.register", "license.activate"] });
    s.post(&app.path("/webhooks"), &app.seller.token, body).await.assert_status(201);
    let k = key(&s, &app).await;
    let mut ws = app.connect(&s, "client-01").await;
    assert_eq!(create(&mut ws, "hooked", json!({ "license": k })).await["status"], 1);
    let got = rx.wait_for_event("user.register", 1).await;
    let data = got[0].json()["data"].clone();
    assert_eq!(data["username"], "hooked");
    assert_eq!(data["appId"], app.id.as_str());
    assert_eq!(data["ip"], "127.0.0.1");
    assert!(data["licenseId"].is_string(), "{data}");
    assert!(!got[0].json().to_string().contains(PW), "no password in an event");
    let got = rx.wait_for_event("license.activate", 1).await;
    assert_eq!(got[0].json()["data"]["appId"], app.id.as_str());
    // Without a license: user.register with no license.
    assert_eq!(create(&mut ws, "hookedfree", json!({})).await["status"], 1);
    let got = rx.wait_for(2, Duration::from_secs(15), |r| r.event() == "user.register").await;
    let free = got.iter().map(|r| r.json()["data"].clone()).find(|d| d["username"] == "hookedfree").expect("sent");
    assert!(free["licenseId"].is_null(), "{free}");
    assert_eq!(free["level"], 0);
}

#[tokio::test]
async fn blaze_authorize_by_license_activates_binds_and_answers_the_license() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    s.patch(&app.path(""), &app.seller.token, json!({ "levelNames": { "2": "Pro" } })).await.assert_status(200);
    let k = keys(&s, &app, 1, json!({ "level": 2, "note": "reseller batch" })).await.remove(0);
    let mut ws = app.connect(&s, "desktop-main").await;
    let a = by_license(&mut ws, &k).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_fields(&a, &["license", "levels", "comment", "ip_address", "time_left"]);
    assert_eq!(a["license"], k.as_str());
    assert_eq!(a["levels"], json!(["Pro"]));
    assert_eq!(a["comment"], "reseller batch");
    assert_eq!(a["ip_address"], "127.0.0.1");
    let left = a["time_left"].as_i64().unwrap();
    assert!((30 * 86400 - 120..=30 * 86400).contains(&left), "{a}");
    let l = license(&s, &app, &k).await;
    assert_eq!(l.status, LicenseStatus::Used);
    assert_eq!(l.devices, vec!["desktop-main".to_owned()], "the client id is bound");
    let session = s.state.store.list_live_sessions(&app.id, tollgate_core::time::now()).await.unwrap();
    assert!(session.iter().any(|v| v.session.license_id.as_deref() == Some(l.id.as_str())), "{session:?}");
    assert_eq!(by_license(&mut ws, &k).await["status"], 7, "AlreadyAuthorized");
    assert_eq!(by_credentials(&mut ws, "whoever", PW).await["status"], 7);
    // The same client id again signs in; another is refused.
    let mut again = app.connect(&s, "desktop-main").await;
    assert_eq!(by_license(&mut again, &k).await["status"], 1);
    let mut stranger = app.connect(&s, "laptop-02").await;
    assert_eq!(by_license(&mut stranger, &k).await["status"], 502, "ClientIDMismatch");
    // Lifetime: no time_left; a level without a name is its number.
    let life = keys(&s, &app, 1, json!({ "durationType": "lifetime" })).await.remove(0);
    let a = by_license(&mut stranger, &life).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_fields(&a, &["license", "levels", "comment", "ip_address"]);
    assert_eq!(a["levels"], json!(["1"]));
    assert_eq!(a["comment"], "");
    // Banned, paused, expired, linked to an account.
    let mut ws = app.connect(&s, "client-03").await;
    let banned = key(&s, &app).await;
    license_action(&s, &app, &banned, "ban").await;
    assert_eq!(by_license(&mut ws, &banned).await["status"], 105);
    let paused = key(&s, &app).await;
    license_action(&s, &app, &paused, "pause").await;
    assert_eq!(by_license(&mut ws, &paused).await["status"], 104);
    let expired = key(&s, &app).await;
    let id = license(&s, &app, &expired).await.id;
    s.state
        .store
        .set_license_status(&app.id, &id, LicenseStatus::Unused, LicenseStatus::Expired, None, &[])
        .await
        .unwrap();
    assert_eq!(by_license(&mut ws, &expired).await["status"], 103);
    let owned = account(&s, &app, "owner").await;
    assert_eq!(by_license(&mut ws, &owned).await["status"], 106, "the key is an account's");
    assert_eq!(ws.call(15, json!({})).await["status"], 3, "none of these signed in");
}

#[tokio::test]
async fn blaze_ten_concurrent_authorizations_on_one_fresh_key_bind_exactly_one() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    let k = key(&s, &app).await;
    let mut conns = Vec::new();
    for n in 0..10 {
        conns.push(app.connect(&s, &format!("racer-{n:02}")).await);
    }
    let answers = join_all(conns.iter_mut().map(|ws| {
        let k = k.clone();
        async move { by_license(ws, &k).await }
    }))
    .await;
    let statuses: Vec<u64> = answers.iter().map(|a| a["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 1).count(), 1, "{answers:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 502).count(), 9, "{answers:?}");
    let winner = statuses.iter().position(|s| *s == 1).unwrap();
    let l = license(&s, &app, &k).await;
    assert_eq!(l.devices, vec![format!("racer-{winner:02}")]);
    // Only the winner is signed in.
    for (n, ws) in conns.iter_mut().enumerate() {
        let want = if n == winner { 1 } else { 3 };
        assert_eq!(ws.call(15, json!({})).await["status"], want, "connection {n}");
    }
}

#[tokio::test]
async fn blaze_authorize_by_credentials_answers_the_account_and_logout_signs_out() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    s.patch(&app.path(""), &app.seller.token, json!({ "levelNames": { "1": "Basic" } })).await.assert_status(200);
    let k = key(&s, &app).await;
    let mut ws = app.connect(&s, "client-01").await;
    assert_eq!(create(&mut ws, "alice", json!({ "license": k, "comment": "vip" })).await["status"], 1);
    assert_eq!(by_credentials(&mut ws, "alice", "wrong-pass").await["status"], 200, "wrong password");
    assert_eq!(by_credentials(&mut ws, "nobody", PW).await["status"], 200, "unknown login");
    let a = by_credentials(&mut ws, "alice", PW).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_fields(&a, &["login", "levels", "comment", "ip_address", "time_left", "license_required"]);
    assert_eq!(a["login"], "alice");
    assert_eq!(a["levels"], json!(["Basic"]));
    assert_eq!(a["comment"], "vip");
    assert_eq!(a["ip_address"], "127.0.0.1");
    assert_eq!(a["license_required"], false);
    assert!(a["time_left"].as_i64().unwrap() > 29 * 86400, "{a}");
    let u = user(&s, &app, "alice").await.unwrap();
    assert_eq!(u.devices, vec!["client-01".to_owned()], "bound at the first sign-in");
    let sessions = s.state.store.list_live_sessions(&app.id, tollgate_core::time::now()).await.unwrap();
    assert!(sessions.iter().any(|v| v.session.user_id.as_deref() == Some(u.id.as_str())), "{sessions:?}");
    assert_eq!(by_credentials(&mut ws, "alice", PW).await["status"], 7, "AlreadyAuthorized");
    assert_eq!(by_license(&mut ws, &k).await["status"], 7);
    // Logout: signed out, the session stays.
    let a = ws.call(5, json!({})).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_fields(&a, &[]);
    let sessions = s.state.store.list_live_sessions(&app.id, tollgate_core::time::now()).await.unwrap();
    assert!(!sessions.iter().any(|v| v.session.user_id.as_deref() == Some(u.id.as_str())), "{sessions:?}");
    assert_eq!(ws.call(5, json!({})).await["status"], 3);
    assert_eq!(ws.call(16, json!({})).await["status"], 3);
    // Signs in again on the same connection; another client id is refused (device lock).
    assert_eq!(by_credentials(&mut ws, "alice", PW).await["status"], 1);
    let mut other = app.connect(&s, "client-02").await;
    assert_eq!(by_credentials(&mut other, "alice", PW).await["status"], 502);
    // Banned and paused accounts.
    let mut ws = app.connect(&s, "client-03").await;
    account(&s, &app, "bobby").await;
    user_action(&s, &app, "bobby", "ban").await;
    assert_eq!(by_credentials(&mut ws, "bobby", PW).await["status"], 201);
    account(&s, &app, "carol").await;
    user_action(&s, &app, "carol", "pause").await;
    assert_eq!(by_credentials(&mut ws, "carol", PW).await["status"], 201);
    // No time left: 203 with license_required.
    expired_account(&s, &app, "dave").await;
    let a = by_credentials(&mut ws, "dave", PW).await;
    assert_eq!(a["status"], 203, "{a}");
    assert_fields(&a, &["license_required"]);
    assert_eq!(a["license_required"], true);
}

#[tokio::test]
async fn blaze_link_license_adds_time_to_the_signed_in_account() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    let k = key(&s, &app).await;
    let mut ws = app.connect(&s, "client-01").await;
    assert_eq!(ws.call(4, json!({ "license": k })).await["status"], 3, "not authorized");
    assert_eq!(by_license(&mut ws, &k).await["status"], 1);
    let k2 = key(&s, &app).await;
    assert_eq!(ws.call(4, json!({ "license": k2 })).await["status"], 3, "authorized by license only");
    let mut ws = app.connect(&s, "client-02").await;
    account(&s, &app, "erin").await;
    let a = by_credentials(&mut ws, "erin", PW).await;
    assert_eq!(a["status"], 1, "{a}");
    let before = a["time_left"].as_i64().unwrap();
    assert_eq!(ws.call(4, json!({ "license": "ABCDE" })).await["status"], 101);
    assert_eq!(ws.call(4, json!({ "license": "L".repeat(65) })).await["status"], 102);
    assert_eq!(ws.call(4, json!({ "license": "UNKNOWN-KEY" })).await["status"], 100);
    assert_eq!(ws.call(4, json!({ "license": k })).await["status"], 107, "activated by a license sign-in");
    let a = ws.call(4, json!({ "license": k2 })).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_fields(&a, &[]);
    assert_eq!(ws.call(4, json!({ "license": k2 })).await["status"], 106, "already linked");
    let banned = key(&s, &app).await;
    license_action(&s, &app, &banned, "ban").await;
    assert_eq!(ws.call(4, json!({ "license": banned })).await["status"], 105);
    let paused = key(&s, &app).await;
    license_action(&s, &app, &paused, "pause").await;
    assert_eq!(ws.call(4, json!({ "license": paused })).await["status"], 104);
    let a = ws.call(16, json!({})).await;
    assert_eq!(a["status"], 1, "{a}");
    let after = a["time_left"].as_i64().unwrap();
    assert!(after >= before + 29 * 86400, "30 days added: {before} → {after}");
    let l = license(&s, &app, &k2).await;
    assert_eq!(l.user_id, user(&s, &app, "erin").await.map(|u| u.id));
}

#[tokio::test]
async fn blaze_current_license_and_account_read_them_as_they_are_now() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = app.connect(&s, "client-01").await;
    assert_eq!(ws.call(15, json!({})).await["status"], 3);
    assert_eq!(ws.call(16, json!({})).await["status"], 3);
    let k = keys(&s, &app, 1, json!({ "note": "n1" })).await.remove(0);
    assert_eq!(by_license(&mut ws, &k).await["status"], 1);
    let a = ws.call(15, json!({})).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_fields(&a, &["license", "levels", "comment", "ip_address", "time_left"]);
    assert_eq!((a["license"].as_str(), a["comment"].as_str()), (Some(k.as_str()), Some("n1")));
    assert_eq!(ws.call(16, json!({})).await["status"], 3, "not an account");
    // Expired meanwhile: 103, the fields still there.
    let id = license(&s, &app, &k).await.id;
    s.state
        .store
        .set_license_status(&app.id, &id, LicenseStatus::Used, LicenseStatus::Expired, None, &[])
        .await
        .unwrap();
    let a = ws.call(15, json!({})).await;
    assert_eq!(a["status"], 103, "{a}");
    assert_eq!(a["license"], k.as_str());
    assert_fields(&a, &["license", "levels", "comment", "ip_address", "time_left"]);
    // An account.
    let mut ws = app.connect(&s, "client-02").await;
    account(&s, &app, "frank").await;
    assert_eq!(by_credentials(&mut ws, "frank", PW).await["status"], 1);
    let a = ws.call(16, json!({})).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_fields(&a, &["login", "levels", "comment", "ip_address", "time_left", "license_required"]);
    assert_eq!(a["login"], "frank");
    assert_eq!(ws.call(15, json!({})).await["status"], 3, "not a license sign-in");
    // Banned behind the server's back (a seller's ban through the API also kicks the socket,
    // see blaze_live): the account is read as it is now.
    let frank = user(&s, &app, "frank").await.unwrap();
    s.state
        .store
        .set_user_status(&app.id, &frank.id, UserStatus::Active, UserStatus::Banned, None, &[])
        .await
        .unwrap()
        .unwrap();
    let a = ws.call(16, json!({})).await;
    assert_eq!(a["status"], 201, "{a}");
    assert_eq!(a["login"], "frank");
    // Through the admin API the ban closes the connection 4100.
    let mut ws = app.connect(&s, "client-03").await;
    account(&s, &app, "gina").await;
    assert_eq!(by_credentials(&mut ws, "gina", PW).await["status"], 1);
    user_action(&s, &app, "gina", "ban").await;
    let (code, _, _) = ws.closed().await;
    assert_eq!(code, 4100);
}

#[tokio::test]
async fn blaze_blacklist_answers_then_closes_4203_and_the_client_id_is_refused_after() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = app.connect(&s, "cracked-01").await;
    let id = ws.id();
    ws.send(json!({ "type": 6, "id": id, "comment": "debugger attached" })).await;
    let (code, reason, before) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4203, "session was blacklisted"));
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["id"], id);
    assert_eq!(before[0]["status"], 1);
    let entries = s.state.store.list_blacklist(&app.id).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].kind, BlacklistKind::ClientId);
    assert_eq!(entries[0].value, "cracked-01");
    assert_eq!(entries[0].reason.as_deref(), Some("debugger attached"));
    // The client id is refused from now on; another is not.
    let mut again = Ws::connect(&s, "/ws").await;
    let a = again.initialize(&app.ws_key, "cracked-01").await;
    assert_eq!(a["status"], 503, "{a}");
    let mut other = app.connect(&s, "honest-02").await;
    // Blacklisting again without a comment lists the id once more (no reason).
    other.send(json!({ "type": 6, "id": 5 })).await;
    let (code, _, before) = other.closed().await;
    assert_eq!((code, before[0]["status"].as_u64()), (4203, Some(1)));
    let entries = s.state.store.list_blacklist(&app.id).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().any(|e| e.value == "honest-02" && e.reason.is_none()), "{entries:?}");
}

#[tokio::test]
async fn blaze_blacklist_full_answers_604_and_stays_open() {
    let s = server().await;
    let app = BlazeApp::create(&s).await;
    let at = tollgate_core::time::now();
    let entries: Vec<_> = (0..tollgate_core::rules::MAX_BLACKLIST_ENTRIES)
        .map(|n| tollgate_core::model::BlacklistEntry {
            id: tollgate_core::ids::new_id("bl"),
            app_id: app.id.clone(),
            kind: BlacklistKind::Hwid,
            value: format!("hw-{n}"),
            reason: None,
            created_at: at,
        })
        .collect();
    for chunk in entries.chunks(100) {
        join_all(chunk.iter().map(|e| s.state.store.add_blacklist(e))).await.into_iter().for_each(|r| r.unwrap());
    }
    let mut ws = app.connect(&s, "client-01").await;
    let a = ws.call(6, json!({ "comment": "x" })).await;
    assert_eq!(a["status"], 604, "{a}");
    assert_eq!(ws.call(16, json!({})).await["status"], 3, "still open");
    assert_eq!(s.state.store.list_blacklist(&app.id).await.unwrap().len(), tollgate_core::rules::MAX_BLACKLIST_ENTRIES);
}
