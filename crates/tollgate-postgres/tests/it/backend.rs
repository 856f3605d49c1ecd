//! What the PostgreSQL store does beyond the trait: its name, its session settings,
//! migrations (idempotent, and safe when several nodes start at once), error texts.

use std::path::Path;

use sqlx::Connection;
use tollgate_postgres::{PgStore, STATEMENT_TIMEOUT};
use tollgate_store::conformance::{license, seller, seller_with_app};
use tollgate_store::{LicenseStore, SellerStore, Store, StoreError};

use crate::fresh_store;

fn migration_files() -> usize {
    std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations")).unwrap().count()
}

#[tokio::test]
async fn backend_is_postgres() {
    let Some((db, store)) = fresh_store(2).await else { return };
    assert_eq!(store.backend(), "postgres");
    store.ping().await.unwrap();
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn every_pooled_connection_has_the_timeout_and_read_committed() {
    let Some((db, store)) = fresh_store(3).await else { return };
    // Hold all three at once so each is a distinct connection.
    let mut conns = Vec::new();
    for _ in 0..3 {
        conns.push(store.pool().acquire().await.unwrap());
    }
    let want_timeout = format!("{}s", STATEMENT_TIMEOUT.as_secs());
    for conn in &mut conns {
        let timeout: String = sqlx::query_scalar("SHOW statement_timeout").fetch_one(&mut **conn).await.unwrap();
        assert_eq!(timeout, want_timeout);
        let isolation: String =
            sqlx::query_scalar("SHOW default_transaction_isolation").fetch_one(&mut **conn).await.unwrap();
        assert_eq!(isolation, "read committed");
        let app: String = sqlx::query_scalar("SHOW application_name").fetch_one(&mut **conn).await.unwrap();
        assert_eq!(app, "tollgate");
    }
    drop(conns);
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn reconnecting_keeps_data_and_migrating_again_is_harmless() {
    let Some((db, store)) = fresh_store(2).await else { return };
    let (owner, app) = seller_with_app(&store).await;
    store.insert_licenses(&[license(&app.id, "KEEP-1")]).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))));

    let again = PgStore::connect(&db.url, 2).await.unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.seller_by_id(&owner.id).await.unwrap(), Some(owner));
    assert!(again.license_by_key(&app.id, "KEEP-1").await.unwrap().is_some());

    // Exactly one migration recorded per file, however often it ran.
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(again.pool()).await.unwrap();
    assert_eq!(applied as usize, migration_files());
    again.close().await;
    db.drop().await;
}

/// Several nodes starting at once on an empty database: sqlx's advisory lock lets one migrate
/// while the others wait, and all of them come up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_migrate_once() {
    let Some(admin) = crate::admin_url_or_skip() else { return };
    let db = tollgate_postgres::testing::FreshDb::create(&admin).await.unwrap();
    let nodes = futures::future::join_all((0..4).map(|_| PgStore::connect(&db.url, 2))).await;
    let nodes: Vec<PgStore> = nodes.into_iter().map(Result::unwrap).collect();
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(nodes[0].pool()).await.unwrap();
    assert_eq!(applied as usize, migration_files());
    // Each node sees the others' writes.
    let s = seller();
    nodes[1].create_seller(&s).await.unwrap();
    assert_eq!(nodes[3].seller_by_id(&s.id).await.unwrap(), Some(s));
    for node in &nodes {
        node.close().await;
    }
    db.drop().await;
}

