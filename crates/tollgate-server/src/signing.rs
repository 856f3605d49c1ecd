//! Signed responses, so a client can tell a real answer from a forged one: the server's Ed25519
//! key and the signature the Authly v2 SDKs verify. The rules are written down in
//! `docs/dialects/signing.md`.
//!
//! A response is signed over `"{ts}\n{request_id}\n{nonce}\n{canonical_json(body)}"`, where
//! `ts` is the signing time (unix milliseconds), `request_id` and `nonce` are the request's own,
//! and the body is canonical JSON (`tollgate_core::canonical`). [`Signer::sign_value`] takes the
//! answer as a JSON value and serialises it once, so the bytes sent are the bytes signed; how
//! the signature travels is the dialect's (Authly: the `x-v2-signature*` headers written by
//! `crate::dialect::authly::envelope`).
//!
//! One key is active at a time, shared by every node on the database. Its private half is stored
//! encrypted with AES-256-GCM under the master key's `"signing-key"` purpose key, as
//! `nonce (12 bytes) || ciphertext+tag`, with the kid as associated data (a ciphertext copied
//! onto another row does not decrypt). Kids are `k1`, `k2`, ... in order of creation.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey as Ed25519Key, VerifyingKey};
use serde_json::Value;
use tollgate_core::canonical::canonical_json;
use tollgate_core::time::Timestamp;
use tollgate_store::{SigningKey, Store};

use crate::crypto::MasterKey;

/// The master key's purpose for encrypting signing keys.
const PURPOSE: &str = "signing-key";
const NONCE_LEN: usize = 12;
/// Tries of a create or rotate that lost a race to another node before giving up.
const ATTEMPTS: usize = 5;

/// The exact text that is signed.
pub fn signed_message(ts_ms: i64, request_id: &str, nonce: &str, body: &Value) -> String {
    tollgate_core::integrity::signed_message(&ts_ms.to_string(), request_id, nonce, body)
}

/// The active signing key, decrypted and ready to sign.
#[derive(Clone)]
pub struct Signer {
    kid: String,
    key: Ed25519Key,
    public_key_pem: String,
    created_at: Timestamp,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// The active key from the store, or a new one made active when there is none (first start).
    ///
    /// Nodes starting together on an empty database each make a key, and the store lets exactly
    /// one be inserted as active; the others read that one back. A stored key that cannot be
    /// decrypted (another master key) is an error, never a reason to make a new one.
    pub async fn load_or_create(store: &dyn Store, master: &MasterKey) -> anyhow::Result<Signer> {
        for _ in 0..ATTEMPTS {
            if let Some(stored) = store.active_signing_key().await.context("cannot read the signing key")? {
                return Signer::open(&stored, master);
            }
            let existing = store.list_signing_keys().await.context("cannot read the signing keys")?;
            let (row, signer) = Signer::generate(next_kid(&existing), master, true)?;
            if store.insert_signing_key(&row).await.context("cannot store the signing key")? {
                tracing::info!(kid = %signer.kid, "generated the response signing key");
                return Ok(signer);
            }
            // Another node inserted its key first: read that one on the next turn.
        }
        bail!("could not load or create the signing key: the signing keys kept changing; try again")
    }

    /// Make a new key and make it the active one; older keys stay stored, inactive.
    ///
    /// Running servers switch to it through [`SignerCell::refresh`]. Of concurrent rotations,
    /// the last to activate its key wins.
    pub async fn rotate(store: &dyn Store, master: &MasterKey) -> anyhow::Result<Signer> {
        for _ in 0..ATTEMPTS {
            let existing = store.list_signing_keys().await.context("cannot read the signing keys")?;
            let (row, signer) = Signer::generate(next_kid(&existing), master, false)?;
            if !store.insert_signing_key(&row).await.context("cannot store the signing key")? {
                continue; // another rotation took this kid
            }
            if store.activate_signing_key(&signer.kid).await.context("cannot activate the signing key")? {
                tracing::info!(kid = %signer.kid, "rotated the response signing key");
                return Ok(signer);
            }
        }
        bail!("could not rotate the signing key: the signing keys kept changing; try again")
    }

