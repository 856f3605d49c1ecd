//! Authly v2 accounts over HTTP: register, login, license login, extend, change
//! password — every answer's status, code, message and body shape, and the atomicity of key
//! redemption under real concurrency. Every call goes through `authly::call`, which checks the
//! answer's signature.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Value};
use tollgate_core::ids;
use tollgate_core::model::{Creator, License, LicenseStatus, Session, User, UserStatus};
use tollgate_core::time::{now, parse_rfc3339, Timestamp};
use tollgate_core::DurationType;

use crate::authly::{call, client_app, init, keys, registered, settings, ClientApp};
use crate::harness::{Resp, TestServer};

const PW: &str = "hunter2-pass";

/// `/v1/admin/apps/{id}{rest}`.
pub fn admin(app: &ClientApp, rest: &str) -> String {
    format!("/v1/admin/apps/{}{rest}", app.id)
}

/// The admin id of a license key.
pub async fn license_id(s: &TestServer, app: &ClientApp, key: &str) -> String {
    let r = s.get(&admin(app, &format!("/licenses?search={key}")), &app.seller.token).await;
    r.assert_status(200);
    let list = r.data().as_array().unwrap();
    let hit = list.iter().find(|l| l["key"] == key).unwrap_or_else(|| panic!("license {key} not listed: {}", r.body));
    hit["id"].as_str().unwrap().to_owned()
}

/// The admin id of a user.
pub async fn user_id(s: &TestServer, app: &ClientApp, username: &str) -> String {
    let r = s.get(&admin(app, &format!("/users?search={username}")), &app.seller.token).await;
    r.assert_status(200);
    let list = r.data().as_array().unwrap();
    let hit =
        list.iter().find(|u| u["username"] == username).unwrap_or_else(|| panic!("no user {username}: {}", r.body));
    hit["id"].as_str().unwrap().to_owned()
}

/// `POST /users/{id}/{action}` (ban, pause, unpause, ...) for a user named by username.
pub async fn user_action(s: &TestServer, app: &ClientApp, username: &str, action: &str, body: Value) {
    let id = user_id(s, app, username).await;
    s.post(&admin(app, &format!("/users/{id}/{action}")), &app.seller.token, body).await.assert_status(200);
}

/// Add a blacklist entry through the admin API.
pub async fn blacklist(s: &TestServer, app: &ClientApp, kind: &str, value: &str) {
    let body = json!({ "type": kind, "value": value, "reason": "cheater" });
    s.post(&admin(app, "/blacklist"), &app.seller.token, body).await.assert_status(201);
}

/// A session written straight into the store with the given expiry; returns its token.
pub async fn store_session(s: &TestServer, app: &ClientApp, expires_at: Timestamp) -> String {
    let at = now();
    let session = Session {
        id: ids::new_id(ids::prefix::SESSION),
        app_id: app.id.clone(),
        token: ids::new_token(),
        user_id: None,
        license_id: None,
        ip: Some("127.0.0.1".into()),
        hwid: None,
        client_id: None,
        created_at: at,
        expires_at,
        last_seen: at,
    };
    s.state.store.create_session(&session, &[]).await.unwrap();
    session.token
}

/// An RFC 3339 field of an answer.
#[track_caller]
pub fn ts(v: &Value) -> Timestamp {
    parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"))).unwrap()
}

/// `t` is within a minute of `expected`.
#[track_caller]
pub fn near(t: Timestamp, expected: Timestamp) {
    assert!((t - expected).num_seconds().abs() < 60, "{t} is not near {expected}");
}

#[track_caller]
fn assert_error(r: &Resp, status: u16, code: &str, message: &str) {
    r.assert_error(status, code);
    assert_eq!(r.body["message"], message, "body: {}", r.body);
    let mut fields: Vec<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["code", "message", "success"], "an error carries nothing else: {}", r.body);
}

async fn register(s: &TestServer, sid: &str, username: &str, key: &str) -> Resp {
    call(
        s,
        "register",
        json!({ "session_id": sid, "username": username, "password": PW, "key": key, "hwid": "HWID-1" }),
    )
    .await
}

async fn login(s: &TestServer, sid: &str, username: &str, password: &str, hwid: &str) -> Resp {
    call(s, "login", json!({ "session_id": sid, "username": username, "password": password, "sid": hwid, "ip": "" }))
        .await
}

async fn key_login(s: &TestServer, endpoint: &str, sid: &str, key: &str, hwid: &str) -> Resp {
    call(s, endpoint, json!({ "session_id": sid, "license_key": key, "sid": hwid })).await
}

async fn validate(s: &TestServer, sid: &str) -> Resp {
    call(s, "validate-session", json!({ "session_id": sid })).await
}

