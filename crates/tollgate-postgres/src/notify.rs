//! Cache invalidation across processes: `NOTIFY tollgate_invalidate, '<payload>'` on publish,
//! and one `LISTEN` connection per process feeding a broadcast channel.
//!
//! A notification is delivered only while the listening connection is up. When it drops, the
//! listener reconnects and sends `Invalidation::All`: whatever was published meanwhile is lost,
//! so every cache must be dropped.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tollgate_store::{Invalidation, StoreResult};

use crate::error::db_err;

pub(crate) const CHANNEL: &str = "tollgate_invalidate";

/// The listener task; aborted when the last clone of the store is dropped.
#[derive(Debug)]
pub(crate) struct Feed {
    pub(crate) events: broadcast::Sender<Invalidation>,
    task: JoinHandle<()>,
}

impl Feed {
    /// Stop listening and give the listener's connection back to the pool (which `close()`
    /// waits for).
    pub(crate) async fn stop(&self) {
        self.task.abort();
        // Wait until the aborted task has dropped its listener.
        while !self.task.is_finished() {
            tokio::task::yield_now().await;
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The listener gets a connection of its own (its own one-connection pool, from the same URL),
/// so it never takes one of the store's pooled connections.
pub(crate) async fn start(url: &str) -> StoreResult<Arc<Feed>> {
    let (events, _) = broadcast::channel(1024);
    let mut listener = PgListener::connect(url).await.map_err(db_err)?;
    listener.listen(CHANNEL).await.map_err(db_err)?;
    let tx = events.clone();
    let task = tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    let _ = tx.send(Invalidation::from_payload(n.payload()));
                }
                // The connection was lost; the next call reconnects and listens again.
                Ok(None) => {
                    tracing::warn!("invalidation feed interrupted; dropping caches");
                    let _ = tx.send(Invalidation::All);
                }
                // `close()` was called: give the connection back, or the close waits for it
                // forever (the listener keeps it across `PoolClosed`).
                Err(sqlx::Error::PoolClosed) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "invalidation feed failed; retrying");
                    let _ = tx.send(Invalidation::All);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(Arc::new(Feed { events, task }))
}

pub(crate) async fn publish(pool: &PgPool, invalidation: &Invalidation) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(invalidation.to_payload())
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(())
}
