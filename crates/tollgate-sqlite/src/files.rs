//! File metadata, scoped by app. The encrypted content lives outside the database.

use async_trait::async_trait;
use tollgate_core::model::FileMeta;
use tollgate_sql::{ms, FileRow, IntoModel};
use tollgate_store::{FileStore, StoreResult};

use crate::error::db_err;
use crate::SqliteStore;

#[async_trait]
impl FileStore for SqliteStore {
    // STUB(store helper)
    async fn record_file_transfer(
        &self,
        _app_id: &str,
        _file_id: &str,
        _at: tollgate_core::time::Timestamp,
    ) -> tollgate_store::StoreResult<bool> {
        Err(tollgate_store::StoreError::Other("not built yet".into()))
    }

    async fn create_file(&self, file: &FileMeta) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO files (id, app_id, name, size, min_level, sha256, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&file.id)
        .bind(&file.app_id)
        .bind(&file.name)
        .bind(file.size)
        .bind(file.min_level)
        .bind(&file.sha256)
        .bind(ms(&file.created_at))
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
}
