//! Client activity for the seller's overview: hourly counters of inits, logins, registrations
//! and refused calls, and the latest refused calls themselves, with a bounded retention.
//!
//! The server aggregates in memory and writes one batch every few seconds
//! ([`ActivityStore::record_activity`]), so a flood of calls costs one upsert per key per flush.

use async_trait::async_trait;
use tollgate_core::model::LicenseStatus;
use tollgate_core::time::Timestamp;

use crate::StoreResult;

/// Refused-call rows older than this are purged.
pub const REFUSED_KEPT_MS: i64 = 30 * 24 * 3_600_000;
/// At most this many refused-call rows are kept per app (the newest).
pub const REFUSED_KEPT_PER_APP: u32 = 10_000;
/// Hourly counters older than this are purged (a little over the 30 days the overview shows).
pub const COUNTS_KEPT_MS: i64 = 35 * 24 * 3_600_000;

/// What a counter counts.
pub mod kind {
    pub const INIT: &str = "init";
    pub const LOGIN: &str = "login";
    pub const REGISTER: &str = "register";
    pub const REFUSED: &str = "refused";
}

/// One hourly counter: `n` calls of `kind` for the app in the hour starting at `hour`.
/// `reason` is the refusal's code for `refused` (empty otherwise); `dialect` is the client
/// protocol (empty when not split by it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCount {
    pub app_id: String,
    /// The start of the hour (minutes, seconds and milliseconds zero).
    pub hour: Timestamp,
    pub kind: String,
    pub reason: String,
    pub dialect: String,
    pub n: u64,
}

/// One refused client call, as the seller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedCall {
    pub id: String,
    pub app_id: String,
    pub at: Timestamp,
    pub dialect: String,
    pub reason: String,
    pub ip: String,
}

/// What one flush writes: counters to add to, refused calls to insert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityBatch {
    pub counts: Vec<ActivityCount>,
    pub refused: Vec<RefusedCall>,
}

impl ActivityBatch {
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.refused.is_empty()
    }
}

/// The start of the hour `t` is in.
pub fn hour_of(t: Timestamp) -> Timestamp {
    let ms = tollgate_core::time::to_millis(&t);
    tollgate_core::time::from_millis(ms - ms.rem_euclid(3_600_000))
}

#[async_trait]
pub trait ActivityStore {
    /// Add every counter (creating missing ones) and insert every refused call, in one
    /// transaction. Counters and calls of an app that no longer exists are skipped, not an
    /// error (an app may be deleted between a call and the flush).
    async fn record_activity(&self, batch: &ActivityBatch) -> StoreResult<()>;
    /// The app's counters for hours starting at or after `since`, oldest first.
    async fn activity_since(&self, app_id: &str, since: Timestamp) -> StoreResult<Vec<ActivityCount>>;
    /// The app's latest refused calls, newest first, at most `limit`.
    async fn recent_refused(&self, app_id: &str, limit: u32) -> StoreResult<Vec<RefusedCall>>;
    /// The app's licenses by status (statuses with none may be absent or 0); a lookup of the
    /// per-status totals, not a count over the licenses.
    async fn license_status_counts(&self, app_id: &str) -> StoreResult<Vec<(LicenseStatus, u64)>>;
    /// How many accounts the app has.
    async fn count_users(&self, app_id: &str) -> StoreResult<u64>;
    /// Delete refused calls at before `refused_before` and those beyond the newest
    /// `refused_per_app` of each app, and counters of hours before `counts_before`; returns how
    /// many rows went.
    async fn purge_activity(
        &self,
        refused_before: Timestamp,
        refused_per_app: u32,
        counts_before: Timestamp,
    ) -> StoreResult<u64>;
}
