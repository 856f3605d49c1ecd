//! Authon v1 (`POST /v1`): every `type` on the wire, as Authon's Go SDK sends it (a JSON body
//! with `type`, `appId`, `apiKey`; its user agent; no nonce), and every answer's signature
//! verified against the server's public key before the test looks at it.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tollgate_core::time::now;

use crate::authly::{assert_signed, client_app, keys, settings, ClientApp};
use crate::harness::{Resp, TestServer};

const UA: &str = "Authon-Go-SDK/2.0.0";
const PW: &str = "correct-horse-9";

/// The raw request: `body` bytes and `headers` as given, the SDK's user agent.
async fn send(s: &TestServer, body: Vec<u8>, headers: HeaderMap) -> Resp {
    let res = s
        .http
        .post(s.url("/v1"))
        .header("content-type", "application/json")
        .header("user-agent", UA)
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    TestServer::into_resp(res).await
}

/// What the Go SDK sends for `kind`: `fields` plus `type`, `appId`, `apiKey`. The answer's
/// signature is verified (no request id, no nonce: both echo empty).
async fn call(s: &TestServer, app: &ClientApp, kind: &str, fields: Value) -> Resp {
    let mut body = json!({ "type": kind, "appId": app.id, "apiKey": app.secret });
    if let (Value::Object(b), Value::Object(extra)) = (&mut body, fields) {
        b.extend(extra);
    }
    raw(s, body).await
}

/// A body as given (no credentials added), signature verified.
async fn raw(s: &TestServer, body: Value) -> Resp {
    let r = send(s, serde_json::to_vec(&body).unwrap(), HeaderMap::new()).await;
    assert_signed(s, &r, "", "");
    r
}

#[track_caller]
fn assert_ok(r: &Resp, message: Option<&str>) {
    r.assert_status(200);
    assert_eq!(r.body["success"], true, "{}", r.body);
    assert_eq!(r.body.get("message").and_then(Value::as_str), message, "{}", r.body);
    assert!(r.body.get("code").is_none(), "{}", r.body);
}

/// An error answer: exactly `{success: false, message, code}`.
#[track_caller]
fn assert_fail(r: &Resp, status: u16, code: &str, message: &str) {
    r.assert_status(status);
    assert_eq!(r.body, json!({ "success": false, "message": message, "code": code }));
}

/// ISO-8601 UTC with milliseconds: `2025-12-31T23:59:59.000Z`.
#[track_caller]
fn assert_iso_ms(v: &Value) {
    let t = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    assert_eq!(t.len(), 24, "{t}");
    assert!(t.ends_with('Z') && t.as_bytes()[19] == b'.', "{t}");
    assert!(tollgate_core::time::parse_rfc3339(t).is_some(), "{t}");
}

async fn live_sessions(s: &TestServer, app: &ClientApp) -> u64 {
    s.state.store.count_live_sessions(&app.id, now()).await.unwrap()
}

async fn users(s: &TestServer, app: &ClientApp) -> u64 {
    let r = s.get(&format!("/v1/admin/apps/{}/users", app.id), &app.seller.token).await;
    r.body["pagination"]["total"].as_u64().unwrap()
}

async fn unused_keys(s: &TestServer, app: &ClientApp) -> u64 {
    let r = s.get(&format!("/v1/admin/apps/{}/licenses?status=UNUSED", app.id), &app.seller.token).await;
    r.body["pagination"]["total"].as_u64().unwrap()
}

/// Register `username` with a fresh key; returns the session token.
async fn registered(s: &TestServer, app: &ClientApp, username: &str, hwid: &str) -> String {
    let key = keys(s, app, 1, json!({})).await.remove(0);
    let r = call(s, app, "register", json!({ "username": username, "password": PW, "licenseKey": key, "hwid": hwid }))
        .await;
    assert_ok(&r, Some("Registration successful"));
    r.data()["sessionToken"].as_str().unwrap().to_owned()
}

/// Sign in with a fresh key alone; returns the session token.
async fn key_session(s: &TestServer, app: &ClientApp, hwid: &str) -> String {
    let key = keys(s, app, 1, json!({})).await.remove(0);
    let r = call(s, app, "license", json!({ "licenseKey": key, "hwid": hwid })).await;
    assert_ok(&r, Some("License activated"));
    r.data()["sessionToken"].as_str().unwrap().to_owned()
}

