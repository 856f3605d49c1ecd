//! The backend-generic conformance suite on PostgreSQL, one test per area, each in a fresh
//! database.

use tollgate_postgres::testing::FreshDb;
use tollgate_postgres::PgStore;

use crate::admin_url_or_skip;

/// A store on a fresh database; `None` when the PostgreSQL tests are skipped.
async fn fresh() -> Option<(PgStore, FreshDb)> {
    let admin = admin_url_or_skip()?;
    let db = FreshDb::create(&admin).await.unwrap();
    // Smaller than the suite's 40 concurrent callers, so they also queue for connections.
    let store = PgStore::connect(&db.url, 8).await.unwrap();
    Some((store, db))
}

/// Drop the database of an area that passed (one that panicked is dropped by `FreshDb`'s `Drop`).
async fn finish(db: FreshDb) {
    db.drop().await;
}

tollgate_store::conformance_tests!(fresh, finish);
