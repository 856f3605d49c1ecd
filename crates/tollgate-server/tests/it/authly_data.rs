//! Authly v2 session-scoped data over HTTP: variables, logs, validate-session, blacklist check,
//! device auth, chats, and a ban on one node seen by another. Every call goes through
//! `authly::call`, which checks the answer's signature.

use chrono::Duration;
use serde_json::{json, Value};
use tollgate_core::ids;
use tollgate_core::model::{DeviceLicense, DeviceType, LicenseStatus};
use tollgate_core::time::now;

use crate::authly::{call, client_app, init, keys, registered, ClientApp};
use crate::authly_accounts::{admin, blacklist, near, store_session, ts, user_action, user_id};
use crate::harness::{Resp, TestServer};

const PW: &str = "hunter2-pass";

#[track_caller]
fn assert_error(r: &Resp, status: u16, code: &str, message: &str) {
    r.assert_error(status, code);
    assert_eq!(r.body["message"], message, "body: {}", r.body);
}

// ---------------------------------------------------------------- variables

async fn app_variable(s: &TestServer, app: &ClientApp, key: &str, value: &str, read_only: bool, auth_required: bool) {
    let body = json!({ "key": key, "value": value, "readOnly": read_only, "authRequired": auth_required });
    s.post(&admin(app, "/variables"), &app.seller.token, body).await.assert_status(201);
}

async fn get_var(s: &TestServer, endpoint: &str, sid: &str, key: &str) -> Resp {
    call(s, endpoint, json!({ "session_id": sid, "var_key": key })).await
}

async fn set_var(s: &TestServer, sid: &str, key: &str, value: &str) -> Resp {
    call(s, "variables/set", json!({ "session_id": sid, "var_key": key, "var_value": value })).await
}

#[track_caller]
fn assert_variable(r: &Resp, key: &str, value: &str) {
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "Variable retrieved successfully");
    let v = &r.body["variable"];
    assert_eq!(v["var_key"], key, "{}", r.body);
    assert_eq!(v["var_value"], value, "{}", r.body);
    near(ts(&v["updated_at"]), now());
}

#[tokio::test]
async fn app_variables_are_read_and_auth_required_ones_only_after_login() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    app_variable(&s, &app, "motd", "hello", false, false).await;
    app_variable(&s, &app, "dl_url", "https://example.com/x", true, true).await;
    let sid = init(&s, &app).await;

    assert_variable(&get_var(&s, "variables", &sid, "motd").await, "motd", "hello");
    assert_variable(&get_var(&s, "variables/get", &sid, "motd").await, "motd", "hello");
    let r = get_var(&s, "variables", &sid, "dl_url").await;
    assert_error(&r, 401, "LOGIN_REQUIRED", "Log in first to read this variable");
    let r = get_var(&s, "variables", &sid, "nope").await;
    assert_error(&r, 404, "VARIABLE_NOT_FOUND", "Variable not found");
    let r = call(&s, "variables", json!({ "session_id": sid })).await;
    assert_error(&r, 400, "MISSING_FIELDS", "Required fields are missing");

    // signed in with an account, or with a key alone
    let user_sid = registered(&s, &app, "bob", PW).await;
    assert_variable(&get_var(&s, "variables", &user_sid, "dl_url").await, "dl_url", "https://example.com/x");
    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let key_sid = init(&s, &app).await;
    call(&s, "licenses", json!({ "session_id": key_sid, "license_key": key, "sid": "HWID-9" }))
        .await
        .assert_status(200);
    assert_variable(&get_var(&s, "variables", &key_sid, "dl_url").await, "dl_url", "https://example.com/x");
}

