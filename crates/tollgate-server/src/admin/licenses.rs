//! Licenses: generate in batches, list and search, show (by id or by key), edit, extend,
//! delete, ban/unban, pause/unpause, and forget bound devices.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tollgate_core::license::{self as rules, LicenseChanges, LicenseSpec};
use tollgate_core::model::{Creator, License, LicenseStatus};
use tollgate_core::status::StatusAction;
use tollgate_core::time::{serde_ts, Timestamp};
use tollgate_core::DurationType;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ok, ok_message, ok_page_cursor, ClientIp, Envelope, OwnedApp, PageQuery, ValidJson, ValidQuery};
use crate::manage;
use crate::manage::licenses::ExtendBy;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate_licenses, list_licenses))
        .routes(routes!(get_license, delete_license, update_license))
        .routes(routes!(license_by_key))
        .routes(routes!(extend_license))
        .routes(routes!(ban_license))
        .routes(routes!(unban_license))
        .routes(routes!(pause_license))
        .routes(routes!(unpause_license))
        .routes(routes!(reset_devices))
        .routes(routes!(issue_license_file))
}

#[derive(Serialize, ToSchema)]
pub struct CreatorView {
    /// `seller` or `reseller`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
}

/// The license object of the admin API.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseView {
    pub id: String,
    pub key: String,
    #[schema(value_type = String)]
    pub status: LicenseStatus,
    /// `<n>h`, `<n>d` or `lifetime`, as it was generated (or extended while unused).
    #[schema(value_type = String)]
    pub duration_type: DurationType,
    pub level: i64,
    pub max_devices: i64,
    pub note: Option<String>,
    pub prefix: Option<String>,
    pub app_id: String,
    pub created_by: CreatorView,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
    pub activated_at: Option<Timestamp>,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Timestamp>,
    pub user_id: Option<String>,
    pub devices: Vec<String>,
    pub ban_reason: Option<String>,
}

impl From<License> for LicenseView {
    fn from(l: License) -> Self {
        let created_by = match l.created_by {
            Creator::Seller(id) => CreatorView { kind: "seller", id },
            Creator::Reseller(id) => CreatorView { kind: "reseller", id },
        };
        LicenseView {
            id: l.id,
            key: l.key,
            status: l.status,
            duration_type: l.duration,
            level: l.level,
            max_devices: l.max_devices,
            note: l.note,
            prefix: l.prefix,
            app_id: l.app_id,
            created_by,
            created_at: l.created_at,
            activated_at: l.activated_at,
            expires_at: l.expires_at,
            user_id: l.user_id,
            devices: l.devices,
            ban_reason: l.ban_reason,
        }
    }
}

fn one() -> i64 {
    1
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateBody {
    /// 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub count: i64,
    /// `<n>h` (1 to 876000 hours), `<n>d` (1 to 36500 days) or `lifetime`, e.g. `1h`, `12h`,
    /// `1d`, `14d`, `30d`, `365d`; the clock starts at first use. Answered as written.
    pub duration_type: String,
    /// 0 to 1000000 (default 1).
    #[schema(minimum = 0, maximum = 1_000_000)]
    #[serde(default = "one")]
    pub level: i64,
    /// 1 to 1000 (default 1).
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(default = "one")]
    pub max_devices: i64,
    /// Keys look like `PREFIX-XXXX-XXXX-XXXX` (1-16 letters, digits or `_`; stored and used in
    /// upper case). Random characters are `A-Z` and `2-9` without `O`, `I` and `L`.
    #[schema(min_length = 1, max_length = 16, pattern = "^[A-Za-z0-9_]+$")]
    pub prefix: Option<String>,
    /// A whole key shape in upper case, e.g. `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX` (each `X` a random
    /// character of `A-Z` and `2-9` without `O`, `I` and `L`; at least 12).
    pub mask: Option<String>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LicenseListQuery {
    /// `UNUSED`, `USED`, `BANNED`, `PAUSED` or `EXPIRED`.
    pub status: Option<String>,
    /// The beginning of the key or the note (case-insensitive); a whole key finds that license.
    pub search: Option<String>,
    /// From 1 (default 1). Ignored with `cursor`.
    #[param(minimum = 1, maximum = 1_000_000_000)]
    pub page: Option<u32>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `pagination.nextCursor` of the previous page, with the same `status` and `search`: the
    /// page after it. Opaque; unlike `page`, as fast at the millionth license as at the first.
    pub cursor: Option<String>,
}

/// The body of `PATCH /v1/admin/apps/{appId}/licenses/{licenseId}`: every field optional.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateLicenseBody {
    /// At most 500 characters; `null` or blank removes it.
    #[serde(default, deserialize_with = "tollgate_core::settings::double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub note: Option<Option<String>>,
    /// 0 to 1000000.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub level: Option<i64>,
    /// 1 to 1000. Below the devices already bound, those stay bound and no new one binds.
    #[schema(minimum = 1, maximum = 1000)]
    pub max_devices: Option<i64>,
}

