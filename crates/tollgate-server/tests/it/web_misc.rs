//! Dashboard pages: resellers, blacklist, webhooks (with a real receiver), client logs, the
//! audit trail and the signing key.

use std::time::Duration;

use serde_json::{json, Value};
use tollgate_core::model::LogEntry;

use crate::harness::{SellerLogin, TestServer};
use crate::receiver::Receiver;
use crate::web::Web;

/// A seller with an app made through the admin API, and a browser signed in as them.
async fn setup(srv: &TestServer) -> (Web<'_>, SellerLogin, Value) {
    let seller = srv.seller().await;
    let app = srv.create_app(&seller, "Shop").await;
    (Web::signed_in(srv, &seller).await, seller, app)
}

/// Another seller's browser: every page of the first seller's app is a 404 to them.
async fn stranger(srv: &TestServer) -> Web<'_> {
    Web::new_seller(srv).await.0
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn listing(srv: &TestServer, seller: &SellerLogin, path: &str) -> Vec<Value> {
    let r = srv.get(path, &seller.token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().clone()
}

async fn resellers(srv: &TestServer, seller: &SellerLogin, app: &str) -> Vec<Value> {
    let r = srv.get(&format!("/v1/admin/apps/{app}/resellers"), &seller.token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().clone()
}

async fn balance_of(srv: &TestServer, seller: &SellerLogin, app: &str, username: &str) -> i64 {
    let all = resellers(srv, seller, app).await;
    all.iter().find(|r| r["username"] == username).unwrap()["balance"].as_i64().unwrap()
}

#[tokio::test]
async fn resellers_page_creates_credits_and_deletes() {
    let srv = TestServer::start().await;
    let (web, seller, app) = setup(&srv).await;
    let app_id = id(&app);
    let base = format!("/apps/{app_id}/resellers");

    // Prices are shown read-only with a link to the settings page.
    srv.patch(&format!("/v1/admin/apps/{app_id}"), &seller.token, json!({"resellerPrices": {"30d": 7}}))
        .await
        .assert_status(200);
    web.get(&base)
        .await
        .assert_status(200)
        .assert_contains("id=\"reseller-form\"")
        .assert_contains("No resellers yet")
        .assert_contains("30d")
        .assert_contains(">7<")
        .assert_contains(&format!("href=\"/apps/{app_id}/settings\""));

    // Without the CSRF field: 403 and nothing made.
    web.post_raw(&base, &[("username", "rita"), ("password", "correct horse"), ("balance", "5")])
        .await
        .assert_status(403);
    assert!(resellers(&srv, &seller, &app_id).await.is_empty());

    // A bad field is shown beside it, with what was typed kept.
    web.post(&base, &[("username", "rita"), ("password", "short"), ("balance", "5")])
        .await
        .assert_status(400)
        .assert_contains("id=\"password-error\"")
        .assert_contains("aria-invalid=\"true\"")
        .assert_contains("value=\"rita\"");
    web.post(&base, &[("username", "rita"), ("password", "correct horse"), ("balance", "-1")])
        .await
        .assert_status(400)
        .assert_contains("id=\"balance-error\"");
    assert!(resellers(&srv, &seller, &app_id).await.is_empty());

    web.post(&base, &[("username", "rita"), ("password", "correct horse"), ("balance", "10")])
        .await
        .assert_redirect(&base);
    web.get(&base).await.assert_contains("Reseller rita created.");
    let rita = resellers(&srv, &seller, &app_id).await[0].clone();
    let rid = id(&rita);
    assert_eq!(rita["balance"], 10);
    // The same username again: refused beside the field.
    web.post(&base, &[("username", "rita"), ("password", "correct horse"), ("balance", "0")])
        .await
        .assert_status(400)
        .assert_contains("already used");

    let page = web.get(&base).await;
    page.assert_status(200)
        .assert_contains("id=\"resellers\"")
        .assert_contains(&format!("id=\"credit-{rid}\""))
        .assert_contains(&format!("id=\"balance-{rid}\">10<"));

    // Credit: add, then take away more than the balance (refused, balance unchanged), then some.
    let credit = format!("{base}/{rid}/credit");
    web.post_raw(&credit, &[("amount", "5"), ("op", "add")]).await.assert_status(403);
    assert_eq!(balance_of(&srv, &seller, &app_id, "rita").await, 10);
    web.post(&credit, &[("amount", "5"), ("op", "add")]).await.assert_redirect(&base);
    assert_eq!(balance_of(&srv, &seller, &app_id, "rita").await, 15);
    web.get(&base).await.assert_contains("Balance is now 15.");
    web.post(&credit, &[("amount", "16"), ("op", "remove")])
        .await
        .assert_status(400)
        .assert_contains("id=\"amount-error\"")
        .assert_contains("cannot go below 0");
    assert_eq!(balance_of(&srv, &seller, &app_id, "rita").await, 15);
    web.post(&credit, &[("amount", "abc"), ("op", "add")]).await.assert_status(400).assert_contains("whole number");
    web.post(&credit, &[("amount", "0"), ("op", "remove")]).await.assert_status(400);
    web.post(&credit, &[("amount", "15"), ("op", "remove")]).await.assert_redirect(&base);
    assert_eq!(balance_of(&srv, &seller, &app_id, "rita").await, 0);
    web.post(&credit, &[("amount", "14"), ("op", "add")]).await.assert_redirect(&base);

    // Keys bought by the reseller are counted on the page.
    let token = srv
        .req(
            reqwest::Method::POST,
            "/v1/reseller/login",
            None,
            Some(json!({"appId": app_id, "apiKey": app["apiKey"], "username": "rita", "password": "correct horse"})),
        )
        .await
        .data()["token"]
        .as_str()
        .map(str::to_owned);
    let token = token.expect("the reseller signs in");
    srv.post("/v1/reseller/licenses", &token, json!({"count": 2, "durationType": "30d"})).await.assert_status(201);
    assert_eq!(balance_of(&srv, &seller, &app_id, "rita").await, 0);
    let page = web.get(&base).await;
    page.assert_contains(&format!("id=\"balance-{rid}\">0<")).assert_contains("<td class=\"num\">2</td>");

    // Change the password: the old one no longer signs in.
    let pw = format!("{base}/{rid}/password");
    web.post(&pw, &[("password", "short")]).await.assert_status(400).assert_contains("id=\"password-error\"");
    web.post(&pw, &[("password", "another horse")]).await.assert_redirect(&base);
    let old = srv
        .req(
            reqwest::Method::POST,
            "/v1/reseller/login",
            None,
            Some(json!({"appId": app_id, "apiKey": app["apiKey"], "username": "rita", "password": "correct horse"})),
        )
        .await;
    old.assert_status(401);

    // Another seller: 404 on the page and on every form, nothing changed.
    let other = stranger(&srv).await;
    other.get(&base).await.assert_status(404);
    other.post(&credit, &[("amount", "5"), ("op", "add")]).await.assert_status(404);
    other.post(&format!("{base}/{rid}/delete"), &[]).await.assert_status(404);
    assert_eq!(balance_of(&srv, &seller, &app_id, "rita").await, 0);

    // Delete: without CSRF refused, then done.
    web.post_raw(&format!("{base}/{rid}/delete"), &[]).await.assert_status(403);
    assert_eq!(resellers(&srv, &seller, &app_id).await.len(), 1);
    let page = web.get(&base).await;
    page.assert_contains("data-confirm=");
    web.post(&format!("{base}/{rid}/delete"), &[]).await.assert_redirect(&base);
    assert!(resellers(&srv, &seller, &app_id).await.is_empty());
    web.post(&format!("{base}/{rid}/delete"), &[]).await.assert_status(404);
}

#[tokio::test]
async fn blacklist_page_adds_validates_and_removes() {
    let srv = TestServer::start().await;
    let (web, seller, app) = setup(&srv).await;
    let app_id = id(&app);
    let base = format!("/apps/{app_id}/blacklist");

    web.get(&base)
        .await
        .assert_status(200)
        .assert_contains("id=\"blacklist-form\"")
        .assert_contains("id=\"bl-type\"")
        .assert_contains("id=\"bl-value\"")
        .assert_contains("id=\"bl-reason\"");

    web.post_raw(&base, &[("type", "IP"), ("value", "10.1.2.3/8")]).await.assert_status(403);
    assert!(listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/blacklist")).await.is_empty());

    // Inline validation: the error beside the value, what was typed kept.
    web.post(&base, &[("type", "IP"), ("value", "999.1.1.1"), ("reason", "abuse")])
        .await
        .assert_status(400)
        .assert_contains("id=\"value-error\"")
        .assert_contains("value=\"999.1.1.1\"")
        .assert_contains("value=\"abuse\"");
    web.post(&base, &[("type", "COLOUR"), ("value", "red")])
        .await
        .assert_status(400)
        .assert_contains("id=\"type-error\"");
    assert!(listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/blacklist")).await.is_empty());

    web.post(&base, &[("type", "IP"), ("value", "10.1.2.3/8"), ("reason", "scanner")]).await.assert_redirect(&base);
    web.post(&base, &[("type", "HWID"), ("value", "HW-1234"), ("reason", "")]).await.assert_redirect(&base);
    web.post(&base, &[("type", "USERNAME"), ("value", "mallory"), ("reason", "chargeback")])
        .await
        .assert_redirect(&base);
    web.post(&base, &[("type", "CLIENT_ID"), ("value", "client-9")]).await.assert_redirect(&base);
    // The same again: refused beside the value.
    web.post(&base, &[("type", "IP"), ("value", "10.0.0.0/8")])
        .await
        .assert_status(400)
        .assert_contains("already blacklisted");
    let all = listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/blacklist")).await;
    assert_eq!(all.len(), 4);
    let ip = all.iter().find(|e| e["type"] == "IP").unwrap();
    assert_eq!(ip["value"], "10.0.0.0/8");
    assert_eq!(ip["reason"], "scanner");

    let page = web.get(&base).await;
    page.assert_status(200)
        .assert_contains("id=\"blacklist\"")
        .assert_contains("10.0.0.0/8")
        .assert_contains("HW-1234")
        .assert_contains("mallory")
        .assert_contains("client-9")
        .assert_contains("chargeback");
    // IP entries come first (grouped by type), and a type filter shows only that type.
    assert!(page.body.find("10.0.0.0/8").unwrap() < page.body.find("HW-1234").unwrap());
    web.get(&format!("{base}?type=HWID")).await.assert_contains("HW-1234").assert_lacks("10.0.0.0/8");

    // Another seller: 404, nothing removed.
    let eid = id(ip);
    let other = stranger(&srv).await;
    other.get(&base).await.assert_status(404);
    other.post(&base, &[("type", "IP"), ("value", "1.2.3.4")]).await.assert_status(404);
    other.post(&format!("{base}/{eid}/delete"), &[]).await.assert_status(404);
    web.post_raw(&format!("{base}/{eid}/delete"), &[]).await.assert_status(403);
    assert_eq!(listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/blacklist")).await.len(), 4);

    web.post(&format!("{base}/{eid}/delete"), &[]).await.assert_redirect(&base);
    let all = listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/blacklist")).await;
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|e| e["type"] != "IP"));
    web.get(&base).await.assert_contains("Blacklist entry removed.").assert_lacks("10.0.0.0/8");
}

#[tokio::test]
async fn webhooks_page_creates_pings_and_shows_deliveries() {
    let srv = TestServer::start_with(|c| c.webhook_allow_private = Some("true".into())).await;
    let receiver = Receiver::start().await;
    let (web, seller, app) = setup(&srv).await;
    let app_id = id(&app);
    let base = format!("/apps/{app_id}/webhooks");

    // The form offers every event the admin API accepts as a checkbox.
    let page = web.get(&base).await;
    page.assert_status(200).assert_contains("id=\"webhook-form\"").assert_contains("id=\"wh-url\"");
    for e in tollgate_core::model::WEBHOOK_EVENTS {
        page.assert_contains(&format!("name=\"events\" value=\"{e}\""));
    }

    let url = format!("{}/hook", receiver.url);
    web.post_raw(&base, &[("url", &url), ("events", "user.login")]).await.assert_status(403);
    assert!(listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/webhooks")).await.is_empty());
    // No event, a bad URL: refused beside the field.
    web.post(&base, &[("url", &url)]).await.assert_status(400).assert_contains("id=\"events-error\"");
    web.post(&base, &[("url", "ftp://x"), ("events", "user.login")])
        .await
        .assert_status(400)
        .assert_contains("id=\"url-error\"")
        .assert_contains("value=\"ftp://x\"");
    assert!(listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/webhooks")).await.is_empty());

    // Created: the secret is on the answer, once.
    let created = web
        .post(&base, &[("url", &url), ("events", "user.login"), ("events", "license.activate"), ("format", "standard")])
        .await;
    created.assert_status(200).assert_contains("id=\"new-secret\"").assert_contains("value=\"whsec_");
    let all = listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/webhooks")).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["events"], json!(["user.login", "license.activate"]));
    let hid = id(&all[0]);
    let list = web.get(&base).await;
    list.assert_status(200).assert_contains("id=\"webhooks\"").assert_contains(&url).assert_lacks("whsec_");

    // Disable and enable.
    web.post_raw(&format!("{base}/{hid}/enabled"), &[("enabled", "false")]).await.assert_status(403);
    assert_eq!(listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/webhooks")).await[0]["enabled"], true);
    web.post(&format!("{base}/{hid}/enabled"), &[("enabled", "false")]).await.assert_redirect(&base);
    assert_eq!(listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/webhooks")).await[0]["enabled"], false);
    web.post(&format!("{base}/{hid}/enabled"), &[("enabled", "true")]).await.assert_redirect(&base);
    assert_eq!(listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/webhooks")).await[0]["enabled"], true);

    // Edit: events, format, enabled; a bad URL is shown beside it, nothing changed.
    let detail = format!("{base}/{hid}");
    web.get(&detail).await.assert_status(200).assert_contains("id=\"test-ping\"").assert_contains("Nothing sent yet");
    web.post(&detail, &[("url", "not a url"), ("events", "user.ban"), ("enabled", "on")])
        .await
        .assert_status(400)
        .assert_contains("id=\"url-error\"");
    web.post(
        &detail,
        &[
            ("url", &url),
            ("events", "user.ban"),
            ("events", "file.download"),
            ("format", "standard"),
            ("enabled", "on"),
        ],
    )
    .await
    .assert_redirect(&detail);
    assert_eq!(
        listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/webhooks")).await[0]["events"],
        json!(["user.ban", "file.download"])
    );

    // Test ping: the receiver gets it, the delivery log shows it.
    web.post_raw(&format!("{detail}/test"), &[]).await.assert_status(403);
    assert!(receiver.received().is_empty());
    web.post(&format!("{detail}/test"), &[]).await.assert_redirect(&detail);
    let got = receiver.wait_for(1, Duration::from_secs(10), |r| r.event() == "webhook.test").await;
    assert_eq!(got.len(), 1);
    let page = web.get(&detail).await;
    page.assert_status(200)
        .assert_contains("Test ping delivered: the endpoint answered 200.")
        .assert_contains("id=\"deliveries\"")
        .assert_contains("webhook.test")
        .assert_contains("DELIVERED")
        .assert_contains("<td>200");
    let deliveries = srv.get(&format!("/v1/admin/apps/{app_id}/webhooks/{hid}/deliveries"), &seller.token).await;
    let did = id(&deliveries.data()[0]);
    assert!(page.body.contains(&format!("id=\"redeliver-{did}\"")));

    // Redeliver: the same delivery id goes out again.
    web.post_raw(&format!("{detail}/deliveries/{did}/redeliver"), &[]).await.assert_status(403);
    web.post(&format!("{detail}/deliveries/{did}/redeliver"), &[]).await.assert_redirect(&detail);
    let again = receiver.wait_for(2, Duration::from_secs(10), |r| r.event() == "webhook.test").await;
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].header("webhook-id"), did);

    // Another seller: 404 everywhere, nothing sent or deleted.
    let other = stranger(&srv).await;
    other.get(&base).await.assert_status(404);
    other.get(&detail).await.assert_status(404);
    other.post(&format!("{detail}/test"), &[]).await.assert_status(404);
    other.post(&format!("{detail}/delete"), &[]).await.assert_status(404);
    web.get(&format!("{base}/wh_nope")).await.assert_status(404);
    assert_eq!(receiver.events("webhook.test").len(), 2);

    // Delete.
    web.post_raw(&format!("{detail}/delete"), &[]).await.assert_status(403);
    assert_eq!(listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/webhooks")).await.len(), 1);
    web.post(&format!("{detail}/delete"), &[]).await.assert_redirect(&base);
    assert!(listing(&srv, &seller, &format!("/v1/admin/apps/{app_id}/webhooks")).await.is_empty());
    web.get(&detail).await.assert_status(404);
}

#[tokio::test]
async fn logs_and_audit_pages_page_through() {
    let srv = TestServer::start().await;
    let (web, seller, app) = setup(&srv).await;
    let app_id = id(&app);
    let base = format!("/apps/{app_id}/logs");
    web.get(&base).await.assert_status(200).assert_contains("No log messages");
    let t0 = tollgate_core::time::now();
    for i in 0..55 {
        let entry = LogEntry {
            id: tollgate_core::ids::new_id("log"),
            app_id: app_id.clone(),
            user_id: None,
            username: Some("ann".into()),
            message: format!("message number {i:02}"),
            ip: Some("203.0.113.9".into()),
            hwid: Some("HW-LOG".into()),
            created_at: t0 + chrono::Duration::milliseconds(i),
        };
        srv.state.store.append_log(&entry).await.unwrap();
    }
    // Newest first, 50 a page.
    let first = web.get(&base).await;
    first
        .assert_status(200)
        .assert_contains("id=\"logs\"")
        .assert_contains("message number 54")
        .assert_contains("203.0.113.9")
        .assert_lacks("message number 04")
        .assert_contains("Page 1 of 2");
    assert!(first.body.find("message number 54").unwrap() < first.body.find("message number 05").unwrap());
    web.get(&format!("{base}?page=2")).await.assert_contains("message number 04").assert_lacks("message number 05");
    stranger(&srv).await.get(&base).await.assert_status(404);

    // The audit trail shows what the seller did, with the app's name, across apps.
    web.post(&format!("/apps/{app_id}/blacklist"), &[("type", "HWID"), ("value", "HW-AUDIT")])
        .await
        .assert_redirect(&format!("/apps/{app_id}/blacklist"));
    let second = web.create_app("Second").await;
    let page = web.get("/audit").await;
    page.assert_status(200)
        .assert_contains("id=\"audit\"")
        .assert_contains("blacklist.add")
        .assert_contains("app.create")
        .assert_contains(&format!("<a href=\"/apps/{app_id}\">Shop</a>"))
        .assert_contains(&format!("<a href=\"/apps/{second}\">Second</a>"));
    let api = srv.get("/v1/admin/audit", &seller.token).await;
    assert!(api.data().as_array().unwrap().iter().any(|e| e["action"] == "blacklist.add"));
    // Another seller sees only their own trail.
    let other = stranger(&srv).await;
    other.get("/audit").await.assert_status(200).assert_lacks("blacklist.add").assert_lacks("Shop");
    // Signed out: sent to the sign-in page.
    Web::new(&srv).get("/audit").await.assert_redirect("/login?next=%2Faudit");
}

#[tokio::test]
async fn signing_key_page_shows_the_public_key_answers_verify_with() {
    let srv = TestServer::start().await;
    let (web, _seller, _app) = setup(&srv).await;
    let page = web.get("/signing-key").await;
    page.assert_status(200)
        .assert_contains("id=\"public-key-pem\"")
        .assert_contains("id=\"copy-pem\"")
        .assert_contains("data-copy=\"#public-key-pem\"");
    let signer = srv.state.signer.get();
    let pem = signer.public_key_pem();
    assert!(pem.contains("BEGIN PUBLIC KEY"));
    let start = page.body.find("<textarea id=\"public-key-pem\"").unwrap();
    let open = start + page.body[start..].find('>').unwrap() + 1;
    let close = open + page.body[open..].find("</textarea>").unwrap();
    assert_eq!(page.body[open..close].trim(), pem.trim());
    assert!(page.body.contains(&format!("<code id=\"kid\">{}</code>", signer.kid())));
    // A signature made by the server verifies with the PEM the page shows.
    let body = json!({"success": true});
    let (sig, _kid) = signer.sign(1_700_000_000_000, "req-1", "nonce-1", &body);
    assert!(tollgate_server::signing::verify(
        &page.body[open..close],
        "1700000000000",
        "req-1",
        "nonce-1",
        &body,
        &sig
    ));
    assert!(!page.body.contains("PRIVATE"));
    Web::new(&srv).get("/signing-key").await.assert_redirect("/login?next=%2Fsigning-key");
}
