//! The reseller API over HTTP: sign-in, buying keys with credit (prices, the balance under
//! concurrency), the reseller's own listing, and what a reseller token can and cannot reach.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::authly::{call, client_app, init, ClientApp};
use crate::harness::{Resp, SellerLogin, TestServer};

const PW: &str = "reseller-pass";

/// An app (through the admin API) with one reseller of `balance` credits.
struct Shop {
    app: ClientApp,
    reseller_id: String,
    username: String,
}

impl Shop {
    fn seller(&self) -> &SellerLogin {
        &self.app.seller
    }
    fn admin(&self, rest: &str) -> String {
        format!("/v1/admin/apps/{}{rest}", self.app.id)
    }
}

async fn shop(s: &TestServer, balance: i64) -> Shop {
    let app = client_app(s).await;
    let username = "rita".to_owned();
    let reseller_id = add_reseller(s, &app, &username, balance).await;
    Shop { app, reseller_id, username }
}

/// A reseller of the app, created by its seller; its id.
async fn add_reseller(s: &TestServer, app: &ClientApp, username: &str, balance: i64) -> String {
    let r = s
        .post(
            &format!("/v1/admin/apps/{}/resellers", app.id),
            &app.seller.token,
            json!({ "username": username, "password": PW, "balance": balance }),
        )
        .await;
    r.assert_status(201);
    r.data()["id"].as_str().unwrap().to_owned()
}

async fn login_as(s: &TestServer, app_id: &str, api_key: &str, username: &str, password: &str) -> Resp {
    let body = json!({ "appId": app_id, "apiKey": api_key, "username": username, "password": password });
    s.req(Method::POST, "/v1/reseller/login", None, Some(body)).await
}

/// Sign the shop's reseller in; its token.
async fn token(s: &TestServer, shop: &Shop) -> String {
    let r = login_as(s, &shop.app.id, &shop.app.secret, &shop.username, PW).await;
    r.assert_status(200);
    r.data()["token"].as_str().unwrap().to_owned()
}

async fn buy(s: &TestServer, token: &str, body: Value) -> Resp {
    s.post("/v1/reseller/licenses", token, body).await
}

async fn balance(s: &TestServer, token: &str) -> i64 {
    let r = s.get("/v1/reseller/balance", token).await;
    r.assert_status(200);
    r.data()["balance"].as_i64().unwrap()
}

/// The reseller's balance as the seller sees it.
async fn seller_sees_balance(s: &TestServer, shop: &Shop) -> i64 {
    let r = s.get(&shop.admin("/resellers"), &shop.seller().token).await;
    r.assert_status(200);
    let list = r.data().as_array().unwrap();
    list.iter().find(|x| x["id"] == shop.reseller_id.as_str()).unwrap()["balance"].as_i64().unwrap()
}

/// How many licenses the app has, as the seller's listing counts them.
async fn license_total(s: &TestServer, shop: &Shop) -> u64 {
    let r = s.get(&shop.admin("/licenses?limit=1"), &shop.seller().token).await;
    r.assert_status(200);
    r.body["pagination"]["total"].as_u64().unwrap()
}

async fn settings(s: &TestServer, shop: &Shop, patch: Value) -> Resp {
    s.patch(&shop.admin(""), &shop.seller().token, patch).await
}

// ---------------------------------------------------------------- sign-in

#[tokio::test]
async fn login_gives_a_token_for_this_reseller_on_this_app() {
    let s = TestServer::start().await;
    let shop = shop(&s, 12).await;
    let r = login_as(&s, &shop.app.id, &shop.app.secret, "RITA", PW).await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.data()["username"], "rita");
    assert_eq!(r.data()["balance"], 12);
    let token = r.data()["token"].as_str().unwrap();
    let (rid, app_id, _) = s.state.tokens.verify_reseller(token).expect("a reseller token");
    assert_eq!((rid.as_str(), app_id.as_str()), (shop.reseller_id.as_str(), shop.app.id.as_str()));
    assert_eq!(s.state.tokens.verify_access(token), None, "not a seller token");
    assert_eq!(balance(&s, token).await, 12);
}

