//! The app overview: real client calls over the wire are recorded (counters and refused calls
//! with code, protocol and address, from all three protocols), a flood is capped in detail rows but counted in full, calls
//! naming no app record nothing, another seller's app is a 404, an empty app shows zeros.

use serde_json::json;

use crate::authly::{call, client_app, init};
use crate::harness::TestServer;
use crate::web::Web;
use crate::ws::BlazeApp;

/// The number in `<... id="{id}">N<`.
fn stat(body: &str, id: &str) -> u64 {
    let start = body.find(&format!(r#"id="{id}">"#)).unwrap_or_else(|| panic!("no #{id}")) + id.len() + 6;
    body[start..].split('<').next().unwrap().trim().parse().unwrap()
}

/// The markup of the chart `id`.
fn chart<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body.find(&format!(r#"<svg class="chart" id="{id}""#)).unwrap_or_else(|| panic!("no chart {id}"));
    let end = body[start..].find("</svg>").unwrap() + start;
    &body[start..end]
}

/// The sum of the `data-value`s of the bars of `kind` in a chart.
fn bar_total(svg: &str, kind: &str) -> u64 {
    let needle = format!(r#"data-kind="{kind}" data-value=""#);
    svg.match_indices(&needle)
        .map(|(i, _)| svg[i + needle.len()..].split('"').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

fn refused_rows(body: &str) -> usize {
    let start = body.find(r#"id="refused-calls""#).expect("refused table");
    body[start..].split("</table>").next().unwrap().matches("<tr data-reason=").count()
}

#[tokio::test]
async fn empty_app_shows_zeros_and_no_data() {
    let srv = TestServer::start().await;
    let (web, _) = Web::new_seller(&srv).await;
    let app = web.create_app("Quiet").await;
    let page = web.get(&format!("/apps/{app}")).await;
    page.assert_status(200);
    assert_eq!(stat(&page.body, "stat-sessions"), 0);
    assert_eq!(stat(&page.body, "stat-users"), 0);
    page.assert_contains(r#"id="licenses-by-status""#).assert_contains(r#"data-status="USED""#);
    for id in ["chart-activity-24h", "chart-activity-30d", "chart-refused-24h", "chart-refused-30d"] {
        let svg = chart(&page.body, id);
        assert!(svg.contains("No data yet"), "{id}");
        assert!(svg.contains(r#"role="img""#) && svg.contains("aria-label="));
    }
    page.assert_contains("No refused calls recorded yet.");
    page.assert_lacks("style=");
}

#[tokio::test]
async fn client_calls_are_counted_and_refusals_listed() {
    let srv = TestServer::start().await;
    let app = client_app(&srv).await;
    let web = Web::signed_in(&srv, &app.seller).await;

    // Two inits that pass, one with a wrong secret, one for an app that does not exist.
    let sid = init(&srv, &app).await;
    init(&srv, &app).await;
    let mut bad = app.init_body();
    bad["secret"] = json!("wrong-secret-0000000000000000000000");
    call(&srv, "init", bad).await.assert_status(401);
    let mut unknown = app.init_body();
    unknown["app_name"] = json!("No such app");
    call(&srv, "init", unknown).await.assert_status(404);
    // A login of an account that does not exist, in a live session.
    let r = call(
        &srv,
        "login",
        json!({ "session_id": sid, "username": "nobody", "password": "Wrong-pass-1", "sid": "HW-1" }),
    )
    .await;
    assert!(r.status.as_u16() >= 400, "{:?}", r.body);
    srv.state.activity.flush().await;

    let page = web.get(&format!("/apps/{}", app.id)).await;
    page.assert_status(200);
    assert_eq!(stat(&page.body, "stat-sessions"), 2);
    let day = chart(&page.body, "chart-activity-24h");
    assert_eq!(bar_total(day, "init"), 2, "{day}");
    assert_eq!(bar_total(chart(&page.body, "chart-activity-30d"), "init"), 2);
    let refused = chart(&page.body, "chart-refused-24h");
    assert_eq!(bar_total(refused, "InvalidSecret"), 1, "{refused}");
    assert_eq!(bar_total(refused, "UserNotFound"), 1, "{refused}");
    assert_eq!(bar_total(chart(&page.body, "chart-refused-30d"), "InvalidSecret"), 1);
    assert_eq!(refused_rows(&page.body), 2);
    page.assert_contains(r#"<tr data-reason="InvalidSecret" data-dialect="authly">"#)
        .assert_contains("<td>127.0.0.1</td>")
        .assert_lacks("AppNotFound");

    // Another seller sees a 404, not the overview.
    let (other, _) = Web::new_seller(&srv).await;
    other.get(&format!("/apps/{}", app.id)).await.assert_status(404).assert_lacks("stat-sessions");
}

#[tokio::test]
async fn a_flood_is_counted_in_full_and_capped_in_rows() {
    let srv = TestServer::start().await;
    let app = client_app(&srv).await;
    let web = Web::signed_in(&srv, &app.seller).await;
    let mut bad = app.init_body();
    bad["secret"] = json!("wrong-secret-0000000000000000000000");
    for _ in 0..500 {
        srv.state.activity.refused(&app.id, "authly", "InvalidSecret", "198.51.100.9".parse().unwrap());
    }
    // And a real one over the wire in the same flush.
    call(&srv, "init", bad).await.assert_status(401);
    srv.state.activity.flush().await;

    let calls = srv.state.store.recent_refused(&app.id, 1000).await.unwrap();
    assert_eq!(calls.len(), 100, "detail rows are capped per app per flush");
    let counts =
        srv.state.store.activity_since(&app.id, tollgate_core::time::now() - chrono::Duration::hours(2)).await.unwrap();
    let n: u64 = counts.iter().filter(|c| c.reason == "InvalidSecret").map(|c| c.n).sum();
    assert_eq!(n, 501, "the counters count every refusal");
    assert_eq!(counts.iter().filter(|c| c.reason == "InvalidSecret").count(), 1, "one counter row per key");

    let page = web.get(&format!("/apps/{}", app.id)).await;
    assert_eq!(bar_total(chart(&page.body, "chart-refused-24h"), "InvalidSecret"), 501);
    assert_eq!(refused_rows(&page.body), 50, "the page lists the latest 50");

    // An app nobody has: nothing recorded for anyone.
    srv.state.activity.refused("app_missing", "authly", "InvalidSecret", "198.51.100.9".parse().unwrap());
    srv.state.activity.flush().await;
    assert!(srv.state.store.recent_refused("app_missing", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn authon_and_blazeauth_refusals_are_recorded_with_their_protocol() {
    let srv = TestServer::start().await;
    let app = BlazeApp::create(&srv).await;
    let web = Web::signed_in(&srv, &app.seller).await;
    let api_key = app.app["apiKey"].as_str().expect("the app's API key").to_owned();

    // Authon: a sign-in of an account that does not exist, and a wrong API key.
    let authon = |body: serde_json::Value| {
        let srv = &srv;
        async move {
            let r = srv.http.post(srv.url("/v1")).json(&body).send().await.unwrap();
            r.status().as_u16()
        }
    };
    let status = authon(json!({"type": "login", "appId": app.id, "apiKey": api_key,
        "username": "nobody", "password": "Wrong-pass-1", "hwid": "HW-1"}))
    .await;
    assert_eq!(status, 401);
    let status = authon(json!({"type": "init", "appId": app.id, "apiKey": "wrong-key-000000000000"})).await;
    assert!(status >= 400, "{status}");
    // Blazeauth: a license that does not exist.
    let mut ws = app.connect(&srv, "overview").await;
    let a = ws.call(2, json!({"license": "NOPE-NOPE-NOPE"})).await;
    assert_ne!(a["status"], 1, "{a}");
    srv.state.activity.flush().await;

    let page = web.get(&format!("/apps/{}", app.id)).await;
    page.assert_status(200);
    let refused = chart(&page.body, "chart-refused-24h");
    assert_eq!(bar_total(refused, "UserNotFound"), 1, "{refused}");
    assert_eq!(bar_total(refused, "InvalidSecret"), 1, "{refused}");
    assert_eq!(bar_total(refused, "LicenseNotFound"), 1, "{refused}");
    page.assert_contains(r#"<tr data-reason="UserNotFound" data-dialect="authon">"#)
        .assert_contains(r#"<tr data-reason="InvalidSecret" data-dialect="authon">"#)
        .assert_contains(r#"<tr data-reason="LicenseNotFound" data-dialect="blazeauth">"#);
    assert_eq!(refused_rows(&page.body), 3);
}
