//! A seller's daily license work over HTTP: extend, edit, look up by key in any case, keys
//! without look-alike characters, free durations (`12h`, `14d`) — and what a client program
//! then meets when it redeems the keys (Authly v2 license login, register, extend).

use std::sync::Arc;

use chrono::Duration;
use serde_json::{json, Value};
use tollgate_core::ids;
use tollgate_core::model::{Creator, License, LicenseStatus};
use tollgate_core::time::{now, Timestamp};
use tollgate_core::DurationType;

use crate::authly::{call, client_app, init, keys, ClientApp};
use crate::authly_accounts::{admin, near, ts};
use crate::harness::{Resp, TestServer};

async fn key_login(s: &TestServer, sid: &str, key: &str, hwid: &str) -> Resp {
    call(s, "licenses", json!({ "session_id": sid, "license_key": key, "sid": hwid })).await
}

/// Generate through the admin API; the whole license objects.
async fn generate(s: &TestServer, app: &ClientApp, body: Value) -> Vec<Value> {
    let r = s.post(&admin(app, "/licenses"), &app.seller.token, body).await;
    r.assert_status(201);
    r.data().as_array().unwrap().clone()
}

async fn show(s: &TestServer, app: &ClientApp, id: &str) -> Value {
    let r = s.get(&admin(app, &format!("/licenses/{id}")), &app.seller.token).await;
    r.assert_status(200);
    r.data().clone()
}

async fn extend(s: &TestServer, app: &ClientApp, id: &str, body: Value) -> Resp {
    s.post(&admin(app, &format!("/licenses/{id}/extend")), &app.seller.token, body).await
}

/// A used key written straight into the store, expiring at `expires_at` (for a state the API
/// cannot make quickly: expired).
async fn stored_used(s: &TestServer, app: &ClientApp, status: LicenseStatus, expires_at: Timestamp) -> License {
    let at = now();
    let license = License {
        id: ids::new_id(ids::prefix::LICENSE),
        app_id: app.id.clone(),
        key: format!("AGED-{}", ids::random_hex(6).to_uppercase()),
        status,
        level: 1,
        duration: DurationType::Days(7),
        max_devices: 1,
        note: None,
        prefix: Some("AGED".into()),
        created_by: Creator::Seller(app.seller.id.clone()),
        created_at: at - Duration::days(9),
        activated_at: Some(at - Duration::days(8)),
        expires_at: Some(expires_at),
        user_id: None,
        devices: vec![],
        ban_reason: None,
    };
    s.state.store.insert_licenses(std::slice::from_ref(&license)).await.unwrap();
    license
}

#[track_caller]
fn assert_validation(r: &Resp, field: &str) {
    r.assert_error(400, "VALIDATION_ERROR");
    let message = r.body["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("{field}: ")), "{field}: {}", r.body);
}

// ---------------------------------------------------------------- extend

#[tokio::test]
async fn extending_a_used_key_moves_its_expiry_and_the_client_sees_it() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let lic = generate(&s, &app, json!({ "count": 1, "durationType": "30d" })).await.remove(0);
    let (id, key) = (lic["id"].as_str().unwrap(), lic["key"].as_str().unwrap());
    let sid = init(&s, &app).await;
    let r = key_login(&s, &sid, key, "HWID-1").await;
    r.assert_status(200);
    let before = ts(&r.body["license"]["expiry_date"]);
    assert_eq!(ts(&show(&s, &app, id).await["expiresAt"]), before);

    let r = extend(&s, &app, id, json!({ "days": 5 })).await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "License extended by 5 days");
    let data = r.data();
    assert_eq!(ts(&data["expiresAt"]), before + Duration::days(5));
    assert_eq!(data["id"], id);
    assert_eq!(data["status"], "USED");
    assert_eq!(data["durationType"], "30d", "a used key keeps its duration");
    assert_eq!(data["user"], Value::Null);
    assert_eq!(ts(&show(&s, &app, id).await["expiresAt"]), before + Duration::days(5), "stored");

    // the client program's next license login answers the new expiry
    let r = key_login(&s, &init(&s, &app).await, key, "HWID-1").await;
    r.assert_status(200);
    assert_eq!(ts(&r.body["license"]["expiry_date"]), before + Duration::days(5));

    // by a duration
    let r = extend(&s, &app, id, json!({ "duration": "12h" })).await;
    r.assert_status(200);
    assert_eq!(r.body["message"], "License extended by 12 hours");
    assert_eq!(ts(&r.data()["expiresAt"]), before + Duration::days(5) + Duration::hours(12));
}

