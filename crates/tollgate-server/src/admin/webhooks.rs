//! Webhooks: create (the signing secret is shown once), list, update, delete; the delivery log,
//! sending a delivery again, and the test ping.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tollgate_core::model::{DeliveryAttempt, Webhook};
use tollgate_core::time::{serde_ts, Timestamp};
use tollgate_store::DeliveryRecord;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ok_page, ClientIp, Envelope, OwnedApp, PageQuery, ValidJson, ValidQuery};
use crate::manage;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
        .routes(routes!(test_webhook))
}

/// A webhook as the admin API shows it; `secret` only in the answer to its creation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// `standard` (signed JSON) or `discord` (a Discord channel message).
    pub format: String,
    /// `false` when turned off by the seller, or by the server after failing for too long.
    pub enabled: bool,
    /// Since when every attempt has failed; `null` while the endpoint answers.
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
    pub failing_since: Option<Timestamp>,
    /// Why the server disabled it; cleared when it is enabled again.
    pub disabled_reason: Option<String>,
    /// The signing secret (`whsec_...`), in the answer to the creation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

impl WebhookView {
    fn without_secret(w: Webhook) -> Self {
        WebhookView {
            id: w.id,
            url: w.url,
            events: w.events,
            format: w.format.as_str().to_owned(),
            enabled: w.enabled,
            failing_since: w.failing_since,
            disabled_reason: w.disabled_reason,
            secret: None,
            created_at: w.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateWebhookBody {
    /// `http://` or `https://`.
    pub url: String,
    /// One or more of `user.login`, `user.register`, `user.ban`, `license.activate`,
    /// `license.expire`, `license.delete`, `file.download`, `session.create`.
    pub events: Vec<String>,
    /// `standard` (default) or `discord`.
    pub format: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateWebhookBody {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// Enabling clears `disabledReason` and `failingSince`.
    pub enabled: Option<bool>,
    /// `standard` or `discord`.
    pub format: Option<String>,
}

/// One attempt at a delivery.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    /// 1 for the first.
    pub attempt: u32,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String)]
    pub at: Timestamp,
    /// The receiver's status; `null` when no answer came.
    pub status_code: Option<u16>,
    pub latency_ms: u32,
    /// The first KiB of the answer.
    pub response: String,
    /// Why no answer came, or why it does not count.
    pub error: Option<String>,
}

impl From<DeliveryAttempt> for AttemptView {
    fn from(a: DeliveryAttempt) -> Self {
        AttemptView {
            attempt: a.number,
            at: a.at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            response: a.response,
            error: a.error,
        }
    }
}

/// One event on its way to the webhook, with its attempts, oldest first.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// Also the `webhook-id` header of every attempt.
    pub id: String,
    pub event: String,
    /// `PENDING`, `DELIVERED` or `FAILED`.
    pub status: String,
    pub attempt_count: u32,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// When the next attempt is due; `null` when none is.
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
    pub last_attempt_at: Option<Timestamp>,
    /// The standard body `{event, timestamp, data}`.
    #[schema(value_type = Object)]
    pub payload: Value,
    pub attempts: Vec<AttemptView>,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(r: DeliveryRecord) -> Self {
        let d = r.delivery;
        DeliveryView {
            payload: serde_json::from_str(&d.payload).unwrap_or(Value::String(d.payload)),
            id: d.id,
            event: d.event,
            status: d.state.as_str().to_owned(),
            attempt_count: d.attempts,
            created_at: d.created_at,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            attempts: r.attempts.into_iter().map(AttemptView::from).collect(),
        }
    }
}

/// How the test ping went.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PingView {
    /// The receiver's status; `null` when no answer came.
    pub status_code: Option<u16>,
    /// A 2xx answer.
    pub ok: bool,
    /// The test delivery, in the delivery log.
    pub delivery_id: String,
    /// Why there was no answer, when there was none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Create a webhook; the answer carries its signing secret, shown this once.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body = CreateWebhookBody,
    responses((status = 201, description = "The new webhook with `secret` (`whsec_...`)", body = Envelope<WebhookView>),
              (status = 400, description = "Invalid field, named (a `url` to a loopback, private or metadata address among them, unless private targets are allowed)"),
              (status = 404, description = "App not yours or absent")))]
async fn create_webhook(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
    ValidJson(body): ValidJson<CreateWebhookBody>,
) -> ApiResult<impl IntoResponse> {
    let created =
        manage::webhooks::create(&state, &owned.actor(ip), &app_id, &body.url, &body.events, body.format.as_deref())
            .await?;
    let view = WebhookView { secret: Some(created.secret), ..WebhookView::without_secret(created.webhook) };
    Ok((StatusCode::CREATED, ok(view)))
}

/// List the app's webhooks (without secrets).
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("appId" = String, Path)),
    responses((status = 200, description = "Webhooks, secrets omitted", body = Envelope<Vec<WebhookView>>),
              (status = 404, description = "App not yours or absent")))]
