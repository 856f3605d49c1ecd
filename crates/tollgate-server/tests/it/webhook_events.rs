//! Webhook events from every use case: each client call of Authly (`/api/v2/...`) and Authon
//! (`POST /v1`) and each admin call that changes something queues its event once, with the
//! documented data, in the same transaction as the change. A failed call, a rolled-back
//! register, a kind the webhook does not subscribe to and a disabled webhook queue nothing.
//! What was queued is read back from the outbox (`list_deliveries`), each payload parsed.

use std::sync::Arc;

use chrono::Duration;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use tollgate_core::ids;
use tollgate_core::model::{Creator, License, LicenseStatus, Session};
use tollgate_core::time::{now, Timestamp};
use tollgate_core::DurationType;
use tollgate_store::PageRequest;

use crate::authly::{assert_signed, call, client_app, init, keys, ClientApp};
use crate::authly_accounts::{admin, license_id, user_id};
use crate::harness::{Resp, TestServer};

const PW: &str = "event-pass-9";
const ALL: [&str; 8] = [
    "user.register",
    "user.login",
    "user.ban",
    "license.activate",
    "license.expire",
    "license.delete",
    "file.download",
    "session.create",
];

async fn server() -> TestServer {
    TestServer::start_with(|c| c.client_rate_limit = Some("0".into())).await
}

/// A webhook of the app on `events`, created through the admin API: its id and secret.
async fn hook(s: &TestServer, app: &ClientApp, events: &[&str]) -> (String, String) {
    let body = json!({ "url": "https://hooks.example.com/tollgate", "events": events });
    let r = s.post(&admin(app, "/webhooks"), &app.seller.token, body).await;
    r.assert_status(201);
    let id = r.data()["id"].as_str().unwrap().to_owned();
    let secret = r.data()["secret"].as_str().unwrap_or_default().to_owned();
    (id, secret)
}

/// Every payload queued for the webhook, oldest first, parsed; each is exactly
/// `{event, timestamp, data}` and its delivery names the same event.
async fn queued(s: &TestServer, app: &ClientApp, hook_id: &str) -> Vec<Value> {
    let page = s.state.store.list_deliveries(&app.id, hook_id, PageRequest { page: 1, limit: 100 }).await.unwrap();
    assert!(page.items.len() < 100, "more deliveries than one page holds");
    let mut out: Vec<(Timestamp, String, Value)> = Vec::new();
    for record in page.items {
        let d = record.delivery;
        let v: Value = serde_json::from_str(&d.payload).unwrap_or_else(|_| panic!("not JSON: {}", d.payload));
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["data", "event", "timestamp"], "{v}");
        assert_eq!(v["event"], d.event.as_str(), "{v}");
        assert!(v["data"].is_object(), "{v}");
        assert_eq!(v["data"]["appId"], app.id.as_str(), "{v}");
        out.push((d.created_at, d.id, v));
    }
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out.into_iter().map(|(_, _, v)| v).collect()
}

/// The payloads of one kind.
fn of(all: &[Value], kind: &str) -> Vec<Value> {
    all.iter().filter(|v| v["event"] == kind).cloned().collect()
}

/// The only payload of `kind`'s data.
#[track_caller]
fn one(all: &[Value], kind: &str) -> Value {
    let found = of(all, kind);
    assert_eq!(found.len(), 1, "{kind} once: {all:#?}");
    found[0]["data"].clone()
}

/// How many payloads of each kind, in `ALL`'s order.
fn counts(all: &[Value]) -> Vec<(&'static str, usize)> {
    ALL.iter().map(|k| (*k, of(all, k).len())).collect()
}

#[track_caller]
fn assert_keys(data: &Value, want: &[&str]) {
    let mut got: Vec<&str> = data.as_object().unwrap().keys().map(String::as_str).collect();
    got.sort_unstable();
    let mut want = want.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{data}");
}

/// None of these texts (tokens, passwords, secrets) appears in any payload.
#[track_caller]
fn assert_clean(all: &[Value], secrets: &[&str]) {
    for v in all {
        let text = v.to_string();
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
        assert!(!text.contains("argon2"), "a password hash in {text}");
    }
}

