//! Initialize (0) and the packets that read the app or keep session values: online users (10),
//! variables (11), the session value store (12–14) and the panel events subscription (17).

use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;
use tollgate_core::session_store::Refusal;
use tollgate_core::time::now;
use tollgate_core::DomainError;

use super::codes::{close_of, status_of, Close, Status};
use super::conn::{Conn, Flow, Init};
use super::hub::{Control, Entry};
use super::wire::{Initialize, SetValue, Subscription, ValueKey, VariableName};
use crate::client::{self, init::AppCredentials, Caller, Live};

/// A WebSocket key is exactly this many characters; any other length is refused before a lookup.
pub const WS_KEY_CHARS: usize = 21;
/// A client id is 4 to 64 characters.
pub const CLIENT_ID_CHARS: std::ops::RangeInclusive<usize> = 4..=64;
/// A variable name is at least 3 characters.
pub const VARIABLE_NAME_MIN_CHARS: usize = 3;
/// Initialize packets in a row whose key names no app after which the connection is closed 4205
/// instead of answered (the fourth).
pub const LOOKUP_FAILURES_ANSWERED: u32 = 3;

#[derive(Serialize)]
struct Initialized<'a> {
    app_name: &'a str,
    app_version: &'a str,
}

/// 0: bind the connection to the app its WebSocket key names and open its session.
pub async fn initialize(conn: &mut Conn, id: u64, req: Initialize, control: &UnboundedSender<Control>) -> Flow {
    if conn.init.is_some() {
        conn.status(id, Status::AlreadyInitialized).await;
        return Flow::Continue;
    }
    if let Some(secs) = conn.state.ws_backoff.left(conn.ip, Instant::now()) {
        return Flow::Close(Close::rate_limited_for(secs));
    }
    if req.websocket_api_key.chars().count() != WS_KEY_CHARS {
        conn.status(id, Status::InvalidApiKey).await;
        return Flow::Continue;
    }
    let client_id_chars = req.client_id.chars().count();
    if client_id_chars < *CLIENT_ID_CHARS.start() {
        conn.status(id, Status::ClientIdTooShort).await;
        return Flow::Continue;
    }
    if client_id_chars > *CLIENT_ID_CHARS.end() {
        conn.status(id, Status::ClientIdTooLong).await;
        return Flow::Continue;
    }
    let caller = Caller { ip: conn.ip, mac: None, dialect: crate::client::activity::dialect::BLAZE };
    let creds = AppCredentials::WsKey { ws_key: &req.websocket_api_key, client_id: &req.client_id };
    let e = match client::init::init(&conn.state, &caller, &creds).await {
        Ok(opened) => {
            conn.lookup_failures = 0;
            let key = conn.state.hub.register(Entry {
                app_id: opened.app.app.id.clone(),
                session_id: opened.session.id.clone(),
                user_id: None,
                license_id: None,
                control: control.clone(),
            });
            conn.hub_key = Some(key);
            let live = Live {
                session: opened.session,
                app: opened.app,
                ip: conn.ip,
                unannounced: false,
                dialect: crate::client::activity::dialect::BLAZE,
            };
            let app = live.app.clone();
            conn.init = Some(Init { live, client_id: req.client_id });
            conn.reply(id, Status::Ok, &Initialized { app_name: &app.app.name, app_version: &app.app.version }).await;
            return Flow::Continue;
        }
        Err(e) => e,
    };
    match e {
        DomainError::AppNotFound => {
            conn.lookup_failures += 1;
            if conn.lookup_failures > LOOKUP_FAILURES_ANSWERED {
                return Flow::Close(Close::INIT_FAILED);
            }
        }
        // the server failed, not the client: neither counted nor forgiven
        DomainError::Internal | DomainError::Unavailable | DomainError::Busy => {}
        // the key named an app
        _ => conn.lookup_failures = 0,
    }
    match close_of(&e) {
        Some((answered, close)) => {
            if answered {
                conn.status(id, status_of(&e)).await;
            }
            Flow::Close(close)
        }
        None => {
            conn.status(id, status_of(&e)).await;
            Flow::Continue
        }
    }
}