    /// A stored key, decrypted with the master key and checked against its public half.
    pub fn open(stored: &SigningKey, master: &MasterKey) -> anyhow::Result<Signer> {
        let seed = unseal(master, &stored.kid, &stored.private_key_enc)?;
        let key = Ed25519Key::from_bytes(&seed);
        if key.verifying_key().as_bytes().as_slice() != stored.public_key.as_slice() {
            bail!("signing key {}: the private key does not match the stored public key", stored.kid);
        }
        Signer::from_key(stored.kid.clone(), key, stored.created_at)
    }

    fn generate(kid: String, master: &MasterKey, active: bool) -> anyhow::Result<(SigningKey, Signer)> {
        let mut seed = [0u8; 32];
        tollgate_core::ids::fill_random(&mut seed);
        let key = Ed25519Key::from_bytes(&seed);
        let created_at = tollgate_core::time::now();
        let row = SigningKey {
            public_key: key.verifying_key().as_bytes().to_vec(),
            private_key_enc: seal(master, &kid, &seed)?,
            kid: kid.clone(),
            created_at,
            active,
        };
        Ok((row, Signer::from_key(kid, key, created_at)?))
    }

    fn from_key(kid: String, key: Ed25519Key, created_at: Timestamp) -> anyhow::Result<Signer> {
        let public_key_pem = pem_of(&key.verifying_key())?;
        Ok(Signer { kid, key, public_key_pem, created_at })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), what an SDK is given to pin.
    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Sign a response: the base64 signature for `x-v2-signature` and the kid for
    /// `x-v2-signature-kid`. `ts_ms` goes in `x-v2-signature-ts`; `request_id` and `nonce` are
    /// the request's (empty when it sent none); `body` is the JSON object sent.
    pub fn sign(&self, ts_ms: i64, request_id: &str, nonce: &str, body: &Value) -> (String, &str) {
        let message = signed_message(ts_ms, request_id, nonce, body);
        let signature = self.key.sign(message.as_bytes());
        (B64.encode(signature.to_bytes()), &self.kid)
    }

    /// Sign an answer now: `body` is serialised once, as canonical JSON, and those are the bytes
    /// to send. `request_id` and `nonce` are the request's (empty when it sent none).
    pub fn sign_value(&self, request_id: &str, nonce: &str, body: &Value) -> Signed {
        let canonical = canonical_json(body);
        let ts_ms = tollgate_core::time::to_millis(&tollgate_core::time::now());
        let message = tollgate_core::integrity::signed_text(&ts_ms.to_string(), request_id, nonce, &canonical);
        let signature = B64.encode(self.key.sign(message.as_bytes()).to_bytes());
        Signed { body: canonical, signature, kid: self.kid.clone(), ts_ms }
    }
}

impl Signer {
    /// Issue an offline license file: `payload` signed with this key and armoured
    /// (`tollgate_core::license_file`).
    pub fn sign_license_file(&self, payload: &tollgate_core::license_file::Payload) -> String {
        tollgate_core::license_file::issue(payload, &self.kid, |m| self.key.sign(m).to_bytes())
    }
}

/// The fields a signed WebSocket packet carries its signature in.
pub const PACKET_SIGNATURE_FIELDS: [&str; 3] = ["signature", "signature_ts", "signature_kid"];

