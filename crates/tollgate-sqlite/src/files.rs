//! File metadata, scoped by app. The encrypted content lives outside the database.

use async_trait::async_trait;
use tollgate_core::model::FileMeta;
use tollgate_core::time::Timestamp;
use tollgate_sql::{ms, ms_opt, FileRow, IntoModel};
use tollgate_store::{FileStore, StoreResult};

use crate::error::db_err;
use crate::SqliteStore;

#[async_trait]
impl FileStore for SqliteStore {
    async fn create_file(&self, file: &FileMeta) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO files
                (id, app_id, name, size, min_level, sha256, created_at, transfer_count, last_transferred_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&file.id)
        .bind(&file.app_id)
        .bind(&file.name)
        .bind(file.size)
        .bind(file.min_level)
        .bind(&file.sha256)
        .bind(ms(&file.created_at))
        .bind(file.transfer_count)
        .bind(ms_opt(&file.last_transferred_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_files(&self, app_id: &str) -> StoreResult<Vec<FileMeta>> {
        sqlx::query("SELECT * FROM files WHERE app_id = $1 ORDER BY created_at, id")
            .bind(app_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(FileRow::decode)
            .collect()
    }

    async fn get_file(&self, app_id: &str, id: &str) -> StoreResult<Option<FileMeta>> {
        sqlx::query("SELECT * FROM files WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(FileRow::decode)
            .transpose()
    }

    async fn delete_file(&self, app_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM files WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn record_file_transfer(&self, app_id: &str, file_id: &str, at: Timestamp) -> StoreResult<bool> {
        // One statement, so concurrent downloads all count.
        let done = sqlx::query(
            "UPDATE files SET transfer_count = transfer_count + 1, last_transferred_at = $1
             WHERE app_id = $2 AND id = $3",
        )
        .bind(ms(&at))
        .bind(app_id)
        .bind(file_id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}
