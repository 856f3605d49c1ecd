//! The live WebSocket sessions of this process, so a seller's action reaches them at once: the
//! invalidation feed (LISTEN/NOTIFY on PostgreSQL, so an action taken through any node) is
//! turned into a [`Control`] for each connection it concerns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use serde_json::Value;
use tokio::sync::mpsc;

use super::codes::Close;

/// What the hub tells a connection.
#[derive(Debug, Clone)]
pub enum Control {
    /// Close the socket with this code (no resumption).
    Close(Close),
    /// A panel event: pushed when subscribed; `clear_auth` signs the connection out either way.
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

    /// Send `control` to every connection `select` picks.
    pub fn send_where(&self, select: impl Fn(&Entry) -> bool, control: &Control) {
        for e in self.conns.read().unwrap_or_else(|p| p.into_inner()).values().filter(|e| select(e)) {
            let _ = e.control.send(control.clone());
        }
    }
}

/// Act on what the hub sent this connection.
// STUB: H-live builds it.
pub async fn on_control(conn: &mut super::conn::Conn, control: Control) -> super::conn::Flow {
    let _ = (conn, control);
    super::conn::Flow::Continue
}
