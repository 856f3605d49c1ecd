//! Several stateless nodes over one PostgreSQL database: what one node changes is in
//! force on the other. Runs when TOLLGATE_TEST_POSTGRES_URL is set.

use std::time::{Duration, Instant};

use serde_json::json;
use tollgate_core::model::{Session, User, UserStatus};
use tollgate_core::time::now;

use crate::harness::TestServer;

/// Poll `check` every 10 ms until it holds; false after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Whether the multi-node tests can run (they need PostgreSQL); says so once when they cannot.
pub fn on_postgres() -> bool {
    if tollgate_postgres::testing::admin_url().is_none() {
        eprintln!("multi-node tests skipped: TOLLGATE_TEST_POSTGRES_URL is not set");
        return false;
    }
    true
}

#[tokio::test]
async fn a_setting_changed_on_one_node_is_in_force_on_the_other() {
    if !on_postgres() {
        return;
    }
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let seller = a.seller().await;
    let app = a.create_app(&seller, "Shared").await;
    let id = app["id"].as_str().unwrap().to_owned();

    // node B reads the app once: now it is cached there
    let cached = b.state.apps.by_id(b.state.store.as_ref(), &id).await.unwrap().unwrap();
    assert!(cached.app.settings.hwid_lock);
    assert!(cached.blacklist.is_empty());

    // the seller's token from node A works on node B (shared master key)
    b.get(&format!("/v1/admin/apps/{id}"), &seller.token).await.assert_status(200);

    a.patch(&format!("/v1/admin/apps/{id}"), &seller.token, json!({"hwidLock": false, "version": "2.0"}))
        .await
        .assert_status(200);
    let store = b.state.store.clone();
    let apps = b.state.apps.clone();
    let seen = eventually(Duration::from_secs(5), || {
        let (store, apps, id) = (store.clone(), apps.clone(), id.clone());
        async move {
            let e = apps.by_id(store.as_ref(), &id).await.unwrap().unwrap();
            !e.app.settings.hwid_lock && e.app.version == "2.0"
        }
    })
    .await;
    assert!(seen, "node B still serves the old settings");

    // a blacklist entry added on A is in B's cached view too
    a.post(&format!("/v1/admin/apps/{id}/blacklist"), &seller.token, json!({"type": "IP", "value": "203.0.113.0/24"}))
        .await
        .assert_status(201);
    let seen = eventually(Duration::from_secs(5), || {
        let (store, apps, id) = (store.clone(), apps.clone(), id.clone());
        async move { apps.by_id(store.as_ref(), &id).await.unwrap().unwrap().blacklist.len() == 1 }
    })
    .await;
    assert!(seen, "node B did not see the blacklist entry");

    // a regenerated key: B's cache drops the old one
    let r = a.post(&format!("/v1/admin/apps/{id}/regenerate-key"), &seller.token, json!({})).await;
    let new_key = r.data()["apiKey"].as_str().unwrap().to_owned();
    let seen = eventually(Duration::from_secs(5), || {
        let (store, apps, id, k) = (store.clone(), apps.clone(), id.clone(), new_key.clone());
        async move { apps.by_id(store.as_ref(), &id).await.unwrap().unwrap().app.api_key == k }
    })
    .await;
    assert!(seen, "node B kept the old API key");

    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_ban_or_kill_on_one_node_is_seen_by_the_other() {
    if !on_postgres() {
        return;
    }
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let seller = a.seller().await;
    let id = a.create_app(&seller, "Shared").await["id"].as_str().unwrap().to_owned();
    let user = User {
        note: None,
        id: tollgate_core::ids::new_id("usr"),
        app_id: id.clone(),
        username: "alice".into(),
        password_hash: tollgate_core::password::hash("pw").unwrap(),
        email: None,
        level: 1,
        expires_at: None,
        devices: vec![],
        max_devices: 1,
        last_ip: None,
        status: UserStatus::Active,
        ban_reason: None,
        last_login: None,
        created_at: now(),
    };
    a.state.store.create_user(&user, &[]).await.unwrap();
    let mk_session = |user_id: Option<String>| Session {
        id: tollgate_core::ids::new_id("sess"),
        app_id: id.clone(),
        token: tollgate_core::ids::new_token(),
        user_id,
        license_id: None,
        ip: None,
        hwid: None,
        client_id: None,
        created_at: now(),
        expires_at: now() + chrono::Duration::hours(24),
        last_seen: now(),
    };
    let user_session = mk_session(Some(user.id.clone()));
    let other_session = mk_session(None);
    a.state.store.create_session(&user_session, &[]).await.unwrap();
    a.state.store.create_session(&other_session, &[]).await.unwrap();

    // banned through A: B finds the user banned and the user's session gone
    a.post(&format!("/v1/admin/apps/{id}/users/{}/ban", user.id), &seller.token, json!({"reason": "abuse"}))
        .await
        .assert_status(200);
    let u = b.get(&format!("/v1/admin/apps/{id}/users/{}", user.id), &seller.token).await;
    assert_eq!(u.data()["status"], "BANNED");
    assert_eq!(b.state.store.session_by_token(&id, &user_session.token).await.unwrap(), None);

    // a session killed through A is dead on B
    a.delete(&format!("/v1/admin/apps/{id}/sessions/{}", other_session.id), &seller.token).await.assert_status(200);
    assert_eq!(b.state.store.session_by_token(&id, &other_session.token).await.unwrap(), None);
    let live = b.get(&format!("/v1/admin/apps/{id}/sessions"), &seller.token).await;
    assert_eq!(live.data(), &json!([]));

    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn the_local_cache_follows_admin_changes_at_once() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let id = s.create_app(&seller, "Cached").await["id"].as_str().unwrap().to_owned();
    let store = s.state.store.clone();
    let before = s.state.apps.by_id(store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!(before.app.name, "Cached");
    s.patch(&format!("/v1/admin/apps/{id}"), &seller.token, json!({"name": "Renamed"})).await.assert_status(200);
    // read-your-writes on the node that made the change: no waiting
    assert!(s.state.apps.peek(&id).is_none(), "stale entry kept");
    let after = s.state.apps.by_id(store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!(after.app.name, "Renamed");
    let by_name = s.state.apps.by_owner_and_name(store.as_ref(), &seller.id, "Renamed").await.unwrap().unwrap();
    assert_eq!(by_name.app.id, id);
    assert!(s.state.apps.by_owner_and_name(store.as_ref(), &seller.id, "Cached").await.unwrap().is_none());
    s.delete(&format!("/v1/admin/apps/{id}"), &seller.token).await.assert_status(200);
    assert!(s.state.apps.by_id(store.as_ref(), &id).await.unwrap().is_none());
}

#[tokio::test]
async fn a_logout_or_deletion_on_one_node_refuses_the_token_on_the_other() {
    if !on_postgres() {
        return;
    }
    let a = TestServer::start().await;
    let b = a.second_node().await;
    let seller = a.seller().await;
    // Node B has the seller's token generation cached from this request.
    b.get("/v1/auth/profile", &seller.token).await.assert_status(200);
    a.post("/v1/auth/logout", &seller.token, json!({ "refreshToken": seller.refresh })).await.assert_status(200);
    let refused = eventually(Duration::from_secs(5), || async {
        b.get("/v1/auth/profile", &seller.token).await.status.as_u16() == 401
    })
    .await;
    assert!(refused, "node B still accepts a token revoked on node A");

    let other = a.seller().await;
    b.get("/v1/admin/apps", &other.token).await.assert_status(200);
    a.req(
        reqwest::Method::DELETE,
        "/v1/auth/profile",
        Some(&other.token),
        Some(json!({ "password": "correct horse" })),
    )
    .await
    .assert_status(200);
    let refused = eventually(Duration::from_secs(5), || async {
        b.get("/v1/admin/apps", &other.token).await.status.as_u16() == 401
    })
    .await;
    assert!(refused, "node B still accepts the token of a seller deleted on node A");
    b.stop().await;
    a.stop().await;
}
