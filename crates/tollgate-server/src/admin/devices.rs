//! Device licenses (Authly `device-auth`): licenses bound to one motherboard or processor id, with
//! no key and no account. Create, list, show, update, delete, ban/unban, pause/unpause, extend.
//!
//! The client protocols authenticate devices against them; only the seller makes them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tollgate_core::license as license_rules;
use tollgate_core::model::{DeviceLicense, DeviceType, LicenseStatus};
use tollgate_core::status::{self, StatusAction};
use tollgate_core::time::{now, rfc3339, serde_ts, Timestamp};
use tollgate_core::{ids, rules, validate};
use tollgate_store::DeviceLicensePatch;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::owned_app;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ok, ok_message, ok_page, ClientIp, PageQuery, SellerAuth, ValidJson, ValidQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_device, list_devices))
        .routes(routes!(get_device, update_device, delete_device))
        .routes(routes!(ban_device))
        .routes(routes!(unban_device))
        .routes(routes!(pause_device))
        .routes(routes!(unpause_device))
        .routes(routes!(extend_device))
}

/// The device license object of the admin API.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub id: String,
    pub device_type: DeviceType,
    pub device_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub level: i64,
    pub status: LicenseStatus,
    pub ban_reason: Option<String>,
    pub note: Option<String>,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts::option")]
    pub activated_at: Option<Timestamp>,
    #[serde(with = "serde_ts::option")]
    pub expires_at: Option<Timestamp>,
    #[serde(with = "serde_ts::option")]
    pub last_login: Option<Timestamp>,
    pub last_ip: Option<String>,
    pub hwid: Option<String>,
}

impl From<DeviceLicense> for DeviceView {
    fn from(d: DeviceLicense) -> Self {
        DeviceView {
            id: d.id,
            device_type: d.device_type,
            device_id: d.device_id,
            name: d.name,
            email: d.email,
            level: d.level,
            status: d.status,
            ban_reason: d.ban_reason,
            note: d.note,
            created_at: d.created_at,
            activated_at: d.activated_at,
            expires_at: d.expires_at,
            last_login: d.last_login,
            last_ip: d.last_ip,
            hwid: d.hwid,
        }
    }
}

fn one() -> i64 {
    1
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeviceBody {
    /// `motherboard` or `processor`.
    pub device_type: String,
    /// The hardware id the client reports: 1 to 256 printable characters.
    #[schema(min_length = 1, max_length = 256)]
    pub device_id: String,
    /// At most 100 characters.
    #[schema(max_length = 100)]
    pub name: Option<String>,
    pub email: Option<String>,
    /// 0 to 1000000 (default 1).
    #[schema(minimum = 0, maximum = 1_000_000)]
    #[serde(default = "one")]
    pub level: i64,
    /// 1 to 36500 days from now; absent or `null`: never expires.
    #[schema(minimum = 1, maximum = 36500)]
    pub days: Option<i64>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateDeviceBody {
    /// At most 100 characters; `null` or blank removes it.
    #[schema(max_length = 100)]
    #[serde(default, deserialize_with = "tollgate_core::settings::double_option")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// An email address, or `null` to remove it.
    #[serde(default, deserialize_with = "tollgate_core::settings::double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// 0 to 1000000.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub level: Option<i64>,
    /// At most 500 characters; `null` or blank removes it.
    #[schema(max_length = 500)]
    #[serde(default, deserialize_with = "tollgate_core::settings::double_option")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
pub struct DeviceBanBody {
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct DeviceExtendBody {
    /// 1 to 36500, added to the later of the current expiry and now.
    #[schema(minimum = 1, maximum = 36500)]
    pub days: i64,
}

/// Trimmed; blank is none.
fn name_field(name: Option<&str>) -> ApiResult<Option<String>> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) => Ok(Some(validate::text("name", n, rules::MAX_DEVICE_NAME_LEN)?)),
    }
}

/// Kept as written; empty is none.
fn note_field(note: Option<&str>) -> ApiResult<Option<String>> {
    match note.filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) => Ok(Some(validate::text("note", n, license_rules::MAX_NOTE_LEN)?)),
    }
}

async fn owned_device(state: &AppState, app_id: &str, id: &str) -> ApiResult<DeviceLicense> {
    state.store.get_device_license(app_id, id).await?.ok_or_else(|| ApiError::not_found("Device license"))
}

