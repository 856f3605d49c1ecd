//! Accounts and licenses: create account (1), authorize by license (2) or credentials (3), link
//! a license (4), logout (5), blacklist (6), current license (15) and account (16).
// STUBS: H-accounts builds every function here.

use super::codes::Status;
use super::conn::{Conn, Flow};
use super::wire::{Blacklist, CreateAccount, Credentials, LicenseKey};

async fn todo(conn: &mut Conn, id: u64) -> Flow {
    conn.status(id, Status::InternalServerError).await;
    Flow::Continue
}

/// 1
pub async fn create_account(conn: &mut Conn, id: u64, req: CreateAccount) -> Flow {
    let _ = req;
    todo(conn, id).await
}

/// 2
pub async fn authorize_by_license(conn: &mut Conn, id: u64, req: LicenseKey) -> Flow {
    let _ = req;
    todo(conn, id).await
}

/// 3
pub async fn authorize_by_credentials(conn: &mut Conn, id: u64, req: Credentials) -> Flow {
    let _ = req;
    todo(conn, id).await
}

/// 4
pub async fn link_license(conn: &mut Conn, id: u64, req: LicenseKey) -> Flow {
    let _ = req;
    todo(conn, id).await
}

/// 5
pub async fn logout(conn: &mut Conn, id: u64) -> Flow {
    todo(conn, id).await
}

/// 6
pub async fn blacklist(conn: &mut Conn, id: u64, req: Blacklist) -> Flow {
    let _ = req;
    todo(conn, id).await
}

/// 15
pub async fn current_license(conn: &mut Conn, id: u64) -> Flow {
    todo(conn, id).await
}

/// 16
pub async fn current_account(conn: &mut Conn, id: u64) -> Flow {
    todo(conn, id).await
}