impl Signer {
    /// Sign a WebSocket answer packet (a JSON object holding its `id`) in place of a header:
    /// the signature goes into the packet itself as `signature` (standard base64),
    /// `signature_ts` (unix milliseconds, a number) and `signature_kid`. The message is the one
    /// the HTTP answers use, `"{signature_ts}\n{id}\n\n{canonical JSON of the packet without the
    /// three fields}"`, with the packet's `id` as the request id (decimal) and no nonce. Returns the
    /// text to send: the canonical JSON of the packet with its signature.
    pub fn sign_packet(&self, mut packet: serde_json::Map<String, Value>) -> String {
        for field in PACKET_SIGNATURE_FIELDS {
            packet.remove(field);
        }
        let id = packet.get("id").map(|v| v.to_string()).unwrap_or_default();
        let ts_ms = tollgate_core::time::to_millis(&tollgate_core::time::now());
        let canonical = canonical_json(&Value::Object(packet));
        let message = tollgate_core::integrity::signed_text(&ts_ms.to_string(), &id, "", &canonical);
        let signature = B64.encode(self.key.sign(message.as_bytes()).to_bytes());
        let Ok(Value::Object(mut packet)) = serde_json::from_str::<Value>(&canonical) else {
            unreachable!("canonical JSON of an object parses back to an object")
        };
        packet.insert("signature".into(), Value::String(signature));
        packet.insert("signature_ts".into(), Value::from(ts_ms));
        packet.insert("signature_kid".into(), Value::String(self.kid.clone()));
        canonical_json(&Value::Object(packet))
    }
}

/// Check a signed WebSocket packet (see [`Signer::sign_packet`]) against an SPKI PEM public key.
pub fn verify_packet(public_key_pem: &str, packet: &Value) -> bool {
    let Some(obj) = packet.as_object() else { return false };
    let (Some(sig), Some(ts)) =
        (obj.get("signature").and_then(Value::as_str), obj.get("signature_ts").and_then(Value::as_i64))
    else {
        return false;
    };
    let mut body = obj.clone();
    for field in PACKET_SIGNATURE_FIELDS {
        body.remove(field);
    }
    let id = body.get("id").map(|v| v.to_string()).unwrap_or_default();
    let Ok(key) = VerifyingKey::from_public_key_pem(public_key_pem) else { return false };
    let Ok(bytes) = B64.decode(sig) else { return false };
    let Ok(signature) = Signature::from_slice(&bytes) else { return false };
    let message =
        tollgate_core::integrity::signed_text(&ts.to_string(), &id, "", &canonical_json(&Value::Object(body)));
    key.verify_strict(message.as_bytes(), &signature).is_ok()
}

/// A signed answer, ready for the wire.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The canonical JSON of the answer: exactly the bytes that were signed.
    pub body: String,
    /// Standard base64 of the 64-byte Ed25519 signature.
    pub signature: String,
    /// The id of the key that signed.
    pub kid: String,
    /// When it was signed, unix milliseconds.
    pub ts_ms: i64,
}

/// The signer in use, swappable while the server runs: after `tollgate keys rotate` every node
/// switches to the new active key (at once through the invalidation feed, or at the next
/// periodic check when the feed cannot reach it, e.g. SQLite and a separate CLI process).
pub struct SignerCell {
    current: std::sync::RwLock<std::sync::Arc<Signer>>,
}

impl SignerCell {
    pub fn new(signer: Signer) -> SignerCell {
        SignerCell { current: std::sync::RwLock::new(std::sync::Arc::new(signer)) }
    }

    /// The signer to use for one answer.
    pub fn get(&self) -> std::sync::Arc<Signer> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Load the active key from the store and switch to it if it is another one. A failure is
    /// logged and the current key kept: answers stay signed, by the key clients had.
    pub async fn refresh(&self, store: &dyn Store, master: &MasterKey) {
        let stored = match store.active_signing_key().await {
            Ok(Some(stored)) => stored,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the active signing key");
                return;
            }
        };
        if stored.kid == self.get().kid {
            return;
        }
        match Signer::open(&stored, master) {
            Ok(signer) => {
                tracing::info!(kid = %signer.kid, "switched to the rotated signing key");
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(signer);
            }
            Err(e) => tracing::error!(error = %e, kid = %stored.kid, "cannot open the active signing key"),
        }
    }
}

