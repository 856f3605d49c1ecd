//! Chat channels: create, list, show and delete channels, read their messages newest first by
//! cursor, and mute or unmute users per channel. Messages are written by the client protocols,
//! never here.

use tollgate_core::license as license_rules;
use tollgate_core::model::{ChatChannel, ChatMessage, ChatMute};
use tollgate_core::time::{now, parse_rfc3339};
use tollgate_core::{ids, rules, DomainError};
use tollgate_store::MessageCursor;

use super::{audit, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// Messages per page unless the caller asks for another count (Authly's default for
/// `chats/get`).
pub const DEFAULT_MESSAGE_LIMIT: u32 = 50;
/// The opaque cursor of a message listing (see [`crate::extract::encode_cursor`]).
pub fn encode_message_cursor(c: &MessageCursor) -> String {
    crate::extract::encode_cursor(&c.created_at, &c.id)
}

/// `None` for anything [`encode_message_cursor`] could not have made.
pub fn decode_message_cursor(text: &str) -> Option<MessageCursor> {
    crate::extract::decode_cursor(text).map(|(created_at, id)| MessageCursor { created_at, id })
}

/// The app's channel `channel_id`, or not found.
pub async fn channel(state: &AppState, app_id: &str, channel_id: &str) -> ManageResult<ChatChannel> {
    state.store.get_channel(app_id, channel_id).await?.ok_or(ManageError::NotFound("Channel"))
}

/// Create a channel named `name` (checked and trimmed).
pub async fn create_channel(state: &AppState, by: &Actor, app_id: &str, name: &str) -> ManageResult<ChatChannel> {
    let channel = ChatChannel {
        id: ids::new_id(ids::prefix::CHANNEL),
        app_id: app_id.to_owned(),
        name: rules::channel_name("name", name)?,
        created_at: now(),
    };
    state.store.create_channel(&channel).await?;
    audit(state, by, "chat.channel.create", Some(app_id), Some(&channel.id)).await;
    Ok(channel)
}

/// The app's channels, oldest first.
pub async fn list_channels(state: &AppState, app_id: &str) -> ManageResult<Vec<ChatChannel>> {
    Ok(state.store.list_channels(app_id).await?)
}

/// Delete a channel with its messages and mutes.
pub async fn delete_channel(state: &AppState, by: &Actor, app_id: &str, channel_id: &str) -> ManageResult<()> {
    if !state.store.delete_channel(app_id, channel_id).await? {
        return Err(ManageError::NotFound("Channel"));
    }
    audit(state, by, "chat.channel.delete", Some(app_id), Some(channel_id)).await;
    Ok(())
}

/// One page of a channel's messages, newest first.
#[derive(Debug)]
pub struct MessagePage {
    pub messages: Vec<ChatMessage>,
    /// The page size used.
    pub limit: u32,
    /// Asks for the older messages after this page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A page of the channel's messages, newest first, after `cursor` (a blank one is no cursor)
/// and at most `limit` long ([`DEFAULT_MESSAGE_LIMIT`] when absent).
pub async fn list_messages(
    state: &AppState,
    app_id: &str,
    channel_id: &str,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> ManageResult<MessagePage> {
    let after = match cursor.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(decode_message_cursor(c).ok_or_else(|| {
            DomainError::validation("cursor", "is not a cursor of this listing (use pagination.nextCursor)")
        })?),
    };
    channel(state, app_id, channel_id).await?;
    let limit = crate::extract::page_limit(limit, DEFAULT_MESSAGE_LIMIT)?;
    // One more than asked tells whether a next page exists, so the last page says so.
    let mut messages = state.store.list_messages(app_id, channel_id, after.as_ref(), limit + 1).await?;
    let next_cursor = if messages.len() > limit as usize {
        messages.truncate(limit as usize);
        messages.last().map(|m| encode_message_cursor(&MessageCursor { created_at: m.created_at, id: m.id.clone() }))
    } else {
        None
    };
    Ok(MessagePage { messages, limit, next_cursor })
}

/// Mute the app's user `user_id` in a channel, until `until` (RFC 3339, in the future) or until
/// unmuted. Muting a muted user replaces the mute.
pub async fn mute(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    channel_id: &str,
    user_id: &str,
    reason: Option<&str>,
    until: Option<&str>,
) -> ManageResult<ChatMute> {
    let reason = license_rules::ban_reason("reason", reason)?;
    let t = now();
    let until = match until {
        None => None,
        Some(s) => {
            let until = parse_rfc3339(s.trim())
                .ok_or_else(|| DomainError::validation("until", "must be an RFC 3339 timestamp"))?;
            if until <= t {
                return Err(DomainError::validation("until", "must be in the future").into());
            }
            Some(until)
        }
    };
    channel(state, app_id, channel_id).await?;
    let user = state.store.get_user(app_id, user_id).await?.ok_or(ManageError::NotFound("User"))?;
    let mute = ChatMute {
        app_id: app_id.to_owned(),
        channel_id: channel_id.to_owned(),
        user_id: user.id,
        reason,
        until,
        created_at: t,
    };
    state.store.mute_user(&mute).await?;
    audit(state, by, "chat.mute", Some(app_id), Some(&mute.user_id)).await;
    Ok(mute)
}

/// The channel's mutes, oldest first; lapsed ones (past `until`) included until removed.
pub async fn list_mutes(state: &AppState, app_id: &str, channel_id: &str) -> ManageResult<Vec<ChatMute>> {
    channel(state, app_id, channel_id).await?;
    Ok(state.store.list_mutes(app_id, channel_id).await?)
}

/// Unmute a user in a channel.
pub async fn unmute(state: &AppState, by: &Actor, app_id: &str, channel_id: &str, user_id: &str) -> ManageResult<()> {
    channel(state, app_id, channel_id).await?;
    if !state.store.unmute_user(app_id, channel_id, user_id).await? {
        return Err(ManageError::NotFound("Mute"));
    }
    audit(state, by, "chat.unmute", Some(app_id), Some(user_id)).await;
    Ok(())
}