#[tokio::test]
async fn wrong_credentials_are_401_and_say_the_same_thing() {
    let s = TestServer::start().await;
    let shop = shop(&s, 0).await;
    let other = client_app(&s).await;
    let (id, key) = (shop.app.id.as_str(), shop.app.secret.as_str());

    let wrong_pw = login_as(&s, id, key, "rita", "not-the-password").await;
    wrong_pw.assert_error(401, "UNAUTHORIZED");
    assert_eq!(wrong_pw.body["message"], "Invalid credentials");
    let unknown = login_as(&s, id, key, "nobody", PW).await;
    unknown.assert_error(401, "UNAUTHORIZED");
    assert_eq!(unknown.body, wrong_pw.body, "an unknown username and a wrong password answer alike");

    for (app_id, api_key) in [
        (id, "as_not_the_key"),
        (id, other.secret.as_str()),
        (other.id.as_str(), key),
        ("app_doesnotexist", key),
        (id, ""),
    ] {
        let r = login_as(&s, app_id, api_key, "rita", PW).await;
        r.assert_error(401, "UNAUTHORIZED");
        assert_eq!(r.body["message"], "Invalid application credentials", "{app_id} {api_key}");
    }
    // The reseller of one app is nobody in another, even with that app's right key.
    login_as(&s, &other.id, &other.secret, "rita", PW).await.assert_error(401, "UNAUTHORIZED");

    // Bad bodies: 400, nothing signed in.
    s.req(Method::POST, "/v1/reseller/login", None, Some(json!({ "appId": id, "apiKey": key, "username": "rita" })))
        .await
        .assert_error(400, "MISSING_FIELDS");
    s.req(
        Method::POST,
        "/v1/reseller/login",
        None,
        Some(json!({ "appId": id, "apiKey": key, "username": 5, "password": PW })),
    )
    .await
    .assert_error(400, "VALIDATION_ERROR");
    s.raw(Method::POST, "/v1/reseller/login", None, b"{\"appId\": ".to_vec()).await.assert_error(400, "INVALID_JSON");
}

#[tokio::test]
async fn a_paused_or_disabled_app_refuses_its_resellers() {
    let s = TestServer::start().await;
    let shop = shop(&s, 5).await;
    let t = token(&s, &shop).await;
    for (status, message) in [("PAUSED", "Application is paused"), ("DISABLED", "Application is disabled")] {
        settings(&s, &shop, json!({ "status": status })).await.assert_status(200);
        let r = login_as(&s, &shop.app.id, &shop.app.secret, "rita", PW).await;
        r.assert_error(403, "FORBIDDEN");
        assert_eq!(r.body["message"], message);
        // A token from before: refused too, nothing bought.
        buy(&s, &t, json!({ "count": 1, "durationType": "30d" })).await.assert_error(403, "FORBIDDEN");
        s.get("/v1/reseller/balance", &t).await.assert_error(403, "FORBIDDEN");
    }
    assert_eq!(license_total(&s, &shop).await, 0);
    assert_eq!(seller_sees_balance(&s, &shop).await, 5);
    settings(&s, &shop, json!({ "status": "ACTIVE" })).await.assert_status(200);
    buy(&s, &t, json!({ "count": 1, "durationType": "30d" })).await.assert_status(201);
}