#[tokio::test]
async fn extending_an_unused_key_grows_its_duration_until_first_use() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let lics = generate(&s, &app, json!({ "count": 2, "durationType": "30d" })).await;
    let id = lics[0]["id"].as_str().unwrap();
    let r = extend(&s, &app, id, json!({ "days": 2 })).await;
    r.assert_status(200);
    assert_eq!(r.body["message"], "License extended by 2 days");
    assert_eq!(r.data()["durationType"], "32d");
    assert_eq!(r.data()["expiresAt"], Value::Null, "the clock starts at first use");
    assert_eq!(r.data()["status"], "UNUSED");
    assert_eq!(show(&s, &app, id).await["durationType"], "32d");

    let r = key_login(&s, &init(&s, &app).await, lics[0]["key"].as_str().unwrap(), "HWID-1").await;
    r.assert_status(200);
    let expiry = ts(&r.body["license"]["expiry_date"]);
    near(expiry, now() + Duration::days(32));
    let stored = show(&s, &app, id).await;
    assert_eq!(ts(&stored["expiresAt"]) - ts(&stored["activatedAt"]), Duration::days(32));

    // hours on a day-long key: the duration is then in hours
    let other = lics[1]["id"].as_str().unwrap();
    let r = extend(&s, &app, other, json!({ "duration": "12h" })).await;
    r.assert_status(200);
    assert_eq!(r.data()["durationType"], "732h");
}

#[tokio::test]
async fn an_expired_key_extended_is_usable_again() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    for status in [LicenseStatus::Used, LicenseStatus::Expired] {
        let lic = stored_used(&s, &app, status, now() - Duration::minutes(5)).await;
        let sid = init(&s, &app).await;
        let r = key_login(&s, &sid, &lic.key, "HWID-1").await;
        r.assert_error(403, "LICENSE_EXPIRED");

        let r = extend(&s, &app, &lic.id, json!({ "duration": "12h" })).await;
        r.assert_status(200);
        let expiry = ts(&r.data()["expiresAt"]);
        near(expiry, now() + Duration::hours(12));
        assert_eq!(r.data()["status"], "USED", "{status}");

        let r = key_login(&s, &sid, &lic.key, "HWID-1").await;
        r.assert_status(200);
        assert_eq!(ts(&r.body["license"]["expiry_date"]), expiry);
    }
    // the counts followed the EXPIRED key back to USED
    let r = s.get(&admin(&app, "/licenses?status=EXPIRED"), &app.seller.token).await;
    assert_eq!(r.body["pagination"]["total"], 0);
    let r = s.get(&admin(&app, "/licenses?status=USED"), &app.seller.token).await;
    assert_eq!(r.body["pagination"]["total"], 2);
}

#[tokio::test]
async fn lifetime_keys_are_not_extended() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let lics = generate(&s, &app, json!({ "count": 2, "durationType": "lifetime" })).await;
    let used = lics[1]["id"].as_str().unwrap();
    key_login(&s, &init(&s, &app).await, lics[1]["key"].as_str().unwrap(), "HWID-1").await.assert_status(200);
    for l in [lics[0]["id"].as_str().unwrap(), used] {
        let before = show(&s, &app, l).await;
        let r = extend(&s, &app, l, json!({ "days": 1 })).await;
        r.assert_error(409, "CONFLICT");
        assert_eq!(r.body["message"], "A lifetime license cannot be extended");
        assert_eq!(show(&s, &app, l).await, before, "nothing written");
    }
}