/// An RFC 3339 timestamp within a minute of `days` from now.
#[track_caller]
fn in_days(v: &Value, days: i64) {
    let t = tollgate_core::time::parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"))).unwrap();
    assert!((now() + Duration::days(days) - t).num_seconds().abs() < 60, "{t}");
}

/// `POST /v1` as Authon's SDK sends it; the answer's signature is checked.
async fn authon(s: &TestServer, app: &ClientApp, kind: &str, fields: Value) -> Resp {
    let mut body = json!({ "type": kind, "appId": app.id, "apiKey": app.secret });
    if let (Value::Object(b), Value::Object(extra)) = (&mut body, fields) {
        b.extend(extra);
    }
    let res = s
        .http
        .post(s.url("/v1"))
        .header("content-type", "application/json")
        .headers(HeaderMap::new())
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    let r = TestServer::into_resp(res).await;
    assert_signed(s, &r, "", "");
    r
}

/// Upload a file through the admin API; returns its id.
async fn upload(s: &TestServer, app: &ClientApp, name: &str, data: &[u8]) -> String {
    use reqwest::multipart::{Form, Part};
    let form = Form::new()
        .part("file", Part::bytes(data.to_vec()).file_name("upload.bin"))
        .text("name", name.to_owned())
        .text("minLevel", "1");
    let res =
        s.http.post(s.url(&admin(app, "/files"))).bearer_auth(&app.seller.token).multipart(form).send().await.unwrap();
    let r = TestServer::into_resp(res).await;
    r.assert_status(201);
    r.data()["id"].as_str().unwrap().to_owned()
}

/// `GET /v1/files/download/{id}` with the session token, optionally a range; the status.
async fn download(s: &TestServer, file_id: &str, token: &str, range: Option<&str>) -> u16 {
    let mut rb = s.http.get(s.url(&format!("/v1/files/download/{file_id}"))).header("x-session-token", token);
    if let Some(r) = range {
        rb = rb.header("range", r);
    }
    let res = rb.send().await.unwrap();
    let status = res.status().as_u16();
    let _ = res.bytes().await.unwrap();
    status
}

/// A key-only key stored as used by key login two hours ago, expired an hour ago, its stored
/// status still `USED` (nothing flips statuses on a clock).
async fn expired_key(s: &TestServer, app: &ClientApp) -> License {
    let at = now();
    let license = License {
        id: ids::new_id(ids::prefix::LICENSE),
        app_id: app.id.clone(),
        key: format!("EXP-{}", ids::random_hex(6).to_uppercase()),
        status: LicenseStatus::Used,
        level: 1,
        duration: DurationType::Hours(1),
        max_devices: 1,
        note: None,
        prefix: None,
        created_by: Creator::Seller(app.seller.id.clone()),
        created_at: at - Duration::hours(3),
        activated_at: Some(at - Duration::hours(2)),
        expires_at: Some(at - Duration::hours(1)),
        user_id: None,
        devices: vec![],
        ban_reason: None,
    };
    s.state.store.insert_licenses(std::slice::from_ref(&license)).await.unwrap();
    license
}

/// A live session signed in with the key alone, stored directly; returns its token.
async fn key_session(s: &TestServer, app: &ClientApp, license: &License) -> String {
    let at = now();
    let session = Session {
        id: ids::new_id(ids::prefix::SESSION),
        app_id: app.id.clone(),
        token: ids::new_token(),
        user_id: None,
        license_id: Some(license.id.clone()),
        ip: Some("127.0.0.1".into()),
        hwid: None,
        client_id: None,
        created_at: at,
        expires_at: at + Duration::hours(1),
        last_seen: at,
    };
    s.state.store.create_session(&session, &[]).await.unwrap();
    session.token
}

