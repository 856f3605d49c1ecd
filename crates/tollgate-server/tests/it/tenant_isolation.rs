//! For EVERY admin route under an app (read from the OpenAPI document, so a new route is covered
//! the day it is added), another seller's token answers 404 and changes nothing — both with the
//! owner's app id, and with the intruder's own app id and the owner's child ids.

use std::collections::BTreeMap;

use chrono::Duration;
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use tollgate_core::model::{ChatMessage, Delivery, DeliveryState, Session, User, UserStatus, UserVariable};
use tollgate_core::time::now;
use tollgate_core::{ids, password};

use crate::harness::{SellerLogin, TestServer};

pub(crate) struct Fixture {
    pub(crate) app: String,
    pub(crate) ids: BTreeMap<&'static str, String>,
}

pub(crate) async fn populate(s: &TestServer, owner: &SellerLogin, name: &str) -> Fixture {
    let app = s.create_app(owner, name).await["id"].as_str().unwrap().to_owned();
    let base = format!("/v1/admin/apps/{app}");
    let mut ids = BTreeMap::new();
    let lic = s.post(&format!("{base}/licenses"), &owner.token, json!({"count": 1, "durationType": "30d"})).await;
    ids.insert("licenseId", lic.data()[0]["id"].as_str().unwrap().to_owned());
    let user = User {
        note: None,
        id: ids::new_id("usr"),
        app_id: app.clone(),
        username: format!("user-{name}"),
        password_hash: password::hash("pw").unwrap(),
        email: None,
        level: 1,
        expires_at: Some(now() + Duration::days(3)),
        devices: vec!["HWID-1".into()],
        max_devices: 1,
        last_ip: None,
        status: UserStatus::Active,
        ban_reason: None,
        last_login: None,
        created_at: now(),
    };
    s.state.store.create_user(&user, &[]).await.unwrap();
    ids.insert("userId", user.id.clone());
    s.state
        .store
        .set_user_variable(&UserVariable {
            app_id: app.clone(),
            user_id: user.id.clone(),
            key: format!("k-{name}"),
            value: "v".into(),
            updated_at: now(),
        })
        .await
        .unwrap();
    let session = Session {
        id: ids::new_id("sess"),
        app_id: app.clone(),
        token: ids::new_token(),
        user_id: Some(user.id.clone()),
        license_id: None,
        ip: Some("127.0.0.1".into()),
        hwid: None,
        client_id: None,
        created_at: now(),
        expires_at: now() + Duration::hours(24),
        last_seen: now(),
    };
    s.state.store.create_session(&session, &[]).await.unwrap();
    ids.insert("sessionId", session.id);
    // keys are names, not ids: each fixture uses its own so a cross-app call cannot hit a twin
    let key = format!("k-{name}");
    s.post(&format!("{base}/variables"), &owner.token, json!({"key": key, "value": "v"})).await.assert_status(201);
    ids.insert("key", key);
    let bl = s.post(&format!("{base}/blacklist"), &owner.token, json!({"type": "HWID", "value": "bad-hwid"})).await;
    ids.insert("id", bl.data()["id"].as_str().unwrap().to_owned());
    let r =
        s.post(&format!("{base}/resellers"), &owner.token, json!({"username": "rs", "password": "password123"})).await;
    ids.insert("resellerId", r.data()["id"].as_str().unwrap().to_owned());
    let w = s
        .post(
            &format!("{base}/webhooks"),
            &owner.token,
            json!({"url": "https://example.com/h", "events": ["user.login"]}),
        )
        .await;
    let webhook_id = w.data()["id"].as_str().unwrap().to_owned();
    // a delivery in its log, held so no worker sends it
    let delivery = Delivery {
        id: ids::new_id(ids::prefix::DELIVERY),
        webhook_id: webhook_id.clone(),
        app_id: app.clone(),
        event: "webhook.test".into(),
        payload: "{}".into(),
        state: DeliveryState::Pending,
        attempts: 0,
        failures: 0,
        next_attempt_at: None,
        last_attempt_at: None,
        created_at: now(),
    };
    s.state.store.insert_delivery(&delivery, "fixture").await.unwrap();
    ids.insert("deliveryId", delivery.id);
    ids.insert("webhookId", webhook_id);
    let form = Form::new().part("file", Part::bytes(b"hello".to_vec()).file_name("a.bin"));
    let f =
        s.http.post(s.url(&format!("{base}/files"))).bearer_auth(&owner.token).multipart(form).send().await.unwrap();
    let f = TestServer::into_resp(f).await;
    f.assert_status(201);
    ids.insert("fileId", f.data()["id"].as_str().unwrap().to_owned());
    let ch = s.post(&format!("{base}/chats"), &owner.token, json!({"name": "general"})).await;
    let channel = ch.data()["id"].as_str().unwrap().to_owned();
    let mute = json!({"userId": user.id, "reason": "spam"});
    s.post(&format!("{base}/chats/{channel}/mutes"), &owner.token, mute).await.assert_status(201);
    let msg = ChatMessage {
        id: ids::new_id(ids::prefix::MESSAGE),
        app_id: app.clone(),
        channel_id: channel.clone(),
        user_id: Some(user.id.clone()),
        username: user.username.clone(),
        message: "hi".into(),
        created_at: now(),
    };
    s.state.store.post_message(&msg).await.unwrap();
    ids.insert("channelId", channel);
    let d =
        s.post(&format!("{base}/devices"), &owner.token, json!({"deviceType": "motherboard", "deviceId": "MB"})).await;
    ids.insert("deviceLicenseId", d.data()["id"].as_str().unwrap().to_owned());
    Fixture { app, ids }
}