fn admin(app: &ClientApp, path: &str) -> String {
    format!("/v1/admin/apps/{}{path}", app.id)
}

// ---------------------------------------------------------------------------------------------
// init

#[tokio::test]
async fn init_answers_the_app_and_opens_no_session() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let r = call(&s, &app, "init", json!({})).await;
    assert_ok(&r, Some("App initialized"));
    assert_eq!(
        r.data(),
        &json!({ "name": app.name, "version": "1.0", "updateUrl": null, "hwidLock": true, "hashCheck": false })
    );
    assert_eq!(live_sessions(&s, &app).await, 0, "init hands out no session");

    settings(&s, &app, json!({ "versionControl": { "downloadUrl": "https://example.com/get" }, "hwidLock": false }))
        .await;
    let r = call(&s, &app, "init", json!({ "version": "1.0", "hwid": "HW-1" })).await;
    assert_ok(&r, Some("App initialized"));
    assert_eq!(r.data()["updateUrl"], "https://example.com/get");
    assert_eq!(r.data()["hwidLock"], false);
}

#[tokio::test]
async fn init_refuses_bad_credentials_and_app_rules() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let r = call(&s, &app, "init", json!({ "apiKey": "as_wrong" })).await;
    assert_fail(&r, 401, "INVALID_SECRET", "Invalid API key");
    let r = call(&s, &app, "init", json!({ "appId": "app_nope" })).await;
    assert_fail(&r, 404, "APP_NOT_FOUND", "Application not found");

    settings(&s, &app, json!({ "status": "PAUSED" })).await;
    assert_fail(&call(&s, &app, "init", json!({})).await, 403, "APP_PAUSED", "Application is paused");
    settings(&s, &app, json!({ "status": "DISABLED" })).await;
    assert_fail(&call(&s, &app, "init", json!({})).await, 403, "APP_DISABLED", "Application is disabled");
    settings(&s, &app, json!({ "status": "ACTIVE" })).await;

    // Hashes, when the app checks them.
    let hash = "ab12".repeat(16);
    settings(&s, &app, json!({ "hashCheck": true, "hashes": [hash] })).await;
    let r = call(&s, &app, "init", json!({})).await;
    assert_fail(&r, 403, "HASH_REQUIRED", "Hash is required for this application");
    assert_fail(&call(&s, &app, "init", json!({ "hash": "ffff" })).await, 403, "INVALID_HASH", "Hash does not match");
    let upper = hash.to_uppercase();
    assert_ok(&call(&s, &app, "init", json!({ "hash": upper })).await, Some("App initialized"));
    settings(&s, &app, json!({ "hashCheck": false })).await;

    // Version control, only when a version is sent.
    settings(&s, &app, json!({ "version": "1.3", "versionControl": { "enabled": true } })).await;
    let r = call(&s, &app, "init", json!({ "version": "1.0" })).await;
    assert_fail(&r, 403, "UPDATE_REQUIRED", "Please update your app to the latest version");
    assert_ok(&call(&s, &app, "init", json!({})).await, Some("App initialized"));

    // A blacklisted address, and a blacklisted device.
    s.post(&admin(&app, "/blacklist"), &app.seller.token, json!({ "type": "HWID", "value": "BAD-HW" }))
        .await
        .assert_status(201);
    assert_fail(&call(&s, &app, "init", json!({ "hwid": "bad-hw" })).await, 403, "HWID_BLOCKED", "Hardware ID banned");
    s.post(&admin(&app, "/blacklist"), &app.seller.token, json!({ "type": "IP", "value": "127.0.0.1" }))
        .await
        .assert_status(201);
    assert_fail(&call(&s, &app, "init", json!({})).await, 403, "IP_BLOCKED", "IP address banned");
    assert_eq!(live_sessions(&s, &app).await, 0);
}

// ---------------------------------------------------------------------------------------------
// register, login, license