/// App variables are cached per process (absent keys too): a seller's change is served at the
/// next read on the node that made it, and on another node as soon as its notification arrives.
#[tokio::test]
async fn a_changed_app_variable_is_served_at_once_and_on_every_node() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let t = &app.seller.token;
    app_variable(&s, &app, "motd", "v1", false, false).await;
    let sid = init(&s, &app).await;
    for _ in 0..2 {
        assert_variable(&get_var(&s, "variables", &sid, "motd").await, "motd", "v1");
        let r = get_var(&s, "variables", &sid, "later").await;
        assert_error(&r, 404, "VARIABLE_NOT_FOUND", "Variable not found");
    }

    s.patch(&admin(&app, "/variables/motd"), t, json!({ "value": "v2" })).await.assert_status(200);
    assert_variable(&get_var(&s, "variables", &sid, "motd").await, "motd", "v2");
    app_variable(&s, &app, "later", "now", false, false).await;
    assert_variable(&get_var(&s, "variables", &sid, "later").await, "later", "now");
    s.patch(&admin(&app, "/variables/later"), t, json!({ "authRequired": true })).await.assert_status(200);
    let r = get_var(&s, "variables", &sid, "later").await;
    assert_error(&r, 401, "LOGIN_REQUIRED", "Log in first to read this variable");
    s.delete(&admin(&app, "/variables/motd"), t).await.assert_status(200);
    let r = get_var(&s, "variables", &sid, "motd").await;
    assert_error(&r, 404, "VARIABLE_NOT_FOUND", "Variable not found");

    // A second node over the same PostgreSQL database caches its own reads.
    if !crate::multinode::on_postgres() {
        return;
    }
    let b = s.second_node().await;
    app_variable(&s, &app, "shared", "a1", false, false).await;
    assert_variable(&get_var(&b, "variables", &sid, "shared").await, "shared", "a1");
    let r = get_var(&b, "variables", &sid, "fresh").await;
    assert_error(&r, 404, "VARIABLE_NOT_FOUND", "Variable not found");
    s.patch(&admin(&app, "/variables/shared"), t, json!({ "value": "a2" })).await.assert_status(200);
    app_variable(&s, &app, "fresh", "f1", false, false).await;
    let served = |key: &'static str, value: &'static str| {
        let (b, sid) = (&b, sid.clone());
        move || {
            let sid = sid.clone();
            async move {
                let r = get_var(b, "variables", &sid, key).await;
                r.status == 200 && r.body["variable"]["var_value"] == value
            }
        }
    };
    let limit = std::time::Duration::from_secs(5);
    assert!(crate::multinode::eventually(limit, served("shared", "a2")).await, "node B still serves the old value");
    assert!(crate::multinode::eventually(limit, served("fresh", "f1")).await, "node B still has no `fresh`");
    s.delete(&admin(&app, "/variables/shared"), t).await.assert_status(200);
    let gone = || {
        let (b, sid) = (&b, sid.clone());
        async move { get_var(b, "variables", &sid, "shared").await.status == 404 }
    };
    assert!(crate::multinode::eventually(limit, gone).await, "node B still serves a deleted variable");
}

#[tokio::test]
async fn user_variables_round_trip_and_never_touch_app_variables() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    app_variable(&s, &app, "motd", "hello", false, false).await;
    app_variable(&s, &app, "locked", "v1", true, false).await;

    let anonymous = init(&s, &app).await;
    let r = set_var(&s, &anonymous, "theme", "dark").await;
    assert_error(&r, 401, "USERNAME_NOT_LINKED", "Log in with an account first");

    let sid = registered(&s, &app, "bob", PW).await;
    assert_variable(&set_var(&s, &sid, "theme", "dark").await, "theme", "dark");
    assert_variable(&get_var(&s, "variables", &sid, "theme").await, "theme", "dark");
    assert_variable(&set_var(&s, &sid, "theme", "").await, "theme", "");
    assert_variable(&get_var(&s, "variables/get", &sid, "theme").await, "theme", "");
    let r = call(&s, "variables/set", json!({ "session_id": sid, "var_key": "theme" })).await;
    assert_error(&r, 400, "MISSING_FIELDS", "Required fields are missing");

    // another user does not see bob's variable
    let other = registered(&s, &app, "carol", PW).await;
    let r = get_var(&s, "variables", &other, "theme").await;
    assert_error(&r, 404, "VARIABLE_NOT_FOUND", "Variable not found");

    // an app variable's key is refused, read-only or not, and the app variable is unchanged
    for key in ["motd", "locked"] {
        let r = set_var(&s, &sid, key, "pwned").await;
        assert_error(&r, 403, "VARIABLE_READ_ONLY", "This variable cannot be changed by clients");
    }
    let r = s.get(&admin(&app, "/variables"), &app.seller.token).await;
    r.assert_status(200);
    let values: Vec<(String, String)> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["key"].as_str().unwrap().to_owned(), v["value"].as_str().unwrap().to_owned()))
        .collect();
    assert!(values.contains(&("motd".into(), "hello".into())), "{values:?}");
    assert!(values.contains(&("locked".into(), "v1".into())), "{values:?}");
    assert_variable(&get_var(&s, "variables", &sid, "motd").await, "motd", "hello");
}

