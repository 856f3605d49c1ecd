//! Live sessions of an app: end one, or all.

use super::{audit, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// End one session (force logout); its next request fails.
pub async fn kill(state: &AppState, by: &Actor, app_id: &str, session_id: &str) -> ManageResult<()> {
    if !state.store.delete_session(app_id, session_id).await? {
        return Err(ManageError::NotFound("Session"));
    }
    audit(state, by, "session.kill", Some(app_id), Some(session_id)).await;
    Ok(())
}

/// End every session of the app; answers how many there were.
pub async fn kill_all(state: &AppState, by: &Actor, app_id: &str) -> ManageResult<u64> {
    let killed = state.store.delete_app_sessions(app_id).await?;
    audit(state, by, "sessions.kill_all", Some(app_id), Some(app_id)).await;
    Ok(killed)
}
