//! Device licenses (licenses bound to one motherboard or processor id, with no key and no
//! account): create, change, delete, ban/unban, pause/unpause, extend.

use chrono::Duration;
use tollgate_core::license as license_rules;
use tollgate_core::model::{DeviceLicense, LicenseStatus};
use tollgate_core::status::{self, StatusAction};
use tollgate_core::time::now;
use tollgate_core::{ids, rules, validate, DomainError};
use tollgate_store::DeviceLicensePatch;

use super::{audit, transition, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// The device license `id` of the app.
pub async fn get(state: &AppState, app_id: &str, id: &str) -> ManageResult<DeviceLicense> {
    state.store.get_device_license(app_id, id).await?.ok_or(ManageError::NotFound("Device license"))
}

/// Trimmed; blank is none.
fn name_field(name: Option<&str>) -> Result<Option<String>, DomainError> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) => Ok(Some(validate::text("name", n, rules::MAX_DEVICE_NAME_LEN)?)),
    }
}

/// Kept as written; empty is none.
fn note_field(note: Option<&str>) -> Result<Option<String>, DomainError> {
    match note.filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) => Ok(Some(validate::text("note", n, license_rules::MAX_NOTE_LEN)?)),
    }
}

/// A new device license, as given (checked by [`create`]).
#[derive(Debug)]
pub struct NewDevice {
    pub device_type: String,
    pub device_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub level: i64,
    /// Days until it expires from now; `None` (and no `duration`) never expires.
    pub days: Option<i64>,
    /// Instead of `days`: `<n>h` or `<n>d` from now.
    pub duration: Option<String>,
    pub note: Option<String>,
}

/// Create an `UNUSED` device license for one motherboard or processor id.
pub async fn create(state: &AppState, by: &Actor, app_id: &str, d: NewDevice) -> ManageResult<DeviceLicense> {
    let device_type = rules::device_type("deviceType", &d.device_type)?;
    let device_id = rules::device_id("deviceId", &d.device_id)?;
    let name = name_field(d.name.as_deref())?;
    let email = d.email.as_deref().map(|e| validate::email("email", e)).transpose()?;
    let level = license_rules::level("level", d.level)?;
    let span = match (d.days, d.duration.as_deref()) {
        (Some(_), Some(_)) => return Err(DomainError::validation("days", "give either days or duration").into()),
        (Some(days), None) => Some(Duration::days(license_rules::extend_days("days", days)?)),
        (None, Some(text)) => license_rules::parse_extension("duration", text)?.span(),
        (None, None) => None,
    };
    let note = note_field(d.note.as_deref())?;
    let t = now();
    let device = DeviceLicense {
        id: ids::new_id(ids::prefix::DEVICE),
        app_id: app_id.to_owned(),
        device_type,
        device_id,
        name,
        email,
        level,
        status: LicenseStatus::Unused,
        ban_reason: None,
        note,
        created_at: t,
        activated_at: None,
        expires_at: span.map(|span| t + span),
        last_login: None,
        last_ip: None,
        hwid: None,
    };
    state.store.create_device_license(&device).await?;
    audit(state, by, "device.create", Some(app_id), Some(&device.id)).await;
    Ok(device)
}

/// What a seller may change of a device license, as given; `Some(None)` removes a text field.
#[derive(Debug, Default)]
pub struct DeviceChanges {
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub level: Option<i64>,
    pub note: Option<Option<String>>,
}

/// Change a device license's name, email, level or note. Every field is validated before
/// anything is written.
pub async fn update(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    id: &str,
    c: DeviceChanges,
) -> ManageResult<DeviceLicense> {
    let patch = DeviceLicensePatch {
        name: c.name.map(|n| name_field(n.as_deref())).transpose()?,
        email: match c.email {
            None => None,
            Some(None) => Some(None),
            Some(Some(e)) => Some(Some(validate::email("email", &e)?)),
        },
        level: c.level.map(|l| license_rules::level("level", l)).transpose()?,
        note: c.note.map(|n| note_field(n.as_deref())).transpose()?,
    };
    let device =
        state.store.update_device_license(app_id, id, &patch).await?.ok_or(ManageError::NotFound("Device license"))?;
    audit(state, by, "device.update", Some(app_id), Some(id)).await;
    Ok(device)
}

/// Permanently delete a device license.
pub async fn delete(state: &AppState, by: &Actor, app_id: &str, id: &str) -> ManageResult<()> {
    if !state.store.delete_device_license(app_id, id).await? {
        return Err(ManageError::NotFound("Device license"));
    }
    audit(state, by, "device.delete", Some(app_id), Some(id)).await;
    Ok(())
}

/// Apply a ban/unban/pause/unpause to a device license of the app, by the same table as
/// license keys.
pub async fn change_status(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    id: &str,
    action: StatusAction,
    reason: Option<String>,
) -> ManageResult<()> {
    let reason = reason.as_deref();
    transition(
        get(state, app_id, id).await?,
        |device| Ok(status::device_next(device, action)?.map(|to| (device.status, to))),
        || get(state, app_id, id),
        |_, from, to| async move {
            Ok(state.store.set_device_license_status(app_id, id, from, to, reason).await?.is_some())
        },
    )
    .await?;
    let name = match action {
        StatusAction::Ban => "device.ban",
        StatusAction::Unban => "device.unban",
        StatusAction::Pause => "device.pause",
        StatusAction::Unpause => "device.unpause",
    };
    audit(state, by, name, Some(app_id), Some(id)).await;
    Ok(())
}

/// Extend a device license by `days` (1 to 36500), counted from the later of its expiry and
/// now; one that never expires stays so. Answers the days added and the device license.
pub async fn extend(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    id: &str,
    days: i64,
) -> ManageResult<(i64, DeviceLicense)> {
    let days = license_rules::extend_days("days", days)?;
    let device = state
        .store
        .extend_device_license(app_id, id, days, now())
        .await?
        .ok_or(ManageError::NotFound("Device license"))?;
    audit(state, by, "device.extend", Some(app_id), Some(id)).await;
    Ok((days, device))
}
