//! Licenses admin API: generate, list/search/paginate, show, delete, ban/unban, pause/unpause,
//! reset-devices; bad input; tenant isolation.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};
use tollgate_core::model::{Creator, License, LicenseStatus};
use tollgate_core::time::{now, rfc3339};
use tollgate_core::DurationType;
use tollgate_store::PageRequest;

use crate::harness::{SellerLogin, TestServer};

const LICENSE_FIELDS: &[&str] = &[
    "id",
    "key",
    "status",
    "durationType",
    "level",
    "maxDevices",
    "note",
    "prefix",
    "appId",
    "createdBy",
    "createdAt",
    "activatedAt",
    "expiresAt",
    "userId",
    "devices",
    "banReason",
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
        let app = s.create_app(&seller, "Licensed").await;
        let app_id = app["id"].as_str().unwrap().to_owned();
        Fx { s, seller, app_id }
    }

    fn path(&self) -> String {
        format!("/v1/admin/apps/{}/licenses", self.app_id)
    }

    fn lic(&self, id: &str) -> String {
        format!("{}/{id}", self.path())
    }

    async fn generate(&self, body: Value) -> Vec<Value> {
        let r = self.s.post(&self.path(), &self.seller.token, body).await;
        r.assert_status(201);
        assert_eq!(r.body["success"], true);
        r.data().as_array().unwrap().clone()
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
        let r = self.s.get(&self.lic(id), &self.seller.token).await;
        r.assert_status(200);
        r.data().clone()
    }

    async fn action(&self, id: &str, action: &str, body: Value) -> Value {
        let r = self.s.post(&format!("{}/{action}", self.lic(id)), &self.seller.token, body).await;
        r.assert_status(200);
        r.body.clone()
    }

    /// A license that has been used: activated, linked to a user, bound to a device.
    async fn used_license(&self) -> License {
        let t = now();
        let lic = License {
            id: tollgate_core::ids::new_id("lic"),
            app_id: self.app_id.clone(),
            key: format!("USED-{}", tollgate_core::ids::random_hex(6).to_uppercase()),
            status: LicenseStatus::Used,
            level: 2,
            duration: DurationType::Days(7),
            max_devices: 2,
            note: Some("sold".into()),
            prefix: Some("USED".into()),
            created_by: Creator::Seller(self.seller.id.clone()),
            created_at: t,
            activated_at: Some(t),
            expires_at: Some(t + chrono::Duration::days(7)),
            user_id: None,
            devices: vec!["HWID-1".into(), "HWID-2".into()],
            ban_reason: None,
        };
        self.s.state.store.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
        lic
    }
}