/// A key written straight into the store (for states the admin API cannot make).
async fn store_license(
    s: &TestServer,
    app: &ClientApp,
    status: LicenseStatus,
    expires_at: Option<Timestamp>,
) -> String {
    let at = now();
    let key = format!("CRAFT-{}", ids::random_hex(6).to_uppercase());
    let license = License {
        id: ids::new_id(ids::prefix::LICENSE),
        app_id: app.id.clone(),
        key: key.clone(),
        status,
        level: 1,
        duration: DurationType::Hours(1),
        max_devices: 1,
        note: None,
        prefix: None,
        created_by: Creator::Seller(app.seller.id.clone()),
        created_at: at - Duration::hours(3),
        activated_at: Some(at - Duration::hours(2)),
        expires_at,
        user_id: None,
        devices: vec![],
        ban_reason: None,
    };
    s.state.store.insert_licenses(&[license]).await.unwrap();
    key
}

// ---------------------------------------------------------------- register

#[tokio::test]
async fn register_answers_the_seed_001_body() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "levelNames": { "2": "Premium" } })).await;
    let key = keys(&s, &app, 1, json!({ "level": 2 })).await.remove(0);
    let sid = init(&s, &app).await;
    let r = call(
        &s,
        "register",
        json!({
            "session_id": sid, "username": "xela", "password": "hunter2", "key": key,
            "email": "Xela@Example.com", "sid": "S-1-5-21-1",
        }),
    )
    .await;
    r.assert_status(200);
    let b = &r.body;
    assert_eq!(b["success"], true);
    assert_eq!(b["message"], "User registered successfully");
    assert_eq!(b["session_id"], sid.as_str());
    let u = &b["user"];
    assert_eq!(u["username"], "xela");
    assert_eq!(u["email"], "xela@example.com");
    assert_eq!(u["subscription"], "Premium");
    assert_eq!(u["subscription_level"], 2);
    near(ts(&u["expiry_date"]), now() + Duration::days(30));
    assert_eq!(u["sid"], "S-1-5-21-1");
    assert_eq!(u["hwid"], "S-1-5-21-1");

    // the key is consumed by that account, and the session is now the user's
    let lic = s.get(&admin(&app, &format!("/licenses/{}", license_id(&s, &app, &key).await)), &app.seller.token).await;
    assert_eq!(lic.data()["status"], "USED");
    assert_eq!(lic.data()["userId"], user_id(&s, &app, "xela").await.as_str());
    let r = call(&s, "variables/set", json!({ "session_id": sid, "var_key": "k", "var_value": "v" })).await;
    r.assert_status(200);

    // a lifetime key has no expiry; the npm SDK's `license_key` names the key
    let life = keys(&s, &app, 1, json!({ "durationType": "lifetime" })).await.remove(0);
    let sid = init(&s, &app).await;
    let r = call(&s, "register", json!({ "session_id": sid, "username": "npm", "password": PW, "license_key": life }))
        .await;
    r.assert_status(200);
    assert_eq!(r.body["user"]["expiry_date"], Value::Null);
    assert_eq!(r.body["user"]["subscription"], "Level 1");
    assert_eq!(r.body["user"]["email"], Value::Null);
}

#[tokio::test]
async fn register_without_each_required_field_is_missing_fields() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let sid = init(&s, &app).await;
    let full = json!({ "session_id": sid, "username": "alice", "password": PW, "key": key });
    for field in ["session_id", "username", "password", "key"] {
        for blank in [None, Some(json!("")), Some(Value::Null)] {
            let mut body = full.clone();
            match &blank {
                None => {
                    body.as_object_mut().unwrap().remove(field);
                }
                Some(v) => body[field] = v.clone(),
            }
            let r = call(&s, "register", body).await;
            assert_error(&r, 400, "MISSING_FIELDS", "Required fields are missing");
        }
    }
    // nothing was consumed
    let r = call(&s, "register", full).await;
    r.assert_status(200);
}

#[tokio::test]
async fn register_on_an_unknown_or_expired_session_is_refused() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = keys(&s, &app, 1, json!({})).await.remove(0);

    let r = register(&s, &ids::new_token(), "alice", &key).await;
    assert_error(&r, 401, "INVALID_SESSION", "Invalid session");
    let r = register(&s, "not-a-session", "alice", &key).await;
    assert_error(&r, 401, "INVALID_SESSION", "Invalid session");

    let expired = store_session(&s, &app, now() - Duration::minutes(1)).await;
    let r = register(&s, &expired, "alice", &key).await;
    assert_error(&r, 401, "SESSION_EXPIRED", "Session has expired");

    // the key is still unused
    let sid = init(&s, &app).await;
    register(&s, &sid, "alice", &key).await.assert_status(200);
}