#[tokio::test]
async fn parallel_wrong_logins_check_at_most_the_limit() {
    let s = TestServer::start().await;
    let shop = shop(&s, 0).await;
    let answers =
        futures::future::join_all((0..20).map(|_| login_as(&s, &shop.app.id, &shop.app.secret, "rita", "wrong-guess")))
            .await;
    let (mut wrong, mut limited) = (0, 0);
    for r in &answers {
        match r.status.as_u16() {
            401 => wrong += 1,
            429 => {
                r.assert_error(429, "RATE_LIMITED");
                assert!(r.headers.get("retry-after").is_some());
                limited += 1;
            }
            _ => {
                r.assert_error(503, "SERVER_BUSY");
            }
        }
    }
    assert!(wrong <= 10, "{wrong} passwords were checked; the limit is 10");
    assert!(limited >= 10, "{limited} refused");
    if wrong == 10 {
        // This address used up the account's attempts: the right password waits too.
        login_as(&s, &shop.app.id, &shop.app.secret, "rita", PW).await.assert_error(429, "RATE_LIMITED");
    }
}

// ---------------------------------------------------------------- buying keys

#[tokio::test]
async fn buying_keys_takes_credit_and_the_keys_work_for_clients() {
    let s = TestServer::start().await;
    let shop = shop(&s, 20).await;
    let t = token(&s, &shop).await;
    let r =
        buy(&s, &t, json!({ "count": 3, "durationType": "30d", "level": 2, "maxDevices": 2, "prefix": "RSL" })).await;
    r.assert_status(201);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["balance"], 17);
    let keys = r.data().as_array().unwrap();
    assert_eq!(keys.len(), 3);
    for k in keys {
        assert!(k["id"].as_str().unwrap().starts_with("lic_"), "{k}");
        assert!(k["key"].as_str().unwrap().starts_with("RSL-"), "{k}");
        assert_eq!(k["status"], "UNUSED");
        assert_eq!(k["durationType"], "30d");
        assert_eq!((k["level"].as_i64(), k["maxDevices"].as_i64()), (Some(2), Some(2)));
        assert_eq!(k["appId"], shop.app.id.as_str());
        assert_eq!(k["createdBy"], json!({ "type": "reseller", "id": shop.reseller_id }));
        assert!(k["createdAt"].is_string());
    }
    assert_eq!(balance(&s, &t).await, 17);
    assert_eq!(seller_sees_balance(&s, &shop).await, 17);

    // The seller sees who made each key.
    let id = keys[0]["id"].as_str().unwrap();
    let seen = s.get(&shop.admin(&format!("/licenses/{id}")), &shop.seller().token).await;
    seen.assert_status(200);
    assert_eq!(seen.data()["createdBy"], json!({ "type": "reseller", "id": shop.reseller_id }));
    assert_eq!(license_total(&s, &shop).await, 3);
    // ... and the purchase in the audit trail, the reseller as its actor.
    let audit = s.get("/v1/admin/audit", &shop.seller().token).await;
    let entry = audit.data().as_array().unwrap().iter().find(|e| e["action"] == "reseller.license.generate").cloned();
    assert_eq!(entry.expect("audited")["actor"], shop.reseller_id.as_str());

    // A client signs in with a key the reseller sold.
    let sid = init(&s, &shop.app).await;
    let key = keys[1]["key"].as_str().unwrap();
    let r = call(&s, "licenses", json!({ "session_id": sid, "license_key": key, "sid": "HWID-1" })).await;
    r.assert_status(200);
    assert_eq!(r.body["license"]["license_key"], key);
    assert_eq!(r.body["license"]["subscription_level"], 2);
    let got = s.get(&shop.admin(&format!("/licenses/{}", keys[1]["id"].as_str().unwrap())), &shop.seller().token).await;
    assert_eq!(got.data()["status"], "USED");
}

