//! Device licenses (Authly `device-auth`): licenses bound to one motherboard or processor id, with
//! no key and no account. Create, list, show, update, delete, ban/unban, pause/unpause, extend.
//!
//! The client protocols authenticate devices against them; only the seller makes them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tollgate_core::license as license_rules;
use tollgate_core::model::{DeviceLicense, DeviceType, LicenseStatus};
use tollgate_core::status::StatusAction;
use tollgate_core::time::{rfc3339, serde_ts, Timestamp};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ok_page, ClientIp, Envelope, OwnedApp, PageQuery, ValidJson, ValidQuery};
use crate::manage;
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
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub id: String,
    #[schema(value_type = String)]
    pub device_type: DeviceType,
    pub device_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub level: i64,
    #[schema(value_type = String)]
    pub status: LicenseStatus,
    pub ban_reason: Option<String>,
    pub note: Option<String>,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
    pub activated_at: Option<Timestamp>,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Timestamp>,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
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
    /// 1 to 36500 days from now; absent or `null` (and no `duration`): never expires.
    #[schema(minimum = 1, maximum = 36500)]
    pub days: Option<i64>,
    /// Instead of `days`: `<n>h` or `<n>d` from now, e.g. `12h`, `14d`.
    pub duration: Option<String>,
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

/// Create a device license for one motherboard or processor id.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body = CreateDeviceBody,
    responses((status = 201, description = "The new device license, UNUSED", body = Envelope<DeviceView>), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App not yours or absent"),
              (status = 409, description = "The app has a device license for that type and id")))]
async fn create_device(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
    ValidJson(body): ValidJson<CreateDeviceBody>,
) -> ApiResult<impl IntoResponse> {
    let new = manage::devices::NewDevice {
        device_type: body.device_type,
        device_id: body.device_id,
        name: body.name,
        email: body.email,
        level: body.level,
        days: body.days,
        duration: body.duration,
        note: body.note,
    };
    let device = manage::devices::create(&state, &owned.actor(ip), &app_id, new).await?;
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
    _owned: OwnedApp,
    Path(app_id): Path<String>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> ApiResult<impl IntoResponse> {
    let page = q.page()?;
    let found = state.store.list_device_licenses(&app_id, page).await?;
    let data: Vec<DeviceView> = found.items.into_iter().map(DeviceView::from).collect();
    Ok(ok_page(data, page, found.total))
}

/// Show one device license.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)),
    responses((status = 200, description = "The device license", body = Envelope<DeviceView>), (status = 404, description = "App or device license absent or not yours")))]
async fn get_device(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    Ok(ok(DeviceView::from(manage::devices::get(&state, &app_id, &id).await?)))
}

/// Change a device license's name, email, level or note (`null` removes the text fields). Every
/// field is validated before anything is written.
#[utoipa::path(patch, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)), request_body = UpdateDeviceBody,
    responses((status = 200, description = "The updated device license", body = Envelope<DeviceView>), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App or device license absent or not yours")))]
async fn update_device(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateDeviceBody>,
) -> ApiResult<impl IntoResponse> {
    let changes =
        manage::devices::DeviceChanges { name: body.name, email: body.email, level: body.level, note: body.note };
    let device = manage::devices::update(&state, &owned.actor(ip), &app_id, &id, changes).await?;
    Ok(ok(DeviceView::from(device)))
}

/// Permanently delete a device license.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)),
    responses((status = 200, description = "Device license deleted"), (status = 404, description = "App or device license absent or not yours")))]
async fn delete_device(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::devices::delete(&state, &owned.actor(ip), &app_id, &id).await?;
    Ok(ok_message::<()>("Device license deleted", None))
}

/// Ban a device license: the device is refused with its reason.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}/ban", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)), request_body = DeviceBanBody,
    responses((status = 200, description = "Device license banned"), (status = 400, description = "Invalid reason"),
              (status = 404, description = "App or device license absent or not yours")))]
async fn ban_device(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
    ValidJson(body): ValidJson<DeviceBanBody>,
) -> ApiResult<impl IntoResponse> {
    let reason = license_rules::ban_reason("reason", body.reason.as_deref())?;
    manage::devices::change_status(&state, &owned.actor(ip), &app_id, &id, StatusAction::Ban, reason).await?;
    Ok(ok_message::<()>("Device license banned", None))
}

/// Lift a ban: back to USED if the device has authenticated, else UNUSED.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}/unban", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)),
    responses((status = 200, description = "Device license unbanned"), (status = 404, description = "App or device license absent or not yours")))]
async fn unban_device(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::devices::change_status(&state, &owned.actor(ip), &app_id, &id, StatusAction::Unban, None).await?;
    Ok(ok_message::<()>("Device license unbanned", None))
}

/// Suspend a device license until it is unpaused.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}/pause", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)),
    responses((status = 200, description = "Device license paused"), (status = 404, description = "App or device license absent or not yours"),
              (status = 409, description = "The device license is banned")))]
async fn pause_device(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::devices::change_status(&state, &owned.actor(ip), &app_id, &id, StatusAction::Pause, None).await?;
    Ok(ok_message::<()>("Device license paused", None))
}

/// Resume a paused device license: back to USED if the device has authenticated, else UNUSED.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/devices/{deviceLicenseId}/unpause", tag = "devices", security(("bearer" = [])),
    params(("appId" = String, Path), ("deviceLicenseId" = String, Path)),
    responses((status = 200, description = "Device license unpaused"), (status = 404, description = "App or device license absent or not yours")))]
async fn unpause_device(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::devices::change_status(&state, &owned.actor(ip), &app_id, &id, StatusAction::Unpause, None).await?;
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
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, id)): Path<(String, String)>,
    ValidJson(body): ValidJson<DeviceExtendBody>,
) -> ApiResult<impl IntoResponse> {
    let (days, device) = manage::devices::extend(&state, &owned.actor(ip), &app_id, &id, body.days).await?;
    let expires_at = device.expires_at.as_ref().map(rfc3339);
    Ok(ok_message(&format!("Device license extended by {days} days"), Some(json!({ "expiresAt": expires_at }))))
}
