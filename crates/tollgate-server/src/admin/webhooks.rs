//! Webhook definitions: create (the signing secret is shown once), list, update, delete.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tollgate_core::model::Webhook;
use tollgate_core::time::{serde_ts, Timestamp};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ClientIp, OwnedApp, ValidJson};
use crate::manage;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_webhook, list_webhooks)).routes(routes!(update_webhook, delete_webhook))
}

/// A webhook as the admin API shows it; `secret` only in the answer to its creation.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
}

impl WebhookView {
    fn without_secret(w: Webhook) -> Self {
        WebhookView {
            id: w.id,
            url: w.url,
            events: w.events,
            enabled: w.enabled,
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
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateWebhookBody {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// Create a webhook; the answer carries its signing secret, shown this once.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body = CreateWebhookBody,
    responses((status = 201, description = "The new webhook with `secret` (`whsec_...`)"), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App not yours or absent")))]
async fn create_webhook(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
    ValidJson(body): ValidJson<CreateWebhookBody>,
) -> ApiResult<impl IntoResponse> {
    let hook = manage::webhooks::create(&state, &owned.actor(ip), &app_id, &body.url, &body.events).await?;
    let secret = Some(hook.secret.clone());
    Ok((StatusCode::CREATED, ok(WebhookView { secret, ..WebhookView::without_secret(hook) })))
}

/// List the app's webhooks (without secrets).
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("appId" = String, Path)),
    responses((status = 200, description = "Webhooks, secrets omitted"), (status = 404, description = "App not yours or absent")))]
async fn list_webhooks(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let hooks = manage::webhooks::list(&state, &app_id).await?;
    Ok(ok(hooks.into_iter().map(WebhookView::without_secret).collect::<Vec<_>>()))
}

/// Change a webhook's URL, events or whether it is enabled.
#[utoipa::path(patch, path = "/v1/admin/apps/{appId}/webhooks/{webhookId}", tag = "webhooks", security(("bearer" = [])),
    params(("appId" = String, Path), ("webhookId" = String, Path)), request_body = UpdateWebhookBody,
    responses((status = 200, description = "The updated webhook, secret omitted"), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App or webhook absent or not yours")))]
async fn update_webhook(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, webhook_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateWebhookBody>,
) -> ApiResult<impl IntoResponse> {
    let hook = manage::webhooks::update(
        &state,
        &owned.actor(ip),
        &app_id,
        &webhook_id,
        body.url.as_deref(),
        body.events.as_deref(),
        body.enabled,
    )
    .await?;
    Ok(ok(WebhookView::without_secret(hook)))
}

/// Delete a webhook.
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