/// Check a signature the way the Authly Python SDK does: `ts` is the header text, the signature
/// standard base64, the key SPKI PEM. `false` for anything that does not verify or parse.
pub fn verify(public_key_pem: &str, ts: &str, request_id: &str, nonce: &str, body: &Value, signature: &str) -> bool {
    let Ok(key) = VerifyingKey::from_public_key_pem(public_key_pem) else { return false };
    let Ok(bytes) = B64.decode(signature) else { return false };
    let Ok(signature) = Signature::from_slice(&bytes) else { return false };
    let message = tollgate_core::integrity::signed_message(ts, request_id, nonce, body);
    key.verify_strict(message.as_bytes(), &signature).is_ok()
}

/// The SPKI PEM of a stored key's public half.
pub fn public_key_pem(stored: &SigningKey) -> anyhow::Result<String> {
    let bytes: [u8; 32] = stored
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| anyhow!("signing key {}: the public key is not 32 bytes", stored.kid))?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| anyhow!("signing key {}: the public key is not an Ed25519 point", stored.kid))?;
    pem_of(&key)
}

fn pem_of(key: &VerifyingKey) -> anyhow::Result<String> {
    key.to_public_key_pem(LineEnding::LF).map_err(|e| anyhow!("cannot encode the public key: {e}"))
}

/// `k{n+1}` for the highest `k{n}` among the stored keys (`k1` for none).
fn next_kid(existing: &[SigningKey]) -> String {
    let highest = existing.iter().filter_map(|k| k.kid.strip_prefix('k')?.parse::<u64>().ok()).max().unwrap_or(0);
    format!("k{}", highest.saturating_add(1))
}

fn cipher(master: &MasterKey) -> Aes256Gcm {
    Aes256Gcm::new(&master.derive(PURPOSE).into())
}

