//! Cache invalidation on SQLite: one process owns the database file, so the feed is an
//! in-process broadcast channel.

use tokio::sync::broadcast;
use tollgate_store::Invalidation;

pub(crate) fn channel() -> broadcast::Sender<Invalidation> {
    broadcast::channel(1024).0
}
