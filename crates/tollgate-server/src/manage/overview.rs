//! An app's overview: what the seller's dashboard shows first. Every figure is a lookup of
//! counters (license totals by status, hourly activity counters) or a bounded read (live
//! sessions, the latest refused calls), never a scan of the app's licenses.

use std::collections::BTreeMap;

use chrono::{Duration, DurationRound};
use tollgate_core::model::LicenseStatus;
use tollgate_core::time::{now, Timestamp};
use tollgate_store::{hour_of, kind, RefusedCall};

use super::ManageResult;
use crate::state::AppState;

/// The latest refused calls the overview lists.
pub const RECENT_REFUSED: u32 = 50;
/// The kinds of calls that passed, in the order the charts stack them.
pub const OK_KINDS: [&str; 3] = [kind::INIT, kind::LOGIN, kind::REGISTER];

/// One bar of a chart: the bucket's start and its counts by key (a kind, or a refusal's code).
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start: Timestamp,
    pub counts: BTreeMap<String, u64>,
}

/// A series of buckets of one width, oldest first, and the totals by key over all of them
/// (largest first).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub buckets: Vec<Bucket>,
    pub totals: Vec<(String, u64)>,
}

impl Series {
    fn new(starts: impl Iterator<Item = Timestamp>) -> Series {
        Series { buckets: starts.map(|start| Bucket { start, counts: BTreeMap::new() }).collect(), totals: Vec::new() }
    }

    /// Add `n` to `key` in the bucket `at` falls in (nothing when it is outside the series).
    fn add(&mut self, at: Timestamp, key: &str, n: u64) {
        if let Some(b) = self.buckets.iter_mut().rev().find(|b| b.start <= at) {
            *b.counts.entry(key.to_owned()).or_insert(0) += n;
        }
    }

    fn finish(mut self) -> Series {
        let mut totals: BTreeMap<String, u64> = BTreeMap::new();
        for b in &self.buckets {
            for (k, n) in &b.counts {
                *totals.entry(k.clone()).or_insert(0) += n;
            }
        }
        let mut totals: Vec<(String, u64)> = totals.into_iter().collect();
        totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        self.totals = totals;
        self
    }

    /// The keys with a count, largest total first.
    pub fn keys(&self) -> Vec<String> {
        self.totals.iter().map(|(k, _)| k.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.totals.is_empty()
    }
}

/// Everything the overview page shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub live_sessions: u64,
    pub users: u64,
    /// Every status, in the core's order, with its count (0 when none).
    pub licenses: Vec<(LicenseStatus, u64)>,
    /// Inits, logins and registrations per hour over the last 24 hours (this hour included).
    pub activity_24h: Series,
    /// The same per UTC day over the last 30 days (today included).
    pub activity_30d: Series,
    /// Refused calls by code, per hour and per day over the same windows.
    pub refused_24h: Series,
    pub refused_30d: Series,
    /// The latest refused calls, newest first.
    pub recent_refused: Vec<RefusedCall>,
}

/// The app's overview at `now` (the caller has checked the app is the seller's).
pub async fn overview(state: &AppState, app_id: &str) -> ManageResult<Overview> {
    overview_at(state, app_id, now()).await
}

pub async fn overview_at(state: &AppState, app_id: &str, at: Timestamp) -> ManageResult<Overview> {
    let store = state.store.as_ref();
    let this_hour = hour_of(at);
    let today = at.duration_trunc(Duration::days(1)).unwrap_or(this_hour);
    let first_hour = this_hour - Duration::hours(23);
    let first_day = today - Duration::days(29);

    let mut activity_24h = Series::new((0..24).map(|i| first_hour + Duration::hours(i)));
    let mut activity_30d = Series::new((0..30).map(|i| first_day + Duration::days(i)));
    let mut refused_24h = Series::new((0..24).map(|i| first_hour + Duration::hours(i)));
    let mut refused_30d = Series::new((0..30).map(|i| first_day + Duration::days(i)));
    for c in store.activity_since(app_id, first_day).await? {
        let (hourly, daily, key) = if c.kind == kind::REFUSED {
            (&mut refused_24h, &mut refused_30d, c.reason.as_str())
        } else {
            (&mut activity_24h, &mut activity_30d, c.kind.as_str())
        };
        if c.hour >= first_hour {
            hourly.add(c.hour, key, c.n);
        }
        daily.add(c.hour, key, c.n);
    }

    let stored = store.license_status_counts(app_id).await?;
    let licenses =
        LicenseStatus::ALL.iter().map(|s| (*s, stored.iter().filter(|(t, _)| t == s).map(|(_, n)| n).sum())).collect();

    Ok(Overview {
        live_sessions: store.count_live_sessions(app_id, at).await?,
        users: store.count_users(app_id).await?,
        licenses,
        activity_24h: activity_24h.finish(),
        activity_30d: activity_30d.finish(),
        refused_24h: refused_24h.finish(),
        refused_30d: refused_30d.finish(),
        recent_refused: store.recent_refused(app_id, RECENT_REFUSED).await?,
    })
}
