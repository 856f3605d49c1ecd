//! The live WebSocket sessions of this process, so a seller's action reaches them at once: the
//! invalidation feed (LISTEN/NOTIFY on PostgreSQL, so an action taken through any node) is
//! turned into a [`Control`] for each connection it concerns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tollgate_core::model::{AppStatus, BlacklistKind, Session};
use tollgate_core::time::now;
use tollgate_store::{Invalidation, LicenseChange, LiveChange, Store};

use super::codes::Close;
use super::conn::{Auth, Conn, Flow};
use crate::cache::AppCache;
use crate::state::AppState;

/// What the hub tells a connection.
#[derive(Debug, Clone)]
pub enum Control {
    /// Close the socket with this code (no resumption).
    Close(Close),
    /// A panel event: pushed when subscribed. With `clear_auth`, a connection signed in with the
    /// license the content names (`license_id`) is signed out, subscribed or not.
    Event { event_type: u32, content: Value, clear_auth: bool },
    /// The app changed (settings, status, version, blacklist): look at it again.
    AppChanged,
    /// Anything may have changed (the feed was interrupted): check the session again.
    Recheck,
}

/// What the hub knows of one connection.
#[derive(Debug, Clone)]
pub struct Entry {
    pub app_id: String,
    pub session_id: String,
    pub user_id: Option<String>,
    pub license_id: Option<String>,
    pub control: mpsc::UnboundedSender<Control>,
}

/// The registry of this process's initialized connections.
#[derive(Default)]
pub struct Hub {
    next: AtomicU64,
    conns: RwLock<HashMap<u64, Entry>>,
}

impl Hub {
    /// Register an initialized connection; the key updates and removes it.
    pub fn register(&self, entry: Entry) -> u64 {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.conns.write().unwrap_or_else(|p| p.into_inner()).insert(key, entry);
        key
    }

    /// Change what the hub knows of a connection (it signed in or out).
    pub fn update(&self, key: u64, f: impl FnOnce(&mut Entry)) {
        if let Some(e) = self.conns.write().unwrap_or_else(|p| p.into_inner()).get_mut(&key) {
            f(e);
        }
    }

    pub fn remove(&self, key: u64) {
        self.conns.write().unwrap_or_else(|p| p.into_inner()).remove(&key);
    }

