//! The app settings page: every setting round trip, inline errors with nothing written, the
//! keys, regenerating the API key, pause and delete.

use serde_json::{json, Value};

use crate::authly;
use crate::harness::TestServer;
use crate::web::Web;

const HASH: &str = "ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01";

/// Every field of the settings form, filled in.
fn full_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "Renamed App"),
        ("version", "2.0.1"),
        ("status", "DISABLED"),
        ("hashCheck", "on"),
        ("hashes", HASH),
        ("ipWhitelist", "10.0.0.0/8\n1.2.3.4"),
        ("blockVpn", "on"),
        ("blockedCountries", "ru, kp"),
        ("versionControl.enabled", "on"),
        ("versionControl.autoUpdate", "on"),
        ("versionControl.forceUpdate", "on"),
        ("versionControl.downloadUrl", "https://dl.example.com/app"),
        ("versionControl.changelog", "Fixed things"),
        ("versionControl.rules", "1.9 | GRACE | 2030-01-01T00:00:00Z | Please update\n1.8 | ALLOW"),
        ("sessionQuota", "5"),
        ("accountsQuota", ""),
        // hwidLock left unticked: false
        ("allowPasswordChange", "on"),
        ("accountsRequireLicense", "on"),
        ("licenseFileTtl", "86400"),
        ("levelNames", "1=Basic\n2 = Pro"),
        ("resellerPrices", "30d=5\nlifetime=20"),
    ]
}

async fn app_json(srv: &TestServer, token: &str, app_id: &str) -> Value {
    let r = srv.get(&format!("/v1/admin/apps/{app_id}"), token).await;
    r.assert_status(200);
    r.data().clone()
}

#[tokio::test]
async fn settings_round_trip_every_field() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let id = web.create_app("Settings App").await;
    let path = format!("/apps/{id}/settings");
    let before = app_json(&srv, &seller.token, &id).await;
    let p = web.get(&path).await;
    p.assert_status(200)
        .assert_contains("id=\"settings-form\"")
        .assert_contains(&format!("id=\"api-key\">{}<", before["apiKey"].as_str().unwrap()))
        .assert_contains(before["wsKey"].as_str().unwrap())
        .assert_contains("BEGIN PUBLIC KEY")
        .assert_contains("id=\"save-settings\"")
        .assert_contains("id=\"hwidLock\" name=\"hwidLock\" checked");

    web.post(&path, &full_form()).await.assert_redirect(&path);
    web.get(&path).await.assert_contains("Settings saved.");
    let a = app_json(&srv, &seller.token, &id).await;
    assert_eq!(a["name"], "Renamed App");
    assert_eq!(a["version"], "2.0.1");
    assert_eq!(a["status"], "DISABLED");
    assert_eq!(a["hashCheck"], true);
    assert_eq!(a["hashes"], json!([HASH]));
    assert_eq!(a["ipWhitelist"], json!(["10.0.0.0/8", "1.2.3.4/32"]));
    assert_eq!(a["blockVpn"], true);
    assert_eq!(a["blockedCountries"], json!(["RU", "KP"]));
    let vc = &a["versionControl"];
    assert_eq!(
        (vc["enabled"].clone(), vc["autoUpdate"].clone(), vc["forceUpdate"].clone()),
        (json!(true), json!(true), json!(true))
    );
    assert_eq!(vc["downloadUrl"], "https://dl.example.com/app");
    assert_eq!(vc["changelog"], "Fixed things");
    assert_eq!(vc["rules"][0]["version"], "1.9");
    assert_eq!(vc["rules"][0]["mode"], "GRACE");
    assert_eq!(vc["rules"][0]["message"], "Please update");
    assert!(vc["rules"][0]["allowedUntil"].as_str().unwrap().starts_with("2030-01-01T00:00:00"));
    assert_eq!(vc["rules"][1]["mode"], "ALLOW");
    assert_eq!(a["sessionQuota"], 5);
    assert_eq!(a["accountsQuota"], Value::Null);
    assert_eq!(a["hwidLock"], false);
    assert_eq!(a["allowPasswordChange"], true);
    assert_eq!(a["accountsRequireLicense"], true);
    assert_eq!(a["licenseFileTtl"], 86400);
    assert_eq!(a["levelNames"], json!({"1": "Basic", "2": "Pro"}));
    assert_eq!(a["resellerPrices"], json!({"30d": 5, "lifetime": 20}));

    // The page shows what is stored, and saving it unchanged changes nothing.
    let p = web.get(&path).await;
    p.assert_contains("value=\"Renamed App\"")
        .assert_contains("1.9 | GRACE | 2030-01-01T00:00:00")
        .assert_contains("30d=5")
        .assert_contains("<option value=\"DISABLED\" selected>");
    let mut same = full_form();
    same.retain(|(k, _)| *k != "versionControl.rules");
    same.push(("versionControl.rules", "1.9 | GRACE | 2030-01-01T00:00:00.000Z | Please update\n1.8 | ALLOW"));
    web.post(&path, &same).await.assert_redirect(&path);
    assert_eq!(app_json(&srv, &seller.token, &id).await["versionControl"], a["versionControl"]);

    // Blank quota clears it; unticked boxes are false.
    let mut form = full_form();
    form.retain(|(k, _)| !["sessionQuota", "hashCheck", "blockVpn"].contains(k));
    form.push(("sessionQuota", ""));
    web.post(&path, &form).await.assert_redirect(&path);
    let a = app_json(&srv, &seller.token, &id).await;
    assert_eq!(
        (a["sessionQuota"].clone(), a["hashCheck"].clone(), a["blockVpn"].clone()),
        (Value::Null, json!(false), json!(false))
    );
}