#[tokio::test]
async fn register_refuses_each_unusable_key() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let sid = init(&s, &app).await;
    let k = keys(&s, &app, 4, json!({})).await;

    let r = register(&s, &sid, "alice", "NOPE-0000-0000-0000").await;
    assert_error(&r, 404, "LICENSE_NOT_FOUND", "License key not found");

    register(&s, &sid, "first", &k[0]).await.assert_status(200);
    let sid = init(&s, &app).await;
    let r = register(&s, &sid, "second", &k[0]).await;
    assert_error(&r, 403, "LICENSE_IN_USE", "This license key is already in use");

    let id = license_id(&s, &app, &k[1]).await;
    s.post(&admin(&app, &format!("/licenses/{id}/ban")), &app.seller.token, json!({ "reason": "chargeback" }))
        .await
        .assert_status(200);
    let r = register(&s, &sid, "second", &k[1]).await;
    assert_error(&r, 403, "LICENSE_BANNED", "This license key is banned: chargeback");

    let id = license_id(&s, &app, &k[2]).await;
    s.post(&admin(&app, &format!("/licenses/{id}/pause")), &app.seller.token, json!({})).await.assert_status(200);
    let r = register(&s, &sid, "second", &k[2]).await;
    assert_error(&r, 403, "LICENSE_PAUSED", "This license key is paused");

    // A 1-hour key used by key login whose hour has passed: the admin API cannot wind a clock
    // back, so it is written through the store.
    let expired = store_license(&s, &app, LicenseStatus::Used, Some(now() - Duration::hours(1))).await;
    let r = register(&s, &sid, "second", &expired).await;
    assert_error(&r, 403, "LICENSE_EXPIRED", "This license key has expired");
    let expired = store_license(&s, &app, LicenseStatus::Expired, Some(now() - Duration::hours(1))).await;
    let r = register(&s, &sid, "second", &expired).await;
    assert_error(&r, 403, "LICENSE_EXPIRED", "This license key has expired");

    // none of those refusals created the account
    let r = s.get(&admin(&app, "/users"), &app.seller.token).await;
    assert_eq!(r.body["pagination"]["total"], 1, "{}", r.body);

    settings(&s, &app, json!({ "accountsQuota": 1 })).await;
    let r = register(&s, &sid, "second", &k[3]).await;
    assert_error(&r, 403, "ACCOUNT_LIMIT_REACHED", "This application has reached its account limit");
    settings(&s, &app, json!({ "accountsQuota": null })).await;
    register(&s, &sid, "second", &k[3]).await.assert_status(200);
}

#[tokio::test]
async fn accounts_quota_holds_under_concurrent_registers() {
    let s = TestServer::start_with(|c| c.client_rate_limit = Some("0".into())).await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "accountsQuota": 3 })).await;
    let k = keys(&s, &app, 12, json!({})).await;
    let mut sids = Vec::new();
    for _ in 0..12 {
        sids.push(init(&s, &app).await);
    }
    let s = &s;
    let answers = futures::future::join_all(
        sids.iter()
            .zip(&k)
            .enumerate()
            .map(|(i, (sid, key))| async move { register(s, sid, &format!("quota-{i}"), key).await }),
    )
    .await;
    let ok = answers.iter().filter(|r| r.status.as_u16() == 200).count();
    for r in answers.iter().filter(|r| r.status.as_u16() != 200) {
        assert_error(r, 403, "ACCOUNT_LIMIT_REACHED", "This application has reached its account limit");
    }
    assert_eq!(ok, 3);
    let r = s.get(&admin(&app, "/users"), &app.seller.token).await;
    assert_eq!(r.body["pagination"]["total"], 3, "{}", r.body);
    // The refused registers consumed nothing.
    let r = s.get(&admin(&app, "/licenses?status=USED"), &app.seller.token).await;
    assert_eq!(r.body["pagination"]["total"], 3, "{}", r.body);
}

