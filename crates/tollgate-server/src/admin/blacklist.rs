//! Blacklist: IP addresses or ranges, HWIDs, usernames and client ids refused by the app.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tollgate_core::model::{BlacklistEntry, BlacklistKind};
use tollgate_core::time::{serde_ts, Timestamp};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ClientIp, OwnedApp, ValidJson};
use crate::manage;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add_entry, list_entries)).routes(routes!(remove_entry))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlacklistView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: BlacklistKind,
    pub value: String,
    pub reason: Option<String>,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
}

impl From<BlacklistEntry> for BlacklistView {
    fn from(e: BlacklistEntry) -> Self {
        BlacklistView { id: e.id, kind: e.kind, value: e.value, reason: e.reason, created_at: e.created_at }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct AddBlacklistBody {
    /// `IP`, `HWID`, `USERNAME` or `CLIENT_ID`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For `IP`: an address or a CIDR range, stored as a canonical CIDR (`1.2.3.4/32`).
    pub value: String,
    pub reason: Option<String>,
}

/// Add a blacklist entry.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/blacklist", tag = "blacklist", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body = AddBlacklistBody,
    responses((status = 201, description = "The new entry, value normalised"), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App not yours or absent"), (status = 409, description = "Already blacklisted")))]
async fn add_entry(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
    ValidJson(body): ValidJson<AddBlacklistBody>,
) -> ApiResult<impl IntoResponse> {
    let by = owned.actor(ip);
    let entry = manage::blacklist::add(&state, &by, &app_id, &body.kind, &body.value, body.reason.as_deref()).await?;
    Ok((StatusCode::CREATED, ok(BlacklistView::from(entry))))
}

/// List the app's blacklist, oldest first.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/blacklist", tag = "blacklist", security(("bearer" = [])),
    params(("appId" = String, Path)),
    responses((status = 200, description = "Entries, oldest first"), (status = 404, description = "App not yours or absent")))]
async fn list_entries(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let entries = manage::blacklist::list(&state, &app_id).await?;
    Ok(ok(entries.into_iter().map(BlacklistView::from).collect::<Vec<_>>()))
}

/// Remove a blacklist entry.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/blacklist/{id}", tag = "blacklist", security(("bearer" = [])),
    params(("appId" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "Removed"), (status = 404, description = "App or entry absent or not yours")))]
async fn remove_entry(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::blacklist::remove(&state, &owned.actor(ip), &app_id, &id).await?;
    Ok(ok_message::<()>("Blacklist entry removed", None))
}
