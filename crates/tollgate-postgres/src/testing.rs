//! Fresh PostgreSQL databases for tests: each test (or conformance area) gets a database of its
//! own, created from the admin URL in [`ADMIN_URL_VAR`] and dropped afterwards.
//!
//! ```ignore
//! let Some(admin) = testing::admin_url() else {
//!     println!("PostgreSQL tests skipped: {} is not set", testing::ADMIN_URL_VAR);
//!     return;
//! };
//! let db = FreshDb::create(&admin).await.unwrap();
//! let store = PgStore::connect(&db.url, 4).await.unwrap();
//! // ...
//! store.close().await;
//! db.drop().await;
//! ```
//!
//! A test that panics before `drop()` still removes its database: `Drop` does it on a thread of
//! its own.

use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tollgate_store::{StoreError, StoreResult};

use crate::error::db_err;

/// The environment variable holding the admin URL of the PostgreSQL the tests may use
/// (e.g. `postgres://postgres@127.0.0.1:5432/postgres`). Unset: the PostgreSQL tests skip.
pub const ADMIN_URL_VAR: &str = "TOLLGATE_TEST_POSTGRES_URL";

/// Every test database's name starts with this, so leftovers are easy to find.
pub const DB_PREFIX: &str = "tg_test_";

const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The admin URL from [`ADMIN_URL_VAR`], if set and not blank.
pub fn admin_url() -> Option<String> {
    std::env::var(ADMIN_URL_VAR).ok().filter(|url| !url.trim().is_empty())
}

/// A database that exists only for one test.
pub struct FreshDb {
    /// The admin URL with the fresh database's name in place of its own.
    pub url: String,
    name: String,
    admin_url: String,
    dropped: bool,
}

impl std::fmt::Debug for FreshDb {
    // The URLs may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshDb").field("name", &self.name).finish_non_exhaustive()
    }
}

impl FreshDb {
    /// Create an empty database `tg_test_<random>` on the server of `admin_url`.
    ///
    /// Its default collation is ICU `en-US` where the server supports it (PostgreSQL 15+ with
    /// ICU), not byte order: a query that sorts text without `COLLATE "C"` then orders
    /// differently from SQLite and fails the conformance suite, even on a server whose own
    /// default is `C`. Elsewhere the server's default is used.
    pub async fn create(admin_url: &str) -> StoreResult<FreshDb> {
        let name = format!("{DB_PREFIX}{}", tollgate_core::ids::random_hex(8));
        let mut url =
            url::Url::parse(admin_url).map_err(|e| StoreError::Other(format!("invalid PostgreSQL admin url: {e}")))?;
        url.set_path(&format!("/{name}"));

        let mut admin = connect_admin(admin_url).await?;
        let icu = format!(r#"CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"#);
        if let Err(e) = sqlx::raw_sql(&icu).execute(&mut admin).await {
            tracing::debug!("no ICU database ({e}); creating {name} with the server's default collation");
            sqlx::raw_sql(&format!(r#"CREATE DATABASE "{name}""#)).execute(&mut admin).await.map_err(db_err)?;
        }
        let _ = admin.close().await;
        Ok(FreshDb { url: url.to_string(), name, admin_url: admin_url.to_owned(), dropped: false })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drop the database, ending any connection still open to it. Best effort: a failure is
    /// printed, not returned, so cleanup never fails a test that passed.
    pub async fn drop(mut self) {
        self.dropped = true;
        drop_database(&self.admin_url, &self.name).await;
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // A panicking test: no runtime can be borrowed here, so use a short-lived one on a
        // thread of its own.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let cleanup =
            std::thread::spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(drop_database(&admin_url, &name)),
                Err(e) => eprintln!("cannot drop test database {name}: {e}"),
            });
        let _ = cleanup.join();
    }
}

async fn connect_admin(admin_url: &str) -> StoreResult<PgConnection> {
    tokio::time::timeout(ADMIN_TIMEOUT, PgConnection::connect(admin_url))
        .await
        .map_err(|_| StoreError::Unavailable("timed out connecting to the PostgreSQL admin url".into()))?
        .map_err(db_err)
}

async fn drop_database(admin_url: &str, name: &str) {
    let result = async {
        let mut admin = connect_admin(admin_url).await?;
        // WITH (FORCE) ends the connections a test left open (PostgreSQL 13+).
        sqlx::raw_sql(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
            .execute(&mut admin)
            .await
            .map_err(db_err)?;
        let _ = admin.close().await;
        Ok::<_, StoreError>(())
    }
    .await;
    if let Err(e) = result {
        eprintln!("cannot drop test database {name}: {e}");
    }
}