// ---------------------------------------------------------------- logs

#[tokio::test]
async fn logs_reach_the_seller_with_the_username() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let anonymous = init(&s, &app).await;
    let r = call(&s, "logs", json!({ "session_id": anonymous, "message": "started" })).await;
    r.assert_status(200);
    assert_eq!(r.body, json!({ "success": true, "message": "Log submitted successfully" }));

    let sid = registered(&s, &app, "bob", PW).await;
    call(&s, "logs", json!({ "session_id": sid, "message": "opened the menu" })).await.assert_status(200);
    for message in [json!(""), json!("   "), Value::Null] {
        let r = call(&s, "logs", json!({ "session_id": sid, "message": message })).await;
        assert_error(&r, 400, "MISSING_FIELDS", "Required fields are missing");
    }

    let r = s.get(&admin(&app, "/logs"), &app.seller.token).await;
    r.assert_status(200);
    let logs = r.data().as_array().unwrap();
    assert_eq!(logs.len(), 2, "{}", r.body);
    assert_eq!(logs[0]["message"], "opened the menu", "newest first");
    assert_eq!(logs[0]["username"], "bob");
    assert_eq!(logs[0]["ip"], "127.0.0.1");
    assert_eq!(logs[1]["message"], "started");
    assert_eq!(logs[1]["username"], Value::Null);
}

// ---------------------------------------------------------------- validate-session

#[tokio::test]
async fn validate_session_answers_valid_until_the_session_is_killed() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let sid = init(&s, &app).await;
    for endpoint in ["validate-session", "validate"] {
        let r = call(&s, endpoint, json!({ "session_id": sid })).await;
        r.assert_status(200);
        assert_eq!(r.body["success"], true);
        assert_eq!(r.body["message"], "Session is valid");
        assert_eq!(r.body["valid"], true);
        assert_eq!(r.body["session_id"], sid.as_str());
        near(ts(&r.body["expires_at"]), now() + Duration::hours(24));
    }
    let r = call(&s, "validate-session", json!({ "session_id": ids::new_token() })).await;
    assert_error(&r, 401, "INVALID_SESSION", "Invalid session");
    let r = call(&s, "validate-session", json!({})).await;
    assert_error(&r, 400, "MISSING_FIELDS", "Required fields are missing");
    let expired = store_session(&s, &app, now() - Duration::seconds(1)).await;
    let r = call(&s, "validate", json!({ "session_id": expired })).await;
    assert_error(&r, 401, "SESSION_EXPIRED", "Session has expired");

    let r = s.get(&admin(&app, "/sessions"), &app.seller.token).await;
    let session = r.data().as_array().unwrap().iter().find(|x| x["token"] == sid.as_str()).unwrap().clone();
    let other = init(&s, &app).await;
    s.delete(&admin(&app, &format!("/sessions/{}", session["id"].as_str().unwrap())), &app.seller.token)
        .await
        .assert_status(200);
    for endpoint in ["validate-session", "validate"] {
        let r = call(&s, endpoint, json!({ "session_id": sid })).await;
        assert_error(&r, 401, "INVALID_SESSION", "Invalid session");
    }
    call(&s, "validate", json!({ "session_id": other })).await.assert_status(200);
}

// ---------------------------------------------------------------- blacklist/check

