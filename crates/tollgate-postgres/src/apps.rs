//! Apps, scoped by owner.

use async_trait::async_trait;
use tollgate_core::model::{App, AppCounts};
use tollgate_sql::{ms, to_json, AppRow, AppWithCountsRow, IntoModel};
use tollgate_store::{AppStore, StoreResult};

use crate::error::db_err;
use crate::PgStore;

#[async_trait]
impl AppStore for PgStore {
    async fn create_app(&self, app: &App) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO apps
                (id, owner_id, name, api_key, ws_key, version, status, settings,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&app.id)
        .bind(&app.owner_id)
        .bind(&app.name)
        .bind(&app.api_key)
        .bind(&app.ws_key)
        .bind(&app.version)
        .bind(app.status.as_str())
        .bind(to_json(&app.settings)?)
        .bind(ms(&app.created_at))
        .bind(ms(&app.updated_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_apps(&self, owner_id: &str) -> StoreResult<Vec<(App, AppCounts)>> {
        sqlx::query(
            r#"SELECT a.*,
                    (SELECT COUNT(*) FROM app_users u WHERE u.app_id = a.id) AS user_count,
                    (SELECT CAST(COALESCE(SUM(c.n), 0) AS BIGINT) FROM license_counts c WHERE c.app_id = a.id) AS license_count
             FROM apps a
             WHERE a.owner_id = $1
             ORDER BY a.created_at, a.id COLLATE "C""#,
        )
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(AppWithCountsRow::decode)
        .collect()
    }

    async fn get_app(&self, owner_id: &str, app_id: &str) -> StoreResult<Option<App>> {
        sqlx::query("SELECT * FROM apps WHERE id = $1 AND owner_id = $2")
            .bind(app_id)
            .bind(owner_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(AppRow::decode)
            .transpose()
    }

    async fn app_by_owner_and_name(&self, owner_id: &str, name: &str) -> StoreResult<Option<App>> {
        sqlx::query("SELECT * FROM apps WHERE owner_id = $1 AND name = $2")
            .bind(owner_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(AppRow::decode)
            .transpose()
    }

    async fn app_by_id(&self, app_id: &str) -> StoreResult<Option<App>> {
        sqlx::query("SELECT * FROM apps WHERE id = $1")
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(AppRow::decode)
            .transpose()
    }

    async fn app_by_ws_key(&self, ws_key: &str) -> StoreResult<Option<App>> {
        sqlx::query("SELECT * FROM apps WHERE ws_key = $1")
            .bind(ws_key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(AppRow::decode)
            .transpose()
    }

    async fn update_app(&self, app: &App) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE apps
             SET name = $1, version = $2, status = $3, settings = $4,
                 api_key = $5, ws_key = $6, updated_at = $7
             WHERE id = $8 AND owner_id = $9",
        )
        .bind(&app.name)
        .bind(&app.version)
        .bind(app.status.as_str())
        .bind(to_json(&app.settings)?)
        .bind(&app.api_key)
        .bind(&app.ws_key)
        .bind(ms(&app.updated_at))
        .bind(&app.id)
        .bind(&app.owner_id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_app(&self, owner_id: &str, app_id: &str) -> StoreResult<bool> {
        // Foreign keys cascade to every per-app table.
        let done = sqlx::query("DELETE FROM apps WHERE id = $1 AND owner_id = $2")
            .bind(app_id)
            .bind(owner_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}
