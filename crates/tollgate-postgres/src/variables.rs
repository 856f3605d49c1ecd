//! App variables, scoped by app.

use async_trait::async_trait;
use tollgate_core::model::AppVariable;
use tollgate_core::time::Timestamp;
use tollgate_sql::{ms, IntoModel, VariableRow};
use tollgate_store::{StoreResult, VariablePatch, VariableStore};

use crate::error::db_err;
use crate::PgStore;

#[async_trait]
impl VariableStore for PgStore {
    async fn create_variable(&self, var: &AppVariable) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO app_variables
                (id, app_id, key, value, read_only, auth_required, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&var.id)
        .bind(&var.app_id)
        .bind(&var.key)
        .bind(&var.value)
        .bind(var.read_only)
        .bind(var.auth_required)
        .bind(ms(&var.created_at))
        .bind(ms(&var.updated_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_variables(&self, app_id: &str) -> StoreResult<Vec<AppVariable>> {
        sqlx::query(r#"SELECT * FROM app_variables WHERE app_id = $1 ORDER BY key COLLATE "C""#)
            .bind(app_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(VariableRow::decode)
            .collect()
    }

    async fn get_variable(&self, app_id: &str, key: &str) -> StoreResult<Option<AppVariable>> {
        sqlx::query("SELECT * FROM app_variables WHERE app_id = $1 AND key = $2")
            .bind(app_id)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(VariableRow::decode)
            .transpose()
    }

    async fn update_variable(
        &self,
        app_id: &str,
        key: &str,
        patch: &VariablePatch,
        now: Timestamp,
    ) -> StoreResult<Option<AppVariable>> {
        sqlx::query(
            "UPDATE app_variables
             SET value = COALESCE($1, value),
                 read_only = COALESCE($2, read_only),
                 auth_required = COALESCE($3, auth_required),
                 updated_at = $4
             WHERE app_id = $5 AND key = $6
             RETURNING *",
        )
        .bind(&patch.value)
        .bind(patch.read_only)
        .bind(patch.auth_required)
        .bind(ms(&now))
        .bind(app_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(VariableRow::decode)
        .transpose()
    }

    async fn delete_variable(&self, app_id: &str, key: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM app_variables WHERE app_id = $1 AND key = $2")
            .bind(app_id)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}
