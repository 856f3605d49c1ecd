//! Session resumption: the upgrade answer carries a `Resume-Id`; a client that reconnects with it
//! (request header `Resume-Id`) within `--ws-resume-window` gets its session back.
// STUBS: H-live builds every function here.

use tokio::sync::mpsc::UnboundedSender;

use super::codes::Close;
use super::conn::Conn;
use super::hub::Control;
use crate::state::AppState;

/// A fresh resume id for an upgrade answer.
pub fn new_id() -> String {
    tollgate_core::ids::new_token()
}

/// A session taken back from the store, to apply to the new connection.
pub struct Restored {}

/// Take the session a reconnect names: 4401 when the id is unknown or expired, 4400 for any
/// other failure.
pub async fn take(state: &AppState, resume_id: &str) -> Result<Restored, Close> {
    let _ = (state, resume_id);
    Err(Close::RESUME_UNKNOWN)
}

/// Put a taken session into the new connection (and register it with the hub).
pub async fn apply(conn: &mut Conn, restored: Restored, control: UnboundedSender<Control>) -> Result<(), Close> {
    let _ = (conn, restored, control);
    Err(Close::RESUME_FAILED)
}

/// The connection ended: `closed_by` is the server's close, `None` when the client went away.
/// Only the latter can be resumed; otherwise the session ends.
pub async fn on_end(conn: &mut Conn, closed_by: Option<&Close>) {
    let _ = (conn, closed_by);
}
