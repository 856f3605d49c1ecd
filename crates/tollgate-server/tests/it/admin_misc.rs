//! Admin API: variables, blacklist, sessions, resellers, webhooks, logs and the audit trail.

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use tollgate_core::ids;
use tollgate_core::model::{LogEntry, Session, User, UserStatus};
use tollgate_core::time::{now, Timestamp};

use crate::harness::{Resp, SellerLogin, TestServer};

// ---------------------------------------------------------------- fixtures

/// A server, a seller and one of their apps.
async fn setup() -> (TestServer, SellerLogin, String) {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Main").await;
    let app_id = app["id"].as_str().unwrap().to_owned();
    (s, seller, app_id)
}

fn at(app_id: &str, rest: &str) -> String {
    format!("/v1/admin/apps/{app_id}{rest}")
}

/// An end user created directly in the store (client registration comes in a later issue).
async fn make_user(s: &TestServer, app_id: &str, username: &str) -> String {
    let user = User {
        note: None,
        id: ids::new_id(ids::prefix::USER),
        app_id: app_id.to_owned(),
        username: username.to_owned(),
        password_hash: "not-a-real-hash".to_owned(),
        email: None,
        level: 1,
        expires_at: None,
        devices: vec![],
        max_devices: 1,
        last_ip: None,
        status: UserStatus::Active,
        ban_reason: None,
        last_login: None,
        created_at: now(),
    };
    s.state.store.create_user(&user, &[]).await.unwrap();
    user.id
}

/// A session created directly in the store, created at `created` and expiring `ttl` later.
async fn make_session(
    s: &TestServer,
    app_id: &str,
    user_id: Option<&str>,
    created: Timestamp,
    ttl: Duration,
) -> Session {
    let session = Session {
        id: ids::new_id(ids::prefix::SESSION),
        app_id: app_id.to_owned(),
        token: ids::new_token(),
        user_id: user_id.map(str::to_owned),
        license_id: None,
        ip: Some("203.0.113.7".to_owned()),
        hwid: Some("HWID-TEST".to_owned()),
        client_id: Some("client-1".to_owned()),
        created_at: created,
        expires_at: created + ttl,
        last_seen: created,
    };
    s.state.store.create_session(&session, &[]).await.unwrap();
    session
}

async fn make_log(s: &TestServer, app_id: &str, message: &str, created: Timestamp) -> LogEntry {
    let entry = LogEntry {
        id: ids::new_id(ids::prefix::LOG),
        app_id: app_id.to_owned(),
        user_id: Some("usr_x".to_owned()),
        username: Some("john".to_owned()),
        message: message.to_owned(),
        ip: Some("198.51.100.1".to_owned()),
        hwid: Some("HWID-LOG".to_owned()),
        created_at: created,
    };
    s.state.store.append_log(&entry).await.unwrap();
    entry
}

/// `data` of a 200 list answer.
async fn list(s: &TestServer, path: &str, token: &str) -> Vec<Value> {
    let r = s.get(path, token).await;
    r.assert_status(200);
    r.data().as_array().unwrap_or_else(|| panic!("not a list: {}", r.body)).clone()
}

/// Timestamps have millisecond precision and rows of the same millisecond have no defined
/// order; tests that assert an order space their writes out.
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
}

#[track_caller]
fn assert_names(r: &Resp, status: u16, code: &str, field: &str) {
    r.assert_error(status, code);
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.contains(field), "message {msg:?} should name {field:?}");
}

#[track_caller]
fn assert_ts(v: &Value) {
    let t = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    assert!(tollgate_core::time::parse_rfc3339(t).is_some() && t.ends_with('Z'), "{t}");
}

// ---------------------------------------------------------------- variables

