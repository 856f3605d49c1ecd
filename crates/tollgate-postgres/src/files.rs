//! File metadata, scoped by app. The encrypted content lives outside the database.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use tollgate_core::model::FileMeta;
use tollgate_store::{FileStore, StoreResult};

use crate::error::db_err;
use crate::row::{col, ms, ts};
use crate::PgStore;

fn file(row: &PgRow) -> StoreResult<FileMeta> {
    Ok(FileMeta {
        id: col(row, "id")?,
        app_id: col(row, "app_id")?,
        name: col(row, "name")?,
        size: col(row, "size")?,
        min_level: col(row, "min_level")?,
        sha256: col(row, "sha256")?,
        created_at: ts(row, "created_at")?,
    })
}

#[async_trait]
impl FileStore for PgStore {
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
        sqlx::query(r#"SELECT * FROM files WHERE app_id = $1 ORDER BY created_at, id COLLATE "C""#)
            .bind(app_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(file)
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
            .map(file)
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
