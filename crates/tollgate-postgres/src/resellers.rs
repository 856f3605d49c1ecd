//! Resellers, scoped by app.

use async_trait::async_trait;
use tollgate_core::model::{License, Reseller};
use tollgate_sql::{ms, norm, username_key, IntoModel, ResellerRow};
use tollgate_store::{CreditAdded, ResellerPatch, ResellerPurchase, ResellerStore, StoreResult};

use crate::error::db_err;
use crate::licenses::insert_licenses_in;
use crate::{PgStore, BEGIN};

#[async_trait]
impl ResellerStore for PgStore {
    async fn create_reseller(&self, reseller: &Reseller) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO resellers
                (id, app_id, username, username_norm, password_hash, balance, created_at, username_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&reseller.id)
        .bind(&reseller.app_id)
        .bind(&reseller.username)
        .bind(norm(&reseller.username))
        .bind(&reseller.password_hash)
        .bind(reseller.balance)
        .bind(ms(&reseller.created_at))
        .bind(username_key(&reseller.username))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_resellers(&self, app_id: &str) -> StoreResult<Vec<Reseller>> {
        sqlx::query(r#"SELECT * FROM resellers WHERE app_id = $1 ORDER BY created_at, id COLLATE "C""#)
            .bind(app_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(ResellerRow::decode)
            .collect()
    }

    async fn get_reseller(&self, app_id: &str, id: &str) -> StoreResult<Option<Reseller>> {
        sqlx::query("SELECT * FROM resellers WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(ResellerRow::decode)
            .transpose()
    }

    async fn reseller_by_username(&self, app_id: &str, username: &str) -> StoreResult<Option<Reseller>> {
        // As `user_by_username`: by the look-alike key, else a pre-key row by its lowercased name.
        sqlx::query(
            "SELECT * FROM resellers
             WHERE app_id = $1 AND (username_key = $2 OR (username_key IS NULL AND username_norm = $3))
             ORDER BY (username_norm = $3) DESC
             LIMIT 1",
        )
        .bind(app_id)
        .bind(username_key(username))
        .bind(norm(username))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(ResellerRow::decode)
        .transpose()
    }

    async fn update_reseller(&self, app_id: &str, id: &str, patch: &ResellerPatch) -> StoreResult<Option<Reseller>> {
        sqlx::query(
            "UPDATE resellers
             SET password_hash = COALESCE($1, password_hash),
                 balance = COALESCE($2, balance)
             WHERE app_id = $3 AND id = $4
             RETURNING *",
        )
        .bind(&patch.password_hash)
        .bind(patch.balance)
        .bind(app_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(ResellerRow::decode)
        .transpose()
    }

    async fn add_reseller_credit(
        &self,
        app_id: &str,
        id: &str,
        amount: i64,
        max_balance: i64,
    ) -> StoreResult<CreditAdded> {
        let added: Option<i64> = sqlx::query_scalar(
            "UPDATE resellers SET balance = balance + $1
             WHERE app_id = $2 AND id = $3 AND balance <= $4 - $1
             RETURNING balance",
        )
        .bind(amount)
        .bind(app_id)
        .bind(id)
        .bind(max_balance)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        if let Some(balance) = added {
            return Ok(CreditAdded::Added { balance });
        }
        let now: Option<i64> = sqlx::query_scalar("SELECT balance FROM resellers WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(match now {
            Some(balance) => CreditAdded::OverMax { balance },
            None => CreditAdded::ResellerMissing,
        })
    }

    async fn delete_reseller(&self, app_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM resellers WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_reseller_licenses(
        &self,
        app_id: &str,
        reseller_id: &str,
        licenses: &[License],
        cost: i64,
    ) -> StoreResult<ResellerPurchase> {
        // The conditional debit locks the reseller's row: a concurrent purchase waits for this
        // transaction, then re-checks `balance >= cost` on the balance it left (READ COMMITTED
        // re-evaluates the condition on the updated row), so the balance is never spent twice.
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        let left: Option<i64> = sqlx::query_scalar(
            "UPDATE resellers SET balance = balance - $1
             WHERE app_id = $2 AND id = $3 AND balance >= $1
             RETURNING balance",
        )
        .bind(cost)
        .bind(app_id)
        .bind(reseller_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(balance) = left else {
            let balance: Option<i64> =
                sqlx::query_scalar("SELECT balance FROM resellers WHERE app_id = $1 AND id = $2")
                    .bind(app_id)
                    .bind(reseller_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
            tx.rollback().await.map_err(db_err)?;
            return Ok(match balance {
                Some(balance) => ResellerPurchase::NotEnoughCredit { balance },
                None => ResellerPurchase::ResellerMissing,
            });
        };
        insert_licenses_in(&mut tx, licenses).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ResellerPurchase::Bought { balance })
    }
}
