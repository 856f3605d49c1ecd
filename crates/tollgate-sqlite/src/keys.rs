//! Response-signing keys: bytes as standard base64 text, at most one row active.

use async_trait::async_trait;
use tollgate_sql::{base64_text, ms, IntoModel, SigningKeyRow};
use tollgate_store::{SigningKey, SigningKeyStore, StoreResult};

use crate::error::db_err;
use crate::SqliteStore;

#[async_trait]
impl SigningKeyStore for SqliteStore {
    async fn insert_signing_key(&self, key: &SigningKey) -> StoreResult<bool> {
        // No conflict target: a duplicate kid and a second active key (the partial unique
        // index) both leave the table as it was.
        let done = sqlx::query(
            "INSERT INTO signing_keys (kid, public_key, private_key_enc, created_at, active)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(base64_text(&key.public_key))
        .bind(base64_text(&key.private_key_enc))
        .bind(ms(&key.created_at))
        .bind(key.active)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        sqlx::query("SELECT * FROM signing_keys ORDER BY created_at DESC, kid DESC")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(SigningKeyRow::decode)
            .collect()
    }

    async fn active_signing_key(&self) -> StoreResult<Option<SigningKey>> {
        sqlx::query("SELECT * FROM signing_keys WHERE active")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(SigningKeyRow::decode)
            .transpose()
    }

    async fn activate_signing_key(&self, kid: &str) -> StoreResult<bool> {
        // IMMEDIATE takes the write lock first, so activations run one after another. The flag
        // is cleared before it is set: the unique index is checked row by row.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        sqlx::query("UPDATE signing_keys SET active = FALSE WHERE active AND kid <> $1")
            .bind(kid)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let done = sqlx::query("UPDATE signing_keys SET active = TRUE WHERE kid = $1")
            .bind(kid)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            // Dropping the transaction rolls the clearing back.
            return Ok(false);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }
}
