//! App variables: create, list, update and delete, addressed by key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tollgate_core::model::AppVariable;
use tollgate_core::time::{serde_ts, Timestamp};
use tollgate_store::VariablePatch;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ClientIp, OwnedApp, ValidJson};
use crate::manage;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_variable, list_variables))
        .routes(routes!(update_variable, delete_variable))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableView {
    pub id: String,
    pub key: String,
    pub value: String,
    pub read_only: bool,
    pub auth_required: bool,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    pub updated_at: Timestamp,
}

impl From<AppVariable> for VariableView {
    fn from(v: AppVariable) -> Self {
        VariableView {
            id: v.id,
            key: v.key,
            value: v.value,
            read_only: v.read_only,
            auth_required: v.auth_required,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateVariableBody {
    /// 1-128 characters of `A-Z a-z 0-9 _ . -`.
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9_.-]+$")]
    pub key: String,
    /// At most 64 KiB.
    pub value: String,
    /// Clients may read but never write it (default false).
    #[serde(default)]
    pub read_only: bool,
    /// Only a signed-in client session may read it (default false).
    #[serde(default)]
    pub auth_required: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateVariableBody {
    pub value: Option<String>,
    pub read_only: Option<bool>,
    pub auth_required: Option<bool>,
}

/// Create an app variable.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/variables", tag = "variables", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body = CreateVariableBody,
    responses((status = 201, description = "The new variable"), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App not yours or absent"), (status = 409, description = "Key already used")))]
async fn create_variable(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
    ValidJson(body): ValidJson<CreateVariableBody>,
) -> ApiResult<impl IntoResponse> {
    let var = manage::variables::create(
        &state,
        &owned.actor(ip),
        &app_id,
        &body.key,
        body.value,
        body.read_only,
        body.auth_required,
    )
    .await?;
    Ok((StatusCode::CREATED, ok(VariableView::from(var))))
}

/// List the app's variables, sorted by key.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/variables", tag = "variables", security(("bearer" = [])),
    params(("appId" = String, Path)),
    responses((status = 200, description = "Variables sorted by key"), (status = 404, description = "App not yours or absent")))]
async fn list_variables(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let vars = manage::variables::list(&state, &app_id).await?;
    Ok(ok(vars.into_iter().map(VariableView::from).collect::<Vec<_>>()))
}

/// Change a variable's value or flags.
#[utoipa::path(patch, path = "/v1/admin/apps/{appId}/variables/{key}", tag = "variables", security(("bearer" = [])),
    params(("appId" = String, Path), ("key" = String, Path)), request_body = UpdateVariableBody,
    responses((status = 200, description = "The updated variable"), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App or variable absent or not yours")))]
async fn update_variable(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, key)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateVariableBody>,
) -> ApiResult<impl IntoResponse> {
    let patch = VariablePatch { value: body.value, read_only: body.read_only, auth_required: body.auth_required };
    let var = manage::variables::update(&state, &owned.actor(ip), &app_id, &key, patch).await?;
    Ok(ok(VariableView::from(var)))
}

/// Delete a variable.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/variables/{key}", tag = "variables", security(("bearer" = [])),
    params(("appId" = String, Path), ("key" = String, Path)),
    responses((status = 200, description = "Deleted"), (status = 404, description = "App or variable absent or not yours")))]
async fn delete_variable(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, key)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::variables::delete(&state, &owned.actor(ip), &app_id, &key).await?;
    Ok(ok_message::<()>("Variable deleted", None))
}
