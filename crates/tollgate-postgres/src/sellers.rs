//! Sellers and their refresh tokens.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use tollgate_core::model::{RefreshToken, Seller};
use tollgate_core::time::Timestamp;
use tollgate_store::{SellerStore, StoreResult};

use crate::error::db_err;
use crate::row::{col, ms, norm, ts};
use crate::PgStore;

fn seller(row: &PgRow) -> StoreResult<Seller> {
    Ok(Seller {
        id: col(row, "id")?,
        email: col(row, "email")?,
        name: col(row, "name")?,
        password_hash: col(row, "password_hash")?,
        plan: col(row, "plan")?,
        created_at: ts(row, "created_at")?,
    })
}

#[async_trait]
impl SellerStore for PgStore {
    async fn create_seller(&self, seller: &Seller) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sellers (id, email, email_norm, name, password_hash, plan, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&seller.id)
        .bind(&seller.email)
        .bind(norm(&seller.email))
        .bind(&seller.name)
        .bind(&seller.password_hash)
        .bind(&seller.plan)
        .bind(ms(&seller.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn seller_by_id(&self, id: &str) -> StoreResult<Option<Seller>> {
        sqlx::query("SELECT * FROM sellers WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(seller)
            .transpose()
    }

    async fn seller_by_email(&self, email: &str) -> StoreResult<Option<Seller>> {
        sqlx::query("SELECT * FROM sellers WHERE email_norm = $1")
            .bind(norm(email))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(seller)
            .transpose()
    }

    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (id, seller_id, token_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.id)
        .bind(&token.seller_id)
        .bind(&token.token_hash)
        .bind(ms(&token.created_at))
        .bind(ms(&token.expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn consume_refresh_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<String>> {
        // One conditional statement: of any number of concurrent callers, exactly one sees
        // `used_at IS NULL` and gets the row back. At READ COMMITTED the others queue on the
        // row lock and then re-check the WHERE against the version the winner committed.
        sqlx::query_scalar(
            "UPDATE refresh_tokens SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
             RETURNING seller_id",
        )
        .bind(ms(&now))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)
    }
}