/// Everything the owner can read about the app, through the API.
pub(crate) async fn snapshot(s: &TestServer, owner: &SellerLogin, fx: &Fixture) -> Value {
    let base = format!("/v1/admin/apps/{}", fx.app);
    let mut out = serde_json::Map::new();
    for p in [
        String::new(),
        "/licenses".into(),
        "/users".into(),
        format!("/users/{}/variables", fx.ids["userId"]),
        "/variables".into(),
        "/blacklist".into(),
        "/sessions".into(),
        "/resellers".into(),
        "/files".into(),
        "/webhooks".into(),
        "/logs".into(),
        "/chats".into(),
        format!("/chats/{}/messages", fx.ids["channelId"]),
        format!("/chats/{}/mutes", fx.ids["channelId"]),
        "/devices".into(),
    ] {
        let r = s.get(&format!("{base}{p}"), &owner.token).await;
        r.assert_status(200);
        out.insert(p, r.body.clone());
    }
    Value::Object(out)
}

/// A body that is valid for the route, so only ownership can refuse it. `user` is a user of the
/// app in the path.
pub(crate) fn body_for(method: &Method, template: &str, user: &str) -> Option<Value> {
    let tail = template.rsplit('/').next().unwrap_or("");
    let b = match (method.as_str(), tail) {
        ("POST", "licenses") => json!({"count": 1, "durationType": "1d"}),
        ("POST", "ban") => json!({"reason": "x"}),
        ("POST", "extend") => json!({"days": 1}),
        ("PATCH", "{userId}") => json!({"level": 9}),
        ("POST", "variables") => json!({"key": "k2", "value": "v"}),
        ("PATCH", "{key}") => json!({"value": "changed"}),
        ("POST", "blacklist") => json!({"type": "HWID", "value": "other"}),
        ("POST", "resellers") => json!({"username": "rs2", "password": "password123"}),
        ("PATCH", "{resellerId}") => json!({"balance": 99}),
        ("POST", "webhooks") => json!({"url": "https://example.com/x", "events": ["user.ban"]}),
        ("PATCH", "{webhookId}") => json!({"enabled": false}),
        ("PATCH", "{appId}") => json!({"name": "Stolen"}),
        ("POST", "chats") => json!({"name": "hijack"}),
        ("POST", "mutes") => json!({"userId": user}),
        ("POST", "devices") => json!({"deviceType": "processor", "deviceId": "CPU"}),
        ("PATCH", "{deviceLicenseId}") => json!({"level": 9}),
        ("POST", _) => json!({}),
        _ => return None,
    };
    Some(b)
}

async fn call(
    s: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    template: &str,
    user: &str,
) -> crate::harness::Resp {
    if method == Method::POST && template.ends_with("/files") {
        let form = Form::new().part("file", Part::bytes(b"intruder".to_vec()).file_name("x.bin"));
        let r = s.http.post(s.url(path)).bearer_auth(token).multipart(form).send().await.unwrap();
        return TestServer::into_resp(r).await;
    }
    let body = body_for(&method, template, user);
    s.req(method, path, Some(token), body).await
}

pub(crate) fn fill(template: &str, app: &str, ids: &BTreeMap<&'static str, String>) -> String {
    let mut p = template.replace("{appId}", app);
    for (k, v) in ids {
        p = p.replace(&format!("{{{k}}}"), v);
    }
    assert!(!p.contains('{'), "no fixture id for {template}");
    p
}

#[tokio::test]
async fn every_admin_route_hides_other_sellers_data() {
    let s = TestServer::start().await;
    let owner = s.seller().await;
    let intruder = s.seller().await;
    let fx = populate(&s, &owner, "victim").await;
    let mine = populate(&s, &intruder, "mine").await;
    let before = snapshot(&s, &owner, &fx).await;

    let spec = s.req(Method::GET, "/openapi.json", None, None).await.body;
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        if !template.starts_with("/v1/admin/apps/{appId}") {
            continue;
        }
        for m in ["get", "post", "patch", "delete"] {
            if item.get(m).is_none() {
                continue;
            }
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            // the owner's app id
            let path = fill(template, &fx.app, &fx.ids);
            let r = call(&s, method.clone(), &path, &intruder.token, template, &fx.ids["userId"]).await;
            assert_eq!(r.status.as_u16(), 404, "{m} {template}: {}", r.body);
            assert_eq!(r.code(), "NOT_FOUND", "{m} {template}");
            // the intruder's own app with the owner's child ids
            if template.matches('{').count() > 1 {
                let path = fill(template, &mine.app, &fx.ids);
                let r = call(&s, method.clone(), &path, &intruder.token, template, &mine.ids["userId"]).await;
                assert_eq!(r.status.as_u16(), 404, "cross-app {m} {template}: {}", r.body);
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} routes checked");

    let after = snapshot(&s, &owner, &fx).await;
    assert_eq!(before, after, "an intruder's request changed the owner's data");
    // the owner's key still works and the file blob is still there
    let app = s.state.store.app_by_id(&fx.app).await.unwrap().unwrap();
    assert_eq!(app.name, "victim");
}