#[tokio::test]
async fn register_refuses_a_taken_username_whatever_its_case() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    registered(&s, &app, "Alice", PW).await;
    let k = keys(&s, &app, 1, json!({})).await.remove(0);
    let sid = init(&s, &app).await;
    for name in ["Alice", "alice", "ALICE", " alice "] {
        let r = register(&s, &sid, name, &k).await;
        assert_error(&r, 409, "USERNAME_TAKEN", "Username is already taken");
    }
    // the key was not consumed by the refusals
    let lic = s.get(&admin(&app, &format!("/licenses/{}", license_id(&s, &app, &k).await)), &app.seller.token).await;
    assert_eq!(lic.data()["status"], "UNUSED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_concurrent_registers_with_one_key_consume_it_once() {
    let s = Arc::new(TestServer::start_with(|c| c.client_rate_limit = Some("0".into())).await);
    let app = client_app(&s).await;
    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let mut sessions = Vec::new();
    for _ in 0..40 {
        sessions.push(init(&s, &app).await);
    }
    let tasks = sessions.iter().enumerate().map(|(i, sid)| {
        let s = s.clone();
        let (sid, key) = (sid.clone(), key.clone());
        tokio::spawn(async move { register(&s, &sid, &format!("racer{i}"), &key).await })
    });
    let answers: Vec<Resp> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let won = answers.iter().filter(|r| r.status == 200).count();
    let in_use = answers.iter().filter(|r| r.status == 403 && r.code() == "LICENSE_IN_USE").count();
    assert_eq!((won, in_use), (1, 39), "{:?}", answers.iter().map(|r| r.body.clone()).collect::<Vec<_>>());

    let users = s.get(&admin(&app, "/users"), &app.seller.token).await;
    assert_eq!(users.body["pagination"]["total"], 1, "{}", users.body);
    let winner = answers.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(users.data()[0]["username"], winner.body["user"]["username"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_concurrent_registers_of_one_username_take_it_once() {
    let s = Arc::new(TestServer::start_with(|c| c.client_rate_limit = Some("0".into())).await);
    let app = client_app(&s).await;
    let all = keys(&s, &app, 40, json!({})).await;
    let mut sessions = Vec::new();
    for _ in 0..40 {
        sessions.push(init(&s, &app).await);
    }
    let tasks = sessions.iter().zip(&all).map(|(sid, key)| {
        let s = s.clone();
        let (sid, key) = (sid.clone(), key.clone());
        tokio::spawn(async move { register(&s, &sid, "same", &key).await })
    });
    let answers: Vec<Resp> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let won = answers.iter().filter(|r| r.status == 200).count();
    let taken = answers.iter().filter(|r| r.status == 409 && r.code() == "USERNAME_TAKEN").count();
    assert_eq!((won, taken), (1, 39), "{:?}", answers.iter().map(|r| r.body.clone()).collect::<Vec<_>>());

    let used = s.get(&admin(&app, "/licenses?status=USED"), &app.seller.token).await;
    assert_eq!(used.body["pagination"]["total"], 1, "exactly one key consumed: {}", used.body);
    let unused = s.get(&admin(&app, "/licenses?status=UNUSED"), &app.seller.token).await;
    assert_eq!(unused.body["pagination"]["total"], 39, "{}", unused.body);
    let users = s.get(&admin(&app, "/users"), &app.seller.token).await;
    assert_eq!(users.body["pagination"]["total"], 1, "{}", users.body);
}

// ---------------------------------------------------------------- login

#[tokio::test]
async fn login_answers_the_user_object() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "levelNames": { "2": "Premium" } })).await;
    let key = keys(&s, &app, 1, json!({ "level": 2, "maxDevices": 3 })).await.remove(0);
    let sid = init(&s, &app).await;
    let reg = call(
        &s,
        "register",
        json!({ "session_id": sid, "username": "bob", "password": PW, "key": key, "email": "bob@example.com", "hwid": "HWID-1" }),
    )
    .await;
    reg.assert_status(200);

    let sid = init(&s, &app).await;
    let r = login(&s, &sid, "BOB", PW, "HWID-1").await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "Login success");
    assert_eq!(r.body["session_id"], sid.as_str());
    let u = &r.body["user"];
    for field in [
        "username",
        "email",
        "subscription",
        "subscription_level",
        "expiry_date",
        "device_limit",
        "current_devices",
        "sid",
        "hwid",
        "last_login",
        "registered_at",
        "linked_license_key",
    ] {
        assert!(u.get(field).is_some(), "user.{field} missing: {u}");
    }
    assert_eq!(u["username"], "bob");
    assert_eq!(u["email"], "bob@example.com");
    assert_eq!(u["subscription"], "Premium");
    assert_eq!(u["subscription_level"], 2);
    assert_eq!(u["expiry_date"], reg.body["user"]["expiry_date"]);
    assert_eq!(u["device_limit"], 3);
    assert_eq!(u["current_devices"], 1);
    assert_eq!(u["sid"], "HWID-1");
    assert_eq!(u["hwid"], "HWID-1");
    near(ts(&u["last_login"]), now());
    near(ts(&u["registered_at"]), now());

    // `hwid` (C#) works as well as `sid` (Python); a device is required
    let r = call(&s, "login", json!({ "session_id": sid, "username": "bob", "password": PW, "hwid": "HWID-1" })).await;
    r.assert_status(200);
    let r = call(&s, "login", json!({ "session_id": sid, "username": "bob", "password": PW })).await;
    assert_error(&r, 400, "MISSING_FIELDS", "Required fields are missing");
    for field in ["session_id", "username", "password"] {
        let mut body = json!({ "session_id": sid, "username": "bob", "password": PW, "sid": "HWID-1" });
        body.as_object_mut().unwrap().remove(field);
        assert_error(&call(&s, "login", body).await, 400, "MISSING_FIELDS", "Required fields are missing");
    }
}