#[tokio::test]
async fn register_then_login_answer_the_session() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "levelNames": { "2": "Premium" } })).await;
    let key = keys(&s, &app, 1, json!({ "level": 2 })).await.remove(0);

    let r =
        call(&s, &app, "register", json!({ "username": "alice", "password": PW, "licenseKey": key, "hwid": "HW-A" }))
            .await;
    assert_ok(&r, Some("Registration successful"));
    let d = r.data();
    assert_eq!(d.as_object().unwrap().len(), 5, "{d}");
    assert!(d["sessionToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!((&d["username"], &d["level"], &d["subscription"]), (&json!("alice"), &json!(2), &json!("Premium")));
    assert_iso_ms(&d["expiresAt"]);
    assert_eq!(live_sessions(&s, &app).await, 1);

    let r = call(&s, &app, "login", json!({ "username": "alice", "password": PW, "hwid": "HW-A" })).await;
    assert_ok(&r, Some("Login successful"));
    let d = r.data();
    assert_eq!((&d["username"], &d["level"], &d["subscription"]), (&json!("alice"), &json!(2), &json!("Premium")));
    assert_iso_ms(&d["expiresAt"]);
    assert_ne!(d["sessionToken"], json!(null));
    assert_eq!(live_sessions(&s, &app).await, 2);

    // A lifetime key: no expiry.
    let lifetime = keys(&s, &app, 1, json!({ "durationType": "lifetime" })).await.remove(0);
    let r = call(
        &s,
        &app,
        "register",
        json!({ "username": "bob", "password": PW, "licenseKey": lifetime, "hwid": "HW-B" }),
    )
    .await;
    assert_ok(&r, Some("Registration successful"));
    assert_eq!(r.data()["expiresAt"], json!(null));
    assert_eq!(r.data()["subscription"], "Level 1", "{}", r.body);
}

#[tokio::test]
async fn failed_sign_ins_answer_the_sdk_messages_and_leave_no_session() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    registered(&s, &app, "alice", "HW-A").await;
    let before = live_sessions(&s, &app).await;

    let r = call(&s, &app, "login", json!({ "username": "alice", "password": "wrong-password", "hwid": "HW-A" })).await;
    assert_fail(&r, 401, "INVALID_CREDENTIALS", "Invalid credentials");
    let r = call(&s, &app, "login", json!({ "username": "nobody", "password": PW, "hwid": "HW-A" })).await;
    assert_fail(&r, 401, "INVALID_CREDENTIALS", "Invalid credentials");
    // HWID lock (on by default): another machine is refused.
    let r = call(&s, &app, "login", json!({ "username": "alice", "password": PW, "hwid": "HW-OTHER" })).await;
    assert_fail(&r, 403, "DEVICE_LIMIT_REACHED", "Hardware ID mismatch");

    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let r = call(&s, &app, "register", json!({ "username": "ALICE", "password": PW, "licenseKey": key })).await;
    assert_fail(&r, 409, "USERNAME_TAKEN", "Username already exists");
    let r = call(&s, &app, "register", json!({ "username": "carol", "password": PW, "licenseKey": "NOPE-NOPE" })).await;
    assert_fail(&r, 401, "LICENSE_NOT_FOUND", "Invalid or already used license key");
    let r = call(&s, &app, "license", json!({ "licenseKey": "NOPE-NOPE", "hwid": "HW-C" })).await;
    assert_fail(&r, 401, "LICENSE_NOT_FOUND", "Invalid or already used license key");
    // The key redeemed by alice's account.
    let used = s.get(&admin(&app, "/licenses?status=USED"), &app.seller.token).await.data()[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = call(&s, &app, "register", json!({ "username": "dave", "password": PW, "licenseKey": used })).await;
    assert_fail(&r, 401, "LICENSE_IN_USE", "Invalid or already used license key");

    // A banned account.
    let uid = s.get(&admin(&app, "/users"), &app.seller.token).await.data()[0]["id"].as_str().unwrap().to_owned();
    s.post(&admin(&app, &format!("/users/{uid}/ban")), &app.seller.token, json!({ "reason": "cheating" }))
        .await
        .assert_status(200);
    let r = call(&s, &app, "login", json!({ "username": "alice", "password": PW, "hwid": "HW-A" })).await;
    assert_fail(&r, 403, "USER_BANNED", "Account banned");

    // Missing fields are named, before anything is looked up.
    let r = call(&s, &app, "login", json!({ "username": "alice" })).await;
    assert_fail(&r, 400, "MISSING_FIELDS", "Missing required field: password");
    let r = call(&s, &app, "register", json!({ "username": "x", "password": PW })).await;
    assert_fail(&r, 400, "MISSING_FIELDS", "Missing required field: licenseKey");

    // Not one of the refusals left a session behind (the ban ended alice's).
    assert!(live_sessions(&s, &app).await < before, "sessions left by failed sign-ins");
    assert_eq!(live_sessions(&s, &app).await, 0);
    assert_eq!(users(&s, &app).await, 1);
    assert_eq!(unused_keys(&s, &app).await, 1, "the refused register kept its key");
}

#[tokio::test]
async fn license_activates_a_key_and_binds_the_device() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "levelNames": { "3": "Gold" } })).await;
    let key = keys(&s, &app, 1, json!({ "level": 3, "maxDevices": 1 })).await.remove(0);

    let r = call(&s, &app, "license", json!({ "licenseKey": key, "hwid": "HW-1" })).await;
    assert_ok(&r, Some("License activated"));
    let d = r.data();
    assert_eq!(d.as_object().unwrap().len(), 4, "{d}");
    assert_eq!((&d["level"], &d["subscription"]), (&json!(3), &json!("Gold")));
    assert_iso_ms(&d["expiresAt"]);
    assert!(d["sessionToken"].as_str().is_some());

    // Again on the same machine: signed in again; another machine: refused.
    assert_ok(
        &call(&s, &app, "license", json!({ "licenseKey": key, "hwid": "HW-1" })).await,
        Some("License activated"),
    );
    let r = call(&s, &app, "license", json!({ "licenseKey": key, "hwid": "HW-2" })).await;
    assert_fail(&r, 403, "DEVICE_LIMIT_REACHED", "Hardware ID mismatch");
    let lic = s.get(&admin(&app, &format!("/licenses?search={key}")), &app.seller.token).await;
    assert_eq!(lic.data()[0]["devices"], json!(["HW-1"]), "{}", lic.body);
    assert_eq!(live_sessions(&s, &app).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_license_calls_on_one_key_bind_one_device() {
    let s = Arc::new(TestServer::start_with(|c| c.client_rate_limit = Some("0".into())).await);
    let app = Arc::new(client_app(&s).await);
    let key = keys(&s, &app, 1, json!({ "maxDevices": 1 })).await.remove(0);
    let tasks = (0..20).map(|i| {
        let (s, app, key) = (s.clone(), app.clone(), key.clone());
        tokio::spawn(
            async move { call(&s, &app, "license", json!({ "licenseKey": key, "hwid": format!("HW-{i}") })).await },
        )
    });
    let answers: Vec<Resp> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let won = answers.iter().filter(|r| r.status == 200).count();
    let refused = answers.iter().filter(|r| r.status == 403 && r.code() == "DEVICE_LIMIT_REACHED").count();
    assert_eq!((won, refused), (1, 19), "{:?}", answers.iter().map(|r| r.body.clone()).collect::<Vec<_>>());

    let lic = s.get(&admin(&app, &format!("/licenses?search={key}")), &app.seller.token).await;
    let devices = lic.data()[0]["devices"].as_array().unwrap().clone();
    assert_eq!(devices.len(), 1, "{}", lic.body);
    assert_eq!(lic.data()[0]["status"], "USED");
    assert_eq!(live_sessions(&s, &app).await, 1, "the refused calls left no session");
}

// ---------------------------------------------------------------------------------------------
// calls on a session

#[tokio::test]
async fn check_and_logout() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let token = registered(&s, &app, "alice", "HW-A").await;

    let r = call(&s, &app, "check", json!({ "sessionToken": token })).await;
    assert_ok(&r, Some("Session valid"));
    assert_eq!((&r.data()["username"], &r.data()["level"]), (&json!("alice"), &json!(1)));
    assert_iso_ms(&r.data()["expiresAt"]);

    // A key-only session has no username.
    let key_token = key_session(&s, &app, "HW-K").await;
    let r = call(&s, &app, "check", json!({ "sessionToken": key_token })).await;
    assert_ok(&r, Some("Session valid"));
    assert_eq!(r.data()["username"], json!(null));

    // The session must be this app's, and the API key right.
    let other = client_app(&s).await;
    let r = call(&s, &other, "check", json!({ "sessionToken": token })).await;
    assert_fail(&r, 401, "INVALID_SESSION", "Invalid session");
    let r = call(&s, &app, "check", json!({ "sessionToken": token, "apiKey": "as_wrong" })).await;
    assert_fail(&r, 401, "INVALID_SECRET", "Invalid API key");
    let r = call(&s, &app, "check", json!({ "sessionToken": "not-a-token" })).await;
    assert_fail(&r, 401, "INVALID_SESSION", "Invalid session");
    let r = call(&s, &app, "check", json!({})).await;
    assert_fail(&r, 400, "MISSING_FIELDS", "Missing required field: sessionToken");

    // An expired subscription is refused at sign-in with the SDK's message.
    let uid = s.get(&admin(&app, "/users"), &app.seller.token).await.data()[0]["id"].as_str().unwrap().to_owned();
    let user = s.state.store.get_user(&app.id, &uid).await.unwrap().unwrap();
    let mut expired = user.clone();
    expired.expires_at = Some(now() - chrono::Duration::minutes(1));
    s.state.store.delete_user(&app.id, &uid).await.unwrap();
    s.state.store.create_user(&expired, &[]).await.unwrap();
    let fresh = call(&s, &app, "login", json!({ "username": "alice", "password": PW, "hwid": "HW-A" })).await;
    assert_fail(&fresh, 403, "USER_EXPIRED", "Subscription expired");

    // Logout ends the session.
    let r = call(&s, &app, "logout", json!({ "sessionToken": key_token })).await;
    assert_ok(&r, Some("Logged out"));
    assert!(r.body.get("data").is_none());
    let r = call(&s, &app, "check", json!({ "sessionToken": key_token })).await;
    assert_fail(&r, 401, "INVALID_SESSION", "Invalid session");
}

