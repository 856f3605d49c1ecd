//! Session-scoped data: variables, logs, session checks, blacklist checks, device licenses,
//! chats.

use std::net::IpAddr;

use tollgate_core::ids::{self, prefix};
use tollgate_core::model::{
    AppVariable, BlacklistKind, ChatChannel, ChatMessage, DeviceLicense, LogEntry, UserVariable,
};
use tollgate_core::time::{now, Timestamp};
use tollgate_core::{redeem, rules, validate, DomainError};
use tollgate_store::MessageCursor;

use super::{blacklisted, ip_blacklisted, store_err, Live};
use crate::state::AppState;

/// A variable as clients read it: the app's, or the signed-in user's own.
pub enum Variable {
    App(AppVariable),
    User(UserVariable),
}

impl Variable {
    pub fn key(&self) -> &str {
        match self {
            Variable::App(v) => &v.key,
            Variable::User(v) => &v.key,
        }
    }
    pub fn value(&self) -> &str {
        match self {
            Variable::App(v) => &v.value,
            Variable::User(v) => &v.value,
        }
    }
    pub fn updated_at(&self) -> Timestamp {
        match self {
            Variable::App(v) => v.updated_at,
            Variable::User(v) => v.updated_at,
        }
    }
}

/// The app variable of that key (one marked `authRequired` only for a signed-in session), else
/// the session user's own variable.
pub async fn get_variable(state: &AppState, live: &Live, key: &str) -> Result<Variable, DomainError> {
    let key = rules::variable_key("var_key", key)?;
    let app_id = &live.app.app.id;
    let store = state.store.as_ref();
    if let Some(var) = store.get_variable(app_id, &key).await.map_err(store_err)? {
        // A key login signs a session in as much as an account login does.
        let signed_in = live.session.user_id.is_some() || live.session.license_id.is_some();
        if var.auth_required && !signed_in {
            return Err(DomainError::LoginRequired);
        }
        return Ok(Variable::App(var));
    }
    if let Some(user_id) = &live.session.user_id {
        if let Some(var) = store.get_user_variable(app_id, user_id, &key).await.map_err(store_err)? {
            return Ok(Variable::User(var));
        }
    }
    Err(DomainError::VariableNotFound)
}

/// Write the session user's own variable. A key that names an app variable is refused whatever
/// its flags: a client never overwrites (or shadows) an app variable.
pub async fn set_variable(state: &AppState, live: &Live, key: &str, value: &str) -> Result<UserVariable, DomainError> {
    let key = rules::variable_key("var_key", key)?;
    rules::variable_value("var_value", value)?;
    let user_id = live.session.user_id.clone().ok_or(DomainError::UsernameNotLinked)?;
    let app_id = &live.app.app.id;
    let store = state.store.as_ref();
    if store.get_variable(app_id, &key).await.map_err(store_err)?.is_some() {
        return Err(DomainError::VariableReadOnly);
    }
    let var = UserVariable { app_id: app_id.clone(), user_id, key, value: value.to_owned(), updated_at: now() };
    store.set_user_variable(&var).await.map_err(store_err)?;
    Ok(var)
}

/// A client log line, into the seller's log list.
pub async fn log(state: &AppState, live: &Live, ip: IpAddr, message: &str) -> Result<(), DomainError> {
    let message = validate::nonempty_text("message", message, 4000)?;
    let store = state.store.as_ref();
    let app_id = &live.app.app.id;
    let username = match &live.session.user_id {
        Some(id) => store.get_user(app_id, id).await.map_err(store_err)?.map(|u| u.username),
        None => None,
    };
    let entry = LogEntry {
        id: ids::new_id(prefix::LOG),
        app_id: app_id.clone(),
        user_id: live.session.user_id.clone(),
        username,
        message,
        ip: Some(ip.to_string()),
        hwid: live.session.hwid.clone(),
        created_at: now(),
    };
    store.append_log(&entry).await.map_err(store_err)
}

/// How stale `last_seen` may get before a heartbeat writes it again: a client that validates its
/// session every second should not cost a database write every second.
const HEARTBEAT_GRANULARITY: chrono::Duration = chrono::Duration::seconds(30);

/// A heartbeat: the session is live (the caller checked), record that it was seen.
pub async fn touch(state: &AppState, live: &Live) -> Result<(), DomainError> {
    let s = &live.session;
    let at = now();
    if at - s.last_seen >= HEARTBEAT_GRANULARITY {
        state.store.touch_session(&s.app_id, &s.id, at, None).await.map_err(store_err)?;
    }
    Ok(())
}

/// What `blacklist/check` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlacklistStatus {
    pub hwid: bool,
    pub ip: bool,
}

