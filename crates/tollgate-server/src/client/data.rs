//! Session-scoped data: variables, logs, session checks, blacklist checks, device licenses,
//! chats.

use std::net::IpAddr;
use std::sync::Arc;

use tollgate_core::ids::{self, prefix};
use tollgate_core::model::{
    AppVariable, BlacklistEntry, BlacklistKind, ChatChannel, ChatMessage, DeviceLicense, LicenseVariable, LogEntry,
    UserVariable,
};
use tollgate_core::time::{now, Timestamp};
use tollgate_core::{redeem, rules, validate, DomainError};
use tollgate_store::{MessageCursor, StoreError};

use super::{blacklisted, ip_blacklisted, store_err, Live};
use crate::state::AppState;

/// A variable as clients read it: the app's, or the signed-in session's own (its user's, or for
/// a key-only session its license's).
pub enum Variable {
    App(Arc<AppVariable>),
    User(UserVariable),
    License(LicenseVariable),
}

impl Variable {
    pub fn key(&self) -> &str {
        match self {
            Variable::App(v) => &v.key,
            Variable::User(v) => &v.key,
            Variable::License(v) => &v.key,
        }
    }
    pub fn value(&self) -> &str {
        match self {
            Variable::App(v) => &v.value,
            Variable::User(v) => &v.value,
            Variable::License(v) => &v.value,
        }
    }
    pub fn updated_at(&self) -> Timestamp {
        match self {
            Variable::App(v) => v.updated_at,
            Variable::User(v) => v.updated_at,
            Variable::License(v) => v.updated_at,
        }
    }
}

/// The app variable of that key (one marked `authRequired` only for a signed-in session), else
/// the session's own variable.
pub async fn get_variable(state: &AppState, live: &Live, key: &str) -> Result<Variable, DomainError> {
    let key = rules::variable_key("var_key", key)?;
    if let Some(var) = find_app_variable(state, live, &key).await? {
        return Ok(Variable::App(var));
    }
    find_own_variable(state, live, &key).await?.ok_or(DomainError::VariableNotFound)
}

/// The app variable of that key only (one marked `authRequired` only for a signed-in session).
pub async fn app_variable(state: &AppState, live: &Live, key: &str) -> Result<Arc<AppVariable>, DomainError> {
    let key = rules::variable_key("key", key)?;
    find_app_variable(state, live, &key).await?.ok_or(DomainError::VariableNotFound)
}

/// The session's own variable of that key only: its user's, or its license's for a key-only
/// session. A session signed in with neither has none (`UsernameNotLinked`).
pub async fn own_variable(state: &AppState, live: &Live, key: &str) -> Result<Variable, DomainError> {
    let key = rules::variable_key("key", key)?;
    if live.session.user_id.is_none() && live.session.license_id.is_none() {
        return Err(DomainError::UsernameNotLinked);
    }
    find_own_variable(state, live, &key).await?.ok_or(DomainError::VariableNotFound)
}

async fn find_app_variable(state: &AppState, live: &Live, key: &str) -> Result<Option<Arc<AppVariable>>, DomainError> {
    let Some(var) = state.apps.app_variable(state.store.as_ref(), &live.app.app.id, key).await.map_err(store_err)?
    else {
        return Ok(None);
    };
    // A key login signs a session in as much as an account login does.
    let signed_in = live.session.user_id.is_some() || live.session.license_id.is_some();
    if var.auth_required && !signed_in {
        return Err(DomainError::LoginRequired);
    }
    Ok(Some(var))
}

/// The user's variable for an account's session, the license's for a key-only one.
async fn find_own_variable(state: &AppState, live: &Live, key: &str) -> Result<Option<Variable>, DomainError> {
    let app_id = &live.app.app.id;
    let store = state.store.as_ref();
    if let Some(user_id) = &live.session.user_id {
        let var = store.get_user_variable(app_id, user_id, key).await.map_err(store_err)?;
        return Ok(var.map(Variable::User));
    }
    if let Some(license_id) = &live.session.license_id {
        let var = store.get_license_variable(app_id, license_id, key).await.map_err(store_err)?;
        return Ok(var.map(Variable::License));
    }
    Ok(None)
}

/// Write the session's own variable: its user's, or for a key-only session its license's. A key
/// that names an app variable is refused whatever its flags: a client never overwrites (or
/// shadows) an app variable. A session signed in with neither is `UsernameNotLinked`.
pub async fn set_variable(state: &AppState, live: &Live, key: &str, value: &str) -> Result<Variable, DomainError> {
    set_own_variable(state, live, ("var_key", "var_value"), key, value).await
}

