//! Resellers of an app: create, list, change password or balance, delete. Passwords are stored
//! as argon2id hashes and never returned.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tollgate_core::model::Reseller;
use tollgate_core::time::{serde_ts, Timestamp};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ClientIp, Envelope, OwnedApp, ValidJson};
use crate::manage;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_reseller, list_resellers))
        .routes(routes!(update_reseller, delete_reseller))
}

/// A reseller as the admin API shows it: never the password hash.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResellerView {
    pub id: String,
    pub username: String,
    pub balance: i64,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

impl From<Reseller> for ResellerView {
    fn from(r: Reseller) -> Self {
        ResellerView { id: r.id, username: r.username, balance: r.balance, created_at: r.created_at }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateResellerBody {
    pub username: String,
    /// 8 characters or more.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    /// Credits, 0 to 1,000,000,000 (default 0).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    #[serde(default)]
    pub balance: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateResellerBody {
    pub password: Option<String>,
    /// The new balance (set, not added).
    pub balance: Option<i64>,
}

/// Create a reseller for the app.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/resellers", tag = "resellers", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body = CreateResellerBody,
    responses((status = 201, description = "The new reseller", body = Envelope<ResellerView>), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App not yours or absent"), (status = 409, description = "Username already used in this app")))]
async fn create_reseller(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
    ValidJson(body): ValidJson<CreateResellerBody>,
) -> ApiResult<impl IntoResponse> {
    let reseller =
        manage::resellers::create(&state, &owned.actor(ip), &app_id, &body.username, body.password, body.balance)
            .await?;
    Ok((StatusCode::CREATED, ok(ResellerView::from(reseller))))
}

/// List the app's resellers.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/resellers", tag = "resellers", security(("bearer" = [])),
    params(("appId" = String, Path)),
    responses((status = 200, description = "Resellers with their balances", body = Envelope<Vec<ResellerView>>), (status = 404, description = "App not yours or absent")))]
async fn list_resellers(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let resellers = manage::resellers::list(&state, &app_id).await?;
    Ok(ok(resellers.into_iter().map(ResellerView::from).collect::<Vec<_>>()))
}

/// Change a reseller's password or set their balance.
#[utoipa::path(patch, path = "/v1/admin/apps/{appId}/resellers/{resellerId}", tag = "resellers", security(("bearer" = [])),
    params(("appId" = String, Path), ("resellerId" = String, Path)), request_body = UpdateResellerBody,
    responses((status = 200, description = "The updated reseller", body = Envelope<ResellerView>), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App or reseller absent or not yours")))]
async fn update_reseller(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, reseller_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateResellerBody>,
) -> ApiResult<impl IntoResponse> {
    let reseller =
        manage::resellers::update(&state, &owned.actor(ip), &app_id, &reseller_id, body.password, body.balance).await?;
    Ok(ok(ResellerView::from(reseller)))
}

/// Delete a reseller.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/resellers/{resellerId}", tag = "resellers", security(("bearer" = [])),
    params(("appId" = String, Path), ("resellerId" = String, Path)),
    responses((status = 200, description = "Deleted"), (status = 404, description = "App or reseller absent or not yours")))]
async fn delete_reseller(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, reseller_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::resellers::delete(&state, &owned.actor(ip), &app_id, &reseller_id).await?;
    Ok(ok_message::<()>("Reseller deleted", None))
}
