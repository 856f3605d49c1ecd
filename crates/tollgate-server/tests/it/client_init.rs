//! `client::init` called directly, for the credentials no wire dialect sends yet: app id + API
//! key, and WebSocket key + client id. Each runs against a real store (both backends), with the
//! app set up through the admin API. Owner + app name + secret is covered over the wire by the
//! `authly_*` tests.

use serde_json::{json, Value};
use tollgate_core::DomainError;
use tollgate_server::client::guard::{check_replay, rate_limit};
use tollgate_server::client::init::{init, AppCredentials, Opened};
use tollgate_server::client::Caller;

use crate::authly::{client_app, settings, ClientApp};
use crate::authly_init::blacklist_ip;
use crate::harness::TestServer;

const HASH: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";

fn caller() -> Caller {
    Caller { ip: "127.0.0.1".parse().unwrap(), mac: None, dialect: "test" }
}

/// The app's WebSocket key, through the admin API.
async fn ws_key(s: &TestServer, app: &ClientApp) -> String {
    let r = s.get(&format!("/v1/admin/apps/{}", app.id), &app.seller.token).await;
    r.assert_status(200);
    r.data()["wsKey"].as_str().unwrap().to_owned()
}

async fn blacklist(s: &TestServer, app: &ClientApp, kind: &str, value: &str) {
    let body = json!({ "type": kind, "value": value, "reason": "test" });
    s.post(&format!("/v1/admin/apps/{}/blacklist", app.id), &app.seller.token, body).await.assert_status(201);
}

fn err(r: Result<Opened, DomainError>) -> DomainError {
    match r {
        Ok(o) => panic!("init passed: session {}", o.session.id),
        Err(e) => e,
    }
}

fn version_control_on() -> Value {
    json!({ "versionControl": { "enabled": true, "rules": [] } })
}

#[tokio::test]
async fn app_id_and_api_key() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let creds = |api_key, version, hash| AppCredentials::AppKey { app_id: &app.id, api_key, version, hash };

    let opened = init(&s.state, &caller(), &creds(&app.secret, None, None)).await.unwrap();
    assert_eq!(opened.session.app_id, app.id);
    assert_eq!(opened.app.app.id, app.id);
    assert_eq!(opened.session.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(opened.session.client_id, None);
    assert!(opened.update.is_none());
    let stored = s.state.store.session_by_token_any(&opened.session.token).await.unwrap();
    assert_eq!(stored.map(|x| x.id), Some(opened.session.id));

    // The key is compared exactly; an unknown app id is not found.
    let wrong = format!("{}x", app.secret);
    assert_eq!(err(init(&s.state, &caller(), &creds(&wrong, None, None)).await), DomainError::InvalidSecret);
    let other = AppCredentials::AppKey { app_id: "app_missing", api_key: &app.secret, version: None, hash: None };
    assert_eq!(err(init(&s.state, &caller(), &other).await), DomainError::AppNotFound);

    // Version control applies only when a version is sent.
    settings(&s, &app, version_control_on()).await;
    init(&s.state, &caller(), &creds(&app.secret, None, None)).await.unwrap();
    init(&s.state, &caller(), &creds(&app.secret, Some("1.0"), None)).await.unwrap();
    match err(init(&s.state, &caller(), &creds(&app.secret, Some("0.9"), None)).await) {
        DomainError::VersionRefused(r) => assert_eq!(r.client_version, "0.9"),
        other => panic!("{other:?}"),
    }

    // The hash is checked when the app checks hashes.
    settings(&s, &app, json!({ "hashCheck": true, "hashes": [HASH] })).await;
    assert_eq!(err(init(&s.state, &caller(), &creds(&app.secret, None, None)).await), DomainError::HashRequired);
    assert_eq!(err(init(&s.state, &caller(), &creds(&app.secret, None, Some("cd"))).await), DomainError::InvalidHash);
    init(&s.state, &caller(), &creds(&app.secret, None, Some(HASH))).await.unwrap();

    // Status and address steps run before the key.
    blacklist_ip(&s, &app, "127.0.0.1").await;
    assert_eq!(err(init(&s.state, &caller(), &creds(&wrong, None, Some(HASH))).await), DomainError::IpBlocked);
    settings(&s, &app, json!({ "status": "DISABLED" })).await;
    assert_eq!(err(init(&s.state, &caller(), &creds(&wrong, None, Some(HASH))).await), DomainError::AppDisabled);
}

