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

/// `/metrics` carries the process's own resources next to the per-route and password counters.
#[tokio::test]
async fn metrics_show_process_route_and_password_counters() {
    let s = TestServer::start().await;
    s.req(Method::GET, "/healthz", None, None).await.assert_status(200);
    let text = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let value = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert!(value("process_resident_memory_bytes") > 0.0);
    assert!(value("process_open_fds") > 0.0);
    assert!(value("process_threads") > 0.0);
    assert!(value("process_start_time_seconds") > 0.0);
    assert!(text.contains("# TYPE process_resident_memory_bytes gauge"), "{text}");
    assert!(text.contains(r#"tollgate_http_requests_total{method="GET",route="/healthz",status="200"} 1"#), "{text}");
    assert!(
        text.contains(r#"tollgate_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="5"} 1"#),
        "{text}"
    );
    assert_eq!(value("tollgate_password_checks_total"), 0.0);
    assert_eq!(value("tollgate_password_busy_total"), 0.0);
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

/// The document lists every status a route can answer: 401 wherever the bearer token is taken,
/// the client API's whole error table on `/api/v2/*`, and limits as schema bounds.
#[tokio::test]
async fn openapi_documents_every_status_and_limit() {
    let s = TestServer::start().await;
    let doc = s.req(Method::GET, "/openapi.json", None, None).await.body;
    assert_eq!(doc["components"]["schemas"]["Error"]["required"], serde_json::json!(["success", "code", "message"]));
    let mut secured = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let has = |s: &str| responses.contains_key(s);
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                secured += 1;
                assert!(has("401"), "{method} {path}: no 401");
            }
            if path.starts_with("/api/v2/") {
                for status in ["200", "400", "401", "403", "404", "409", "426", "429", "503"] {
                    assert!(has(status), "{method} {path}: no {status}");
                }
            }
            // The client API answers an oversized body 400 `PAYLOAD_TOO_LARGE`, as Authly does.
            if op.get("requestBody").is_some() && !path.starts_with("/api/v2/") {
                assert!(has("400") && has("413"), "{method} {path}: body errors");
            }
            for (status, r) in responses {
                if status.as_str() >= "400" {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    assert!(secured >= 69, "{secured} bearer operations");
    let params = doc["paths"]["/v1/admin/apps/{appId}/licenses"]["get"]["parameters"].as_array().unwrap();
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!((limit["schema"]["minimum"].as_i64(), limit["schema"]["maximum"].as_i64()), (Some(1), Some(100)));
}

/// `page` and `limit` out of their documented range are refused, naming the parameter.
#[tokio::test]
async fn paging_out_of_range_is_refused() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Paged").await;
    let app_id = app["id"].as_str().unwrap();
    for (query, field) in
        [("limit=0", "limit"), ("limit=101", "limit"), ("page=0", "page"), ("page=1000000001", "page")]
    {
        for list in ["licenses", "users", "devices", "logs"] {
            let r = s.get(&format!("/v1/admin/apps/{app_id}/{list}?{query}"), &seller.token).await;
            r.assert_status(400);
            assert_eq!(r.body["code"], "VALIDATION_ERROR", "{list}?{query}");
            assert!(r.body["message"].as_str().unwrap().starts_with(field), "{list}?{query}: {}", r.body);
        }
        let r = s.get(&format!("/v1/admin/audit?{query}"), &seller.token).await;
        r.assert_status(400);
    }
    let r = s.get(&format!("/v1/admin/apps/{app_id}/licenses?limit=100&page=1000000000"), &seller.token).await;
    r.assert_status(200);
    assert_eq!(
        (r.body["pagination"]["page"].as_i64(), r.body["pagination"]["limit"].as_i64()),
        (Some(1_000_000_000), Some(100))
    );
}

/// Operation ids are unique across the whole document (the admin and the client API both have
/// a login and a register), every admin success answer has a schema, and the app settings
/// body is a typed object rather than a free-form one.
#[tokio::test]
async fn openapi_operation_ids_are_unique_and_admin_answers_have_schemas() {
    let s = TestServer::start().await;
    let doc = s.req(Method::GET, "/openapi.json", None, None).await.body;
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_owned()), "{method} {path}: operationId {id} is used twice");
            if path.starts_with("/v1/") {
                let responses = op["responses"].as_object().unwrap();
                let success: Vec<_> = responses.iter().filter(|(status, _)| status.starts_with('2')).collect();
                assert!(!success.is_empty(), "{method} {path}: no success answer");
                for (status, r) in success {
                    // File downloads answer the file's bytes.
                    let binary = r["content"]["application/octet-stream"]["schema"].is_object();
                    assert!(
                        r["content"]["application/json"]["schema"].is_object() || binary,
                        "{method} {path} {status}: no schema"
                    );
                }
            }
        }
    }
    assert!(ids.contains("sellerLogin") && ids.contains("sellerRegister"));
    let patch =
        &doc["paths"]["/v1/admin/apps/{appId}"]["patch"]["requestBody"]["content"]["application/json"]["schema"];
    let name = patch["$ref"].as_str().expect("a named schema").rsplit('/').next().unwrap();
    let schema = &doc["components"]["schemas"][name];
    for field in ["name", "hashCheck", "versionControl", "sessionQuota", "levelNames"] {
        assert!(schema["properties"][field].is_object(), "settings body lacks {field}: {schema}");
    }
    let license = &doc["paths"]["/v1/admin/apps/{appId}/licenses/{licenseId}"]["get"]["responses"]["200"];
    assert!(license["content"]["application/json"]["schema"].is_object());
}
