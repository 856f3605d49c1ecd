//! The message both directions of the client API are authenticated over:
//! `"{ts}\n{request_id}\n{nonce}\n{canonical_json(body)}"`. The server signs responses with
//! Ed25519 over it; the Authly C# SDK sends an HMAC-SHA256 of it, keyed with the app secret,
//! which the server checks when present.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::canonical::canonical_json;

/// The exact text that is signed (responses) or MACed (C# requests).
pub fn signed_message(ts: &str, request_id: &str, nonce: &str, body: &Value) -> String {
    signed_text(ts, request_id, nonce, &canonical_json(body))
}

/// [`signed_message`] for a body already serialised as canonical JSON.
pub fn signed_text(ts: &str, request_id: &str, nonce: &str, canonical_body: &str) -> String {
    format!("{ts}\n{request_id}\n{nonce}\n{canonical_body}")
}

/// Check a request's `x-v2-signature`: standard base64 of HMAC-SHA256(app secret, message), in
/// constant time. Anything that does not decode is simply wrong.
pub fn verify_request_mac(secret: &str, message: &str, signature_b64: &str) -> bool {
    let Ok(tag) = B64.decode(signature_b64.trim()) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(message.as_bytes());
    mac.verify_slice(&tag).is_ok()
}

/// What a client computes for [`verify_request_mac`] (tests and the Rust SDK).
pub fn request_mac(secret: &str, message: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(message.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn message_layout() {
        let body = json!({"b": 1, "a": "é"});
        assert_eq!(signed_message("17", "r", "n", &body), "17\nr\nn\n{\"a\":\"é\",\"b\":1}");
    }

    #[test]
    fn mac_round_trip_and_tamper() {
        let m = signed_message("1", "req", "nonce", &json!({"x": 1}));
        let tag = request_mac("as_secret", &m);
        assert!(verify_request_mac("as_secret", &m, &tag));
        assert!(!verify_request_mac("as_other", &m, &tag));
        assert!(!verify_request_mac("as_secret", &format!("{m} "), &tag));
        assert!(!verify_request_mac("as_secret", &m, "not base64!"));
        assert!(!verify_request_mac("as_secret", &m, ""));
    }
}
