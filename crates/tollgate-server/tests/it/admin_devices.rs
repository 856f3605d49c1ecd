//! Device licenses admin API: create, list/paginate, show, update, delete, ban/unban,
//! pause/unpause, extend; bad input; duplicates; tenant isolation.

use std::collections::HashSet;

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use tollgate_core::ids;
use tollgate_core::model::{DeviceLicense, DeviceType, LicenseStatus};
use tollgate_core::time::{now, parse_rfc3339, rfc3339, Timestamp};
use tollgate_store::PageRequest;

use crate::harness::{SellerLogin, TestServer};

const DEVICE_FIELDS: &[&str] = &[
    "id",
    "deviceType",
    "deviceId",
    "name",
    "email",
    "level",
    "status",
    "banReason",
    "note",
    "createdAt",
    "activatedAt",
    "expiresAt",
    "lastLogin",
    "lastIp",
    "hwid",
];

struct Fx {
    s: TestServer,
    seller: SellerLogin,
    app_id: String,
}

impl Fx {
    async fn new() -> Fx {
        let s = TestServer::start().await;
        let seller = s.seller().await;
        let app_id = s.create_app(&seller, "Devices").await["id"].as_str().unwrap().to_owned();
        Fx { s, seller, app_id }
    }

    fn path(&self) -> String {
        format!("/v1/admin/apps/{}/devices", self.app_id)
    }

    fn dev(&self, id: &str) -> String {
        format!("{}/{id}", self.path())
    }

    async fn create(&self, body: Value) -> Value {
        let r = self.s.post(&self.path(), &self.seller.token, body).await;
        r.assert_status(201);
        r.data().clone()
    }

    async fn create_id(&self, device_id: &str) -> String {
        let d = self.create(json!({"deviceType": "motherboard", "deviceId": device_id})).await;
        d["id"].as_str().unwrap().to_owned()
    }

    async fn list(&self, query: &str) -> Value {
        let r = self.s.get(&format!("{}{query}", self.path()), &self.seller.token).await;
        r.assert_status(200);
        r.body.clone()
    }

    async fn total(&self) -> u64 {
        self.list("").await["pagination"]["total"].as_u64().unwrap()
    }

    async fn show(&self, id: &str) -> Value {
        let r = self.s.get(&self.dev(id), &self.seller.token).await;
        r.assert_status(200);
        r.data().clone()
    }

    async fn action(&self, id: &str, action: &str, body: Value) -> Value {
        let r = self.s.post(&format!("{}/{action}", self.dev(id)), &self.seller.token, body).await;
        r.assert_status(200);
        r.body.clone()
    }
}

fn ts(v: &Value) -> Timestamp {
    parse_rfc3339(v.as_str().unwrap()).unwrap()
}

#[track_caller]
fn assert_field_error(r: &crate::harness::Resp, field: &str) {
    r.assert_error(400, "VALIDATION_ERROR");
    assert!(r.body["message"].as_str().unwrap().starts_with(&format!("{field}:")), "{}", r.body);
}