#[tokio::test]
async fn blacklist_check_reports_the_device_and_the_address() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let sid = registered(&s, &app, "bob", PW).await; // the session is on HWID-1
    let r = call(&s, "blacklist/check", json!({ "session_id": sid, "hwid": "HWID-1", "ip": "" })).await;
    r.assert_status(200);
    assert_eq!(
        r.body,
        json!({
            "success": true, "message": "Not blacklisted",
            "blacklisted": false, "hwid_blacklisted": false, "ip_blacklisted": false,
        })
    );

    blacklist(&s, &app, "HWID", "HWID-1").await;
    let r = call(&s, "blacklist/check", json!({ "session_id": sid, "hwid": "HWID-1" })).await;
    r.assert_error(403, "BLACKLISTED");
    assert_eq!(r.body["message"], "This device or address is blacklisted");
    assert_eq!(r.body["blacklisted"], true);
    assert_eq!(r.body["hwid_blacklisted"], true);
    assert_eq!(r.body["ip_blacklisted"], false);
    // without an hwid in the body, the session's own device is checked
    let r = call(&s, "blacklist/check", json!({ "session_id": sid })).await;
    r.assert_error(403, "BLACKLISTED");
    assert_eq!(r.body["hwid_blacklisted"], true);
    // another device is clean
    let r = call(&s, "blacklist/check", json!({ "session_id": sid, "sid": "HWID-2" })).await;
    r.assert_status(200);

    // the caller's address, blacklisted after init
    let clean = init(&s, &app).await;
    blacklist(&s, &app, "IP", "127.0.0.0/8").await;
    let r = call(&s, "blacklist/check", json!({ "session_id": clean })).await;
    r.assert_error(403, "BLACKLISTED");
    assert_eq!(r.body["ip_blacklisted"], true);
    assert_eq!(r.body["hwid_blacklisted"], false);
}

// ---------------------------------------------------------------- device-auth

async fn device(s: &TestServer, app: &ClientApp, body: Value) -> String {
    let r = s.post(&admin(app, "/devices"), &app.seller.token, body).await;
    r.assert_status(201);
    r.data()["id"].as_str().unwrap().to_owned()
}

async fn device_auth(s: &TestServer, sid: &str, device_type: &str, device_id: &str) -> Resp {
    call(s, "device-auth", json!({ "session_id": sid, "device_type": device_type, "device_id": device_id, "ip": "" }))
        .await
}

#[tokio::test]
async fn device_auth_admits_a_known_device() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    crate::authly::settings(&s, &app, json!({ "levelNames": { "2": "Premium" } })).await;
    device(
        &s,
        &app,
        json!({ "deviceType": "motherboard", "deviceId": "MB-1", "name": "Rig", "email": "Rig@Example.com", "level": 2, "days": 10 }),
    )
    .await;
    let sid = init(&s, &app).await;
    let r = device_auth(&s, &sid, "Motherboard", "MB-1").await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "Device authentication successful");
    let d = &r.body["device"];
    assert_eq!(d["device_type"], "motherboard");
    assert_eq!(d["device_id"], "MB-1");
    assert_eq!(d["name"], "Rig");
    assert_eq!(d["email"], "rig@example.com");
    assert_eq!(d["subscription"], "Premium");
    assert_eq!(d["subscription_level"], 2);
    assert_eq!(d["subscription_id"], 2);
    near(ts(&d["expiry_date"]), now() + Duration::days(10));
    near(ts(&d["last_login"]), now());
    near(ts(&d["registered_at"]), now());
    assert_eq!(d["activated"], true);
    assert_eq!(d["ip_address"], "127.0.0.1");
    assert!(d.get("hwid").is_some(), "{d}");

    let r = device_auth(&s, &sid, "gpu", "MB-1").await;
    assert_error(&r, 400, "INVALID_DEVICE_TYPE", "Device type must be motherboard or processor");
    let r = device_auth(&s, &sid, "motherboard", "MB-2").await;
    assert_error(&r, 404, "MOTHERBOARD_NOT_FOUND", "Motherboard not found");
    let r = device_auth(&s, &sid, "processor", "MB-1").await;
    assert_error(&r, 404, "PROCESSOR_NOT_FOUND", "Processor not found");
    for field in ["device_type", "device_id"] {
        let mut body = json!({ "session_id": sid, "device_type": "motherboard", "device_id": "MB-1" });
        body.as_object_mut().unwrap().remove(field);
        assert_error(&call(&s, "device-auth", body).await, 400, "MISSING_FIELDS", "Required fields are missing");
    }
}