#[tokio::test]
async fn paused_app_refuses_its_sessions() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let token = registered(&s, &app, "alice", "HW-A").await;
    settings(&s, &app, json!({ "status": "PAUSED" })).await;
    let r = call(&s, &app, "check", json!({ "sessionToken": token })).await;
    assert_fail(&r, 403, "APP_PAUSED", "Application is paused");
    let r = call(&s, &app, "login", json!({ "username": "alice", "password": PW, "hwid": "HW-A" })).await;
    assert_fail(&r, 403, "APP_PAUSED", "Application is paused");
}

#[tokio::test]
async fn app_and_own_variables() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    for (key, value, auth) in [("motd", "hello", false), ("dl", "https://example.com/x", true)] {
        let body = json!({ "key": key, "value": value, "readOnly": true, "authRequired": auth });
        s.post(&admin(&app, "/variables"), &app.seller.token, body).await.assert_status(201);
    }
    let token = registered(&s, &app, "alice", "HW-A").await;

    let r = call(&s, &app, "var", json!({ "sessionToken": token, "key": "motd" })).await;
    assert_ok(&r, None);
    assert_eq!(r.data(), &json!({ "key": "motd", "value": "hello" }));
    let r = call(&s, &app, "var", json!({ "sessionToken": token, "key": "dl" })).await;
    assert_eq!(r.data()["value"], "https://example.com/x");
    let r = call(&s, &app, "var", json!({ "sessionToken": token, "key": "nope" })).await;
    assert_fail(&r, 404, "VARIABLE_NOT_FOUND", "Variable not found");

    // The user's own.
    let r = call(&s, &app, "setvar", json!({ "sessionToken": token, "key": "theme", "value": "dark" })).await;
    assert_ok(&r, Some("Variable set"));
    assert!(r.body.get("data").is_none());
    let r = call(&s, &app, "getvar", json!({ "sessionToken": token, "key": "theme" })).await;
    assert_ok(&r, None);
    assert_eq!(r.data(), &json!({ "key": "theme", "value": "dark" }));
    // `var` reads app variables only; `getvar` the session's own only.
    let r = call(&s, &app, "var", json!({ "sessionToken": token, "key": "theme" })).await;
    assert_fail(&r, 404, "VARIABLE_NOT_FOUND", "Variable not found");
    let r = call(&s, &app, "getvar", json!({ "sessionToken": token, "key": "motd" })).await;
    assert_fail(&r, 404, "VARIABLE_NOT_FOUND", "Variable not found");
    let r = call(&s, &app, "setvar", json!({ "sessionToken": token, "key": "motd", "value": "x" })).await;
    assert_fail(&r, 403, "VARIABLE_READ_ONLY", "This variable cannot be changed by clients");
    let r = call(&s, &app, "setvar", json!({ "sessionToken": token, "key": "theme" })).await;
    assert_fail(&r, 400, "MISSING_FIELDS", "Missing required field: value");
    let r = call(&s, &app, "setvar", json!({ "sessionToken": token, "key": "bad key!", "value": "x" })).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "VALIDATION_ERROR"), "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().starts_with("key: "), "{}", r.body);

    // A key-only session keeps its own, per license.
    let k1 = key_session(&s, &app, "HW-1").await;
    let k2 = key_session(&s, &app, "HW-2").await;
    let r = call(&s, &app, "setvar", json!({ "sessionToken": k1, "key": "theme", "value": "light" })).await;
    assert_ok(&r, Some("Variable set"));
    let r = call(&s, &app, "getvar", json!({ "sessionToken": k1, "key": "theme" })).await;
    assert_eq!(r.data(), &json!({ "key": "theme", "value": "light" }));
    let r = call(&s, &app, "getvar", json!({ "sessionToken": k2, "key": "theme" })).await;
    assert_fail(&r, 404, "VARIABLE_NOT_FOUND", "Variable not found");
    // An empty value is a value.
    call(&s, &app, "setvar", json!({ "sessionToken": k1, "key": "theme", "value": "" })).await.assert_status(200);
    let r = call(&s, &app, "getvar", json!({ "sessionToken": k1, "key": "theme" })).await;
    assert_eq!(r.data()["value"], "");
    // An auth-required app variable is readable by a key-only session too.
    let r = call(&s, &app, "var", json!({ "sessionToken": k2, "key": "dl" })).await;
    assert_ok(&r, None);
    // And alice's own is untouched.
    let r = call(&s, &app, "getvar", json!({ "sessionToken": token, "key": "theme" })).await;
    assert_eq!(r.data()["value"], "dark");
}

