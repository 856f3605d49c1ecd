//! Field rules shared by every surface that accepts them (admin API, CLI, client dialects).

use crate::error::DomainError;

fn bad(field: &str, message: &str) -> DomainError {
    DomainError::validation(field, message)
}

/// Lowercased, trimmed; `local@domain` with a dot in the domain, at most 254 characters.
pub fn email(field: &str, e: &str) -> Result<String, DomainError> {
    let e = e.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.') && !d.contains('@')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(bad(field, "must be an email address"));
    }
    Ok(e)
}

/// Seller and reseller passwords: 8 to 1024 characters.
pub fn strong_password(field: &str, p: &str) -> Result<(), DomainError> {
    let n = p.chars().count();
    if !(8..=1024).contains(&n) {
        return Err(bad(field, "must be 8 to 1024 characters"));
    }
    Ok(())
}

/// The shortest end-user password, in characters.
pub const USER_PASSWORD_MIN: usize = 1;
/// The longest end-user password, in characters.
pub const USER_PASSWORD_MAX: usize = 1024;

/// End-user passwords: the seller's users choose them through the seller's app, so only
/// emptiness and absurd length are refused.
pub fn user_password(field: &str, p: &str) -> Result<(), DomainError> {
    let n = p.chars().count();
    if !(USER_PASSWORD_MIN..=USER_PASSWORD_MAX).contains(&n) {
        return Err(bad(field, "must be 1 to 1024 characters"));
    }
    Ok(())
}

/// Usernames (end users, resellers): 1 to 64 characters, no surrounding spaces, nothing
/// invisible or reordering (see [`crate::username`]). Returned trimmed, as it is displayed.
pub fn username(field: &str, u: &str) -> Result<String, DomainError> {
    let u = u.trim();
    if let Some(problem) = crate::username::problem(u) {
        return Err(bad(field, problem));
    }
    Ok(u.to_owned())
}

/// A username for a new account (register, a new reseller): [`username`], and not a mix of
/// scripts that spoofs use (Latin with Cyrillic or Greek letters).
pub fn new_username(field: &str, u: &str) -> Result<String, DomainError> {
    let u = u.trim();
    if let Some(problem) = crate::username::problem_for_new(u) {
        return Err(bad(field, problem));
    }
    Ok(u.to_owned())
}

/// Free text with a length cap (names, notes, reasons, messages).
pub fn text(field: &str, t: &str, max: usize) -> Result<String, DomainError> {
    if t.chars().count() > max {
        return Err(bad(field, &format!("must be at most {max} characters")));
    }
    Ok(t.to_owned())
}

pub fn nonempty_text(field: &str, t: &str, max: usize) -> Result<String, DomainError> {
    let t = t.trim();
    if t.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    text(field, t, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("email", " Dev@Example.COM ").unwrap(), "dev@example.com");
        for bad in ["", "dev", "dev@", "@x.com", "dev@x", "a b@x.com", "dev@.com"] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_and_names() {
        assert!(strong_password("password", "short").is_err());
        assert!(strong_password("password", "long enough").is_ok());
        assert!(user_password("password", "").is_err());
        assert_eq!(username("username", "  bob ").unwrap(), "bob");
        assert!(username("username", &"x".repeat(65)).is_err());
        assert!(nonempty_text("name", "   ", 10).is_err());
        assert!(text("note", &"é".repeat(10), 10).is_ok());
    }
}
