//! Identifiers and secrets from the operating system's CSPRNG.
//!
//! Ids carry a type prefix (`app_`, `lic_`, ...) so a stray id in a log or a URL says what it is.

use rand::{rngs::OsRng, Rng, TryRngCore};

const ALPHANUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALPHANUM_MIXED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Fill `buf` from the OS CSPRNG. The OS generator failing is not recoverable.
pub fn fill_random(buf: &mut [u8]) {
    let mut rng = OsRng.unwrap_err();
    rng.fill(buf);
}

/// A random string of `len` characters drawn uniformly from `alphabet` (rejection sampling).
pub fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = OsRng.unwrap_err();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// `prefix_` + 20 lowercase alphanumerics (~103 bits).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_from(ALPHANUM, 20))
}

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    hex::encode(buf)
}

/// App API key (`as_...`; also the Authly `secret`): 40 mixed-case alphanumerics (~238 bits).
pub fn new_api_key() -> String {
    format!("as_{}", random_from(ALPHANUM_MIXED, 40))
}

/// Blazeauth `websocket_api_key`: exactly 21 mixed-case alphanumerics.
pub fn new_ws_key() -> String {
    random_from(ALPHANUM_MIXED, 21)
}

/// Webhook signing secret.
pub fn new_webhook_secret() -> String {
    format!("whsec_{}", random_from(ALPHANUM_MIXED, 32))
}

/// Opaque bearer token (refresh tokens, session tokens): 32 random bytes, hex.
pub fn new_token() -> String {
    random_hex(32)
}

pub mod prefix {
    pub const SELLER: &str = "seller";
    pub const APP: &str = "app";
    pub const LICENSE: &str = "lic";
    pub const USER: &str = "usr";
    pub const SESSION: &str = "sess";
    pub const VARIABLE: &str = "var";
    pub const BLACKLIST: &str = "bl";
    pub const RESELLER: &str = "rsl";
    pub const FILE: &str = "file";
    pub const WEBHOOK: &str = "wh";
    pub const LOG: &str = "log";
    pub const AUDIT: &str = "aud";
    pub const REFRESH: &str = "rt";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_differ() {
        let a = new_id("app");
        let b = new_id("app");
        assert!(a.starts_with("app_") && a.len() == 24);
        assert_ne!(a, b);
    }

    #[test]
    fn key_shapes() {
        assert!(new_api_key().starts_with("as_"));
        assert_eq!(new_api_key().len(), 43);
        assert_eq!(new_ws_key().len(), 21);
        assert!(new_ws_key().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(random_hex(16).len(), 32);
        assert!(new_webhook_secret().starts_with("whsec_"));
    }
}