/// The body of an extension: `days` or `duration`, exactly one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseExtendBody {
    /// 1 to 36500 days.
    #[schema(minimum = 1, maximum = 36500)]
    pub days: Option<i64>,
    /// Instead of `days`: `<n>h` or `<n>d`, e.g. `12h`, `14d`.
    pub duration: Option<String>,
}

/// The user a license is registered to, after an extension moved their expiry with it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtendedUserView {
    pub id: String,
    /// `null`: the subscription never ends.
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Timestamp>,
}

/// A license after an extension: the license object, and its user.
#[derive(Serialize, ToSchema)]
pub struct ExtendedLicenseView {
    #[serde(flatten)]
    pub license: LicenseView,
    /// The user the license is registered to, whose expiry moved too; `null` when none.
    pub user: Option<ExtendedUserView>,
}

#[derive(Deserialize, ToSchema)]
pub struct LicenseBanBody {
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// The body of a license file request: every field optional, and no body at all is `{}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseFileBody {
    /// The file's lifetime in seconds: 3600 (one hour) to 31536000 (one year). Defaults to the
    /// app's `licenseFileTtl`.
    #[schema(minimum = 3600, maximum = 31_536_000)]
    pub ttl: Option<i64>,
}

/// A signed offline license file and what it says on its outside.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseFileView {
    /// The armoured file (`-----BEGIN TOLLGATE LICENSE FILE-----` ...), to hand to the client
    /// as it is; docs/license-files.md says how a client checks it.
    pub license_file: String,
    /// When it was issued (RFC 3339 UTC, milliseconds).
    pub issued: String,
    /// When it stops being valid: `issued` + `ttl`.
    pub expiry: String,
    /// Its lifetime in seconds.
    pub ttl: i64,
    /// The id of the server key that signed it (`tollgate keys show`).
    pub kid: String,
}

impl From<manage::licenses::IssuedFile> for LicenseFileView {
    fn from(f: manage::licenses::IssuedFile) -> Self {
        LicenseFileView {
            license_file: f.text,
            issued: f.payload.issued,
            expiry: f.payload.expiry,
            ttl: f.payload.ttl,
            kid: f.kid,
        }
    }
}

/// Generate license keys in bulk (up to 100 at a time).
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/licenses", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body = GenerateBody,
    responses((status = 201, description = "The new licenses, all UNUSED", body = Envelope<Vec<LicenseView>>), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App not yours or absent")))]
async fn generate_licenses(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
    ValidJson(body): ValidJson<GenerateBody>,
) -> ApiResult<impl IntoResponse> {
    let count = rules::batch_count("count", body.count, rules::ADMIN_MAX_BATCH)?;
    let spec = LicenseSpec {
        duration: rules::parse_duration("durationType", &body.duration_type)?,
        level: body.level,
        max_devices: body.max_devices,
        prefix: body.prefix,
        mask: body.mask,
        note: body.note,
    };
    let creator = Creator::Seller(owned.seller_id.clone());
    let licenses = manage::licenses::generate(&state, &owned.actor(ip), &app_id, &spec, creator, count).await?;
    let data: Vec<LicenseView> = licenses.into_iter().map(LicenseView::from).collect();
    Ok((StatusCode::CREATED, ok(data)))
}

/// List licenses, newest first, with a status filter and a search over key and note; by page
/// number, or by cursor (`pagination.nextCursor` of the previous page) for deep listings.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/licenses", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), LicenseListQuery),
    responses((status = 200, description = "A page of licenses with `pagination{page, limit, total, totalCapped, nextCursor}`; \
                `nextCursor` (null after the last page) asks for the next page as `?cursor=`; a search counts at most \
                10,000 matches: past that `total` is 10000 and `totalCapped` true"),
              (status = 400, description = "Invalid query parameter, named"), (status = 404, description = "App not yours or absent")))]
