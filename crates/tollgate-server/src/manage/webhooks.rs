//! Webhooks: create (with a fresh signing secret, stored sealed), list, change, delete; the
//! delivery log, sending a delivery again, and the test ping.

use tollgate_core::events::Event;
use tollgate_core::model::{Delivery, DeliveryState, Webhook, WebhookFormat};
use tollgate_core::settings::validate_url;
use tollgate_core::time::now;
use tollgate_core::{ids, rules, DomainError};
use tollgate_store::{AttemptOutcome, DeliveryRecord, EndpointHealth, Invalidation, Page, PageRequest, WebhookPatch};

use super::{audit, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// `standard` or `discord`.
fn parse_format(format: &str) -> Result<WebhookFormat, DomainError> {
    format.parse().map_err(|()| DomainError::validation("format", "must be `standard` or `discord`"))
}

/// An http(s) URL; unless private targets are allowed, not a literal address deliveries may
/// not go to (a host name is checked on its addresses at each send).
fn check_url(state: &AppState, url: &str) -> Result<String, DomainError> {
    let url = validate_url("url", url)?;
    let parsed = url::Url::parse(&url).map_err(|_| DomainError::validation("url", "must be an http(s) URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(DomainError::validation("url", "must be an http(s) URL"));
    }
    if !state.webhooks.config().allow_private {
        if let Some(why) = crate::webhooks::guard::refused_literal(&parsed) {
            return Err(DomainError::validation(
                "url",
                format!("must not point to a loopback, private, link-local or metadata address: {why}"),
            ));
        }
    }
    Ok(url)
}

/// A webhook just made, with its signing secret in plain text (shown this once).
pub struct Created {
    pub webhook: Webhook,
    pub secret: String,
}

/// Create a webhook for `url` on `events`, enabled, in `format` (`standard` when `None`), with
/// a new signing secret.
pub async fn create(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    url: &str,
    events: &[String],
    format: Option<&str>,
) -> ManageResult<Created> {
    let url = check_url(state, url)?;
    let events = rules::webhook_events("events", events)?;
    let format = format.map(parse_format).transpose()?.unwrap_or(WebhookFormat::Standard);
    let id = ids::new_id(ids::prefix::WEBHOOK);
    let secret = ids::new_webhook_secret();
    let sealed = state.webhooks.secrets().seal(&id, &secret).map_err(|e| {
        tracing::error!(error = %e, "cannot seal a webhook secret");
        DomainError::Internal
    })?;
    let hook = Webhook {
        id,
        app_id: app_id.to_owned(),
        url,
        events,
        secret: sealed,
        enabled: true,
        format,
        failing_since: None,
        disabled_reason: None,
        created_at: now(),
    };
    state.store.create_webhook(&hook).await?;
    audit(state, by, "webhook.create", Some(app_id), Some(&hook.id)).await;
    Ok(Created { webhook: hook, secret })
}

/// The app's webhooks.
pub async fn list(state: &AppState, app_id: &str) -> ManageResult<Vec<Webhook>> {
    Ok(state.store.list_webhooks(app_id).await?)
}

/// What may change on a webhook; `None` leaves it as it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct Change<'a> {
    pub url: Option<&'a str>,
    pub events: Option<&'a [String]>,
    pub enabled: Option<bool>,
    pub format: Option<&'a str>,
}

/// Change a webhook's URL, events, format or whether it is enabled. Enabling it clears why the
/// server disabled it and since when it was failing.
pub async fn update(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    webhook_id: &str,
    change: Change<'_>,
) -> ManageResult<Webhook> {
    let url = change.url.map(|u| check_url(state, u)).transpose()?;
    let events = change.events.map(|e| rules::webhook_events("events", e)).transpose()?;
    let format = change.format.map(parse_format).transpose()?;
    let patch = WebhookPatch { url, events, enabled: change.enabled, format };
    let hook = state.store.update_webhook(app_id, webhook_id, &patch).await?.ok_or(ManageError::NotFound("Webhook"))?;
    audit(state, by, "webhook.update", Some(app_id), Some(&hook.id)).await;
    if change.enabled == Some(true) {
        // deliveries that waited while it was disabled are due now
        announce(state).await;
    }
    Ok(hook)
}

/// Delete a webhook with its deliveries.
pub async fn delete(state: &AppState, by: &Actor, app_id: &str, webhook_id: &str) -> ManageResult<()> {
    if !state.store.delete_webhook(app_id, webhook_id).await? {
        return Err(ManageError::NotFound("Webhook"));
    }
    audit(state, by, "webhook.delete", Some(app_id), Some(webhook_id)).await;
    Ok(())
}

/// One of the app's webhooks.
pub async fn get(state: &AppState, app_id: &str, webhook_id: &str) -> ManageResult<Webhook> {
    webhook(state, app_id, webhook_id).await
}

async fn webhook(state: &AppState, app_id: &str, webhook_id: &str) -> ManageResult<Webhook> {
    state.store.get_webhook(app_id, webhook_id).await?.ok_or(ManageError::NotFound("Webhook"))
}

/// Tell every worker that deliveries are due. A lost notification only delays them to the
/// worker's next look.
async fn announce(state: &AppState) {
    if let Err(e) = state.store.publish(&Invalidation::WebhooksDue).await {
        tracing::warn!(error = %e, "could not announce due webhook deliveries");
    }
}

/// The webhook's deliveries, newest first, with their attempts.
pub async fn deliveries(
    state: &AppState,
    app_id: &str,
    webhook_id: &str,
    page: PageRequest,
) -> ManageResult<Page<DeliveryRecord>> {
    webhook(state, app_id, webhook_id).await?;
    Ok(state.store.list_deliveries(app_id, webhook_id, page).await?)
}

/// One delivery of the webhook, with its attempts.
pub async fn delivery(state: &AppState, app_id: &str, webhook_id: &str, id: &str) -> ManageResult<DeliveryRecord> {
    webhook(state, app_id, webhook_id).await?;
    state.store.get_delivery(app_id, webhook_id, id).await?.ok_or(ManageError::NotFound("Delivery"))
}

/// Queue a delivery again at once, whatever became of it; it keeps its id (the `webhook-id`
/// the receiver sees) and its attempts.
pub async fn redeliver(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    webhook_id: &str,
    id: &str,
) -> ManageResult<DeliveryRecord> {
    webhook(state, app_id, webhook_id).await?;
    // The answer is the delivery as queued: its attempts so far, read before, and the state the
    // queueing wrote. Read after, it would show however far a worker had got meanwhile (a
    // worker's own poll can pick it up before this request wakes any).
    let before = state.store.get_delivery(app_id, webhook_id, id).await?.ok_or(ManageError::NotFound("Delivery"))?;
    let queued =
        state.store.redeliver(app_id, webhook_id, id, now()).await?.ok_or(ManageError::NotFound("Delivery"))?;
    audit(state, by, "webhook.redeliver", Some(app_id), Some(id)).await;
    announce(state).await;
    Ok(DeliveryRecord { delivery: queued, attempts: before.attempts })
}

/// How the test ping went.
#[derive(Debug, Clone)]
pub struct Ping {
    pub delivery_id: String,
    pub status_code: Option<u16>,
    pub ok: bool,
    pub error: Option<String>,
}

/// Send a `webhook.test` event to the webhook now, enabled or not, and answer how it went. The
/// attempt is in the delivery log; it does not count toward the endpoint's health.
pub async fn test(state: &AppState, by: &Actor, app_id: &str, webhook_id: &str) -> ManageResult<Ping> {
    let hook = webhook(state, app_id, webhook_id).await?;
    let at = now();
    let event = Event::webhook_test(app_id, webhook_id, at);
    let delivery = Delivery {
        id: ids::new_id(ids::prefix::DELIVERY),
        webhook_id: hook.id.clone(),
        app_id: app_id.to_owned(),
        event: event.kind.as_str().to_owned(),
        payload: event.body(),
        state: DeliveryState::Pending,
        attempts: 0,
        failures: 0,
        next_attempt_at: None,
        last_attempt_at: None,
        created_at: at,
    };
    let lease = ids::random_hex(16);
    state.store.insert_delivery(&delivery, &lease).await.map_err(|e| match e {
        tollgate_store::StoreError::NotFound => ManageError::NotFound("Webhook"),
        other => ManageError::Store(other),
    })?;
    audit(state, by, "webhook.test", Some(app_id), Some(webhook_id)).await;
    let sent = state.webhooks.send(&hook, &delivery, at).await;
    let ok = sent.ok();
    let outcome = if ok { AttemptOutcome::Delivered } else { AttemptOutcome::Failed };
    state.metrics.webhook_attempt(if ok { "delivered" } else { "failed" });
    let record = sent.attempt(&delivery.id, 1, at);
    if !state.store.finish_attempt(&lease, &record, outcome, EndpointHealth::Unchanged).await? {
        tracing::debug!(delivery = %delivery.id, "test ping not recorded: the webhook was deleted meanwhile");
    }
    Ok(Ping { delivery_id: delivery.id, status_code: sent.status_code, ok, error: sent.error })
}
