use reqwest::Method;
use serde_json::json;

use crate::harness::TestServer;

#[tokio::test]
async fn register_login_refresh_profile() {
    let s = TestServer::start().await;
    let r = s
        .req(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"email": "Dev@Example.com", "password": "securepass123", "name": "John"})),
        )
        .await;
    r.assert_status(201);
    let d = r.data();
    assert!(d["id"].as_str().unwrap().starts_with("seller_"));
    assert_eq!(d["email"], "dev@example.com");
    assert_eq!(d["plan"], "FREE");
    assert_eq!(r.body["message"], "Account created successfully");
    assert!(d["accessToken"].as_str().unwrap().split('.').count() == 3, "a JWT");

    let r = s
        .req(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "dev@example.com", "password": "securepass123"})),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.body["message"], "Login successful");
    let access = r.data()["accessToken"].as_str().unwrap().to_owned();
    let refresh = r.data()["refreshToken"].as_str().unwrap().to_owned();

    let p = s.get("/v1/auth/profile", &access).await;
    p.assert_status(200);
    assert_eq!(p.data()["email"], "dev@example.com");
    assert_eq!(p.data()["name"], "John");
    assert!(p.data()["createdAt"].as_str().unwrap().ends_with('Z'));

    // refresh rotates: the new pair works, the old refresh token is spent
    let r1 = s.req(Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": refresh}))).await;
    r1.assert_status(200);
    let new_refresh = r1.data()["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh);
    s.get("/v1/auth/profile", r1.data()["accessToken"].as_str().unwrap()).await.assert_status(200);
    s.req(Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": refresh})))
        .await
        .assert_error(401, "UNAUTHORIZED");
    // Presenting the spent one revoked its chain: the successor is dead too.
    s.req(Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": new_refresh})))
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn refresh_token_is_single_use_under_concurrency() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let http = s.http.clone();
        let url = s.url("/v1/auth/refresh");
        let body = json!({"refreshToken": seller.refresh});
        tasks.push(tokio::spawn(async move { http.post(url).json(&body).send().await.unwrap().status().as_u16() }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            401 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn bad_credentials_and_tokens() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    s.req(Method::POST, "/v1/auth/login", None, Some(json!({"email": seller.email, "password": "wrong password"})))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.req(Method::POST, "/v1/auth/login", None, Some(json!({"email": "nobody@example.com", "password": "whatever1"})))
        .await
        .assert_error(401, "UNAUTHORIZED");
    s.req(Method::GET, "/v1/auth/profile", None, None).await.assert_error(401, "UNAUTHORIZED");
    s.get("/v1/auth/profile", "not.a.jwt").await.assert_error(401, "UNAUTHORIZED");
    // a refresh token is not an access token
    s.get("/v1/auth/profile", &seller.refresh).await.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn register_validation_and_duplicates() {
    let s = TestServer::start().await;
    let reg = |body| s.req(Method::POST, "/v1/auth/register", None, Some(body));
    reg(json!({"email": "a@b.co", "password": "longenough"})).await.assert_error(400, "MISSING_FIELDS");
    let r = reg(json!({"email": "not-an-email", "password": "longenough", "name": "x"})).await;
    r.assert_error(400, "VALIDATION_ERROR");
    assert!(r.body["message"].as_str().unwrap().starts_with("email"));
    let r = reg(json!({"email": "a@b.co", "password": "short", "name": "x"})).await;
    assert!(r.body["message"].as_str().unwrap().starts_with("password"));
    let r = reg(json!({"email": "a@b.co", "password": 12345678, "name": "x"})).await;
    r.assert_error(400, "VALIDATION_ERROR");
    assert!(r.body["message"].as_str().unwrap().starts_with("password"));
    reg(json!({"email": "a@b.co", "password": "longenough", "name": "x"})).await.assert_status(201);
    reg(json!({"email": "A@B.CO", "password": "longenough", "name": "y"})).await.assert_error(409, "CONFLICT");
    s.raw(Method::POST, "/v1/auth/register", None, b"{nope".to_vec()).await.assert_error(400, "INVALID_JSON");
}

#[tokio::test]
async fn closed_signup_refuses_register() {
    let s = TestServer::start_with(|c| c.seller_signup = Some("closed".into())).await;
    s.req(
        Method::POST,
        "/v1/auth/register",
        None,
        Some(json!({"email": "a@b.co", "password": "longenough", "name": "x"})),
    )
    .await
    .assert_error(403, "SIGNUP_CLOSED");
}

#[tokio::test]
async fn failed_logins_are_throttled_per_email() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let mut last = None;
    for _ in 0..11 {
        last = Some(
            s.req(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({"email": seller.email, "password": "wrong password"})),
            )
            .await,
        );
    }
    let r = last.unwrap();
    r.assert_error(429, "RATE_LIMITED");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0);
    // even the right password is refused while throttled
    s.req(Method::POST, "/v1/auth/login", None, Some(json!({"email": seller.email, "password": "correct horse"})))
        .await
        .assert_error(429, "RATE_LIMITED");
}