/// Apply a ban/unban/pause/unpause to a device license of one of the caller's apps.
async fn change_status(
    state: &AppState,
    auth: &SellerAuth,
    ip: std::net::IpAddr,
    app_id: &str,
    id: &str,
    action: StatusAction,
    reason: Option<String>,
) -> ApiResult<()> {
    owned_app(state, auth, app_id).await?;
    let mut device = owned_device(state, app_id, id).await?;
    let mut attempts = 0;
    // Written only if the status is still the one decided from; if another change came first,
    // decide again on what is stored now.
    while let Some(to) = status::device_next(&device, action).map_err(|r| ApiError::conflict(r.0))? {
        if state.store.set_device_license_status(app_id, id, device.status, to, reason.as_deref()).await?.is_some() {
            break;
        }
        attempts += 1;
        if attempts == status::ATTEMPTS {
            return Err(ApiError::conflict(status::CHANGED_CONCURRENTLY.0));
        }
        device = owned_device(state, app_id, id).await?;
    }
    let name = match action {
        StatusAction::Ban => "device.ban",
        StatusAction::Unban => "device.unban",
        StatusAction::Pause => "device.pause",
        StatusAction::Unpause => "device.unpause",
    };
    state.audit(&auth.seller_id, name, Some(app_id), Some(id), ip).await;
    Ok(())
}

/// Create a device license for one motherboard or processor id.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body = CreateDeviceBody,
    responses((status = 201, description = "The new device license, UNUSED"), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App not yours or absent"),
              (status = 409, description = "The app has a device license for that type and id")))]
async fn create_device(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
    ValidJson(body): ValidJson<CreateDeviceBody>,
) -> ApiResult<impl IntoResponse> {
    owned_app(&state, &auth, &app_id).await?;
    let device_type = rules::device_type("deviceType", &body.device_type)?;
    let device_id = rules::device_id("deviceId", &body.device_id)?;
    let name = name_field(body.name.as_deref())?;
    let email = body.email.as_deref().map(|e| validate::email("email", e)).transpose()?;
    let level = license_rules::level("level", body.level)?;
    let days = body.days.map(|d| license_rules::extend_days("days", d)).transpose()?;
    let note = note_field(body.note.as_deref())?;
    let t = now();
    let device = DeviceLicense {
        id: ids::new_id(ids::prefix::DEVICE),
        app_id: app_id.clone(),
        device_type,
        device_id,
        name,
        email,
        level,
        status: LicenseStatus::Unused,
        ban_reason: None,
        note,
        created_at: t,
        activated_at: None,
        expires_at: days.map(|d| t + Duration::days(d)),
        last_login: None,
        last_ip: None,
        hwid: None,
    };
    state.store.create_device_license(&device).await?;
    state.audit(&auth.seller_id, "device.create", Some(&app_id), Some(&device.id), ip).await;
    Ok((StatusCode::CREATED, ok(DeviceView::from(device))))
}

/// List the app's device licenses, newest first.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/devices", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("page" = Option<u32>, Query, description = "From 1 (default 1)"),
           ("limit" = Option<u32>, Query, description = "1 to 100 (default 20)")),
    responses((status = 200, description = "A page of device licenses with `pagination{page, limit, total}`"),
              (status = 400, description = "Invalid query parameter, named"), (status = 404, description = "App not yours or absent")))]
async fn list_devices(
    State(state): State<AppState>,
    auth: SellerAuth,
    Path(app_id): Path<String>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> ApiResult<impl IntoResponse> {
    owned_app(&state, &auth, &app_id).await?;
    let page = q.page()?;
    let found = state.store.list_device_licenses(&app_id, page).await?;
    let data: Vec<DeviceView> = found.items.into_iter().map(DeviceView::from).collect();
    Ok(ok_page(data, page, found.total))
}

/// Show one device license.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)),
    responses((status = 200, description = "The device license"), (status = 404, description = "App or device license absent or not yours")))]
async fn get_device(
    State(state): State<AppState>,
    auth: SellerAuth,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    owned_app(&state, &auth, &app_id).await?;
    Ok(ok(DeviceView::from(owned_device(&state, &app_id, &id).await?)))
}

