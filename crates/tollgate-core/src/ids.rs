//! Identifiers and secrets from cryptographically secure generators.
//!
//! Random strings (ids, license keys, API, websocket and webhook keys) come from
//! `rand::rng()`, the thread-local `ThreadRng`: a CSPRNG (ChaCha with 12 rounds) in user space,
//! seeded from the operating system and reseeded from it every 64 KiB of output, so a string costs
//! no system call. Raw key material and salts ([`fill_random`], [`random_hex`]) are read straight
//! from the OS generator.
//!
//! Ids carry a type prefix (`app_`, `lic_`, ...) so a stray id in a log or a URL says what it is.

use rand::distr::{Distribution, Uniform};
use rand::{rngs::OsRng, Rng, TryRngCore};

const ALPHANUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALPHANUM_MIXED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Fill `buf` from the OS CSPRNG. The OS generator failing is not recoverable.
pub fn fill_random(buf: &mut [u8]) {
    let mut rng = OsRng.unwrap_err();
    rng.fill(buf);
}

/// A random string of `len` characters drawn uniformly from `alphabet` (exact rejection
/// sampling, no modulo bias), from the thread's CSPRNG (`rand::rng()`, see the module docs).
/// Drawing each character from the OS generator instead cost a `getrandom` system call per
/// character, which dominated bulk key generation.
///
/// Panics if `alphabet` is empty (every caller passes a constant).
pub fn random_from(alphabet: &[u8], len: usize) -> String {
    #[allow(clippy::expect_used)] // a programming error, not a runtime condition
    let index = Uniform::new(0, alphabet.len()).expect("a non-empty alphabet");
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(alphabet[index.sample(&mut rng)])).collect()
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

/// Webhook signing secret in the Standard Webhooks form: `whsec_` and the base64 of 24 random
/// bytes, the HMAC key a receiver's library decodes from it.
pub fn new_webhook_secret() -> String {
    use base64::Engine;
    let mut key = [0u8; 24];
    fill_random(&mut key);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
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
    /// A webhook delivery; its id is the `webhook-id` header.
    pub const DELIVERY: &str = "whmsg";
    pub const LOG: &str = "log";
    pub const AUDIT: &str = "aud";
    pub const REFRESH: &str = "rt";
    pub const CHANNEL: &str = "chan";
    pub const MESSAGE: &str = "msg";
    pub const DEVICE: &str = "dev";
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
        let secret = new_webhook_secret();
        let key = secret.strip_prefix("whsec_").unwrap();
        use base64::Engine;
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(key).unwrap().len(), 24);
        assert_ne!(new_webhook_secret(), secret);
    }

    #[test]
    fn random_strings_use_the_whole_alphabet_and_nothing_else() {
        let s = random_from(b"ab9", 3000);
        assert_eq!(s.len(), 3000);
        for c in ['a', 'b', '9'] {
            let n = s.chars().filter(|x| *x == c).count();
            assert!((700..1300).contains(&n), "{c}: {n} of 3000");
        }
        assert_eq!(random_from(ALPHANUM, 0), "");
    }
}
