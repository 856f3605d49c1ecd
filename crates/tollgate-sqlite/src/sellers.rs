//! Sellers and their refresh tokens.

use async_trait::async_trait;
use tollgate_core::model::{RefreshToken, Seller};
use tollgate_core::time::Timestamp;
use tollgate_sql::{ms, norm, IntoModel, SellerRow};
use tollgate_store::{RefreshUse, SellerStore, StoreResult};

use crate::error::db_err;
use crate::SqliteStore;

#[async_trait]
impl SellerStore for SqliteStore {
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
            .map(SellerRow::decode)
            .transpose()
    }

    async fn seller_by_email(&self, email: &str) -> StoreResult<Option<Seller>> {
        sqlx::query("SELECT * FROM sellers WHERE email_norm = $1")
            .bind(norm(email))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(SellerRow::decode)
            .transpose()
    }

    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (id, seller_id, token_hash, chain_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.id)
        .bind(&token.seller_id)
        .bind(&token.token_hash)
        .bind(&token.chain_id)
        .bind(ms(&token.created_at))
        .bind(ms(&token.expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn consume_refresh_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<RefreshUse> {
        // One conditional statement: of any number of concurrent callers, exactly one sees
        // `used_at IS NULL` and gets the row back. A chain with any revoked token is dead: the
        // revocation below always marks the reused token itself, which exists before any
        // successor can be consumed.
        let fresh: Option<(String, String)> = sqlx::query_as(
            "UPDATE refresh_tokens SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
               AND NOT EXISTS (SELECT 1 FROM refresh_tokens r
                               WHERE r.chain_id = refresh_tokens.chain_id AND r.revoked_at IS NOT NULL)
             RETURNING seller_id, chain_id",
        )
        .bind(ms(&now))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        if let Some((seller_id, chain_id)) = fresh {
            return Ok(RefreshUse::Fresh { seller_id, chain_id });
        }
        // Spent already: revoke its chain (the thief's successors and the owner's alike).
        let reused: Option<String> = sqlx::query_scalar(
            "UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $1)
             WHERE chain_id = (SELECT chain_id FROM refresh_tokens WHERE token_hash = $2 AND used_at IS NOT NULL)
             RETURNING seller_id",
        )
        .bind(ms(&now))
        .bind(token_hash)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .next();
        Ok(match reused {
            Some(seller_id) => RefreshUse::Reused { seller_id },
            None => RefreshUse::Invalid,
        })
    }

    async fn revoke_refresh_chain(&self, seller_id: &str, token_hash: &str, now: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $1)
             WHERE seller_id = $2
               AND chain_id = (SELECT chain_id FROM refresh_tokens WHERE token_hash = $3 AND seller_id = $2)",
        )
        .bind(ms(&now))
        .bind(seller_id)
        .bind(token_hash)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn seller_token_generation(&self, seller_id: &str) -> StoreResult<Option<i64>> {
        sqlx::query_scalar("SELECT token_generation FROM sellers WHERE id = $1")
            .bind(seller_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)
    }

    async fn bump_seller_token_generation(&self, seller_id: &str) -> StoreResult<Option<i64>> {
        sqlx::query_scalar(
            "UPDATE sellers SET token_generation = token_generation + 1 WHERE id = $1 RETURNING token_generation",
        )
        .bind(seller_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn delete_seller(&self, seller_id: &str) -> StoreResult<bool> {
        // Everything under the seller goes with it through ON DELETE CASCADE.
        let done = sqlx::query("DELETE FROM sellers WHERE id = $1")
            .bind(seller_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}
