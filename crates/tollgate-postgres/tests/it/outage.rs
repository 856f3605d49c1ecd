//! Outages: while the database cannot serve a request, the request fails fast with
//! `Unavailable` (never hangs), and the store recovers by itself when the database is back.
//! Connections are dropped from the server side with `pg_terminate_backend`, as a restart or a
//! failover does.

use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tollgate_core::time::now;
use tollgate_postgres::testing::FreshDb;
use tollgate_postgres::{PgStore, ACQUIRE_TIMEOUT, STATEMENT_TIMEOUT};
use tollgate_store::conformance::{seller_with_app, stored_user};
use tollgate_store::{SellerStore, StoreError, UserStore};

use crate::{admin_conn, fresh_store};

/// Pids of the store's connections to `db` (`application_name` is `tollgate`), optionally only
/// those waiting for a lock.
async fn store_backends(db: &FreshDb, waiting_for_lock: bool) -> Vec<i32> {
    let mut admin = admin_conn().await;
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity
         WHERE datname = $1 AND application_name = 'tollgate'
           AND (NOT $2 OR wait_event_type = 'Lock')",
    )
    .bind(db.name())
    .bind(waiting_for_lock)
    .fetch_all(&mut admin)
    .await
    .unwrap()
}

/// Poll (bounded) until at least one such connection shows up; its pids.
async fn wait_for(db: &FreshDb, waiting_for_lock: bool) -> Vec<i32> {
    for _ in 0..400 {
        let pids = store_backends(db, waiting_for_lock).await;
        if !pids.is_empty() {
            return pids;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no store connection showed up in pg_stat_activity");
}

/// Terminate the store's connections and wait (bounded) until they are gone.
async fn terminate(db: &FreshDb, pids: &[i32]) {
    let mut admin = admin_conn().await;
    for pid in pids {
        let done: bool =
            sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(&mut admin).await.unwrap();
        assert!(done, "pid {pid}");
    }
    for _ in 0..400 {
        let alive = store_backends(db, false).await;
        if !alive.iter().any(|p| pids.contains(p)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("terminated backends did not exit");
}

#[tokio::test]
async fn an_unreachable_server_fails_fast_with_unavailable() {
    // Needs no PostgreSQL: a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let result = tokio::time::timeout(ACQUIRE_TIMEOUT * 4, PgStore::connect(&url, 1))
        .await
        .expect("connecting hung past its timeout");
    assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn dead_pooled_connections_are_replaced_without_failing_a_request() {
    let Some((db, store)) = fresh_store(3).await else { return };
    let (owner, _) = seller_with_app(&store).await;
    {
        // Open all three pooled connections, then let them go back idle.
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(store.pool().acquire().await.unwrap());
        }
    }
    let pids = store_backends(&db, false).await;
    assert_eq!(pids.len(), 3);
    terminate(&db, &pids).await;

    // Every request after the "restart" succeeds: dead connections are found before use.
    for _ in 0..5 {
        assert_eq!(store.seller_by_id(&owner.id).await.unwrap(), Some(owner.clone()));
    }
    let replaced = store_backends(&db, false).await;
    assert!(replaced.iter().all(|p| !pids.contains(p)));
    store.close().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_request_is_unavailable_and_the_next_request_works() {
    let Some((db, store)) = fresh_store(2).await else { return };
    let (_, app) = seller_with_app(&store).await;
    let user = stored_user(&store, &app.id, "alice").await;

    // Another session holds the user's row, so the store's UPDATE waits on it.
    let mut locker = PgConnection::connect(&db.url).await.unwrap();
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM app_users WHERE id = $1 FOR UPDATE").bind(&user.id).execute(&mut *tx).await.unwrap();
    let waiting = tokio::spawn({
        let (store, app_id, id) = (store.clone(), app.id.clone(), user.id.clone());
        async move { store.extend_user(&app_id, &id, 1, now()).await }
    });
    let pids = wait_for(&db, true).await;
    terminate(&db, &pids).await;
    let result = tokio::time::timeout(ACQUIRE_TIMEOUT, waiting).await.expect("the request hung").unwrap();
    assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");

    tx.rollback().await.unwrap();
    assert!(store.extend_user(&app.id, &user.id, 1, now()).await.unwrap().is_some());
    store.close().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_stuck_behind_a_lock_is_cancelled_as_unavailable() {
    let Some((db, store)) = fresh_store(2).await else { return };
    let (_, app) = seller_with_app(&store).await;
    let user = stored_user(&store, &app.id, "bob").await;

    let mut locker = PgConnection::connect(&db.url).await.unwrap();
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM app_users WHERE id = $1 FOR UPDATE").bind(&user.id).execute(&mut *tx).await.unwrap();
    let result = tokio::time::timeout(STATEMENT_TIMEOUT * 3, store.extend_user(&app.id, &user.id, 1, now()))
        .await
        .expect("statement_timeout did not cancel the statement");
    match result {
        Err(StoreError::Unavailable(msg)) => assert!(msg.contains("statement timeout"), "{msg}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }

    // Nothing was written, and once the lock is gone the same call goes through.
    tx.rollback().await.unwrap();
    assert_eq!(store.get_user(&app.id, &user.id).await.unwrap(), Some(user.clone()));
    assert!(store.extend_user(&app.id, &user.id, 1, now()).await.unwrap().is_some());
    store.close().await;
    db.drop().await;
}