#[tokio::test]
async fn device_auth_refuses_banned_paused_and_expired_devices() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let mb = device(&s, &app, json!({ "deviceType": "motherboard", "deviceId": "MB-1" })).await;
    let cpu = device(&s, &app, json!({ "deviceType": "processor", "deviceId": "CPU-1" })).await;
    let sid = init(&s, &app).await;
    device_auth(&s, &sid, "motherboard", "MB-1").await.assert_status(200);

    let token = &app.seller.token;
    s.post(&admin(&app, &format!("/devices/{mb}/ban")), token, json!({ "reason": "stolen" })).await.assert_status(200);
    let r = device_auth(&s, &sid, "motherboard", "MB-1").await;
    assert_error(&r, 403, "MOTHERBOARD_BANNED", "This motherboard is banned: stolen");
    s.post(&admin(&app, &format!("/devices/{cpu}/ban")), token, json!({})).await.assert_status(200);
    let r = device_auth(&s, &sid, "processor", "CPU-1").await;
    assert_error(&r, 403, "PROCESSOR_BANNED", "This processor is banned");
    s.post(&admin(&app, &format!("/devices/{cpu}/unban")), token, json!({})).await.assert_status(200);
    device_auth(&s, &sid, "processor", "CPU-1").await.assert_status(200);

    s.post(&admin(&app, &format!("/devices/{cpu}/pause")), token, json!({})).await.assert_status(200);
    let r = device_auth(&s, &sid, "processor", "CPU-1").await;
    assert_error(&r, 403, "PROCESSOR_PAUSED", "This processor is paused");
    s.post(&admin(&app, &format!("/devices/{mb}/unban")), token, json!({})).await.assert_status(200);
    s.post(&admin(&app, &format!("/devices/{mb}/pause")), token, json!({})).await.assert_status(200);
    let r = device_auth(&s, &sid, "motherboard", "MB-1").await;
    assert_error(&r, 403, "MOTHERBOARD_PAUSED", "This motherboard is paused");

    // Expiry comes only from days at creation (at least one): a past one is written directly.
    for (device_type, id, code, message) in [
        (DeviceType::Motherboard, "MB-OLD", "MOTHERBOARD_EXPIRED", "This motherboard license has expired"),
        (DeviceType::Processor, "CPU-OLD", "PROCESSOR_EXPIRED", "This processor license has expired"),
    ] {
        let at = now() - Duration::days(40);
        let old = DeviceLicense {
            id: ids::new_id(ids::prefix::DEVICE),
            app_id: app.id.clone(),
            device_type,
            device_id: id.into(),
            name: None,
            email: None,
            level: 1,
            status: LicenseStatus::Used,
            ban_reason: None,
            note: None,
            created_at: at,
            activated_at: Some(at),
            expires_at: Some(now() - Duration::days(10)),
            last_login: Some(at),
            last_ip: None,
            hwid: None,
        };
        s.state.store.create_device_license(&old).await.unwrap();
        let r = device_auth(&s, &sid, device_type.as_str(), id).await;
        assert_error(&r, 403, code, message);
    }
}

// ---------------------------------------------------------------- chats

async fn channel(s: &TestServer, app: &ClientApp, name: &str) -> String {
    let r = s.post(&admin(app, "/chats"), &app.seller.token, json!({ "name": name })).await;
    r.assert_status(201);
    r.data()["id"].as_str().unwrap().to_owned()
}

async fn send(s: &TestServer, sid: &str, channel: &str, message: &str) -> Resp {
    call(s, "chats/send", json!({ "session_id": sid, "channel_name": channel, "message": message })).await
}

#[tokio::test]
async fn chat_send_needs_an_account_a_channel_and_no_mute() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let general = channel(&s, &app, "general").await;

    let anonymous = init(&s, &app).await;
    let r = send(&s, &anonymous, "general", "hi").await;
    assert_error(&r, 401, "USERNAME_NOT_LINKED", "Log in with an account first");

    let sid = registered(&s, &app, "bob", PW).await;
    let r = send(&s, &sid, "general", "hello all").await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "Message sent successfully");
    let d = &r.body["data"];
    assert!(d["id"].as_str().is_some_and(|id| !id.is_empty()), "{d}");
    assert_eq!(d["username"], "bob");
    assert_eq!(d["message"], "hello all");
    near(ts(&d["created_at"]), now());

    let r = send(&s, &sid, "General", "hi").await;
    assert_error(&r, 404, "CHANNEL_NOT_FOUND", "Chat channel not found");
    let r = call(&s, "chats/get", json!({ "session_id": sid, "channel_name": "nope" })).await;
    assert_error(&r, 404, "CHANNEL_NOT_FOUND", "Chat channel not found");
    let r = send(&s, &sid, "general", "").await;
    assert_error(&r, 400, "MISSING_FIELDS", "Required fields are missing");

    let bob = user_id(&s, &app, "bob").await;
    let mutes = admin(&app, &format!("/chats/{general}/mutes"));
    s.post(&mutes, &app.seller.token, json!({ "userId": bob, "reason": "spam" })).await.assert_status(201);
    let r = send(&s, &sid, "general", "let me speak").await;
    assert_error(&r, 403, "USER_MUTED", "You are muted in this channel");
    s.delete(&format!("{mutes}/{bob}"), &app.seller.token).await.assert_status(200);
    send(&s, &sid, "general", "thanks").await.assert_status(200);

    // what was refused was not posted
    let r = call(&s, "chats/get", json!({ "session_id": sid, "channel_name": "general" })).await;
    r.assert_status(200);
    let texts: Vec<&str> =
        r.body["data"]["messages"].as_array().unwrap().iter().map(|m| m["message"].as_str().unwrap()).collect();
    assert_eq!(texts, ["thanks", "hello all"]);
}

