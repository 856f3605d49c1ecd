//! Session resumption: the upgrade answer carries a `Resume-Id`; a client that reconnects with it
//! (request header `Resume-Id`) within `--ws-resume-window` gets its session back.
//!
//! When the client goes away (the socket drops without a close by the server), the connection's
//! state — its session, client id, authorization, session values, subscription and the packet
//! ids it answered — is saved in the store under the SHA-256 of its resume id, until the window
//! ends; the session itself is kept exactly as long. A reconnect takes the record (once: the
//! store deletes it as it returns it), on any node sharing the database. A close decided by the
//! server (a kick, a blacklist, the app paused, a protocol violation) ends the session instead,
//! and saves nothing.

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;
use tollgate_core::model::{AppStatus, Session};
use tollgate_core::session_store::SessionValues;
use tollgate_core::time::{now, Timestamp};
use tollgate_store::ResumeRecord;

use super::codes::Close;
use super::conn::{Auth, Conn, Init, ANSWERED_KEPT};
use super::hub::{client_id_blocked, event, Control, Entry};
use crate::cache::CachedApp;
use crate::client::{session_expiry, Live};
use crate::crypto::sha256_hex;
use crate::state::AppState;

/// A fresh resume id for an upgrade answer.
pub fn new_id() -> String {
    tollgate_core::ids::new_token()
}

/// What a dropped connection leaves in its resume record (serialised as JSON; opaque to the
/// store). The session is found again by its token; the app by its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub session_id: String,
    pub session_token: String,
    pub app_id: String,
    pub client_id: String,
    pub auth: Option<Auth>,
    pub values: SessionValues,
    pub subscribed: bool,
    /// Packet ids answered on this session, oldest first (at most [`ANSWERED_KEPT`]).
    pub answered: Vec<u64>,
    /// The app version the connection last saw (a change after it is pushed as event 102).
    pub app_version: String,
}

/// A session taken back from the store, to apply to the new connection.
pub struct Restored {
    saved: Saved,
    session: Session,
    app: Arc<CachedApp>,
}

/// Take the session a reconnect names: 4401 when the id is unknown or expired, 4400 for any
/// other failure (the session ended, the app not active or the client id blacklisted, the
/// store failing).
pub async fn take(state: &AppState, resume_id: &str) -> Result<Restored, Close> {
    let store = state.store.as_ref();
    let at = now();
    let record = match store.take_resume(&sha256_hex(resume_id), at).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(Close::RESUME_UNKNOWN),
        Err(e) => {
            tracing::warn!(error = %e, "could not take a resume record");
            return Err(Close::RESUME_FAILED);
        }
    };
    let saved: Saved = match serde_json::from_str(&record.state) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, app_id = %record.app_id, "unreadable resume record");
            return Err(Close::RESUME_FAILED);
        }
    };
    let session = match store.session_by_token(&saved.app_id, &saved.session_token).await {
        Ok(Some(s)) if s.id == saved.session_id && s.expires_at > at => s,
        Ok(_) => return Err(Close::RESUME_FAILED),
        Err(e) => {
            tracing::warn!(error = %e, app_id = %saved.app_id, "could not read a resumed session");
            return Err(Close::RESUME_FAILED);
        }
    };
    let app = match state.apps.by_id(store, &saved.app_id).await {
        Ok(Some(app)) if app.app.status == AppStatus::Active && !client_id_blocked(&app, &saved.client_id) => app,
        Ok(_) => {
            end_session(state, &session).await;
            return Err(Close::RESUME_FAILED);
        }
        Err(e) => {
            tracing::warn!(error = %e, app_id = %saved.app_id, "could not read a resumed session's app");
            return Err(Close::RESUME_FAILED);
        }
    };
    Ok(Restored { saved, session, app })
}

