//! Client sessions: 24 hours from creation, extended by a login.

use chrono::Duration;

use crate::error::DomainError;
use crate::model::Session;
use crate::time::Timestamp;

/// How long a session lives after init, and after each login.
pub const SESSION_TTL: Duration = Duration::hours(24);

/// A session as a request finds it: unknown → `InvalidSession`; past its expiry →
/// `SessionExpired` (expired sessions linger until the background purge, so the two differ).
pub fn check(session: Option<Session>, now: Timestamp) -> Result<Session, DomainError> {
    let session = session.ok_or(DomainError::InvalidSession)?;
    if session.expires_at <= now {
        return Err(DomainError::SessionExpired);
    }
    Ok(session)
}

/// A session token as clients send it: hex, 32..=128 characters. Anything else cannot be one of
/// ours and is refused before any lookup.
pub fn plausible_token(token: &str) -> bool {
    (32..=128).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::now;

    fn session(expires_at: Timestamp) -> Session {
        Session {
            id: "sess_1".into(),
            app_id: "app_1".into(),
            token: "ab".repeat(16),
            user_id: None,
            license_id: None,
            ip: None,
            hwid: None,
            client_id: None,
            created_at: now(),
            expires_at,
            last_seen: now(),
        }
    }

    #[test]
    fn unknown_expired_and_live() {
        let t = now();
        assert_eq!(check(None, t), Err(DomainError::InvalidSession));
        assert_eq!(check(Some(session(t)), t), Err(DomainError::SessionExpired), "expiry instant is expired");
        assert!(check(Some(session(t + Duration::milliseconds(1))), t).is_ok());
    }

    #[test]
    fn tokens_are_hex_of_sane_length() {
        assert!(plausible_token(&"a1".repeat(16)));
        assert!(!plausible_token("short"));
        assert!(!plausible_token(&"zz".repeat(16)));
        assert!(!plausible_token(&"a".repeat(129)));
    }
}