async fn upload(s: &TestServer, app: &ClientApp, name: &str, bytes: Vec<u8>, min_level: i64) -> String {
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()))
        .text("name", name.to_owned())
        .text("minLevel", min_level.to_string());
    let res = s.http.post(s.url(&admin(app, "/files"))).bearer_auth(&app.seller.token).multipart(form).send().await;
    let r = TestServer::into_resp(res.unwrap()).await;
    r.assert_status(201);
    r.data()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn files_the_level_reaches() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let low = b"low level bytes".to_vec();
    let low_id = upload(&s, &app, "low.bin", low.clone(), 1).await;
    let high_id = upload(&s, &app, "high.bin", b"secret".to_vec(), 5).await;
    let token = registered(&s, &app, "alice", "HW-A").await; // level 1

    let r = call(&s, &app, "list_files", json!({ "sessionToken": token })).await;
    assert_ok(&r, None);
    assert_eq!(r.data(), &json!([{ "id": low_id, "name": "low.bin", "size": low.len(), "minLevel": 1 }]));

    let r = call(&s, &app, "file", json!({ "sessionToken": token, "fileId": low_id })).await;
    assert_ok(&r, None);
    assert_eq!(
        r.data(),
        &json!({
            "name": "low.bin",
            "size": low.len(),
            "sha256": hex::encode(Sha256::digest(&low)),
            "downloadUrl": format!("/v1/files/download/{low_id}?token={token}"),
        })
    );
    let r = call(&s, &app, "file", json!({ "sessionToken": token, "fileId": high_id })).await;
    assert_fail(&r, 403, "LEVEL_TOO_LOW", "Your level is too low for this file");
    let r = call(&s, &app, "file", json!({ "sessionToken": token, "fileId": "fil_missing" })).await;
    assert_fail(&r, 404, "FILE_NOT_FOUND", "File not found");
    let r = call(&s, &app, "file", json!({ "sessionToken": token })).await;
    assert_fail(&r, 400, "MISSING_FIELDS", "Missing required field: fileId");
}

