//! The checks every client request passes before it is read, whatever carries it (an HTTP
//! request today, a WebSocket packet tomorrow): the per-IP rate limit and the replay defence.
//! Each is a plain function of the state and what the transport read from the request.

use std::net::IpAddr;

use tollgate_core::time::{now, to_millis};
use tollgate_core::{replay, DomainError};

use super::store_err;
use crate::state::AppState;

/// The per-IP rate limit (`--client-rate-limit`): `RateLimited` with the whole seconds to wait
/// (at least 1) when the address has used up its bucket. Always passes when the limit is off.
pub fn rate_limit(state: &AppState, ip: IpAddr) -> Result<(), DomainError> {
    let Some(limiter) = &state.client_limiter else { return Ok(()) };
    limiter.check_key(&ip).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
        DomainError::RateLimited { retry_after_secs: wait.as_secs().max(1) }
    })
}

/// The replay defence, for the timestamp and nonce a request carries (either may be absent:
/// older clients send neither, and an answer to them is bound to nothing they can replay, since
/// it echoes no nonce).
///
/// A timestamp (unix milliseconds, as text) must be within the window of the server's clock; a
/// nonce must be plausible and not seen before inside the window, on any node: the store
/// remembers it until no request carrying it can pass the timestamp check any more (written in a
/// group commit with the nonces of concurrent requests, see `AppState::nonces`).
pub async fn check_replay(state: &AppState, timestamp: Option<&str>, nonce: Option<&str>) -> Result<(), DomainError> {
    let now = now();
    let ts = match timestamp {
        Some(t) => {
            let ms = t.parse::<i64>().map_err(|_| DomainError::ReplayedRequest)?;
            replay::check_timestamp(ms, now)?;
            Some(ms)
        }
        None => None,
    };
    if let Some(nonce) = nonce.filter(|n| !n.is_empty()) {
        if !replay::plausible_nonce(nonce) {
            return Err(DomainError::ReplayedRequest);
        }
        let until = replay::remember_until(ts.unwrap_or_else(|| to_millis(&now)), now);
        // Group commit: one transaction for the nonces of many concurrent requests, this one
        // answered once its batch has committed.
        if !state.nonces.submit((nonce.to_owned(), until)).await.map_err(store_err)? {
            return Err(DomainError::ReplayedRequest);
        }
    }
    Ok(())
}
