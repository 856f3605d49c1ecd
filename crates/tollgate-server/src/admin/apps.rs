//! Apps: create, list, show, update settings, delete, regenerate the API key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tollgate_core::ids;
use tollgate_core::model::{App, AppCounts, AppStatus};
use tollgate_core::settings::{validate_app_name, validate_version, AppPatch, AppSettings};
use tollgate_core::time::{now, serde_ts, Timestamp};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::owned_app;
use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ClientIp, SellerAuth, ValidJson};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_app, list_apps))
        .routes(routes!(get_app, update_app, delete_app))
        .routes(routes!(regenerate_key))
}

/// The app object of the admin API: identity, keys, and every setting in camelCase.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppView {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub api_key: String,
    pub ws_key: String,
    pub version: String,
    pub status: AppStatus,
    #[serde(flatten)]
    pub settings: AppSettings,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    pub updated_at: Timestamp,
}

impl From<&App> for AppView {
    fn from(a: &App) -> Self {
        AppView {
            id: a.id.clone(),
            name: a.name.clone(),
            owner_id: a.owner_id.clone(),
            api_key: a.api_key.clone(),
            ws_key: a.ws_key.clone(),
            version: a.version.clone(),
            status: a.status,
            settings: a.settings.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// The app object, with the server's public key: what the seller pins in the app's SDK.
fn app_json(state: &AppState, a: &App, counts: Option<&AppCounts>) -> Value {
    let mut v = serde_json::to_value(AppView::from(a)).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        let signer = state.signer.get();
        obj.insert("publicKeyPem".into(), json!(signer.public_key_pem()));
        obj.insert("signatureKid".into(), json!(signer.kid()));
        if let Some(c) = counts {
            obj.insert("_count".into(), json!({ "appUsers": c.users, "licenses": c.licenses }));
        }
    }
    v
}

#[derive(Deserialize, ToSchema)]
pub struct CreateAppBody {
    /// 1 to 64 printable characters, trimmed; unique among your apps, case-sensitive.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Defaults to 1.0.0.
    pub version: Option<String>,
}

/// Build a new app for `owner_id` (also used by `tollgate app create`).
pub async fn create(state: &AppState, owner_id: &str, name: &str, version: Option<&str>) -> ApiResult<App> {
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
    Ok(app)
}

/// Create an application.
#[utoipa::path(post, path = "/v1/admin/apps", tag = "apps", request_body = CreateAppBody, security(("bearer" = [])),
    responses((status = 201, description = "The new app with its keys"), (status = 409, description = "Name already used")))]
async fn create_app(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<CreateAppBody>,
) -> ApiResult<impl IntoResponse> {
    let app = create(&state, &auth.seller_id, &body.name, body.version.as_deref()).await?;
    state.audit(&auth.seller_id, "app.create", Some(&app.id), Some(&app.id), ip).await;
    Ok((StatusCode::CREATED, ok(app_json(&state, &app, None))))
}

/// List your applications with user and license counts.
#[utoipa::path(get, path = "/v1/admin/apps", tag = "apps", security(("bearer" = [])),
    responses((status = 200, description = "Apps with `_count{appUsers, licenses}`")))]
async fn list_apps(State(state): State<AppState>, auth: SellerAuth) -> ApiResult<impl IntoResponse> {
    let apps = state.store.list_apps(&auth.seller_id).await?;
    let data: Vec<Value> = apps.iter().map(|(a, c)| app_json(&state, a, Some(c))).collect();
    Ok(ok(data))
}

/// Show an application with all its settings.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}", tag = "apps", security(("bearer" = [])),
    params(("appId" = String, Path)), responses((status = 200, description = "The app"), (status = 404, description = "Not yours or absent")))]
async fn get_app(
    State(state): State<AppState>,
    auth: SellerAuth,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let app = owned_app(&state, &auth, &app_id).await?;
    Ok(ok(app_json(&state, &app, None)))
}

/// Update name, version, status and any setting; every field is validated before anything is written.
#[utoipa::path(patch, path = "/v1/admin/apps/{appId}", tag = "apps", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body(content = Object, description = "Any of: name, version, status, hashCheck, hashes, ipWhitelist, blockVpn, blockedCountries, versionControl{enabled, autoUpdate, downloadUrl, forceUpdate, changelog, rules[{version, mode, message, allowedUntil}]}, sessionQuota, accountsQuota, hwidLock, allowPasswordChange, levelNames"),
    responses((status = 200, description = "The updated app"), (status = 400, description = "Invalid field, named"), (status = 404, description = "Not yours or absent")))]
async fn update_app(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
    ValidJson(patch): ValidJson<AppPatch>,
) -> ApiResult<impl IntoResponse> {
    let app = owned_app(&state, &auth, &app_id).await?;
    let mut next = patch.apply(&app)?;
    next.updated_at = now();
    if !state.store.update_app(&next).await? {
        return Err(crate::error::ApiError::not_found("Resource"));
    }
    state.invalidate_app(&app.id).await;
    state.audit(&auth.seller_id, "app.update", Some(&app.id), Some(&app.id), ip).await;
    Ok(ok(app_json(&state, &next, None)))
}

/// Delete an application and all its data.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}", tag = "apps", security(("bearer" = [])),
    params(("appId" = String, Path)), responses((status = 200, description = "Deleted"), (status = 404, description = "Not yours or absent")))]
async fn delete_app(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    if !state.store.delete_app(&auth.seller_id, &app_id).await? {
        return Err(crate::error::ApiError::not_found("Application"));
    }
    state.invalidate_app(&app_id).await;
    // The rows are gone; now the encrypted blobs. A failure leaves orphaned ciphertext only.
    if let Err(e) = crate::files::FileVault::from_state(&state).remove_app(&app_id).await {
        tracing::warn!(error = %e, app_id, "could not remove the deleted app's files");
    }
    state.audit(&auth.seller_id, "app.delete", None, Some(&app_id), ip).await;
    Ok(ok_message::<()>("Application deleted", None))
}

/// Issue a new API key; the old one stops working at once.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/regenerate-key", tag = "apps", security(("bearer" = [])),
    params(("appId" = String, Path)), responses((status = 200, description = "`{apiKey}`"), (status = 404, description = "Not yours or absent")))]
async fn regenerate_key(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let mut app = owned_app(&state, &auth, &app_id).await?;
    app.api_key = ids::new_api_key();
    app.updated_at = now();
    if !state.store.update_app(&app).await? {
        return Err(crate::error::ApiError::not_found("Resource"));
    }
    state.invalidate_app(&app.id).await;
    state.audit(&auth.seller_id, "app.regenerate_key", Some(&app.id), Some(&app.id), ip).await;
    Ok(ok(json!({ "apiKey": app.api_key })))
}