#[tokio::test]
async fn a_conflict_names_the_constraint_and_not_the_value() {
    let Some((db, store)) = fresh_store(2).await else { return };
    let a = seller();
    store.create_seller(&a).await.unwrap();
    let mut b = seller();
    b.email = a.email.clone();
    let err = store.create_seller(&b).await.unwrap_err();
    let text = err.to_string();
    assert_eq!(text, "conflict on sellers_email_key");
    assert!(!text.contains(&a.email));

    // Other constraint failures are `Other`, and do not carry the values either.
    let orphan = license("app_missing", "SECRET-KEY-1");
    match store.insert_licenses(&[orphan]).await {
        Err(StoreError::Other(msg)) => {
            assert!(msg.contains("foreign key"), "{msg}");
            assert!(!msg.contains("app_missing") && !msg.contains("SECRET-KEY-1"), "{msg}");
        }
        other => panic!("expected a foreign key error, got {other:?}"),
    }
    // A duplicate primary key is not one of the named conflicts.
    match store.create_seller(&a).await {
        Err(StoreError::Other(msg)) => assert!(msg.contains("sellers_pkey"), "{msg}"),
        other => panic!("expected Other, got {other:?}"),
    }
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn a_bad_url_is_a_clear_error() {
    match PgStore::connect("postgres://user@host:notaport/db", 1).await {
        Err(StoreError::Other(msg)) => assert!(msg.contains("invalid PostgreSQL database url"), "{msg}"),
        other => panic!("expected Other, got {other:?}"),
    }
}

#[tokio::test]
async fn fresh_databases_are_separate_and_dropped() {
    let Some(admin) = crate::admin_url_or_skip() else { return };
    let one = tollgate_postgres::testing::FreshDb::create(&admin).await.unwrap();
    let two = tollgate_postgres::testing::FreshDb::create(&admin).await.unwrap();
    assert_ne!(one.name(), two.name());
    assert!(one.name().starts_with(tollgate_postgres::testing::DB_PREFIX));
    assert!(one.url.ends_with(one.name()));
    // A connection left open does not stop the drop.
    let mut open = sqlx::PgConnection::connect(&one.url).await.unwrap();
    let current: String = sqlx::query_scalar("SELECT current_database()::text").fetch_one(&mut open).await.unwrap();
    assert_eq!(current, one.name());

    // Sorting with a linguistic collation by default, wherever the server can: a query that
    // forgets `COLLATE "C"` then fails the conformance suite even on a server whose default is C.
    let (version, icu): (i32, bool) = sqlx::query_as(
        "SELECT current_setting('server_version_num')::int,
                EXISTS (SELECT 1 FROM pg_collation WHERE collprovider = 'i')",
    )
    .fetch_one(&mut open)
    .await
    .unwrap();
    if version >= 150000 && icu {
        let provider: String =
            sqlx::query_scalar("SELECT datlocprovider::text FROM pg_database WHERE datname = current_database()")
                .fetch_one(&mut open)
                .await
                .unwrap();
        assert_eq!(provider, "i");
        let sorted: Vec<String> = sqlx::query_scalar("SELECT k FROM unnest(ARRAY['beta', 'Zulu']) AS k ORDER BY k")
            .fetch_all(&mut open)
            .await
            .unwrap();
        assert_eq!(sorted, ["beta", "Zulu"], "not byte order");
    }

    let names = [one.name().to_owned(), two.name().to_owned()];
    one.drop().await;
    drop(two); // the panic path: `Drop` cleans up too
    let mut admin = crate::admin_conn().await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = ANY($1)")
        .bind(&names[..])
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// A database from before `0002_license_counts` gets the counts of the licenses already in it.
#[tokio::test]
async fn upgrading_counts_the_licenses_already_there() {
    use tollgate_core::model::LicenseStatus;
    use tollgate_store::conformance::page;
    use tollgate_store::LicenseFilter;

    let Some((db, store)) = fresh_store(2).await else { return };
    let (_, a) = seller_with_app(&store).await;
    let (_, b) = seller_with_app(&store).await;
    let statuses = [LicenseStatus::Unused, LicenseStatus::Used, LicenseStatus::Banned, LicenseStatus::Unused];
    let batch: Vec<_> = (0..250)
        .map(|i| {
            let mut l = license(&a.id, &format!("OLD-{i:03}"));
            l.status = statuses[i % statuses.len()];
            l
        })
        .collect();
    store.insert_licenses(&batch).await.unwrap();
    store.insert_licenses(&[license(&b.id, "OLD-B")]).await.unwrap();

    // Back to the schema of 0001, rows kept: as a database written by the previous version.
    sqlx::raw_sql("DROP TABLE license_counts; DELETE FROM _sqlx_migrations WHERE version = 2")
        .execute(store.pool())
        .await
        .unwrap();
    store.migrate().await.unwrap();

    let total = |app_id: &str, status: Option<LicenseStatus>| {
        let (store, app_id) = (store.clone(), app_id.to_owned());
        async move {
            let filter = LicenseFilter { status, ..Default::default() };
            store.list_licenses(&app_id, &filter, page(1, 1)).await.unwrap().total
        }
    };
    assert_eq!(total(&a.id, None).await, 250);
    for status in LicenseStatus::ALL {
        let want = batch.iter().filter(|l| l.status == *status).count() as u64;
        assert_eq!(total(&a.id, Some(*status)).await, want, "{status}");
    }
    assert_eq!(total(&b.id, None).await, 1);
    drop(store);
    db.drop().await;
}

/// Migration 0005 adds usernames' look-alike keys empty; connecting fills them. Two names that
/// were registered before and look alike keep working: the older takes the key, the other keeps
/// its own (lowercased) lookup.
#[tokio::test]
async fn connecting_fills_username_keys_and_keeps_old_look_alikes() {
    use tollgate_store::conformance::{assert_conflict, stored_user, user};
    use tollgate_store::{constraint, UserStore};
    let Some((db, s)) = fresh_store(2).await else { return };
    let (_, a) = seller_with_app(&s).await;
    let good = stored_user(&s, &a.id, "gooduser").await;
    let twin = stored_user(&s, &a.id, "zed").await;
    sqlx::query("UPDATE app_users SET username_key = NULL").execute(s.pool()).await.unwrap();
    sqlx::query("UPDATE app_users SET username = 'g\u{43e}\u{43e}duser', username_norm = 'g\u{43e}\u{43e}duser', created_at = created_at + 1000 WHERE id = $1")
        .bind(&twin.id)
        .execute(s.pool())
        .await
        .unwrap();
    s.close().await;

    let s = PgStore::connect(&db.url, 2).await.unwrap();
    let find = |name: &'static str| {
        let s = &s;
        let app = a.id.clone();
        async move { s.user_by_username(&app, name).await.unwrap().map(|u| u.id) }
    };
    assert_eq!(find("GoodUser").await, Some(good.id.clone()));
    assert_eq!(find("g00duser").await, Some(good.id.clone()));
    assert_eq!(find("G\u{41e}\u{41e}DUSER").await, Some(twin.id.clone()), "the old look-alike by its own name");
    let keys: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, username_key FROM app_users ORDER BY created_at").fetch_all(s.pool()).await.unwrap();
    assert_eq!(keys, vec![(good.id.clone(), Some("gooduser".into())), (twin.id.clone(), None)]);
    assert_conflict(s.create_user(&user(&a.id, "GOODUSER"), &[]).await, constraint::USER_APP_USERNAME);
    s.close().await;
}

/// Text PostgreSQL cannot hold (a NUL character) is `Unstorable`, which the APIs answer with a
/// 400, not an opaque database error. The APIs refuse it before it gets here; this is the net.
#[tokio::test]
async fn nul_text_is_unstorable_not_an_internal_error() {
    let Some((_db, s)) = fresh_store(2).await else { return };
    let mut who = seller();
    who.name = "a\u{0}b".into();
    match s.create_seller(&who).await {
        Err(StoreError::Unstorable(msg)) => assert!(!msg.contains('\u{0}'), "{msg}"),
        other => panic!("expected Unstorable, got {other:?}"),
    }
    assert_eq!(s.seller_by_id(&who.id).await.unwrap(), None);
    let (_, a) = seller_with_app(&s).await;
    assert!(matches!(s.license_by_key(&a.id, "K\u{0}").await, Err(StoreError::Unstorable(_))));
    s.close().await;
}

/// A database from before `0010_websocket` (accounts' notes, transfer counts, sign-ups, resume
/// records) migrates: its users and files are kept, and the new tables work.
#[tokio::test]
async fn upgrading_to_websocket_keeps_users_and_files() {
    use tollgate_store::conformance::{self, file, stored_user};
    use tollgate_store::FileStore;
    let Some((db, store)) = fresh_store(2).await else { return };
    let (_, a) = seller_with_app(&store).await;
    let before = stored_user(&store, &a.id, "Before").await;
    assert!(before.note.is_some(), "the fixture has a note, so losing it is seen");
    let f = file(&a.id, "before.bin");
    store.create_file(&f).await.unwrap();
    assert!(store.record_file_transfer(&a.id, &f.id, tollgate_core::time::now()).await.unwrap());

    sqlx::raw_sql(conformance::UNDO_WEBSOCKET_MIGRATION).execute(store.pool()).await.unwrap();
    let columns: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'files'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(columns, 7, "back to the files table of before");
    store.migrate().await.unwrap();

    conformance::check_upgraded_to_websocket(&store, &before, &f).await;
    store.close().await;
    db.drop().await;
}

/// 0003 was reworded in its comments after release. Databases migrated before then recorded the
/// checksum of the file as released; new ones record the same, and both migrate again.
#[tokio::test]
async fn a_migration_reworded_in_its_comments_keeps_its_released_checksum() {
    let Some((db, store)) = fresh_store(2).await else { return };
    let recorded: Vec<u8> = sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = 3")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let hex: String = recorded.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, tollgate_postgres::RELEASED_CHECKSUMS[0].sha384);
    let file = sqlx::migrate!("./migrations").migrations.iter().find(|m| m.version == 3).unwrap().checksum.to_vec();
    assert_ne!(file, recorded);
    store.migrate().await.unwrap();
    store.close().await;
    db.drop().await;
}