#[tokio::test]
async fn log_online_and_stats() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let alice = registered(&s, &app, "alice", "HW-A").await;
    key_session(&s, &app, "HW-K").await; // a key-only session is not an online user
    keys(&s, &app, 3, json!({})).await;

    let r = call(&s, &app, "log", json!({ "sessionToken": alice, "message": "started the loader" })).await;
    assert_ok(&r, Some("Log recorded"));
    assert!(r.body.get("data").is_none());
    let logs = s.get(&admin(&app, "/logs"), &app.seller.token).await;
    assert_eq!(logs.data()[0]["message"], "started the loader", "{}", logs.body);
    assert_eq!(logs.data()[0]["username"], "alice", "{}", logs.body);
    let r = call(&s, &app, "log", json!({ "sessionToken": alice, "message": "x".repeat(5000) })).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "VALIDATION_ERROR"), "{}", r.body);

    // Alice twice online: listed once.
    call(&s, &app, "login", json!({ "username": "alice", "password": PW, "hwid": "HW-A" })).await.assert_status(200);
    let r = call(&s, &app, "fetch_online", json!({ "sessionToken": alice })).await;
    assert_ok(&r, None);
    assert_eq!(r.data()["count"], 1, "{}", r.body);
    assert_eq!(r.data()["users"][0]["username"], "alice");
    assert_iso_ms(&r.data()["users"][0]["lastActive"]);

    let r = call(&s, &app, "fetch_stats", json!({ "sessionToken": alice })).await;
    assert_ok(&r, None);
    assert_eq!(r.data(), &json!({ "totalUsers": 1, "onlineUsers": 1, "totalKeys": 5, "appVersion": "1.0" }));
}

