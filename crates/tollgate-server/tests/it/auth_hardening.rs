//! Seller and end-user password checks under load and under attack: the process-wide argon2
//! gate (busy answer, counted checks), the throttle that counts before the check and never
//! locks the right password out from another address, refresh-token chains, logout and account
//! deletion.

use reqwest::Method;
use serde_json::{json, Value};

use crate::authly::{call, client_app, init, registered};
use crate::harness::{Resp, TestServer};

/// A server that trusts 127.0.0.1 as a proxy, so each request can name its client address in
/// `X-Forwarded-For`.
async fn behind_proxy() -> TestServer {
    TestServer::start_with(|c| c.trusted_proxies = Some(vec!["127.0.0.1/32".into()])).await
}

/// `POST /v1/auth/login` from the given client address.
async fn login_from(s: &TestServer, ip: &str, email: &str, password: &str) -> Resp {
    let res = s
        .http
        .post(s.url("/v1/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    TestServer::into_resp(res).await
}

/// A counter of `/metrics`.
async fn metric(s: &TestServer, name: &str) -> u64 {
    let text = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in /metrics"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[track_caller]
fn assert_busy(r: &Resp) {
    r.assert_error(503, "SERVER_BUSY");
    let retry: u64 = r.headers.get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
}

#[tokio::test]
async fn a_burst_of_unknown_email_logins_gets_only_the_documented_answers() {
    let s = behind_proxy().await;
    // A short queue (4 per slot, as on a small server) so the burst is certainly past it.
    s.state.passwords.set_queue_per_slot(4);
    // 100 logins at once, each from its own address so no throttle stands in the way: every
    // one is a password check (the dummy hash), or refused at once as busy.
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (http, url) = (s.http.clone(), s.url("/v1/auth/login"));
            tokio::spawn(async move {
                let res = http
                    .post(url)
                    .header("x-forwarded-for", format!("198.51.100.{}", i + 1))
                    .json(&json!({ "email": format!("nobody{i}@example.com"), "password": "whatever-pass" }))
                    .send()
                    .await
                    .unwrap();
                TestServer::into_resp(res).await
            })
        })
        .collect();
    let (mut unauthorized, mut busy) = (0u64, 0u64);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status.as_u16() {
            401 => {
                r.assert_error(401, "UNAUTHORIZED");
                unauthorized += 1;
            }
            _ => {
                assert_busy(&r);
                busy += 1;
            }
        }
    }
    assert!(unauthorized >= 1);
    if s.state.passwords.capacity() < 100 {
        assert!(busy >= 1, "100 at once is past the gate's capacity: some must be turned away");
    }
    // Every 401 was a computed check, every 503 was counted as turned away.
    assert_eq!(metric(&s, "tollgate_password_checks_total").await, unauthorized);
    assert_eq!(metric(&s, "tollgate_password_busy_total").await, busy);
    // Still alive and answering.
    let r = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    login_from(&s, "203.0.113.9", "nobody@example.com", "whatever-pass").await.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn fifty_parallel_wrong_seller_logins_check_at_most_the_limit() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let before = metric(&s, "tollgate_password_checks_total").await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (http, url) = (s.http.clone(), s.url("/v1/auth/login"));
            let body = json!({ "email": seller.email, "password": "wrong password" });
            tokio::spawn(async move { TestServer::into_resp(http.post(url).json(&body).send().await.unwrap()).await })
        })
        .collect();
    let (mut unauthorized, mut limited, mut busy) = (0u64, 0u64, 0u64);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status.as_u16() {
            401 => {
                r.assert_error(401, "UNAUTHORIZED");
                unauthorized += 1;
            }
            429 => {
                r.assert_error(429, "RATE_LIMITED");
                assert!(r.headers.get("retry-after").is_some());
                limited += 1;
            }
            _ => {
                assert_busy(&r);
                busy += 1;
            }
        }
    }
    let checked = metric(&s, "tollgate_password_checks_total").await - before;
    assert!(checked <= 10, "{checked} passwords were checked; the limit is 10");
    assert_eq!(checked, unauthorized);
    assert_eq!(unauthorized + limited + busy, 50);
    assert!(limited >= 40 - busy, "{limited} refused");
    // The right password from this address is refused now too: the limit is per account and
    // address, and this address used it up.
    let r = s
        .req(Method::POST, "/v1/auth/login", None, Some(json!({ "email": seller.email, "password": "correct horse" })))
        .await;
    if unauthorized == 10 {
        r.assert_error(429, "RATE_LIMITED");
    }
}

