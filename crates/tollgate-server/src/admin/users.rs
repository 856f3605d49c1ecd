//! End users of an app: list and search, show, update, delete, ban/unban, pause/unpause, reset
//! the bound device, extend the subscription, and their per-user variables.
//!
//! End users are created by the client protocols (register, license login), never here.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tollgate_core::model::{User, UserStatus, UserVariable};
use tollgate_core::status::StatusAction;
use tollgate_core::time::{rfc3339, serde_ts, Timestamp};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ok_page, ClientIp, Envelope, OwnedApp, PageQuery, ValidJson, ValidQuery};
use crate::manage;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(ban_user))
        .routes(routes!(unban_user))
        .routes(routes!(pause_user))
        .routes(routes!(unpause_user))
        .routes(routes!(reset_hwid))
        .routes(routes!(extend_user))
        .routes(routes!(list_user_variables))
        .routes(routes!(delete_user_variable))
}

/// The user object of the admin API. Never carries the password hash.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    /// The first bound device, as Authon v1's `hwid`.
    pub hwid: Option<String>,
    pub devices: Vec<String>,
    pub ip: Option<String>,
    pub level: i64,
    #[schema(value_type = String)]
    pub status: UserStatus,
    pub ban_reason: Option<String>,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
    pub last_login: Option<Timestamp>,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Timestamp>,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// The note on the account (a client may give one when it creates the account).
    pub note: Option<String>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            email: u.email,
            hwid: u.devices.first().cloned(),
            devices: u.devices,
            ip: u.last_ip,
            level: u.level,
            status: u.status,
            ban_reason: u.ban_reason,
            last_login: u.last_login,
            expires_at: u.expires_at,
            created_at: u.created_at,
            note: u.note,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserVariableView {
    pub key: String,
    pub value: String,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

impl From<UserVariable> for UserVariableView {
    fn from(v: UserVariable) -> Self {
        UserVariableView { key: v.key, value: v.value, updated_at: v.updated_at }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Part of the username or the email (case-insensitive).
    pub search: Option<String>,
    /// `ACTIVE`, `BANNED` or `PAUSED`.
    pub status: Option<String>,
    /// From 1 (default 1).
    #[param(minimum = 1, maximum = 1_000_000_000)]
    pub page: Option<u32>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateUserBody {
    /// 0 to 1000000.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub level: Option<i64>,
    /// An email address, or `null` to remove it.
    #[serde(default, deserialize_with = "tollgate_core::settings::double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// A new password (1 to 1024 characters).
    #[schema(min_length = 1, max_length = 1024)]
    pub password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct UserBanBody {
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ExtendBody {
    /// 1 to 36500, added to the later of the current expiry and now.
    #[schema(minimum = 1, maximum = 36500)]
    pub days: i64,
}

/// List the app's users, newest first, with a search over username and email.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/users", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), UserListQuery),
    responses((status = 200, description = "A page of users with `pagination{page, limit, total}`"),
              (status = 400, description = "Invalid query parameter, named"), (status = 404, description = "App not yours or absent")))]
async fn list_users(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path(app_id): Path<String>,
    ValidQuery(q): ValidQuery<UserListQuery>,
) -> ApiResult<impl IntoResponse> {
    let filter = manage::users::user_filter(q.status.as_deref(), q.search.as_deref())?;
    let page = PageQuery { page: q.page, limit: q.limit }.page()?;
    let found = manage::users::list(&state, &app_id, &filter, page).await?;
    let data: Vec<UserView> = found.items.into_iter().map(UserView::from).collect();
    Ok(ok_page(data, page, found.total))
}

/// Show one user.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/users/{userId}", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path)),
    responses((status = 200, description = "The user", body = Envelope<UserView>), (status = 404, description = "App or user absent or not yours")))]
async fn get_user(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    Ok(ok(UserView::from(manage::users::get(&state, &app_id, &user_id).await?)))
}

/// Change a user's level, email (`null` removes it) or password. Every field is validated before
/// anything is written.
#[utoipa::path(patch, path = "/v1/admin/apps/{appId}/users/{userId}", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path)), request_body = UpdateUserBody,
    responses((status = 200, description = "The updated user", body = Envelope<UserView>), (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App or user absent or not yours")))]
async fn update_user(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, user_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UpdateUserBody>,
) -> ApiResult<impl IntoResponse> {
    let changes = manage::users::UserChanges { level: body.level, email: body.email, password: body.password };
    let user = manage::users::update(&state, &owned.actor(ip), &app_id, &user_id, changes).await?;
    Ok(ok(UserView::from(user)))
}

/// Permanently delete a user with their sessions and variables.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/users/{userId}", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path)),
    responses((status = 200, description = "User deleted"), (status = 404, description = "App or user absent or not yours")))]
async fn delete_user(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::users::delete(&state, &owned.actor(ip), &app_id, &user_id).await?;
    Ok(ok_message::<()>("User deleted", None))
}

/// Ban a user and end all their sessions.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/users/{userId}/ban", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path)), request_body = UserBanBody,
    responses((status = 200, description = "User banned"), (status = 400, description = "Invalid reason"),
              (status = 404, description = "App or user absent or not yours")))]
