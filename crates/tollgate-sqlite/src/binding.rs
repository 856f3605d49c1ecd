//! Binding a device to the JSON device list of a license or a user, never past its device limit.

use sqlx::SqlitePool;
use tollgate_sql::to_json;
use tollgate_store::{DeviceBinding, StoreError, StoreResult};

use crate::error::db_err;

/// Attempts before giving up; each failed one means another writer changed the list in between.
const ATTEMPTS: usize = 64;

/// The tables with a `devices` list, by the name written into the SQL.
#[derive(Clone, Copy)]
pub(crate) enum Owner {
    License,
    User,
}

impl Owner {
    fn table(self) -> &'static str {
        match self {
            Owner::License => "licenses",
            Owner::User => "app_users",
        }
    }
}

/// Add `device` to the list unless it is there or `max_devices` are bound.
///
/// Compare-and-swap: the write is guarded on the list text that was read, so of two concurrent
/// binds one writes and the other reads again. A known device or a full list answers without
/// taking the write lock, which a login's device check would otherwise take every time.
pub(crate) async fn bind_device(
    pool: &SqlitePool,
    owner: Owner,
    app_id: &str,
    id: &str,
    device: &str,
    max_devices: i64,
) -> StoreResult<DeviceBinding> {
    let table = owner.table();
    let select = format!("SELECT devices FROM {table} WHERE app_id = $1 AND id = $2");
    let update = format!("UPDATE {table} SET devices = $1 WHERE app_id = $2 AND id = $3 AND devices = $4");
    for _ in 0..ATTEMPTS {
        let text: Option<String> =
            sqlx::query_scalar(&select).bind(app_id).bind(id).fetch_optional(pool).await.map_err(db_err)?;
        let Some(text) = text else {
            return Ok(DeviceBinding::Missing);
        };
        let mut devices: Vec<String> = serde_json::from_str(&text)
            .map_err(|e| StoreError::Other(format!("invalid JSON in column devices: {e}")))?;
        if devices.iter().any(|d| d == device) {
            return Ok(DeviceBinding::Known);
        }
        if i64::try_from(devices.len()).unwrap_or(i64::MAX) >= max_devices {
            return Ok(DeviceBinding::LimitReached);
        }
        devices.push(device.to_owned());
        let done = sqlx::query(&update)
            .bind(to_json(&devices)?)
            .bind(app_id)
            .bind(id)
            .bind(&text)
            .execute(pool)
            .await
            .map_err(db_err)?;
        if done.rows_affected() > 0 {
            return Ok(DeviceBinding::Added);
        }
    }
    Err(StoreError::Unavailable(format!("the devices of a row in {table} kept changing; try again")))
}
