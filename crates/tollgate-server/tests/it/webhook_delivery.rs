//! Webhook delivery over the wire: a real receiver on 127.0.0.1 gets the events the store queues,
//! signed as Standard Webhooks says (checked with the `standardwebhooks` crate), retried with
//! the same `webhook-id`, never across a redirect, never to a private address unless allowed;
//! the delivery log, redelivery, the test ping, the Discord format, disabling a failing
//! endpoint, sealed secrets, several nodes and the in-flight cap.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tollgate_core::events::{Event, EventKind};
use tollgate_core::time::now;
use tollgate_server::config::RawConfig;

use crate::harness::{Resp, SellerLogin, TestServer};
use crate::receiver::{Received, Receiver};

/// A server that may deliver to 127.0.0.1 and retries after 1 s, then 1 s.
async fn server() -> TestServer {
    server_with(|_| {}).await
}

async fn server_with(f: impl FnOnce(&mut RawConfig)) -> TestServer {
    TestServer::start_with(|c| {
        c.webhook_allow_private = Some("true".into());
        c.webhook_retry_schedule = Some("1s,1s".into());
        f(c);
    })
    .await
}

async fn setup_with(f: impl FnOnce(&mut RawConfig)) -> (TestServer, SellerLogin, String) {
    let s = server_with(f).await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Hooked").await["id"].as_str().unwrap().to_owned();
    (s, seller, app)
}

async fn setup() -> (TestServer, SellerLogin, String) {
    setup_with(|_| {}).await
}

fn at(app_id: &str, rest: &str) -> String {
    format!("/v1/admin/apps/{app_id}{rest}")
}

/// Create a webhook; returns `(id, secret)`.
async fn hook(s: &TestServer, seller: &SellerLogin, app: &str, body: Value) -> (String, String) {
    let r = s.post(&at(app, "/webhooks"), &seller.token, body).await;
    r.assert_status(201);
    (r.data()["id"].as_str().unwrap().to_owned(), r.data()["secret"].as_str().unwrap().to_owned())
}

fn login(app: &str, username: &str) -> Event {
    Event::new(
        app,
        EventKind::UserLogin,
        now(),
        json!({"userId": format!("usr_{username}"), "username": username, "ip": "203.0.113.7", "hwid": null, "appId": app}),
    )
}

fn event_of(app: &str, kind: EventKind, n: usize) -> Event {
    Event::new(app, kind, now(), json!({"n": n, "appId": app}))
}

async fn emit(s: &TestServer, events: &[Event]) -> u64 {
    s.state.store.emit(events).await.unwrap()
}

#[track_caller]
fn verify(secret: &str, r: &Received) {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    wh.verify(&r.body, &r.headers).unwrap_or_else(|e| panic!("signature does not verify: {e}: {r:?}"));
}

#[track_caller]
fn assert_names(r: &Resp, status: u16, code: &str, field: &str) {
    r.assert_error(status, code);
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.contains(field), "message {msg:?} should name {field:?}");
}