#[tokio::test]
async fn each_duration_has_its_price() {
    let s = TestServer::start().await;
    let shop = shop(&s, 100).await;
    let t = token(&s, &shop).await;
    let r = settings(&s, &shop, json!({ "resellerPrices": { "30d": 5, "lifetime": 20, "1h": 0 } })).await;
    r.assert_status(200);
    assert_eq!(r.data()["resellerPrices"], json!({ "1h": 0, "30d": 5, "lifetime": 20 }));

    for (body, left) in [
        (json!({ "count": 2, "durationType": "30d" }), 90),
        (json!({ "count": 1, "durationType": "lifetime" }), 70),
        (json!({ "count": 4, "durationType": "1d" }), 66),
        (json!({ "count": 50, "durationType": "1h" }), 66),
    ] {
        let r = buy(&s, &t, body.clone()).await;
        r.assert_status(201);
        assert_eq!(r.body["balance"], left, "{body}");
    }
    assert_eq!(seller_sees_balance(&s, &shop).await, 66);
    assert_eq!(license_total(&s, &shop).await, 57);

    // `{}` puts every duration back to 1 credit.
    settings(&s, &shop, json!({ "resellerPrices": {} })).await.assert_status(200);
    assert_eq!(buy(&s, &t, json!({ "count": 2, "durationType": "lifetime" })).await.body["balance"], 64);

    // Bad prices: 400 naming the field, nothing changed.
    for bad in [
        json!({ "2w": 1 }),
        json!({ "30d": -1 }),
        json!({ "30d": 1.5 }),
        json!({ "30d": "5" }),
        json!({ "lifetime": 1_000_000_001 }),
        json!(["30d"]),
    ] {
        let r = settings(&s, &shop, json!({ "resellerPrices": bad })).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with("resellerPrices"), "{}", r.body);
    }
    let app = s.get(&shop.admin(""), &shop.seller().token).await;
    assert_eq!(app.data()["resellerPrices"], json!({}));
}

#[tokio::test]
async fn not_enough_credit_is_402_and_creates_nothing() {
    let s = TestServer::start().await;
    let shop = shop(&s, 4).await;
    let t = token(&s, &shop).await;
    settings(&s, &shop, json!({ "resellerPrices": { "30d": 5 } })).await.assert_status(200);
    let r = buy(&s, &t, json!({ "count": 1, "durationType": "30d" })).await;
    r.assert_error(402, "INSUFFICIENT_CREDIT");
    assert_eq!(r.body["message"], "Not enough credit: this request needs 5, balance 4");
    let r = buy(&s, &t, json!({ "count": 5, "durationType": "7d" })).await;
    r.assert_error(402, "INSUFFICIENT_CREDIT");
    assert_eq!(r.body["message"], "Not enough credit: this request needs 5, balance 4");
    assert_eq!(license_total(&s, &shop).await, 0);
    assert_eq!(balance(&s, &t).await, 4);
    // What the balance covers still goes through, to the last credit.
    assert_eq!(buy(&s, &t, json!({ "count": 4, "durationType": "7d" })).await.body["balance"], 0);
    buy(&s, &t, json!({ "count": 1, "durationType": "7d" })).await.assert_error(402, "INSUFFICIENT_CREDIT");
    assert_eq!(license_total(&s, &shop).await, 4);
}

#[tokio::test]
async fn bad_input_is_400_and_writes_nothing() {
    let s = TestServer::start().await;
    let shop = shop(&s, 100).await;
    let t = token(&s, &shop).await;
    for (body, field) in [
        (json!({ "count": 0, "durationType": "30d" }), "count"),
        (json!({ "count": 51, "durationType": "30d" }), "count"),
        (json!({ "count": -3, "durationType": "30d" }), "count"),
        (json!({ "count": "5", "durationType": "30d" }), "count"),
        (json!({ "count": 1.5, "durationType": "30d" }), "count"),
        (json!({ "count": 1, "durationType": "2w" }), "durationType"),
        (json!({ "count": 1, "durationType": 30 }), "durationType"),
        (json!({ "count": 1, "durationType": "30d", "prefix": "bad prefix" }), "prefix"),
        (json!({ "count": 1, "durationType": "30d", "prefix": "P".repeat(17) }), "prefix"),
        (json!({ "count": 1, "durationType": "30d", "level": -1 }), "level"),
        (json!({ "count": 1, "durationType": "30d", "maxDevices": 0 }), "maxDevices"),
        (json!({ "count": 1, "durationType": "30d", "maxDevices": 1001 }), "maxDevices"),
    ] {
        let r = buy(&s, &t, body.clone()).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with(field), "{body}: {}", r.body);
    }
    buy(&s, &t, json!({ "count": 1 })).await.assert_error(400, "MISSING_FIELDS");
    s.raw(Method::POST, "/v1/reseller/licenses", Some(&t), b"{\"count\": 1,".to_vec())
        .await
        .assert_error(400, "INVALID_JSON");
    s.raw(
        Method::POST,
        "/v1/reseller/licenses",
        Some(&t),
        br#"{"count": 1, "count": 2, "durationType": "1d"}"#.to_vec(),
    )
    .await
    .assert_error(400, "VALIDATION_ERROR");
    for q in ["?limit=0", "?limit=101", "?page=0", "?page=x"] {
        s.get(&format!("/v1/reseller/licenses{q}"), &t).await.assert_error(400, "VALIDATION_ERROR");
    }
    assert_eq!(license_total(&s, &shop).await, 0);
    assert_eq!(balance(&s, &t).await, 100);
}

