use reqwest::Method;
use serde_json::json;

use crate::harness::TestServer;

#[tokio::test]
async fn create_list_get_update_delete() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "My App").await;
    let id = app["id"].as_str().unwrap();
    assert!(id.starts_with("app_"));
    assert!(app["apiKey"].as_str().unwrap().starts_with("as_"));
    assert_eq!(app["wsKey"].as_str().unwrap().len(), 21);
    assert_eq!(app["ownerId"], seller.id.as_str());
    assert_eq!(app["version"], "1.0.0");
    assert_eq!(app["status"], "ACTIVE");
    // every app setting is present with its default
    for (k, v) in [
        ("hashCheck", json!(false)),
        ("hashes", json!([])),
        ("ipWhitelist", json!([])),
        ("blockVpn", json!(false)),
        ("blockedCountries", json!([])),
        ("sessionQuota", json!(null)),
        ("accountsQuota", json!(null)),
        ("hwidLock", json!(true)),
        ("allowPasswordChange", json!(true)),
        ("levelNames", json!({})),
    ] {
        assert_eq!(app[k], v, "{k}");
    }
    assert_eq!(app["versionControl"]["enabled"], false);
    assert_eq!(app["versionControl"]["rules"], json!([]));

    let list = s.get("/v1/admin/apps", &seller.token).await;
    list.assert_status(200);
    assert_eq!(list.data().as_array().unwrap().len(), 1);
    assert_eq!(list.data()[0]["_count"], json!({"appUsers": 0, "licenses": 0}));

    let path = format!("/v1/admin/apps/{id}");
    let got = s.get(&path, &seller.token).await;
    got.assert_status(200);
    assert_eq!(got.data()["apiKey"], app["apiKey"]);

    let upd = s
        .patch(
            &path,
            &seller.token,
            json!({
                "name": "Renamed", "version": "2.0.1", "status": "PAUSED",
                "hashCheck": true, "hashes": ["AB".repeat(32)],
                "ipWhitelist": ["10.0.0.0/8"], "blockVpn": true, "blockedCountries": ["de"],
                "versionControl": {"enabled": true, "autoUpdate": true, "downloadUrl": "https://example.com/dl",
                    "forceUpdate": false, "changelog": "fixes",
                    "rules": [{"version": "1.9", "mode": "REMIND", "message": "please update"},
                              {"version": "1.8", "mode": "GRACE", "allowedUntil": "2026-07-01T00:00:00Z"}]},
                "sessionQuota": 10, "accountsQuota": 500, "hwidLock": false, "allowPasswordChange": false,
                "levelNames": {"1": "Premium"}
            }),
        )
        .await;
    upd.assert_status(200);
    let got = s.get(&path, &seller.token).await;
    let d = got.data();
    assert_eq!(d["name"], "Renamed");
    assert_eq!(d["version"], "2.0.1");
    assert_eq!(d["status"], "PAUSED");
    assert_eq!(d["hashes"], json!(["ab".repeat(32)]));
    assert_eq!(d["ipWhitelist"], json!(["10.0.0.0/8"]));
    assert_eq!(d["blockedCountries"], json!(["DE"]));
    assert_eq!(d["versionControl"]["rules"][1]["mode"], "GRACE");
    assert_eq!(d["versionControl"]["rules"][1]["allowedUntil"], "2026-07-01T00:00:00.000Z");
    assert_eq!(d["sessionQuota"], 10);
    assert_eq!(d["levelNames"]["1"], "Premium");
    assert_eq!(d["hwidLock"], false);

    // null clears a quota; absent fields stay
    s.patch(&path, &seller.token, json!({"sessionQuota": null})).await.assert_status(200);
    let d = s.get(&path, &seller.token).await.data().clone();
    assert_eq!(d["sessionQuota"], json!(null));
    assert_eq!(d["accountsQuota"], 500);

    let del = s.delete(&path, &seller.token).await;
    del.assert_status(200);
    assert_eq!(del.body["message"], "Application deleted");
    s.get(&path, &seller.token).await.assert_error(404, "NOT_FOUND");
    s.delete(&path, &seller.token).await.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn regenerate_key_invalidates_old_key() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Keys").await;
    let id = app["id"].as_str().unwrap();
    let r = s.post(&format!("/v1/admin/apps/{id}/regenerate-key"), &seller.token, json!({})).await;
    r.assert_status(200);
    let new_key = r.data()["apiKey"].as_str().unwrap();
    assert_ne!(new_key, app["apiKey"].as_str().unwrap());
    let stored = s.state.store.app_by_id(id).await.unwrap().unwrap();
    assert_eq!(stored.api_key, new_key);
}

