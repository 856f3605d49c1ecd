//! Files: transfer (7), stop a transfer (8), metadata (9).
// STUBS: H-transfer builds every function here.

use super::codes::Status;
use super::conn::{Conn, Flow};
use super::wire::{FileName, TransferFile};

/// The transfers running on one connection.
#[derive(Default)]
pub struct Running {}

/// 7
pub async fn start(conn: &mut Conn, id: u64, req: TransferFile) -> Flow {
    let _ = req;
    conn.status(id, Status::InternalServerError).await;
    Flow::Continue
}

/// 8
pub async fn stop(conn: &mut Conn, id: u64, req: FileName) -> Flow {
    let _ = req;
    conn.status(id, Status::FileNotBeingTransferred).await;
    Flow::Continue
}

/// 9
pub async fn metadata(conn: &mut Conn, id: u64, req: FileName) -> Flow {
    let _ = req;
    conn.status(id, Status::InternalServerError).await;
    Flow::Continue
}

/// The connection is ending: stop whatever it is sending.
pub fn stop_all(conn: &mut Conn) {
    let _ = conn;
}