#[tokio::test]
async fn extending_a_registered_key_moves_its_user_too() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let lic = generate(&s, &app, json!({ "count": 1, "durationType": "7d" })).await.remove(0);
    let sid = init(&s, &app).await;
    let r = call(
        &s,
        "register",
        json!({ "session_id": sid, "username": "carol", "password": "hunter2-pass", "key": lic["key"], "hwid": "HWID-1" }),
    )
    .await;
    r.assert_status(200);
    let user_before = ts(&r.body["user"]["expiry_date"]);
    let id = lic["id"].as_str().unwrap();
    let license_before = ts(&show(&s, &app, id).await["expiresAt"]);

    let r = extend(&s, &app, id, json!({ "days": 3 })).await;
    r.assert_status(200);
    assert_eq!(ts(&r.data()["expiresAt"]), license_before + Duration::days(3));
    let user = &r.data()["user"];
    assert_eq!(ts(&user["expiresAt"]), user_before + Duration::days(3));
    let user_id = user["id"].as_str().unwrap();
    let stored = s.get(&admin(&app, &format!("/users/{user_id}")), &app.seller.token).await;
    stored.assert_status(200);
    assert_eq!(stored.data()["username"], "carol");
    assert_eq!(ts(&stored.data()["expiresAt"]), user_before + Duration::days(3));

    // the account's next login shows it
    let r = call(
        &s,
        "login",
        json!({ "session_id": init(&s, &app).await, "username": "carol", "password": "hunter2-pass", "sid": "HWID-1", "ip": "" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(ts(&r.body["user"]["expiry_date"]), user_before + Duration::days(3));
}

#[tokio::test]
async fn bad_extensions_are_refused_with_nothing_written() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let lic = generate(&s, &app, json!({ "count": 1, "durationType": "30d" })).await.remove(0);
    let id = lic["id"].as_str().unwrap();
    for (body, field) in [
        (json!({}), "days"),
        (json!({ "days": 1, "duration": "1d" }), "days"),
        (json!({ "days": 0 }), "days"),
        (json!({ "days": -3 }), "days"),
        (json!({ "days": 36_501 }), "days"),
        (json!({ "days": "5" }), "days"),
        (json!({ "days": 1.5 }), "days"),
        (json!({ "duration": "lifetime" }), "duration"),
        (json!({ "duration": "2w" }), "duration"),
        (json!({ "duration": "0h" }), "duration"),
        (json!({ "duration": "36501d" }), "duration"),
        (json!({ "duration": 5 }), "duration"),
        (json!({ "days": 36_500, "extra": true }), "extra"),
    ] {
        let r = extend(&s, &app, id, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        if field != "extra" {
            assert_validation(&r, field);
        }
    }
    // past 100 years in all: 36500 days on a 30-day key
    let r = extend(&s, &app, id, json!({ "days": 36_500 })).await;
    assert_validation(&r, "days");
    assert_eq!(show(&s, &app, id).await, lic, "nothing written");

    extend(&s, &app, "lic_missing", json!({ "days": 1 })).await.assert_error(404, "NOT_FOUND");
    // another seller's app, or its license through one's own app: not found
    let intruder = client_app(&s).await;
    let r = s.post(&admin(&app, &format!("/licenses/{id}/extend")), &intruder.seller.token, json!({ "days": 1 })).await;
    r.assert_error(404, "NOT_FOUND");
    extend(&s, &intruder, id, json!({ "days": 1 })).await.assert_error(404, "NOT_FOUND");
    assert_eq!(show(&s, &app, id).await, lic);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_extensions_each_count() {
    let s = Arc::new(TestServer::start().await);
    let app = Arc::new(client_app(&s).await);
    let lics = generate(&s, &app, json!({ "count": 2, "durationType": "30d" })).await;
    let used = lics[0]["id"].as_str().unwrap().to_owned();
    key_login(&s, &init(&s, &app).await, lics[0]["key"].as_str().unwrap(), "HWID-1").await.assert_status(200);
    let before = ts(&show(&s, &app, &used).await["expiresAt"]);
    let unused = lics[1]["id"].as_str().unwrap().to_owned();
    for id in [&used, &unused] {
        let tasks = (0..20).map(|_| {
            let (s, app, id) = (s.clone(), app.clone(), id.clone());
            tokio::spawn(async move { extend(&s, &app, &id, json!({ "days": 1 })).await })
        });
        for r in futures::future::join_all(tasks).await {
            r.unwrap().assert_status(200);
        }
    }
    assert_eq!(ts(&show(&s, &app, &used).await["expiresAt"]), before + Duration::days(20));
    assert_eq!(show(&s, &app, &unused).await["durationType"], "50d");
}

// ---------------------------------------------------------------- edit

#[tokio::test]
async fn patch_changes_the_fields_given_and_the_client_sees_them() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let lic = generate(&s, &app, json!({ "count": 1, "durationType": "30d", "note": "first", "maxDevices": 2 }))
        .await
        .remove(0);
    let id = lic["id"].as_str().unwrap();
    let path = admin(&app, &format!("/licenses/{id}"));

    let r = s.patch(&path, &app.seller.token, json!({ "level": 5 })).await;
    r.assert_status(200);
    let mut want = lic.clone();
    want["level"] = json!(5);
    assert_eq!(r.data(), &want, "only the level changed");
    let r = s.patch(&path, &app.seller.token, json!({ "note": "second", "maxDevices": 3 })).await;
    r.assert_status(200);
    want["note"] = json!("second");
    want["maxDevices"] = json!(3);
    assert_eq!(r.data(), &want);
    let r = s.patch(&path, &app.seller.token, json!({ "note": null })).await;
    r.assert_status(200);
    want["note"] = Value::Null;
    assert_eq!(r.data(), &want);
    let r = s.patch(&path, &app.seller.token, json!({})).await;
    r.assert_status(200);
    assert_eq!(r.data(), &want, "nothing given, nothing changed");
    assert_eq!(show(&s, &app, id).await, want);

    // the client program gets the new level
    let key = lic["key"].as_str().unwrap();
    let sid = init(&s, &app).await;
    let r = key_login(&s, &sid, key, "HWID-1").await;
    r.assert_status(200);
    assert_eq!(r.body["license"]["subscription_level"], 5);
    key_login(&s, &sid, key, "HWID-2").await.assert_status(200);

    // lowering maxDevices below the bound devices keeps them; no new one binds
    let r = s.patch(&path, &app.seller.token, json!({ "maxDevices": 1 })).await;
    r.assert_status(200);
    assert_eq!(r.data()["maxDevices"], 1);
    assert_eq!(r.data()["devices"], json!(["HWID-1", "HWID-2"]));
    key_login(&s, &sid, key, "HWID-2").await.assert_status(200);
    key_login(&s, &sid, key, "HWID-3").await.assert_error(403, "DEVICE_LIMIT_REACHED");
}

#[tokio::test]
async fn patch_refuses_bad_values_with_nothing_changed() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let lic = generate(&s, &app, json!({ "count": 1, "durationType": "7d", "note": "keep" })).await.remove(0);
    let id = lic["id"].as_str().unwrap();
    let path = admin(&app, &format!("/licenses/{id}"));
    for (body, field) in [
        (json!({ "level": -1 }), "level"),
        (json!({ "level": 1_000_001 }), "level"),
        (json!({ "level": "5" }), "level"),
        (json!({ "maxDevices": 0 }), "maxDevices"),
        (json!({ "maxDevices": 1001 }), "maxDevices"),
        (json!({ "note": "n".repeat(501) }), "note"),
        (json!({ "note": 7 }), "note"),
        (json!({ "level": 2, "maxDevices": 0 }), "maxDevices"),
        (json!({ "status": "BANNED" }), "status"),
        (json!({ "level": 2, "key": "MINE" }), "key"),
    ] {
        let r = s.patch(&path, &app.seller.token, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains(field), "{body}: {}", r.body);
        assert_eq!(show(&s, &app, id).await, lic, "{body}: nothing changed");
    }
    let r = s.patch(&admin(&app, "/licenses/lic_missing"), &app.seller.token, json!({ "level": 2 })).await;
    r.assert_error(404, "NOT_FOUND");
    let intruder = client_app(&s).await;
    s.patch(&path, &intruder.seller.token, json!({ "level": 2 })).await.assert_error(404, "NOT_FOUND");
    let theirs = admin(&intruder, &format!("/licenses/{id}"));
    s.patch(&theirs, &intruder.seller.token, json!({ "level": 2 })).await.assert_error(404, "NOT_FOUND");
    assert_eq!(show(&s, &app, id).await, lic);
}

// ---------------------------------------------------------------- keys and their case

#[tokio::test]
async fn a_license_is_found_by_its_key_in_any_case() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let lic = generate(&s, &app, json!({ "count": 1, "durationType": "30d", "prefix": "vip" })).await.remove(0);
    let key = lic["key"].as_str().unwrap();
    assert!(key.starts_with("VIP-"), "the prefix is upper-cased: {key}");
    assert_eq!(lic["prefix"], "VIP");
    let mixed: String =
        key.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_lowercase() } else { c }).collect();
    for spelling in [key.to_owned(), key.to_lowercase(), mixed] {
        let r = s.get(&admin(&app, &format!("/licenses/by-key/{spelling}")), &app.seller.token).await;
        r.assert_status(200);
        assert_eq!(r.data(), &lic, "{spelling}");
    }
    let r = s.get(&admin(&app, "/licenses/by-key/VIP-NOPE-NOPE-NOPE"), &app.seller.token).await;
    r.assert_error(404, "NOT_FOUND");
    assert_eq!(r.body["message"], "License not found");
    let r = s.get(&admin(&app, &format!("/licenses/by-key/{}", &key[..key.len() - 1])), &app.seller.token).await;
    r.assert_error(404, "NOT_FOUND");
    let r = s.get(&admin(&app, &format!("/licenses/by-key/{}", "K".repeat(200))), &app.seller.token).await;
    r.assert_error(404, "NOT_FOUND");

    // another seller: not through the app, not through their own app
    let intruder = client_app(&s).await;
    let r = s.get(&admin(&app, &format!("/licenses/by-key/{key}")), &intruder.seller.token).await;
    r.assert_error(404, "NOT_FOUND");
    let r = s.get(&admin(&intruder, &format!("/licenses/by-key/{key}")), &intruder.seller.token).await;
    r.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_key_typed_in_lower_case_redeems() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let k = keys(&s, &app, 3, json!({ "durationType": "7d" })).await;

    // license login
    let sid = init(&s, &app).await;
    let r = key_login(&s, &sid, &k[0].to_lowercase(), "HWID-1").await;
    r.assert_status(200);
    assert_eq!(r.body["license"]["license_key"], k[0].as_str(), "the key as stored");
    let r = key_login(&s, &sid, &k[0].to_lowercase(), "HWID-1").await;
    r.assert_status(200);

    // register, then extend the account, both with lower-case keys
    let sid = init(&s, &app).await;
    let r = call(
        &s,
        "register",
        json!({ "session_id": sid, "username": "dave", "password": "hunter2-pass", "key": k[1].to_lowercase(), "hwid": "HWID-1" }),
    )
    .await;
    r.assert_status(200);
    let r = call(
        &s,
        "extend",
        json!({ "session_id": sid, "username": "dave", "license_key": k[2].to_lowercase(), "sid": "HWID-1" }),
    )
    .await;
    r.assert_status(200);
    assert_eq!(r.body["license"]["license_key"], k[2].as_str());
    for key in &k {
        let r = s.get(&admin(&app, &format!("/licenses/by-key/{key}")), &app.seller.token).await;
        assert_eq!(r.data()["status"], "USED", "{key}");
    }
}

