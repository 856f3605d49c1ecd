//! Throttling of repeated failures (wrong passwords) per key: per account and per IP.
//!
//! After `max_failures` failures inside `window`, the key is refused until the window that
//! started with the first failure has passed. A success clears the key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct FailureThrottle {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (u32, Instant)>>,
}

impl FailureThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        FailureThrottle { max_failures, window, entries: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds to wait)` while the key is throttled.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some(&(count, start)) if count >= self.max_failures => {
                let until = start + self.window;
                if now < until {
                    Err((until - now).as_secs().max(1))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Bound memory under a spray of keys: forget windows that have passed.
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, (_, start)| now.duration_since(*start) < window);
        }
        let e = map.entry(key.to_owned()).or_insert((0, now));
        if now.duration_since(e.1) >= self.window {
            *e = (0, now);
        }
        e.0 += 1;
    }

    pub fn record_success(&self, key: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_after_max_and_recovers() {
        let t = FailureThrottle::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.check("a", t0).is_ok());
            t.record_failure("a", t0);
        }
        assert_eq!(t.check("a", t0), Err(60));
        assert!(t.check("b", t0).is_ok(), "keys are independent");
        assert!(t.check("a", t0 + Duration::from_secs(61)).is_ok());
        t.record_success("a");
        assert!(t.check("a", t0).is_ok());
    }
}
