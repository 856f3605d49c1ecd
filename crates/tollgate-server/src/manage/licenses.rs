//! License keys: generate in batches, ban/unban, pause/unpause, forget bound devices, delete.

use tollgate_core::license::{self as rules, LicenseSpec};
use tollgate_core::model::{Creator, License};
use tollgate_core::status::{self, StatusAction};
use tollgate_core::time::now;
use tollgate_store::{constraint, StoreError};

use super::{audit, transition, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// Fresh batches tried when a generated key collides with an existing one.
const GENERATE_ATTEMPTS: usize = 5;

/// Make `count` licenses of `spec` for `app_id` and store them all or none. A generated key
/// that collides with an existing one (or with another of the batch) makes a fresh batch, a few
/// times over. Not audited here: one `license.generate` entry is recorded per request by the
/// admin API, and the command line stores in many batches.
pub async fn generate(
    state: &AppState,
    app_id: &str,
    spec: &LicenseSpec,
    creator: Creator,
    count: usize,
) -> ManageResult<Vec<License>> {
    spec.validate()?;
    let mut attempt = 1;
    loop {
        let batch = rules::new_licenses(app_id, spec, creator.clone(), count, now());
        match state.store.insert_licenses(&batch).await {
            Ok(()) => return Ok(batch),
            Err(StoreError::Conflict { constraint: c })
                if c == constraint::LICENSE_APP_KEY && attempt < GENERATE_ATTEMPTS =>
            {
                tracing::warn!(app_id, attempt, "generated license key collided; making a new batch");
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The license `license_id` of the app.
pub async fn get(state: &AppState, app_id: &str, license_id: &str) -> ManageResult<License> {
    state.store.get_license(app_id, license_id).await?.ok_or(ManageError::NotFound("License"))
}

/// Apply a ban/unban/pause/unpause to a license of the app. A ban outranks a pause: pausing a
/// banned key is refused.
pub async fn change_status(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    license_id: &str,
    action: StatusAction,
    reason: Option<String>,
) -> ManageResult<()> {
    let reason = reason.as_deref();
    transition(
        get(state, app_id, license_id).await?,
        |license| Ok(status::license_next(license, action)?.map(|to| (license.status, to))),
        || get(state, app_id, license_id),
        |from, to| async move {
            Ok(state.store.set_license_status(app_id, license_id, from, to, reason).await?.is_some())
        },
    )
    .await?;
    let name = match action {
        StatusAction::Ban => "license.ban",
        StatusAction::Unban => "license.unban",
        StatusAction::Pause => "license.pause",
        StatusAction::Unpause => "license.unpause",
    };
    audit(state, by, name, Some(app_id), Some(license_id)).await;
    Ok(())
}

/// Forget the devices a license is bound to, so it can be used on a new machine.
pub async fn reset_devices(state: &AppState, by: &Actor, app_id: &str, license_id: &str) -> ManageResult<()> {
    state.store.reset_license_devices(app_id, license_id).await?.ok_or(ManageError::NotFound("License"))?;
    audit(state, by, "license.reset_devices", Some(app_id), Some(license_id)).await;
    Ok(())
}

/// Permanently delete a license key.
pub async fn delete(state: &AppState, by: &Actor, app_id: &str, license_id: &str) -> ManageResult<()> {
    if !state.store.delete_license(app_id, license_id).await? {
        return Err(ManageError::NotFound("License"));
    }
    audit(state, by, "license.delete", Some(app_id), Some(license_id)).await;
    Ok(())
}
