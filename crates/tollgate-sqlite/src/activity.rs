//! Client activity: hourly counters and refused calls (see `tollgate_store::ActivityStore`).

use async_trait::async_trait;
use sqlx::Row;
use tollgate_core::model::LicenseStatus;
use tollgate_core::time::{from_millis, Timestamp};
use tollgate_sql::{count, ms};
use tollgate_store::{ActivityBatch, ActivityCount, ActivityStore, RefusedCall, StoreResult};

use crate::error::db_err;
use crate::SqliteStore;

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn record_activity(&self, batch: &ActivityBatch) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        for c in &batch.counts {
            // `WHERE EXISTS`: an app deleted since the call is skipped (and disambiguates the
            // upsert of an INSERT ... SELECT for SQLite's parser).
            sqlx::query(
                "INSERT INTO activity_counts (app_id, hour, kind, reason, dialect, n)
                 SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM apps WHERE id = $1)
                 ON CONFLICT (app_id, hour, kind, reason, dialect) DO UPDATE SET n = activity_counts.n + excluded.n",
            )
            .bind(&c.app_id)
            .bind(ms(&c.hour))
            .bind(&c.kind)
            .bind(&c.reason)
            .bind(&c.dialect)
            .bind(i64::try_from(c.n).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        for r in &batch.refused {
            sqlx::query(
                "INSERT INTO activity_refused (id, app_id, at, dialect, reason, ip)
                 SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM apps WHERE id = $2)",
            )
            .bind(&r.id)
            .bind(&r.app_id)
            .bind(ms(&r.at))
            .bind(&r.dialect)
            .bind(&r.reason)
            .bind(&r.ip)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn activity_since(&self, app_id: &str, since: Timestamp) -> StoreResult<Vec<ActivityCount>> {
        let rows = sqlx::query(
            "SELECT app_id, hour, kind, reason, dialect, n FROM activity_counts
             WHERE app_id = $1 AND hour >= $2 ORDER BY hour, kind, reason, dialect",
        )
        .bind(app_id)
        .bind(ms(&since))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ActivityCount {
                    app_id: r.try_get("app_id").map_err(db_err)?,
                    hour: from_millis(r.try_get("hour").map_err(db_err)?),
                    kind: r.try_get("kind").map_err(db_err)?,
                    reason: r.try_get("reason").map_err(db_err)?,
                    dialect: r.try_get("dialect").map_err(db_err)?,
                    n: count(r.try_get("n").map_err(db_err)?),
                })
            })
            .collect()
    }

    async fn recent_refused(&self, app_id: &str, limit: u32) -> StoreResult<Vec<RefusedCall>> {
        let rows = sqlx::query(
            "SELECT id, app_id, at, dialect, reason, ip FROM activity_refused
             WHERE app_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(app_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(RefusedCall {
                    id: r.try_get("id").map_err(db_err)?,
                    app_id: r.try_get("app_id").map_err(db_err)?,
                    at: from_millis(r.try_get("at").map_err(db_err)?),
                    dialect: r.try_get("dialect").map_err(db_err)?,
                    reason: r.try_get("reason").map_err(db_err)?,
                    ip: r.try_get("ip").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn license_status_counts(&self, app_id: &str) -> StoreResult<Vec<(LicenseStatus, u64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, CAST(n AS BIGINT) FROM license_counts WHERE app_id = $1 ORDER BY status")
                .bind(app_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(rows.into_iter().filter_map(|(s, n)| Some((s.parse().ok()?, count(n)))).collect())
    }

    async fn count_users(&self, app_id: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM app_users WHERE app_id = $1")
            .bind(app_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(count(n))
    }

    async fn purge_activity(
        &self,
        refused_before: Timestamp,
        refused_per_app: u32,
        counts_before: Timestamp,
    ) -> StoreResult<u64> {
        let old = sqlx::query("DELETE FROM activity_refused WHERE at < $1")
            .bind(ms(&refused_before))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        let beyond = sqlx::query(
            "DELETE FROM activity_refused WHERE id IN (
                 SELECT id FROM (
                     SELECT id, ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY at DESC, id DESC) AS rn
                     FROM activity_refused
                 ) ranked WHERE rn > $1)",
        )
        .bind(i64::from(refused_per_app))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        let counts = sqlx::query("DELETE FROM activity_counts WHERE hour < $1")
            .bind(ms(&counts_before))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(old.rows_affected() + beyond.rows_affected() + counts.rows_affected())
    }
}
