//! The small key/value store a WebSocket session keeps for its client (Blazeauth packets 12–14):
//! at most [`MAX_ENTRIES`] entries and [`MAX_BYTES`] bytes of keys and values together, each
//! entry with its own lifetime. It lives with the session (and moves with it when the session is
//! resumed), so it is plain data: serialisable, no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::{to_millis, Timestamp};

/// Entries a session may hold.
pub const MAX_ENTRIES: usize = 64;
/// Bytes of keys plus values a session may hold (UTF-8).
pub const MAX_BYTES: usize = 16_384;
/// The lifetime of an entry set with a `ttl` of zero or less, in seconds: 72 hours. It is also
/// the longest lifetime an entry can have.
pub const DEFAULT_TTL_SECS: i64 = 72 * 3600;

/// Why a value was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The bytes would exceed [`MAX_BYTES`].
    OutOfMemory,
    /// A new key would exceed [`MAX_ENTRIES`].
    OutOfEntries,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    value: String,
    /// Unix milliseconds.
    expires_at: i64,
}

/// A session's values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionValues {
    entries: BTreeMap<String, Entry>,
}

impl SessionValues {
    /// Set `key` to `value` for `ttl_secs` (zero or less: [`DEFAULT_TTL_SECS`]; more is capped to
    /// it). Replacing a key frees its old bytes first; expired entries do not count.
    pub fn set(&mut self, key: &str, value: &str, ttl_secs: i64, now: Timestamp) -> Result<(), Refusal> {
        let now_ms = to_millis(&now);
        self.purge(now_ms);
        let replacing = self.entries.get(key).map(|e| key.len() + e.value.len());
        if replacing.is_none() && self.entries.len() >= MAX_ENTRIES {
            return Err(Refusal::OutOfEntries);
        }
        let used = self.used_bytes() - replacing.unwrap_or(0);
        if used + key.len() + value.len() > MAX_BYTES {
            return Err(Refusal::OutOfMemory);
        }
        let ttl = if ttl_secs <= 0 { DEFAULT_TTL_SECS } else { ttl_secs.min(DEFAULT_TTL_SECS) };
        self.entries.insert(key.to_owned(), Entry { value: value.to_owned(), expires_at: now_ms + ttl * 1000 });
        Ok(())
    }

    /// The value of `key`, if set and not expired.
    pub fn get(&self, key: &str, now: Timestamp) -> Option<&str> {
        let now_ms = to_millis(&now);
        self.entries.get(key).filter(|e| e.expires_at > now_ms).map(|e| e.value.as_str())
    }

    /// Remove `key`; `false` when it was not set (or had expired).
    pub fn delete(&mut self, key: &str, now: Timestamp) -> bool {
        let now_ms = to_millis(&now);
        self.purge(now_ms);
        self.entries.remove(key).is_some()
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of keys and values held.
    pub fn used_bytes(&self) -> usize {
        self.entries.iter().map(|(k, e)| k.len() + e.value.len()).sum()
    }

    fn purge(&mut self, now_ms: i64) {
        self.entries.retain(|_, e| e.expires_at > now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::now;

    #[test]
    fn values_live_for_their_ttl_and_zero_means_72_hours() {
        let t = now();
        let mut v = SessionValues::default();
        v.set("a", "1", 10, t).unwrap();
        v.set("b", "2", 0, t).unwrap();
        v.set("c", "3", -5, t).unwrap();
        assert_eq!(v.get("a", t), Some("1"));
        let later = t + chrono::Duration::seconds(11);
        assert_eq!(v.get("a", later), None);
        assert_eq!(v.get("b", later), Some("2"));
        let almost = t + chrono::Duration::seconds(DEFAULT_TTL_SECS - 1);
        assert_eq!(v.get("c", almost), Some("3"));
        assert_eq!(v.get("c", t + chrono::Duration::seconds(DEFAULT_TTL_SECS)), None);
        assert!(v.delete("b", t));
        assert!(!v.delete("b", t));
        assert!(!v.delete("a", later));
    }

    #[test]
    fn entries_and_bytes_are_capped() {
        let t = now();
        let mut v = SessionValues::default();
        for i in 0..MAX_ENTRIES {
            v.set(&format!("k{i}"), "v", 0, t).unwrap();
        }
        assert_eq!(v.set("one-more", "v", 0, t), Err(Refusal::OutOfEntries));
        // replacing an existing key is not a new entry
        v.set("k0", "w", 0, t).unwrap();
        let mut v = SessionValues::default();
        let big = "x".repeat(MAX_BYTES - 1);
        v.set("k", &big, 0, t).unwrap();
        assert_eq!(v.used_bytes(), MAX_BYTES);
        assert_eq!(v.set("k2", "", 0, t), Err(Refusal::OutOfMemory));
        // a replacement counts without the bytes it replaces
        v.set("k", "small", 0, t).unwrap();
        assert_eq!(v.used_bytes(), 6);
        // expired entries free their room
        let mut v = SessionValues::default();
        v.set("k", &big, 1, t).unwrap();
        v.set("k2", "y", 0, t + chrono::Duration::seconds(2)).unwrap();
    }
}