#[tokio::test]
async fn forty_parallel_wrong_client_logins_check_at_most_the_limit() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    registered(&s, &app, "bob", "hunter2-pass").await;
    let sid = init(&s, &app).await;
    let before = metric(&s, "tollgate_password_checks_total").await;
    let body = json!({ "session_id": sid, "username": "bob", "password": "wrong", "sid": "HWID-1", "ip": "" });
    let answers = futures::future::join_all((0..40).map(|_| call(&s, "login", body.clone()))).await;
    let (mut wrong, mut limited) = (0u64, 0u64);
    for r in &answers {
        match (r.status.as_u16(), r.body["code"].as_str().unwrap_or("")) {
            (401, "INVALID_PASSWORD") => wrong += 1,
            (429, "RATE_LIMITED") => limited += 1,
            (503, "SERVER_BUSY") => assert!(r.headers.get("retry-after").is_some()),
            other => panic!("unexpected answer {other:?}: {}", r.body),
        }
    }
    let checked = metric(&s, "tollgate_password_checks_total").await - before;
    assert!(checked <= 10, "{checked} passwords were checked; the limit is 10");
    assert_eq!(checked, wrong);
    assert!(limited >= 30, "{limited} refused");
}

#[tokio::test]
async fn the_right_password_from_another_address_still_works_after_twenty_failures() {
    let s = behind_proxy().await;
    let seller = s.seller().await;
    let mut answers = Vec::new();
    for _ in 0..20 {
        answers.push(login_from(&s, "203.0.113.66", &seller.email, "guessing").await.status.as_u16());
    }
    assert_eq!(answers.iter().filter(|&&a| a == 401).count(), 10);
    assert_eq!(answers.iter().filter(|&&a| a == 429).count(), 10);
    // The attacker's address stays refused, even with the right password.
    login_from(&s, "203.0.113.66", &seller.email, "correct horse").await.assert_error(429, "RATE_LIMITED");
    // The owner, from home, gets in (after a short wait the account earned).
    let r = login_from(&s, "192.0.2.10", &seller.email, "correct horse").await;
    r.assert_status(200);
    s.get("/v1/auth/profile", r.data()["accessToken"].as_str().unwrap()).await.assert_status(200);
}

#[tokio::test]
async fn the_right_client_password_from_another_address_still_works() {
    let s = behind_proxy().await;
    let app = client_app(&s).await;
    registered(&s, &app, "bob", "hunter2-pass").await;
    let sid = init(&s, &app).await;
    let login = |ip: &'static str, password: &'static str| {
        let (s, sid) = (&s, sid.clone());
        async move {
            let body = json!({ "session_id": sid, "username": "bob", "password": password, "sid": "HWID-1", "ip": "" });
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert("x-forwarded-for", ip.parse().unwrap());
            crate::authly::send(s, "login", serde_json::to_vec(&body).unwrap(), headers).await
        }
    };
    for _ in 0..10 {
        login("203.0.113.66", "wrong").await.assert_status(401);
    }
    login("203.0.113.66", "hunter2-pass").await.assert_status(429);
    let r = login("192.0.2.10", "hunter2-pass").await;
    r.assert_status(200);
    assert_eq!(r.body["user"]["username"], "bob", "{}", r.body);
}

async fn refresh(s: &TestServer, token: &str) -> Resp {
    s.req(Method::POST, "/v1/auth/refresh", None, Some(json!({ "refreshToken": token }))).await
}

