//! Password hashing: argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane) or above.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
pub const MIN_PASSWORD_LEN: usize = 1;
pub const MAX_PASSWORD_LEN: usize = 1024;

fn argon2() -> Argon2<'static> {
    // The constants are valid parameters; `Params::new` only fails on out-of-range values.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    crate::ids::fill_random(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon2().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Verify against a stored PHC string; the parameters stored in it are the ones used.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the account does not exist, so that "no such user" and
/// "wrong password" take the same time.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("tollgate-dummy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("hunter2").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("hunter2", &h));
        assert!(!verify("hunter3", &h));
        assert!(!verify("hunter2", "not a hash"));
        assert_ne!(hash("hunter2").unwrap(), h, "salted");
    }
}
