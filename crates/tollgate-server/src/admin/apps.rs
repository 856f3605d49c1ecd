//! Apps: create, list, show, update settings, delete, regenerate the API key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tollgate_core::model::{App, AppCounts, AppStatus};
use tollgate_core::settings::{AppPatch, AppSettings};
use tollgate_core::time::{serde_ts, Timestamp};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ClientIp, OwnedApp, SellerAuth, ValidJson};
use crate::manage;
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

/// The body of `PATCH /v1/admin/apps/{appId}` as the OpenAPI document shows it: every field
/// optional, `null` clears a nullable one. The handler reads it as [`AppPatch`] (the core type
/// that validates and applies it); a test keeps the two in step.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct AppSettingsPatch {
    /// 1 to 64 printable characters, trimmed; unique among your apps.
    #[schema(min_length = 1, max_length = 64)]
    pub name: Option<String>,
    /// 1 to 8 dot-separated numbers, e.g. `1.3` or `2.0.1`.
    pub version: Option<String>,
    /// `ACTIVE`, `DISABLED` or `PAUSED`.
    pub status: Option<String>,
    /// Refuse clients whose file hash is not in `hashes`.
    pub hash_check: Option<bool>,
    /// SHA-256 digests, 64 hex characters each.
    pub hashes: Option<Vec<String>>,
    /// Addresses or CIDR ranges; when not empty only these may connect.
    pub ip_whitelist: Option<Vec<String>>,
    /// Refuse VPN and proxy connections.
    pub block_vpn: Option<bool>,
    /// ISO 3166-1 alpha-2 country codes to refuse.
    pub blocked_countries: Option<Vec<String>>,
    pub version_control: Option<VersionControlPatch>,
    /// Live sessions allowed at once; `null` for no limit.
    #[schema(minimum = 1)]
    pub session_quota: Option<Option<u32>>,
    /// Accounts allowed in the app; `null` for no limit.
    #[schema(minimum = 1)]
    pub accounts_quota: Option<Option<u32>>,
    /// Bind a user to the first device they sign in from.
    pub hwid_lock: Option<bool>,
    /// Let users change their own password.
    pub allow_password_change: Option<bool>,
    /// Accounts can only be created with a license: Blazeauth's create account without one is
    /// refused (status 204). Off by default.
    pub accounts_require_license: Option<bool>,
    /// Lifetime in seconds of the offline license files issued to clients (`license_file` /
    /// `/api/v2/license-file`), and the default of the admin route: 3600 (one hour) to
    /// 31536000 (one year), default 604800 (seven days).
    #[schema(minimum = 3600, maximum = 31_536_000)]
    pub license_file_ttl: Option<i64>,
    /// Level number (as text) to subscription name.
    pub level_names: Option<std::collections::BTreeMap<String, String>>,
    /// Credits a reseller pays per key, by duration (`{"30d": 5, "lifetime": 20}`): whole
    /// numbers 0 to 1000000000. Replaces every price; a duration not listed costs 1.
    pub reseller_prices: Option<std::collections::BTreeMap<String, i64>>,
}

/// `versionControl` of the app settings: the update notice and the per-version rules.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct VersionControlPatch {
    pub enabled: Option<bool>,
    pub auto_update: Option<bool>,
    /// `null` removes it.
    pub download_url: Option<Option<String>>,
    pub force_update: Option<bool>,
    /// `null` removes it.
    pub changelog: Option<Option<String>>,
    pub rules: Option<Vec<VersionRulePatch>>,
}

/// One rule of `versionControl.rules`: what a client of `version` is told.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct VersionRulePatch {
    pub version: String,
    /// `ALLOW`, `REMIND` or `GRACE`.
    pub mode: String,
    pub message: Option<String>,
    /// RFC 3339; for `GRACE`, when the version stops being accepted.
    pub allowed_until: Option<String>,
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
    let by = manage::Actor::seller(&auth.seller_id, ip);
    let app = manage::apps::create(&state, &by, &auth.seller_id, &body.name, body.version.as_deref()).await?;
    Ok((StatusCode::CREATED, ok(app_json(&state, &app, None))))
}