#[tokio::test]
async fn each_invalid_setting_is_shown_beside_its_field_and_nothing_is_written() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let id = web.create_app("Strict App").await;
    let path = format!("/apps/{id}/settings");
    let before = app_json(&srv, &seller.token, &id).await;
    let cases: &[(&str, &str, &str)] = &[
        ("name", "   ", "name"),
        ("version", "1.x", "version"),
        ("status", "GONE", "status"),
        ("hashes", "abc", "hashes"),
        ("ipWhitelist", "300.1.1.1", "ipWhitelist"),
        ("blockedCountries", "USA", "blockedCountries"),
        ("versionControl.downloadUrl", "ftp://x", "versionControl.downloadUrl"),
        ("versionControl.rules", "1.0 | NOPE", "versionControl.rules"),
        ("versionControl.rules", "1.0 | GRACE", "versionControl.rules"),
        ("sessionQuota", "lots", "sessionQuota"),
        ("accountsQuota", "-1", "accountsQuota"),
        ("licenseFileTtl", "5", "licenseFileTtl"),
        ("licenseFileTtl", "soon", "licenseFileTtl"),
        ("levelNames", "one=Basic", "levelNames"),
        ("levelNames", "no equals sign", "levelNames"),
        ("resellerPrices", "2w=1", "resellerPrices"),
        ("resellerPrices", "30d=-3", "resellerPrices"),
    ];
    for (field, value, shown) in cases {
        let mut form = full_form();
        form.retain(|(k, _)| k != field);
        form.push((field, value));
        let p = web.post(&path, &form).await;
        p.assert_status(400)
            .assert_contains(&format!("id=\"{shown}-error\""))
            .assert_contains(&format!("aria-describedby=\"{shown}-error\""))
            .assert_contains("aria-invalid=\"true\"")
            // What was typed is kept.
            .assert_contains("30d=5");
        if !["name", "status"].contains(field) {
            p.assert_contains("value=\"Renamed App\"").assert_contains(&askama_escape(value));
        }
        assert_eq!(app_json(&srv, &seller.token, &id).await, before, "{field}={value} wrote something");
    }
    // The rule's line is named.
    let mut form = full_form();
    form.retain(|(k, _)| *k != "versionControl.rules");
    form.push(("versionControl.rules", "1.0 | ALLOW\n1.1 | NOPE"));
    web.post(&path, &form).await.assert_status(400).assert_contains("line 2: mode");

    // Another of the seller's apps already has the name.
    web.create_app("Taken").await;
    let mut form = full_form();
    form.retain(|(k, _)| *k != "name");
    form.push(("name", "Taken"));
    web.post(&path, &form).await.assert_status(400).assert_contains("id=\"name-error\"");
    assert_eq!(app_json(&srv, &seller.token, &id).await, before);
}

