//! Chat channels (Authly `chats/*`): create, list, show and delete channels, read their messages
//! newest first by cursor, and mute or unmute users per channel.
//!
//! Messages are written by the client protocols, never here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tollgate_core::model::{ChatChannel, ChatMessage, ChatMute};
use tollgate_core::time::{serde_ts, Timestamp};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ClientIp, OwnedApp, ValidJson, ValidQuery};
use crate::manage;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_channel, list_channels))
        .routes(routes!(get_channel, delete_channel))
        .routes(routes!(list_messages))
        .routes(routes!(mute_user, list_mutes))
        .routes(routes!(unmute_user))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    pub id: String,
    pub name: String,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
}

impl From<ChatChannel> for ChannelView {
    fn from(c: ChatChannel) -> Self {
        ChannelView { id: c.id, name: c.name, created_at: c.created_at }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    /// `null` once the author has been deleted; `username` stays.
    pub user_id: Option<String>,
    pub username: String,
    pub message: String,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
}

impl From<ChatMessage> for MessageView {
    fn from(m: ChatMessage) -> Self {
        MessageView { id: m.id, user_id: m.user_id, username: m.username, message: m.message, created_at: m.created_at }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MuteView {
    pub user_id: String,
    pub reason: Option<String>,
    /// `null`: muted until unmuted.
    #[serde(with = "serde_ts::option")]
    pub until: Option<Timestamp>,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
}

impl From<ChatMute> for MuteView {
    fn from(m: ChatMute) -> Self {
        MuteView { user_id: m.user_id, reason: m.reason, until: m.until, created_at: m.created_at }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateChannelBody {
    /// 1 to 64 printable characters, trimmed; unique in the app, case-sensitive.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MuteBody {
    /// A user of the app.
    pub user_id: String,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// RFC 3339 instant in the future; absent or `null` mutes until unmuted.
    pub until: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageListQuery {
    /// 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `pagination.nextCursor` of the previous page: the older messages after it. Opaque.
    pub cursor: Option<String>,
}

/// Create a chat channel.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/chats", tag = "chats", security(("bearer" = [])),
    params(("appId" = String, Path)), request_body = CreateChannelBody,
    responses((status = 201, description = "The new channel `{id, name, createdAt}`"), (status = 400, description = "Invalid name"),
              (status = 404, description = "App not yours or absent"), (status = 409, description = "The app has a channel of that name")))]
async fn create_channel(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
    ValidJson(body): ValidJson<CreateChannelBody>,
) -> ApiResult<impl IntoResponse> {
    let channel = manage::chats::create_channel(&state, &owned.actor(ip), &app_id, &body.name).await?;
    Ok((StatusCode::CREATED, ok(ChannelView::from(channel))))
}

/// List the app's chat channels, oldest first.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/chats", tag = "chats", security(("bearer" = [])),
    params(("appId" = String, Path)),
    responses((status = 200, description = "Channels, oldest first"), (status = 404, description = "App not yours or absent")))]
async fn list_channels(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let channels = manage::chats::list_channels(&state, &app_id).await?;
    Ok(ok(channels.into_iter().map(ChannelView::from).collect::<Vec<_>>()))
}

/// Show one chat channel.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/chats/{channelId}", tag = "chats", security(("bearer" = [])),
    params(("appId" = String, Path), ("channelId" = String, Path)),
    responses((status = 200, description = "The channel"), (status = 404, description = "App or channel absent or not yours")))]
async fn get_channel(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path((app_id, channel_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    Ok(ok(ChannelView::from(manage::chats::channel(&state, &app_id, &channel_id).await?)))
}

/// Delete a chat channel with its messages and mutes.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/chats/{channelId}", tag = "chats", security(("bearer" = [])),
    params(("appId" = String, Path), ("channelId" = String, Path)),
    responses((status = 200, description = "Channel deleted"), (status = 404, description = "App or channel absent or not yours")))]
async fn delete_channel(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, channel_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::chats::delete_channel(&state, &owned.actor(ip), &app_id, &channel_id).await?;
    Ok(ok_message::<()>("Channel deleted", None))
}

/// A channel's messages, newest first, walked by cursor.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/chats/{channelId}/messages", tag = "chats", security(("bearer" = [])),
    params(("appId" = String, Path), ("channelId" = String, Path), MessageListQuery),
    responses((status = 200, description = "`data[{id, userId, username, message, createdAt}]` and \
                `pagination{limit, nextCursor}`; `nextCursor` (null on the last page) asks for the next page as `?cursor=`"),
              (status = 400, description = "Invalid query parameter, named"),
              (status = 404, description = "App or channel absent or not yours")))]
async fn list_messages(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path((app_id, channel_id)): Path<(String, String)>,
    ValidQuery(q): ValidQuery<MessageListQuery>,
) -> ApiResult<impl IntoResponse> {
    let page = manage::chats::list_messages(&state, &app_id, &channel_id, q.cursor.as_deref(), q.limit).await?;
    let data: Vec<MessageView> = page.messages.into_iter().map(MessageView::from).collect();
    Ok(axum::Json(json!({
        "success": true,
        "data": data,
        "pagination": { "limit": page.limit, "nextCursor": page.next_cursor }
    })))
}

/// Mute a user in a channel, until an instant or until unmuted. Muting a muted user replaces the
/// mute.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/chats/{channelId}/mutes", tag = "chats", security(("bearer" = [])),
    params(("appId" = String, Path), ("channelId" = String, Path)), request_body = MuteBody,
    responses((status = 201, description = "The mute `{userId, reason, until, createdAt}`"),
              (status = 400, description = "Invalid field, named"),
              (status = 404, description = "App, channel or user absent or not yours")))]
async fn mute_user(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, channel_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<MuteBody>,
) -> ApiResult<impl IntoResponse> {
    let mute = manage::chats::mute(
        &state,
        &owned.actor(ip),
        &app_id,
        &channel_id,
        &body.user_id,
        body.reason.as_deref(),
        body.until.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, ok(MuteView::from(mute))))
}

/// The channel's mutes, oldest first; lapsed ones (past `until`) included until removed.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/chats/{channelId}/mutes", tag = "chats", security(("bearer" = [])),
    params(("appId" = String, Path), ("channelId" = String, Path)),
    responses((status = 200, description = "`[{userId, reason, until, createdAt}]`"),
              (status = 404, description = "App or channel absent or not yours")))]
async fn list_mutes(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path((app_id, channel_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let mutes = manage::chats::list_mutes(&state, &app_id, &channel_id).await?;
    Ok(ok(mutes.into_iter().map(MuteView::from).collect::<Vec<_>>()))
}

/// Unmute a user in a channel.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/chats/{channelId}/mutes/{userId}", tag = "chats", security(("bearer" = [])),
    params(("appId" = String, Path), ("channelId" = String, Path), ("userId" = String, Path)),
    responses((status = 200, description = "User unmuted"), (status = 404, description = "App, channel or mute absent or not yours")))]
async fn unmute_user(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, channel_id, user_id)): Path<(String, String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::chats::unmute(&state, &owned.actor(ip), &app_id, &channel_id, &user_id).await?;
    Ok(ok_message::<()>("User unmuted", None))
}
