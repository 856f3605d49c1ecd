//! Dropped WebSocket sessions kept for resumption.

use async_trait::async_trait;
use tollgate_core::time::Timestamp;
use tollgate_sql::{ms, IntoModel, ResumeRow};
use tollgate_store::{ResumeRecord, ResumeStore, StoreResult, UNLICENSED_SIGNUPS_KEPT_MS};

use crate::error::db_err;
use crate::PgStore;

#[async_trait]
impl ResumeStore for PgStore {
    async fn save_resume(&self, record: &ResumeRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO ws_resumes (id_hash, app_id, session_id, state, expires_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id_hash) DO UPDATE
             SET app_id = excluded.app_id, session_id = excluded.session_id,
                 state = excluded.state, expires_at = excluded.expires_at",
        )
        .bind(&record.id_hash)
        .bind(&record.app_id)
        .bind(&record.session_id)
        .bind(&record.state)
        .bind(ms(&record.expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn take_resume(&self, id_hash: &str, now: Timestamp) -> StoreResult<Option<ResumeRecord>> {
        // One statement: of concurrent takers only one deletes the row and gets it back. An
        // expired record is deleted all the same, and nobody gets it.
        let row = sqlx::query("DELETE FROM ws_resumes WHERE id_hash = $1 RETURNING *")
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let record = ResumeRow::decode(&row)?;
        Ok((record.expires_at > now).then_some(record))
    }

    async fn purge_resumes(&self, now: Timestamp) -> StoreResult<u64> {
        // `<=`: exactly the records `take_resume` no longer hands out.
        let done = sqlx::query("DELETE FROM ws_resumes WHERE expires_at <= $1")
            .bind(ms(&now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        // The unlicensed sign-ups past the longest window they are counted over go too.
        sqlx::query("DELETE FROM unlicensed_signups WHERE created_at < $1")
            .bind(ms(&now).saturating_sub(UNLICENSED_SIGNUPS_KEPT_MS))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
