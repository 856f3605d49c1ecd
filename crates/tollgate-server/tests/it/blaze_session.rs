//! Blazeauth Initialize (0) with every status and close, and the session packets: online users
//! (10), variables (11), session values (12–14) and the panel events subscription (17).

use serde_json::json;
use sqlx::Connection;

use crate::harness::TestServer;
use crate::ws::{BlazeApp, Ws};

/// Make the store fail on `table` (renamed away), on whichever backend the server runs.
async fn break_table(s: &TestServer, table: &str) {
    let sql = format!("ALTER TABLE {table} RENAME TO {table}_gone");
    match &s.pg {
        Some(db) => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
        None => {
            let url = format!("sqlite://{}", s.dir.path().join("tollgate.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    }
}

/// The app's live sessions, through the admin API.
async fn live_sessions(s: &TestServer, app: &BlazeApp) -> Vec<serde_json::Value> {
    let r = s.get(&app.path("/sessions"), &app.seller.token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------------------------
// 0 Initialize

#[tokio::test]
async fn initialize_answers_the_app_and_opens_a_session_once() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = Ws::connect(&s, "/ws").await;
    let a = ws.initialize(&app.ws_key, "desktop-main").await;
    assert_eq!(a["status"], 1);
    assert_eq!(a["app_name"], "Blaze");
    assert_eq!(a["app_version"], app.app["version"]);
    let sessions = live_sessions(&s, &app).await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let again = ws.initialize(&app.ws_key, "desktop-main").await;
    assert_eq!(again["status"], 4);
    assert!(again.get("app_name").is_none());
    // even with another key, it stays what it was
    assert_eq!(ws.initialize(&"B".repeat(21), "other-client").await["status"], 4);
    assert_eq!(live_sessions(&s, &app).await.len(), 1);
}

#[tokio::test]
async fn key_and_client_id_lengths_are_checked_before_any_lookup() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = Ws::connect(&s, "/ws").await;
    // more than three of these in a row: none is a lookup, so none counts toward 4205
    for key in ["", "short", &"A".repeat(20), &"A".repeat(22), &format!("{}x", app.ws_key)] {
        assert_eq!(ws.initialize(key, "desktop-main").await["status"], 2, "{key:?}");
    }
    // the client id is checked after the key's length: a valid key length, a bad client id
    for (client_id, status) in [("", 500), ("abc", 500), ("ééé", 500), (&*"c".repeat(65), 501), (&*"é".repeat(65), 501)]
    {
        assert_eq!(ws.initialize(&app.ws_key, client_id).await["status"], status, "{client_id:?}");
        assert_eq!(ws.initialize(&"Z".repeat(21), client_id).await["status"], status, "no lookup for {client_id:?}");
    }
    assert!(live_sessions(&s, &app).await.is_empty());
    // lengths are in characters: four and sixty-four pass
    assert_eq!(ws.initialize(&app.ws_key, "éééé").await["status"], 1);
    let mut ws = Ws::connect(&s, "/ws").await;
    assert_eq!(ws.initialize(&app.ws_key, &"é".repeat(64)).await["status"], 1);
}

#[tokio::test]
async fn an_unknown_key_is_600_three_times_in_a_row_then_4205() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = Ws::connect(&s, "/ws").await;
    for _ in 0..3 {
        assert_eq!(ws.initialize(&"N".repeat(21), "cl-1234").await["status"], 600);
    }
    ws.send(json!({"type": 0, "id": 99, "websocket_api_key": "N".repeat(21), "client_id": "cl-1234"})).await;
    let (code, reason, before) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4205, "failed to initialize session"));
    assert!(before.is_empty(), "the fourth failure is not answered: {before:?}");

    // a key that finds an app (even a paused one) breaks the run
    app.settings(&s, json!({"status": "PAUSED"})).await;
    let mut ws = Ws::connect(&s, "/ws").await;
    for _ in 0..2 {
        assert_eq!(ws.initialize(&"N".repeat(21), "cl-1234").await["status"], 600);
    }
    assert_eq!(ws.initialize(&app.ws_key, "cl-1234").await["status"], 601);
    for _ in 0..3 {
        assert_eq!(ws.initialize(&"N".repeat(21), "cl-1234").await["status"], 600);
    }
    // refusals before the lookup neither count nor break the run
    assert_eq!(ws.initialize("short", "cl-1234").await["status"], 2);
    ws.send(json!({"type": 0, "id": 5, "websocket_api_key": "N".repeat(21), "client_id": "cl-1234"})).await;
    let (code, _, before) = ws.closed().await;
    assert_eq!(code, 4205);
    assert!(before.is_empty());
    // the count is the connection's
    app.settings(&s, json!({"status": "ACTIVE"})).await;
    app.connect(&s, "cl-1234").await;
}

#[tokio::test]
async fn a_paused_or_disabled_app_is_601() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    for status in ["PAUSED", "DISABLED"] {
        app.settings(&s, json!({"status": status})).await;
        let mut ws = Ws::connect(&s, "/ws").await;
        let a = ws.initialize(&app.ws_key, "cl-1234").await;
        assert_eq!(a["status"], 601, "{status}");
        assert!(a.get("app_name").is_none());
        // not initialized: other packets still close 4200
        ws.send(json!({"type": 10, "id": 3})).await;
        assert_eq!(ws.closed().await.0, 4200);
    }
    assert!(live_sessions(&s, &app).await.is_empty());
    app.settings(&s, json!({"status": "ACTIVE"})).await;
    app.connect(&s, "cl-1234").await;
}

