//! Live sessions of an app: list them, end one, or all.

use tollgate_core::model::SessionView;
use tollgate_core::time::now;
use tollgate_store::LiveChange;

use super::{audit, publish_live, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// The app's live (unexpired) sessions, newest first, with the signed-in username if any.
pub async fn list(state: &AppState, app_id: &str) -> ManageResult<Vec<SessionView>> {
    Ok(state.store.list_live_sessions(app_id, now()).await?)
}

/// End one session (force logout); its next request fails, and a live connection holding it
/// is closed at once.
pub async fn kill(state: &AppState, by: &Actor, app_id: &str, session_id: &str) -> ManageResult<()> {
    if !state.store.delete_session(app_id, session_id).await? {
        return Err(ManageError::NotFound("Session"));
    }
    publish_live(state, app_id, LiveChange::SessionKilled(session_id.to_owned())).await;
    audit(state, by, "session.kill", Some(app_id), Some(session_id)).await;
    Ok(())
}

/// End every session of the app; answers how many there were.
pub async fn kill_all(state: &AppState, by: &Actor, app_id: &str) -> ManageResult<u64> {
    let killed = state.store.delete_app_sessions(app_id).await?;
    publish_live(state, app_id, LiveChange::AllSessionsKilled).await;
    audit(state, by, "sessions.kill_all", Some(app_id), Some(app_id)).await;
    Ok(killed)
}