#[tokio::test]
async fn create_show_and_list() {
    let fx = Fx::new().await;
    let before = now();
    let d = fx
        .create(json!({
            "deviceType": "Processor", "deviceId": "  BFEBFBFF000906EA ", "name": " Office PC ",
            "email": "Owner@Example.COM", "level": 3, "days": 30, "note": "paid by invoice 12"
        }))
        .await;
    let after = now();
    let id = d["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("dev_"), "{id}");
    let mut fields: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    let mut want = DEVICE_FIELDS.to_vec();
    want.sort_unstable();
    assert_eq!(fields, want);
    let created = ts(&d["createdAt"]);
    assert!(created >= before && created <= after);
    assert_eq!(
        d,
        json!({
            "id": id, "deviceType": "processor", "deviceId": "BFEBFBFF000906EA", "name": "Office PC",
            "email": "owner@example.com", "level": 3, "status": "UNUSED", "banReason": null,
            "note": "paid by invoice 12", "createdAt": d["createdAt"], "activatedAt": null,
            "expiresAt": rfc3339(&(created + Duration::days(30))), "lastLogin": null, "lastIp": null, "hwid": null
        })
    );
    assert_eq!(fx.show(&id).await, d);

    // the least: level 1, never expires
    let m = fx.create(json!({"deviceType": "motherboard", "deviceId": "MB-1"})).await;
    assert_eq!(
        (m["level"].clone(), m["expiresAt"].clone(), m["name"].clone(), m["email"].clone(), m["note"].clone()),
        (json!(1), Value::Null, Value::Null, Value::Null, Value::Null)
    );
    let n = fx
        .create(json!({"deviceType": "motherboard", "deviceId": "MB-2", "days": null, "level": 0, "name": " "}))
        .await;
    assert_eq!((n["expiresAt"].clone(), n["level"].clone(), n["name"].clone()), (Value::Null, json!(0), Value::Null));

    // duplicates: same type and id (after trimming) is a conflict; the other type is not
    for body in [
        json!({"deviceType": "motherboard", "deviceId": "MB-1"}),
        json!({"deviceType": "MOTHERBOARD", "deviceId": " MB-1 ", "name": "again"}),
    ] {
        let r = fx.s.post(&fx.path(), &fx.seller.token, body).await;
        r.assert_error(409, "CONFLICT");
        assert_eq!(r.body["message"], "A device license for this device already exists");
    }
    fx.create(json!({"deviceType": "processor", "deviceId": "MB-1"})).await;
    // ids are case-sensitive, as the client reports them
    fx.create(json!({"deviceType": "motherboard", "deviceId": "mb-1"})).await;
    // the same device in another app of the seller is another license
    let other = fx.s.create_app(&fx.seller, "Other").await["id"].as_str().unwrap().to_owned();
    fx.s.post(
        &format!("/v1/admin/apps/{other}/devices"),
        &fx.seller.token,
        json!({"deviceType": "motherboard", "deviceId": "MB-1"}),
    )
    .await
    .assert_status(201);

    // list: newest first, paged
    for i in 0..20 {
        fx.create_id(&format!("BULK-{i:02}")).await;
    }
    let p = fx.list("").await;
    assert_eq!(p["pagination"], json!({"page": 1, "limit": 20, "total": 25}));
    let p1 = p["data"].as_array().unwrap();
    assert_eq!(p1.len(), 20);
    let p2 = fx.list("?page=2").await;
    assert_eq!(p2["pagination"], json!({"page": 2, "limit": 20, "total": 25}));
    let both: Vec<&Value> = p1.iter().chain(p2["data"].as_array().unwrap()).collect();
    let created: Vec<Timestamp> = both.iter().map(|d| ts(&d["createdAt"])).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let all: HashSet<&str> = both.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(all.len(), 25, "pages do not overlap");
    assert!(all.contains(id.as_str()));
    assert_eq!(fx.list("?page=3&limit=10").await["data"].as_array().unwrap().len(), 5);
    let r = fx.s.get(&format!("{}?limit=abc", fx.path()), &fx.seller.token).await;
    assert_field_error(&r, "limit");

    fx.s.get(&fx.dev("dev_nope"), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn bad_create_input_names_the_field_and_creates_nothing() {
    let fx = Fx::new().await;
    fx.create_id("EXISTING").await;
    let ok = json!({"deviceType": "motherboard", "deviceId": "NEW-1"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("deviceType", json!("disk")), "deviceType"),
        (with("deviceType", json!("")), "deviceType"),
        (with("deviceType", json!(1)), "deviceType"),
        (with("deviceId", json!("")), "deviceId"),
        (with("deviceId", json!("   ")), "deviceId"),
        (with("deviceId", json!("d".repeat(257))), "deviceId"),
        (with("deviceId", json!("a\nb")), "deviceId"),
        (with("name", json!("n".repeat(101))), "name"),
        (with("email", json!("not-an-email")), "email"),
        (with("email", json!("")), "email"),
        (with("level", json!(-1)), "level"),
        (with("level", json!(1_000_001)), "level"),
        (with("level", json!("high")), "level"),
        (with("days", json!(0)), "days"),
        (with("days", json!(-3)), "days"),
        (with("days", json!(36_501)), "days"),
        (with("days", json!(1.5)), "days"),
        (with("days", json!("30")), "days"),
        (with("note", json!("n".repeat(501))), "note"),
    ];
    for (body, field) in cases {
        let r = fx.s.post(&fx.path(), &fx.seller.token, body.clone()).await;
        r.assert_status(400);
        assert_field_error(&r, field);
    }
    for body in [json!({"deviceType": "motherboard"}), json!({"deviceId": "X"})] {
        fx.s.post(&fx.path(), &fx.seller.token, body).await.assert_error(400, "MISSING_FIELDS");
    }
    fx.s.raw(Method::POST, &fx.path(), Some(&fx.seller.token), b"{\"deviceType\":".to_vec())
        .await
        .assert_error(400, "INVALID_JSON");
    assert_eq!(fx.total().await, 1);
    // the bounds themselves are fine
    fx.create(json!({
        "deviceType": "processor", "deviceId": "d".repeat(256), "name": "n".repeat(100),
        "level": 1_000_000, "days": 36_500, "note": "n".repeat(500)
    }))
    .await;
}

#[tokio::test]
async fn update_and_delete() {
    let fx = Fx::new().await;
    let id = fx
        .create(json!({"deviceType": "motherboard", "deviceId": "MB-9", "name": "Rig", "email": "a@example.com", "note": "n"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let r =
        fx.s.patch(&fx.dev(&id), &fx.seller.token, json!({"name": " Lab ", "level": 7, "email": "B@Example.com"}))
            .await;
    r.assert_status(200);
    assert_eq!(
        (r.data()["name"].clone(), r.data()["level"].clone(), r.data()["email"].clone(), r.data()["note"].clone()),
        (json!("Lab"), json!(7), json!("b@example.com"), json!("n"))
    );
    assert_eq!(fx.show(&id).await, r.data().clone());

    // absent fields stay; null clears
    fx.s.patch(&fx.dev(&id), &fx.seller.token, json!({})).await.assert_status(200);
    assert_eq!(fx.show(&id).await["name"], "Lab");
    let r = fx.s.patch(&fx.dev(&id), &fx.seller.token, json!({"name": null, "email": null, "note": null})).await;
    r.assert_status(200);
    let got = fx.show(&id).await;
    assert_eq!(
        (got["name"].clone(), got["email"].clone(), got["note"].clone(), got["level"].clone()),
        (Value::Null, Value::Null, Value::Null, json!(7))
    );
    // the hardware is not patchable: the field is ignored
    fx.s.patch(&fx.dev(&id), &fx.seller.token, json!({"deviceId": "OTHER", "note": "kept"})).await.assert_status(200);
    let got = fx.show(&id).await;
    assert_eq!((got["deviceId"].clone(), got["note"].clone()), (json!("MB-9"), json!("kept")));

    // bad input: named, nothing changes (a valid field beside an invalid one neither)
    let before = fx.show(&id).await;
    for (body, field) in [
        (json!({"level": -1}), "level"),
        (json!({"level": 2.5}), "level"),
        (json!({"email": "nope"}), "email"),
        (json!({"name": "n".repeat(101)}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"note": "n".repeat(501)}), "note"),
        (json!({"level": 9, "email": "bad"}), "email"),
    ] {
        let r = fx.s.patch(&fx.dev(&id), &fx.seller.token, body).await;
        assert_field_error(&r, field);
    }
    assert_eq!(fx.show(&id).await, before);
    fx.s.patch(&fx.dev("dev_nope"), &fx.seller.token, json!({"level": 1})).await.assert_error(404, "NOT_FOUND");

    let r = fx.s.delete(&fx.dev(&id), &fx.seller.token).await;
    r.assert_status(200);
    assert_eq!(r.body, json!({"success": true, "message": "Device license deleted"}));
    fx.s.get(&fx.dev(&id), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    fx.s.delete(&fx.dev(&id), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    assert_eq!(fx.total().await, 0);
    // the device may be licensed again
    fx.create_id("MB-9").await;

    let audit = fx.s.state.store.list_audit(&fx.seller.id, PageRequest { page: 1, limit: 100 }).await.unwrap();
    let actions: HashSet<&str> = audit.items.iter().map(|a| a.action.as_str()).collect();
    for a in ["device.create", "device.update", "device.delete"] {
        assert!(actions.contains(a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn ban_unban_pause_unpause() {
    let fx = Fx::new().await;
    let id = fx.create_id("MB-BAN").await;

    let r = fx.action(&id, "ban", json!({"reason": " chargeback "})).await;
    assert_eq!(r, json!({"success": true, "message": "Device license banned"}));
    let got = fx.show(&id).await;
    assert_eq!((got["status"].clone(), got["banReason"].clone()), (json!("BANNED"), json!("chargeback")));

    // a banned license cannot be paused, and unpause does not lift the ban
    let r = fx.s.post(&format!("{}/pause", fx.dev(&id)), &fx.seller.token, json!({})).await;
    r.assert_error(409, "CONFLICT");
    fx.action(&id, "unpause", json!({})).await;
    assert_eq!(fx.show(&id).await["status"], "BANNED");

    // never used: unban gives back UNUSED
    assert_eq!(
        fx.action(&id, "unban", json!({})).await,
        json!({"success": true, "message": "Device license unbanned"})
    );
    let got = fx.show(&id).await;
    assert_eq!((got["status"].clone(), got["banReason"].clone()), (json!("UNUSED"), Value::Null));
    assert_eq!(fx.action(&id, "pause", json!({})).await, json!({"success": true, "message": "Device license paused"}));
    assert_eq!(fx.show(&id).await["status"], "PAUSED");
    fx.action(&id, "pause", json!({})).await;
    assert_eq!(fx.action(&id, "unpause", json!({})).await["message"], "Device license unpaused");
    assert_eq!(fx.show(&id).await["status"], "UNUSED");

    // once the device has authenticated, lifting a ban or a pause gives back USED
    let t = now();
    fx.s.state.store.record_device_login(&fx.app_id, &id, Some("203.0.113.7"), Some("HWID-X"), t).await.unwrap();
    let got = fx.show(&id).await;
    assert_eq!(
        (
            got["status"].clone(),
            got["activatedAt"].clone(),
            got["lastLogin"].clone(),
            got["lastIp"].clone(),
            got["hwid"].clone()
        ),
        (json!("USED"), json!(rfc3339(&t)), json!(rfc3339(&t)), json!("203.0.113.7"), json!("HWID-X"))
    );
    fx.s.req(Method::POST, &format!("{}/ban", fx.dev(&id)), Some(&fx.seller.token), None).await.assert_status(200);
    let got = fx.show(&id).await;
    assert_eq!((got["status"].clone(), got["banReason"].clone()), (json!("BANNED"), Value::Null));
    fx.action(&id, "unban", json!({})).await;
    assert_eq!(fx.show(&id).await["status"], "USED");
    fx.action(&id, "pause", json!({})).await;
    fx.action(&id, "unpause", json!({})).await;
    assert_eq!(fx.show(&id).await["status"], "USED");

    // bad reason: named, nothing changes
    for body in [json!({"reason": "r".repeat(501)}), json!({"reason": 5})] {
        let r = fx.s.post(&format!("{}/ban", fx.dev(&id)), &fx.seller.token, body).await;
        assert_field_error(&r, "reason");
    }
    assert_eq!(fx.show(&id).await["status"], "USED");

    for action in ["ban", "unban", "pause", "unpause"] {
        fx.s.post(&format!("{}/{action}", fx.dev("dev_nope")), &fx.seller.token, json!({}))
            .await
            .assert_error(404, "NOT_FOUND");
    }
    let audit = fx.s.state.store.list_audit(&fx.seller.id, PageRequest { page: 1, limit: 100 }).await.unwrap();
    let actions: HashSet<&str> = audit.items.iter().map(|a| a.action.as_str()).collect();
    for a in ["device.ban", "device.unban", "device.pause", "device.unpause"] {
        assert!(actions.contains(a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn extend_adds_days_to_the_later_of_expiry_and_now() {
    let fx = Fx::new().await;
    let active = fx.create(json!({"deviceType": "motherboard", "deviceId": "A", "days": 10})).await;
    let active_id = active["id"].as_str().unwrap().to_owned();
    let expires = ts(&active["expiresAt"]);
    let forever = fx.create_id("F").await;
    // one that ran out: only the store can make it
    let t = now();
    let lapsed = DeviceLicense {
        id: ids::new_id(ids::prefix::DEVICE),
        app_id: fx.app_id.clone(),
        device_type: DeviceType::Processor,
        device_id: "L".into(),
        name: None,
        email: None,
        level: 1,
        status: LicenseStatus::Used,
        ban_reason: None,
        note: None,
        created_at: t - Duration::days(40),
        activated_at: Some(t - Duration::days(40)),
        expires_at: Some(t - Duration::days(5)),
        last_login: None,
        last_ip: None,
        hwid: None,
    };
    fx.s.state.store.create_device_license(&lapsed).await.unwrap();

    let r = fx.action(&active_id, "extend", json!({"days": 30})).await;
    assert_eq!(r["message"], "Device license extended by 30 days");
    let want = rfc3339(&(expires + Duration::days(30)));
    assert_eq!(r["data"], json!({"expiresAt": want}));
    assert_eq!(fx.show(&active_id).await["expiresAt"], want);

    let before = now();
    let r = fx.action(&lapsed.id, "extend", json!({"days": 7})).await;
    let after = now();
    let got = ts(&fx.show(&lapsed.id).await["expiresAt"]);
    assert_eq!(ts(&r["data"]["expiresAt"]), got);
    assert!(got >= before + Duration::days(7) && got <= after + Duration::days(7), "{got}");

    let r = fx.action(&forever, "extend", json!({"days": 30})).await;
    assert_eq!(r["data"], json!({"expiresAt": null}));
    assert_eq!(fx.show(&forever).await["expiresAt"], Value::Null);

    let path = format!("{}/extend", fx.dev(&active_id));
    for body in [json!({"days": 0}), json!({"days": 36_501}), json!({"days": "3"}), json!({"days": null})] {
        let r = fx.s.post(&path, &fx.seller.token, body).await;
        assert_field_error(&r, "days");
    }
    fx.s.post(&path, &fx.seller.token, json!({})).await.assert_error(400, "MISSING_FIELDS");
    assert_eq!(fx.show(&active_id).await["expiresAt"], want, "nothing changed");
    fx.s.post(&format!("{}/extend", fx.dev("dev_nope")), &fx.seller.token, json!({"days": 1}))
        .await
        .assert_error(404, "NOT_FOUND");
    let audit = fx.s.state.store.list_audit(&fx.seller.id, PageRequest { page: 1, limit: 100 }).await.unwrap();
    assert!(audit.items.iter().any(|a| a.action == "device.extend"));
}

#[tokio::test]
async fn another_sellers_devices_are_invisible() {
    let fx = Fx::new().await;
    let id = fx.create(json!({"deviceType": "motherboard", "deviceId": "MB-V", "days": 3, "note": "mine"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = fx.list("").await;

    let intruder = fx.s.seller().await;
    let their_app = fx.s.create_app(&intruder, "Theirs").await["id"].as_str().unwrap().to_owned();
    let t = &intruder.token;
    let bases = [fx.path(), format!("/v1/admin/apps/{their_app}/devices")];
    for (i, base) in bases.iter().enumerate() {
        if i == 0 {
            fx.s.get(base, t).await.assert_error(404, "NOT_FOUND");
            fx.s.post(base, t, json!({"deviceType": "processor", "deviceId": "X"}))
                .await
                .assert_error(404, "NOT_FOUND");
        }
        let one = format!("{base}/{id}");
        fx.s.get(&one, t).await.assert_error(404, "NOT_FOUND");
        fx.s.patch(&one, t, json!({"level": 99, "name": null})).await.assert_error(404, "NOT_FOUND");
        fx.s.delete(&one, t).await.assert_error(404, "NOT_FOUND");
        for action in ["ban", "unban", "pause", "unpause"] {
            fx.s.post(&format!("{one}/{action}"), t, json!({"reason": "x"})).await.assert_error(404, "NOT_FOUND");
        }
        fx.s.post(&format!("{one}/extend"), t, json!({"days": 365})).await.assert_error(404, "NOT_FOUND");
    }
    let theirs = fx.s.get(&bases[1], t).await;
    theirs.assert_status(200);
    assert_eq!(theirs.body["pagination"]["total"], 0);
    // the intruder may license the same hardware in their own app: licenses are per app
    fx.s.post(&bases[1], t, json!({"deviceType": "motherboard", "deviceId": "MB-V"})).await.assert_status(201);

    assert_eq!(fx.list("").await, before);
}