/// List your applications with user and license counts.
#[utoipa::path(get, path = "/v1/admin/apps", tag = "apps", security(("bearer" = [])),
    responses((status = 200, description = "Apps with `_count{appUsers, licenses}`")))]
async fn list_apps(State(state): State<AppState>, auth: SellerAuth) -> ApiResult<impl IntoResponse> {
    let apps = manage::apps::list(&state, &auth.seller_id).await?;
    let data: Vec<Value> = apps.iter().map(|(a, c)| app_json(&state, a, Some(c))).collect();
    Ok(ok(data))
}

/// Show an application with all its settings.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}", tag = "apps", security(("bearer" = [])),
    params(("appId" = String, Path)), responses((status = 200, description = "The app"), (status = 404, description = "Not yours or absent")))]
async fn get_app(
    State(state): State<AppState>,
    owned: OwnedApp,
    Path(_app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let app = owned.app;
    Ok(ok(app_json(&state, &app, None)))
}

/// Update name, version, status and any setting; every field is validated before anything is written.
#[utoipa::path(patch, path = "/v1/admin/apps/{appId}", tag = "apps", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body = AppSettingsPatch,
    responses((status = 200, description = "The updated app"), (status = 400, description = "Invalid field, named"), (status = 404, description = "Not yours or absent"),
              (status = 409, description = "Another of your apps has this name")))]
async fn update_app(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(_app_id): Path<String>,
    ValidJson(patch): ValidJson<AppPatch>,
) -> ApiResult<impl IntoResponse> {
    let app = manage::apps::update(&state, &owned.actor(ip), &owned.app, patch).await?;
    Ok(ok(app_json(&state, &app, None)))
}

/// Delete an application and all its data.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}", tag = "apps", security(("bearer" = [])),
    params(("appId" = String, Path)), responses((status = 200, description = "Deleted"), (status = 404, description = "Not yours or absent")))]
async fn delete_app(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
) -> ApiResult<impl IntoResponse> {
    manage::apps::delete(&state, &owned.actor(ip), &owned.seller_id, owned.id()).await?;
    Ok(ok_message::<()>("Application deleted", None))
}

/// Issue a new API key; the old one stops working at once.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/regenerate-key", tag = "apps", security(("bearer" = [])),
    params(("appId" = String, Path)), responses((status = 200, description = "`{apiKey}`"), (status = 404, description = "Not yours or absent")))]
async fn regenerate_key(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(_app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let app = manage::apps::regenerate_key(&state, &owned.actor(ip), &owned.app).await?;
    Ok(ok(json!({ "apiKey": app.api_key })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented settings body and the one the handler reads name the same fields.
    #[test]
    fn the_documented_settings_body_is_the_one_read() {
        let body = serde_json::json!({
            "name": "A", "version": "1.0", "status": "ACTIVE", "hashCheck": true, "hashes": [],
            "ipWhitelist": [], "blockVpn": false, "blockedCountries": ["DE"],
            "versionControl": { "enabled": true, "autoUpdate": false, "downloadUrl": null, "forceUpdate": false,
                "changelog": null, "rules": [{ "version": "1.0", "mode": "GRACE", "message": "m",
                "allowedUntil": "2030-01-01T00:00:00Z" }] },
            "sessionQuota": null, "accountsQuota": 5, "hwidLock": true, "allowPasswordChange": true,
            "accountsRequireLicense": false, "licenseFileTtl": 86400,
            "levelNames": { "1": "Basic" }, "resellerPrices": { "30d": 5 }
        });
        let documented: AppSettingsPatch = serde_json::from_value(body.clone()).unwrap();
        let read: AppPatch = serde_json::from_value(body.clone()).unwrap();
        assert!(documented.version_control.is_some() && read.version_control.is_some());
        let schema = serde_json::to_value(<AppSettingsPatch as utoipa::PartialSchema>::schema()).unwrap();
        let mut names: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        let mut given: Vec<&String> = body.as_object().unwrap().keys().collect();
        names.sort();
        given.sort();
        assert_eq!(names, given);
    }
}