fn pair(r: &Resp) -> (String, String) {
    let d: &Value = r.data();
    (d["accessToken"].as_str().unwrap().to_owned(), d["refreshToken"].as_str().unwrap().to_owned())
}

async fn login(s: &TestServer, email: &str) -> (String, String) {
    let r =
        s.req(Method::POST, "/v1/auth/login", None, Some(json!({ "email": email, "password": "correct horse" }))).await;
    r.assert_status(200);
    pair(&r)
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_its_whole_chain() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    // Another device's session: its own chain.
    let (_, other_device) = login(&s, &seller.email).await;
    // The thief refreshes with a stolen copy first, then the owner keeps going... or the other
    // way round: either way the chain is root -> r1 -> r2.
    let stolen = seller.refresh.clone();
    let r = refresh(&s, &stolen).await;
    r.assert_status(200);
    let (_, r1) = pair(&r);
    let r = refresh(&s, &r1).await;
    r.assert_status(200);
    let (a2, r2) = pair(&r);
    s.get("/v1/auth/profile", &a2).await.assert_status(200);

    // The spent root comes back: refused, and everything of its chain dies with it.
    refresh(&s, &stolen).await.assert_error(401, "UNAUTHORIZED");
    refresh(&s, &r2).await.assert_error(401, "UNAUTHORIZED");
    s.get("/v1/auth/profile", &a2).await.assert_error(401, "UNAUTHORIZED");
    s.get("/v1/auth/profile", &seller.token).await.assert_error(401, "UNAUTHORIZED");
    // The other device's chain is untouched: it refreshes into a working access token.
    let r = refresh(&s, &other_device).await;
    r.assert_status(200);
    s.get("/v1/auth/profile", &pair(&r).0).await.assert_status(200);
}

#[tokio::test]
async fn logout_revokes_the_chain_and_outstanding_access_tokens() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let (laptop_access, laptop_refresh) = login(&s, &seller.email).await;
    let stranger = s.seller().await;

    // Bad requests change nothing.
    s.req(Method::POST, "/v1/auth/logout", None, Some(json!({ "refreshToken": seller.refresh })))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.post("/v1/auth/logout", &seller.token, json!({})).await.assert_error(400, "MISSING_FIELDS");
    s.post("/v1/auth/logout", &stranger.token, json!({ "refreshToken": seller.refresh }))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.post("/v1/auth/logout", &seller.token, json!({ "refreshToken": "not-a-token" }))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.get("/v1/auth/profile", &seller.token).await.assert_status(200);
    s.get("/v1/auth/profile", &stranger.token).await.assert_status(200);

    let r = s.post("/v1/auth/logout", &seller.token, json!({ "refreshToken": seller.refresh })).await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "Logged out");
    // That session's refresh token and every access token issued so far are dead...
    refresh(&s, &seller.refresh).await.assert_error(401, "UNAUTHORIZED");
    s.get("/v1/auth/profile", &seller.token).await.assert_error(401, "UNAUTHORIZED");
    s.get("/v1/auth/profile", &laptop_access).await.assert_error(401, "UNAUTHORIZED");
    // ...while the laptop's chain lives on and gets a working access token.
    let r = refresh(&s, &laptop_refresh).await;
    r.assert_status(200);
    s.get("/v1/auth/profile", &pair(&r).0).await.assert_status(200);
    s.get("/v1/auth/profile", &stranger.token).await.assert_status(200);
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_kills_its_tokens() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Doomed").await;
    let app_id = app["id"].as_str().unwrap().to_owned();
    let other = s.seller().await;
    let kept = s.create_app(&other, "Kept").await;
    // A file of the doomed app, stored encrypted under the data dir.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(vec![7u8; 4096]).file_name("mod.bin"))
        .text("name", "mod.bin");
    let res = s
        .http
        .post(s.url(&format!("/v1/admin/apps/{app_id}/files")))
        .bearer_auth(&seller.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201, "{}", res.text().await.unwrap());
    let blobs = s.dir.path().join("files").join(&app_id);
    assert!(blobs.exists());

    let del = |token: &str, body: Value| {
        let (s, token) = (&s, token.to_owned());
        async move { s.req(Method::DELETE, "/v1/auth/profile", Some(&token), Some(body)).await }
    };
    del(&seller.token, json!({})).await.assert_error(400, "MISSING_FIELDS");
    del(&seller.token, json!({ "password": "not it" })).await.assert_error(401, "UNAUTHORIZED");
    s.req(Method::DELETE, "/v1/auth/profile", None, Some(json!({ "password": "correct horse" })))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.get(&format!("/v1/admin/apps/{app_id}"), &seller.token).await.assert_status(200);

    let r = del(&seller.token, json!({ "password": "correct horse" })).await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    // The token of a deleted seller: 401, never 200 or 500, on every route.
    s.get("/v1/auth/profile", &seller.token).await.assert_error(401, "UNAUTHORIZED");
    s.get("/v1/admin/apps", &seller.token).await.assert_error(401, "UNAUTHORIZED");
    s.get(&format!("/v1/admin/apps/{app_id}"), &seller.token).await.assert_error(401, "UNAUTHORIZED");
    del(&seller.token, json!({ "password": "correct horse" })).await.assert_error(401, "UNAUTHORIZED");
    refresh(&s, &seller.refresh).await.assert_error(401, "UNAUTHORIZED");
    s.req(Method::POST, "/v1/auth/login", None, Some(json!({ "email": seller.email, "password": "correct horse" })))
        .await
        .assert_error(401, "UNAUTHORIZED");
    // Nobody else's data went with it.
    s.get(&format!("/v1/admin/apps/{}", kept["id"].as_str().unwrap()), &other.token).await.assert_status(200);
    assert!(s.state.store.app_by_id(&app_id).await.unwrap().is_none());
    assert!(!blobs.exists(), "the deleted app's encrypted files are removed");
}

