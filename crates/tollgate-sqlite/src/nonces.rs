//! Request nonces of the client API (replay defence), shared by every app.

use async_trait::async_trait;
use tollgate_core::time::Timestamp;
use tollgate_sql::nonces::{distinct_nonces, first_seen};
use tollgate_sql::{ms, to_json};
use tollgate_store::{ReplayStore, StoreResult};

use crate::error::db_err;
use crate::SqliteStore;

#[async_trait]
impl ReplayStore for SqliteStore {
    async fn remember_nonces(&self, batch: &[(String, Timestamp)]) -> StoreResult<Vec<bool>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the whole batch: the primary key decides, so of concurrent inserts
        // of one nonce (in other batches, other processes) exactly one adds a row. The batch is
        // bound as one JSON array of [nonce, expiry] so the statement's text never changes.
        let (nonces, expiries) = distinct_nonces(batch);
        let rows: Vec<(&String, i64)> = nonces.iter().zip(expiries).collect();
        let added: Vec<String> = sqlx::query_scalar(
            "INSERT INTO request_nonces (nonce, expires_at)
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($1) WHERE true
             ON CONFLICT (nonce) DO NOTHING
             RETURNING nonce",
        )
        .bind(to_json(&rows)?)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(first_seen(batch, added))
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