#[tokio::test]
async fn login_refuses_bad_credentials_and_accounts_not_in_good_standing() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    registered(&s, &app, "bob", PW).await;
    registered(&s, &app, "carol", PW).await;
    let sid = init(&s, &app).await;

    let r = login(&s, &sid, "bob", "wrong", "HWID-1").await;
    assert_error(&r, 401, "INVALID_PASSWORD", "Invalid password");
    let r = login(&s, &sid, "nobody", PW, "HWID-1").await;
    assert_error(&r, 404, "USER_NOT_FOUND", "User not found");

    user_action(&s, &app, "bob", "ban", json!({ "reason": "cheating" })).await;
    let r = login(&s, &sid, "bob", PW, "HWID-1").await;
    assert_error(&r, 403, "USER_BANNED", "This account is banned: cheating");
    // the state of an account is not told to someone without its password
    let r = login(&s, &sid, "bob", "wrong", "HWID-1").await;
    assert_error(&r, 401, "INVALID_PASSWORD", "Invalid password");

    user_action(&s, &app, "carol", "pause", json!({})).await;
    let r = login(&s, &sid, "carol", PW, "HWID-1").await;
    assert_error(&r, 403, "USER_SUSPENDED", "This account is suspended");
    user_action(&s, &app, "carol", "unpause", json!({})).await;
    login(&s, &sid, "carol", PW, "HWID-1").await.assert_status(200);

    // An account whose time ran out: no admin route shortens time, so it is written directly.
    let hash = tollgate_core::password::hash(PW).unwrap();
    let user = User {
        note: None,
        id: ids::new_id(ids::prefix::USER),
        app_id: app.id.clone(),
        username: "erin".into(),
        password_hash: hash,
        email: None,
        level: 1,
        expires_at: Some(now() - Duration::minutes(5)),
        devices: vec![],
        max_devices: 1,
        last_ip: None,
        status: UserStatus::Active,
        ban_reason: None,
        last_login: None,
        created_at: now() - Duration::days(31),
    };
    s.state.store.create_user(&user, &[]).await.unwrap();
    let r = login(&s, &sid, "erin", PW, "HWID-1").await;
    assert_error(&r, 403, "USER_EXPIRED", "Your subscription has expired");
}

#[tokio::test]
async fn login_binds_devices_only_with_the_hwid_lock_and_refuses_blacklisted_ones() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    registered(&s, &app, "bob", PW).await; // on HWID-1, one device allowed, lock on by default
    let sid = init(&s, &app).await;
    login(&s, &sid, "bob", PW, "HWID-1").await.assert_status(200);
    let r = login(&s, &sid, "bob", PW, "HWID-2").await;
    assert_error(&r, 403, "DEVICE_LIMIT_REACHED", "Device limit reached for this account");

    settings(&s, &app, json!({ "hwidLock": false })).await;
    let r = login(&s, &sid, "bob", PW, "HWID-2").await;
    r.assert_status(200);
    assert_eq!(r.body["user"]["current_devices"], 1, "nothing is bound with the lock off");

    // after a seller's reset the next device is bound
    settings(&s, &app, json!({ "hwidLock": true })).await;
    let id = user_id(&s, &app, "bob").await;
    s.post(&admin(&app, &format!("/users/{id}/reset-hwid")), &app.seller.token, json!({})).await.assert_status(200);
    login(&s, &sid, "bob", PW, "HWID-2").await.assert_status(200);
    let r = login(&s, &sid, "bob", PW, "HWID-1").await;
    assert_error(&r, 403, "DEVICE_LIMIT_REACHED", "Device limit reached for this account");

    blacklist(&s, &app, "HWID", "HWID-2").await;
    let r = login(&s, &sid, "bob", PW, "hwid-2").await;
    assert_error(&r, 403, "SID_BLOCKED", "This device is blacklisted");
}

#[tokio::test]
async fn ten_wrong_passwords_throttle_the_account_even_for_the_right_one() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    registered(&s, &app, "bob", PW).await;
    let sid = init(&s, &app).await;
    for _ in 0..10 {
        let r = login(&s, &sid, "bob", "wrong", "HWID-1").await;
        assert_error(&r, 401, "INVALID_PASSWORD", "Invalid password");
    }
    for password in ["wrong", PW] {
        let r = login(&s, &sid, "bob", password, "HWID-1").await;
        assert_error(&r, 429, "RATE_LIMITED", "Too many requests, slow down");
        let retry: u64 = r.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "Retry-After {retry}");
    }
}

#[tokio::test]
async fn login_extends_the_session() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    registered(&s, &app, "bob", PW).await;
    let sid = store_session(&s, &app, now() + Duration::hours(1)).await;
    let r = validate(&s, &sid).await;
    r.assert_status(200);
    near(ts(&r.body["expires_at"]), now() + Duration::hours(1));

    login(&s, &sid, "bob", PW, "HWID-1").await.assert_status(200);
    let r = validate(&s, &sid).await;
    r.assert_status(200);
    near(ts(&r.body["expires_at"]), now() + Duration::hours(24));
}

#[tokio::test]
async fn banning_a_user_ends_their_session() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let sid = registered(&s, &app, "bob", PW).await;
    validate(&s, &sid).await.assert_status(200);
    user_action(&s, &app, "bob", "ban", json!({ "reason": "abuse" })).await;
    let r = validate(&s, &sid).await;
    assert_error(&r, 401, "INVALID_SESSION", "Invalid session");
}

// ---------------------------------------------------------------- license login

