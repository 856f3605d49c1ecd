//! The Blazeauth endpoint's base: upgrade at `/` and `/ws`, Initialize, signed answers.

use serde_json::json;

use crate::harness::TestServer;
use crate::ws::{BlazeApp, Ws};

#[tokio::test]
async fn initialize_answers_the_app_on_both_paths_signed() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    for path in ["/", "/ws"] {
        let mut ws = Ws::connect(&s, path).await;
        assert!(ws.resume_id.as_deref().is_some_and(|r| r.len() >= 32), "a Resume-Id header");
        let a = ws.initialize(&app.ws_key, "desktop-main").await;
        assert_eq!(a["status"], 1);
        assert_eq!(a["app_name"], "Blaze");
        assert_eq!(a["app_version"], app.app["version"]);
        let again = ws.initialize(&app.ws_key, "desktop-main").await;
        assert_eq!(again["status"], 4, "AlreadyInitialized");
    }
    // a packet before Initialize closes 4200
    let mut ws = Ws::connect(&s, "/ws").await;
    ws.send(json!({"type": 10, "id": 1})).await;
    let (code, reason, _) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4200, "connection is not initialized"));
}