/// 50 purchases of one key each at once, against a balance of 10.
#[tokio::test]
async fn fifty_concurrent_purchases_spend_the_balance_exactly_once() {
    let s = TestServer::start().await;
    let shop = shop(&s, 10).await;
    let t = token(&s, &shop).await;
    let answers =
        futures::future::join_all((0..50).map(|_| buy(&s, &t, json!({ "count": 1, "durationType": "1d" })))).await;
    let mut left = BTreeSet::new();
    let mut refused = 0;
    for r in &answers {
        match r.status.as_u16() {
            201 => {
                assert_eq!(r.data().as_array().unwrap().len(), 1);
                assert!(left.insert(r.body["balance"].as_i64().unwrap()), "two purchases saw one balance");
            }
            402 => {
                r.assert_error(402, "INSUFFICIENT_CREDIT");
                assert_eq!(r.body["message"], "Not enough credit: this request needs 1, balance 0");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(left, (0..10).collect::<BTreeSet<i64>>());
    assert_eq!(refused, 40);
    assert_eq!(balance(&s, &t).await, 0);
    assert_eq!(seller_sees_balance(&s, &shop).await, 0);
    assert_eq!(license_total(&s, &shop).await, 10);
    let own = s.get("/v1/reseller/licenses?limit=100", &t).await;
    assert_eq!(own.body["pagination"]["total"], 10);
    assert_eq!(own.data().as_array().unwrap().len(), 10);
}

// ---------------------------------------------------------------- listing and balance

#[tokio::test]
async fn a_reseller_lists_only_its_own_keys_newest_first() {
    let s = TestServer::start().await;
    let shop = shop(&s, 50).await;
    let sam_id = add_reseller(&s, &shop.app, "sam", 50).await;
    let rita = token(&s, &shop).await;
    let sam = {
        let r = login_as(&s, &shop.app.id, &shop.app.secret, "sam", PW).await;
        r.assert_status(200);
        r.data()["token"].as_str().unwrap().to_owned()
    };
    let mut mine = Vec::new();
    for n in [3, 2] {
        let r = buy(&s, &rita, json!({ "count": n, "durationType": "30d" })).await;
        r.assert_status(201);
        mine.extend(r.data().as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap().to_owned()));
    }
    buy(&s, &sam, json!({ "count": 2, "durationType": "30d" })).await.assert_status(201);
    s.post(&shop.admin("/licenses"), &shop.seller().token, json!({ "count": 1, "durationType": "30d" }))
        .await
        .assert_status(201);
    assert_eq!(license_total(&s, &shop).await, 8);

    let mut seen = Vec::new();
    let mut stamps = Vec::new();
    for page in 1..=3 {
        let r = s.get(&format!("/v1/reseller/licenses?page={page}&limit=2"), &rita).await;
        r.assert_status(200);
        assert_eq!(r.body["pagination"], json!({ "page": page, "limit": 2, "total": 5 }));
        for k in r.data().as_array().unwrap() {
            assert_eq!(k["createdBy"], json!({ "type": "reseller", "id": shop.reseller_id }));
            seen.push(k["id"].as_str().unwrap().to_owned());
            stamps.push(k["createdAt"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 5);
    let (mut a, mut b) = (seen.clone(), mine.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b, "exactly the reseller's own keys");
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "newest first: {stamps:?}");
    let last = s.get("/v1/reseller/licenses?page=4&limit=2", &rita).await;
    assert_eq!(last.data(), &json!([]));

    let r = s.get("/v1/reseller/licenses", &sam).await;
    assert_eq!(r.body["pagination"], json!({ "page": 1, "limit": 20, "total": 2 }));
    assert!(r.data().as_array().unwrap().iter().all(|k| k["createdBy"]["id"] == sam_id.as_str()));
    assert_eq!(balance(&s, &rita).await, 45);
    assert_eq!(balance(&s, &sam).await, 48);
}

// ---------------------------------------------------------------- what a token reaches

#[tokio::test]
async fn seller_and_reseller_tokens_do_not_cross() {
    let s = TestServer::start().await;
    let shop = shop(&s, 10).await;
    let t = token(&s, &shop).await;
    let seller = &shop.seller().token;

    // A seller token on the reseller routes.
    buy(&s, seller, json!({ "count": 1, "durationType": "30d" })).await.assert_error(401, "UNAUTHORIZED");
    s.get("/v1/reseller/licenses", seller).await.assert_error(401, "UNAUTHORIZED");
    s.get("/v1/reseller/balance", seller).await.assert_error(401, "UNAUTHORIZED");
    // No token, or garbage.
    s.req(Method::GET, "/v1/reseller/balance", None, None).await.assert_error(401, "UNAUTHORIZED");
    s.get("/v1/reseller/balance", "not.a.token").await.assert_error(401, "UNAUTHORIZED");

    // A reseller token on admin routes, its own app's among them.
    let rid = shop.reseller_id.as_str();
    for (method, path, body) in [
        (Method::GET, "/v1/admin/apps".to_owned(), None),
        (Method::GET, "/v1/auth/profile".to_owned(), None),
        (Method::GET, "/v1/admin/audit".to_owned(), None),
        (Method::GET, shop.admin(""), None),
        (Method::PATCH, shop.admin(""), Some(json!({ "resellerPrices": { "30d": 0 } }))),
        (Method::GET, shop.admin("/licenses"), None),
        (Method::POST, shop.admin("/licenses"), Some(json!({ "count": 1, "durationType": "30d" }))),
        (Method::GET, shop.admin("/resellers"), None),
        (Method::PATCH, shop.admin(&format!("/resellers/{rid}")), Some(json!({ "balance": 1_000_000 }))),
        (Method::GET, shop.admin("/users"), None),
    ] {
        let r = s.req(method.clone(), &path, Some(&t), body).await;
        assert_eq!((r.status.as_u16(), r.code()), (401, "UNAUTHORIZED"), "{method} {path}: {}", r.body);
    }
    assert_eq!(license_total(&s, &shop).await, 0);
    assert_eq!(seller_sees_balance(&s, &shop).await, 10);
    let app = s.get(&shop.admin(""), seller).await;
    assert_eq!(app.data()["resellerPrices"], json!({}));
}

#[tokio::test]
async fn a_reseller_token_reaches_nothing_of_another_app() {
    let s = TestServer::start().await;
    let shop = shop(&s, 10).await;
    let other = client_app(&s).await;
    let t = token(&s, &shop).await;

    // Another app's admin routes.
    for path in [format!("/v1/admin/apps/{}", other.id), format!("/v1/admin/apps/{}/licenses", other.id)] {
        s.get(&path, &t).await.assert_error(401, "UNAUTHORIZED");
    }
    // A token naming this reseller on another app (signed with the server's own key): refused.
    let (_, _, generation) = s.state.tokens.verify_reseller(&t).unwrap();
    let forged = s.state.tokens.issue_reseller(&shop.reseller_id, &other.id, generation);
    s.get("/v1/reseller/balance", &forged).await.assert_error(401, "UNAUTHORIZED");
    buy(&s, &forged, json!({ "count": 1, "durationType": "30d" })).await.assert_error(401, "UNAUTHORIZED");
    // What it buys lands in its own app only.
    buy(&s, &t, json!({ "count": 2, "durationType": "30d" })).await.assert_status(201);
    let theirs = s.get(&format!("/v1/admin/apps/{}/licenses", other.id), &other.seller.token).await;
    assert_eq!(theirs.body["pagination"]["total"], 0);
    assert_eq!(license_total(&s, &shop).await, 2);
}

#[tokio::test]
async fn deleting_a_reseller_or_changing_its_password_ends_its_tokens() {
    let s = TestServer::start().await;
    let shop = shop(&s, 10).await;
    let t = token(&s, &shop).await;
    assert_eq!(balance(&s, &t).await, 10);

    let one = shop.admin(&format!("/resellers/{}", shop.reseller_id));
    // A balance change keeps the token good and shows at once.
    s.patch(&one, &shop.seller().token, json!({ "balance": 7 })).await.assert_status(200);
    assert_eq!(balance(&s, &t).await, 7);
    // A new password: the old token is refused, a new sign-in works.
    s.patch(&one, &shop.seller().token, json!({ "password": "another-pass-1" })).await.assert_status(200);
    s.get("/v1/reseller/balance", &t).await.assert_error(401, "UNAUTHORIZED");
    let r = login_as(&s, &shop.app.id, &shop.app.secret, "rita", "another-pass-1").await;
    r.assert_status(200);
    let t2 = r.data()["token"].as_str().unwrap().to_owned();
    assert_eq!(balance(&s, &t2).await, 7);

    // Deleted: refused at once, everywhere; the keys it sold stay.
    buy(&s, &t2, json!({ "count": 1, "durationType": "30d" })).await.assert_status(201);
    s.delete(&one, &shop.seller().token).await.assert_status(200);
    s.get("/v1/reseller/balance", &t2).await.assert_error(401, "UNAUTHORIZED");
    s.get("/v1/reseller/licenses", &t2).await.assert_error(401, "UNAUTHORIZED");
    buy(&s, &t2, json!({ "count": 1, "durationType": "30d" })).await.assert_error(401, "UNAUTHORIZED");
    login_as(&s, &shop.app.id, &shop.app.secret, "rita", "another-pass-1").await.assert_error(401, "UNAUTHORIZED");
    assert_eq!(license_total(&s, &shop).await, 1);
}

#[tokio::test]
async fn the_openapi_document_describes_the_reseller_api() {
    let s = TestServer::start().await;
    let r = s.http.get(s.url("/openapi.json")).send().await.unwrap();
    let doc: Value = r.json().await.unwrap();
    let statuses = |path: &str, method: &str| -> BTreeSet<String> {
        doc["paths"][path][method]["responses"].as_object().unwrap().keys().cloned().collect()
    };
    let want = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<String>>();
    assert_eq!(statuses("/v1/reseller/login", "post"), want(&["200", "400", "401", "403", "413", "429", "503"]));
    assert_eq!(statuses("/v1/reseller/licenses", "post"), want(&["201", "400", "401", "402", "403", "413", "503"]));
    assert_eq!(statuses("/v1/reseller/licenses", "get"), want(&["200", "400", "401", "403", "503"]));
    assert_eq!(statuses("/v1/reseller/balance", "get"), want(&["200", "401", "403", "503"]));
    let op = &doc["paths"]["/v1/reseller/licenses"]["post"];
    assert_eq!(op["security"], json!([{ "resellerBearer": [] }]));
    assert!(op["responses"]["402"]["content"]["application/json"]["schema"].is_object());
    assert!(op["responses"]["201"]["content"]["application/json"]["schema"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["resellerBearer"]["scheme"], "bearer");
}
