//! Webhook signing secrets at rest: sealed with AES-256-GCM under the master key's
//! `"webhook-secrets"` purpose key, with the webhook's id as associated data (a sealed secret
//! copied onto another webhook does not open), stored as `sealed:v1:<base64(nonce || ciphertext)>`.
//! A plain `whsec_...` value, as webhooks made before sealing stored it, is read as it is.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::crypto::MasterKey;

const PURPOSE: &str = "webhook-secrets";
const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 12;

/// Why a stored secret could not be read. Never carries the secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the webhook's secret cannot be decrypted: it was stored under another master key or was changed")]
    Undecryptable,
    #[error("the webhook's secret is stored in an unknown form")]
    UnknownForm,
    #[error("the webhook's secret cannot be encrypted")]
    Seal,
}

/// Seals and opens webhook secrets with the key derived from the master key.
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl SecretBox {
    pub fn new(master: &MasterKey) -> SecretBox {
        SecretBox { cipher: Aes256Gcm::new(&master.derive(PURPOSE).into()) }
    }

    /// The text to store for `secret` on webhook `webhook_id`.
    pub fn seal(&self, webhook_id: &str, secret: &str) -> Result<String, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        tollgate_core::ids::fill_random(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret.as_bytes(), aad: webhook_id.as_bytes() })
            .map_err(|_| SecretError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// The plain `whsec_...` secret from what is stored for webhook `webhook_id`.
    pub fn open(&self, webhook_id: &str, stored: &str) -> Result<String, SecretError> {
        if stored.starts_with("whsec_") {
            return Ok(stored.to_owned());
        }
        let encoded = stored.strip_prefix(PREFIX).ok_or(SecretError::UnknownForm)?;
        let bytes = B64.decode(encoded).map_err(|_| SecretError::Undecryptable)?;
        if bytes.len() <= NONCE_LEN {
            return Err(SecretError::Undecryptable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: webhook_id.as_bytes() })
            .map_err(|_| SecretError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| SecretError::Undecryptable)
    }
}

/// The HMAC key of a `whsec_` secret: the base64 after the prefix, decoded (Standard Webhooks).
/// A secret whose tail is not base64 is used as its bytes.
pub fn signing_key(secret: &str) -> Vec<u8> {
    let tail = secret.strip_prefix("whsec_").unwrap_or(secret);
    B64.decode(tail).unwrap_or_else(|_| tail.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(byte: &str) -> SecretBox {
        SecretBox::new(&crate::crypto::parse_master_key(&byte.repeat(32)).unwrap())
    }

    #[test]
    fn sealed_secrets_open_only_on_their_webhook_under_their_master_key() {
        let b = boxed("ab");
        let sealed = b.seal("wh_1", "whsec_c2VjcmV0").unwrap();
        assert!(sealed.starts_with("sealed:v1:"), "{sealed}");
        assert!(!sealed.contains("c2VjcmV0"));
        assert_eq!(b.open("wh_1", &sealed).unwrap(), "whsec_c2VjcmV0");
        assert_ne!(b.seal("wh_1", "whsec_c2VjcmV0").unwrap(), sealed, "a fresh nonce each time");
        assert_eq!(b.open("wh_2", &sealed), Err(SecretError::Undecryptable));
        assert_eq!(boxed("cd").open("wh_1", &sealed), Err(SecretError::Undecryptable));
        assert_eq!(b.open("wh_1", "sealed:v1:AAAA"), Err(SecretError::Undecryptable));
        assert_eq!(b.open("wh_1", "sealed:v1:***"), Err(SecretError::Undecryptable));
        assert_eq!(b.open("wh_1", "nonsense"), Err(SecretError::UnknownForm));
    }

    #[test]
    fn legacy_plain_secrets_are_read_as_they_are() {
        assert_eq!(boxed("ab").open("wh_1", "whsec_abc").unwrap(), "whsec_abc");
    }

    #[test]
    fn the_signing_key_is_the_decoded_tail() {
        assert_eq!(signing_key("whsec_c2VjcmV0"), b"secret");
        assert_eq!(signing_key("whsec_not base64!"), b"not base64!");
    }
}