#[tokio::test]
async fn websocket_key_and_client_id() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = ws_key(&s, &app).await;
    let creds = |client_id| AppCredentials::WsKey { ws_key: &key, client_id };

    let opened = init(&s.state, &caller(), &creds("client-1")).await.unwrap();
    assert_eq!(opened.session.app_id, app.id);
    assert_eq!(opened.session.client_id.as_deref(), Some("client-1"));
    assert!(opened.update.is_none());
    let stored = s.state.store.session_by_token_any(&opened.session.token).await.unwrap().unwrap();
    assert_eq!(stored.client_id.as_deref(), Some("client-1"));

    let unknown = AppCredentials::WsKey { ws_key: "w_not_a_key_of_any_app", client_id: "client-1" };
    assert_eq!(err(init(&s.state, &caller(), &unknown).await), DomainError::AppNotFound);

    // No hash and no version travel with these credentials: those steps do not apply.
    let mut patch = version_control_on();
    patch["hashCheck"] = json!(true);
    patch["hashes"] = json!([HASH]);
    settings(&s, &app, patch).await;
    init(&s.state, &caller(), &creds("client-1")).await.unwrap();

    // The client id against the device and client-id blacklist (case-insensitively).
    blacklist(&s, &app, "CLIENT_ID", "banned-client").await;
    blacklist(&s, &app, "HWID", "banned-device").await;
    assert_eq!(err(init(&s.state, &caller(), &creds("BANNED-client")).await), DomainError::HwidBlocked);
    assert_eq!(err(init(&s.state, &caller(), &creds("banned-device")).await), DomainError::HwidBlocked);
    init(&s.state, &caller(), &creds("client-2")).await.unwrap();

    // Address steps come before the client id.
    blacklist_ip(&s, &app, "127.0.0.0/8").await;
    assert_eq!(err(init(&s.state, &caller(), &creds("banned-client")).await), DomainError::IpBlocked);
    settings(&s, &app, json!({ "status": "PAUSED" })).await;
    assert_eq!(err(init(&s.state, &caller(), &creds("client-1")).await), DomainError::AppPaused);
}

#[tokio::test]
async fn every_kind_counts_against_the_session_quota() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = ws_key(&s, &app).await;
    settings(&s, &app, json!({ "sessionQuota": 2 })).await;
    let by_key = AppCredentials::AppKey { app_id: &app.id, api_key: &app.secret, version: None, hash: None };
    let by_ws = AppCredentials::WsKey { ws_key: &key, client_id: "client-1" };
    let by_name = AppCredentials::NamedApp {
        owner_id: &app.owner_id,
        app_name: &app.name,
        secret: &app.secret,
        version: &app.version,
        hash: None,
    };
    init(&s.state, &caller(), &by_key).await.unwrap();
    init(&s.state, &caller(), &by_ws).await.unwrap();
    for creds in [by_key, by_ws, by_name] {
        assert_eq!(err(init(&s.state, &caller(), &creds).await), DomainError::SessionQuotaExceeded);
    }
}

#[tokio::test]
async fn the_replay_guard_remembers_a_nonce_once_across_nodes() {
    let s = TestServer::start().await;
    // Another process on the same database, where the backend can be shared.
    let other = match s.pg.is_some() {
        true => Some(s.second_node().await),
        false => None,
    };
    let other = other.as_ref().map_or(&s.state, |o| &o.state);
    let now = tollgate_core::time::to_millis(&tollgate_core::time::now()).to_string();
    let nonce = tollgate_core::ids::random_hex(16);
    check_replay(&s.state, Some(&now), Some(&nonce)).await.unwrap();
    for state in [&s.state, other] {
        assert_eq!(check_replay(state, Some(&now), Some(&nonce)).await, Err(DomainError::ReplayedRequest));
    }
    // Neither sent: nothing to check. A stale or unreadable timestamp, or a junk nonce, is refused.
    check_replay(other, None, None).await.unwrap();
    let fresh = tollgate_core::ids::random_hex(16);
    for (ts, nonce) in [(Some("0"), Some(fresh.as_str())), (Some("soon"), None), (None, Some("short"))] {
        assert_eq!(check_replay(&s.state, ts, nonce).await, Err(DomainError::ReplayedRequest), "{ts:?} {nonce:?}");
    }
    check_replay(&s.state, None, Some(&fresh)).await.unwrap();
}

#[tokio::test]
async fn the_rate_limit_guard_counts_per_address() {
    let s = TestServer::start_with(|c| c.client_rate_limit = Some("1".into())).await;
    let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
    // A rate of 1 per second bursts to 10.
    for _ in 0..10 {
        rate_limit(&s.state, a).unwrap();
    }
    match rate_limit(&s.state, a) {
        Err(DomainError::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 1),
        other => panic!("{other:?}"),
    }
    rate_limit(&s.state, b).unwrap();
}