fn is_group(g: &str, len: usize) -> bool {
    g.len() == len && g.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn keys(items: &[Value]) -> HashSet<String> {
    items.iter().map(|l| l["key"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn generate_100_distinct_keys_of_the_requested_shape() {
    let fx = Fx::new().await;
    let body = json!({"count": 100, "durationType": "30d", "level": 3, "maxDevices": 2, "prefix": "VIP", "note": "Giveaway batch"});
    let lics = fx.generate(body).await;
    assert_eq!(lics.len(), 100);
    assert_eq!(keys(&lics).len(), 100, "keys are distinct");
    let ids: HashSet<&str> = lics.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 100);
    for l in &lics {
        let obj = l.as_object().unwrap();
        let mut fields: Vec<&str> = obj.keys().map(String::as_str).collect();
        fields.sort_unstable();
        let mut want = LICENSE_FIELDS.to_vec();
        want.sort_unstable();
        assert_eq!(fields, want, "{l}");
        assert!(l["id"].as_str().unwrap().starts_with("lic_"));
        let key = l["key"].as_str().unwrap();
        let parts: Vec<&str> = key.split('-').collect();
        assert_eq!(parts.len(), 4, "{key}");
        assert_eq!(parts[0], "VIP");
        assert!(parts[1..].iter().all(|g| is_group(g, 4)), "{key}");
        assert_eq!(l["status"], "UNUSED");
        assert_eq!(l["durationType"], "30d");
        assert_eq!(l["level"], 3);
        assert_eq!(l["maxDevices"], 2);
        assert_eq!(l["note"], "Giveaway batch");
        assert_eq!(l["prefix"], "VIP");
        assert_eq!(l["appId"], fx.app_id.as_str());
        assert_eq!(l["createdBy"], json!({"type": "seller", "id": fx.seller.id}));
        assert!(tollgate_core::time::parse_rfc3339(l["createdAt"].as_str().unwrap()).is_some());
        for null in ["activatedAt", "expiresAt", "userId", "banReason"] {
            assert_eq!(l[null], Value::Null, "{null}");
        }
        assert_eq!(l["devices"], json!([]));
    }
    // stored: the list holds exactly these keys, and GET shows one as generated
    let listed = fx.list("?limit=100").await;
    assert_eq!(listed["pagination"]["total"], 100);
    assert_eq!(keys(listed["data"].as_array().unwrap()), keys(&lics));
    let one = &lics[17];
    assert_eq!(&fx.show(one["id"].as_str().unwrap()).await, one);
}

#[tokio::test]
async fn generate_defaults_and_mask() {
    let fx = Fx::new().await;
    let l = fx.generate(json!({"count": 1, "durationType": "lifetime"})).await.remove(0);
    assert_eq!((l["level"].clone(), l["maxDevices"].clone()), (json!(1), json!(1)));
    assert_eq!((l["prefix"].clone(), l["note"].clone()), (Value::Null, Value::Null));
    assert_eq!(l["durationType"], "lifetime");
    let key = l["key"].as_str().unwrap();
    assert_eq!(key.len(), 19, "{key}");
    assert!(key.split('-').all(|g| is_group(g, 4)), "{key}");

    let masked = fx
        .generate(json!({"count": 5, "durationType": "1h", "mask": "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX", "level": 0}))
        .await;
    assert_eq!(masked.len(), 5);
    for l in &masked {
        let key = l["key"].as_str().unwrap();
        let groups: Vec<&str> = key.split('-').collect();
        assert_eq!(groups.len(), 5, "{key}");
        assert!(groups.iter().all(|g| is_group(g, 5)), "{key}");
        assert_eq!(l["level"], 0);
        assert_eq!(l["durationType"], "1h");
    }
    let literal = fx.generate(json!({"count": 1, "durationType": "7d", "mask": "SHOP-XXXXXX-XXXXXX"})).await.remove(0);
    assert!(literal["key"].as_str().unwrap().starts_with("SHOP-"), "{literal}");
    assert_eq!(fx.total().await, 7);
}

#[tokio::test]
async fn generate_bad_input_names_the_field_and_creates_nothing() {
    let fx = Fx::new().await;
    let ok = json!({"count": 1, "durationType": "30d"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (with("count", json!(0)), "VALIDATION_ERROR", "count"),
        (with("count", json!(101)), "VALIDATION_ERROR", "count"),
        (with("count", json!(-3)), "VALIDATION_ERROR", "count"),
        (with("count", json!("ten")), "VALIDATION_ERROR", "count"),
        (with("count", json!(1.5)), "VALIDATION_ERROR", "count"),
        (with("count", json!(null)), "VALIDATION_ERROR", "count"),
        (without("count"), "MISSING_FIELDS", "count"),
        (with("durationType", json!("2w")), "VALIDATION_ERROR", "durationType"),
        (with("durationType", json!("")), "VALIDATION_ERROR", "durationType"),
        (with("durationType", json!(30)), "VALIDATION_ERROR", "durationType"),
        (without("durationType"), "MISSING_FIELDS", "durationType"),
        (with("level", json!(-1)), "VALIDATION_ERROR", "level"),
        (with("level", json!(1_000_001)), "VALIDATION_ERROR", "level"),
        (with("level", json!("high")), "VALIDATION_ERROR", "level"),
        (with("maxDevices", json!(0)), "VALIDATION_ERROR", "maxDevices"),
        (with("maxDevices", json!(1001)), "VALIDATION_ERROR", "maxDevices"),
        (with("maxDevices", json!(true)), "VALIDATION_ERROR", "maxDevices"),
        (with("prefix", json!("bad prefix")), "VALIDATION_ERROR", "prefix"),
        (with("prefix", json!("P".repeat(17))), "VALIDATION_ERROR", "prefix"),
        (with("prefix", json!(7)), "VALIDATION_ERROR", "prefix"),
        (with("mask", json!("XXXX-XXXX")), "VALIDATION_ERROR", "mask"),
        (with("mask", json!("xxxxxxxxxxxxxxxx")), "VALIDATION_ERROR", "mask"),
        (with("note", json!("n".repeat(501))), "VALIDATION_ERROR", "note"),
        (with("note", json!(["a"])), "VALIDATION_ERROR", "note"),
    ];
    for (body, code, field) in cases {
        let r = fx.s.post(&fx.path(), &fx.seller.token, body.clone()).await;
        r.assert_error(400, code);
        let msg = r.body["message"].as_str().unwrap();
        let named = if code == "MISSING_FIELDS" {
            msg == format!("Missing field: {field}")
        } else {
            msg.starts_with(&format!("{field}:"))
        };
        assert!(named, "{body} -> {msg}");
    }
    let r =
        fx.s.raw(Method::POST, &fx.path(), Some(&fx.seller.token), br#"{"count": 1, "durationType": "#.to_vec()).await;
    r.assert_error(400, "INVALID_JSON");
    fx.s.raw(Method::POST, &fx.path(), Some(&fx.seller.token), b"[1, 2]".to_vec())
        .await
        .assert_error(400, "VALIDATION_ERROR");
    fx.s.raw(Method::POST, &fx.path(), Some(&fx.seller.token), Vec::new()).await.assert_error(400, "MISSING_FIELDS");
    assert_eq!(fx.total().await, 0, "nothing was created");
    // the boundaries themselves are accepted
    fx.generate(with("note", json!("n".repeat(500)))).await;
    fx.generate(json!({"count": 1, "durationType": "365d", "level": 1_000_000, "maxDevices": 1000})).await;
    assert_eq!(fx.total().await, 2);
}

#[tokio::test]
async fn list_searches_paginates_and_filters_by_status() {
    let fx = Fx::new().await;
    let alpha = fx.generate(json!({"count": 25, "durationType": "30d", "note": "alpha batch"})).await;
    let beta = fx.generate(json!({"count": 5, "durationType": "7d", "prefix": "BETA", "note": "Beta Giveaway"})).await;

    // pagination: default limit 20, pages disjoint, totals right
    let p = fx.list("").await;
    assert_eq!(
        p["pagination"],
        json!({"page": 1, "limit": 20, "total": 30, "totalCapped": false, "nextCursor": p["pagination"]["nextCursor"]})
    );
    assert!(p["pagination"]["nextCursor"].is_string(), "a full page has a next cursor");
    assert_eq!(p["data"].as_array().unwrap().len(), 20);
    let mut seen = HashSet::new();
    for page in 1..=3 {
        let p = fx.list(&format!("?page={page}&limit=10")).await;
        let pagination = &p["pagination"];
        assert_eq!(
            (&pagination["page"], &pagination["limit"], &pagination["total"]),
            (&json!(page), &json!(10), &json!(30))
        );
        let items = p["data"].as_array().unwrap();
        assert_eq!(items.len(), 10);
        for k in keys(items) {
            assert!(seen.insert(k), "pages overlap");
        }
    }
    assert_eq!(seen, keys(&alpha).union(&keys(&beta)).cloned().collect());
    let past = fx.list("?page=4&limit=10").await;
    assert_eq!(past["data"], json!([]));
    assert_eq!(past["pagination"]["total"], 30);
    assert_eq!(fx.list("?limit=100").await["pagination"]["limit"], 100);
    // newest first: the beta batch came last
    let first = fx.list("?limit=5").await;
    assert_eq!(keys(first["data"].as_array().unwrap()), keys(&beta));

    // search: the beginning of the note or the key, case-insensitively; not the middle
    let r = fx.list("?search=beta%20g").await;
    assert_eq!(r["pagination"]["total"], 5);
    assert_eq!(keys(r["data"].as_array().unwrap()), keys(&beta));
    assert_eq!(fx.list("?search=ALPHA").await["pagination"]["total"], 25);
    assert_eq!(fx.list("?search=BETA-").await["pagination"]["total"], 5);
    let target = alpha[7]["key"].as_str().unwrap();
    let start = target[..12].to_lowercase();
    let r = fx.list(&format!("?search={start}")).await;
    assert_eq!(r["pagination"]["total"], 1, "{start}");
    assert_eq!(r["data"][0]["key"], target);
    let r = fx.list(&format!("?search={target}")).await;
    assert_eq!((&r["pagination"]["total"], &r["data"][0]["key"]), (&json!(1), &json!(target)), "a whole key");
    let middle = &target[5..14];
    assert_eq!(fx.list(&format!("?search={middle}")).await["pagination"]["total"], 0, "{middle}");
    assert_eq!(fx.list("?search=giveaway").await["pagination"]["total"], 0, "the middle of a note");
    assert_eq!(fx.list("?search=batch").await["pagination"]["total"], 0, "the middle of a note");
    assert_eq!(fx.list("?search=nothing-like-this").await["pagination"]["total"], 0);
    assert_eq!(fx.list("?search=%25").await["pagination"]["total"], 0, "LIKE wildcards are literal");
    let r = fx.list("?search=beta%20g&page=3&limit=2").await;
    assert_eq!(
        r["pagination"],
        json!({"page": 3, "limit": 2, "total": 5, "totalCapped": false, "nextCursor": null}),
        "a short page is the last"
    );
    let r = fx.list("?search=Beta+Giveaway&page=2&limit=2").await;
    assert_eq!((&r["pagination"]["page"], &r["pagination"]["total"]), (&json!(2), &json!(5)));
    assert_eq!(r["data"].as_array().unwrap().len(), 2);

    // status filter
    for l in &beta[..2] {
        fx.action(l["id"].as_str().unwrap(), "ban", json!({})).await;
    }
    fx.action(alpha[0]["id"].as_str().unwrap(), "pause", json!({})).await;
    let banned = fx.list("?status=BANNED").await;
    assert_eq!(banned["pagination"]["total"], 2);
    assert!(banned["data"].as_array().unwrap().iter().all(|l| l["status"] == "BANNED"));
    assert_eq!(fx.list("?status=PAUSED").await["pagination"]["total"], 1);
    assert_eq!(fx.list("?status=UNUSED").await["pagination"]["total"], 27);
    assert_eq!(fx.list("?status=USED").await["pagination"]["total"], 0);
    assert_eq!(fx.list("?status=EXPIRED").await["pagination"]["total"], 0);
    assert_eq!(fx.list("?status=banned&search=beta").await["pagination"]["total"], 2);

    // bad query parameters are named
    for (q, field) in [
        ("?status=GONE", "status"),
        ("?status=1", "status"),
        ("?page=abc", "page"),
        ("?limit=-1", "limit"),
        ("?page=1.5", "page"),
    ] {
        let r = fx.s.get(&format!("{}{q}", fx.path()), &fx.seller.token).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with(&format!("{field}:")), "{q} -> {}", r.body);
    }
    let long = "s".repeat(201);
    let r = fx.s.get(&format!("{}?search={long}", fx.path()), &fx.seller.token).await;
    r.assert_error(400, "VALIDATION_ERROR");
    assert!(r.body["message"].as_str().unwrap().starts_with("search:"));
}

/// The ids of a listing walked by `?page=`, and walked by `pagination.nextCursor`.
async fn walks(fx: &Fx, filter: &str, limit: usize) -> (Vec<String>, Vec<String>) {
    let ids = |body: &Value| -> Vec<String> {
        body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()).collect()
    };
    let mut by_page = Vec::new();
    for page in 1.. {
        let body = fx.list(&format!("?limit={limit}&page={page}{filter}")).await;
        let got = ids(&body);
        by_page.extend(got.iter().cloned());
        if got.len() < limit {
            break;
        }
    }
    let mut by_cursor = Vec::new();
    let mut query = format!("?limit={limit}{filter}");
    loop {
        let body = fx.list(&query).await;
        let got = ids(&body);
        assert_eq!(body["pagination"]["total"].as_u64().unwrap() as usize, by_page.len(), "total ignores the cursor");
        let next = &body["pagination"]["nextCursor"];
        assert_eq!(next.is_string(), got.len() == limit, "a next cursor exactly when the page is full: {body}");
        by_cursor.extend(got);
        assert!(by_cursor.len() <= by_page.len(), "the cursor walk does not end");
        let Some(next) = next.as_str() else { break };
        // `page` is ignored next to a cursor.
        query = format!("?limit={limit}&cursor={next}&page=7{filter}");
    }
    (by_page, by_cursor)
}

#[tokio::test]
async fn walking_by_next_cursor_lists_every_license_once_in_order() {
    let fx = Fx::new().await;
    // Each batch shares one creation millisecond: the order within it is the id's.
    let mut made = Vec::new();
    for count in [20, 20, 7, 20] {
        let note = if count == 20 { "twenty" } else { "seven" };
        made.extend(fx.generate(json!({"count": count, "durationType": "30d", "note": note})).await);
    }
    for l in made.iter().step_by(3) {
        fx.action(l["id"].as_str().unwrap(), "ban", json!({})).await;
    }

    for (filter, limit) in [("", 10), ("", 1), ("", 67), ("", 100), ("&status=BANNED", 4), ("&search=TWENTY", 9)] {
        let (by_page, by_cursor) = walks(&fx, filter, limit).await;
        assert_eq!(by_cursor, by_page, "{filter:?}, limit {limit}");
        let unique: HashSet<&String> = by_cursor.iter().collect();
        assert_eq!(unique.len(), by_cursor.len(), "{filter:?}, limit {limit}: no license twice");
        let want = match filter {
            "&status=BANNED" => made.len().div_ceil(3),
            "&search=TWENTY" => 60,
            _ => made.len(),
        };
        assert_eq!(by_cursor.len(), want, "{filter:?}, limit {limit}: every license");
    }

    // In order: newest first, ties by id, as the listing's own order says.
    let (_, all) = walks(&fx, "", 100).await;
    let mut shown = Vec::new();
    for id in &all {
        let l = fx.show(id).await;
        shown.push((l["createdAt"].as_str().unwrap().to_owned(), id.clone()));
    }
    let mut sorted = shown.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(shown, sorted);

    // A cursor past the end: an empty last page.
    let last = fx.list("?limit=67").await;
    let cursor = last["pagination"]["nextCursor"].as_str().unwrap().to_owned();
    let end = fx.list(&format!("?limit=67&cursor={cursor}")).await;
    assert_eq!(end["data"], json!([]));
    assert_eq!(end["pagination"]["nextCursor"], Value::Null);
    assert_eq!(end["pagination"]["total"], 67);
}

#[tokio::test]
async fn a_bad_cursor_is_a_400_naming_cursor() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let fx = Fx::new().await;
    fx.generate(json!({"count": 3, "durationType": "30d"})).await;
    for bad in
        ["not-a-cursor!".to_owned(), "%00".to_owned(), b64("1234"), b64("soon:lic_x"), b64("1234:"), "A".repeat(300)]
    {
        let r = fx.s.get(&format!("{}?cursor={bad}", fx.path()), &fx.seller.token).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with("cursor:"), "{bad} -> {}", r.body);
    }
    // An empty cursor is no cursor.
    assert_eq!(fx.list("?cursor=").await["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn ban_unban_pause_unpause_reset_and_delete() {
    let fx = Fx::new().await;
    let fresh = fx.generate(json!({"count": 2, "durationType": "30d"})).await;
    let id = fresh[0]["id"].as_str().unwrap().to_owned();

    // ban with a reason: visible in GET; banned keys cannot be paused
    let r = fx.action(&id, "ban", json!({"reason": "Chargeback"})).await;
    assert_eq!(r, json!({"success": true, "message": "License banned"}));
    let got = fx.show(&id).await;
    assert_eq!((got["status"].clone(), got["banReason"].clone()), (json!("BANNED"), json!("Chargeback")));
    let r = fx.s.post(&format!("{}/pause", fx.lic(&id)), &fx.seller.token, json!({})).await;
    r.assert_error(409, "CONFLICT");
    assert_eq!(fx.show(&id).await["status"], "BANNED");
    // unpausing a banned key does not lift the ban
    assert_eq!(fx.action(&id, "unpause", json!({})).await["message"], "License unpaused");
    assert_eq!(fx.show(&id).await["status"], "BANNED");

    // unban: never used, so back to UNUSED, reason gone
    assert_eq!(fx.action(&id, "unban", json!({})).await["message"], "License unbanned");
    let got = fx.show(&id).await;
    assert_eq!((got["status"].clone(), got["banReason"].clone()), (json!("UNUSED"), Value::Null));

    // pause / unpause
    assert_eq!(fx.action(&id, "pause", json!({})).await["message"], "License paused");
    assert_eq!(fx.show(&id).await["status"], "PAUSED");
    assert_eq!(fx.action(&id, "unpause", json!({})).await["message"], "License unpaused");
    assert_eq!(fx.show(&id).await["status"], "UNUSED");

    // a ban without a body (and none of the other actions needs one)
    let r = fx.s.req(Method::POST, &format!("{}/ban", fx.lic(&id)), Some(&fx.seller.token), None).await;
    r.assert_status(200);
    assert_eq!(fx.show(&id).await["banReason"], Value::Null);
    assert_eq!(fx.show(&id).await["status"], "BANNED");

    // a used key goes back to USED, with its devices until they are reset
    let used = fx.used_license().await;
    fx.action(&used.id, "ban", json!({"reason": "sharing"})).await;
    fx.action(&used.id, "unban", json!({})).await;
    assert_eq!(fx.show(&used.id).await["status"], "USED");
    fx.action(&used.id, "pause", json!({})).await;
    assert_eq!(fx.show(&used.id).await["status"], "PAUSED");
    fx.action(&used.id, "unpause", json!({})).await;
    let got = fx.show(&used.id).await;
    assert_eq!(got["status"], "USED");
    assert_eq!(got["devices"], json!(["HWID-1", "HWID-2"]));
    assert_eq!(got["activatedAt"], rfc3339(&used.activated_at.unwrap()));
    assert_eq!(got["expiresAt"], rfc3339(&used.expires_at.unwrap()));
    let r = fx.action(&used.id, "reset-devices", json!({})).await;
    assert_eq!(r, json!({"success": true, "message": "Devices reset"}));
    let got = fx.show(&used.id).await;
    assert_eq!(got["devices"], json!([]));
    assert_eq!(got["status"], "USED");
    fx.action(&used.id, "reset-devices", json!({})).await;

    // delete
    let r = fx.s.delete(&fx.lic(&id), &fx.seller.token).await;
    r.assert_status(200);
    assert_eq!(r.body, json!({"success": true, "message": "License deleted"}));
    fx.s.get(&fx.lic(&id), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    fx.s.delete(&fx.lic(&id), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    assert_eq!(fx.total().await, 2, "only the deleted one is gone");

    // unknown license id: every route 404
    for action in ["ban", "unban", "pause", "unpause", "reset-devices"] {
        let r = fx.s.post(&format!("{}/{action}", fx.lic("lic_nope")), &fx.seller.token, json!({})).await;
        r.assert_error(404, "NOT_FOUND");
    }
    fx.s.get(&fx.lic("lic_nope"), &fx.seller.token).await.assert_error(404, "NOT_FOUND");

    // the audit trail saw the actions
    let audit = fx.s.state.store.list_audit(&fx.seller.id, PageRequest { page: 1, limit: 100 }).await.unwrap();
    let actions: HashSet<&str> = audit.items.iter().map(|a| a.action.as_str()).collect();
    for a in [
        "license.generate",
        "license.ban",
        "license.unban",
        "license.pause",
        "license.unpause",
        "license.reset_devices",
        "license.delete",
    ] {
        assert!(actions.contains(a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn ban_bad_input_names_the_field_and_changes_nothing() {
    let fx = Fx::new().await;
    let id = fx.generate(json!({"count": 1, "durationType": "30d"})).await[0]["id"].as_str().unwrap().to_owned();
    let ban = format!("{}/ban", fx.lic(&id));
    for body in [json!({"reason": "r".repeat(501)}), json!({"reason": 5}), json!({"reason": {"a": 1}})] {
        let r = fx.s.post(&ban, &fx.seller.token, body.clone()).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with("reason:"), "{body} -> {}", r.body);
    }
    fx.s.raw(Method::POST, &ban, Some(&fx.seller.token), b"{reason".to_vec()).await.assert_error(400, "INVALID_JSON");
    let got = fx.show(&id).await;
    assert_eq!((got["status"].clone(), got["banReason"].clone()), (json!("UNUSED"), Value::Null));
}

#[tokio::test]
async fn another_sellers_licenses_are_invisible() {
    let fx = Fx::new().await;
    let lics = fx.generate(json!({"count": 3, "durationType": "30d", "note": "mine"})).await;
    let id = lics[0]["id"].as_str().unwrap().to_owned();
    let before = fx.list("?limit=100").await;
    let intruder = fx.s.seller().await;
    let theirs = fx.s.create_app(&intruder, "Theirs").await;
    let their_app = theirs["id"].as_str().unwrap();

    // the owner's app through the intruder's token, and the owner's license through the
    // intruder's own app: both 404 on every route
    let bases = [fx.path(), format!("/v1/admin/apps/{their_app}/licenses")];
    for (i, base) in bases.iter().enumerate() {
        let t = &intruder.token;
        if i == 0 {
            fx.s.post(base, t, json!({"count": 5, "durationType": "30d"})).await.assert_error(404, "NOT_FOUND");
            fx.s.get(base, t).await.assert_error(404, "NOT_FOUND");
            fx.s.get(&format!("{base}?search=mine"), t).await.assert_error(404, "NOT_FOUND");
        }
        let one = format!("{base}/{id}");
        fx.s.get(&one, t).await.assert_error(404, "NOT_FOUND");
        fx.s.delete(&one, t).await.assert_error(404, "NOT_FOUND");
        for action in ["ban", "unban", "pause", "unpause", "reset-devices"] {
            fx.s.post(&format!("{one}/{action}"), t, json!({"reason": "x"})).await.assert_error(404, "NOT_FOUND");
        }
    }
    // the intruder's own app shows none of them
    let theirs = fx.s.get(&bases[1], &intruder.token).await;
    theirs.assert_status(200);
    assert_eq!(theirs.body["pagination"]["total"], 0);
    assert_eq!(fx.s.get(&format!("{}?search=mine", bases[1]), &intruder.token).await.body["pagination"]["total"], 0);

    // nothing changed for the owner
    assert_eq!(fx.list("?limit=100").await, before);
    assert_eq!(fx.show(&id).await["status"], "UNUSED");
}