#[tokio::test]
async fn variables_create_list_update_delete() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;

    let r =
        s.post(&at(&app, "/variables"), t, json!({"key": "latest_version", "value": "2.1.0", "readOnly": true})).await;
    r.assert_status(201);
    let v = r.data();
    assert!(v["id"].as_str().unwrap().starts_with("var_"));
    assert_eq!(v["key"], "latest_version");
    assert_eq!(v["value"], "2.1.0");
    assert_eq!(v["readOnly"], true);
    assert_eq!(v["authRequired"], false, "authRequired defaults to false");
    assert_ts(&v["createdAt"]);
    assert_ts(&v["updatedAt"]);

    let r = s.post(&at(&app, "/variables"), t, json!({"key": "A.b-c_9", "value": "", "authRequired": true})).await;
    r.assert_status(201);
    assert_eq!(r.data()["readOnly"], false, "readOnly defaults to false");
    assert_eq!(r.data()["authRequired"], true);
    assert_eq!(r.data()["value"], "");

    // Exactly 64 KiB is accepted.
    let big = "x".repeat(64 * 1024);
    s.post(&at(&app, "/variables"), t, json!({"key": "big", "value": big})).await.assert_status(201);

    // Same key again: 409, and the first value stays.
    s.post(&at(&app, "/variables"), t, json!({"key": "latest_version", "value": "9"}))
        .await
        .assert_error(409, "CONFLICT");

    let vars = list(&s, &at(&app, "/variables"), t).await;
    let keys: Vec<&str> = vars.iter().map(|v| v["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["A.b-c_9", "big", "latest_version"], "sorted by key");
    assert_eq!(vars[2]["value"], "2.1.0");
    assert_eq!(vars[1]["value"].as_str().unwrap().len(), 64 * 1024);

    // PATCH changes only what it names.
    let r = s.patch(&at(&app, "/variables/latest_version"), t, json!({"value": "2.2.0"})).await;
    r.assert_status(200);
    assert_eq!(r.data()["value"], "2.2.0");
    assert_eq!(r.data()["readOnly"], true);
    assert_eq!(r.data()["authRequired"], false);
    let r = s.patch(&at(&app, "/variables/latest_version"), t, json!({"readOnly": false, "authRequired": true})).await;
    r.assert_status(200);
    assert_eq!(
        (r.data()["value"].as_str(), r.data()["readOnly"].as_bool(), r.data()["authRequired"].as_bool()),
        (Some("2.2.0"), Some(false), Some(true))
    );
    let vars = list(&s, &at(&app, "/variables"), t).await;
    let lv = vars.iter().find(|v| v["key"] == "latest_version").unwrap();
    assert_eq!(
        (lv["value"].as_str(), lv["readOnly"].as_bool(), lv["authRequired"].as_bool()),
        (Some("2.2.0"), Some(false), Some(true))
    );
    assert!(lv["updatedAt"].as_str() >= lv["createdAt"].as_str());

    s.patch(&at(&app, "/variables/nope"), t, json!({"value": "x"})).await.assert_error(404, "NOT_FOUND");

    let r = s.delete(&at(&app, "/variables/latest_version"), t).await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "Variable deleted");
    s.delete(&at(&app, "/variables/latest_version"), t).await.assert_error(404, "NOT_FOUND");
    let keys: Vec<Value> = list(&s, &at(&app, "/variables"), t).await.iter().map(|v| v["key"].clone()).collect();
    assert_eq!(keys, [json!("A.b-c_9"), json!("big")]);

    // A deleted key can be created again.
    s.post(&at(&app, "/variables"), t, json!({"key": "latest_version", "value": "3"})).await.assert_status(201);
}

#[tokio::test]
async fn variables_bad_input_changes_nothing() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let path = at(&app, "/variables");
    s.post(&path, t, json!({"key": "k", "value": "v"})).await.assert_status(201);

    let r = s.raw(Method::POST, &path, Some(t), b"{\"key\": \"x\", ".to_vec()).await;
    r.assert_error(400, "INVALID_JSON");
    assert_names(&s.post(&path, t, json!({"value": "v"})).await, 400, "MISSING_FIELDS", "key");
    assert_names(&s.post(&path, t, json!({"key": "x"})).await, 400, "MISSING_FIELDS", "value");
    assert_names(&s.post(&path, t, json!({"key": "x", "value": 5})).await, 400, "VALIDATION_ERROR", "value");
    assert_names(&s.post(&path, t, json!({"key": 5, "value": "v"})).await, 400, "VALIDATION_ERROR", "key");
    assert_names(
        &s.post(&path, t, json!({"key": "x", "value": "v", "readOnly": "yes"})).await,
        400,
        "VALIDATION_ERROR",
        "readOnly",
    );
    assert_names(
        &s.post(&path, t, json!({"key": "x", "value": "v", "authRequired": 1})).await,
        400,
        "VALIDATION_ERROR",
        "authRequired",
    );
    for bad_key in ["", "has space", "slash/y", "ünï", &"k".repeat(129)] {
        assert_names(&s.post(&path, t, json!({"key": bad_key, "value": "v"})).await, 400, "VALIDATION_ERROR", "key");
    }
    let too_big = "x".repeat(64 * 1024 + 1);
    assert_names(&s.post(&path, t, json!({"key": "x", "value": too_big})).await, 400, "VALIDATION_ERROR", "value");

    let kp = at(&app, "/variables/k");
    assert_names(&s.patch(&kp, t, json!({"value": 1})).await, 400, "VALIDATION_ERROR", "value");
    assert_names(&s.patch(&kp, t, json!({"readOnly": "no"})).await, 400, "VALIDATION_ERROR", "readOnly");
    assert_names(&s.patch(&kp, t, json!({"value": too_big})).await, 400, "VALIDATION_ERROR", "value");
    s.raw(Method::PATCH, &kp, Some(t), b"{\"value\": ".to_vec()).await.assert_error(400, "INVALID_JSON");

    let vars = list(&s, &path, t).await;
    assert_eq!(vars.len(), 1, "{vars:?}");
    assert_eq!(
        (vars[0]["key"].as_str(), vars[0]["value"].as_str(), vars[0]["readOnly"].as_bool()),
        (Some("k"), Some("v"), Some(false))
    );
}

// ---------------------------------------------------------------- blacklist

