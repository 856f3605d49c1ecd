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
//! - [`limits`]: the per-connection rate limit and the address backoff it leads to;
//! - [`resume`]: session resumption with the `Resume-Id` header.
//!
//! Every rule is the client core's (`crate::client`); this folder parses, keeps the connection's
//! state and shapes the answers.

pub mod accounts;
pub mod codes;
pub mod conn;
pub mod hub;
pub mod limits;
pub mod resume;
pub mod session;
pub mod transfer;
pub mod wire;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::state::AppState;
use codes::Close;
use conn::{Conn, Flow, Out, Outgoing, OUT_QUEUE};
use wire::Packet;

/// The socket's read buffer, bytes: what an idle connection holds.
const READ_BUFFER: usize = 2 * 1024;
/// Frames smaller than this are gathered before a write; larger ones are written through.
const WRITE_BUFFER: usize = 8 * 1024;

/// The response header carrying the resume id, and the request header a reconnect sends it in.
pub const RESUME_ID: &str = "resume-id";

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(upgrade)).route("/ws", get(upgrade))
}

/// How often an open, initialized connection extends its session (which would otherwise expire
/// [`tollgate_core::session::SESSION_TTL`] after its last activity): the session lives as long as
/// its socket, whether the client talks or not.
pub const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(10 * 60);

/// The WebSocket upgrade. A plain GET of `/` (no upgrade asked) is a browser: the dashboard's
/// home; of `/ws`, not found. An address in backoff
/// after hitting the WebSocket rate limit, or past the per-address client rate limit, is refused
/// with 429 and `Retry-After` before anything is opened; past `--ws-max-connections` open
/// connections, with 503 `SERVER_BUSY` and `Retry-After`.
async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        if uri.path() == "/" && !headers.contains_key(axum::http::header::UPGRADE) {
            return crate::web::home().await;
        }
        return crate::error::ApiError::not_found("Route").into_response();
    };
    let ip = crate::extract::client_ip(peer.ip(), &headers, &state.config.trusted_proxies);
    if let Some(secs) = state.ws_backoff.left(ip, Instant::now()) {
        return ApiError::from(tollgate_core::DomainError::RateLimited { retry_after_secs: secs }).into_response();
    }
    if let Err(e) = crate::client::guard::rate_limit(&state, ip) {
        return ApiError::from(e).into_response();
    }
    // Held by the connection until it closes: past `--ws-max-connections` open sockets a new one
    // is refused before the upgrade.
    let Ok(slot) = state.ws_slots.clone().try_acquire_owned() else {
        return ApiError::busy().into_response();
    };
    // Small buffers: an idle connection should cost a few KiB, not the library's 128 KiB read
    // buffer (packets are small; a file chunk larger than the write buffer is written through).
    let ws = ws
        .max_message_size(wire::MAX_PACKET_BYTES)
        .max_frame_size(wire::MAX_PACKET_BYTES)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER);
    let asked_resume = headers.get(RESUME_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let resume_id = resume::new_id();
    let header = HeaderValue::from_str(&resume_id).ok();
    let mut res = ws.on_upgrade(move |socket| async move {
        run(socket, state, ip, resume_id, asked_resume).await;
        drop(slot);
    });
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
        match Box::pin(resume::take(&state, &asked)).await {
            Ok(restored) => {
                if let Err(close) = Box::pin(resume::apply(&mut conn, restored, control_tx.clone())).await {
                    ended_by = Some(close);
                }
            }
            Err(close) => ended_by = Some(close),
        }
    }
    let init_deadline = tokio::time::Instant::now() + state.config.ws.init_timeout;
    let mut actions = limits::Actions::new(state.config.ws.rate_limit);
    let mut keep_alive = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE_EVERY, KEEP_ALIVE_EVERY);
    keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while ended_by.is_none() {
        tokio::select! {
            frame = stream.next() => {
                let flow = match frame {
                    None | Some(Ok(Message::Close(_))) => break,
                    Some(Err(e)) => match read_failure(&e) {
                        Some(close) => Flow::Close(close),
                        // the client went away: it may resume
                        None => break,
                    },
                    Some(Ok(Message::Text(text))) => {
                        let within = actions.take(Instant::now());
                        // Boxed, as every handler below: the loop of an idle connection then holds only
                        // itself, not the largest packet handler's state (thousands of them are idle).
                        let flow = Box::pin(on_text(&mut conn, text.as_str(), &control_tx)).await;
                        rate_limited(&conn, within, flow)
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let within = actions.take(Instant::now());
                        rate_limited(&conn, within, Flow::Close(Close::UNSUPPORTED_DATA))
                    }
                    // axum answers pings itself; they count as actions all the same
                    Some(Ok(Message::Ping(_))) => {
                        let within = actions.take(Instant::now());
                        rate_limited(&conn, within, Flow::Continue)
                    }
                    Some(Ok(Message::Pong(_))) => Flow::Continue,
                };
                if let Flow::Close(c) = flow {
                    ended_by = Some(c);
                }
            }
            Some(control) = control_rx.recv() => {
                if let Flow::Close(c) = Box::pin(hub::on_control(&mut conn, control)).await {
                    ended_by = Some(c);
                }
            }
            () = tokio::time::sleep_until(init_deadline), if conn.init.is_none() => {
                ended_by = Some(Close::init_timeout(state.config.ws.init_timeout.as_secs()));
            }
            _ = keep_alive.tick(), if conn.init.is_some() => Box::pin(session::keep_alive(&mut conn)).await,
        }
    }
    transfer::stop_all(&mut conn);
    if let Some(key) = conn.hub_key.take() {
        state.hub.remove(key);
    }
    Box::pin(resume::on_end(&mut conn, ended_by.as_ref())).await;
    if let Some(close) = ended_by {
        let _ = conn.out.send(Out::Close(close)).await;
    }
    drop(conn);
    let _ = writer.await;
}