    /// Initialized connections held by this process.
    pub fn len(&self) -> usize {
        self.conns.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether any connection is one `select` picks.
    pub fn any(&self, select: impl Fn(&Entry) -> bool) -> bool {
        self.conns.read().unwrap_or_else(|p| p.into_inner()).values().any(select)
    }

    /// Send `control` to every connection `select` picks.
    pub fn send_where(&self, select: impl Fn(&Entry) -> bool, control: &Control) {
        for e in self.conns.read().unwrap_or_else(|p| p.into_inner()).values().filter(|e| select(e)) {
            let _ = e.control.send(control.clone());
        }
    }
}

/// Panel event types (the `event_type` of a pushed event).
pub mod event {
    pub const DISCONNECT: u32 = 1;
    pub const APP_DELETED: u32 = 100;
    pub const APP_PAUSED: u32 = 101;
    pub const APP_VERSION_CHANGED: u32 = 102;
    pub const LICENSE_CLIENT_ID_RESET: u32 = 200;
    pub const LICENSE_BLACKLISTED: u32 = 201;
    pub const LICENSE_UNBLACKLISTED: u32 = 202;
    pub const LICENSE_REINITIALIZED: u32 = 203;
    pub const LICENSE_DELETED: u32 = 204;
    pub const LICENSE_PAUSED: u32 = 205;
    pub const LICENSE_UNPAUSED: u32 = 206;
}

/// A license change's panel event, and whether it signs the connection out.
pub fn license_event(change: LicenseChange) -> (u32, bool) {
    match change {
        LicenseChange::DevicesReset => (event::LICENSE_CLIENT_ID_RESET, false),
        LicenseChange::Banned => (event::LICENSE_BLACKLISTED, true),
        LicenseChange::Unbanned => (event::LICENSE_UNBLACKLISTED, false),
        LicenseChange::Reinitialized => (event::LICENSE_REINITIALIZED, true),
        LicenseChange::Deleted => (event::LICENSE_DELETED, true),
        LicenseChange::Paused => (event::LICENSE_PAUSED, true),
        LicenseChange::Unpaused => (event::LICENSE_UNPAUSED, false),
    }
}

/// Start turning the invalidation feed into controls for this process's connections. The feed
/// carries this process's own publications and, on PostgreSQL, every other node's.
pub fn spawn_listener(state: &AppState) {
    // Subscribed before anything is served, so no change published after start-up is missed.
    let mut feed = state.store.subscribe();
    let (store, apps, hub) = (state.store.clone(), state.apps.clone(), state.hub.clone());
    tokio::spawn(async move {
        loop {
            match feed.recv().await {
                Ok(inv) => dispatch(store.as_ref(), &apps, &hub, &inv).await,
                Err(RecvError::Lagged(_)) => dispatch(store.as_ref(), &apps, &hub, &Invalidation::All).await,
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// The controls one invalidation means for the connections of this process.
pub async fn dispatch(store: &dyn Store, apps: &AppCache, hub: &Hub, inv: &Invalidation) {
    match inv {
        Invalidation::App(app_id) => {
            // The cache's own listener may not have seen it yet: a connection looking at its app
            // must not read the entry this very change made stale.
            apps.invalidate(inv);
            let in_app = |e: &Entry| e.app_id == *app_id;
            if !hub.any(in_app) {
                return;
            }
            // Loaded once here, so the app's connections (there may be thousands) find it cached
            // instead of each asking the store.
            if let Err(e) = apps.by_id(store, app_id).await {
                tracing::warn!(error = %e, app_id, "could not reload a changed app");
            }
            hub.send_where(in_app, &Control::AppChanged);
        }
        Invalidation::All => {
            apps.invalidate(inv);
            hub.send_where(|_| true, &Control::Recheck);
        }
        Invalidation::Live { app_id, change } => live(store, hub, app_id, change).await,
        // As above: a connection reading a variable right after must not find the stale one.
        Invalidation::Variables(_) => apps.invalidate(inv),
        Invalidation::SigningKeys | Invalidation::Seller(_) | Invalidation::WebhooksDue => {}
    }
}

async fn live(store: &dyn Store, hub: &Hub, app_id: &str, change: &LiveChange) {
    let in_app = |e: &Entry| e.app_id == app_id;
    match change {
        LiveChange::SessionKilled(id) => kick(hub, |e| in_app(e) && e.session_id == *id),
        LiveChange::AllSessionsKilled => kick(hub, in_app),
        LiveChange::UserBlocked(id) => kick(hub, |e| in_app(e) && e.user_id.as_deref() == Some(id.as_str())),
        LiveChange::License { license_id, event } => {
            let holds = |e: &Entry| in_app(e) && e.license_id.as_deref() == Some(license_id.as_str());
            if !hub.any(holds) {
                return;
            }
            let (event_type, clear_auth) = license_event(*event);
            let mut content = json!({ "license_id": license_id });
            // The key, while the license exists (a deleted one is known by its id only).
            match store.get_license(app_id, license_id).await {
                Ok(Some(l)) => content["license"] = json!(l.key),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, app_id, "could not read a changed license for its event"),
            }
            hub.send_where(holds, &Control::Event { event_type, content, clear_auth });
        }
    }
}

/// Event 1 Disconnect (pushed to the subscribed), then close 4100.
fn kick(hub: &Hub, select: impl Fn(&Entry) -> bool) {
    hub.send_where(&select, &Control::Event { event_type: event::DISCONNECT, content: json!({}), clear_auth: false });
    hub.send_where(&select, &Control::Close(Close::DISCONNECTED));
}

/// Act on what the hub sent this connection. Events are pushed only while it is subscribed;
/// kicks and sign-outs happen either way.
pub async fn on_control(conn: &mut Conn, control: Control) -> Flow {
    match control {
        Control::Close(close) => Flow::Close(close),
        Control::Event { event_type, content, clear_auth } => {
            if conn.subscribed {
                conn.push_event(event_type, content.clone()).await;
            }
            if clear_auth {
                let license_id = content.get("license_id").and_then(Value::as_str).unwrap_or_default();
                if signed_in_with(conn, license_id) {
                    sign_out(conn).await;
                }
            }
            Flow::Continue
        }
        Control::AppChanged => check_app(conn).await,
        Control::Recheck => match check_app(conn).await {
            Flow::Continue => check_session(conn).await,
            closed => closed,
        },
    }
}

/// Whether the connection is signed in with this license (by the license itself, or by an
/// account whose session holds it).
fn signed_in_with(conn: &Conn, license_id: &str) -> bool {
    let by_license = matches!(&conn.auth, Some(Auth::License { license_id: l }) if l == license_id);
    by_license || conn.live().and_then(|l| l.session.license_id.as_deref()) == Some(license_id)
}

/// Sign the connection out after a change to its license: its authorization, the session's user
/// and license. The hub entry keeps the license, so the connection still hears of it (event 202
/// unbanned, 206 unpaused) until it signs in again or logs out. Banning or pausing a license ends
/// its sessions in the store; the connection stays open, so its session is opened again, signed
/// out, under the same id.
async fn sign_out(conn: &mut Conn) {
    conn.auth = None;
    let Some(init) = conn.init.as_mut() else { return };
    let session = &mut init.live.session;
    session.user_id = None;
    session.license_id = None;
    if let Some(key) = conn.hub_key {
        conn.state.hub.update(key, |e| e.user_id = None);
    }
    let store = conn.state.store.as_ref();
    match store.unbind_session(&session.app_id, &session.id).await {
        Ok(true) => {}
        Ok(false) => {
            let at = now();
            let reopened =
                Session { hwid: None, expires_at: crate::client::session_expiry(at), last_seen: at, ..session.clone() };
            match store.create_session(&reopened, &[]).await {
                Ok(()) => *session = reopened,
                Err(e) => tracing::warn!(error = %e, app_id = %session.app_id, "could not reopen a signed-out session"),
            }
        }
        Err(e) => tracing::warn!(error = %e, app_id = %session.app_id, "could not sign a session out"),
    }
}

/// Look at the connection's app again: deleted → event 100 and close 4102; paused or disabled →
/// event 101 and close 4101; the connection's client id or address blacklisted → close 4204; a
/// new version → event 102 `{"version"}`.
async fn check_app(conn: &mut Conn) -> Flow {
    let Some(init) = conn.init.as_ref() else { return Flow::Continue };
    let app_id = init.live.app.app.id.clone();
    let found = match conn.state.apps.by_id(conn.state.store.as_ref(), &app_id).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, app_id, "could not look at a live connection's app");
            return Flow::Continue;
        }
    };
    let Some(app) = found else {
        if conn.subscribed {
            conn.push_event(event::APP_DELETED, json!({})).await;
        }
        return Flow::Close(Close::APP_DELETED);
    };
    if app.app.status != AppStatus::Active {
        if conn.subscribed {
            conn.push_event(event::APP_PAUSED, json!({})).await;
        }
        return Flow::Close(Close::APP_PAUSED);
    }
    if client_id_blocked(&app, &init.client_id) || crate::client::ip_blacklisted(&app, conn.ip) {
        return Flow::Close(Close::EXTERNAL_ID_BLACKLISTED);
    }
    let version_changed = app.app.version != init.live.app.app.version;
    let version = app.app.version.clone();
    if let Some(init) = conn.init.as_mut() {
        init.live.app = app;
    }
    if version_changed && conn.subscribed {
        conn.push_event(event::APP_VERSION_CHANGED, json!({ "version": version })).await;
    }
    Flow::Continue
}

/// Whether the app's blacklist holds the client id (as a client id or a device).
pub fn client_id_blocked(app: &crate::cache::CachedApp, client_id: &str) -> bool {
    [BlacklistKind::ClientId, BlacklistKind::Hwid]
        .into_iter()
        .any(|kind| crate::client::blacklisted(app, kind, client_id).is_some())
}

/// The connection's session must still exist (the feed was interrupted: a kill may be lost).
async fn check_session(conn: &mut Conn) -> Flow {
    let Some(live) = conn.live() else { return Flow::Continue };
    match conn.state.store.session_by_token(&live.session.app_id, &live.session.token).await {
        Ok(Some(s)) if s.expires_at > now() => Flow::Continue,
        Ok(_) => Flow::Close(Close::DISCONNECTED),
        Err(e) => {
            tracing::warn!(error = %e, "could not look at a live connection's session");
            Flow::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(app: &str, session: &str, user: Option<&str>) -> (Entry, mpsc::UnboundedReceiver<Control>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let e = Entry {
            app_id: app.into(),
            session_id: session.into(),
            user_id: user.map(Into::into),
            license_id: None,
            control: tx,
        };
        (e, rx)
    }

    #[test]
    fn a_kick_reaches_only_the_connections_selected_event_first() {
        let hub = Hub::default();
        let (a, mut rx_a) = entry("app_1", "ses_1", Some("usr_1"));
        let (b, mut rx_b) = entry("app_1", "ses_2", None);
        let (c, mut rx_c) = entry("app_2", "ses_3", Some("usr_1"));
        for e in [a, b, c] {
            hub.register(e);
        }
        kick(&hub, |e| e.app_id == "app_1" && e.user_id.as_deref() == Some("usr_1"));
        assert!(matches!(rx_a.try_recv(), Ok(Control::Event { event_type: event::DISCONNECT, clear_auth: false, .. })));
        assert!(matches!(rx_a.try_recv(), Ok(Control::Close(c)) if c == Close::DISCONNECTED));
        assert!(rx_a.try_recv().is_err());
        assert!(rx_b.try_recv().is_err());
        assert!(rx_c.try_recv().is_err(), "another app's user with the same id is not kicked");
    }

    #[test]
    fn license_changes_have_their_event_and_sign_out_rule() {
        let table: Vec<(u32, bool)> = LicenseChange::ALL.into_iter().map(license_event).collect();
        assert_eq!(
            table,
            [(200, false), (201, true), (202, false), (203, true), (204, true), (205, true), (206, false)]
        );
    }
}
