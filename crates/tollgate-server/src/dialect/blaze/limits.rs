//! The WebSocket endpoint's rate limit: each connection may take `--ws-rate-limit` client actions
//! (text and binary frames, pings) in any sliding minute ([`Actions`]). The action that crosses
//! the limit is still answered; then the socket is closed 4201 and its address is put in a
//! backoff of [`BACKOFF`] ([`Backoff`]): an upgrade from it is refused with HTTP 429 and
//! `Retry-After`, and an Initialize on a connection it already holds is closed 4201 with the
//! seconds left.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an address that hit the rate limit waits before it may connect again.
pub const BACKOFF: Duration = Duration::from_secs(60);

/// The window the rate limit counts actions in.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Addresses in backoff past which expired entries are swept on the next insert.
const SWEEP_AT: usize = 1024;

/// The addresses in backoff, and until when. One per process (in `AppState`): a client that
/// reconnects through another node is not held back there.
#[derive(Default)]
pub struct Backoff {
    until: Mutex<HashMap<IpAddr, Instant>>,
}

impl Backoff {
    /// Put `ip` in backoff for [`BACKOFF`] from `now` (a later end wins).
    pub fn start(&self, ip: IpAddr, now: Instant) {
        let mut map = self.until.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_AT {
            map.retain(|_, until| *until > now);
        }
        let until = now + BACKOFF;
        let entry = map.entry(ip).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// The whole seconds `ip` still has to wait (at least 1), or `None` when it may go on.
    pub fn left(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let mut map = self.until.lock().unwrap_or_else(|p| p.into_inner());
        let until = *map.get(&ip)?;
        if until <= now {
            map.remove(&ip);
            return None;
        }
        Some(until.duration_since(now).as_secs_f64().ceil().max(1.0) as u64)
    }
}

/// One connection's recent actions: a sliding window of at most `limit` instants.
pub struct Actions {
    limit: usize,
    at: VecDeque<Instant>,
}

impl Actions {
    pub fn new(limit: u32) -> Actions {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX).max(1);
        // Grown as actions come: an idle connection holds next to nothing.
        Actions { limit, at: VecDeque::new() }
    }

    /// Count one action at `now`: `false` when it is one more than the limit allows in the last
    /// minute (the crossing action).
    pub fn take(&mut self, now: Instant) -> bool {
        while self.at.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            self.at.pop_front();
        }
        if self.at.len() >= self.limit {
            return false;
        }
        self.at.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_past_the_limit_crosses_it_and_the_window_slides() {
        let t = Instant::now();
        let mut a = Actions::new(3);
        assert!(a.take(t));
        assert!(a.take(t + Duration::from_secs(10)));
        assert!(a.take(t + Duration::from_secs(20)));
        assert!(!a.take(t + Duration::from_secs(30)));
        // the first action leaves the window a minute after it was taken
        assert!(a.take(t + Duration::from_secs(60)));
        assert!(!a.take(t + Duration::from_secs(61)));
    }

    #[test]
    fn backoff_counts_down_and_ends() {
        let t = Instant::now();
        let b = Backoff::default();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let other: IpAddr = "203.0.113.8".parse().unwrap();
        assert_eq!(b.left(ip, t), None);
        b.start(ip, t);
        assert_eq!(b.left(ip, t), Some(60));
        assert_eq!(b.left(ip, t + Duration::from_millis(59_500)), Some(1));
        assert_eq!(b.left(other, t), None);
        assert_eq!(b.left(ip, t + BACKOFF), None);
        assert_eq!(b.left(ip, t), None, "an ended backoff is forgotten");
    }
}
