//! Blacklist entries, scoped by app.

use async_trait::async_trait;
use tollgate_core::model::BlacklistEntry;
use tollgate_sql::{ms, BlacklistRow, IntoModel};
use tollgate_store::{BlacklistStore, StoreResult};

use crate::error::db_err;
use crate::SqliteStore;

#[async_trait]
impl BlacklistStore for SqliteStore {
    async fn add_blacklist(&self, entry: &BlacklistEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO blacklist (id, app_id, kind, value, reason, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&entry.id)
        .bind(&entry.app_id)
        .bind(entry.kind.as_str())
        .bind(&entry.value)
        .bind(&entry.reason)
        .bind(ms(&entry.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_blacklist(&self, app_id: &str) -> StoreResult<Vec<BlacklistEntry>> {
        sqlx::query("SELECT * FROM blacklist WHERE app_id = $1 ORDER BY created_at, id")
            .bind(app_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(BlacklistRow::decode)
            .collect()
    }

    async fn delete_blacklist(&self, app_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM blacklist WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}