async fn license_status(s: &TestServer, app: &ClientApp, id: &str) -> String {
    let r = s.get(&admin(app, &format!("/licenses/{id}")), &app.seller.token).await;
    r.assert_status(200);
    r.data()["status"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn authly_calls_and_admin_changes_each_queue_their_event_once() {
    let s = server().await;
    let app = client_app(&s).await;
    let (wh, wh_secret) = hook(&s, &app, &ALL).await;
    let k = keys(&s, &app, 3, json!({ "level": 2 })).await;

    // init: session.create with the session's id, never its token
    let sid = init(&s, &app).await;
    let all = queued(&s, &app, &wh).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    let d = one(&all, "session.create");
    assert_keys(&d, &["sessionId", "ip", "hwid", "expiresAt", "appId"]);
    assert!(d["sessionId"].as_str().unwrap().starts_with("ses"), "{d}");
    assert_eq!(d["ip"], "127.0.0.1");
    in_days(&all[0]["timestamp"], 0);
    in_days(&d["expiresAt"], 1);

    // register with a key: user.register and license.activate, from the caller's address and device
    let r = call(
        &s,
        "register",
        json!({ "session_id": sid, "username": "alice", "password": PW, "key": k[0], "email": "a@example.com", "hwid": "HWID-A" }),
    )
    .await;
    r.assert_status(200);
    let alice = user_id(&s, &app, "alice").await;
    let k0 = license_id(&s, &app, &k[0]).await;
    let all = queued(&s, &app, &wh).await;
    assert_eq!(all.len(), 3, "{all:#?}");
    let d = one(&all, "user.register");
    assert_keys(&d, &["userId", "username", "email", "level", "expiresAt", "licenseId", "ip", "hwid", "appId"]);
    assert_eq!(
        (&d["userId"], &d["username"], &d["email"], &d["level"], &d["licenseId"], &d["ip"], &d["hwid"]),
        (
            &json!(alice),
            &json!("alice"),
            &json!("a@example.com"),
            &json!(2),
            &json!(k0),
            &json!("127.0.0.1"),
            &json!("HWID-A")
        )
    );
    in_days(&d["expiresAt"], 30);
    let d = one(&all, "license.activate");
    assert_keys(&d, &["licenseId", "key", "level", "status", "expiresAt", "userId", "username", "ip", "hwid", "appId"]);
    assert_eq!((&d["licenseId"], &d["key"], &d["status"]), (&json!(k0), &json!(k[0]), &json!("USED")));
    assert_eq!((&d["userId"], &d["username"], &d["hwid"]), (&json!(alice), &json!("alice"), &json!("HWID-A")));

    // a register with the used key and a login with a wrong password queue nothing
    let sid2 = init(&s, &app).await;
    let before = queued(&s, &app, &wh).await.len();
    let r = call(&s, "register", json!({ "session_id": sid2, "username": "bob", "password": PW, "key": k[0] })).await;
    r.assert_error(403, "LICENSE_IN_USE");
    let r = call(
        &s,
        "login",
        json!({ "session_id": sid2, "username": "alice", "password": "wrong-pass-1", "sid": "HWID-A" }),
    )
    .await;
    r.assert_error(401, "INVALID_PASSWORD");
    assert_eq!(queued(&s, &app, &wh).await.len(), before, "failed calls queue nothing");

    // login: user.login is exactly {userId, username, ip, hwid, appId}
    let r =
        call(&s, "login", json!({ "session_id": sid2, "username": "alice", "password": PW, "sid": "HWID-A" })).await;
    r.assert_status(200);
    let all = queued(&s, &app, &wh).await;
    let d = one(&all, "user.login");
    assert_eq!(
        d,
        json!({ "userId": alice, "username": "alice", "ip": "127.0.0.1", "hwid": "HWID-A", "appId": app.id })
    );

    // key login's first use: license.activate without an account; the resume queues nothing
    let sid3 = init(&s, &app).await;
    let r = call(&s, "licenses", json!({ "session_id": sid3, "license_key": k[1], "sid": "HWID-K" })).await;
    r.assert_status(200);
    let before = queued(&s, &app, &wh).await.len();
    let sid4 = init(&s, &app).await;
    call(&s, "licenses", json!({ "session_id": sid4, "license_key": k[1], "sid": "HWID-K" })).await.assert_status(200);
    let all = queued(&s, &app, &wh).await;
    assert_eq!(all.len(), before + 1, "only the init's session.create: {all:#?}");
    let k1 = license_id(&s, &app, &k[1]).await;
    let activations = of(&all, "license.activate");
    assert_eq!(activations.len(), 2, "{all:#?}");
    let d = &activations[1]["data"];
    assert_eq!((&d["licenseId"], &d["userId"], &d["username"]), (&json!(k1), &Value::Null, &Value::Null), "{d}");
    assert_eq!((&d["ip"], &d["hwid"]), (&json!("127.0.0.1"), &json!("HWID-K")));
    in_days(&d["expiresAt"], 30);

    // extend: the key redeemed onto alice's account
    let r =
        call(&s, "extend", json!({ "session_id": sid2, "username": "alice", "license_key": k[2], "sid": "HWID-A" }))
            .await;
    r.assert_status(200);
    let all = queued(&s, &app, &wh).await;
    let activations = of(&all, "license.activate");
    assert_eq!(activations.len(), 3, "{all:#?}");
    let d = &activations[2]["data"];
    assert_eq!((&d["key"], &d["userId"], &d["username"]), (&json!(k[2]), &json!(alice), &json!("alice")), "{d}");

    // a download from the first byte is one file.download; a later part of it is not another
    let file = upload(&s, &app, "tool.bin", &[7u8; 300]).await;
    assert_eq!(download(&s, &file, &sid2, None).await, 200);
    assert_eq!(download(&s, &file, &sid2, Some("bytes=100-199")).await, 206);
    let all = queued(&s, &app, &wh).await;
    let d = one(&all, "file.download");
    assert_keys(&d, &["fileId", "name", "size", "userId", "username", "licenseId", "ip", "appId"]);
    assert_eq!(
        (&d["fileId"], &d["name"], &d["size"], &d["userId"], &d["username"], &d["licenseId"], &d["ip"]),
        (
            &json!(file),
            &json!("tool.bin"),
            &json!(300),
            &json!(alice),
            &json!("alice"),
            &Value::Null,
            &json!("127.0.0.1")
        )
    );
    // the key-only session's download names its key
    assert_eq!(download(&s, &file, &sid4, Some("bytes=0-9")).await, 206);
    let all = queued(&s, &app, &wh).await;
    let downloads = of(&all, "file.download");
    assert_eq!(downloads.len(), 2, "{all:#?}");
    assert_eq!((&downloads[1]["data"]["licenseId"], &downloads[1]["data"]["userId"]), (&json!(k1), &Value::Null));

    // admin: ban (once; rewriting the reason is no new ban), unban is no event
    let ban = admin(&app, &format!("/users/{alice}/ban"));
    s.post(&ban, &app.seller.token, json!({ "reason": "chargeback" })).await.assert_status(200);
    s.post(&ban, &app.seller.token, json!({ "reason": "chargeback, twice" })).await.assert_status(200);
    let all = queued(&s, &app, &wh).await;
    let d = one(&all, "user.ban");
    assert_eq!(d, json!({ "userId": alice, "username": "alice", "reason": "chargeback", "appId": app.id }));
    s.post(&admin(&app, &format!("/users/{alice}/unban")), &app.seller.token, json!({})).await.assert_status(200);
    assert_eq!(queued(&s, &app, &wh).await.len(), all.len());

    // admin delete: license.delete with the key as it was; a second delete finds nothing, sends nothing
    s.delete(&admin(&app, &format!("/licenses/{k1}")), &app.seller.token).await.assert_status(200);
    s.delete(&admin(&app, &format!("/licenses/{k1}")), &app.seller.token).await.assert_status(404);
    let all = queued(&s, &app, &wh).await;
    let d = one(&all, "license.delete");
    assert_eq!(
        d,
        json!({
            "licenseId": k1, "key": k[1], "level": 2, "status": "USED",
            "expiresAt": activations[1]["data"]["expiresAt"], "userId": null, "appId": app.id,
        })
    );

    // every kind this dialect and the admin API send, each as often as it happened; no token,
    // password or secret anywhere
    assert_eq!(
        counts(&all),
        [
            ("user.register", 1),
            ("user.login", 1),
            ("user.ban", 1),
            ("license.activate", 3),
            ("license.expire", 0),
            ("license.delete", 1),
            ("file.download", 2),
            ("session.create", 4),
        ]
    );
    assert_clean(&all, &[&sid, &sid2, &sid3, &sid4, PW, &wh_secret, &app.secret, &app.seller.token]);
}

#[tokio::test]
async fn authon_sign_ins_queue_their_session_with_their_event_and_failures_queue_nothing() {
    let s = server().await;
    let app = client_app(&s).await;
    let (wh, wh_secret) = hook(&s, &app, &ALL).await;
    let k = keys(&s, &app, 2, json!({})).await;

    // init opens no session: nothing
    authon(&s, &app, "init", json!({ "hwid": "HW-1" })).await.assert_status(200);
    assert!(queued(&s, &app, &wh).await.is_empty());

    // register: session.create, user.register, license.activate
    let r = authon(
        &s,
        &app,
        "register",
        json!({ "username": "carol", "password": PW, "licenseKey": k[0], "hwid": "HW-1" }),
    )
    .await;
    r.assert_status(200);
    let t1 = r.data()["sessionToken"].as_str().unwrap().to_owned();
    let carol = user_id(&s, &app, "carol").await;
    let all = queued(&s, &app, &wh).await;
    assert_eq!(all.len(), 3, "{all:#?}");
    let d = one(&all, "user.register");
    assert_eq!(
        (&d["userId"], &d["username"], &d["ip"], &d["hwid"]),
        (&json!(carol), &json!("carol"), &json!("127.0.0.1"), &json!("HW-1"))
    );
    assert_eq!(one(&all, "license.activate")["userId"], carol.as_str());
    let d = one(&all, "session.create");
    assert_eq!((&d["ip"], &d["hwid"]), (&json!("127.0.0.1"), &json!("HW-1")), "{d}");

    // failures: a wrong password, a used key, an unknown key: no session.create either
    let r = authon(&s, &app, "login", json!({ "username": "carol", "password": "wrong-pass-1", "hwid": "HW-1" })).await;
    assert_eq!(r.body["success"], false, "{}", r.body);
    let r =
        authon(&s, &app, "register", json!({ "username": "dave", "password": PW, "licenseKey": k[0], "hwid": "HW-2" }))
            .await;
    assert_eq!(r.body["success"], false, "{}", r.body);
    let r = authon(&s, &app, "license", json!({ "licenseKey": "NOPE-0000", "hwid": "HW-2" })).await;
    assert_eq!(r.body["success"], false, "{}", r.body);
    assert_eq!(queued(&s, &app, &wh).await.len(), 3, "failed sign-ins queue nothing");

    // login: user.login and its session
    let r = authon(&s, &app, "login", json!({ "username": "carol", "password": PW, "hwid": "HW-1" })).await;
    r.assert_status(200);
    let t2 = r.data()["sessionToken"].as_str().unwrap().to_owned();
    let all = queued(&s, &app, &wh).await;
    assert_eq!(all.len(), 5, "{all:#?}");
    assert_eq!(
        one(&all, "user.login"),
        json!({ "userId": carol, "username": "carol", "ip": "127.0.0.1", "hwid": "HW-1", "appId": app.id })
    );

    // key alone: license.activate and its session; signing in again with it: the session only
    let r = authon(&s, &app, "license", json!({ "licenseKey": k[1], "hwid": "HW-3" })).await;
    r.assert_status(200);
    let t3 = r.data()["sessionToken"].as_str().unwrap().to_owned();
    let r = authon(&s, &app, "license", json!({ "licenseKey": k[1], "hwid": "HW-3" })).await;
    r.assert_status(200);
    let t4 = r.data()["sessionToken"].as_str().unwrap().to_owned();
    let all = queued(&s, &app, &wh).await;
    let d = &of(&all, "license.activate")[1]["data"];
    assert_eq!((&d["key"], &d["userId"], &d["hwid"]), (&json!(k[1]), &Value::Null, &json!("HW-3")), "{d}");
    assert_eq!(
        counts(&all),
        [
            ("user.register", 1),
            ("user.login", 1),
            ("user.ban", 0),
            ("license.activate", 2),
            ("license.expire", 0),
            ("license.delete", 0),
            ("file.download", 0),
            ("session.create", 4),
        ]
    );
    // each session announced once, by its id
    let mut ids: Vec<String> =
        of(&all, "session.create").iter().map(|v| v["data"]["sessionId"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    assert_clean(&all, &[&t1, &t2, &t3, &t4, PW, &wh_secret, &app.secret]);
}

#[tokio::test]
async fn a_rolled_back_register_sends_nothing_under_concurrency() {
    let s = server().await;
    let app = client_app(&s).await;
    let (wh, _) = hook(&s, &app, &ALL).await;
    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let mut sids = Vec::new();
    for _ in 0..20 {
        sids.push(init(&s, &app).await);
    }
    let s = &s;
    let key = &key;
    let answers = futures::future::join_all(sids.iter().enumerate().map(|(i, sid)| async move {
        call(s, "register", json!({ "session_id": sid, "username": format!("racer-{i}"), "password": PW, "key": key }))
            .await
    }))
    .await;
    let ok = answers.iter().filter(|r| r.status.as_u16() == 200).count();
    assert_eq!(ok, 1, "{:?}", answers.iter().map(|r| r.body.to_string()).collect::<Vec<_>>());
    for r in answers.iter().filter(|r| r.status.as_u16() != 200) {
        assert!(["LICENSE_IN_USE", "SERVER_BUSY"].contains(&r.code()), "{}", r.body);
    }
    let winner = answers.iter().find(|r| r.status.as_u16() == 200).unwrap().body["user"]["username"].clone();
    let all = queued(s, &app, &wh).await;
    assert_eq!(one(&all, "user.register")["username"], winner);
    assert_eq!(one(&all, "license.activate")["username"], winner);
    assert_eq!(all.len(), 22, "20 inits and one register: {all:#?}");
}

#[tokio::test]
async fn an_expired_key_is_recorded_once_at_its_use_whatever_the_path() {
    let s = Arc::new(server().await);
    let app = client_app(&s).await;
    let (wh, _) = hook(&s, &app, &["license.expire"]).await;

    // key login 10 times at once: each answers LICENSE_EXPIRED, one license.expire
    let key = expired_key(&s, &app).await;
    let mut sids = Vec::new();
    for _ in 0..10 {
        sids.push(init(&s, &app).await);
    }
    let answers = futures::future::join_all(sids.iter().map(|sid| {
        let s = s.clone();
        let body = json!({ "session_id": sid, "license_key": key.key, "sid": "HW-E" });
        async move { call(&s, "licenses", body).await }
    }))
    .await;
    for r in &answers {
        r.assert_error(403, "LICENSE_EXPIRED");
    }
    let all = queued(&s, &app, &wh).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(
        all[0]["data"],
        json!({
            "licenseId": key.id, "key": key.key, "level": 1, "status": "EXPIRED",
            "expiresAt": tollgate_core::time::rfc3339(&key.expires_at.unwrap()), "appId": app.id,
        })
    );
    // stored EXPIRED now: the admin filter finds it, a later use answers the same, sends nothing
    assert_eq!(license_status(&s, &app, &key.id).await, "EXPIRED");
    let r = s.get(&admin(&app, "/licenses?status=EXPIRED"), &app.seller.token).await;
    assert_eq!(r.body["pagination"]["total"], 1, "{}", r.body);
    assert_eq!(r.data()[0]["id"], key.id.as_str());
    let sid = init(&s, &app).await;
    call(&s, "licenses", json!({ "session_id": sid, "license_key": key.key, "sid": "HW-E" }))
        .await
        .assert_error(403, "LICENSE_EXPIRED");
    assert_eq!(queued(&s, &app, &wh).await.len(), 1);

    // extending it makes it USED and usable again
    let r =
        s.post(&admin(&app, &format!("/licenses/{}/extend", key.id)), &app.seller.token, json!({ "days": 1 })).await;
    r.assert_status(200);
    assert_eq!(license_status(&s, &app, &key.id).await, "USED");
    call(&s, "licenses", json!({ "session_id": sid, "license_key": key.key, "sid": "HW-E" })).await.assert_status(200);
    assert_eq!(queued(&s, &app, &wh).await.len(), 1);

    // a key-only session's download and Authon's session check notice it too, once
    let file = upload(&s, &app, "f.bin", &[1u8; 10]).await;
    let by_download = expired_key(&s, &app).await;
    let token = key_session(&s, &app, &by_download).await;
    assert_eq!(download(&s, &file, &token, None).await, 403);
    assert_eq!(download(&s, &file, &token, None).await, 403);
    let by_check = expired_key(&s, &app).await;
    let token = key_session(&s, &app, &by_check).await;
    for _ in 0..2 {
        let r = authon(&s, &app, "check", json!({ "sessionToken": token })).await;
        assert_eq!(r.body["code"], "LICENSE_EXPIRED", "{}", r.body);
    }
    let all = queued(&s, &app, &wh).await;
    let ids: Vec<&str> = all.iter().map(|v| v["data"]["licenseId"].as_str().unwrap()).collect();
    assert_eq!(ids, [key.id.as_str(), by_download.id.as_str(), by_check.id.as_str()]);
    assert_eq!(license_status(&s, &app, &by_check.id).await, "EXPIRED");

    // the race made certain: uses that all read the key while it was still USED record it once
    let raced = expired_key(&s, &app).await;
    futures::future::join_all((0..10).map(|_| tollgate_server::client::record_expiry(&s.state, &raced, now()))).await;
    tollgate_server::client::record_expiry(&s.state, &raced, now()).await;
    let all = queued(&s, &app, &wh).await;
    assert_eq!(all.len(), 4, "{all:#?}");
    assert_eq!(all[3]["data"]["licenseId"], raced.id.as_str());
}

#[tokio::test]
async fn only_subscribed_kinds_reach_a_webhook_and_a_disabled_one_gets_nothing() {
    let s = server().await;
    let app = client_app(&s).await;
    let (logins, _) = hook(&s, &app, &["user.login"]).await;
    let (off, _) = hook(&s, &app, &ALL).await;
    let r = s.patch(&admin(&app, &format!("/webhooks/{off}")), &app.seller.token, json!({ "enabled": false })).await;
    r.assert_status(200);
    // another app's webhook hears nothing of this app
    let other = client_app(&s).await;
    let (elsewhere, _) = hook(&s, &other, &ALL).await;

    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let sid = init(&s, &app).await;
    let body = json!({ "session_id": sid, "username": "erin", "password": PW, "key": key, "hwid": "HW-1" });
    call(&s, "register", body).await.assert_status(200);
    call(&s, "login", json!({ "session_id": sid, "username": "erin", "password": PW, "sid": "HW-1" }))
        .await
        .assert_status(200);
    let erin = user_id(&s, &app, "erin").await;
    s.post(&admin(&app, &format!("/users/{erin}/ban")), &app.seller.token, json!({})).await.assert_status(200);

    let all = queued(&s, &app, &logins).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["event"], "user.login");
    assert!(queued(&s, &app, &off).await.is_empty());
    assert!(queued(&s, &other, &elsewhere).await.is_empty());

    // with a session quota, init still announces its session
    let r = s.patch(&admin(&app, ""), &app.seller.token, json!({ "sessionQuota": 50 })).await;
    r.assert_status(200);
    let (sessions, _) = hook(&s, &app, &["session.create"]).await;
    init(&s, &app).await;
    assert_eq!(queued(&s, &app, &sessions).await.len(), 1);
}
