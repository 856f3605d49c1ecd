//! Request nonces of the client API (replay defence), shared by every app.

use async_trait::async_trait;
use tollgate_core::time::Timestamp;
use tollgate_sql::ms;
use tollgate_store::{ReplayStore, StoreResult};

use crate::error::db_err;
use crate::PgStore;

#[async_trait]
impl ReplayStore for PgStore {
    async fn remember_nonce(&self, nonce: &str, expires_at: Timestamp) -> StoreResult<bool> {
        // The primary key decides: of concurrent inserts of one nonce exactly one adds a row.
        let done = sqlx::query(
            "INSERT INTO request_nonces (nonce, expires_at) VALUES ($1, $2)
             ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(ms(&expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn purge_nonces(&self, now: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM request_nonces WHERE expires_at < $1")
            .bind(ms(&now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