async fn list_webhooks(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let hooks = manage::webhooks::list(&state, &app_id).await?;
    Ok(ok(hooks.into_iter().map(WebhookView::without_secret).collect::<Vec<_>>()))
}

/// Change a webhook's URL, events, format or whether it is enabled.
#[utoipa::path(patch, path = "/v1/admin/apps/{appId}/webhooks/{webhookId}", tag = "webhooks", security(("bearer" = [])),
    params(("appId" = String, Path), ("webhookId" = String, Path)), request_body = UpdateWebhookBody,
    responses((status = 200, description = "The updated webhook, secret omitted", body = Envelope<WebhookView>),
              (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App or webhook absent or not yours")))]
async fn update_webhook(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, webhook_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateWebhookBody>,
) -> ApiResult<impl IntoResponse> {
    let change = manage::webhooks::Change {
        url: body.url.as_deref(),
        events: body.events.as_deref(),
        enabled: body.enabled,
        format: body.format.as_deref(),
    };
    let hook = manage::webhooks::update(&state, &owned.actor(ip), &app_id, &webhook_id, change).await?;
    Ok(ok(WebhookView::without_secret(hook)))
}

/// Delete a webhook and its delivery log.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/webhooks/{webhookId}", tag = "webhooks", security(("bearer" = [])),
    params(("appId" = String, Path), ("webhookId" = String, Path)),
    responses((status = 200, description = "Deleted"), (status = 404, description = "App or webhook absent or not yours")))]
async fn delete_webhook(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, webhook_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::webhooks::delete(&state, &owned.actor(ip), &app_id, &webhook_id).await?;
    Ok(ok_message::<()>("Webhook deleted", None))
}

/// Page through the webhook's deliveries, newest first, each with its attempts.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/webhooks/{webhookId}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("appId" = String, Path), ("webhookId" = String, Path), PageQuery),
    responses((status = 200, description = "Deliveries with `pagination{page, limit, total}`", body = Envelope<Vec<DeliveryView>>),
              (status = 400, description = "Invalid query parameter, named"),
              (status = 404, description = "App or webhook absent or not yours")))]
async fn list_deliveries(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path((app_id, webhook_id)): Path<(String, String)>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> ApiResult<impl IntoResponse> {
    let page = q.page()?;
    let found = manage::webhooks::deliveries(&state, &app_id, &webhook_id, page).await?;
    Ok(ok_page(found.items.into_iter().map(DeliveryView::from).collect::<Vec<_>>(), page, found.total))
}

/// One delivery with its attempts.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/webhooks/{webhookId}/deliveries/{deliveryId}", tag = "webhooks",
    security(("bearer" = [])),
    params(("appId" = String, Path), ("webhookId" = String, Path), ("deliveryId" = String, Path)),
    responses((status = 200, description = "The delivery", body = Envelope<DeliveryView>),
              (status = 404, description = "App, webhook or delivery absent or not yours")))]
async fn get_delivery(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path((app_id, webhook_id, delivery_id)): Path<(String, String, String)>,
) -> ApiResult<impl IntoResponse> {
    let record = manage::webhooks::delivery(&state, &app_id, &webhook_id, &delivery_id).await?;
    Ok(ok(DeliveryView::from(record)))
}

/// Send a delivery again: queued at once with the same id (the receiver sees the same
/// `webhook-id`), whatever became of it before.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", tag = "webhooks",
    security(("bearer" = [])),
    params(("appId" = String, Path), ("webhookId" = String, Path), ("deliveryId" = String, Path)),
    responses((status = 202, description = "Queued; the delivery as it is now", body = Envelope<DeliveryView>),
              (status = 404, description = "App, webhook or delivery absent or not yours")))]
async fn redeliver(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, webhook_id, delivery_id)): Path<(String, String, String)>,
) -> ApiResult<impl IntoResponse> {
    let record = manage::webhooks::redeliver(&state, &owned.actor(ip), &app_id, &webhook_id, &delivery_id).await?;
    Ok((StatusCode::ACCEPTED, ok(DeliveryView::from(record))))
}

/// Send a `webhook.test` event now (to a disabled webhook too) and answer how the receiver
/// took it. The attempt shows in the delivery log and does not change the webhook's health.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/webhooks/{webhookId}/test", tag = "webhooks", security(("bearer" = [])),
    params(("appId" = String, Path), ("webhookId" = String, Path)),
    responses((status = 200, description = "`{statusCode, ok, deliveryId, error?}`: `statusCode` null when no answer came", body = Envelope<PingView>),
              (status = 404, description = "App or webhook absent or not yours")))]
async fn test_webhook(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, webhook_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let ping = manage::webhooks::test(&state, &owned.actor(ip), &app_id, &webhook_id).await?;
    Ok(ok(PingView { status_code: ping.status_code, ok: ping.ok, delivery_id: ping.delivery_id, error: ping.error }))
}