#[tokio::test]
async fn license_login_activates_then_resumes_on_the_bound_device() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "levelNames": { "3": "Gold" } })).await;
    let key = keys(&s, &app, 1, json!({ "level": 3 })).await.remove(0);
    let sid = init(&s, &app).await;
    let r = key_login(&s, "licenses", &sid, &key, "HWID-1").await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "License login successful");
    assert_eq!(r.body["session_id"], sid.as_str());
    let l = &r.body["license"];
    assert_eq!(l["license_key"], key.as_str());
    assert_eq!(l["subscription"], "Gold");
    assert_eq!(l["subscription_level"], 3);
    let expiry = ts(&l["expiry_date"]);
    near(expiry, now() + Duration::days(30));
    near(ts(&l["registered_at"]), now());
    assert!(l.get("last_login").is_some() && l.get("created_at").is_some(), "{l}");
    assert_eq!(l["hwid"], "HWID-1");

    // again, same device, from another session, through the npm alias: the clock does not restart
    let sid2 = init(&s, &app).await;
    let r = key_login(&s, "license-login", &sid2, &key, "HWID-1").await;
    r.assert_status(200);
    assert_eq!(ts(&r.body["license"]["expiry_date"]), expiry);
    // the `key` field is read too
    let r = call(&s, "licenses", json!({ "session_id": sid2, "key": key, "hwid": "HWID-1" })).await;
    r.assert_status(200);

    let r = key_login(&s, "licenses", &sid2, &key, "HWID-2").await;
    assert_error(&r, 403, "DEVICE_LIMIT_REACHED", "Device limit reached for this account");
    let r = call(&s, "licenses", json!({ "session_id": sid2 })).await;
    assert_error(&r, 400, "MISSING_FIELDS", "Required fields are missing");
    let lic = s.get(&admin(&app, &format!("/licenses/{}", license_id(&s, &app, &key).await)), &app.seller.token).await;
    assert_eq!(lic.data()["status"], "USED");
    assert_eq!(lic.data()["devices"], json!(["HWID-1"]));
}

#[tokio::test]
async fn license_login_allows_as_many_devices_as_the_key_has() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = keys(&s, &app, 1, json!({ "maxDevices": 2 })).await.remove(0);
    let sid = init(&s, &app).await;
    key_login(&s, "licenses", &sid, &key, "HWID-1").await.assert_status(200);
    let r = key_login(&s, "licenses", &sid, &key, "HWID-2").await;
    r.assert_status(200);
    assert_eq!(r.body["license"]["current_devices"], 2);
    key_login(&s, "licenses", &sid, &key, "HWID-1").await.assert_status(200);
    let r = key_login(&s, "licenses", &sid, &key, "HWID-3").await;
    assert_error(&r, 403, "DEVICE_LIMIT_REACHED", "Device limit reached for this account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_uses_of_a_key_bind_one_device() {
    let s = Arc::new(TestServer::start_with(|c| c.client_rate_limit = Some("0".into())).await);
    let app = client_app(&s).await;
    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let mut sessions = Vec::new();
    for _ in 0..10 {
        sessions.push(init(&s, &app).await);
    }
    let tasks = sessions.iter().enumerate().map(|(i, sid)| {
        let s = s.clone();
        let (sid, key) = (sid.clone(), key.clone());
        tokio::spawn(async move { key_login(&s, "licenses", &sid, &key, &format!("HWID-{i}")).await })
    });
    let answers: Vec<Resp> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let won: Vec<&Resp> = answers.iter().filter(|r| r.status == 200).collect();
    let refused = answers.iter().filter(|r| r.status == 403 && r.code() == "DEVICE_LIMIT_REACHED").count();
    assert_eq!((won.len(), refused), (1, 9), "{:?}", answers.iter().map(|r| r.body.clone()).collect::<Vec<_>>());
    let lic = s.get(&admin(&app, &format!("/licenses/{}", license_id(&s, &app, &key).await)), &app.seller.token).await;
    assert_eq!(lic.data()["devices"], json!([won[0].body["license"]["hwid"]]));
}

#[tokio::test]
async fn license_login_refuses_account_keys_and_unusable_keys() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let k = keys(&s, &app, 3, json!({})).await;
    let sid = init(&s, &app).await;
    register(&s, &sid, "bob", &k[0]).await.assert_status(200);
    let sid = init(&s, &app).await;
    let r = key_login(&s, "licenses", &sid, &k[0], "HWID-1").await;
    assert_error(&r, 403, "LICENSE_IN_USE", "This license key is already in use");

    let r = key_login(&s, "licenses", &sid, "NOPE-0000-0000-0000", "HWID-1").await;
    assert_error(&r, 404, "LICENSE_NOT_FOUND", "License key not found");

    // a key in use by key login can be banned; the next login says so
    key_login(&s, "licenses", &sid, &k[1], "HWID-1").await.assert_status(200);
    let id = license_id(&s, &app, &k[1]).await;
    s.post(&admin(&app, &format!("/licenses/{id}/ban")), &app.seller.token, json!({ "reason": "resold" }))
        .await
        .assert_status(200);
    let sid = init(&s, &app).await;
    let r = key_login(&s, "licenses", &sid, &k[1], "HWID-1").await;
    assert_error(&r, 403, "LICENSE_BANNED", "This license key is banned: resold");

    let id = license_id(&s, &app, &k[2]).await;
    s.post(&admin(&app, &format!("/licenses/{id}/pause")), &app.seller.token, json!({})).await.assert_status(200);
    let r = key_login(&s, "licenses", &sid, &k[2], "HWID-1").await;
    assert_error(&r, 403, "LICENSE_PAUSED", "This license key is paused");

    let expired = store_license(&s, &app, LicenseStatus::Used, Some(now() - Duration::minutes(1))).await;
    let r = key_login(&s, "licenses", &sid, &expired, "HWID-1").await;
    assert_error(&r, 403, "LICENSE_EXPIRED", "This license key has expired");
}

