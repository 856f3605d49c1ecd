//! The configuration a loader carries inside its own executable, and the region that holds it.
//!
//! A loader template is a prebuilt `tollgate-loader` executable with one reserved region of
//! [`REGION_LEN`] bytes in its data:
//!
//! ```text
//! offset 0   32 bytes  MARKER: the ASCII text "TOLLGATE-LOADER-CONFIG-REGION-v1"
//! offset 32   4 bytes  n: the length of the JSON that follows, u32 little-endian (0 = unconfigured)
//! offset 36   n bytes  the configuration, UTF-8 JSON (LoaderConfig, camelCase fields)
//!            ...       zeros up to REGION_LEN
//! ```
//!
//! The builder copies a template, finds the marker (it must occur exactly once in the file,
//! otherwise the file is not a template) and writes the length and JSON after it ([`write`]);
//! no compiler is involved and the executable's layout does not change. The loader reads its
//! own region at run time ([`read`]).

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The text that opens the region; nothing else in a template may contain it.
pub const MARKER: &[u8; 32] = b"TOLLGATE-LOADER-CONFIG-REGION-v1";
/// The whole region: marker, length and room for the JSON.
pub const REGION_LEN: usize = 8192;
/// Where the JSON starts in the region.
pub const HEADER_LEN: usize = MARKER.len() + 4;
/// The longest configuration JSON the region holds.
pub const CAPACITY: usize = REGION_LEN - HEADER_LEN;
/// The longest title, in characters.
pub const TITLE_MAX: usize = 64;

/// What the end user is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthType {
    /// Username and password.
    Login,
    /// A license key.
    License,
    /// The end user chooses either.
    Both,
}

impl AuthType {
    pub const ALL: [&'static str; 3] = ["login", "license", "both"];

    pub fn parse(s: &str) -> Option<AuthType> {
        match s {
            "login" => Some(AuthType::Login),
            "license" => Some(AuthType::License),
            "both" => Some(AuthType::Both),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Login => "login",
            AuthType::License => "license",
            AuthType::Both => "both",
        }
    }
}

/// A loader's configuration: the server, the app's credentials, the key its answers are signed
/// with, and what to ask and fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoaderConfig {
    /// The server's public root URL, `http://` or `https://`.
    pub url: String,
    pub app_id: String,
    pub api_key: String,
    /// The server's Ed25519 public key (SPKI PEM) the loader pins.
    pub public_key_pem: String,
    /// Shown when the loader starts.
    pub title: String,
    pub auth_type: AuthType,
    /// The file downloaded and run (or saved) after signing in; none: the loader only signs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
}

impl LoaderConfig {
    /// Check every value; a field named with its problem otherwise.
    pub fn validate(&self) -> Result<(), DomainError> {
        validate_url(&self.url)?;
        validate_token("appId", &self.app_id)?;
        validate_token("apiKey", &self.api_key)?;
        if let Some(id) = &self.file_id {
            validate_token("fileId", id)?;
        }
        if !self.public_key_pem.trim_start().starts_with("-----BEGIN PUBLIC KEY-----") {
            return Err(DomainError::validation("publicKeyPem", "must be an SPKI PEM public key"));
        }
        validate_title(&self.title)
    }
}

fn validate_url(url: &str) -> Result<(), DomainError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && url.len() <= 2048 && !url.chars().any(char::is_whitespace) => Ok(()),
        _ => Err(DomainError::validation("url", "must be an http:// or https:// URL")),
    }
}

fn validate_token(field: &str, value: &str) -> Result<(), DomainError> {
    if value.is_empty() || value.len() > 256 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(DomainError::validation(field, "must be 1-256 characters with no spaces or control characters"));
    }
    Ok(())
}

/// A title: 1 to [`TITLE_MAX`] characters, no control characters, not only spaces.
pub fn validate_title(title: &str) -> Result<(), DomainError> {
    let n = title.chars().count();
    if n == 0 || n > TITLE_MAX || title.trim().is_empty() {
        return Err(DomainError::validation("title", "must be 1-64 characters"));
    }
    if title.chars().any(char::is_control) {
        return Err(DomainError::validation("title", "must not contain control characters"));
    }
    Ok(())
}

/// The title as a file name: `A-Z a-z 0-9 . _ -` kept, anything else `_`, and never a name
/// that starts with a dot.
pub fn file_name_stem(title: &str) -> String {
    let mut stem: String = title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    if stem.starts_with('.') {
        stem.replace_range(0..1, "_");
    }
    stem
}

/// Why a configuration cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    /// The marker occurs zero times, more than once, or too near the end of the file.
    #[error("not a loader template")]
    NotTemplate,
    /// The configuration's JSON is longer than the region holds.
    #[error("the configuration is {len} bytes, more than the {CAPACITY} the template holds")]
    TooLarge { len: usize },
    /// The region's length or JSON is not what [`write`] leaves.
    #[error("the embedded configuration is damaged")]
    Damaged,
}

/// Where the one marker is in `bytes`.
pub fn find_marker(bytes: &[u8]) -> Result<usize, RegionError> {
    let mut found = None;
    let mut from = 0;
    while let Some(at) = find_from(bytes, from) {
        if found.is_some() {
            return Err(RegionError::NotTemplate);
        }
        found = Some(at);
        from = at + 1;
    }
    match found {
        Some(at) if at + REGION_LEN <= bytes.len() => Ok(at),
        _ => Err(RegionError::NotTemplate),
    }
}