#[tokio::test]
async fn blacklist_add_list_remove() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let path = at(&app, "/blacklist");

    let r = s.post(&path, t, json!({"type": "IP", "value": "1.2.3.4", "reason": "abuse"})).await;
    r.assert_status(201);
    let ip = r.data().clone();
    assert!(ip["id"].as_str().unwrap().starts_with("bl_"));
    assert_eq!(ip["type"], "IP");
    assert_eq!(ip["value"], "1.2.3.4/32", "a bare address is stored as a /32");
    assert_eq!(ip["reason"], "abuse");
    assert_ts(&ip["createdAt"]);

    tick().await;
    let r = s.post(&path, t, json!({"type": "IP", "value": "10.9.8.7/8"})).await;
    r.assert_status(201);
    assert_eq!(r.data()["value"], "10.0.0.0/8", "ranges are stored in canonical form");
    assert_eq!(r.data()["reason"], Value::Null);
    tick().await;
    let r = s.post(&path, t, json!({"type": "IP", "value": "2001:db8::1"})).await;
    r.assert_status(201);
    assert_eq!(r.data()["value"], "2001:db8::1/128");
    tick().await;
    let r = s
        .post(&path, t, json!({"type": "HWID", "value": "  HWID-A1B2C3D4 ", "reason": "License sharing detected"}))
        .await;
    r.assert_status(201);
    assert_eq!(r.data()["value"], "HWID-A1B2C3D4");
    tick().await;
    s.post(&path, t, json!({"type": "USERNAME", "value": "cheater"})).await.assert_status(201);
    tick().await;
    let r = s.post(&path, t, json!({"type": "CLIENT_ID", "value": "cid-42"})).await;
    r.assert_status(201);
    assert_eq!(r.data()["type"], "CLIENT_ID");

    // The same address written another way is the same entry.
    s.post(&path, t, json!({"type": "IP", "value": "1.2.3.4/32"})).await.assert_error(409, "CONFLICT");
    s.post(&path, t, json!({"type": "HWID", "value": "HWID-A1B2C3D4"})).await.assert_error(409, "CONFLICT");
    // Same value under another type is a different entry.
    tick().await;
    s.post(&path, t, json!({"type": "USERNAME", "value": "HWID-A1B2C3D4"})).await.assert_status(201);

    let entries = list(&s, &path, t).await;
    let got: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["value"].as_str().unwrap().to_owned()))
        .collect();
    let want = [
        ("IP", "1.2.3.4/32"),
        ("IP", "10.0.0.0/8"),
        ("IP", "2001:db8::1/128"),
        ("HWID", "HWID-A1B2C3D4"),
        ("USERNAME", "cheater"),
        ("CLIENT_ID", "cid-42"),
        ("USERNAME", "HWID-A1B2C3D4"),
    ];
    assert_eq!(got, want.map(|(a, b)| (a.to_owned(), b.to_owned())), "oldest first");

    let r = s.delete(&at(&app, &format!("/blacklist/{}", ip["id"].as_str().unwrap())), t).await;
    r.assert_status(200);
    assert_eq!(r.body["message"], "Blacklist entry removed");
    s.delete(&at(&app, &format!("/blacklist/{}", ip["id"].as_str().unwrap())), t).await.assert_error(404, "NOT_FOUND");
    s.delete(&at(&app, "/blacklist/bl_doesnotexist"), t).await.assert_error(404, "NOT_FOUND");
    let entries = list(&s, &path, t).await;
    assert_eq!(entries.len(), 6);
    assert!(entries.iter().all(|e| e["id"] != ip["id"]));
    // Once removed, the address can be listed again.
    s.post(&path, t, json!({"type": "IP", "value": "1.2.3.4"})).await.assert_status(201);
}

#[tokio::test]
async fn blacklist_bad_input_changes_nothing() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let path = at(&app, "/blacklist");
    s.post(&path, t, json!({"type": "HWID", "value": "keep"})).await.assert_status(201);

    s.raw(Method::POST, &path, Some(t), b"{\"type\":".to_vec()).await.assert_error(400, "INVALID_JSON");
    assert_names(&s.post(&path, t, json!({"value": "1.2.3.4"})).await, 400, "MISSING_FIELDS", "type");
    assert_names(&s.post(&path, t, json!({"type": "IP"})).await, 400, "MISSING_FIELDS", "value");
    assert_names(&s.post(&path, t, json!({"type": "EMAIL", "value": "a@b.c"})).await, 400, "VALIDATION_ERROR", "type");
    assert_names(&s.post(&path, t, json!({"type": 1, "value": "x"})).await, 400, "VALIDATION_ERROR", "type");
    assert_names(&s.post(&path, t, json!({"type": "HWID", "value": 7})).await, 400, "VALIDATION_ERROR", "value");
    assert_names(
        &s.post(&path, t, json!({"type": "HWID", "value": "x", "reason": 7})).await,
        400,
        "VALIDATION_ERROR",
        "reason",
    );
    assert_names(
        &s.post(&path, t, json!({"type": "HWID", "value": "x", "reason": "r".repeat(501)})).await,
        400,
        "VALIDATION_ERROR",
        "reason",
    );
    for bad_ip in ["1.2.3", "1.2.3.4/33", "300.1.1.1", "example.com", ""] {
        assert_names(&s.post(&path, t, json!({"type": "IP", "value": bad_ip})).await, 400, "VALIDATION_ERROR", "value");
    }
    for bad in ["", "   ", &"h".repeat(257)] {
        assert_names(
            &s.post(&path, t, json!({"type": "USERNAME", "value": bad})).await,
            400,
            "VALIDATION_ERROR",
            "value",
        );
    }

    let entries = list(&s, &path, t).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["value"], "keep");
}

// ---------------------------------------------------------------- sessions

