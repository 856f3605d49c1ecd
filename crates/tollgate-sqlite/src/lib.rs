//! `Store` on SQLite: the embedded default for one machine (PostgreSQL is for several nodes).
//!
//! One file, WAL, foreign keys, a busy timeout; migrations in `migrations/` (kept as a pair with
//! the PostgreSQL backend's). Queries are plain SQL built at run time, one function per trait
//! method, grouped by aggregate in the modules below.
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod activity;
mod apps;
mod binding;
mod blacklist;
mod chats;
mod devices;
mod error;
mod files;
mod keys;
mod licenses;
mod logs;
mod nonces;
mod notify;
mod resellers;
mod resume;
mod sellers;
mod sessions;
mod users;
mod variables;
mod webhooks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tollgate_store::{Store, StoreError, StoreResult};

use error::db_err;

/// Migrations edited in their comments since they were released, with the checksum databases
/// recorded for them (see [`tollgate_sql::with_released_checksums`]).
pub const RELEASED_CHECKSUMS: &[tollgate_sql::Released] = &[
    // 0003_signing_keys: its header comment was reworded.
    tollgate_sql::Released {
        version: 3,
        sha384: "c97dda14dc575c1f25c3ae233eb4afd50395813f191a35da8d3413e40ca9cae91c61a5758ce02f6d43c31937f2fe226a",
    },
];

/// The embedded migrations as they must run.
pub fn migrator() -> sqlx::migrate::Migrator {
    tollgate_sql::with_released_checksums(sqlx::migrate!("./migrations"), RELEASED_CHECKSUMS)
}

/// A pool of connections to one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    events: tokio::sync::broadcast::Sender<tollgate_store::Invalidation>,
}

impl SqliteStore {
    /// Open (creating the file and its parent directories if missing) and migrate.
    ///
    /// `url` is `sqlite://path/to/db.sqlite` (relative to the working directory),
    /// `sqlite:///absolute/path.db` or `sqlite:path.db`.
    pub async fn open(url: &str, max_connections: u32) -> StoreResult<SqliteStore> {
        SqliteStore::open_with_cache(url, max_connections, None).await
    }

    /// [`SqliteStore::open`] with a page cache of `cache_mib` MiB per connection instead of
    /// SQLite's 2 MiB: for bulk commands (`license generate`), whose inserts into the license
    /// indexes land on random pages and would otherwise spill them to the WAL many times over.
    /// The cache grows only as pages are read.
    pub async fn open_with_cache(url: &str, max_connections: u32, cache_mib: Option<u32>) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("invalid SQLite database url: {e}")))?
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Under WAL, NORMAL syncs at checkpoints, not at every commit: a committed write
            // survives the process being killed (-9); only an OS crash or power loss may lose
            // the last commits, and never corrupts the file.
            .synchronous(SqliteSynchronous::Normal)
            // Writers queue for the single write lock instead of failing with SQLITE_BUSY.
            .busy_timeout(Duration::from_secs(5));
        // A negative cache_size is a size in KiB.
        let options = match cache_mib {
            Some(mib) => options.pragma("cache_size", format!("-{}", u64::from(mib) * 1024)),
            None => options,
        };
        create_parent_dir(options.get_filename())?;

        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(db_err)?;
        let store = SqliteStore { pool, events: notify::channel() };
        store.migrate().await?;
        tracing::debug!("sqlite store open");
        Ok(store)
    }

    /// Give every user and reseller without one its look-alike key (migration 0005 adds the
    /// column empty: SQL cannot compute it). A row whose key another row of its app already holds
    /// keeps none and is still found by its lowercased name. Cheap when nothing is missing: one
    /// indexed query per table.
    async fn fill_username_keys(&self) -> StoreResult<()> {
        for table in ["app_users", "resellers"] {
            let rows: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT id, username FROM {table} WHERE username_key IS NULL ORDER BY created_at, id"
            ))
            .fetch_all(&self.pool)
            .await
            .map_err(error::db_err)?;
            for (id, username) in rows {
                let key = tollgate_core::username::key(&username);
                let done = sqlx::query(&format!(
                    "UPDATE {table} SET username_key = $1 WHERE id = $2 AND username_key IS NULL"
                ))
                .bind(&key)
                .bind(&id)
                .execute(&self.pool)
                .await
                .map_err(error::db_err);
                match done {
                    Ok(_) => {}
                    Err(StoreError::Conflict { .. }) => {
                        tracing::warn!(table, id, "a look-alike of this username exists; it keeps its old lookup");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Apply pending migrations. Idempotent; `open` already calls it.
    pub async fn migrate(&self) -> StoreResult<()> {
        migrator().run(&self.pool).await.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        self.fill_username_keys().await
    }

    /// A consistent copy of the live database at `path`, taken while it keeps serving
    /// (`VACUUM INTO` reads one snapshot). Refuses to overwrite an existing file.
    pub async fn backup_to(&self, path: &Path) -> StoreResult<()> {
        match tokio::fs::try_exists(path).await {
            Ok(false) => {}
            Ok(true) => return Err(StoreError::Other(format!("backup target {} already exists", path.display()))),
            Err(e) => return Err(StoreError::Other(format!("cannot check backup target {}: {e}", path.display()))),
        }
        let target = path.to_str().ok_or_else(|| StoreError::Other("backup path is not valid UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    /// Close every connection (checkpointing the WAL); later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLite creates the file but not its directory.
fn create_parent_dir(file: &Path) -> StoreResult<()> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn publish(&self, invalidation: &tollgate_store::Invalidation) -> StoreResult<()> {
        // No receiver yet is not an error: nothing is cached.
        let _ = self.events.send(invalidation.clone());
        Ok(())
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<tollgate_store::Invalidation> {
        self.events.subscribe()
    }
}