#[tokio::test]
async fn check_blacklist_needs_no_session() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let r = call(&s, &app, "check_blacklist", json!({ "hwid": "HW-1", "ip": "10.1.2.3" })).await;
    assert_ok(&r, None);
    assert_eq!(r.data(), &json!({ "blacklisted": false, "reason": null }));

    let path = admin(&app, "/blacklist");
    let add = |body: Value| s.post(&path, &app.seller.token, body);
    add(json!({ "type": "HWID", "value": "HW-1", "reason": "chargeback" })).await.assert_status(201);
    add(json!({ "type": "IP", "value": "10.1.0.0/16" })).await.assert_status(201);
    let r = call(&s, &app, "check_blacklist", json!({ "hwid": "hw-1" })).await;
    assert_eq!(r.data(), &json!({ "blacklisted": true, "reason": "chargeback" }));
    let r = call(&s, &app, "check_blacklist", json!({ "ip": "10.1.2.3" })).await;
    assert_eq!(r.data(), &json!({ "blacklisted": true, "reason": null }));
    let r = call(&s, &app, "check_blacklist", json!({ "ip": "10.2.0.1", "hwid": "HW-2" })).await;
    assert_eq!(r.data()["blacklisted"], false);
    let r = call(&s, &app, "check_blacklist", json!({ "ip": "not-an-ip" })).await;
    assert_fail(&r, 400, "VALIDATION_ERROR", "ip: is not an IP address");
    let r = call(&s, &app, "check_blacklist", json!({ "apiKey": "as_wrong" })).await;
    assert_fail(&r, 401, "INVALID_SECRET", "Invalid API key");
}

// ---------------------------------------------------------------------------------------------
// the envelope: bad input, unknown types, methods, replay, rate limit