fn find_from(bytes: &[u8], from: usize) -> Option<usize> {
    let first = MARKER[0];
    let mut i = from;
    while i + MARKER.len() <= bytes.len() {
        let at = i + bytes[i..].iter().position(|&b| b == first)?;
        if at + MARKER.len() > bytes.len() {
            return None;
        }
        if &bytes[at..at + MARKER.len()] == MARKER {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Write `config` into the region of `template` (a whole executable), in place.
pub fn write(template: &mut [u8], config: &LoaderConfig) -> Result<(), RegionError> {
    let at = find_marker(template)?;
    let json = serde_json::to_vec(config).map_err(|_| RegionError::Damaged)?;
    if json.len() > CAPACITY {
        return Err(RegionError::TooLarge { len: json.len() });
    }
    let region = &mut template[at..at + REGION_LEN];
    let len = u32::try_from(json.len()).map_err(|_| RegionError::TooLarge { len: json.len() })?;
    region[MARKER.len()..HEADER_LEN].copy_from_slice(&len.to_le_bytes());
    region[HEADER_LEN..HEADER_LEN + json.len()].copy_from_slice(&json);
    region[HEADER_LEN + json.len()..].fill(0);
    Ok(())
}

/// Read a region (at least its header and JSON, starting at the marker): `None` for an
/// unconfigured template. The marker bytes themselves are not compared, so the loader, which
/// knows where its region is, carries the marker only once.
pub fn read(region: &[u8]) -> Result<Option<LoaderConfig>, RegionError> {
    let header = region.get(MARKER.len()..HEADER_LEN).ok_or(RegionError::Damaged)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len == 0 {
        return Ok(None);
    }
    if len > CAPACITY {
        return Err(RegionError::Damaged);
    }
    let json = region.get(HEADER_LEN..HEADER_LEN + len).ok_or(RegionError::Damaged)?;
    serde_json::from_slice(json).map(Some).map_err(|_| RegionError::Damaged)
}

/// An unconfigured region, as a template's static holds it.
pub const fn empty_region() -> [u8; REGION_LEN] {
    let mut region = [0u8; REGION_LEN];
    let mut i = 0;
    while i < MARKER.len() {
        region[i] = MARKER[i];
        i += 1;
    }
    region
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LoaderConfig {
        LoaderConfig {
            url: "https://licensing.example.com".into(),
            app_id: "app_1".into(),
            api_key: "key".into(),
            public_key_pem: "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n".into(),
            title: "My App".into(),
            auth_type: AuthType::Both,
            file_id: Some("fil_1".into()),
        }
    }

    fn template() -> Vec<u8> {
        let mut bytes = vec![7u8; 100];
        bytes.extend_from_slice(&empty_region());
        bytes.extend_from_slice(&[9u8; 50]);
        bytes
    }

    #[test]
    fn written_config_reads_back() {
        let mut t = template();
        let at = find_marker(&t).unwrap();
        assert_eq!(at, 100);
        assert_eq!(read(&t[at..]).unwrap(), None);
        write(&mut t, &config()).unwrap();
        assert_eq!(read(&t[at..]).unwrap(), Some(config()));
        // The bytes around the region are untouched and the length is unchanged.
        assert_eq!(t.len(), 100 + REGION_LEN + 50);
        assert!(t[..100].iter().all(|&b| b == 7) && t[100 + REGION_LEN..].iter().all(|&b| b == 9));
        // Writing again over a longer configuration leaves no trailing bytes.
        let mut shorter = config();
        shorter.file_id = None;
        write(&mut t, &shorter).unwrap();
        assert_eq!(read(&t[at..]).unwrap(), Some(shorter));
    }

    #[test]
    fn marker_must_occur_exactly_once() {
        assert_eq!(write(&mut vec![0u8; REGION_LEN * 2], &config()), Err(RegionError::NotTemplate));
        let mut twice = template();
        twice.extend_from_slice(&empty_region());
        assert_eq!(write(&mut twice, &config()), Err(RegionError::NotTemplate));
        // A marker too close to the end to hold the region is not one.
        let mut cut = vec![0u8; 10];
        cut.extend_from_slice(MARKER);
        assert_eq!(find_marker(&cut), Err(RegionError::NotTemplate));
    }

    #[test]
    fn too_large_is_refused() {
        let mut t = template();
        let mut big = config();
        big.public_key_pem = format!("-----BEGIN PUBLIC KEY-----{}", "A".repeat(CAPACITY));
        assert!(matches!(write(&mut t, &big), Err(RegionError::TooLarge { .. })));
        assert_eq!(read(&t[100..]).unwrap(), None, "nothing written");
    }

    #[test]
    fn damaged_region_is_an_error() {
        let mut t = template();
        t[100 + MARKER.len()..100 + HEADER_LEN].copy_from_slice(&5u32.to_le_bytes());
        assert_eq!(read(&t[100..]), Err(RegionError::Damaged));
        t[100 + MARKER.len()..100 + HEADER_LEN].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read(&t[100..]), Err(RegionError::Damaged));
    }

    #[test]
    fn validation() {
        assert!(config().validate().is_ok());
        for (f, bad) in [("url", "ftp://x"), ("url", "https://"), ("title", ""), ("title", "a\nb")] {
            let mut c = config();
            match f {
                "url" => c.url = bad.into(),
                _ => c.title = bad.into(),
            }
            assert!(c.validate().is_err(), "{f}={bad:?}");
        }
        let mut c = config();
        c.title = "x".repeat(65);
        assert!(c.validate().is_err());
        c.title = "é".repeat(64);
        assert!(c.validate().is_ok());
        assert_eq!(AuthType::parse("both"), Some(AuthType::Both));
        assert_eq!(AuthType::parse("Both"), None);
        assert_eq!(file_name_stem("My App/ü v1.0"), "My_App___v1.0");
        assert_eq!(file_name_stem(".hidden"), "_hidden");
    }
}