/// Poll `path` until `pred` holds on its `data` (20 s at most).
async fn wait_data(s: &TestServer, token: &str, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = s.get(path, token).await;
        r.assert_status(200);
        if pred(r.data()) {
            return r.data().clone();
        }
        assert!(Instant::now() < deadline, "{path} never got there: {}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn the_webhook(s: &TestServer, token: &str, app: &str, id: &str) -> Value {
    let all = s.get(&at(app, "/webhooks"), token).await;
    all.assert_status(200);
    all.data().as_array().unwrap().iter().find(|w| w["id"] == id).unwrap().clone()
}

#[tokio::test]
async fn events_arrive_once_each_signed_as_standard_webhooks() {
    let (s, seller, app) = setup().await;
    let rx = Receiver::start().await;
    let (_, secret) = hook(&s, &seller, &app, json!({"url": rx.url, "events": ["user.login", "user.register"]})).await;
    let other = s.create_app(&seller, "Other").await["id"].as_str().unwrap().to_owned();

    let events = [login(&app, "alice"), login(&app, "bob"), event_of(&app, EventKind::UserRegister, 1)];
    assert_eq!(emit(&s, &events).await, 3);
    // not subscribed, or another app's: nothing queued
    assert_eq!(emit(&s, &[event_of(&app, EventKind::UserBan, 2), login(&other, "carol")]).await, 0);

    let got = rx.wait_for(3, Duration::from_secs(20), |_| true).await;
    let mut ids = HashSet::new();
    for r in &got {
        verify(&secret, r);
        assert_eq!(r.header("content-type"), "application/json");
        assert!(r.header("user-agent").starts_with("Tollgate-Webhooks/"), "{}", r.header("user-agent"));
        assert!(r.header("webhook-id").starts_with("whmsg_"), "{}", r.header("webhook-id"));
        assert!(r.header("webhook-signature").starts_with("v1,"));
        ids.insert(r.header("webhook-id").to_owned());
    }
    assert_eq!(ids.len(), 3, "one delivery per event");
    let bodies: HashSet<String> = got.iter().map(|r| String::from_utf8(r.body.to_vec()).unwrap()).collect();
    let sent: HashSet<String> = events.iter().map(Event::body).collect();
    assert_eq!(bodies, sent, "the body is the event's standard body, byte for byte");
    let alice = got.iter().find(|r| r.json()["data"]["username"] == "alice").unwrap().json();
    assert_eq!(alice["event"], "user.login");
    assert_eq!(alice["data"]["ip"], "203.0.113.7");
    assert!(alice["timestamp"].is_string());

    // a tampered body does not verify under the same headers
    let mut forged = got[0].clone();
    forged.body = axum::body::Bytes::from(forged.body.iter().rev().copied().collect::<Vec<u8>>());
    assert!(standardwebhooks::Webhook::new(&secret).unwrap().verify(&forged.body, &forged.headers).is_err());

    // nothing more comes: each was delivered once
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(rx.received().len(), 3);
    s.stop().await;
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_same_id_three_times_and_the_log_shows_it() {
    let (s, seller, app) = setup().await;
    let rx = Receiver::start().await;
    rx.answer(&[500, 500], 200);
    let (wh, secret) = hook(&s, &seller, &app, json!({"url": rx.url, "events": ["user.login"]})).await;
    emit(&s, &[login(&app, "alice")]).await;

    let got = rx.wait_for(3, Duration::from_secs(20), |_| true).await;
    let id = got[0].header("webhook-id").to_owned();
    assert!(
        got.iter().all(|r| r.header("webhook-id") == id),
        "{:?}",
        got.iter().map(|r| r.header("webhook-id")).collect::<Vec<_>>()
    );
    assert!(got.iter().all(|r| r.body == got[0].body));
    for r in &got {
        verify(&secret, r);
    }

    let path = at(&app, &format!("/webhooks/{wh}/deliveries"));
    let list = wait_data(&s, &seller.token, &path, |d| d[0]["status"] == "DELIVERED").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let d = &list[0];
    assert_eq!(d["id"], id.as_str());
    assert_eq!(d["event"], "user.login");
    assert_eq!(d["attemptCount"], 3);
    assert_eq!(d["payload"]["data"]["username"], "alice");
    assert!(d["createdAt"].is_string() && d["lastAttemptAt"].is_string());
    assert!(d["nextAttemptAt"].is_null());
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.iter().map(|a| a["statusCode"].as_u64().unwrap()).collect::<Vec<_>>(), vec![500, 500, 200]);
    assert_eq!(attempts.iter().map(|a| a["attempt"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3]);
    for a in attempts {
        assert!(a["latencyMs"].is_u64() && a["at"].is_string(), "{a}");
        assert!(a["error"].is_null(), "{a}");
    }
    assert_eq!(attempts[0]["response"], "answer 500");
    assert_eq!(attempts[2]["response"], "answer 200");

    let one = s.get(&at(&app, &format!("/webhooks/{wh}/deliveries/{id}")), &seller.token).await;
    one.assert_status(200);
    assert_eq!(one.data()["attempts"], d["attempts"]);
    let r = s.get(&format!("{path}?page=1&limit=1"), &seller.token).await;
    r.assert_status(200);
    assert_eq!(r.body["pagination"], json!({"page": 1, "limit": 1, "total": 1}));

    // the webhook answers again: healthy
    let w = the_webhook(&s, &seller.token, &app, &wh).await;
    assert!(w["failingSince"].is_null() && w["enabled"] == true, "{w}");
    s.stop().await;
}

#[tokio::test]
async fn a_timeout_and_a_redirect_are_failures() {
    let (s, seller, app) = setup_with(|c| c.webhook_timeout = Some("1".into())).await;
    let slow = Receiver::start().await;
    slow.delay(Duration::from_millis(2500));
    let (wh, _) = hook(&s, &seller, &app, json!({"url": slow.url, "events": ["user.login"]})).await;
    emit(&s, &[login(&app, "alice")]).await;
    let path = at(&app, &format!("/webhooks/{wh}/deliveries"));
    let list = wait_data(&s, &seller.token, &path, |d| d[0]["attemptCount"].as_u64() >= Some(1)).await;
    let first = &list[0]["attempts"][0];
    assert!(first["statusCode"].is_null(), "{first}");
    assert!(first["error"].as_str().unwrap().contains("timed out"), "{first}");
    assert_eq!(list[0]["status"], "PENDING", "retried later: {}", list[0]);
    let w = the_webhook(&s, &seller.token, &app, &wh).await;
    assert!(w["failingSince"].is_string(), "{w}");

    // a redirect is answered, not followed
    let target = Receiver::start().await;
    let bouncer = Receiver::start().await;
    bouncer.redirect(&target.url);
    let (wh, _) = hook(&s, &seller, &app, json!({"url": bouncer.url, "events": ["user.ban"]})).await;
    let r = s.post(&at(&app, &format!("/webhooks/{wh}/test")), &seller.token, json!({})).await;
    r.assert_status(200);
    assert_eq!(r.data()["statusCode"], 307);
    assert_eq!(r.data()["ok"], false);
    emit(&s, &[event_of(&app, EventKind::UserBan, 1)]).await;
    let path = at(&app, &format!("/webhooks/{wh}/deliveries"));
    let list = wait_data(&s, &seller.token, &path, |d| {
        d.as_array().unwrap().iter().any(|x| x["event"] == "user.ban" && x["attemptCount"].as_u64() >= Some(1))
    })
    .await;
    let ban = list.as_array().unwrap().iter().find(|x| x["event"] == "user.ban").unwrap();
    assert_eq!(ban["attempts"][0]["statusCode"], 307);
    assert!(ban["attempts"][0]["error"].as_str().unwrap().contains("redirect"), "{ban}");
    assert_ne!(ban["status"], "DELIVERED");
    assert!(bouncer.received().len() >= 2);
    assert!(target.received().is_empty(), "the redirect was followed: {:?}", target.received());
    s.stop().await;
}

#[tokio::test]
async fn the_test_ping_answers_the_receivers_status() {
    let (s, seller, app) = setup().await;
    let rx = Receiver::start().await;
    let (wh, secret) = hook(&s, &seller, &app, json!({"url": rx.url, "events": ["user.login"]})).await;
    let ping = at(&app, &format!("/webhooks/{wh}/test"));

    let r = s.post(&ping, &seller.token, json!({})).await;
    r.assert_status(200);
    assert_eq!((r.data()["statusCode"].as_u64(), r.data()["ok"].as_bool()), (Some(200), Some(true)), "{}", r.body);
    assert!(r.data().get("error").is_none(), "{}", r.body);
    let got = rx.received();
    assert_eq!(got.len(), 1, "sent at once, before the answer");
    verify(&secret, &got[0]);
    assert_eq!(got[0].event(), "webhook.test");
    assert_eq!(got[0].json()["data"]["webhookId"], wh.as_str());
    assert_eq!(got[0].header("webhook-id"), r.data()["deliveryId"].as_str().unwrap());

    rx.answer(&[], 500);
    let r = s.post(&ping, &seller.token, json!({})).await;
    r.assert_status(200);
    assert_eq!((r.data()["statusCode"].as_u64(), r.data()["ok"].as_bool()), (Some(500), Some(false)), "{}", r.body);

    // a disabled webhook can be pinged; the pings are in its log, and do not change its health
    s.patch(&at(&app, &format!("/webhooks/{wh}")), &seller.token, json!({"enabled": false})).await.assert_status(200);
    rx.answer(&[], 204);
    let r = s.post(&ping, &seller.token, json!({})).await;
    assert_eq!((r.data()["statusCode"].as_u64(), r.data()["ok"].as_bool()), (Some(204), Some(true)), "{}", r.body);
    let log = s.get(&at(&app, &format!("/webhooks/{wh}/deliveries")), &seller.token).await;
    log.assert_status(200);
    let items = log.data().as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|d| d["event"] == "webhook.test" && d["attemptCount"] == 1));
    let states: Vec<&str> = items.iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["DELIVERED", "FAILED", "DELIVERED"], "newest first");
    let w = the_webhook(&s, &seller.token, &app, &wh).await;
    assert!(w["failingSince"].is_null() && w["enabled"] == false, "{w}");

    // no answer at all: statusCode null, with the reason
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/hook");
    let (gone, _) = hook(&s, &seller, &app, json!({"url": url, "events": ["user.login"]})).await;
    let r = s.post(&at(&app, &format!("/webhooks/{gone}/test")), &seller.token, json!({})).await;
    r.assert_status(200);
    assert!(r.data()["statusCode"].is_null() && r.data()["ok"] == false, "{}", r.body);
    assert!(r.data()["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn private_targets_are_refused_without_the_flag() {
    // the default: private targets refused
    let s = TestServer::start_with(|c| c.webhook_retry_schedule = Some("1s".into())).await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Careful").await["id"].as_str().unwrap().to_owned();
    let rx = Receiver::start().await;
    let path = at(&app, "/webhooks");
    for url in [
        rx.url.clone(),
        "http://10.0.0.1/h".into(),
        "http://[::1]:9/h".into(),
        "http://169.254.169.254/latest/meta-data".into(),
        "http://[::ffff:127.0.0.1]/h".into(),
        "http://2130706433/h".into(),
    ] {
        assert_names(
            &s.post(&path, &seller.token, json!({"url": url, "events": ["user.login"]})).await,
            400,
            "VALIDATION_ERROR",
            "url",
        );
    }
    assert!(s.get(&path, &seller.token).await.data().as_array().unwrap().is_empty(), "nothing created");

    // a name is accepted, and refused when it resolves inside
    let by_name = format!("http://localhost:{}/hook", rx.port);
    let (wh, _) = hook(&s, &seller, &app, json!({"url": by_name, "events": ["user.login"]})).await;
    assert_names(
        &s.patch(&at(&app, &format!("/webhooks/{wh}")), &seller.token, json!({"url": "http://192.168.1.10/h"})).await,
        400,
        "VALIDATION_ERROR",
        "url",
    );
    let r = s.post(&at(&app, &format!("/webhooks/{wh}/test")), &seller.token, json!({})).await;
    r.assert_status(200);
    assert_eq!(r.data()["ok"], false, "{}", r.body);
    assert!(r.data()["statusCode"].is_null(), "{}", r.body);
    let error = r.data()["error"].as_str().unwrap();
    assert!(error.contains("refused"), "{error}");

    // the worker refuses it too
    emit(&s, &[login(&app, "alice")]).await;
    let log = at(&app, &format!("/webhooks/{wh}/deliveries"));
    let list = wait_data(&s, &seller.token, &log, |d| {
        d.as_array().unwrap().iter().any(|x| x["event"] == "user.login" && x["attemptCount"].as_u64() >= Some(1))
    })
    .await;
    let login = list.as_array().unwrap().iter().find(|x| x["event"] == "user.login").unwrap();
    assert!(login["attempts"][0]["error"].as_str().unwrap().contains("refused"), "{login}");
    assert!(rx.received().is_empty(), "the receiver got {:?}", rx.received());
    s.stop().await;
}

#[tokio::test]
async fn discord_webhooks_get_a_message_with_masked_keys() {
    let (s, seller, app) = setup().await;
    let rx = Receiver::start().await;
    let path = at(&app, "/webhooks");
    assert_names(
        &s.post(&path, &seller.token, json!({"url": rx.url, "events": ["license.activate"], "format": "slack"})).await,
        400,
        "VALIDATION_ERROR",
        "format",
    );
    assert_names(
        &s.post(&path, &seller.token, json!({"url": rx.url, "events": ["license.activate"], "format": 3})).await,
        400,
        "VALIDATION_ERROR",
        "format",
    );
    let (wh, secret) =
        hook(&s, &seller, &app, json!({"url": rx.url, "events": ["license.activate"], "format": "discord"})).await;
    let w = the_webhook(&s, &seller.token, &app, &wh).await;
    assert_eq!(w["format"], "discord");
    let standard = hook(&s, &seller, &app, json!({"url": rx.url, "events": ["user.ban"]})).await.0;
    assert_eq!(the_webhook(&s, &seller.token, &app, &standard).await["format"], "standard");

    let key = "ABCD-EFGH-IJKL-MNOP";
    let long_name = "n".repeat(3000);
    let event = Event::new(
        &app,
        EventKind::LicenseActivate,
        now(),
        json!({"licenseId": "lic_1", "key": key, "level": 3, "username": long_name, "hwid": null, "appId": app}),
    );
    emit(&s, &[event]).await;
    let got = rx.wait_for(1, Duration::from_secs(20), |_| true).await;
    verify(&secret, &got[0]);
    let body = got[0].json();
    assert!(!String::from_utf8_lossy(&got[0].body).contains("EFGH"), "the key leaked: {body}");
    assert_eq!(body["username"], "Tollgate");
    let content = body["content"].as_str().unwrap();
    assert!(!content.is_empty() && content.chars().count() <= 2000 && !content.contains('\n'), "{content}");
    let embed = &body["embeds"][0];
    assert_eq!(embed["title"], "License activated");
    assert!(embed["title"].as_str().unwrap().chars().count() <= 256);
    assert!(embed["timestamp"].is_string() && embed["color"].is_u64() && embed["description"].is_string());
    let fields = embed["fields"].as_array().unwrap();
    assert!(!fields.is_empty() && fields.len() <= 25);
    for f in fields {
        assert!(f["name"].is_string() && f["inline"].is_boolean(), "{f}");
        assert!(f["value"].as_str().unwrap().chars().count() <= 1024, "{f}");
    }
    let key_field = fields.iter().find(|f| f["name"] == "key").unwrap();
    assert_eq!(key_field["value"], "ABCD…MNOP");

    // back to the standard format
    let r = s.patch(&at(&app, &format!("/webhooks/{wh}")), &seller.token, json!({"format": "standard"})).await;
    r.assert_status(200);
    assert_eq!(r.data()["format"], "standard");
    assert_names(
        &s.patch(&at(&app, &format!("/webhooks/{wh}")), &seller.token, json!({"format": "teams"})).await,
        400,
        "VALIDATION_ERROR",
        "format",
    );
    s.stop().await;
}

#[tokio::test]
async fn an_endpoint_failing_too_long_is_disabled_and_enabling_clears_it() {
    let (s, seller, app) = setup_with(|c| {
        c.webhook_disable_after = Some("2s".into());
        c.webhook_retry_schedule = Some("1s,1s,1s,1s".into());
    })
    .await;
    let rx = Receiver::start().await;
    rx.answer(&[], 503);
    let (wh, _) = hook(&s, &seller, &app, json!({"url": rx.url, "events": ["user.login"]})).await;
    emit(&s, &[login(&app, "alice")]).await;

    let path = at(&app, "/webhooks");
    let list = wait_data(&s, &seller.token, &path, |d| d[0]["enabled"] == false).await;
    let w = &list[0];
    assert_eq!(w["id"], wh.as_str());
    assert!(w["failingSince"].is_string(), "{w}");
    let reason = w["disabledReason"].as_str().unwrap();
    assert!(reason.contains("failed since") && reason.contains("HTTP 503"), "{reason}");
    let tries = rx.received().len();
    assert!(tries >= 3, "{tries}");
    // disabled: nothing more is sent
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(rx.received().len(), tries);

    // enabling clears the reason; the waiting delivery goes out
    rx.answer(&[], 200);
    let r = s.patch(&at(&app, &format!("/webhooks/{wh}")), &seller.token, json!({"enabled": true})).await;
    r.assert_status(200);
    assert_eq!(r.data()["enabled"], true);
    assert!(r.data()["disabledReason"].is_null() && r.data()["failingSince"].is_null(), "{}", r.body);
    let log = at(&app, &format!("/webhooks/{wh}/deliveries"));
    wait_data(&s, &seller.token, &log, |d| d[0]["status"] == "DELIVERED").await;
    let w = the_webhook(&s, &seller.token, &app, &wh).await;
    assert!(w["enabled"] == true && w["failingSince"].is_null(), "{w}");
    s.stop().await;
}

#[tokio::test]
async fn redeliver_sends_the_same_id_again() {
    let (s, seller, app) = setup().await;
    let rx = Receiver::start().await;
    let (wh, secret) = hook(&s, &seller, &app, json!({"url": rx.url, "events": ["user.login"]})).await;
    emit(&s, &[login(&app, "alice")]).await;
    let first = rx.wait_for(1, Duration::from_secs(20), |_| true).await;
    let id = first[0].header("webhook-id").to_owned();
    let log = at(&app, &format!("/webhooks/{wh}/deliveries"));
    wait_data(&s, &seller.token, &log, |d| d[0]["status"] == "DELIVERED").await;

    let r = s.post(&at(&app, &format!("/webhooks/{wh}/deliveries/{id}/redeliver")), &seller.token, json!({})).await;
    r.assert_status(202);
    assert_eq!(r.data()["id"], id.as_str());
    assert_eq!(r.data()["status"], "PENDING");
    let again = rx.wait_for(2, Duration::from_secs(20), |_| true).await;
    assert_eq!(again[1].header("webhook-id"), id);
    assert_eq!(again[1].body, first[0].body);
    verify(&secret, &again[1]);
    let d =
        wait_data(&s, &seller.token, &format!("{log}/{id}"), |d| d["status"] == "DELIVERED" && d["attemptCount"] == 2)
            .await;
    assert_eq!(d["attempts"].as_array().unwrap().len(), 2);
    s.stop().await;
}

#[tokio::test]
async fn secrets_are_stored_sealed_and_plain_legacy_secrets_still_sign() {
    let (s, seller, app) = setup().await;
    let rx = Receiver::start().await;
    let (wh, secret) = hook(&s, &seller, &app, json!({"url": rx.url, "events": ["user.login"]})).await;
    let stored = s.state.store.get_webhook(&app, &wh).await.unwrap().unwrap();
    assert!(stored.secret.starts_with("sealed:v1:"), "{}", stored.secret);
    assert!(!stored.secret.contains(secret.trim_start_matches("whsec_")));
    let listed = s.get(&at(&app, "/webhooks"), &seller.token).await;
    assert!(!listed.body.to_string().contains(&secret) && !listed.body.to_string().contains("sealed:"));

    // a webhook stored before secrets were sealed
    let legacy_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let legacy = tollgate_core::model::Webhook {
        id: tollgate_core::ids::new_id("wh"),
        secret: legacy_secret.to_owned(),
        created_at: now(),
        ..stored
    };
    s.state.store.create_webhook(&legacy).await.unwrap();
    let r = s.post(&at(&app, &format!("/webhooks/{}/test", legacy.id)), &seller.token, json!({})).await;
    assert_eq!(r.data()["ok"], true, "{}", r.body);
    let got = rx.received();
    let last = got.last().unwrap();
    verify(legacy_secret, last);
    s.stop().await;
}

#[tokio::test]
async fn two_nodes_on_one_database_send_each_event_once() {
    let a = server().await;
    let Some(db) = a.pg.as_ref() else {
        // SQLite has one node per database file
        return a.stop().await;
    };
    let (url, key) = (db.url.clone(), a.dir.path().join("master.key").to_string_lossy().into_owned());
    let b = server_with(move |c| {
        c.database_url = Some(url);
        c.master_key_file = Some(key);
    })
    .await;
    let seller = a.seller().await;
    let app = a.create_app(&seller, "Shared").await["id"].as_str().unwrap().to_owned();
    let rx = Receiver::start().await;
    let (_, secret) = hook(&a, &seller, &app, json!({"url": rx.url, "events": ["user.login"]})).await;
    for batch in 0..10 {
        let events: Vec<Event> = (0..20).map(|i| login(&app, &format!("u{batch}_{i}"))).collect();
        let node = if batch % 2 == 0 { &a } else { &b };
        assert_eq!(emit(node, &events).await, 20);
    }
    rx.wait_for(200, Duration::from_secs(60), |_| true).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let got = rx.received();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *per_id.entry(r.header("webhook-id").to_owned()).or_default() += 1;
    }
    let twice: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(per_id.len(), 200);
    assert_eq!(got.len(), 200);
    verify(&secret, &got[199]);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn no_more_than_the_concurrency_cap_in_flight() {
    let (s, seller, app) = setup_with(|c| c.webhook_concurrency = Some("2".into())).await;
    let rx = Receiver::start().await;
    let hold = Duration::from_millis(400);
    rx.delay(hold);
    hook(&s, &seller, &app, json!({"url": rx.url, "events": ["user.login"]})).await;
    let events: Vec<Event> = (0..8).map(|i| login(&app, &format!("u{i}"))).collect();
    emit(&s, &events).await;
    let got = rx.wait_for(8, Duration::from_secs(30), |_| true).await;
    // each request is answered `hold` after it arrived; a request arriving while two others are
    // still within their hold means three in flight at once
    let mut arrivals: Vec<Instant> = got.iter().map(|r| r.at).collect();
    arrivals.sort();
    let most = arrivals
        .iter()
        .map(|t| arrivals.iter().filter(|u| *u >= t && u.duration_since(*t) < hold).count())
        .max()
        .unwrap();
    assert!(most <= 2, "{most} requests in flight at once");
    s.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let (s, seller, app) = setup().await;
    let rx = Receiver::start().await;
    let (wh, _) = hook(&s, &seller, &app, json!({"url": rx.url, "events": ["user.login"]})).await;
    let t = &seller.token;
    let base = at(&app, &format!("/webhooks/{wh}"));

    for path in [
        at(&app, "/webhooks/wh_nope/deliveries"),
        at(&app, "/webhooks/wh_nope/deliveries/whmsg_nope"),
        format!("{base}/deliveries/whmsg_nope"),
    ] {
        s.get(&path, t).await.assert_error(404, "NOT_FOUND");
    }
    for path in [
        at(&app, "/webhooks/wh_nope/test"),
        at(&app, "/webhooks/wh_nope/deliveries/whmsg_nope/redeliver"),
        format!("{base}/deliveries/whmsg_nope/redeliver"),
    ] {
        s.post(&path, t, json!({})).await.assert_error(404, "NOT_FOUND");
    }
    for (q, field) in
        [("page=0", "page"), ("limit=0", "limit"), ("limit=101", "limit"), ("page=x", "page"), ("limit=-1", "limit")]
    {
        assert_names(&s.get(&format!("{base}/deliveries?{q}"), t).await, 400, "VALIDATION_ERROR", field);
    }

    // another seller reaches none of it
    let other = s.seller().await;
    for (method, path) in [
        (Method::GET, format!("{base}/deliveries")),
        (Method::POST, format!("{base}/test")),
        (Method::POST, format!("{base}/deliveries/whmsg_nope/redeliver")),
    ] {
        let body = (method == Method::POST).then(|| json!({}));
        s.req(method, &path, Some(&other.token), body).await.assert_error(404, "NOT_FOUND");
    }
    s.req(Method::GET, &format!("{base}/deliveries"), None, None).await.assert_status(401);
    assert!(rx.received().is_empty(), "nothing was sent");
    let log = s.get(&format!("{base}/deliveries"), t).await;
    assert_eq!(log.data().as_array().unwrap().len(), 0);
    s.stop().await;
}