#[tokio::test]
async fn sessions_list_live_and_kill_one() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let user_id = make_user(&s, &app, "john").await;
    let base = now();
    let anon = make_session(&s, &app, None, base - Duration::minutes(10), Duration::hours(24)).await;
    let johns = make_session(&s, &app, Some(&user_id), base - Duration::minutes(5), Duration::hours(24)).await;
    let expired = make_session(&s, &app, Some(&user_id), base - Duration::hours(30), Duration::hours(24)).await;

    let live = list(&s, &at(&app, "/sessions"), t).await;
    let ids: Vec<&str> = live.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [johns.id.as_str(), anon.id.as_str()], "live sessions only, newest first");
    let j = &live[0];
    assert_eq!(j["token"], johns.token.as_str());
    assert_eq!(j["ip"], "203.0.113.7");
    assert_eq!(j["hwid"], "HWID-TEST");
    assert_eq!(j["clientId"], "client-1");
    assert_eq!(j["appUser"], json!({"username": "john"}));
    assert_eq!(j["createdAt"], tollgate_core::time::rfc3339(&johns.created_at).as_str());
    assert_eq!(j["expiresAt"], tollgate_core::time::rfc3339(&johns.expires_at).as_str());
    assert_ts(&j["lastSeen"]);
    assert_eq!(live[1]["appUser"], Value::Null, "a session without an account");

    let r = s.delete(&at(&app, &format!("/sessions/{}", johns.id)), t).await;
    r.assert_status(200);
    assert_eq!(r.body["message"], "Session killed");
    assert!(s.state.store.session_by_token(&app, &johns.token).await.unwrap().is_none(), "gone from the store");
    s.delete(&at(&app, &format!("/sessions/{}", johns.id)), t).await.assert_error(404, "NOT_FOUND");
    s.delete(&at(&app, "/sessions/sess_doesnotexist"), t).await.assert_error(404, "NOT_FOUND");
    let live = list(&s, &at(&app, "/sessions"), t).await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["id"], anon.id.as_str());
    let _ = expired;
}

#[tokio::test]
async fn sessions_kill_all_of_one_app() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let other_app = s.create_app(&seller, "Second").await["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        make_session(&s, &app, None, now(), Duration::hours(24)).await;
    }
    let kept = make_session(&s, &other_app, None, now(), Duration::hours(24)).await;

    let r = s.delete(&at(&app, "/sessions"), t).await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "Sessions killed");
    assert_eq!(r.data()["killed"], 3);
    assert!(list(&s, &at(&app, "/sessions"), t).await.is_empty());
    let other = list(&s, &at(&other_app, "/sessions"), t).await;
    assert_eq!(other.len(), 1, "another app's sessions stay");
    assert_eq!(other[0]["id"], kept.id.as_str());

    let r = s.delete(&at(&app, "/sessions"), t).await;
    r.assert_status(200);
    assert_eq!(r.data()["killed"], 0);
}

// ---------------------------------------------------------------- resellers

/// No answer ever carries a password or its hash.
#[track_caller]
fn assert_no_password(v: &Value) {
    let text = v.to_string().to_lowercase();
    assert!(!text.contains("password") && !text.contains("$argon2"), "{text}");
}

#[tokio::test]
async fn resellers_create_list_update_delete() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let path = at(&app, "/resellers");

    let r = s.post(&path, t, json!({"username": "reseller1", "password": "resellerpass"})).await;
    r.assert_status(201);
    assert_no_password(&r.body);
    let r1 = r.data().clone();
    assert!(r1["id"].as_str().unwrap().starts_with("rsl_"));
    assert_eq!(r1["username"], "reseller1");
    assert_eq!(r1["balance"], 0, "balance defaults to 0");
    assert_ts(&r1["createdAt"]);
    let r1_id = r1["id"].as_str().unwrap().to_owned();
    let stored = s.state.store.get_reseller(&app, &r1_id).await.unwrap().unwrap();
    assert!(
        tollgate_core::password::verify("resellerpass", &stored.password_hash),
        "password stored as a verifiable hash"
    );
    assert_ne!(stored.password_hash, "resellerpass");

    let r =
        s.post(&path, t, json!({"username": "reseller2", "password": "anotherpass", "balance": 1_000_000_000})).await;
    r.assert_status(201);
    assert_eq!(r.data()["balance"], 1_000_000_000);
    let r2_id = r.data()["id"].as_str().unwrap().to_owned();

    s.post(&path, t, json!({"username": "reseller1", "password": "whatever123"})).await.assert_error(409, "CONFLICT");

    let all = list(&s, &path, t).await;
    assert_no_password(&Value::Array(all.clone()));
    let mut names: Vec<&str> = all.iter().map(|r| r["username"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["reseller1", "reseller2"]);

    let r = s.patch(&at(&app, &format!("/resellers/{r1_id}")), t, json!({"balance": 50})).await;
    r.assert_status(200);
    assert_no_password(&r.body);
    assert_eq!((r.data()["id"].as_str(), r.data()["balance"].as_i64()), (Some(r1_id.as_str()), Some(50)));
    let r = s.patch(&at(&app, &format!("/resellers/{r1_id}")), t, json!({"password": "brand new pass"})).await;
    r.assert_status(200);
    assert_no_password(&r.body);
    assert_eq!(r.data()["balance"], 50, "a password change leaves the balance");
    let stored = s.state.store.get_reseller(&app, &r1_id).await.unwrap().unwrap();
    assert!(tollgate_core::password::verify("brand new pass", &stored.password_hash));
    assert!(!tollgate_core::password::verify("resellerpass", &stored.password_hash));
    let all = list(&s, &path, t).await;
    assert_eq!(all.iter().find(|r| r["id"] == r1_id.as_str()).unwrap()["balance"], 50);

    s.patch(&at(&app, "/resellers/rsl_doesnotexist"), t, json!({"balance": 1})).await.assert_error(404, "NOT_FOUND");

    let r = s.delete(&at(&app, &format!("/resellers/{r2_id}")), t).await;
    r.assert_status(200);
    assert_eq!(r.body["message"], "Reseller deleted");
    s.delete(&at(&app, &format!("/resellers/{r2_id}")), t).await.assert_error(404, "NOT_FOUND");
    let all = list(&s, &path, t).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["username"], "reseller1");
}