#[derive(Serialize)]
struct OnlineUsers {
    online_users_count: u64,
}

/// 10: the app's live sessions, over every protocol and node. (Every packet but Initialize runs
/// after a successful one: the loop closes 4200 before, so the session is there.)
pub async fn online_users_count(conn: &mut Conn, id: u64) -> Flow {
    let counted = match conn.live() {
        Some(live) => client::data::live_sessions(&conn.state, live).await,
        None => Err(DomainError::Internal),
    };
    match counted {
        Ok(n) => conn.reply(id, Status::Ok, &OnlineUsers { online_users_count: n }).await,
        Err(e) => conn.status(id, status_of(&e)).await,
    };
    Flow::Continue
}

#[derive(Serialize)]
struct Content<'a> {
    content: &'a str,
}

/// 11: an app variable. A name shorter than 3 characters, or one no variable can have, is 401
/// before any lookup; a variable marked `authRequired` needs an authorized connection (3).
pub async fn get_variable(conn: &mut Conn, id: u64, req: VariableName) -> Flow {
    let valid = req.name.chars().count() >= VARIABLE_NAME_MIN_CHARS
        && tollgate_core::rules::variable_key("name", &req.name).is_ok();
    if !valid {
        conn.status(id, Status::VariableInvalidName).await;
        return Flow::Continue;
    }
    let found = match conn.live() {
        Some(live) => client::data::app_variable(&conn.state, live, &req.name).await,
        None => Err(DomainError::Internal),
    };
    match found {
        Ok(var) => conn.reply(id, Status::Ok, &Content { content: &var.value }).await,
        Err(e) => conn.status(id, status_of(&e)).await,
    };
    Flow::Continue
}

/// 12: set a session value. Keys and values are any text (a key not empty), counted in bytes
/// against the store's 16,384; at most 64 entries.
pub async fn set_value(conn: &mut Conn, id: u64, req: SetValue) -> Flow {
    let status = match conn.values.set(&req.key, &req.value, req.ttl, now()) {
        Ok(()) => Status::Ok,
        Err(Refusal::OutOfMemory) => Status::StoreOutOfMemory,
        Err(Refusal::OutOfEntries) => Status::StoreOutOfEntries,
    };
    conn.status(id, status).await;
    Flow::Continue
}

#[derive(Serialize)]
struct Value<'a> {
    value: &'a str,
}

/// 13: a session value, while it lives.
pub async fn get_value(conn: &mut Conn, id: u64, req: ValueKey) -> Flow {
    match conn.values.get(&req.key, now()) {
        Some(value) => conn.reply(id, Status::Ok, &Value { value }).await,
        None => conn.status(id, Status::StoreValueNotFound).await,
    };
    Flow::Continue
}

/// 14: delete a session value.
pub async fn delete_value(conn: &mut Conn, id: u64, req: ValueKey) -> Flow {
    let status = if conn.values.delete(&req.key, now()) { Status::Ok } else { Status::StoreValueNotFound };
    conn.status(id, status).await;
    Flow::Continue
}

/// 17: panel events on or off.
pub async fn subscription(conn: &mut Conn, id: u64, req: Subscription) -> Flow {
    conn.subscribed = req.subscribed;
    conn.status(id, Status::Ok).await;
    Flow::Continue
}

/// The connection is open: its session lives on (see [`super::KEEP_ALIVE_EVERY`]). A session
/// already gone (the seller killed it) is the kick's business, not this timer's.
pub async fn keep_alive(conn: &mut Conn) {
    let state = conn.state.clone();
    let Some(init) = conn.init.as_mut() else { return };
    match client::data::keep_alive(&state, &mut init.live).await {
        Ok(true) => {}
        Ok(false) => tracing::debug!(session_id = %init.live.session.id, "an open WebSocket's session is gone"),
        Err(e) => tracing::warn!(error = %e, "could not extend an open WebSocket's session"),
    }
}
