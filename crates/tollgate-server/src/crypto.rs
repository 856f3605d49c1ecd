//! The master key and the keys derived from it.
//!
//! One 32-byte master key (from `master_key`, `master_key_file`, or generated into the data
//! directory on first start) encrypts everything secret at rest. Purpose keys are derived with
//! HKDF-SHA256 so nodes sharing the master key agree on them without sharing anything else.

use std::path::Path;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};

/// Where the master key comes from, as configured: the key itself, else a file holding it, else
/// `<data_dir>/master.key`.
#[derive(Clone, Copy, Debug)]
pub struct KeySource<'a> {
    pub key: Option<&'a str>,
    pub file: Option<&'a Path>,
    pub data_dir: &'a Path,
}

pub const MASTER_KEY_FILE: &str = "master.key";

#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

pub fn parse_master_key(text: &str) -> Option<MasterKey> {
    let bytes = hex::decode(text.trim()).ok()?;
    let arr: [u8; 32] = bytes.try_into().ok()?;
    Some(MasterKey(arr))
}

impl MasterKey {
    /// `master_key`, else `master_key_file`, else `<data_dir>/master.key` (created if missing).
    pub fn load(source: &KeySource<'_>) -> anyhow::Result<MasterKey> {
        if let Some(k) = source.key {
            return parse_master_key(k)
                .ok_or_else(|| anyhow::anyhow!("invalid setting `master_key`: must be 64 hex characters"));
        }
        if let Some(path) = source.file {
            return read_key_file(path);
        }
        let path = source.data_dir.join(MASTER_KEY_FILE);
        if path.exists() {
            return read_key_file(&path);
        }
        crate::app::create_data_dir(source.data_dir)?;
        let mut key = [0u8; 32];
        tollgate_core::ids::fill_random(&mut key);
        write_private(&path, &hex::encode(key))?;
        tracing::info!(path = %path.display(), "generated a new master key");
        Ok(MasterKey(key))
    }

    /// Like `load`, but never generates a key: the configured one or `<data_dir>/master.key`.
    pub fn load_existing(source: &KeySource<'_>) -> anyhow::Result<MasterKey> {
        if source.key.is_none() && source.file.is_none() {
            let path = source.data_dir.join(MASTER_KEY_FILE);
            if !path.is_file() {
                anyhow::bail!("no master key at {}", path.display());
            }
        }
        MasterKey::load(source)
    }

    /// A 32-byte key for one purpose (`"jwt"`, `"files"`, `"signing-key"`, ...).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::new(Some(b"tollgate/v1"), &self.0);
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte output limit.
        let _ = hk.expand(purpose.as_bytes(), &mut out);
        out
    }
}

fn read_key_file(path: &Path) -> anyhow::Result<MasterKey> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("invalid setting `master_key_file`: cannot read {}: {e}", path.display()))?;
    parse_master_key(&text).ok_or_else(|| {
        anyhow::anyhow!("invalid setting `master_key_file`: {} must hold 64 hex characters", path.display())
    })
}

/// Write a file readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

/// SHA-256 hex of a secret, for storing tokens we must recognise but never reveal.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_differ_by_purpose_and_are_stable() {
        let k = parse_master_key(&"ab".repeat(32)).unwrap();
        assert_ne!(k.derive("jwt"), k.derive("files"));
        assert_eq!(k.derive("jwt"), parse_master_key(&"AB".repeat(32)).unwrap().derive("jwt"));
        assert_eq!(format!("{k:?}"), "MasterKey(..)");
    }

    #[test]
    fn generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let source = KeySource { key: None, file: None, data_dir: dir.path() };
        let a = MasterKey::load(&source).unwrap();
        let b = MasterKey::load(&source).unwrap();
        assert_eq!(a.derive("x"), b.derive("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