#[tokio::test]
async fn resellers_bad_input_changes_nothing() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let path = at(&app, "/resellers");
    let r = s.post(&path, t, json!({"username": "keep", "password": "keeppass1", "balance": 10})).await;
    r.assert_status(201);
    let id = r.data()["id"].as_str().unwrap().to_owned();
    let hash_before = s.state.store.get_reseller(&app, &id).await.unwrap().unwrap().password_hash;

    s.raw(Method::POST, &path, Some(t), b"{".to_vec()).await.assert_error(400, "INVALID_JSON");
    assert_names(&s.post(&path, t, json!({"password": "longenough"})).await, 400, "MISSING_FIELDS", "username");
    assert_names(&s.post(&path, t, json!({"username": "x"})).await, 400, "MISSING_FIELDS", "password");
    assert_names(
        &s.post(&path, t, json!({"username": "x", "password": "short"})).await,
        400,
        "VALIDATION_ERROR",
        "password",
    );
    assert_names(
        &s.post(&path, t, json!({"username": "  ", "password": "longenough"})).await,
        400,
        "VALIDATION_ERROR",
        "username",
    );
    assert_names(
        &s.post(&path, t, json!({"username": "x", "password": "longenough", "balance": -1})).await,
        400,
        "VALIDATION_ERROR",
        "balance",
    );
    assert_names(
        &s.post(&path, t, json!({"username": "x", "password": "longenough", "balance": 1_000_000_001})).await,
        400,
        "VALIDATION_ERROR",
        "balance",
    );
    assert_names(
        &s.post(&path, t, json!({"username": "x", "password": "longenough", "balance": "100"})).await,
        400,
        "VALIDATION_ERROR",
        "balance",
    );
    assert_names(
        &s.post(&path, t, json!({"username": "x", "password": "longenough", "balance": 1.5})).await,
        400,
        "VALIDATION_ERROR",
        "balance",
    );
    assert_names(
        &s.post(&path, t, json!({"username": 3, "password": "longenough"})).await,
        400,
        "VALIDATION_ERROR",
        "username",
    );

    let one = at(&app, &format!("/resellers/{id}"));
    assert_names(&s.patch(&one, t, json!({"balance": -5})).await, 400, "VALIDATION_ERROR", "balance");
    assert_names(&s.patch(&one, t, json!({"balance": "5"})).await, 400, "VALIDATION_ERROR", "balance");
    assert_names(&s.patch(&one, t, json!({"password": "short"})).await, 400, "VALIDATION_ERROR", "password");
    // A bad field refuses the whole patch: the good balance is not written either.
    assert_names(
        &s.patch(&one, t, json!({"balance": 99, "password": "short"})).await,
        400,
        "VALIDATION_ERROR",
        "password",
    );

    let all = list(&s, &path, t).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!((all[0]["username"].as_str(), all[0]["balance"].as_i64()), (Some("keep"), Some(10)));
    let hash_after = s.state.store.get_reseller(&app, &id).await.unwrap().unwrap().password_hash;
    assert_eq!(hash_before, hash_after);
}

// ---------------------------------------------------------------- webhooks

#[tokio::test]
async fn webhooks_create_list_update_delete() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let path = at(&app, "/webhooks");

    let r = s
        .post(&path, t, json!({"url": "https://discord.com/api/webhooks/1", "events": ["user.login", "user.register", "license.activate"]}))
        .await;
    r.assert_status(201);
    let h = r.data().clone();
    assert!(h["id"].as_str().unwrap().starts_with("wh_"));
    assert_eq!(h["url"], "https://discord.com/api/webhooks/1");
    assert_eq!(h["events"], json!(["user.login", "user.register", "license.activate"]));
    assert_eq!(h["enabled"], true);
    let secret = h["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 20, "{secret}");
    assert_ts(&h["createdAt"]);
    let id = h["id"].as_str().unwrap().to_owned();

    let r = s.post(&path, t, json!({"url": "http://example.com/hook", "events": ["session.create"]})).await;
    r.assert_status(201);
    assert_ne!(r.data()["secret"], h["secret"], "each webhook has its own secret");

    let all = list(&s, &path, t).await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|w| w.get("secret").is_none()), "the secret is shown on creation only: {all:?}");
    assert!(!Value::Array(all.clone()).to_string().contains(secret));
    let mine = all.iter().find(|w| w["id"] == id.as_str()).unwrap();
    assert_eq!(mine["events"], h["events"]);

    let one = at(&app, &format!("/webhooks/{id}"));
    let r = s.patch(&one, t, json!({"enabled": false})).await;
    r.assert_status(200);
    assert!(r.data().get("secret").is_none());
    assert_eq!(
        (r.data()["enabled"].as_bool(), r.data()["url"].as_str()),
        (Some(false), Some("https://discord.com/api/webhooks/1"))
    );
    let r = s.patch(&one, t, json!({"url": "https://example.org/new", "events": ["user.ban", "user.ban"]})).await;
    r.assert_status(200);
    assert_eq!(r.data()["url"], "https://example.org/new");
    assert_eq!(r.data()["events"], json!(["user.ban"]), "duplicates dropped");
    assert_eq!(r.data()["enabled"], false);
    let all = list(&s, &path, t).await;
    let mine = all.iter().find(|w| w["id"] == id.as_str()).unwrap();
    assert_eq!((mine["url"].as_str(), mine["enabled"].as_bool()), (Some("https://example.org/new"), Some(false)));
    assert_eq!(mine["events"], json!(["user.ban"]));

    s.patch(&at(&app, "/webhooks/wh_doesnotexist"), t, json!({"enabled": true})).await.assert_error(404, "NOT_FOUND");

    let r = s.delete(&one, t).await;
    r.assert_status(200);
    assert_eq!(r.body["message"], "Webhook deleted");
    s.delete(&one, t).await.assert_error(404, "NOT_FOUND");
    assert_eq!(list(&s, &path, t).await.len(), 1);
}

