//! Webhook definitions: create (with a fresh signing secret), list, change, delete.

use tollgate_core::model::Webhook;
use tollgate_core::settings::validate_url;
use tollgate_core::time::now;
use tollgate_core::{ids, rules};
use tollgate_store::WebhookPatch;

use super::{audit, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// Create a webhook for `url` on `events`, enabled, with a new signing secret.
pub async fn create(state: &AppState, by: &Actor, app_id: &str, url: &str, events: &[String]) -> ManageResult<Webhook> {
    let url = validate_url("url", url)?;
    let events = rules::webhook_events("events", events)?;
    let hook = Webhook {
        id: ids::new_id(ids::prefix::WEBHOOK),
        app_id: app_id.to_owned(),
        url,
        events,
        secret: ids::new_webhook_secret(),
        enabled: true,
        format: tollgate_core::model::WebhookFormat::Standard,
        failing_since: None,
        disabled_reason: None,
        created_at: now(),
    };
    state.store.create_webhook(&hook).await?;
    audit(state, by, "webhook.create", Some(app_id), Some(&hook.id)).await;
    Ok(hook)
}

/// The app's webhooks.
pub async fn list(state: &AppState, app_id: &str) -> ManageResult<Vec<Webhook>> {
    Ok(state.store.list_webhooks(app_id).await?)
}

/// Change a webhook's URL, events or whether it is enabled; `None` leaves that as it is.
pub async fn update(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    webhook_id: &str,
    url: Option<&str>,
    events: Option<&[String]>,
    enabled: Option<bool>,
) -> ManageResult<Webhook> {
    let url = url.map(|u| validate_url("url", u)).transpose()?;
    let events = events.map(|e| rules::webhook_events("events", e)).transpose()?;
    let patch = WebhookPatch { url, events, enabled, format: None };
    let hook = state.store.update_webhook(app_id, webhook_id, &patch).await?.ok_or(ManageError::NotFound("Webhook"))?;
    audit(state, by, "webhook.update", Some(app_id), Some(&hook.id)).await;
    Ok(hook)
}

/// Delete a webhook.
pub async fn delete(state: &AppState, by: &Actor, app_id: &str, webhook_id: &str) -> ManageResult<()> {
    if !state.store.delete_webhook(app_id, webhook_id).await? {
        return Err(ManageError::NotFound("Webhook"));
    }
    audit(state, by, "webhook.delete", Some(app_id), Some(webhook_id)).await;
    Ok(())
}
