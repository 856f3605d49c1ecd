//! One WebSocket connection's state, and how answers leave it: every text packet the server
//! sends is signed ([`Conn::send_packet`]); frames go through a bounded queue to the one task
//! that writes the socket, so a slow reader slows its producers down instead of growing a buffer.

use std::collections::HashSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tollgate_core::session_store::SessionValues;

use super::codes::{Close, Status};
use super::wire::PUSH_ID;
use crate::client::Live;
use crate::state::AppState;

/// A frame for the socket's writer.
#[derive(Debug)]
pub enum Out {
    /// A signed text packet.
    Text(String),
    /// A file chunk frame.
    Binary(bytes::Bytes),
    /// Close the socket with this code and reason; nothing is written after it.
    Close(Close),
}

/// Frames queued for the writer at most (each at most one file chunk): the back-pressure bound.
pub const OUT_QUEUE: usize = 8;

/// The sending half of the writer's queue.
#[derive(Clone)]
pub struct Outgoing(pub mpsc::Sender<Out>);

impl Outgoing {
    /// Queue a frame, waiting while the queue is full. `false` when the socket is gone.
    pub async fn send(&self, out: Out) -> bool {
        self.0.send(out).await.is_ok()
    }
}

/// What a successful Initialize gave the connection.
pub struct Init {
    /// The durable session (counted in the app's quota, listed and killable by the seller) with
    /// its app and the caller's address.
    pub live: Live,
    pub client_id: String,
}

/// Who the connection is signed in as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Auth {
    /// Authorize by license (packet 2).
    License { license_id: String },
    /// Authorize by credentials (packet 3).
    Account { user_id: String },
}

/// What to do after a packet.
#[derive(Debug)]
pub enum Flow {
    Continue,
    /// Close the socket (after the answers already queued).
    Close(Close),
}

/// One connection's state. Packets are handled one at a time, in order; a file transfer runs
/// beside them in its own task.
pub struct Conn {
    pub state: AppState,
    /// The socket address, or the forwarded one behind a trusted proxy.
    pub ip: IpAddr,
    pub out: Outgoing,
    /// The resume id handed out with the upgrade (the `Resume-Id` header).
    pub resume_id: String,
    pub init: Option<Init>,
    pub auth: Option<Auth>,
    /// The per-session value store (packets 12–14).
    pub values: SessionValues,
    /// Panel events subscription (packet 17).
    pub subscribed: bool,
    /// File transfers running on this connection (packets 7, 8).
    pub transfers: super::transfer::Running,
    /// Ids of packets answered on the connections this one resumed: not answered again.
    pub answered_before: HashSet<u64>,
    /// Ids answered on this connection (carried into a resume), newest last, bounded.
    pub answered: std::collections::VecDeque<u64>,
    /// This connection's key in the process's [`super::hub::Hub`], once initialized.
    pub hub_key: Option<u64>,
    /// Consecutive Initialize packets whose app lookup failed (4205 after 3).
    pub lookup_failures: u32,
}

/// Packet ids remembered for resumption at most.
pub const ANSWERED_KEPT: usize = 1024;

impl Conn {
    pub fn new(state: AppState, ip: IpAddr, out: Outgoing, resume_id: String) -> Conn {
        Conn {
            state,
            ip,
            out,
            resume_id,
            init: None,
            auth: None,
            values: SessionValues::default(),
            subscribed: false,
            transfers: Default::default(),
            answered_before: HashSet::new(),
            answered: Default::default(),
            hub_key: None,
            lookup_failures: 0,
        }
    }

    /// The live session, once initialized.
    pub fn live(&self) -> Option<&Live> {
        self.init.as_ref().map(|i| &i.live)
    }

    /// Remember that packet `id` was answered (for resumption).
    pub fn mark_answered(&mut self, id: u64) {
        if self.answered.len() == ANSWERED_KEPT {
            self.answered.pop_front();
        }
        self.answered.push_back(id);
    }

    /// Sign and queue an answer: `body`'s fields (a struct serialising to an object, or `()`
    /// for none) with `id` and `status`. `false` when the socket is gone.
    pub async fn reply<T: Serialize>(&self, id: u64, status: Status, body: &T) -> bool {
        let mut packet = match serde_json::to_value(body) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        packet.insert("id".into(), Value::from(id));
        packet.insert("status".into(), serde_json::to_value(status).unwrap_or(Value::Null));
        self.send_packet(packet).await
    }

    /// `{id, status}` alone.
    pub async fn status(&self, id: u64, status: Status) -> bool {
        self.reply(id, status, &()).await
    }

    /// A panel event: `{"id": 18446744073709551615, "event_type": N, "content": {...}}`, signed.
    pub async fn push_event(&self, event_type: u32, content: Value) -> bool {
        let mut packet = Map::new();
        packet.insert("id".into(), Value::from(PUSH_ID));
        packet.insert("event_type".into(), Value::from(event_type));
        packet.insert("content".into(), content);
        self.send_packet(packet).await
    }

    /// Sign any packet and queue it.
    pub async fn send_packet(&self, packet: Map<String, Value>) -> bool {
        let text = self.state.signer.get().sign_packet(packet);
        self.out.send(Out::Text(text)).await
    }
}