// ---------------------------------------------------------------- extend

async fn extend(s: &TestServer, sid: &str, username: &str, key: &str) -> Resp {
    call(s, "extend", json!({ "session_id": sid, "username": username, "license_key": key, "sid": "HWID-1" })).await
}

#[tokio::test]
async fn extend_adds_the_key_time_to_the_previous_expiry() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "levelNames": { "1": "Basic", "2": "Premium" } })).await;
    let first = keys(&s, &app, 1, json!({})).await.remove(0);
    let sid = init(&s, &app).await;
    let reg = register(&s, &sid, "alice", &first).await;
    reg.assert_status(200);
    let before = ts(&reg.body["user"]["expiry_date"]);

    let key = keys(&s, &app, 1, json!({ "level": 2 })).await.remove(0);
    let r = extend(&s, &sid, "alice", &key).await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "Account extended successfully.");
    assert_eq!(r.body["time_added_seconds"], 2_592_000);
    let u = &r.body["user"];
    assert_eq!(u["username"], "alice");
    assert_eq!(u["subscription"], "Premium");
    assert_eq!(u["subscription_level"], 2);
    assert_eq!(ts(&u["expiry_date"]), before + Duration::days(30));
    assert!(u.get("last_login").is_some());
    near(ts(&u["created_at"]), now());
    let l = &r.body["license"];
    assert_eq!(l["license_key"], key.as_str());
    assert_eq!(l["subscription"], "Premium");
    assert_eq!(l["subscription_level"], 2);
    near(ts(&l["expiry_date"]), now() + Duration::days(30));

    // the admin sees the same expiry and the key used by alice
    let id = user_id(&s, &app, "alice").await;
    let user = s.get(&admin(&app, &format!("/users/{id}")), &app.seller.token).await;
    assert_eq!(ts(&user.data()["expiresAt"]), before + Duration::days(30));
    let lic = s.get(&admin(&app, &format!("/licenses/{}", license_id(&s, &app, &key).await)), &app.seller.token).await;
    assert_eq!(lic.data()["status"], "USED");
    assert_eq!(lic.data()["userId"], id.as_str());

    // a lifetime key makes the account lifetime
    let life = keys(&s, &app, 1, json!({ "durationType": "lifetime" })).await.remove(0);
    let r = call(&s, "extend", json!({ "session_id": sid, "username": "alice", "key": life, "hwid": "HWID-1" })).await;
    r.assert_status(200);
    assert_eq!(r.body["user"]["expiry_date"], Value::Null);
    assert_eq!(r.body["time_added_seconds"], Value::Null);
}