async fn list_licenses(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path(app_id): Path<String>,
    ValidQuery(q): ValidQuery<LicenseListQuery>,
) -> ApiResult<impl IntoResponse> {
    let query = manage::licenses::ListQuery {
        status: q.status.as_deref(),
        search: q.search.as_deref(),
        cursor: q.cursor.as_deref(),
    };
    let filter = query.filter()?;
    let page = PageQuery { page: q.page, limit: q.limit }.page()?;
    let found = manage::licenses::list(&state, &app_id, &filter, page, false).await?;
    let data: Vec<LicenseView> = found.items.into_iter().map(LicenseView::from).collect();
    Ok(ok_page_cursor(data, page, found.total, found.total_capped, found.next_cursor))
}

/// Show one license.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/licenses/{licenseId}", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("licenseId" = String, Path)),
    responses((status = 200, description = "The license", body = Envelope<LicenseView>), (status = 404, description = "App or license absent or not yours")))]
async fn get_license(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path((app_id, license_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let license = manage::licenses::get(&state, &app_id, &license_id).await?;
    Ok(ok(LicenseView::from(license)))
}

/// Find a license by its key, whatever its case (`abcd-...` finds `ABCD-...`).
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/licenses/by-key/{key}", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("key" = String, Path, description = "The license key, in any case")),
    responses((status = 200, description = "The license", body = Envelope<LicenseView>),
              (status = 404, description = "App absent or not yours, or no license of the app has this key")))]
async fn license_by_key(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path((app_id, key)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let license = manage::licenses::by_key(&state, &app_id, &key).await?;
    Ok(ok(LicenseView::from(license)))
}

/// Change a license's note, level or device limit; every field is validated before anything
/// is written.
#[utoipa::path(patch, path = "/v1/admin/apps/{appId}/licenses/{licenseId}", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("licenseId" = String, Path)), request_body = UpdateLicenseBody,
    responses((status = 200, description = "The updated license", body = Envelope<LicenseView>),
              (status = 400, description = "Invalid or unknown field, named"),
              (status = 404, description = "App or license absent or not yours")))]
async fn update_license(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, license_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateLicenseBody>,
) -> ApiResult<impl IntoResponse> {
    let changes = LicenseChanges { note: body.note, level: body.level, max_devices: body.max_devices };
    let license = manage::licenses::update(&state, &owned.actor(ip), &app_id, &license_id, changes).await?;
    Ok(ok(LicenseView::from(license)))
}

/// Extend a license by `days` or a `duration`. A used key's expiry moves to the later of its
/// expiry and now, plus the span (an expired key is usable again); an unused key's duration
/// grows (its clock starts at first use); the user the key is registered to gets the same span
/// on their expiry. Concurrent extensions each count.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/licenses/{licenseId}/extend", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("licenseId" = String, Path)), request_body = LicenseExtendBody,
    responses((status = 200, description = "License extended: the license after it, with `user`", body = Envelope<ExtendedLicenseView>),
              (status = 400, description = "Invalid field, named (neither or both of days and duration; past 100 years)"),
              (status = 404, description = "App or license absent or not yours"),
              (status = 409, description = "A lifetime license cannot be extended")))]
async fn extend_license(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, license_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<LicenseExtendBody>,
) -> ApiResult<impl IntoResponse> {
    let amount = match (body.days, body.duration) {
        (Some(days), None) => ExtendBy::Days(days),
        (None, Some(duration)) => ExtendBy::Duration(duration),
        _ => return Err(ApiError::validation("days", "give either days or duration")),
    };
    let done = manage::licenses::extend(&state, &owned.actor(ip), &app_id, &license_id, amount).await?;
    let span = match done.by {
        DurationType::Hours(n) => format!("{n} hours"),
        DurationType::Days(n) => format!("{n} days"),
        DurationType::Lifetime => "lifetime".to_owned(),
    };
    let view = ExtendedLicenseView {
        license: LicenseView::from(done.license),
        user: done.user.map(|u| ExtendedUserView { id: u.id, expires_at: u.expires_at }),
    };
    Ok(ok_message(&format!("License extended by {span}"), Some(view)))
}