async fn ban_user(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, user_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<UserBanBody>,
) -> ApiResult<impl IntoResponse> {
    manage::users::ban(&state, &owned.actor(ip), &app_id, &user_id, body.reason.as_deref()).await?;
    Ok(ok_message::<()>("User banned", None))
}

/// Lift a user's ban.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/users/{userId}/unban", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path)),
    responses((status = 200, description = "User unbanned"), (status = 404, description = "App or user absent or not yours")))]
async fn unban_user(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::users::change_status(&state, &owned.actor(ip), &app_id, &user_id, StatusAction::Unban, None).await?;
    Ok(ok_message::<()>("User unbanned", None))
}

/// Suspend a user and end all their sessions until they are unpaused.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/users/{userId}/pause", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path)),
    responses((status = 200, description = "User paused"), (status = 404, description = "App or user absent or not yours"),
              (status = 409, description = "The user is banned")))]
async fn pause_user(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::users::change_status(&state, &owned.actor(ip), &app_id, &user_id, StatusAction::Pause, None).await?;
    Ok(ok_message::<()>("User paused", None))
}

/// Resume a paused user.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/users/{userId}/unpause", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path)),
    responses((status = 200, description = "User unpaused"), (status = 404, description = "App or user absent or not yours")))]
async fn unpause_user(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::users::change_status(&state, &owned.actor(ip), &app_id, &user_id, StatusAction::Unpause, None).await?;
    Ok(ok_message::<()>("User unpaused", None))
}

/// Forget a user's bound devices so they can log in from a new machine (idempotent).
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/users/{userId}/reset-hwid", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path)),
    responses((status = 200, description = "HWID reset"), (status = 404, description = "App or user absent or not yours")))]
async fn reset_hwid(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::users::reset_devices(&state, &owned.actor(ip), &app_id, &user_id).await?;
    Ok(ok_message::<()>("HWID reset", None))
}

/// Extend a user's subscription by a number of days, counted from the later of the current
/// expiry and now. A user whose subscription never ends keeps no expiry.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/users/{userId}/extend", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path)), request_body = ExtendBody,
    responses((status = 200, description = "`data{expiresAt}`"), (status = 400, description = "Invalid days"),
              (status = 404, description = "App or user absent or not yours")))]
async fn extend_user(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, user_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<ExtendBody>,
) -> ApiResult<impl IntoResponse> {
    let (days, user) = manage::users::extend(&state, &owned.actor(ip), &app_id, &user_id, body.days).await?;
    let expires_at = user.expires_at.as_ref().map(rfc3339);
    Ok(ok_message(&format!("Subscription extended by {days} days"), Some(json!({ "expiresAt": expires_at }))))
}

/// A user's own variables (written by the client), sorted by key.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/users/{userId}/variables", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path)),
    responses((status = 200, description = "`[{key, value, updatedAt}]`", body = Envelope<Vec<UserVariableView>>), (status = 404, description = "App or user absent or not yours")))]
async fn list_user_variables(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let vars = manage::users::variables(&state, &app_id, &user_id).await?;
    Ok(ok(vars.into_iter().map(UserVariableView::from).collect::<Vec<_>>()))
}

/// Delete one of a user's variables.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/users/{userId}/variables/{key}", tag = "users", security(("bearer" = [])),
    params(("appId" = String, Path), ("userId" = String, Path), ("key" = String, Path)),
    responses((status = 200, description = "Variable deleted"), (status = 404, description = "App, user or variable absent or not yours")))]
async fn delete_user_variable(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, user_id, key)): Path<(String, String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::users::delete_variable(&state, &owned.actor(ip), &app_id, &user_id, &key).await?;
    Ok(ok_message::<()>("Variable deleted", None))
}