/// Whether the session's device (or the one the client names) or the caller's address is on
/// the app's blacklist.
pub fn blacklist_check(live: &Live, ip: IpAddr, hwid: Option<&str>) -> BlacklistStatus {
    let hwid = hwid.map(str::trim).filter(|h| !h.is_empty()).or(live.session.hwid.as_deref());
    let session_ip = live.session.ip.as_deref().and_then(|i| i.parse::<IpAddr>().ok());
    BlacklistStatus {
        hwid: hwid.is_some_and(|h| blacklisted(&live.app, BlacklistKind::Hwid, h).is_some()),
        ip: ip_blacklisted(&live.app, ip) || session_ip.is_some_and(|i| ip_blacklisted(&live.app, i)),
    }
}

/// Device authentication with a motherboard or processor id.
pub async fn device_auth(
    state: &AppState,
    live: &Live,
    ip: IpAddr,
    device_type: &str,
    device_id: &str,
) -> Result<DeviceLicense, DomainError> {
    // The same rule as the admin API's, with its own error for a wrong type.
    let device_type = rules::device_type("device_type", device_type).map_err(|_| DomainError::InvalidDeviceType)?;
    let device_id = rules::device_id("device_id", device_id)?;
    let app_id = &live.app.app.id;
    let store = state.store.as_ref();
    let found = store.device_license_by_device(app_id, device_type, &device_id).await.map_err(store_err)?;
    let at = now();
    let device = redeem::check_device_license(device_type, found.as_ref(), at)?;
    let ip_text = ip.to_string();
    let updated = store
        .record_device_login(app_id, &device.id, Some(&ip_text), Some(&device_id), at)
        .await
        .map_err(store_err)?
        .ok_or(DomainError::DeviceNotFound(device_type))?;
    Ok(updated)
}

/// The channel a chat request names; without a name, the app's first channel.
async fn channel(state: &AppState, live: &Live, name: Option<&str>) -> Result<ChatChannel, DomainError> {
    let app_id = &live.app.app.id;
    let store = state.store.as_ref();
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => store.channel_by_name(app_id, name).await.map_err(store_err)?.ok_or(DomainError::ChannelNotFound),
        None => {
            store.list_channels(app_id).await.map_err(store_err)?.into_iter().next().ok_or(DomainError::ChannelNotFound)
        }
    }
}

/// Post a message as the session's user, unless muted in that channel.
pub async fn chat_send(
    state: &AppState,
    live: &Live,
    channel_name: Option<&str>,
    message: &str,
) -> Result<ChatMessage, DomainError> {
    let user_id = live.session.user_id.clone().ok_or(DomainError::UsernameNotLinked)?;
    let message = validate::nonempty_text("message", message, 2000)?;
    let channel = channel(state, live, channel_name).await?;
    let store = state.store.as_ref();
    let app_id = &live.app.app.id;
    let at = now();
    if let Some(mute) = store.get_mute(app_id, &channel.id, &user_id).await.map_err(store_err)? {
        if mute.until.is_none_or(|u| u > at) {
            return Err(DomainError::UserMuted);
        }
    }
    let user = store.get_user(app_id, &user_id).await.map_err(store_err)?.ok_or(DomainError::UsernameNotLinked)?;
    let msg = ChatMessage {
        id: ids::new_id(prefix::MESSAGE),
        app_id: app_id.clone(),
        channel_id: channel.id,
        user_id: Some(user.id),
        username: user.username,
        message,
        created_at: at,
    };
    store.post_message(&msg).await.map_err(store_err)?;
    Ok(msg)
}

pub struct ChatPage {
    pub channel: ChatChannel,
    pub messages: Vec<ChatMessage>,
    pub limit: u32,
    pub next: Option<MessageCursor>,
}

pub const CHAT_DEFAULT_LIMIT: u32 = 50;
pub const CHAT_MAX_LIMIT: u32 = 100;

/// A page of a channel's messages, newest first; `next` continues further back.
pub async fn chat_get(
    state: &AppState,
    live: &Live,
    channel_name: Option<&str>,
    limit: Option<i64>,
    cursor: Option<MessageCursor>,
) -> Result<ChatPage, DomainError> {
    let limit = match limit {
        None => CHAT_DEFAULT_LIMIT,
        Some(n) if (1..=i64::from(CHAT_MAX_LIMIT)).contains(&n) => n as u32,
        Some(_) => return Err(DomainError::validation("limit", "must be 1 to 100")),
    };
    let channel = channel(state, live, channel_name).await?;
    let store = state.store.as_ref();
    let mut messages =
        store.list_messages(&live.app.app.id, &channel.id, cursor.as_ref(), limit + 1).await.map_err(store_err)?;
    let more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    let next =
        if more { messages.last().map(|m| MessageCursor { created_at: m.created_at, id: m.id.clone() }) } else { None };
    Ok(ChatPage { channel, messages, limit, next })
}
