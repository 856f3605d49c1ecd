//! Initialize (0) and the packets that read the app or keep session values: online users (10),
//! variables (11), the session value store (12–14) and the panel events subscription (17).

use tokio::sync::mpsc::UnboundedSender;

use super::codes::{status_of, Status};
use super::conn::{Conn, Flow, Init};
use super::hub::{Control, Entry};
use super::wire::{Initialize, SetValue, Subscription, ValueKey, VariableName};
use crate::client::{self, init::AppCredentials, Caller, Live};

#[derive(serde::Serialize)]
struct Initialized<'a> {
    app_name: &'a str,
    app_version: &'a str,
}

/// 0: bind the connection to the app its WebSocket key names and open its session.
// BASE: a working first cut; H-blaze completes it (length rules, 4204/4205, backoff, ...).
pub async fn initialize(conn: &mut Conn, id: u64, req: Initialize, control: &UnboundedSender<Control>) -> Flow {
    if conn.init.is_some() {
        conn.status(id, Status::AlreadyInitialized).await;
        return Flow::Continue;
    }
    let caller = Caller { ip: conn.ip, mac: None };
    let creds = AppCredentials::WsKey { ws_key: &req.websocket_api_key, client_id: &req.client_id };
    match client::init::init(&conn.state, &caller, &creds).await {
        Ok(opened) => {
            let key = conn.state.hub.register(Entry {
                app_id: opened.app.app.id.clone(),
                session_id: opened.session.id.clone(),
                user_id: None,
                license_id: None,
                control: control.clone(),
            });
            conn.hub_key = Some(key);
            let live = Live { session: opened.session, app: opened.app, ip: conn.ip, unannounced: false };
            let app = live.app.clone();
            conn.init = Some(Init { live, client_id: req.client_id });
            conn.reply(id, Status::Ok, &Initialized { app_name: &app.app.name, app_version: &app.app.version }).await;
        }
        Err(e) => {
            conn.status(id, status_of(&e)).await;
        }
    }
    Flow::Continue
}

/// 10
pub async fn online_users_count(conn: &mut Conn, id: u64) -> Flow {
    conn.status(id, Status::InternalServerError).await; // H-blaze
    Flow::Continue
}

/// 11
pub async fn get_variable(conn: &mut Conn, id: u64, req: VariableName) -> Flow {
    let _ = req;
    conn.status(id, Status::InternalServerError).await; // H-blaze
    Flow::Continue
}

/// 12
pub async fn set_value(conn: &mut Conn, id: u64, req: SetValue) -> Flow {
    let _ = req;
    conn.status(id, Status::InternalServerError).await; // H-blaze
    Flow::Continue
}

/// 13
pub async fn get_value(conn: &mut Conn, id: u64, req: ValueKey) -> Flow {
    let _ = req;
    conn.status(id, Status::InternalServerError).await; // H-blaze
    Flow::Continue
}

/// 14
pub async fn delete_value(conn: &mut Conn, id: u64, req: ValueKey) -> Flow {
    let _ = req;
    conn.status(id, Status::InternalServerError).await; // H-blaze
    Flow::Continue
}

/// 17
pub async fn subscription(conn: &mut Conn, id: u64, req: Subscription) -> Flow {
    conn.subscribed = req.subscribed;
    conn.status(id, Status::Ok).await;
    Flow::Continue
}
