use reqwest::Method;

use crate::harness::TestServer;

#[tokio::test]
async fn health_ready_metrics_openapi() {
    let s = TestServer::start().await;
    let r = s.req(Method::GET, "/healthz", None, None).await;
    r.assert_status(200);
    assert_eq!(r.body["status"], "ok");
    let r = s.req(Method::GET, "/readyz", None, None).await;
    r.assert_status(200);
    assert_eq!(r.body["database"], s.backend());

    let seller = s.seller().await;
    s.get("/v1/auth/profile", &seller.token).await.assert_status(200);
    let m = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert!(m.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = m.text().await.unwrap();
    assert!(
        text.contains(r#"tollgate_http_requests_total{method="GET",route="/v1/auth/profile",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"tollgate_http_request_duration_seconds_count{method="POST",route="/v1/auth/register"} 1"#));

    let r = s.req(Method::GET, "/openapi.json", None, None).await;
    r.assert_status(200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/v1/auth/register",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/auth/profile",
        "/v1/admin/apps",
        "/v1/admin/apps/{appId}",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert!(r.body["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn unknown_route_and_method_are_json_errors() {
    let s = TestServer::start().await;
    s.req(Method::GET, "/nope", None, None).await.assert_error(404, "NOT_FOUND");
    s.req(Method::PUT, "/v1/auth/login", None, None).await.assert_error(405, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let s = TestServer::start().await;
    let big = format!("{{\"email\":\"{}\"}}", "a".repeat(2 << 20));
    s.raw(Method::POST, "/v1/auth/login", None, big.into_bytes()).await.assert_error(413, "PAYLOAD_TOO_LARGE");
}