#[tokio::test]
async fn generated_keys_have_no_look_alike_characters() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let mut random_parts = String::new();
    for body in [
        json!({ "count": 100, "durationType": "1d" }),
        json!({ "count": 100, "durationType": "1d" }),
        json!({ "count": 100, "durationType": "1d", "prefix": "vip" }),
        json!({ "count": 100, "durationType": "1d", "prefix": "TRIAL" }),
        json!({ "count": 100, "durationType": "1d", "mask": "XXXXX-XXXXX-XXXXX-XXXXX" }),
    ] {
        for l in generate(&s, &app, body.clone()).await {
            let key = l["key"].as_str().unwrap();
            assert_eq!(key, key.to_ascii_uppercase(), "{key}");
            let random = match body["prefix"].as_str() {
                Some(p) => key.strip_prefix(&format!("{}-", p.to_ascii_uppercase())).unwrap().to_owned(),
                None => key.to_owned(),
            };
            random_parts.push_str(&random.replace('-', ""));
        }
    }
    // 200 keys of 16 random characters, 200 of 12 after a prefix, 100 masks of 20
    assert_eq!(random_parts.len(), 200 * 16 + 200 * 12 + 100 * 20);
    for bad in ['0', 'O', '1', 'I', 'L'] {
        assert!(!random_parts.contains(bad), "{bad} in a generated key");
    }
    for good in "ABCDEFGHJKMNPQRSTUVWXYZ23456789".chars() {
        assert!(random_parts.contains(good), "{good} never drawn in 7600 characters");
    }
    let r = s.get(&admin(&app, "/licenses"), &app.seller.token).await;
    assert_eq!(r.body["pagination"]["total"], 500);
}