fn askama_escape(v: &str) -> String {
    v.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&#34;").replace('\'', "&#39;")
}

#[tokio::test]
async fn settings_need_csrf_and_the_seller_s_own_app() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let id = web.create_app("Mine").await;
    let before = app_json(&srv, &seller.token, &id).await;
    for path in ["settings", "regenerate-key", "delete", "pause", "unpause"] {
        let p = web.post_raw(&format!("/apps/{id}/{path}"), &[("name", "Mine"), ("confirm", "yes")]).await;
        p.assert_status(403);
    }
    assert_eq!(app_json(&srv, &seller.token, &id).await, before);

    let (other, _) = Web::new_seller(&srv).await;
    for path in ["settings", "regenerate-key", "delete"] {
        other.get(&format!("/apps/{id}/{path}")).await.assert_status(404);
    }
    for path in ["settings", "regenerate-key", "delete", "pause"] {
        other.post(&format!("/apps/{id}/{path}"), &[("name", "Mine"), ("confirm", "yes")]).await.assert_status(404);
    }
    assert_eq!(app_json(&srv, &seller.token, &id).await, before);
}

#[tokio::test]
async fn regenerating_the_key_refuses_the_old_one() {
    let srv = TestServer::start().await;
    let app = authly::client_app(&srv).await;
    authly::init(&srv, &app).await;
    let web = Web::signed_in(&srv, &app.seller).await;
    let id = &app.id;
    // Without the confirmation: the confirmation page, nothing changed.
    web.get(&format!("/apps/{id}/settings"))
        .await
        .assert_contains("id=\"regenerate-key\"")
        .assert_contains("data-confirm");
    let p = web.post(&format!("/apps/{id}/regenerate-key"), &[]).await;
    p.assert_status(200).assert_contains("id=\"confirm-regenerate\"");
    web.get(&format!("/apps/{id}/regenerate-key")).await.assert_status(200).assert_contains("confirm-regenerate");
    assert_eq!(app_json(&srv, &app.seller.token, id).await["apiKey"], app.secret.as_str());

    web.post(&format!("/apps/{id}/regenerate-key"), &[("confirm", "yes")])
        .await
        .assert_redirect(&format!("/apps/{id}/settings"));
    let new_key = app_json(&srv, &app.seller.token, id).await["apiKey"].as_str().unwrap().to_owned();
    assert_ne!(new_key, app.secret);
    web.get(&format!("/apps/{id}/settings")).await.assert_contains(&format!("id=\"api-key\">{new_key}<"));
    // The old secret is refused; the new one works.
    let r = authly::call(&srv, "init", app.init_body()).await;
    assert_ne!(r.status, 200, "{:?}", r.body);
    let fresh = authly::ClientApp { secret: new_key, ..app };
    authly::init(&srv, &fresh).await;
}

#[tokio::test]
async fn pause_unpause_and_delete_by_name() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let id = web.create_app("Doomed").await;
    let settings = format!("/apps/{id}/settings");
    web.get(&settings).await.assert_contains("id=\"pause-app\"");
    web.post(&format!("/apps/{id}/pause"), &[]).await.assert_redirect(&settings);
    assert_eq!(app_json(&srv, &seller.token, &id).await["status"], "PAUSED");
    web.get(&settings).await.assert_contains("id=\"unpause-app\"").assert_contains("App paused.");
    web.post(&format!("/apps/{id}/unpause"), &[]).await.assert_redirect(&settings);
    assert_eq!(app_json(&srv, &seller.token, &id).await["status"], "ACTIVE");

    web.get(&format!("/apps/{id}/delete")).await.assert_status(200).assert_contains("id=\"confirm-name\"");
    let p = web.post(&format!("/apps/{id}/delete"), &[("name", "doomed")]).await;
    p.assert_status(400).assert_contains("id=\"name-error\"").assert_contains("value=\"doomed\"");
    app_json(&srv, &seller.token, &id).await;
    web.post(&format!("/apps/{id}/delete"), &[("name", "Doomed")]).await.assert_redirect("/apps");
    srv.get(&format!("/v1/admin/apps/{id}"), &seller.token).await.assert_status(404);
    web.get("/apps").await.assert_contains("App Doomed deleted.");
    web.get(&settings).await.assert_status(404);
}