#[tokio::test]
async fn extend_refuses_unknown_users_used_keys_and_banned_accounts() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let sid = registered(&s, &app, "alice", PW).await;
    let k = keys(&s, &app, 2, json!({})).await;

    let r = extend(&s, &sid, "nobody", &k[0]).await;
    assert_error(&r, 404, "USER_NOT_FOUND", "User not found");
    let r = extend(&s, &sid, "alice", "NOPE-0000-0000-0000").await;
    assert_error(&r, 404, "LICENSE_NOT_FOUND", "License key not found");
    for field in ["session_id", "username", "license_key", "sid"] {
        let mut body = json!({ "session_id": sid, "username": "alice", "license_key": k[0], "sid": "HWID-1" });
        body.as_object_mut().unwrap().remove(field);
        assert_error(&call(&s, "extend", body).await, 400, "MISSING_FIELDS", "Required fields are missing");
    }

    extend(&s, &sid, "alice", &k[0]).await.assert_status(200);
    let r = extend(&s, &sid, "alice", &k[0]).await;
    assert_error(&r, 403, "LICENSE_IN_USE", "This license key is already in use");

    user_action(&s, &app, "alice", "pause", json!({})).await;
    let sid = init(&s, &app).await;
    let r = extend(&s, &sid, "alice", &k[1]).await;
    assert_error(&r, 403, "USER_SUSPENDED", "This account is suspended");
    user_action(&s, &app, "alice", "unpause", json!({})).await;

    user_action(&s, &app, "alice", "ban", json!({ "reason": "fraud" })).await;
    let sid = init(&s, &app).await;
    let r = extend(&s, &sid, "alice", &k[1]).await;
    assert_error(&r, 403, "USER_BANNED", "This account is banned: fraud");
    let lic = s.get(&admin(&app, &format!("/licenses/{}", license_id(&s, &app, &k[1]).await)), &app.seller.token).await;
    assert_eq!(lic.data()["status"], "UNUSED", "a refused extend consumes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_extends_with_one_key_succeed_once() {
    let s = Arc::new(TestServer::start_with(|c| c.client_rate_limit = Some("0".into())).await);
    let app = client_app(&s).await;
    let first = keys(&s, &app, 1, json!({})).await.remove(0);
    let sid = init(&s, &app).await;
    let reg = register(&s, &sid, "alice", &first).await;
    reg.assert_status(200);
    let before = ts(&reg.body["user"]["expiry_date"]);
    let key = keys(&s, &app, 1, json!({})).await.remove(0);

    let tasks = (0..10).map(|_| {
        let s = s.clone();
        let (sid, key) = (sid.clone(), key.clone());
        tokio::spawn(async move { extend(&s, &sid, "alice", &key).await })
    });
    let answers: Vec<Resp> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let won = answers.iter().filter(|r| r.status == 200).count();
    let in_use = answers.iter().filter(|r| r.status == 403 && r.code() == "LICENSE_IN_USE").count();
    assert_eq!((won, in_use), (1, 9), "{:?}", answers.iter().map(|r| r.body.clone()).collect::<Vec<_>>());

    let id = user_id(&s, &app, "alice").await;
    let user = s.get(&admin(&app, &format!("/users/{id}")), &app.seller.token).await;
    assert_eq!(ts(&user.data()["expiresAt"]), before + Duration::days(30), "time added once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_extends_with_different_keys_all_add_their_time() {
    let s = Arc::new(TestServer::start_with(|c| c.client_rate_limit = Some("0".into())).await);
    let app = client_app(&s).await;
    let first = keys(&s, &app, 1, json!({})).await.remove(0);
    let sid = init(&s, &app).await;
    let reg = register(&s, &sid, "alice", &first).await;
    reg.assert_status(200);
    let before = ts(&reg.body["user"]["expiry_date"]);
    let more = keys(&s, &app, 5, json!({ "durationType": "7d" })).await;
    let tasks = more.iter().map(|key| {
        let s = s.clone();
        let (sid, key) = (sid.clone(), key.clone());
        tokio::spawn(async move { extend(&s, &sid, "alice", &key).await })
    });
    for r in futures::future::join_all(tasks).await {
        let r = r.unwrap();
        r.assert_status(200);
        assert_eq!(r.body["time_added_seconds"], 604_800);
    }
    let id = user_id(&s, &app, "alice").await;
    let user = s.get(&admin(&app, &format!("/users/{id}")), &app.seller.token).await;
    assert_eq!(ts(&user.data()["expiresAt"]), before + Duration::days(35), "no extension lost");
}

// ---------------------------------------------------------------- change password

async fn change(s: &TestServer, sid: &str, old: &str, new: &str) -> Resp {
    call(s, "change-password", json!({ "session_id": sid, "old_password": old, "new_password": new })).await
}

#[tokio::test]
async fn change_password_replaces_the_password() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let sid = registered(&s, &app, "bob", PW).await;

    let r = change(&s, &sid, "wrong", "new-secret").await;
    assert_error(&r, 401, "INVALID_PASSWORD", "Invalid password");
    let r = change(&s, &sid, PW, PW).await;
    assert_error(&r, 400, "PASSWORD_REUSED", "The new password must differ from the old one");
    for field in ["session_id", "old_password", "new_password"] {
        let mut body = json!({ "session_id": sid, "old_password": PW, "new_password": "new-secret" });
        body.as_object_mut().unwrap().remove(field);
        assert_error(&call(&s, "change-password", body).await, 400, "MISSING_FIELDS", "Required fields are missing");
    }

    let r = change(&s, &sid, PW, "new-secret").await;
    r.assert_status(200);
    assert_eq!(r.body, json!({ "success": true, "message": "Password changed successfully" }));

    let sid = init(&s, &app).await;
    let r = login(&s, &sid, "bob", PW, "HWID-1").await;
    assert_error(&r, 401, "INVALID_PASSWORD", "Invalid password");
    login(&s, &sid, "bob", "new-secret", "HWID-1").await.assert_status(200);
}

#[tokio::test]
async fn change_password_needs_the_app_to_allow_it_and_a_signed_in_user() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let sid = registered(&s, &app, "bob", PW).await;

    let anonymous = init(&s, &app).await;
    let r = change(&s, &anonymous, PW, "new-secret").await;
    assert_error(&r, 404, "USER_NOT_FOUND", "User not found");

    settings(&s, &app, json!({ "allowPasswordChange": false })).await;
    let r = change(&s, &sid, PW, "new-secret").await;
    assert_error(&r, 403, "PASSWORD_CHANGE_UNAVAILABLE", "Password change is disabled for this app");

    // the old password still works
    let sid = init(&s, &app).await;
    login(&s, &sid, "bob", PW, "HWID-1").await.assert_status(200);
}

#[tokio::test]
async fn ten_wrong_old_passwords_throttle_change_password() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let sid = registered(&s, &app, "bob", PW).await;
    for _ in 0..10 {
        assert_error(&change(&s, &sid, "wrong", "new-secret").await, 401, "INVALID_PASSWORD", "Invalid password");
    }
    let r = change(&s, &sid, PW, "new-secret").await;
    assert_error(&r, 429, "RATE_LIMITED", "Too many requests, slow down");
    assert!(r.headers.get("retry-after").is_some());
}
