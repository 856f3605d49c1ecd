//! Device licenses (a license bound to one piece of hardware), scoped by app.

use async_trait::async_trait;
use tollgate_core::model::{DeviceLicense, DeviceType, LicenseStatus};
use tollgate_core::time::Timestamp;
use tollgate_sql::{count, limit_offset, ms, ms_opt, DeviceLicenseRow, IntoModel};
use tollgate_store::{DeviceLicensePatch, DeviceLicenseStore, Page, PageRequest, StoreError, StoreResult};

use crate::error::db_err;
use crate::PgStore;

const DAY_MS: i64 = 86_400_000;

#[async_trait]
impl DeviceLicenseStore for PgStore {
    async fn create_device_license(&self, d: &DeviceLicense) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO device_licenses
                (id, app_id, device_type, device_id, name, email, level, status, ban_reason, note,
                 created_at, activated_at, expires_at, last_login, last_ip, hwid)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&d.id)
        .bind(&d.app_id)
        .bind(d.device_type.as_str())
        .bind(&d.device_id)
        .bind(&d.name)
        .bind(&d.email)
        .bind(d.level)
        .bind(d.status.as_str())
        .bind(&d.ban_reason)
        .bind(&d.note)
        .bind(ms(&d.created_at))
        .bind(ms_opt(&d.activated_at))
        .bind(ms_opt(&d.expires_at))
        .bind(ms_opt(&d.last_login))
        .bind(&d.last_ip)
        .bind(&d.hwid)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_device_licenses(&self, app_id: &str, page: PageRequest) -> StoreResult<Page<DeviceLicense>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM device_licenses WHERE app_id = $1")
            .bind(app_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let (limit, offset) = limit_offset(page);
        let items = sqlx::query(
            r#"SELECT * FROM device_licenses WHERE app_id = $1
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
        .map(DeviceLicenseRow::decode)
        .collect::<StoreResult<_>>()?;
        Ok(Page { items, total: count(total) })
    }

    async fn get_device_license(&self, app_id: &str, id: &str) -> StoreResult<Option<DeviceLicense>> {
        sqlx::query("SELECT * FROM device_licenses WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(DeviceLicenseRow::decode)
            .transpose()
    }

    async fn device_license_by_device(
        &self,
        app_id: &str,
        device_type: DeviceType,
        device_id: &str,
    ) -> StoreResult<Option<DeviceLicense>> {
        sqlx::query("SELECT * FROM device_licenses WHERE app_id = $1 AND device_type = $2 AND device_id = $3")
            .bind(app_id)
            .bind(device_type.as_str())
            .bind(device_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(DeviceLicenseRow::decode)
            .transpose()
    }

    async fn update_device_license(
        &self,
        app_id: &str,
        id: &str,
        patch: &DeviceLicensePatch,
    ) -> StoreResult<Option<DeviceLicense>> {
        // `Option<Option<_>>` fields: a flag says whether to write, then the new value.
        sqlx::query(
            "UPDATE device_licenses
             SET name = CASE WHEN $1 THEN $2 ELSE name END,
                 email = CASE WHEN $3 THEN $4 ELSE email END,
                 level = COALESCE($5, level),
                 note = CASE WHEN $6 THEN $7 ELSE note END
             WHERE app_id = $8 AND id = $9
             RETURNING *",
        )
        .bind(patch.name.is_some())
        .bind(patch.name.clone().flatten())
        .bind(patch.email.is_some())
        .bind(patch.email.clone().flatten())
        .bind(patch.level)
        .bind(patch.note.is_some())
        .bind(patch.note.clone().flatten())
        .bind(app_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(DeviceLicenseRow::decode)
        .transpose()
    }

    async fn set_device_license_status(
        &self,
        app_id: &str,
        id: &str,
        from: LicenseStatus,
        to: LicenseStatus,
        ban_reason: Option<&str>,
    ) -> StoreResult<Option<DeviceLicense>> {
        let ban_reason = if to == LicenseStatus::Banned { ban_reason } else { None };
        sqlx::query(
            "UPDATE device_licenses SET status = $1, ban_reason = $2
             WHERE app_id = $3 AND id = $4 AND status = $5
             RETURNING *",
        )
        .bind(to.as_str())
        .bind(ban_reason)
        .bind(app_id)
        .bind(id)
        .bind(from.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(DeviceLicenseRow::decode)
        .transpose()
    }

    async fn extend_device_license(
        &self,
        app_id: &str,
        id: &str,
        days: i64,
        now: Timestamp,
    ) -> StoreResult<Option<DeviceLicense>> {
        let add = days.checked_mul(DAY_MS).ok_or_else(|| StoreError::Other("extension out of range".into()))?;
        // One statement, so two concurrent extensions both count: the second waits for the
        // first's row lock, then computes its SET from the row the first committed.
        sqlx::query(
            "UPDATE device_licenses
             SET expires_at = CASE
                     WHEN expires_at IS NULL THEN NULL
                     WHEN expires_at > $1 THEN expires_at + $2
                     ELSE $1 + $2
                 END
             WHERE app_id = $3 AND id = $4
             RETURNING *",
        )
        .bind(ms(&now))
        .bind(add)
        .bind(app_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(DeviceLicenseRow::decode)
        .transpose()
    }

    async fn delete_device_license(&self, app_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM device_licenses WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn record_device_login(
        &self,
        app_id: &str,
        id: &str,
        ip: Option<&str>,
        hwid: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<Option<DeviceLicense>> {
        // Every SET expression reads the row as it was, so the first login both sees `UNUSED`
        // and stamps `activated_at`; a missing ip or hwid keeps the one recorded before.
        sqlx::query(
            "UPDATE device_licenses
             SET status = CASE WHEN status = 'UNUSED' THEN 'USED' ELSE status END,
                 activated_at = CASE WHEN status = 'UNUSED' THEN $1 ELSE activated_at END,
                 last_login = $1,
                 last_ip = COALESCE($2, last_ip),
                 hwid = COALESCE($3, hwid)
             WHERE app_id = $4 AND id = $5
             RETURNING *",
        )
        .bind(ms(&now))
        .bind(ip)
        .bind(hwid)
        .bind(app_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(DeviceLicenseRow::decode)
        .transpose()
    }
}
