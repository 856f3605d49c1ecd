//! tollgate-postgres against a real PostgreSQL: the backend-generic conformance suite, what only
//! PostgreSQL has (outages, session settings, concurrent migration) and the schema parity with
//! SQLite.
//!
//! Everything that needs a server runs when `TOLLGATE_TEST_POSTGRES_URL` holds an admin URL
//! (e.g. `postgres://postgres@127.0.0.1:5432/postgres`), each test in a fresh database of its
//! own; without it those tests say they were skipped and pass.

mod backend;
mod conformance;
mod outage;
mod schema;

use std::io::Write;
use std::sync::Once;

use tollgate_postgres::testing::{self, FreshDb};
use tollgate_postgres::PgStore;

/// The admin URL, or `None` after telling the person running the tests (once per binary) that
/// the PostgreSQL tests are skipped.
pub fn admin_url_or_skip() -> Option<String> {
    static SKIPPED: Once = Once::new();
    let url = testing::admin_url();
    if url.is_none() {
        SKIPPED.call_once(|| {
            // Straight to the process's stderr: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL tests skipped: set {} to run them (e.g. postgres://postgres@127.0.0.1:5432/postgres)",
                testing::ADMIN_URL_VAR
            );
        });
    }
    url
}

/// A fresh database and a store migrated on it; `None` when PostgreSQL tests are skipped.
pub async fn fresh_store(pool_size: u32) -> Option<(FreshDb, PgStore)> {
    let admin = admin_url_or_skip()?;
    let db = FreshDb::create(&admin).await.unwrap();
    let store = PgStore::connect(&db.url, pool_size).await.unwrap();
    Some((db, store))
}

/// A plain connection to the server's admin database, beside any store.
pub async fn admin_conn() -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(&testing::admin_url().unwrap()).await.unwrap()
}