#[tokio::test]
async fn chat_get_pages_newest_first_through_the_cursor() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    channel(&s, &app, "lobby").await;
    let sid = registered(&s, &app, "bob", PW).await;
    for i in 1..=5 {
        send(&s, &sid, "lobby", &format!("m{i}")).await.assert_status(200);
        // distinct instants, so that "newest first" has one answer
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    // any session of the app may read, signed in or not
    let reader = init(&s, &app).await;
    let mut cursor = Value::Null;
    let mut pages = Vec::new();
    loop {
        let r = call(
            &s,
            "chats/get",
            json!({ "session_id": reader, "channel_name": "lobby", "limit": 2, "cursor": cursor }),
        )
        .await;
        r.assert_status(200);
        assert_eq!(r.body["message"], "Messages retrieved successfully");
        let d = &r.body["data"];
        assert_eq!(d["channel_name"], "lobby");
        assert_eq!(d["pagination"]["limit"], 2);
        assert_eq!(d["pagination"]["next_cursor"], d["next_cursor"]);
        assert_eq!(d["pagination"]["has_more"], d["has_more"]);
        assert_eq!(d["has_more"], !d["next_cursor"].is_null());
        let texts: Vec<String> = d["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                assert_eq!(m["username"], "bob");
                assert!(m["id"].is_string() && m["created_at"].is_string(), "{m}");
                m["message"].as_str().unwrap().to_owned()
            })
            .collect();
        pages.push(texts);
        cursor = d["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
        assert!(pages.len() < 5, "the cursor walk does not end");
    }
    assert_eq!(pages, [vec!["m5", "m4"], vec!["m3", "m2"], vec!["m1"]]);

    let r = call(&s, "chats/get", json!({ "session_id": reader, "channel_name": "lobby", "cursor": "junk!!" })).await;
    r.assert_status(400);
    assert_eq!(r.body["success"], false);
    let r = call(&s, "chats/get", json!({ "session_id": reader, "channel_name": "lobby", "limit": 0 })).await;
    r.assert_status(400);
    let r = call(&s, "chats/get", json!({ "session_id": reader })).await;
    assert_error(&r, 400, "MISSING_FIELDS", "Required fields are missing");
}

// ---------------------------------------------------------------- several nodes

#[tokio::test]
async fn a_ban_through_one_node_is_in_force_on_the_other() {
    let a = TestServer::start().await;
    if a.pg.is_none() {
        eprintln!("skipped: needs TOLLGATE_TEST_POSTGRES_URL");
        return;
    }
    let b = a.second_node().await;
    let app = client_app(&a).await;
    let sid = registered(&a, &app, "bob", PW).await;
    // node B knows the session and the app before the ban
    call(&b, "validate-session", json!({ "session_id": sid })).await.assert_status(200);

    user_action(&a, &app, "bob", "ban", json!({ "reason": "cheating" })).await;

    let r = call(&b, "validate-session", json!({ "session_id": sid })).await;
    assert_error(&r, 401, "INVALID_SESSION", "Invalid session");
    let fresh = init(&b, &app).await;
    let r = call(&b, "login", json!({ "session_id": fresh, "username": "bob", "password": PW, "sid": "HWID-1" })).await;
    assert_error(&r, 403, "USER_BANNED", "This account is banned: cheating");
    b.stop().await;
    a.stop().await;
}