#[tokio::test]
async fn duplicate_name_is_409_but_case_differs_is_fine() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    s.create_app(&seller, "Dup").await;
    s.post("/v1/admin/apps", &seller.token, json!({"name": "Dup"})).await.assert_error(409, "CONFLICT");
    s.post("/v1/admin/apps", &seller.token, json!({"name": "dup"})).await.assert_status(201);
    // another seller may use the same name
    let other = s.seller().await;
    s.post("/v1/admin/apps", &other.token, json!({"name": "Dup"})).await.assert_status(201);
}

#[tokio::test]
async fn bad_input_names_the_field_and_changes_nothing() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    s.post("/v1/admin/apps", &seller.token, json!({})).await.assert_error(400, "MISSING_FIELDS");
    s.post("/v1/admin/apps", &seller.token, json!({"name": 5})).await.assert_error(400, "VALIDATION_ERROR");
    s.post("/v1/admin/apps", &seller.token, json!({"name": "x", "version": "one"}))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    s.raw(Method::POST, "/v1/admin/apps", Some(&seller.token), b"{\"name\": ".to_vec())
        .await
        .assert_error(400, "INVALID_JSON");

    let app = s.create_app(&seller, "Strict").await;
    let path = format!("/v1/admin/apps/{}", app["id"].as_str().unwrap());
    let before = s.get(&path, &seller.token).await.data().clone();
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"version": "1.a"}), "version"),
        (json!({"status": "ON"}), "status"),
        (json!({"hashes": ["xyz"]}), "hashes"),
        (json!({"ipWhitelist": ["1.2.3.4/40"]}), "ipWhitelist"),
        (json!({"blockedCountries": ["Germany"]}), "blockedCountries"),
        (json!({"versionControl": {"rules": [{"version": "1.0", "mode": "LATER"}]}}), "versionControl.rules[0].mode"),
        (
            json!({"versionControl": {"rules": [{"version": "1.0", "mode": "GRACE", "allowedUntil": "tomorrow"}]}}),
            "versionControl.rules[0].allowedUntil",
        ),
        (json!({"versionControl": {"downloadUrl": "javascript:alert(1)"}}), "versionControl.downloadUrl"),
        (json!({"sessionQuota": -1}), "sessionQuota"),
        (json!({"hwidLock": "yes"}), "hwidLock"),
        (json!({"levelNames": {"gold": "Gold"}}), "levelNames"),
        // a valid field beside an invalid one is not applied either
        (json!({"name": "Changed", "hashes": ["nope"]}), "hashes"),
    ];
    for (body, field) in cases {
        let r = s.patch(&path, &seller.token, body.clone()).await;
        r.assert_status(400);
        let msg = r.body["message"].as_str().unwrap();
        assert!(msg.starts_with(field), "{body} -> {msg}");
    }
    let after = s.get(&path, &seller.token).await.data().clone();
    assert_eq!(before, after);
}

#[tokio::test]
async fn another_sellers_app_is_invisible() {
    let s = TestServer::start().await;
    let owner = s.seller().await;
    let intruder = s.seller().await;
    let app = s.create_app(&owner, "Mine").await;
    let id = app["id"].as_str().unwrap();
    let path = format!("/v1/admin/apps/{id}");
    s.get(&path, &intruder.token).await.assert_error(404, "NOT_FOUND");
    s.patch(&path, &intruder.token, json!({"name": "Stolen"})).await.assert_error(404, "NOT_FOUND");
    s.post(&format!("{path}/regenerate-key"), &intruder.token, json!({})).await.assert_error(404, "NOT_FOUND");
    s.delete(&path, &intruder.token).await.assert_error(404, "NOT_FOUND");
    assert_eq!(s.get("/v1/admin/apps", &intruder.token).await.data(), &json!([]));
    let still = s.get(&path, &owner.token).await;
    still.assert_status(200);
    assert_eq!(still.data()["name"], "Mine");
    assert_eq!(still.data()["apiKey"], app["apiKey"]);
}

#[tokio::test]
async fn admin_routes_need_a_token() {
    let s = TestServer::start().await;
    s.req(Method::GET, "/v1/admin/apps", None, None).await.assert_error(401, "UNAUTHORIZED");
    s.req(Method::POST, "/v1/admin/apps", None, Some(json!({"name": "x"}))).await.assert_error(401, "UNAUTHORIZED");
}
