//! Reading what was recorded: an app's client log messages and a seller's audit trail.

use tollgate_core::model::{AuditEntry, LogEntry};
use tollgate_store::{Page, PageRequest};

use super::ManageResult;
use crate::state::AppState;

/// A page of the app's client log messages, newest first.
pub async fn list_logs(state: &AppState, app_id: &str, page: PageRequest) -> ManageResult<Page<LogEntry>> {
    Ok(state.store.list_logs(app_id, page).await?)
}

/// A page of the seller's audit trail, newest first.
pub async fn list_audit(state: &AppState, seller_id: &str, page: PageRequest) -> ManageResult<Page<AuditEntry>> {
    Ok(state.store.list_audit(seller_id, page).await?)
}