// ---------------------------------------------------------------- free durations

#[tokio::test]
async fn twelve_hour_and_fourteen_day_keys_generate_list_redeem_and_expire_on_time() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    for (text, span) in [("12h", Duration::hours(12)), ("14d", Duration::days(14)), ("24h", Duration::days(1))] {
        let lic = generate(&s, &app, json!({ "count": 1, "durationType": text })).await.remove(0);
        assert_eq!(lic["durationType"], text, "answered as written");
        let id = lic["id"].as_str().unwrap();
        let r =
            s.get(&admin(&app, &format!("/licenses?search={}", lic["key"].as_str().unwrap())), &app.seller.token).await;
        assert_eq!(r.data()[0]["durationType"], text, "listed as written");

        let r = key_login(&s, &init(&s, &app).await, lic["key"].as_str().unwrap(), "HWID-1").await;
        r.assert_status(200);
        let expiry = ts(&r.body["license"]["expiry_date"]);
        near(expiry, now() + span);
        let stored = show(&s, &app, id).await;
        assert_eq!(stored["durationType"], text);
        assert_eq!(ts(&stored["expiresAt"]), expiry);
        assert_eq!(expiry - ts(&stored["activatedAt"]), span, "{text}: expires exactly that long after first use");
    }
    for bad in ["2w", "0h", "12H", "876001h", "36501d", "1.5d", "forever"] {
        let r = s.post(&admin(&app, "/licenses"), &app.seller.token, json!({ "count": 1, "durationType": bad })).await;
        assert_validation(&r, "durationType");
    }
}