#[tokio::test]
async fn the_app_session_quota_is_602() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    app.settings(&s, json!({"sessionQuota": 1})).await;
    let _first = app.connect(&s, "cl-1234").await;
    let mut ws = Ws::connect(&s, "/ws").await;
    assert_eq!(ws.initialize(&app.ws_key, "cl-5678").await["status"], 602);
    // still open, may try again once there is room
    app.settings(&s, json!({"sessionQuota": 2})).await;
    assert_eq!(ws.initialize(&app.ws_key, "cl-5678").await["status"], 1);
    assert_eq!(live_sessions(&s, &app).await.len(), 2);
}

#[tokio::test]
async fn a_blacklisted_client_id_is_answered_503_then_closed_4204() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    app.blacklist(&s, "CLIENT_ID", "banned-client").await;
    app.blacklist(&s, "HWID", "banned-device").await;
    for client_id in ["banned-client", "banned-device"] {
        let mut ws = Ws::connect(&s, "/ws").await;
        ws.send(json!({"type": 0, "id": 8, "websocket_api_key": app.ws_key, "client_id": client_id})).await;
        let (code, reason, before) = ws.closed().await;
        assert_eq!((code, reason.as_str()), (4204, "external ID is blacklisted"));
        assert_eq!(before.len(), 1, "{before:?}");
        assert_eq!((before[0]["id"].clone(), before[0]["status"].clone()), (json!(8), json!(503)));
    }
    assert!(live_sessions(&s, &app).await.is_empty());
    app.connect(&s, "fine-client").await;
}

/// Initialize is closed 4204 with no answer.
async fn refused(s: &TestServer, app: &BlazeApp) {
    let mut ws = Ws::connect(s, "/ws").await;
    ws.send(json!({"type": 0, "id": 8, "websocket_api_key": app.ws_key, "client_id": "cl-1234"})).await;
    let (code, reason, before) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4204, "external ID is blacklisted"));
    assert!(before.is_empty(), "no answer: {before:?}");
}

#[tokio::test]
async fn a_refused_address_closes_4204_without_an_answer() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    // not on the whitelist
    app.settings(&s, json!({"ipWhitelist": ["203.0.113.7"]})).await;
    refused(&s, &app).await;
    app.settings(&s, json!({"ipWhitelist": []})).await;
    app.connect(&s, "cl-1234").await;
    // blacklisted
    app.blacklist(&s, "IP", "127.0.0.0/8").await;
    refused(&s, &app).await;
    assert_eq!(live_sessions(&s, &app).await.len(), 1);

    // a VPN exit, when the app blocks them
    let dir = tempfile::tempdir().unwrap();
    let vpn = dir.path().join("vpn.txt");
    std::fs::write(&vpn, "127.0.0.0/8\n").unwrap();
    let s2 = TestServer::start_with(|c| c.vpn_ranges = Some(vpn.display().to_string())).await;
    let app2 = BlazeApp::create(&s2).await;
    app2.connect(&s2, "cl-1234").await;
    app2.settings(&s2, json!({"blockVpn": true})).await;
    refused(&s2, &app2).await;
}

#[tokio::test]
async fn a_store_failure_is_6_and_the_connection_stays_usable() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut open = app.connect(&s, "cl-1234").await;
    let mut ws = Ws::connect(&s, "/ws").await;
    break_table(&s, "sessions").await;
    let a = ws.initialize(&app.ws_key, "cl-1234").await;
    assert_eq!(a["status"], 6, "{a}");
    // not initialized, and no lookup failure either
    ws.send(json!({"type": 10, "id": 3})).await;
    assert_eq!(ws.closed().await.0, 4200);
    // 10 reads the sessions: 6, and the connection goes on
    assert_eq!(open.call(10, json!({})).await["status"], 6);
    assert_eq!(open.call(12, json!({"key": "k", "value": "v"})).await["status"], 1);
}

// ---------------------------------------------------------------------------------------------
// 10 online users count

