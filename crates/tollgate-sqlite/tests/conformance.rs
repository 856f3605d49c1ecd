//! The backend-generic conformance suite on SQLite, plus what only SQLite has: the file, its
//! pragmas, migrations and online backup.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::{Connection, SqliteConnection};
use tempfile::TempDir;
use tollgate_sqlite::SqliteStore;
use tollgate_store::conformance::{self, license, page, seller, seller_with_app};
use tollgate_store::{AppStore, LicenseFilter, LicenseStore, SellerStore, Store, StoreError};

fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(&url(path), 8).await.unwrap()
}

/// A plain connection beside the store's pool, to look at the file from outside.
async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnection::connect(&url(path)).await.unwrap()
}

/// A fresh database file for one area of the suite, in a directory of its own.
async fn fresh() -> Option<(SqliteStore, TempDir)> {
    let dir = TempDir::new().unwrap();
    let store = open(&dir.path().join("area.db")).await;
    Some((store, dir))
}

/// The suite, one test per area.
mod suite {
    use super::fresh;

    tollgate_store::conformance_tests!(fresh);
}

#[tokio::test]
async fn backend_is_sqlite() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir.path().join("t.db")).await;
    assert_eq!(store.backend(), "sqlite");
    store.ping().await.unwrap();
}

#[tokio::test]
async fn wal_and_foreign_keys_are_on() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("t.db");
    let store = open(&path).await;

    // WAL is recorded in the file itself, so a connection from outside sees it.
    let mut conn = raw(&path).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
    assert_eq!(mode, "wal");
    assert!(dir.path().join("t.db-wal").exists());

    // Foreign keys are per connection: check them through the store's own connections.
    for _ in 0..3 {
        let orphan = license("app_missing", "K-1");
        match store.insert_licenses(&[orphan]).await {
            Err(StoreError::Other(msg)) => assert!(msg.contains("FOREIGN KEY"), "{msg}"),
            other => panic!("expected a foreign key error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn creates_parent_directories_and_accepts_both_url_forms() {
    let dir = TempDir::new().unwrap();
    let nested = dir.path().join("a/b/c/tollgate.db");
    let store = SqliteStore::open(&format!("sqlite://{}", nested.display()), 2).await.unwrap();
    store.ping().await.unwrap();
    assert!(nested.exists());

    let short = dir.path().join("d/e/short.db");
    let store = SqliteStore::open(&format!("sqlite:{}", short.display()), 2).await.unwrap();
    store.ping().await.unwrap();
    assert!(short.exists());
}

#[tokio::test]
async fn reopening_keeps_data_and_migrating_again_is_harmless() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("t.db");
    let store = open(&path).await;
    let (owner, app) = seller_with_app(&store).await;
    store.insert_licenses(&[license(&app.id, "KEEP-1")]).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))));

    let again = open(&path).await;
    again.migrate().await.unwrap();
    assert_eq!(again.seller_by_id(&owner.id).await.unwrap(), Some(owner));
    assert!(again.license_by_key(&app.id, "KEEP-1").await.unwrap().is_some());

    // Exactly one migration recorded per file, however often it ran.
    let mut conn = raw(&path).await;
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(&mut conn).await.unwrap();
    let files = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations")).unwrap().count();
    assert_eq!(applied as usize, files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_concurrent_writes_is_consistent() {
    const BATCH: usize = 50;
    let dir = TempDir::new().unwrap();
    let store = Arc::new(open(&dir.path().join("live.db")).await);
    let (_, app) = seller_with_app(store.as_ref()).await;

    // A writer inserting batches of licenses, each batch one transaction.
    let writer = {
        let (store, app_id) = (store.clone(), app.id.clone());
        tokio::spawn(async move {
            for b in 0..40 {
                let batch: Vec<_> = (0..BATCH).map(|i| license(&app_id, &format!("B{b:03}-{i:03}"))).collect();
                store.insert_licenses(&batch).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };

    let mut backups: Vec<PathBuf> = Vec::new();
    for i in 0..4 {
        let target = dir.path().join(format!("backup-{i}.db"));
        store.backup_to(&target).await.unwrap();
        backups.push(target);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    writer.await.unwrap();

    let all = LicenseFilter::default();
    let live_total = store.list_licenses(&app.id, &all, page(1, 1)).await.unwrap().total;
    assert_eq!(live_total, (40 * BATCH) as u64);
    for path in &backups {
        let copy = open(path).await;
        let total = copy.list_licenses(&app.id, &all, page(1, 1)).await.unwrap().total;
        // A snapshot: whole batches only, never part of one.
        assert_eq!(total % BATCH as u64, 0, "{}", path.display());
        assert!(total <= live_total);
        let listed = copy.list_apps(&app.owner_id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].1.licenses, total);
        let mut conn = raw(path).await;
        let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.unwrap();
        assert_eq!(check, "ok");
    }

    // The target must not exist: a backup never overwrites.
    match store.backup_to(&backups[0]).await {
        Err(StoreError::Other(msg)) => assert!(msg.contains("already exists"), "{msg}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_conflict_names_the_constraint_and_not_the_value() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir.path().join("t.db")).await;
    let a = seller();
    store.create_seller(&a).await.unwrap();
    let mut b = seller();
    b.email = a.email.clone();
    let err = store.create_seller(&b).await.unwrap_err();
    let text = err.to_string();
    assert_eq!(text, "conflict on sellers_email_key");
    assert!(!text.contains(&a.email));
}

/// A database from before `0002_license_counts` gets the counts of the licenses already in it.
#[tokio::test]
async fn upgrading_counts_the_licenses_already_there() {
    use tollgate_core::model::LicenseStatus;

    let dir = TempDir::new().unwrap();
    let path = dir.path().join("t.db");
    let store = open(&path).await;
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
    store.close().await;

    // Back to the schema of 0001, rows kept: as a database written by the previous version.
    let mut conn = raw(&path).await;
    sqlx::raw_sql("DROP TABLE license_counts; DELETE FROM _sqlx_migrations WHERE version = 2")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let store = open(&path).await;
    let total = |app_id: String, status: Option<LicenseStatus>| {
        let store = store.clone();
        async move {
            let filter = LicenseFilter { status, ..Default::default() };
            store.list_licenses(&app_id, &filter, page(1, 1)).await.unwrap().total
        }
    };
    assert_eq!(total(a.id.clone(), None).await, 250);
    for status in LicenseStatus::ALL {
        let want = batch.iter().filter(|l| l.status == *status).count() as u64;
        assert_eq!(total(a.id.clone(), Some(*status)).await, want, "{status}");
    }
    assert_eq!(total(b.id.clone(), None).await, 1);
}

/// Migration 0005 adds usernames' look-alike keys empty; opening the store fills them. Two names
/// that were registered before and look alike keep working: the older takes the key, the other
/// keeps its own (lowercased) lookup.
#[tokio::test]
async fn opening_fills_username_keys_and_keeps_old_look_alikes() {
    use tollgate_store::{constraint, UserStore};
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("keys.db");
    let s = open(&path).await;
    let (_, a) = seller_with_app(&s).await;
    let good = conformance::stored_user(&s, &a.id, "gooduser").await;
    let twin = conformance::stored_user(&s, &a.id, "zed").await;
    s.close().await;
    // As a database from before 0005 would be: no keys, and a look-alike beside `gooduser`.
    let mut c = raw(&path).await;
    sqlx::query("UPDATE app_users SET username_key = NULL").execute(&mut c).await.unwrap();
    sqlx::query("UPDATE app_users SET username = 'g\u{43e}\u{43e}duser', username_norm = 'g\u{43e}\u{43e}duser', created_at = created_at + 1000 WHERE id = $1")
        .bind(&twin.id)
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();

    let s = open(&path).await;
    let find = |name: &'static str| {
        let s = &s;
        let app = a.id.clone();
        async move { s.user_by_username(&app, name).await.unwrap().map(|u| u.id) }
    };
    assert_eq!(find("GoodUser").await, Some(good.id.clone()));
    assert_eq!(find("g00duser").await, Some(good.id.clone()));
    assert_eq!(find("G\u{41e}\u{41e}DUSER").await, Some(twin.id.clone()), "the old look-alike by its own name");
    let keys: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, username_key FROM app_users ORDER BY created_at")
            .fetch_all(&mut raw(&path).await)
            .await
            .unwrap();
    assert_eq!(keys, vec![(good.id.clone(), Some("gooduser".into())), (twin.id.clone(), None)]);
    conformance::assert_conflict(
        s.create_user(&conformance::user(&a.id, "GOODUSER"), &[]).await,
        constraint::USER_APP_USERNAME,
    );
}

/// A database from before `0010_websocket` (accounts' notes, transfer counts, sign-ups, resume
/// records) migrates when opened: its users and files are kept, and the new tables work.
#[tokio::test]
async fn upgrading_to_websocket_keeps_users_and_files() {
    use tollgate_store::FileStore;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("t.db");
    let store = open(&path).await;
    let (_, a) = seller_with_app(&store).await;
    let before = conformance::stored_user(&store, &a.id, "Before").await;
    assert!(before.note.is_some(), "the fixture has a note, so losing it is seen");
    let file = conformance::file(&a.id, "before.bin");
    store.create_file(&file).await.unwrap();
    assert!(store.record_file_transfer(&a.id, &file.id, tollgate_core::time::now()).await.unwrap());
    store.close().await;

    let mut conn = raw(&path).await;
    sqlx::raw_sql(conformance::UNDO_WEBSOCKET_MIGRATION).execute(&mut conn).await.unwrap();
    let columns: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info('files')").fetch_one(&mut conn).await.unwrap();
    assert_eq!(columns, 7, "back to the files table of before");
    conn.close().await.unwrap();

    let store = open(&path).await;
    conformance::check_upgraded_to_websocket(&store, &before, &file).await;
}

/// 0003 was reworded in its comments after release. Databases migrated before then recorded the
/// checksum of the file as released; new ones record the same, and both open.
#[tokio::test]
async fn a_migration_reworded_in_its_comments_keeps_its_released_checksum() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("t.db");
    open(&path).await.close().await;
    let mut conn = raw(&path).await;
    let recorded: Vec<u8> = sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = 3")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let hex: String = recorded.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, tollgate_sqlite::RELEASED_CHECKSUMS[0].sha384);
    // The file has changed since: plain sqlx would refuse such a database.
    let file = sqlx::migrate!("./migrations").migrations.iter().find(|m| m.version == 3).unwrap().checksum.to_vec();
    assert_ne!(file, recorded);
    conn.close().await.unwrap();
    open(&path).await.close().await;
}