/// [`set_variable`], naming the key and value fields as the caller's wire does in its errors.
pub async fn set_own_variable(
    state: &AppState,
    live: &Live,
    (key_field, value_field): (&str, &str),
    key: &str,
    value: &str,
) -> Result<Variable, DomainError> {
    let key = rules::variable_key(key_field, key)?;
    rules::variable_value(value_field, value)?;
    let (user_id, license_id) = (live.session.user_id.clone(), live.session.license_id.clone());
    if user_id.is_none() && license_id.is_none() {
        return Err(DomainError::UsernameNotLinked);
    }
    let app_id = &live.app.app.id;
    let store = state.store.as_ref();
    if store.get_variable(app_id, &key).await.map_err(store_err)?.is_some() {
        return Err(DomainError::VariableReadOnly);
    }
    let (value, at) = (value.to_owned(), now());
    let written = match (user_id, license_id) {
        (Some(user_id), _) => {
            let var = UserVariable { app_id: app_id.clone(), user_id, key, value, updated_at: at };
            store.set_user_variable(&var).await.map(|()| Variable::User(var))
        }
        (None, Some(license_id)) => {
            let var = LicenseVariable { app_id: app_id.clone(), license_id, key, value, updated_at: at };
            store.set_license_variable(&var).await.map(|()| Variable::License(var))
        }
        (None, None) => return Err(DomainError::UsernameNotLinked),
    };
    match written {
        Ok(var) => Ok(var),
        // The user or license was deleted under the session.
        Err(tollgate_store::StoreError::NotFound) => Err(DomainError::InvalidSession),
        Err(e) => Err(store_err(e)),
    }
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

/// Keep a session open while its client holds a connection to it (a WebSocket): seen now, and
/// expiring a whole session lifetime from now. `false` when the session is gone (killed).
pub async fn keep_alive(state: &AppState, live: &mut Live) -> Result<bool, DomainError> {
    let at = now();
    let expires_at = super::session_expiry(at);
    let s = &live.session;
    let kept = state.store.touch_session(&s.app_id, &s.id, at, Some(expires_at)).await.map_err(store_err)?;
    if kept {
        live.session.last_seen = at;
        live.session.expires_at = live.session.expires_at.max(expires_at);
    }
    Ok(kept)
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

/// A user with a live session: their most recent activity over all their live sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineUser {
    pub username: String,
    pub last_active: Timestamp,
}

/// The app's users with a live session, each once, most recently active first. Sessions that
/// signed in with no account (anonymous or key-only) are not users and are not listed.
pub async fn online_users(state: &AppState, live: &Live) -> Result<Vec<OnlineUser>, DomainError> {
    let sessions = state.store.list_live_sessions(&live.app.app.id, now()).await.map_err(store_err)?;
    let mut by_name: std::collections::HashMap<String, Timestamp> = std::collections::HashMap::new();
    for view in sessions {
        let (Some(name), Some(_)) = (view.username, view.session.user_id) else { continue };
        let seen = by_name.entry(name).or_insert(view.session.last_seen);
        *seen = (*seen).max(view.session.last_seen);
    }
    let mut users: Vec<OnlineUser> =
        by_name.into_iter().map(|(username, last_active)| OnlineUser { username, last_active }).collect();
    users.sort_by(|a, b| b.last_active.cmp(&a.last_active).then_with(|| a.username.cmp(&b.username)));
    Ok(users)
}

/// The app's live sessions, whatever protocol opened them and whether they signed in or not.
pub async fn live_sessions(state: &AppState, live: &Live) -> Result<u64, DomainError> {
    state.store.count_live_sessions(&live.app.app.id, now()).await.map_err(store_err)
}

/// What a client may know of its app in numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct AppStats {
    pub total_users: u64,
    /// Users with a live session (as [`online_users`] counts them).
    pub online_users: u64,
    pub total_keys: u64,
    pub app_version: String,
}

pub async fn stats(state: &AppState, live: &Live) -> Result<AppStats, DomainError> {
    let app = &live.app.app;
    let store = state.store.as_ref();
    let one = tollgate_store::PageRequest { page: 1, limit: 1 };
    let users = store.list_users(&app.id, &tollgate_store::UserFilter::default(), one).await.map_err(store_err)?;
    let keys = store.list_licenses(&app.id, &tollgate_store::LicenseFilter::default(), one).await.map_err(store_err)?;
    let online = online_users(state, live).await?.len() as u64;
    Ok(AppStats {
        total_users: users.total,
        online_users: online,
        total_keys: keys.total,
        app_version: app.version.clone(),
    })
}