/// Permanently delete a license key.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/licenses/{licenseId}", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("licenseId" = String, Path)),
    responses((status = 200, description = "License deleted"), (status = 404, description = "App or license absent or not yours")))]
async fn delete_license(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, license_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::licenses::delete(&state, &owned.actor(ip), &app_id, &license_id).await?;
    Ok(ok_message::<()>("License deleted", None))
}

/// Ban a license key: any further use is refused with its reason.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/licenses/{licenseId}/ban", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("licenseId" = String, Path)), request_body = LicenseBanBody,
    responses((status = 200, description = "License banned"), (status = 400, description = "Invalid reason"),
              (status = 404, description = "App or license absent or not yours")))]
async fn ban_license(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, license_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<LicenseBanBody>,
) -> ApiResult<impl IntoResponse> {
    let reason = rules::ban_reason("reason", body.reason.as_deref())?;
    manage::licenses::change_status(&state, &owned.actor(ip), &app_id, &license_id, StatusAction::Ban, reason).await?;
    Ok(ok_message::<()>("License banned", None))
}

/// Lift a ban: the key goes back to USED if it was ever activated, else UNUSED.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/licenses/{licenseId}/unban", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("licenseId" = String, Path)),
    responses((status = 200, description = "License unbanned"), (status = 404, description = "App or license absent or not yours")))]
async fn unban_license(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, license_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::licenses::change_status(&state, &owned.actor(ip), &app_id, &license_id, StatusAction::Unban, None).await?;
    Ok(ok_message::<()>("License unbanned", None))
}

/// Suspend a license key until it is unpaused.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/licenses/{licenseId}/pause", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("licenseId" = String, Path)),
    responses((status = 200, description = "License paused"), (status = 404, description = "App or license absent or not yours"),
              (status = 409, description = "The license is banned")))]
async fn pause_license(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, license_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::licenses::change_status(&state, &owned.actor(ip), &app_id, &license_id, StatusAction::Pause, None).await?;
    Ok(ok_message::<()>("License paused", None))
}

/// Resume a paused license key: back to USED if it was ever activated, else UNUSED.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/licenses/{licenseId}/unpause", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("licenseId" = String, Path)),
    responses((status = 200, description = "License unpaused"), (status = 404, description = "App or license absent or not yours")))]
async fn unpause_license(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, license_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::licenses::change_status(&state, &owned.actor(ip), &app_id, &license_id, StatusAction::Unpause, None)
        .await?;
    Ok(ok_message::<()>("License unpaused", None))
}

/// Forget the devices a license is bound to, so it can be used on a new machine.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/licenses/{licenseId}/reset-devices", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("licenseId" = String, Path)),
    responses((status = 200, description = "Devices reset"), (status = 404, description = "App or license absent or not yours")))]
async fn reset_devices(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, license_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::licenses::reset_devices(&state, &owned.actor(ip), &app_id, &license_id).await?;
    Ok(ok_message::<()>("Devices reset", None))
}

/// Issue a signed offline license file for an activated license: the license's level, end
/// and bound machines (for a license an account holds, the account's), valid `ttl` seconds.
/// A client checks it with the server's public key and no network.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/licenses/{licenseId}/license-file", tag = "licenses", security(("bearer" = [])),
    params(("appId" = String, Path), ("licenseId" = String, Path)), request_body = LicenseFileBody,
    responses((status = 200, description = "The signed file", body = Envelope<LicenseFileView>),
              (status = 400, description = "Invalid field, named (`ttl` out of range)"),
              (status = 404, description = "App or license absent or not yours"),
              (status = 409, description = "The license is UNUSED, banned, paused or expired, or its account is banned, paused or expired")))]
async fn issue_license_file(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((_app_id, license_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<LicenseFileBody>,
) -> ApiResult<impl IntoResponse> {
    let issued = manage::licenses::issue_file(&state, &owned.actor(ip), &owned.app, &license_id, body.ttl).await?;
    Ok(ok(LicenseFileView::from(issued)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_store::LicenseCursor;

    #[test]
    fn license_cursors_round_trip() {
        let c = LicenseCursor {
            created_at: tollgate_core::time::from_millis(1_795_436_877_924),
            id: "lic_0c0ven812s0aes4sox1y".into(),
        };
        assert_eq!(manage::licenses::decode_cursor(&manage::licenses::encode_cursor(&c)), Some(c));
        assert_eq!(manage::licenses::decode_cursor("not base64!"), None);
    }
}