/// Change a device license's name, email, level or note (`null` removes the text fields). Every
/// field is validated before anything is written.
#[utoipa::path(patch, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)), request_body = UpdateDeviceBody,
    responses((status = 200, description = "The updated device license"), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App or device license absent or not yours")))]
async fn update_device(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateDeviceBody>,
) -> ApiResult<impl IntoResponse> {
    owned_app(&state, &auth, &app_id).await?;
    let patch = DeviceLicensePatch {
        name: body.name.map(|n| name_field(n.as_deref())).transpose()?,
        email: match body.email {
            None => None,
            Some(None) => Some(None),
            Some(Some(e)) => Some(Some(validate::email("email", &e)?)),
        },
        level: body.level.map(|l| license_rules::level("level", l)).transpose()?,
        note: body.note.map(|n| note_field(n.as_deref())).transpose()?,
    };
    let device = state
        .store
        .update_device_license(&app_id, &id, &patch)
        .await?
        .ok_or_else(|| ApiError::not_found("Device license"))?;
    state.audit(&auth.seller_id, "device.update", Some(&app_id), Some(&id), ip).await;
    Ok(ok(DeviceView::from(device)))
}

/// Permanently delete a device license.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)),
    responses((status = 200, description = "Device license deleted"), (status = 404, description = "App or device license absent or not yours")))]
async fn delete_device(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    owned_app(&state, &auth, &app_id).await?;
    if !state.store.delete_device_license(&app_id, &id).await? {
        return Err(ApiError::not_found("Device license"));
    }
    state.audit(&auth.seller_id, "device.delete", Some(&app_id), Some(&id), ip).await;
    Ok(ok_message::<()>("Device license deleted", None))
}

/// Ban a device license: the device is refused with its reason.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}/ban", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)), request_body = DeviceBanBody,
    responses((status = 200, description = "Device license banned"), (status = 400, description = "Invalid reason"),
              (status = 404, description = "App or device license absent or not yours")))]
async fn ban_device(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
    ValidJson(body): ValidJson<DeviceBanBody>,
) -> ApiResult<impl IntoResponse> {
    let reason = license_rules::ban_reason("reason", body.reason.as_deref())?;
    change_status(&state, &auth, ip, &app_id, &id, StatusAction::Ban, reason).await?;
    Ok(ok_message::<()>("Device license banned", None))
}

/// Lift a ban: back to USED if the device has authenticated, else UNUSED.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}/unban", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)),
    responses((status = 200, description = "Device license unbanned"), (status = 404, description = "App or device license absent or not yours")))]
async fn unban_device(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    change_status(&state, &auth, ip, &app_id, &id, StatusAction::Unban, None).await?;
    Ok(ok_message::<()>("Device license unbanned", None))
}

/// Suspend a device license until it is unpaused.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}/pause", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)),
    responses((status = 200, description = "Device license paused"), (status = 404, description = "App or device license absent or not yours"),
              (status = 409, description = "The device license is banned")))]
async fn pause_device(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    change_status(&state, &auth, ip, &app_id, &id, StatusAction::Pause, None).await?;
    Ok(ok_message::<()>("Device license paused", None))
}

/// Resume a paused device license: back to USED if the device has authenticated, else UNUSED.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}/unpause", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)),
    responses((status = 200, description = "Device license unpaused"), (status = 404, description = "App or device license absent or not yours")))]
async fn unpause_device(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    change_status(&state, &auth, ip, &app_id, &id, StatusAction::Unpause, None).await?;
    Ok(ok_message::<()>("Device license unpaused", None))
}

/// Extend a device license by a number of days, counted from the later of its expiry and now. One
/// that never expires stays so.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}/extend", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)), request_body = DeviceExtendBody,
    responses((status = 200, description = "`data{expiresAt}`"), (status = 400, description = "Invalid days"),
              (status = 404, description = "App or device license absent or not yours")))]
async fn extend_device(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
    ValidJson(body): ValidJson<DeviceExtendBody>,
) -> ApiResult<impl IntoResponse> {
    owned_app(&state, &auth, &app_id).await?;
    let days = license_rules::extend_days("days", body.days)?;
    let device = state
        .store
        .extend_device_license(&app_id, &id, days, now())
        .await?
        .ok_or_else(|| ApiError::not_found("Device license"))?;
    state.audit(&auth.seller_id, "device.extend", Some(&app_id), Some(&id), ip).await;
    let expires_at = device.expires_at.as_ref().map(rfc3339);
    Ok(ok_message(&format!("Device license extended by {days} days"), Some(json!({ "expiresAt": expires_at }))))
}