/// Who a session is signed in as, in the terms clients are told: the account's name (none for a
/// key-only session), its level, and when its subscription ends (`None`: never).
#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    pub username: Option<String>,
    pub level: i64,
    pub expires_at: Option<Timestamp>,
}

/// The session's account or key as it is now, if it may still be used: a banned, paused or
/// expired account (or key) is refused with its own error, as at sign-in; a session signed in
/// with neither is `LoginRequired`.
pub async fn signed_in(state: &AppState, live: &Live) -> Result<SignedIn, DomainError> {
    let app_id = &live.app.app.id;
    let store = state.store.as_ref();
    if let Some(user_id) = &live.session.user_id {
        let user = store.get_user(app_id, user_id).await.map_err(store_err)?.ok_or(DomainError::InvalidSession)?;
        redeem::check_user(&user, now())?;
        return Ok(SignedIn { username: Some(user.username), level: user.level, expires_at: user.expires_at });
    }
    if let Some(license_id) = &live.session.license_id {
        let license =
            store.get_license(app_id, license_id).await.map_err(store_err)?.ok_or(DomainError::InvalidSession)?;
        let at = now();
        if let Err(e) = redeem::check_key_login(Some(&license), at) {
            super::record_expiry(state, &license, at).await;
            return Err(e);
        }
        return Ok(SignedIn { username: None, level: license.level, expires_at: license.expires_at });
    }
    Err(DomainError::LoginRequired)
}

/// A blacklist check with the app's credentials and no session: is one of these addresses, or
/// this device, on the app's blacklist? `Some(reason)` for the first entry found (the reason
/// the seller gave, if any), `None` when none is.
pub fn blacklist_lookup(app: &crate::cache::CachedApp, ips: &[IpAddr], hwid: Option<&str>) -> Option<Option<String>> {
    if let Some(h) = hwid.map(str::trim).filter(|h| !h.is_empty()) {
        if let Some(reason) = blacklisted(app, BlacklistKind::Hwid, h) {
            return Some(reason);
        }
    }
    app.blacklist
        .iter()
        .filter(|e| e.kind == BlacklistKind::Ip)
        .find(|e| {
            tollgate_core::net::parse_cidr(&e.value)
                .is_some_and(|net| ips.iter().any(|ip| tollgate_core::net::contains_any(&[net], *ip)))
        })
        .map(|e| e.reason.clone())
}

/// A client blacklisting itself (Blazeauth's blacklist packet): its client id becomes a
/// `CLIENT_ID` entry of the app's blacklist, with the client's comment as the reason, so the
/// next Initialize with it is refused. An id already listed is left as it is. The app's
/// blacklist holds at most [`rules::MAX_BLACKLIST_ENTRIES`] entries this way (`BlacklistFull`);
/// the count is read before the write, so clients blacklisting themselves at the same moment can
/// pass it by a few.
pub async fn blacklist_client(
    state: &AppState,
    live: &Live,
    client_id: &str,
    reason: Option<&str>,
) -> Result<(), DomainError> {
    let app_id = &live.app.app.id;
    let value = rules::blacklist_value("client_id", BlacklistKind::ClientId, client_id)?;
    let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => Some(validate::text("comment", r, tollgate_core::license::MAX_NOTE_LEN)?),
        None => None,
    };
    let store = state.store.as_ref();
    let entries = store.list_blacklist(app_id).await.map_err(store_err)?;
    let listed = entries.iter().any(|e| e.kind == BlacklistKind::ClientId && e.value.eq_ignore_ascii_case(&value));
    if !listed {
        if entries.len() >= rules::MAX_BLACKLIST_ENTRIES {
            return Err(DomainError::BlacklistFull);
        }
        let entry = BlacklistEntry {
            id: ids::new_id(prefix::BLACKLIST),
            app_id: app_id.clone(),
            kind: BlacklistKind::ClientId,
            value,
            reason,
            created_at: now(),
        };
        match store.add_blacklist(&entry).await {
            // Listed by another connection meanwhile: the same outcome.
            Ok(()) | Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(store_err(e)),
        }
    }
    state.invalidate_app(app_id).await;
    Ok(())
}