/// Put a taken session into the new connection, register it with the hub, and give the session
/// its full lifetime again. The ids answered before are not answered again on this connection,
/// and carry forward into its own resume record.
pub async fn apply(conn: &mut Conn, restored: Restored, control: UnboundedSender<Control>) -> Result<(), Close> {
    let Restored { saved, session, app } = restored;
    let expires = session_expiry(now());
    match conn.state.store.set_session_expiry(&session.app_id, &session.id, expires).await {
        Ok(true) => {}
        Ok(false) => return Err(Close::RESUME_FAILED),
        Err(e) => {
            tracing::warn!(error = %e, app_id = %session.app_id, "could not extend a resumed session");
            return Err(Close::RESUME_FAILED);
        }
    }
    let (user_id, license_id) = match &saved.auth {
        Some(Auth::Account { user_id }) => (Some(user_id.clone()), None),
        Some(Auth::License { license_id }) => (None, Some(license_id.clone())),
        None => (None, None),
    };
    conn.hub_key = Some(conn.state.hub.register(Entry {
        app_id: session.app_id.clone(),
        session_id: session.id.clone(),
        user_id,
        license_id,
        control,
    }));
    let version_changed = app.app.version != saved.app_version;
    let session = Session { expires_at: expires, ..session };
    conn.init = Some(Init {
        live: Live { session, app, ip: conn.ip, unannounced: false, dialect: crate::client::activity::dialect::BLAZE },
        client_id: saved.client_id,
    });
    conn.auth = saved.auth;
    conn.values = saved.values;
    conn.subscribed = saved.subscribed;
    conn.answered_before = saved.answered.iter().copied().collect::<HashSet<u64>>();
    conn.answered = saved.answered.into_iter().collect();
    if version_changed && conn.subscribed {
        // Changed while the client was away.
        let version = conn.live().map(|l| l.app.app.version.clone()).unwrap_or_default();
        conn.push_event(event::APP_VERSION_CHANGED, json!({ "version": version })).await;
    }
    Ok(())
}

/// The connection ended: `closed_by` is the server's close, `None` when the client went away.
/// Only the latter can be resumed; otherwise the session ends.
pub async fn on_end(conn: &mut Conn, closed_by: Option<&Close>) {
    let Some(init) = conn.init.as_ref() else { return };
    let session = &init.live.session;
    if closed_by.is_some_and(|c| !c.resumable()) {
        end_session(&conn.state, session).await;
        return;
    }
    let store = conn.state.store.as_ref();
    let until = resume_deadline(&conn.state, now());
    let saved = Saved {
        session_id: session.id.clone(),
        session_token: session.token.clone(),
        app_id: session.app_id.clone(),
        client_id: init.client_id.clone(),
        auth: conn.auth.clone(),
        values: conn.values.clone(),
        subscribed: conn.subscribed,
        answered: kept_answered(conn),
        app_version: init.live.app.app.version.clone(),
    };
    let state = match serde_json::to_string(&saved) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "could not serialise a dropped session");
            return;
        }
    };
    let record = ResumeRecord {
        id_hash: sha256_hex(&conn.resume_id),
        app_id: session.app_id.clone(),
        session_id: session.id.clone(),
        state,
        expires_at: until,
    };
    if let Err(e) = store.save_resume(&record).await {
        tracing::warn!(error = %e, app_id = %session.app_id, "could not save a dropped session for resumption");
        return;
    }
    // The session lives exactly as long as it can be resumed.
    if let Err(e) = store.set_session_expiry(&session.app_id, &session.id, until).await {
        tracing::warn!(error = %e, app_id = %session.app_id, "could not shorten a dropped session");
    }
}

/// The ids to carry into a resume: the newest [`ANSWERED_KEPT`].
fn kept_answered(conn: &Conn) -> Vec<u64> {
    let skip = conn.answered.len().saturating_sub(ANSWERED_KEPT);
    conn.answered.iter().skip(skip).copied().collect()
}

fn resume_deadline(state: &AppState, at: Timestamp) -> Timestamp {
    let window = chrono::Duration::from_std(state.config.ws.resume_window).unwrap_or(chrono::Duration::seconds(300));
    at + window
}

async fn end_session(state: &AppState, session: &Session) {
    if let Err(e) = state.store.delete_session(&session.app_id, &session.id).await {
        tracing::warn!(error = %e, app_id = %session.app_id, "could not end a closed session");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saved_state_survives_its_json() {
        let mut values = SessionValues::default();
        values.set("k", "v", 0, now()).unwrap();
        let saved = Saved {
            session_id: "ses_1".into(),
            session_token: "tok".into(),
            app_id: "app_1".into(),
            client_id: "desktop-main".into(),
            auth: Some(Auth::License { license_id: "lic_1".into() }),
            values,
            subscribed: true,
            answered: vec![1, 2, u64::MAX - 1],
            app_version: "1.0.0".into(),
        };
        let text = serde_json::to_string(&saved).unwrap();
        assert_eq!(serde_json::from_str::<Saved>(&text).unwrap(), saved);
    }
}
