//! Client activity for the seller's overview: inits, logins and registrations that passed, and
//! the calls refused, noted in memory by the client paths and written every few seconds in one
//! batch ([`ActivityRecorder::flush`]).
//!
//! A flood costs memory and writes that do not grow with its rate: counters aggregate per key
//! (app, hour, kind, reason, protocol), refused-call rows are capped per app per flush (the
//! counters stay exact), and the number of pending keys is bounded (past it a new key is dropped
//! and counted in `tollgate_activity_dropped_total`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tollgate_core::ids;
use tollgate_core::time::{now, to_millis};
use tollgate_core::DomainError;
use tollgate_store::{hour_of, kind, ActivityBatch, ActivityCount, RefusedCall, Store};

use crate::metrics::Metrics;

/// How often the worker flushes.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// Refused-call rows kept per app per flush; the counters count every refusal.
pub const REFUSED_ROWS_PER_FLUSH: u32 = 100;
/// Pending counter keys (and refused-call rows) held between flushes at most.
pub const MAX_PENDING: usize = 10_000;

/// The client protocols, as the overview names them.
pub mod dialect {
    pub const AUTHLY: &str = "authly";
    pub const AUTHON: &str = "authon";
    pub const BLAZE: &str = "blazeauth";
    /// File downloads by link: not a sign-in protocol, nothing is recorded for it.
    pub const DOWNLOAD: &str = "download";
}

type Key = (String, i64, &'static str, String, &'static str);

#[derive(Default)]
struct Pending {
    counts: HashMap<Key, u64>,
    refused: Vec<RefusedCall>,
    rows_per_app: HashMap<String, u32>,
}

pub struct ActivityRecorder {
    pending: Mutex<Pending>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

/// The code a refusal is recorded under: the domain error's name (`InvalidSecret`,
/// `IpBlocked`, ...), the same whatever the protocol. `None` for a failure of the server
/// itself (database down, busy), which refused nothing.
pub fn refusal_code(e: &DomainError) -> Option<String> {
    match e {
        DomainError::Unavailable | DomainError::Busy | DomainError::Internal => None,
        other => Some(other.name().to_owned()),
    }
}

impl ActivityRecorder {
    pub fn new(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> ActivityRecorder {
        ActivityRecorder { pending: Mutex::new(Pending::default()), store, metrics }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn add(&self, pending: &mut Pending, key: Key) -> bool {
        let full = pending.counts.len() >= MAX_PENDING;
        match pending.counts.get_mut(&key) {
            Some(n) => *n += 1,
            None if full => {
                self.metrics.activity_dropped();
                return false;
            }
            None => {
                pending.counts.insert(key, 1);
            }
        }
        true
    }

    /// A call of `kind` (`init`, `login`, `register`) that passed.
    pub fn ok(&self, app_id: &str, dialect: &'static str, kind: &'static str) {
        let key = (app_id.to_owned(), to_millis(&hour_of(now())), kind, String::new(), dialect);
        let mut pending = self.lock();
        self.add(&mut pending, key);
    }

    /// A refused call of a known app.
    pub fn refused(&self, app_id: &str, dialect: &'static str, code: &str, ip: IpAddr) {
        let at = now();
        let key = (app_id.to_owned(), to_millis(&hour_of(at)), kind::REFUSED, code.to_owned(), dialect);
        let mut pending = self.lock();
        if !self.add(&mut pending, key) {
            return;
        }
        if pending.refused.len() >= MAX_PENDING {
            return;
        }
        let rows = pending.rows_per_app.entry(app_id.to_owned()).or_insert(0);
        if *rows >= REFUSED_ROWS_PER_FLUSH {
            return;
        }
        *rows += 1;
        pending.refused.push(RefusedCall {
            id: ids::new_id("ref"),
            app_id: app_id.to_owned(),
            at,
            dialect: dialect.to_owned(),
            reason: code.to_owned(),
            ip: ip.to_string(),
        });
    }

    /// The outcome of a call of `kind` for a known app: counted when it passed, recorded as a
    /// refusal when the client was refused.
    pub fn note<T>(
        &self,
        app_id: &str,
        dialect: &'static str,
        ip: IpAddr,
        kind: &'static str,
        outcome: &Result<T, DomainError>,
    ) {
        match outcome {
            Ok(_) => self.ok(app_id, dialect, kind),
            Err(e) => self.refused_by(app_id, dialect, ip, e),
        }
    }

    /// A refusal of a known app, by the error the client gets.
    pub fn refused_by(&self, app_id: &str, dialect: &'static str, ip: IpAddr, e: &DomainError) {
        if let Some(code) = refusal_code(e) {
            self.refused(app_id, dialect, &code, ip);
        }
    }

    /// Take what is pending, as one batch.
    fn take(&self) -> ActivityBatch {
        let pending = std::mem::take(&mut *self.lock());
        let counts = pending
            .counts
            .into_iter()
            .map(|((app_id, hour, kind, reason, dialect), n)| ActivityCount {
                app_id,
                hour: tollgate_core::time::from_millis(hour),
                kind: kind.to_owned(),
                reason,
                dialect: dialect.to_owned(),
                n,
            })
            .collect();
        ActivityBatch { counts, refused: pending.refused }
    }

    /// Write what is pending in one transaction. A failed write is logged and its activity lost
    /// (the overview is a view, not a ledger).
    pub async fn flush(&self) {
        let batch = self.take();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.record_activity(&batch).await {
            tracing::warn!(error = %e, keys = batch.counts.len(), "activity flush failed; this batch is lost");
        }
    }
}