fn seal(master: &MasterKey, kid: &str, seed: &[u8; 32]) -> anyhow::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    tollgate_core::ids::fill_random(&mut nonce);
    let sealed = cipher(master)
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: seed, aad: kid.as_bytes() })
        .map_err(|_| anyhow!("cannot encrypt the signing key"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn unseal(master: &MasterKey, kid: &str, sealed: &[u8]) -> anyhow::Result<[u8; 32]> {
    if sealed.len() <= NONCE_LEN {
        bail!("signing key {kid}: the stored private key is truncated");
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let seed = cipher(master)
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: kid.as_bytes() })
        .map_err(|_| anyhow!("signing key {kid} cannot be decrypted: this is not the master key it was stored with"))?;
    seed.as_slice().try_into().map_err(|_| anyhow!("signing key {kid}: the private key is not 32 bytes"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::crypto::parse_master_key;

    fn master(byte: &str) -> MasterKey {
        parse_master_key(&byte.repeat(32)).unwrap()
    }

    async fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = tollgate_sqlite::SqliteStore::open(&url, 4).await.unwrap();
        (dir, Arc::new(store))
    }

    fn stored(kid: &str) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            public_key: vec![0; 32],
            private_key_enc: vec![],
            created_at: tollgate_core::time::now(),
            active: false,
        }
    }

    #[test]
    fn kids_count_up_from_the_highest() {
        assert_eq!(next_kid(&[]), "k1");
        assert_eq!(next_kid(&[stored("k1")]), "k2");
        assert_eq!(next_kid(&[stored("k2"), stored("k10"), stored("k9")]), "k11");
        assert_eq!(next_kid(&[stored("imported"), stored("kx"), stored("k3")]), "k4");
    }

    #[test]
    fn the_signed_message_is_ts_request_nonce_and_canonical_body() {
        let body = json!({"success": true, "message": "Zoë ✓", "code": "OK"});
        assert_eq!(
            signed_message(1_700_000_000_123, "req-1", "ab12", &body),
            "1700000000123\nreq-1\nab12\n{\"code\":\"OK\",\"message\":\"Zoë ✓\",\"success\":true}"
        );
    }

    #[test]
    fn private_keys_are_sealed_to_the_master_key_and_the_kid() {
        let m = master("ab");
        let seed = [7u8; 32];
        let sealed = seal(&m, "k1", &seed).unwrap();
        assert_eq!(sealed.len(), 12 + 32 + 16);
        assert_eq!(unseal(&m, "k1", &sealed).unwrap(), seed);
        // A fresh nonce each time.
        assert_ne!(seal(&m, "k1", &seed).unwrap(), sealed);
        assert!(unseal(&master("cd"), "k1", &sealed).unwrap_err().to_string().contains("master key"));
        assert!(unseal(&m, "k2", &sealed).is_err(), "moved to another kid");
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(unseal(&m, "k1", &flipped).is_err());
        assert!(unseal(&m, "k1", &sealed[..12]).is_err());
    }

    #[tokio::test]
    async fn signatures_verify_and_tampering_does_not() {
        let (_dir, store) = sqlite().await;
        let signer = Signer::load_or_create(store.as_ref(), &master("ab")).await.unwrap();
        let body = json!({"success": false, "code": "INVALID_SESSION", "message": "Sessão inválida 😕", "n": 1.5});
        let (sig, kid) = signer.sign(1_700_000_000_000, "r-1", "n-1", &body);
        assert_eq!(kid, "k1");
        assert_eq!(B64.decode(&sig).unwrap().len(), 64);
        let pem = signer.public_key_pem();
        assert!(verify(pem, "1700000000000", "r-1", "n-1", &body, &sig));

        let mut tampered = body.clone();
        tampered["code"] = json!("OK");
        assert!(!verify(pem, "1700000000000", "r-1", "n-1", &tampered, &sig));
        assert!(!verify(pem, "1700000000001", "r-1", "n-1", &body, &sig));
        assert!(!verify(pem, "1700000000000", "r-2", "n-1", &body, &sig));
        assert!(!verify(pem, "1700000000000", "r-1", "n-2", &body, &sig));
        assert!(!verify(pem, "1700000000000", "r-1", "n-1", &body, "not base64!"));

        let (_dir2, other_store) = sqlite().await;
        let other = Signer::load_or_create(other_store.as_ref(), &master("ab")).await.unwrap();
        assert_ne!(other.public_key_pem(), pem, "a new key per database");
        assert!(!verify(other.public_key_pem(), "1700000000000", "r-1", "n-1", &body, &sig));
    }

    #[tokio::test]
    async fn a_value_is_signed_over_the_bytes_it_is_sent_as() {
        let (_dir, store) = sqlite().await;
        let signer = Signer::load_or_create(store.as_ref(), &master("ab")).await.unwrap();
        let body = json!({"success": true, "message": "Zoë", "n": null, "a": [2, 1]});
        let signed = signer.sign_value("r-1", "n-1", &body);
        assert_eq!(signed.body, canonical_json(&body));
        assert_eq!(signed.kid, "k1");
        let ts = signed.ts_ms.to_string();
        assert!(verify(signer.public_key_pem(), &ts, "r-1", "n-1", &body, &signed.signature));
        let sent: Value = serde_json::from_str(&signed.body).unwrap();
        assert!(verify(signer.public_key_pem(), &ts, "r-1", "n-1", &sent, &signed.signature));
    }

    #[tokio::test]
    async fn the_public_key_is_spki_pem() {
        let (_dir, store) = sqlite().await;
        let signer = Signer::load_or_create(store.as_ref(), &master("ab")).await.unwrap();
        let pem = signer.public_key_pem();
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.len(), 3, "{pem}");
        assert_eq!(lines[0], "-----BEGIN PUBLIC KEY-----");
        assert_eq!(lines[2], "-----END PUBLIC KEY-----");
        // The SPKI DER of an Ed25519 key: the algorithm header, then the 32 raw bytes.
        let der = B64.decode(lines[1]).unwrap();
        assert_eq!(&der[..12], &[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
        assert_eq!(&der[12..], signer.verifying_key().as_bytes());
        assert!(lines[1].starts_with("MCowBQYDK2VwAyEA"));
        let row = store.active_signing_key().await.unwrap().unwrap();
        assert_eq!(public_key_pem(&row).unwrap(), pem);
    }

    #[tokio::test]
    async fn loaded_again_it_is_the_same_key_and_another_master_key_is_refused() {
        let (_dir, store) = sqlite().await;
        let first = Signer::load_or_create(store.as_ref(), &master("ab")).await.unwrap();
        let again = Signer::load_or_create(store.as_ref(), &master("ab")).await.unwrap();
        assert_eq!((again.kid(), again.public_key_pem()), (first.kid(), first.public_key_pem()));
        assert_eq!(again.created_at(), first.created_at());
        let row = store.active_signing_key().await.unwrap().unwrap();
        assert_eq!(row.public_key, first.verifying_key().as_bytes().to_vec());
        assert!(!row.private_key_enc.windows(32).any(|w| w == first.key.to_bytes()), "stored encrypted");

        let err = Signer::load_or_create(store.as_ref(), &master("cd")).await.unwrap_err();
        assert!(err.to_string().contains("master key"), "{err}");
        assert_eq!(store.list_signing_keys().await.unwrap().len(), 1, "no second key made");
    }

    #[tokio::test]
    async fn rotation_makes_a_new_active_key_and_keeps_the_old() {
        let (_dir, store) = sqlite().await;
        let m = master("ab");
        let first = Signer::load_or_create(store.as_ref(), &m).await.unwrap();
        let second = Signer::rotate(store.as_ref(), &m).await.unwrap();
        assert_eq!((first.kid(), second.kid()), ("k1", "k2"));
        assert_ne!(first.public_key_pem(), second.public_key_pem());
        let loaded = Signer::load_or_create(store.as_ref(), &m).await.unwrap();
        assert_eq!((loaded.kid(), loaded.public_key_pem()), (second.kid(), second.public_key_pem()));
        let third = Signer::rotate(store.as_ref(), &m).await.unwrap();
        let listed: Vec<(String, bool)> =
            store.list_signing_keys().await.unwrap().into_iter().map(|k| (k.kid, k.active)).collect();
        let kids: Vec<(&str, bool)> = listed.iter().map(|(k, a)| (k.as_str(), *a)).collect();
        assert_eq!(kids, vec![("k3", true), ("k2", false), ("k1", false)]);
        // Old keys still open: their rows were not touched.
        for row in store.list_signing_keys().await.unwrap() {
            let opened = Signer::open(&row, &m).unwrap();
            assert_eq!(opened.kid(), row.kid);
        }
        assert_eq!(third.kid(), "k3");
    }

    #[tokio::test]
    async fn a_stored_key_whose_halves_differ_is_refused() {
        let (_dir, store) = sqlite().await;
        let m = master("ab");
        let signer = Signer::load_or_create(store.as_ref(), &m).await.unwrap();
        let mut row = store.active_signing_key().await.unwrap().unwrap();
        assert_eq!(Signer::open(&row, &m).unwrap().kid(), signer.kid());
        row.public_key[0] ^= 1;
        assert!(Signer::open(&row, &m).unwrap_err().to_string().contains("does not match"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_starting_together_agree_on_one_key() {
        let (_dir, store) = sqlite().await;
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { Signer::load_or_create(store.as_ref(), &master("ab")).await.unwrap() })
            })
            .collect();
        let signers: Vec<Signer> = futures::future::join_all(tasks).await.into_iter().map(|t| t.unwrap()).collect();
        for s in &signers {
            assert_eq!((s.kid(), s.public_key_pem()), (signers[0].kid(), signers[0].public_key_pem()));
        }
        assert_eq!(store.list_signing_keys().await.unwrap().len(), 1);
    }
}
