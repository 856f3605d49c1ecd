//! The backend-generic conformance suite on PostgreSQL, each area in a fresh database.

use std::sync::Mutex;

use tollgate_postgres::testing::FreshDb;
use tollgate_postgres::PgStore;
use tollgate_store::conformance;

use crate::admin_url_or_skip;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite() {
    let Some(admin) = admin_url_or_skip() else { return };
    // Kept until the end, then dropped; on a panic their `Drop` removes them.
    let dbs: Mutex<Vec<FreshDb>> = Mutex::new(Vec::new());
    let (admin, dbs_ref) = (&admin, &dbs);
    conformance::run_all(move || async move {
        let db = FreshDb::create(admin).await.unwrap();
        // Smaller than the suite's 40 concurrent callers, so they also queue for connections.
        let store = PgStore::connect(&db.url, 8).await.unwrap();
        dbs_ref.lock().unwrap().push(db);
        store
    })
    .await;
    for db in dbs.into_inner().unwrap() {
        db.drop().await;
    }
}