#[tokio::test]
async fn webhooks_bad_input_changes_nothing() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let path = at(&app, "/webhooks");
    let r = s.post(&path, t, json!({"url": "https://keep.example/h", "events": ["user.login"]})).await;
    r.assert_status(201);
    let id = r.data()["id"].as_str().unwrap().to_owned();

    s.raw(Method::POST, &path, Some(t), b"{\"url\"".to_vec()).await.assert_error(400, "INVALID_JSON");
    assert_names(&s.post(&path, t, json!({"events": ["user.login"]})).await, 400, "MISSING_FIELDS", "url");
    assert_names(&s.post(&path, t, json!({"url": "https://x.example"})).await, 400, "MISSING_FIELDS", "events");
    for bad_url in ["ftp://x.example/h", "discord.com/hook", "https://a b.example", ""] {
        assert_names(
            &s.post(&path, t, json!({"url": bad_url, "events": ["user.login"]})).await,
            400,
            "VALIDATION_ERROR",
            "url",
        );
    }
    assert_names(&s.post(&path, t, json!({"url": 5, "events": ["user.login"]})).await, 400, "VALIDATION_ERROR", "url");
    assert_names(
        &s.post(&path, t, json!({"url": "https://x.example", "events": []})).await,
        400,
        "VALIDATION_ERROR",
        "events",
    );
    assert_names(
        &s.post(&path, t, json!({"url": "https://x.example", "events": ["user.login", "user.explode"]})).await,
        400,
        "VALIDATION_ERROR",
        "events[1]",
    );
    assert_names(
        &s.post(&path, t, json!({"url": "https://x.example", "events": "user.login"})).await,
        400,
        "VALIDATION_ERROR",
        "events",
    );
    assert_names(
        &s.post(&path, t, json!({"url": "https://x.example", "events": [1]})).await,
        400,
        "VALIDATION_ERROR",
        "events",
    );

    let one = at(&app, &format!("/webhooks/{id}"));
    assert_names(&s.patch(&one, t, json!({"url": "ftp://x"})).await, 400, "VALIDATION_ERROR", "url");
    assert_names(&s.patch(&one, t, json!({"events": []})).await, 400, "VALIDATION_ERROR", "events");
    assert_names(&s.patch(&one, t, json!({"enabled": "no"})).await, 400, "VALIDATION_ERROR", "enabled");
    assert_names(
        &s.patch(&one, t, json!({"enabled": false, "events": ["nope"]})).await,
        400,
        "VALIDATION_ERROR",
        "events",
    );

    let all = list(&s, &path, t).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(
        (all[0]["url"].as_str(), all[0]["enabled"].as_bool(), all[0]["events"].clone()),
        (Some("https://keep.example/h"), Some(true), json!(["user.login"]))
    );
}

// ---------------------------------------------------------------- logs

#[tokio::test]
async fn logs_are_paginated_newest_first() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let other_app = s.create_app(&seller, "Second").await["id"].as_str().unwrap().to_owned();
    let base = now() - Duration::hours(1);
    for i in 0..25 {
        make_log(&s, &app, &format!("message {i}"), base + Duration::seconds(i)).await;
    }
    make_log(&s, &other_app, "elsewhere", now()).await;

    let r = s.get(&at(&app, "/logs?page=1&limit=10"), t).await;
    r.assert_status(200);
    assert_eq!(r.body["pagination"], json!({"page": 1, "limit": 10, "total": 25}));
    let items = r.data().as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(items[0]["message"], "message 24", "newest first");
    assert_eq!(items[9]["message"], "message 15");
    let e = &items[0];
    assert!(e["id"].as_str().unwrap().starts_with("log_"));
    assert_eq!((e["username"].as_str(), e["userId"].as_str()), (Some("john"), Some("usr_x")));
    assert_eq!((e["ip"].as_str(), e["hwid"].as_str()), (Some("198.51.100.1"), Some("HWID-LOG")));
    assert_eq!(e["createdAt"], tollgate_core::time::rfc3339(&(base + Duration::seconds(24))).as_str());

    let r = s.get(&at(&app, "/logs?page=3&limit=10"), t).await;
    r.assert_status(200);
    let items = r.data().as_array().unwrap();
    let msgs: Vec<&str> = items.iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(msgs, ["message 4", "message 3", "message 2", "message 1", "message 0"]);

    // Defaults: page 1, limit 20.
    let r = s.get(&at(&app, "/logs"), t).await;
    r.assert_status(200);
    assert_eq!(r.body["pagination"], json!({"page": 1, "limit": 20, "total": 25}));
    assert_eq!(r.data().as_array().unwrap().len(), 20);
    assert!(r.data().as_array().unwrap().iter().all(|e| e["message"] != "elsewhere"));

    assert_names(&s.get(&at(&app, "/logs?page=abc"), t).await, 400, "VALIDATION_ERROR", "page");
    assert_names(&s.get(&at(&app, "/logs?limit=-1"), t).await, 400, "VALIDATION_ERROR", "limit");
}