#[tokio::test]
async fn bad_input_is_a_clear_400_and_writes_nothing() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let reg = |extra: Value| {
        let mut b = json!({ "type": "register", "appId": app.id, "apiKey": app.secret,
                            "username": "alice", "password": PW, "licenseKey": key });
        if let (Value::Object(b), Value::Object(e)) = (&mut b, extra) {
            b.extend(e);
        }
        b
    };
    let bytes = |b: &[u8]| b.to_vec();
    let cases: Vec<(Vec<u8>, &str, String)> = vec![
        (bytes(b"{not json"), "INVALID_REQUEST", "Request body must be a JSON object".into()),
        (bytes(b"[1,2]"), "INVALID_REQUEST", "Request body must be a JSON object".into()),
        (bytes(b""), "INVALID_REQUEST", "Request body must be a JSON object".into()),
        (
            format!(r#"{{"type":"register","type":"login","appId":"{}"}}"#, app.id).into_bytes(),
            "INVALID_REQUEST",
            "Field `type` appears more than once".into(),
        ),
        (
            serde_json::to_vec(&reg(json!({ "appId": 5 }))).unwrap(),
            "INVALID_REQUEST",
            "Field `appId` has the wrong type".into(),
        ),
        (
            serde_json::to_vec(&reg(json!({ "username": ["a"] }))).unwrap(),
            "INVALID_REQUEST",
            "Field `username` has the wrong type".into(),
        ),
        (
            serde_json::to_vec(&reg(json!({ "appId": null }))).unwrap(),
            "MISSING_FIELDS",
            "Missing required field: appId".into(),
        ),
        (
            serde_json::to_vec(&reg(json!({ "apiKey": "" }))).unwrap(),
            "MISSING_FIELDS",
            "Missing required field: apiKey".into(),
        ),
        (
            serde_json::to_vec(&reg(json!({ "type": null }))).unwrap(),
            "MISSING_FIELDS",
            "Missing required field: type".into(),
        ),
        (
            serde_json::to_vec(&reg(json!({ "type": "redeem_referral" }))).unwrap(),
            "UNKNOWN_TYPE",
            "Unknown request type: redeem_referral".into(),
        ),
        (
            serde_json::to_vec(&reg(json!({ "appId": "a".repeat(300) }))).unwrap(),
            "VALIDATION_ERROR",
            "appId: must be at most 256 characters".into(),
        ),
        (
            serde_json::to_vec(&reg(json!({ "nonce": 12 }))).unwrap(),
            "INVALID_REQUEST",
            "Field `nonce` has the wrong type".into(),
        ),
        (
            serde_json::to_vec(&reg(json!({ "padding": "x".repeat(200 * 1024) }))).unwrap(),
            "PAYLOAD_TOO_LARGE",
            format!("Request body is larger than {} bytes", 96 * 1024),
        ),
    ];
    for (body, code, message) in cases {
        let r = send(&s, body.clone(), HeaderMap::new()).await;
        assert_signed(&s, &r, "", "");
        assert_fail(&r, 400, code, &message);
    }
    // Fields the core measures: a huge username or device id.
    let r = raw(&s, reg(json!({ "username": "u".repeat(10_000) }))).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "VALIDATION_ERROR"), "{}", r.body);
    let r = raw(&s, reg(json!({ "hwid": "h".repeat(10_000) }))).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "VALIDATION_ERROR"), "{}", r.body);

    assert_eq!(users(&s, &app).await, 0);
    assert_eq!(unused_keys(&s, &app).await, 1);
    assert_eq!(live_sessions(&s, &app).await, 0);
    // And the same request, well formed, works.
    assert_ok(&raw(&s, reg(json!({}))).await, Some("Registration successful"));
}

#[tokio::test]
async fn other_methods_are_405_and_signed() {
    let s = TestServer::start().await;
    for method in [reqwest::Method::GET, reqwest::Method::PUT, reqwest::Method::DELETE] {
        let res = s.http.request(method.clone(), s.url("/v1")).send().await.unwrap();
        let r = TestServer::into_resp(res).await;
        assert_signed(&s, &r, "", "");
        assert_fail(&r, 405, "METHOD_NOT_ALLOWED", "Use POST");
    }
}

#[tokio::test]
async fn a_nonce_is_accepted_once_and_echoed() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let nonce = tollgate_core::ids::random_hex(16);
    let ts = tollgate_core::time::to_millis(&now());
    let body = json!({ "type": "init", "appId": app.id, "apiKey": app.secret, "nonce": nonce, "timestamp": ts,
                       "request_id": "req-1" });
    let first = send(&s, serde_json::to_vec(&body).unwrap(), HeaderMap::new()).await;
    assert_signed(&s, &first, "req-1", &nonce);
    assert_ok(&first, Some("App initialized"));
    let again = send(&s, serde_json::to_vec(&body).unwrap(), HeaderMap::new()).await;
    assert_signed(&s, &again, "req-1", &nonce);
    assert_fail(&again, 401, "REPLAYED_REQUEST", "Request was already used or its timestamp is out of range");

    // In headers as well, and an old timestamp.
    let mut headers = HeaderMap::new();
    let nonce2 = tollgate_core::ids::random_hex(16);
    headers.insert("x-v2-nonce", nonce2.parse().unwrap());
    headers.insert("x-v2-timestamp", (ts - 3_600_000).to_string().parse().unwrap());
    let body = json!({ "type": "init", "appId": app.id, "apiKey": app.secret });
    let old = send(&s, serde_json::to_vec(&body).unwrap(), headers).await;
    assert_signed(&s, &old, "", &nonce2);
    assert_fail(&old, 401, "REPLAYED_REQUEST", "Request was already used or its timestamp is out of range");
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let s = TestServer::start_with(|c| c.client_rate_limit = Some("1".into())).await;
    let app = client_app(&s).await;
    let mut limited = None;
    for _ in 0..40 {
        let r = call(&s, &app, "init", json!({})).await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_ok(&r, Some("App initialized"));
    }
    let r = limited.expect("the limit never answered 429");
    assert_fail(&r, 429, "RATE_LIMITED", "Too many requests, slow down");
    let wait: u64 = r.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!(wait >= 1);
}
