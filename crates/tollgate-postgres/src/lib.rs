//! `Store` on PostgreSQL: one database shared by several stateless `tollgate serve` nodes behind
//! a load balancer; all shared state lives here, per-process caches follow `LISTEN/NOTIFY`.
//!
//! Migrations in `migrations/` are kept as a pair with the SQLite backend's (same versions, names,
//! tables, columns and constraint names; a test compares the two). Queries are plain SQL built at
//! run time, one function per trait method, grouped by aggregate in modules that mirror
//! `tollgate-sqlite` module by module.
//!
//! Isolation: every statement and transaction runs at READ COMMITTED (set on each connection, so
//! a server default of SERIALIZABLE cannot turn contention into serialization failures). The
//! atomic operations do not need more: each is one conditional `UPDATE ... RETURNING` (PostgreSQL
//! re-checks the `WHERE` of a row another transaction changed first, against its new version) or
//! rests on a unique constraint, which holds under any isolation level.
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
#[cfg(feature = "testing")]
pub mod testing;
mod users;
mod variables;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Executor};
use tollgate_store::{Store, StoreError, StoreResult};

use error::db_err;

/// How long a request waits for a pooled connection (or for a new one to be opened) before it
/// fails with `Unavailable`: while the database is down, requests fail within this bound.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Server-side limit on every statement the store runs (`statement_timeout`, set on each
/// connection). Generous for the largest listing; a statement stuck behind a lock or on an
/// overloaded server is cancelled and reported as `Unavailable`. Migrations are exempt.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How every transaction starts, stated rather than left to the server's default (see the crate
/// docs on isolation).
pub(crate) const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// Migrations edited in their comments since they were released, with the checksum databases
/// recorded for them (see [`tollgate_sql::with_released_checksums`]).
pub const RELEASED_CHECKSUMS: &[tollgate_sql::Released] = &[
    // 0003_signing_keys: its header comment was reworded.
    tollgate_sql::Released {
        version: 3,
        sha384: "5b7600e9a4028b607213ddabae968edfd2a5334ef682a1bf996ae03809cc99ed25f2a5da4b8aeab0738ffef5b14a00e7",
    },
];

/// The embedded migrations as they must run.
pub fn migrator() -> sqlx::migrate::Migrator {
    tollgate_sql::with_released_checksums(sqlx::migrate!("./migrations"), RELEASED_CHECKSUMS)
}

/// A pool of connections to one PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Kept to open the dedicated migration connection; holds the password, so never printed.
    options: PgConnectOptions,
    /// The `LISTEN` side of cache invalidation across nodes.
    feed: std::sync::Arc<notify::Feed>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool_size", &self.pool.size()).finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connect and migrate.
    ///
    /// `url` is `postgres://user:password@host:port/database` (or `postgresql://`; libpq-style
    /// query parameters such as `sslmode` are honoured). `max_connections` is the pool size of
    /// this process; with several nodes, keep the sum under the server's `max_connections`.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<PgStore> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("invalid PostgreSQL database url: {e}")))?
            .application_name("tollgate");

        let statement_timeout = format!("{}ms", STATEMENT_TIMEOUT.as_millis());
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // Pooled connections are pinged before use (sqlx's default, stated here because
            // recovery depends on it): after a server restart the dead ones are dropped and
            // replaced instead of failing one request each.
            .test_before_acquire(true)
            .after_connect(move |conn, _| {
                let statement_timeout = statement_timeout.clone();
                Box::pin(async move {
                    // `set_config` rather than startup options, so it also works behind a
                    // connection pooler that refuses unknown startup parameters.
                    conn.execute(
                        sqlx::query(
                            "SELECT set_config('statement_timeout', $1, false),
                                    set_config('default_transaction_isolation', 'read committed', false)",
                        )
                        .bind(statement_timeout),
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(db_err)?;
        let feed = notify::start(url).await?;
        let store = PgStore { pool, options, feed };
        store.migrate().await?;
        tracing::debug!("postgres store open");
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

    /// Apply pending migrations. Idempotent; `connect` already calls it.
    ///
    /// Runs on a connection of its own, outside the pool, without `statement_timeout`: a long
    /// migration must not be cancelled, and a node that starts while another migrates waits on
    /// sqlx's advisory lock for as long as that takes.
    pub async fn migrate(&self) -> StoreResult<()> {
        let mut conn = tokio::time::timeout(ACQUIRE_TIMEOUT, self.options.connect())
            .await
            .map_err(|_| StoreError::Unavailable("timed out connecting to run migrations".into()))?
            .map_err(db_err)?;
        let result = migrator().run(&mut conn).await;
        // Best effort: the server ends the session anyway when the socket closes.
        let _ = sqlx::Connection::close(conn).await;
        result.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        self.fill_username_keys().await
    }

    /// The connection pool, for what the `Store` trait does not cover (`LISTEN/NOTIFY` through
    /// `sqlx::postgres::PgListener::connect_with`, diagnostics in tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Close every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.feed.stop().await;
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn publish(&self, invalidation: &tollgate_store::Invalidation) -> StoreResult<()> {
        notify::publish(&self.pool, invalidation).await
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<tollgate_store::Invalidation> {
        self.feed.events.subscribe()
    }
}