// ---------------------------------------------------------------- audit

#[tokio::test]
async fn audit_lists_own_actions_newest_first() {
    let (s, seller, app) = setup().await;
    let t = &seller.token;
    let sess = make_session(&s, &app, None, now(), Duration::hours(24)).await;

    tick().await;
    s.post(&at(&app, "/variables"), t, json!({"key": "k", "value": "v"})).await.assert_status(201);
    tick().await;
    s.patch(&at(&app, "/variables/k"), t, json!({"value": "w"})).await.assert_status(200);
    tick().await;
    let bl = s.post(&at(&app, "/blacklist"), t, json!({"type": "IP", "value": "9.9.9.9"})).await.data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tick().await;
    s.delete(&at(&app, &format!("/blacklist/{bl}")), t).await.assert_status(200);
    tick().await;
    s.delete(&at(&app, &format!("/sessions/{}", sess.id)), t).await.assert_status(200);
    tick().await;
    s.delete(&at(&app, "/sessions"), t).await.assert_status(200);
    tick().await;
    let rs = s.post(&at(&app, "/resellers"), t, json!({"username": "r", "password": "resellerpass"})).await.data()
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tick().await;
    s.patch(&at(&app, &format!("/resellers/{rs}")), t, json!({"balance": 5})).await.assert_status(200);
    tick().await;
    let wh =
        s.post(&at(&app, "/webhooks"), t, json!({"url": "https://x.example", "events": ["user.ban"]})).await.data()
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    tick().await;
    s.patch(&at(&app, &format!("/webhooks/{wh}")), t, json!({"enabled": false})).await.assert_status(200);
    tick().await;
    s.delete(&at(&app, &format!("/webhooks/{wh}")), t).await.assert_status(200);
    tick().await;
    s.delete(&at(&app, &format!("/resellers/{rs}")), t).await.assert_status(200);
    tick().await;
    s.delete(&at(&app, "/variables/k"), t).await.assert_status(200);
    // Failed actions leave no trace.
    s.delete(&at(&app, "/variables/k"), t).await.assert_status(404);
    s.post(&at(&app, "/blacklist"), t, json!({"type": "IP", "value": "bad"})).await.assert_status(400);

    let r = s.get("/v1/admin/audit?limit=100", t).await;
    r.assert_status(200);
    let entries = r.data().as_array().unwrap();
    let got: Vec<(&str, &str)> =
        entries.iter().map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap_or(""))).collect();
    let want = vec![
        ("variable.delete", "k"),
        ("reseller.delete", rs.as_str()),
        ("webhook.delete", wh.as_str()),
        ("webhook.update", wh.as_str()),
        ("webhook.create", wh.as_str()),
        ("reseller.update", rs.as_str()),
        ("reseller.create", rs.as_str()),
        ("sessions.kill_all", app.as_str()),
        ("session.kill", sess.id.as_str()),
        ("blacklist.remove", bl.as_str()),
        ("blacklist.add", bl.as_str()),
        ("variable.update", "k"),
        ("variable.create", "k"),
        ("app.create", app.as_str()),
    ];
    assert_eq!(got, want, "newest first");
    assert_eq!(r.body["pagination"]["total"], want.len());
    for e in entries {
        assert_eq!(e["ip"], "127.0.0.1");
        assert_eq!(e["actor"], seller.id.as_str());
        assert_eq!(e["appId"], app.as_str());
        assert!(e["id"].as_str().unwrap().starts_with("aud_"));
        assert_ts(&e["createdAt"]);
    }

    let r = s.get("/v1/admin/audit?page=2&limit=5", t).await;
    r.assert_status(200);
    assert_eq!(r.body["pagination"], json!({"page": 2, "limit": 5, "total": want.len()}));
    let page2: Vec<&str> = r.data().as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(page2, want[5..10].iter().map(|(a, _)| *a).collect::<Vec<_>>());
    assert_names(&s.get("/v1/admin/audit?page=x", t).await, 400, "VALIDATION_ERROR", "page");

    // Another seller sees only their own trail.
    let other = s.seller().await;
    let r = s.get("/v1/admin/audit", &other.token).await;
    r.assert_status(200);
    assert_eq!(r.data(), &json!([]));
    assert_eq!(r.body["pagination"]["total"], 0);
    let other_app = s.create_app(&other, "Theirs").await["id"].as_str().unwrap().to_owned();
    let theirs = list(&s, "/v1/admin/audit", &other.token).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        (theirs[0]["action"].as_str(), theirs[0]["appId"].as_str()),
        (Some("app.create"), Some(other_app.as_str()))
    );
    assert_eq!(
        list(&s, "/v1/admin/audit?limit=100", t).await.len(),
        want.len(),
        "the other seller's actions are not in mine"
    );

    s.req(Method::GET, "/v1/admin/audit", None, None).await.assert_error(401, "UNAUTHORIZED");
}

