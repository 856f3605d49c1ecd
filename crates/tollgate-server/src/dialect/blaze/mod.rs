//! Blazeauth: one WebSocket per running client program, at `/` and `/ws`. Text frames carry flat
//! JSON packets `{"type": N, "id": U64, ...}` (docs/dialects/blazeauth.md); every answer echoes
//! the `id`, carries a `status` from the one table in [`codes`], and is signed with the server's
//! Ed25519 key in its `signature*` fields ([`conn::Conn::send_packet`]).
//!
//! - [`wire`]: parsing a packet, and the close code of a malformed one;
//! - [`conn`]: one connection's state and its outgoing frames;
//! - [`session`]: Initialize and the packets that read the app or the session (10–14, 17);
//! - [`accounts`]: accounts and licenses (1–6, 15, 16);
//! - [`transfer`]: files (7–9);
//! - [`hub`]: the live connections of this process, and the seller's actions reaching them;
//! - [`resume`]: session resumption with the `Resume-Id` header.
//!
//! Every rule is the client core's (`crate::client`); this folder parses, keeps the connection's
//! state and shapes the answers.

pub mod accounts;
pub mod codes;
pub mod conn;
pub mod hub;
pub mod resume;
pub mod session;
pub mod transfer;
pub mod wire;

use std::net::SocketAddr;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::state::AppState;
use codes::Close;
use conn::{Conn, Flow, Out, Outgoing, OUT_QUEUE};
use wire::Packet;

/// The response header carrying the resume id, and the request header a reconnect sends it in.
pub const RESUME_ID: &str = "resume-id";

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(upgrade)).route("/ws", get(upgrade))
}

/// The WebSocket upgrade. A plain GET (no upgrade asked) is not found here.
async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else { return crate::error::ApiError::not_found("Route").into_response() };
    let ip = crate::extract::client_ip(peer.ip(), &headers, &state.config.trusted_proxies);
    let asked_resume = headers.get(RESUME_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let resume_id = resume::new_id();
    let header = HeaderValue::from_str(&resume_id).ok();
    let mut res = ws.on_upgrade(move |socket| run(socket, state, ip, resume_id, asked_resume));
    if let Some(h) = header {
        res.headers_mut().insert(RESUME_ID, h);
    }
    res
}

/// One connection, from the upgrade to the close.
async fn run(socket: WebSocket, state: AppState, ip: std::net::IpAddr, resume_id: String, asked: Option<String>) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Out>(OUT_QUEUE);
    // The writer: the only task that writes the socket.
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            let msg = match out {
                Out::Text(t) => Message::Text(t.into()),
                Out::Binary(b) => Message::Binary(b),
                Out::Close(c) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame { code: c.code, reason: c.reason.as_ref().into() })))
                        .await;
                    break;
                }
            };
            if sink.send(msg).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut conn = Conn::new(state.clone(), ip, Outgoing(tx), resume_id);
    let (control_tx, mut control_rx) = mpsc::unbounded_channel();
    let mut ended_by: Option<Close> = None;
    if let Some(asked) = asked {
        match resume::take(&state, &asked).await {
            Ok(restored) => {
                if let Err(close) = resume::apply(&mut conn, restored, control_tx.clone()).await {
                    ended_by = Some(close);
                }
            }
            Err(close) => ended_by = Some(close),
        }
    }
    let init_deadline = tokio::time::Instant::now() + state.config.ws.init_timeout;
    while ended_by.is_none() {
        tokio::select! {
            frame = stream.next() => {
                let flow = match frame {
                    None | Some(Err(_)) => break,
                    Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Text(text))) => on_text(&mut conn, text.as_str(), &control_tx).await,
                    Some(Ok(Message::Binary(_))) => Flow::Close(Close::UNSUPPORTED_DATA),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Flow::Continue,
                };
                if let Flow::Close(c) = flow {
                    ended_by = Some(c);
                }
            }
            Some(control) = control_rx.recv() => {
                if let Flow::Close(c) = hub::on_control(&mut conn, control).await {
                    ended_by = Some(c);
                }
            }
            () = tokio::time::sleep_until(init_deadline), if conn.init.is_none() => {
                ended_by = Some(Close::init_timeout(state.config.ws.init_timeout.as_secs()));
            }
        }
    }
    transfer::stop_all(&mut conn);
    if let Some(key) = conn.hub_key.take() {
        state.hub.remove(key);
    }
    resume::on_end(&mut conn, ended_by.as_ref()).await;
    if let Some(close) = ended_by {
        let _ = conn.out.send(Out::Close(close)).await;
    }
    drop(conn);
    let _ = writer.await;
}

/// One text frame: parse, check it may run now, run it.
async fn on_text(conn: &mut Conn, text: &str, control: &mpsc::UnboundedSender<hub::Control>) -> Flow {
    let (id, packet) = match wire::parse(text) {
        Ok(p) => p,
        Err(close) => return Flow::Close(close),
    };
    if conn.answered_before.contains(&id) {
        // Answered before this connection resumed the session: once only.
        return Flow::Continue;
    }
    let flow = match packet {
        Packet::Initialize(req) => session::initialize(conn, id, req, control).await,
        _ if conn.init.is_none() => return Flow::Close(Close::NOT_INITIALIZED),
        Packet::CreateAccount(req) => accounts::create_account(conn, id, req).await,
        Packet::AuthorizeByLicense(req) => accounts::authorize_by_license(conn, id, req).await,
        Packet::AuthorizeByCredentials(req) => accounts::authorize_by_credentials(conn, id, req).await,
        Packet::LinkLicense(req) => accounts::link_license(conn, id, req).await,
        Packet::Logout => accounts::logout(conn, id).await,
        Packet::Blacklist(req) => accounts::blacklist(conn, id, req).await,
        Packet::TransferFile(req) => transfer::start(conn, id, req).await,
        Packet::StopFileTransfer(req) => transfer::stop(conn, id, req).await,
        Packet::FileMetadata(req) => transfer::metadata(conn, id, req).await,
        Packet::OnlineUsersCount => session::online_users_count(conn, id).await,
        Packet::GetVariable(req) => session::get_variable(conn, id, req).await,
        Packet::SetSessionValue(req) => session::set_value(conn, id, req).await,
        Packet::GetSessionValue(req) => session::get_value(conn, id, req).await,
        Packet::DeleteSessionValue(req) => session::delete_value(conn, id, req).await,
        Packet::CurrentLicense => accounts::current_license(conn, id).await,
        Packet::CurrentAccount => accounts::current_account(conn, id).await,
        Packet::PanelSubscription(req) => session::subscription(conn, id, req).await,
    };
    conn.mark_answered(id);
    flow
}
