//! Client logs (per app) and the audit trail (per seller). Append-only.

use async_trait::async_trait;
use tollgate_core::model::{AuditEntry, LogEntry};
use tollgate_sql::{count, limit_offset, ms, AuditRow, IntoModel, LogRow};
use tollgate_store::{LogStore, Page, PageRequest, StoreResult};

use crate::error::db_err;
use crate::PgStore;

#[async_trait]
impl LogStore for PgStore {
    async fn append_log(&self, entry: &LogEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO logs (id, app_id, user_id, username, message, ip, hwid, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&entry.id)
        .bind(&entry.app_id)
        .bind(&entry.user_id)
        .bind(&entry.username)
        .bind(&entry.message)
        .bind(&entry.ip)
        .bind(&entry.hwid)
        .bind(ms(&entry.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_logs(&self, app_id: &str, page: PageRequest) -> StoreResult<Page<LogEntry>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM logs WHERE app_id = $1")
            .bind(app_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let (limit, offset) = limit_offset(page);
        let items = sqlx::query(
            r#"SELECT * FROM logs WHERE app_id = $1
             ORDER BY created_at DESC, id COLLATE "C" DESC
             LIMIT $2 OFFSET $3"#,
        )
        .bind(app_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(LogRow::decode)
        .collect::<StoreResult<_>>()?;
        Ok(Page { items, total: count(total) })
    }

    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, seller_id, actor, action, target, app_id, ip, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&entry.id)
        .bind(&entry.seller_id)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.app_id)
        .bind(&entry.ip)
        .bind(ms(&entry.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_audit(&self, seller_id: &str, page: PageRequest) -> StoreResult<Page<AuditEntry>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE seller_id = $1")
            .bind(seller_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let (limit, offset) = limit_offset(page);
        let items = sqlx::query(
            r#"SELECT * FROM audit_log WHERE seller_id = $1
             ORDER BY created_at DESC, id COLLATE "C" DESC
             LIMIT $2 OFFSET $3"#,
        )
        .bind(seller_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(AuditRow::decode)
        .collect::<StoreResult<_>>()?;
        Ok(Page { items, total: count(total) })
    }
}