// ---------------------------------------------------------------- tenant isolation

/// Everything seller A has under one app, as seen through the API.
async fn snapshot(s: &TestServer, token: &str, app: &str) -> Value {
    let mut out = serde_json::Map::new();
    for what in ["variables", "blacklist", "sessions", "resellers", "webhooks", "logs"] {
        let r = s.get(&at(app, &format!("/{what}")), token).await;
        r.assert_status(200);
        out.insert(what.to_owned(), r.data().clone());
    }
    Value::Object(out)
}

#[tokio::test]
async fn another_sellers_token_gets_404_and_changes_nothing() {
    let (s, a, app) = setup().await;
    let ta = &a.token;
    s.post(&at(&app, "/variables"), ta, json!({"key": "k", "value": "v"})).await.assert_status(201);
    let bl = s.post(&at(&app, "/blacklist"), ta, json!({"type": "HWID", "value": "h"})).await.data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sess = make_session(&s, &app, None, now(), Duration::hours(24)).await;
    let rs = s
        .post(&at(&app, "/resellers"), ta, json!({"username": "r", "password": "resellerpass", "balance": 7}))
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let wh =
        s.post(&at(&app, "/webhooks"), ta, json!({"url": "https://a.example", "events": ["user.login"]})).await.data()
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    make_log(&s, &app, "a's log", now()).await;
    let before = snapshot(&s, ta, &app).await;
    let audit_before = list(&s, "/v1/admin/audit?limit=100", ta).await;
    let hash_before = s.state.store.get_reseller(&app, &rs).await.unwrap().unwrap().password_hash;

    // Seller B has an app of their own: neither A's app id nor A's row ids under B's app reach A's data.
    let b = s.seller().await;
    let tb = &b.token;
    let b_app = s.create_app(&b, "B's").await["id"].as_str().unwrap().to_owned();
    for target in [app.as_str(), b_app.as_str()] {
        let cases: Vec<(Method, String, Option<Value>)> = vec![
            (Method::POST, at(target, "/variables"), Some(json!({"key": "k2", "value": "x"}))),
            (Method::PATCH, at(target, "/variables/k"), Some(json!({"value": "hacked"}))),
            (Method::DELETE, at(target, "/variables/k"), None),
            (Method::POST, at(target, "/blacklist"), Some(json!({"type": "IP", "value": "1.1.1.1"}))),
            (Method::DELETE, at(target, &format!("/blacklist/{bl}")), None),
            (Method::DELETE, at(target, &format!("/sessions/{}", sess.id)), None),
            (Method::POST, at(target, "/resellers"), Some(json!({"username": "r2", "password": "resellerpass"}))),
            (
                Method::PATCH,
                at(target, &format!("/resellers/{rs}")),
                Some(json!({"balance": 999, "password": "takenover1"})),
            ),
            (Method::DELETE, at(target, &format!("/resellers/{rs}")), None),
            (Method::POST, at(target, "/webhooks"), Some(json!({"url": "https://b.example", "events": ["user.ban"]}))),
            (
                Method::PATCH,
                at(target, &format!("/webhooks/{wh}")),
                Some(json!({"enabled": false, "url": "https://evil.example"})),
            ),
            (Method::DELETE, at(target, &format!("/webhooks/{wh}")), None),
        ];
        for (method, path, body) in cases {
            let r = s.req(method.clone(), &path, Some(tb), body).await;
            if target == app {
                // A's app itself is invisible to B, whatever the route.
                r.assert_error(404, "NOT_FOUND");
            } else if method != Method::POST {
                // Under B's own app, A's row ids do not exist.
                r.assert_error(404, "NOT_FOUND");
            } else {
                // Creating under B's own app is fine and lands in B's app only.
                r.assert_status(201);
            }
        }
    }
    for what in ["variables", "blacklist", "sessions", "resellers", "webhooks", "logs"] {
        s.get(&at(&app, &format!("/{what}")), tb).await.assert_error(404, "NOT_FOUND");
    }
    s.delete(&at(&app, "/sessions"), tb).await.assert_error(404, "NOT_FOUND");
    // B's kill-all on B's app does not touch A's sessions.
    s.delete(&at(&b_app, "/sessions"), tb).await.assert_status(200);

    let after = snapshot(&s, ta, &app).await;
    assert_eq!(before, after, "seller B changed nothing of A's");
    assert_eq!(after["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(after["resellers"][0]["balance"], 7);
    let hash_after = s.state.store.get_reseller(&app, &rs).await.unwrap().unwrap().password_hash;
    assert_eq!(hash_before, hash_after, "the reseller's password is unchanged");
    assert_eq!(list(&s, "/v1/admin/audit?limit=100", ta).await, audit_before, "nothing was done in A's name");
    // And B's audit holds none of A's targets.
    let b_audit = Value::Array(list(&s, "/v1/admin/audit?limit=100", tb).await).to_string();
    for id in [&app, &bl, &sess.id, &rs, &wh] {
        assert!(!b_audit.contains(id.as_str()), "{id} in B's audit");
    }

    // Without a token at all: 401.
    s.req(Method::GET, &at(&app, "/variables"), None, None).await.assert_error(401, "UNAUTHORIZED");
}
