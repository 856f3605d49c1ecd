//! Chat channels (Authly `chats/*`): create, list, show and delete channels, read their messages
//! newest first by cursor, and mute or unmute users per channel.
//!
//! Messages are written by the client protocols, never here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tollgate_core::license as license_rules;
use tollgate_core::model::{ChatChannel, ChatMessage, ChatMute};
use tollgate_core::time::{from_millis, now, parse_rfc3339, serde_ts, to_millis, Timestamp};
use tollgate_core::{ids, rules};
use tollgate_store::MessageCursor;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ok, ok_message, ClientIp, OwnedApp, ValidJson, ValidQuery};
use crate::state::AppState;

/// Messages per page unless `limit` says otherwise (Authly's default for `chats/get`).
pub const DEFAULT_MESSAGE_LIMIT: u32 = 50;
/// Longer than any cursor this API hands out (a timestamp and an id, base64url).
const MAX_CURSOR_LEN: usize = 200;

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

/// The opaque cursor of a message listing: base64url (no padding) of `<created_at_ms>:<id>`.
pub fn encode_message_cursor(c: &MessageCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", to_millis(&c.created_at), c.id))
}

/// `None` for anything [`encode_message_cursor`] could not have made.
pub fn decode_message_cursor(text: &str) -> Option<MessageCursor> {
    if text.len() > MAX_CURSOR_LEN {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (ms, id) = text.split_once(':')?;
    let ms: i64 = ms.parse().ok()?;
    let created_at = from_millis(ms);
    // `from_millis` maps what chrono cannot represent to the epoch: refuse instead.
    if to_millis(&created_at) != ms || id.is_empty() || id.chars().any(char::is_control) {
        return None;
    }
    Some(MessageCursor { created_at, id: id.to_owned() })
}

async fn owned_channel(state: &AppState, app_id: &str, channel_id: &str) -> ApiResult<ChatChannel> {
    state.store.get_channel(app_id, channel_id).await?.ok_or_else(|| ApiError::not_found("Channel"))
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
    let channel = ChatChannel {
        id: ids::new_id(ids::prefix::CHANNEL),
        app_id: app_id.clone(),
        name: rules::channel_name("name", &body.name)?,
        created_at: now(),
    };
    state.store.create_channel(&channel).await?;
    state.audit(&owned.seller_id, "chat.channel.create", Some(&app_id), Some(&channel.id), ip).await;
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
    let channels = state.store.list_channels(&app_id).await?;
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
    Ok(ok(ChannelView::from(owned_channel(&state, &app_id, &channel_id).await?)))
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
    if !state.store.delete_channel(&app_id, &channel_id).await? {
        return Err(ApiError::not_found("Channel"));
    }
    state.audit(&owned.seller_id, "chat.channel.delete", Some(&app_id), Some(&channel_id), ip).await;
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
    let after = match q.cursor.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(decode_message_cursor(c).ok_or_else(|| {
            ApiError::validation("cursor", "is not a cursor of this listing (use pagination.nextCursor)")
        })?),
    };
    owned_channel(&state, &app_id, &channel_id).await?;
    let limit = crate::extract::page_limit(q.limit, DEFAULT_MESSAGE_LIMIT)?;
    // One more than asked tells whether a next page exists, so the last page says so.
    let mut found = state.store.list_messages(&app_id, &channel_id, after.as_ref(), limit + 1).await?;
    let next_cursor = if found.len() > limit as usize {
        found.truncate(limit as usize);
        found.last().map(|m| encode_message_cursor(&MessageCursor { created_at: m.created_at, id: m.id.clone() }))
    } else {
        None
    };
    let data: Vec<MessageView> = found.into_iter().map(MessageView::from).collect();
    Ok(axum::Json(json!({
        "success": true,
        "data": data,
        "pagination": { "limit": limit, "nextCursor": next_cursor }
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
    let reason = license_rules::ban_reason("reason", body.reason.as_deref())?;
    let t = now();
    let until = match body.until.as_deref() {
        None => None,
        Some(s) => {
            let until = parse_rfc3339(s.trim())
                .ok_or_else(|| ApiError::validation("until", "must be an RFC 3339 timestamp"))?;
            if until <= t {
                return Err(ApiError::validation("until", "must be in the future"));
            }
            Some(until)
        }
    };
    owned_channel(&state, &app_id, &channel_id).await?;
    let user = state.store.get_user(&app_id, &body.user_id).await?.ok_or_else(|| ApiError::not_found("User"))?;
    let mute = ChatMute { app_id: app_id.clone(), channel_id, user_id: user.id, reason, until, created_at: t };
    state.store.mute_user(&mute).await?;
    state.audit(&owned.seller_id, "chat.mute", Some(&app_id), Some(&mute.user_id), ip).await;
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
    owned_channel(&state, &app_id, &channel_id).await?;
    let mutes = state.store.list_mutes(&app_id, &channel_id).await?;
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
    owned_channel(&state, &app_id, &channel_id).await?;
    if !state.store.unmute_user(&app_id, &channel_id, &user_id).await? {
        return Err(ApiError::not_found("Mute"));
    }
    state.audit(&owned.seller_id, "chat.unmute", Some(&app_id), Some(&user_id), ip).await;
    Ok(ok_message::<()>("User unmuted", None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let c = MessageCursor { created_at: from_millis(1_795_436_877_924), id: "msg_0c0ven812s0aes4sox1y".into() };
        let text = encode_message_cursor(&c);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
        assert_eq!(decode_message_cursor(&text), Some(c.clone()));
        assert_eq!(decode_message_cursor(&format!("{text}==")), Some(c), "padding is tolerated");
        for bad in [
            "",
            "not base64!",
            &URL_SAFE_NO_PAD.encode("no-colon"),
            &URL_SAFE_NO_PAD.encode("abc:msg_x"),
            &URL_SAFE_NO_PAD.encode("123:"),
            &URL_SAFE_NO_PAD.encode("99999999999999999:msg_x"),
            &URL_SAFE_NO_PAD.encode("1:msg\nx"),
            &"A".repeat(MAX_CURSOR_LEN + 4),
        ] {
            assert_eq!(decode_message_cursor(bad), None, "{bad:?}");
        }
    }
}
