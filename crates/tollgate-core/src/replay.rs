//! Replay defence for client requests: a request carries a timestamp and a nonce; one
//! whose timestamp is more than [`WINDOW`] away from the server's clock, or whose nonce was seen
//! inside the window, is refused. The store remembers nonces for the window, shared by every
//! process, so a request cannot be replayed against another node either.

use chrono::Duration;

use crate::error::DomainError;
use crate::time::{to_millis, Timestamp};

/// How far a request's timestamp may be from the server's clock, either way.
pub const WINDOW: Duration = Duration::minutes(5);

/// A nonce as the SDKs make them (32 hex chars) or any printable token of sane length.
pub fn plausible_nonce(nonce: &str) -> bool {
    (8..=128).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_graphic())
}

/// The timestamp check: `ts_ms` is the client's clock in milliseconds since the epoch.
pub fn check_timestamp(ts_ms: i64, now: Timestamp) -> Result<(), DomainError> {
    let skew = to_millis(&now).saturating_sub(ts_ms).saturating_abs();
    if skew > WINDOW.num_milliseconds() {
        return Err(DomainError::ReplayedRequest);
    }
    Ok(())
}

/// How long a nonce must be remembered: until no request carrying it can pass the timestamp
/// check any more.
pub fn remember_until(ts_ms: i64, now: Timestamp) -> Timestamp {
    let by_ts = crate::time::from_millis(ts_ms) + WINDOW;
    by_ts.max(now + WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::now;

    #[test]
    fn window_is_five_minutes_either_way() {
        let t = now();
        let ms = to_millis(&t);
        assert!(check_timestamp(ms, t).is_ok());
        assert!(check_timestamp(ms - 300_000, t).is_ok());
        assert!(check_timestamp(ms + 300_000, t).is_ok());
        assert_eq!(check_timestamp(ms - 300_001, t), Err(DomainError::ReplayedRequest));
        assert_eq!(check_timestamp(ms + 300_001, t), Err(DomainError::ReplayedRequest));
        assert_eq!(check_timestamp(i64::MIN, t), Err(DomainError::ReplayedRequest));
        assert_eq!(check_timestamp(i64::MAX, t), Err(DomainError::ReplayedRequest));
    }

    #[test]
    fn nonces_outlive_their_window() {
        let t = now();
        let ms = to_millis(&t);
        assert_eq!(remember_until(ms, t), t + WINDOW);
        assert_eq!(remember_until(ms + 60_000, t), t + WINDOW + Duration::minutes(1));
    }

    #[test]
    fn nonce_shape() {
        assert!(plausible_nonce(&"0f".repeat(16)));
        assert!(!plausible_nonce("short"));
        assert!(!plausible_nonce("has space inside it"));
        assert!(!plausible_nonce(&"a".repeat(129)));
    }
}