#[tokio::test]
async fn online_users_count_is_the_apps_live_sessions() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let other = BlazeApp::create(&s).await;
    let mut a = app.connect(&s, "cl-1234").await;
    let first = a.call(10, json!({})).await;
    assert_eq!(first["status"], 1);
    assert_eq!(first["online_users_count"], 1);
    let _b = app.connect(&s, "cl-5678").await;
    let _elsewhere = other.connect(&s, "cl-1234").await;
    // a session opened by another protocol counts too
    let at = tollgate_core::time::now();
    let session = tollgate_core::model::Session {
        id: tollgate_core::ids::new_id(tollgate_core::ids::prefix::SESSION),
        app_id: app.id.clone(),
        token: tollgate_core::ids::new_token(),
        user_id: None,
        license_id: None,
        ip: Some("127.0.0.1".into()),
        hwid: None,
        client_id: None,
        created_at: at,
        expires_at: at + chrono::Duration::hours(1),
        last_seen: at,
    };
    s.state.store.create_session(&session, &[]).await.unwrap();
    let n = a.call(10, json!({})).await;
    assert_eq!(n["online_users_count"], 3, "{n}");
    assert_eq!(n["status"], 1);
}

// ---------------------------------------------------------------------------------------------
// 11 get variable

#[tokio::test]
async fn get_variable_statuses() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    app.variable(&s, "latest_version", "2.1.0", false).await;
    app.variable(&s, "secret_url", "https://example.test/x", true).await;
    app.variable(&s, "abc", "", false).await;
    let mut ws = app.connect(&s, "cl-1234").await;
    let a = ws.call(11, json!({"name": "latest_version"})).await;
    assert_eq!((a["status"].clone(), a["content"].clone()), (json!(1), json!("2.1.0")));
    let a = ws.call(11, json!({"name": "abc"})).await;
    assert_eq!((a["status"].clone(), a["content"].clone()), (json!(1), json!("")));
    // names too short, or no variable could have: before any lookup
    for name in ["", "ab", "é", "a b c", "has/slash", &"k".repeat(129)] {
        let a = ws.call(11, json!({"name": name})).await;
        assert_eq!(a["status"], 401, "{name:?}");
        assert!(a.get("content").is_none());
    }
    let a = ws.call(11, json!({"name": "no_such_var"})).await;
    assert_eq!(a["status"], 400);
    assert!(a.get("content").is_none());
    // protected: the connection has not authorized
    let a = ws.call(11, json!({"name": "secret_url"})).await;
    assert_eq!(a["status"], 3);
    assert!(a.get("content").is_none(), "{a}");
    // another app's variable is not this app's
    let other = BlazeApp::create(&s).await;
    let mut ws2 = other.connect(&s, "cl-1234").await;
    assert_eq!(ws2.call(11, json!({"name": "latest_version"})).await["status"], 400);
}

// ---------------------------------------------------------------------------------------------
// 12–14 session values