/// The close a failed read earns: a frame past [`wire::MAX_PACKET_BYTES`] or text that is not
/// UTF-8 is 4302, any other broken frame 4304; a transport failure or a reset (the client went
/// away) is no close at all, so the session may be resumed.
fn read_failure(e: &axum::Error) -> Option<Close> {
    use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(ws) = c.downcast_ref::<WsError>() {
            return match ws {
                WsError::Capacity(_) | WsError::Utf8(_) => Some(Close::BAD_BODY),
                WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
                WsError::Protocol(_) => Some(Close::UNSUPPORTED_DATA),
                _ => None,
            };
        }
        cause = c.source();
    }
    None
}

/// After an action: when it crossed the rate limit (`within` is false), it has been answered, and
/// now the socket closes 4201 (unless the action earned its own close) and the address enters
/// the backoff.
fn rate_limited(conn: &Conn, within: bool, flow: Flow) -> Flow {
    if within {
        return flow;
    }
    conn.state.ws_backoff.start(conn.ip, Instant::now());
    match flow {
        Flow::Continue => Flow::Close(Close::RATE_LIMITED),
        closing => closing,
    }
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

#[cfg(test)]
mod tests {
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};

    use super::*;

    #[test]
    fn read_failures_close_for_bad_frames_and_not_for_a_client_gone() {
        let too_big = WsError::Capacity(CapacityError::MessageTooLong { size: 70_000, max_size: 65_536 });
        assert_eq!(read_failure(&axum::Error::new(too_big)), Some(Close::BAD_BODY));
        let unmasked = WsError::Protocol(ProtocolError::UnmaskedFrameFromClient);
        assert_eq!(read_failure(&axum::Error::new(unmasked)), Some(Close::UNSUPPORTED_DATA));
        let reset = WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake);
        assert_eq!(read_failure(&axum::Error::new(reset)), None);
        let io = WsError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(read_failure(&axum::Error::new(io)), None);
        assert_eq!(read_failure(&axum::Error::new(WsError::ConnectionClosed)), None);
    }
}