/// A seller's sign-in is checked through the process's argon2 gate: each one is counted in
/// `tollgate_password_checks_total`, right password or wrong.
#[tokio::test]
async fn seller_login_goes_through_the_argon2_gate() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let before = metric(&s, "tollgate_password_checks_total").await;
    let right = json!({ "email": seller.email, "password": "correct horse" });
    s.req(Method::POST, "/v1/auth/login", None, Some(right)).await.assert_status(200);
    assert_eq!(metric(&s, "tollgate_password_checks_total").await, before + 1);
    let wrong = json!({ "email": seller.email, "password": "not the password" });
    s.req(Method::POST, "/v1/auth/login", None, Some(wrong)).await.assert_error(401, "UNAUTHORIZED");
    assert_eq!(metric(&s, "tollgate_password_checks_total").await, before + 2);
}

/// Seller sign-up and reseller creation hash through the same gate: past its places they are
/// turned away with `503 SERVER_BUSY` and `Retry-After`, nothing created.
#[tokio::test]
async fn seller_register_and_reseller_create_are_turned_away_when_the_gate_is_full() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Gated").await;
    let app_id = app["id"].as_str().unwrap().to_owned();
    s.state.passwords.set_queue_per_slot(0);
    let burst = s.state.passwords.capacity() * 8 + 8;
    let registers = (0..burst).map(|i| {
        let body = json!({ "email": format!("burst{i}@example.com"), "password": "long enough pass", "name": "B" });
        s.req(Method::POST, "/v1/auth/register", None, Some(body))
    });
    let path = format!("/v1/admin/apps/{app_id}/resellers");
    let resellers = (0..burst).map(|i| {
        let body = json!({ "username": format!("reseller{i}"), "password": "long enough pass" });
        s.req(Method::POST, &path, Some(&seller.token), Some(body))
    });
    for answers in [futures::future::join_all(registers).await, futures::future::join_all(resellers).await] {
        let mut busy = 0;
        for r in &answers {
            match r.status.as_u16() {
                201 => {}
                _ => {
                    assert_busy(r);
                    busy += 1;
                }
            }
        }
        assert!(busy >= 1, "{burst} hashes at once with no queue: some must be turned away");
        assert!(busy < answers.len(), "some must get through");
    }
}
