//! The server's response-signing keys (docs/dialects/signing.md): one row per key ever made,
//! exactly one active.
//!
//! The store keeps bytes and flags only; what the key is (Ed25519), how its private half is
//! encrypted and how kids are chosen live in `tollgate-server`'s `signing` module.

use async_trait::async_trait;
use tollgate_core::time::Timestamp;

use crate::StoreResult;

#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id, sent with every signature (`x-v2-signature-kid`).
    pub kid: String,
    /// The raw public key (32 bytes for Ed25519).
    pub public_key: Vec<u8>,
    /// The private key, encrypted by the server (nonce || ciphertext); opaque to the store.
    pub private_key_enc: Vec<u8>,
    pub created_at: Timestamp,
    /// The key responses are signed with. At most one key is active at any time.
    pub active: bool,
}

/// Without the encrypted private key, so a key in a log or a failed assertion shows nothing
/// secret.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("public_key", &self.public_key)
            .field("created_at", &self.created_at)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait SigningKeyStore {
    /// Insert the key unless that would break a rule, in which case nothing changes and the
    /// answer is `false`: the kid exists already, or `key.active` is set while another key is
    /// active. Of several concurrent inserts of active keys (nodes starting together on an empty
    /// database) exactly one returns `true`.
    async fn insert_signing_key(&self, key: &SigningKey) -> StoreResult<bool>;
    /// Every key, newest first (`created_at DESC, kid DESC`).
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// The key responses are signed with; `None` before the first one is made.
    async fn active_signing_key(&self) -> StoreResult<Option<SigningKey>>;
    /// Make `kid` the only active key, in one transaction (concurrent calls are serialized:
    /// afterwards exactly one key is active, the last caller's). `false`, and nothing changed,
    /// if there is no such key.
    async fn activate_signing_key(&self, kid: &str) -> StoreResult<bool>;
}