#[tokio::test]
async fn a_device_license_takes_a_free_duration_too() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let path = admin(&app, "/devices");
    let body = json!({ "deviceType": "motherboard", "deviceId": "MB-12H", "duration": "12h" });
    let r = s.post(&path, &app.seller.token, body).await;
    r.assert_status(201);
    assert_eq!(ts(&r.data()["expiresAt"]) - ts(&r.data()["createdAt"]), Duration::hours(12));
    let body = json!({ "deviceType": "processor", "deviceId": "CPU-14D", "duration": "14d" });
    let r = s.post(&path, &app.seller.token, body).await;
    r.assert_status(201);
    assert_eq!(ts(&r.data()["expiresAt"]) - ts(&r.data()["createdAt"]), Duration::days(14));
    for (body, field) in [
        (json!({ "deviceType": "processor", "deviceId": "X1", "duration": "lifetime" }), "duration"),
        (json!({ "deviceType": "processor", "deviceId": "X2", "duration": "2w" }), "duration"),
        (json!({ "deviceType": "processor", "deviceId": "X3", "duration": "1d", "days": 1 }), "days"),
    ] {
        assert_validation(&s.post(&path, &app.seller.token, body).await, field);
    }
    let r = s.get(&path, &app.seller.token).await;
    assert_eq!(r.body["pagination"]["total"], 2, "nothing else was created");
}