#[tokio::test]
async fn session_values_set_get_delete() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = app.connect(&s, "cl-1234").await;
    let missing = ws.call(13, json!({"key": "token"})).await;
    assert_eq!(missing["status"], 700);
    assert!(missing.get("value").is_none());
    assert_eq!(ws.call(14, json!({"key": "token"})).await["status"], 700);
    assert_eq!(ws.call(12, json!({"key": "token", "value": "abc", "ttl": 0})).await["status"], 1);
    let got = ws.call(13, json!({"key": "token"})).await;
    assert_eq!((got["status"].clone(), got["value"].clone()), (json!(1), json!("abc")));
    // replaced; keys are exact (case, spaces, any characters)
    assert_eq!(ws.call(12, json!({"key": "token", "value": "déf"})).await["status"], 1);
    assert_eq!(ws.call(13, json!({"key": "token"})).await["value"], "déf");
    assert_eq!(ws.call(13, json!({"key": "Token"})).await["status"], 700);
    assert_eq!(ws.call(12, json!({"key": "a key / with ✓", "value": ""})).await["status"], 1);
    assert_eq!(ws.call(13, json!({"key": "a key / with ✓"})).await["value"], "");
    // the store is the connection's
    let mut other = app.connect(&s, "cl-5678").await;
    assert_eq!(other.call(13, json!({"key": "token"})).await["status"], 700);
    assert_eq!(ws.call(14, json!({"key": "token"})).await["status"], 1);
    assert_eq!(ws.call(14, json!({"key": "token"})).await["status"], 700);
    assert_eq!(ws.call(13, json!({"key": "token"})).await["status"], 700);
    // a value lives for its ttl
    assert_eq!(ws.call(12, json!({"key": "brief", "value": "v", "ttl": 1})).await["status"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(ws.call(13, json!({"key": "brief"})).await["status"], 700);
    assert_eq!(ws.call(14, json!({"key": "brief"})).await["status"], 700);
    // negative ttl means the default, not already expired
    assert_eq!(ws.call(12, json!({"key": "neg", "value": "v", "ttl": -5})).await["status"], 1);
    assert_eq!(ws.call(13, json!({"key": "neg"})).await["value"], "v");
}

#[tokio::test]
async fn session_values_are_capped_at_64_entries_and_16384_bytes() {
    // more packets than the default rate limit allows in a minute
    let s = TestServer::start_with(|c| c.ws_rate_limit = Some("1000".into())).await;
    let app = BlazeApp::create(&s).await;
    let mut ws = app.connect(&s, "cl-1234").await;
    for i in 0..64 {
        assert_eq!(ws.call(12, json!({"key": format!("k{i}"), "value": "v"})).await["status"], 1);
    }
    assert_eq!(ws.call(12, json!({"key": "one-more", "value": "v"})).await["status"], 702);
    assert_eq!(ws.call(13, json!({"key": "one-more"})).await["status"], 700);
    // replacing is not a new entry; deleting makes room
    assert_eq!(ws.call(12, json!({"key": "k0", "value": "w"})).await["status"], 1);
    assert_eq!(ws.call(14, json!({"key": "k1"})).await["status"], 1);
    assert_eq!(ws.call(12, json!({"key": "one-more", "value": "v"})).await["status"], 1);

    let mut ws = app.connect(&s, "cl-5678").await;
    // key plus value exactly 16384 bytes
    assert_eq!(ws.call(12, json!({"key": "big", "value": "x".repeat(16_381)})).await["status"], 1);
    assert_eq!(ws.call(12, json!({"key": "k", "value": ""})).await["status"], 701);
    assert_eq!(ws.call(13, json!({"key": "k"})).await["status"], 700);
    assert_eq!(ws.call(12, json!({"key": "big", "value": "x".repeat(16_382)})).await["status"], 701);
    // the refused write changed nothing
    assert_eq!(ws.call(13, json!({"key": "big"})).await["value"].as_str().unwrap().len(), 16_381);
    // multi-byte characters count in bytes
    assert_eq!(ws.call(14, json!({"key": "big"})).await["status"], 1);
    assert_eq!(ws.call(12, json!({"key": "é", "value": "é".repeat(8_191)})).await["status"], 1);
    assert_eq!(ws.call(12, json!({"key": "x", "value": ""})).await["status"], 701);
}

// ---------------------------------------------------------------------------------------------
// 17 panel events subscription

#[tokio::test]
async fn panel_subscription_turns_on_and_off() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let mut ws = app.connect(&s, "cl-1234").await;
    for subscribed in [true, true, false, false, true] {
        let a = ws.call(17, json!({"subscribed": subscribed})).await;
        assert_eq!(a["status"], 1);
        assert_eq!(a.as_object().unwrap().len(), 5, "id, status and the three signature fields: {a}");
    }
    // a body that is not a bool closes 4302
    ws.send(json!({"type": 17, "id": 50, "subscribed": 1})).await;
    let (code, reason, before) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4302, "invalid request body"));
    assert!(before.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Session liveness

/// What an open connection does every few minutes (`dialect::blaze::KEEP_ALIVE_EVERY`): its
/// session is seen now and expires a whole lifetime from now, later than it would have.
#[tokio::test]
async fn keeping_an_open_connections_session_alive_moves_its_expiry_a_lifetime_ahead() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let _ws = app.connect(&s, "cl-1234").await;
    let store = s.state.store.as_ref();
    let mut views = store.list_live_sessions(&app.id, tollgate_core::time::now()).await.unwrap();
    assert_eq!(views.len(), 1);
    let session = views.remove(0).session;
    let (opened_expiry, opened_seen) = (session.expires_at, session.last_seen);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let cached = s.state.apps.by_id(store, &app.id).await.unwrap().unwrap();
    let ip = "127.0.0.1".parse().unwrap();
    let mut live = tollgate_server::client::Live { session, app: cached, ip, unannounced: false, dialect: "blazeauth" };
    let before = tollgate_core::time::now();
    assert!(tollgate_server::client::data::keep_alive(&s.state, &mut live).await.unwrap());
    let lifetime = tollgate_core::session::SESSION_TTL;
    assert!(live.session.expires_at >= before + lifetime);
    let stored = store.list_live_sessions(&app.id, tollgate_core::time::now()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].session.expires_at > opened_expiry, "the expiry moved ahead");
    assert!(stored[0].session.expires_at >= before + lifetime);
    assert!(stored[0].session.last_seen > opened_seen);
    // a session that is gone stays gone
    assert!(store.delete_session(&app.id, &live.session.id).await.unwrap());
    assert!(!tollgate_server::client::data::keep_alive(&s.state, &mut live).await.unwrap());
}
