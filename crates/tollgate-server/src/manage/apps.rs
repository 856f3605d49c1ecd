//! Apps: create, list, change settings, issue a new API key, delete.

use tollgate_core::ids;
use tollgate_core::model::{App, AppCounts, AppStatus};
use tollgate_core::settings::{validate_app_name, validate_version, AppPatch, AppSettings};
use tollgate_core::time::now;

use super::{audit, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// The owner's apps, oldest first, each with its user and license counts.
pub async fn list(state: &AppState, owner_id: &str) -> ManageResult<Vec<(App, AppCounts)>> {
    Ok(state.store.list_apps(owner_id).await?)
}

/// The owner's app `app_id`; `NotFound` for another seller's app or none.
pub async fn get(state: &AppState, owner_id: &str, app_id: &str) -> ManageResult<App> {
    state.store.get_app(owner_id, app_id).await?.ok_or(ManageError::NotFound("Application"))
}

/// Build and store a new app for `owner_id`, with fresh keys and default settings; audited as
/// `app.create`.
pub async fn create(
    state: &AppState,
    by: &Actor,
    owner_id: &str,
    name: &str,
    version: Option<&str>,
) -> ManageResult<App> {
    let name = validate_app_name(name)?;
    let version = match version {
        Some(v) => validate_version("version", v)?,
        None => "1.0.0".to_owned(),
    };
    let t = now();
    let app = App {
        id: ids::new_id(ids::prefix::APP),
        owner_id: owner_id.to_owned(),
        name,
        api_key: ids::new_api_key(),
        ws_key: ids::new_ws_key(),
        version,
        status: AppStatus::Active,
        settings: AppSettings::default(),
        created_at: t,
        updated_at: t,
    };
    state.store.create_app(&app).await?;
    audit(state, by, "app.create", Some(&app.id), Some(&app.id)).await;
    Ok(app)
}

/// Apply `patch` (name, version, status, settings) to `app`: every field is validated before
/// anything is written. Answers the app as stored.
pub async fn update(state: &AppState, by: &Actor, app: &App, patch: AppPatch) -> ManageResult<App> {
    let mut next = patch.apply(app)?;
    next.updated_at = now();
    // Deleted since it was read: as absent as if it had never been.
    if !state.store.update_app(&next).await? {
        return Err(ManageError::NotFound("Application"));
    }
    state.invalidate_app(&app.id).await;
    audit(state, by, "app.update", Some(&app.id), Some(&app.id)).await;
    Ok(next)
}

/// Issue a new API key for `app`; the old one stops working at once.
pub async fn regenerate_key(state: &AppState, by: &Actor, app: &App) -> ManageResult<App> {
    let mut app = app.clone();
    app.api_key = ids::new_api_key();
    app.updated_at = now();
    if !state.store.update_app(&app).await? {
        return Err(ManageError::NotFound("Application"));
    }
    state.invalidate_app(&app.id).await;
    audit(state, by, "app.regenerate_key", Some(&app.id), Some(&app.id)).await;
    Ok(app)
}

/// Delete `owner_id`'s app `app_id` with all its data, then its encrypted files.
pub async fn delete(state: &AppState, by: &Actor, owner_id: &str, app_id: &str) -> ManageResult<()> {
    if !state.store.delete_app(owner_id, app_id).await? {
        return Err(ManageError::NotFound("Application"));
    }
    state.invalidate_app(app_id).await;
    // The rows are gone; now the encrypted blobs. A failure leaves orphaned ciphertext only.
    if let Err(e) = crate::files::FileVault::from_state(state).remove_app(app_id).await {
        tracing::warn!(error = %e, app_id, "could not remove the deleted app's files");
    }
    audit(state, by, "app.delete", None, Some(app_id)).await;
    Ok(())
}
