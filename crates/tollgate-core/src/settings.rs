//! App settings (hash check, IP whitelist, VPN and country blocking, version control, quotas, ...)
//! and their validation. The admin API deserialises a patch; every
//! field is checked here so the same rules hold for the dashboard and the CLI.

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::duration::DurationType;
use crate::error::DomainError;
use crate::time::{parse_rfc3339, Timestamp};
use crate::version::{RuleMode, Version, VersionControl, VersionRule};

pub const MAX_APP_NAME_LEN: usize = 64;
pub const MAX_LIST_LEN: usize = 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppSettings {
    pub hash_check: bool,
    /// Lowercase 64-hex SHA-256 digests.
    pub hashes: Vec<String>,
    pub ip_whitelist: Vec<IpNet>,
    pub block_vpn: bool,
    /// Uppercase ISO 3166-1 alpha-2 codes.
    pub blocked_countries: Vec<String>,
    pub version_control: VersionControl,
    pub session_quota: Option<u32>,
    pub accounts_quota: Option<u32>,
    pub hwid_lock: bool,
    pub allow_password_change: bool,
    /// Accounts can only be created with a license (Blazeauth create account without one is
    /// refused).
    pub accounts_require_license: bool,
    /// Lifetime in seconds of the offline license files issued to clients, and the default of
    /// the admin route ([`crate::license_file::MIN_TTL`] to [`crate::license_file::MAX_TTL`]).
    pub license_file_ttl: i64,
    /// Level number (as text, JSON object keys are strings) → subscription name.
    pub level_names: BTreeMap<String, String>,
    /// Credits a reseller pays per key, by duration (`"30d"`, `"lifetime"`, ... as
    /// `DurationType` displays it). A duration not listed costs [`DEFAULT_RESELLER_PRICE`].
    pub reseller_prices: BTreeMap<String, i64>,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            hash_check: false,
            hashes: Vec::new(),
            ip_whitelist: Vec::new(),
            block_vpn: false,
            blocked_countries: Vec::new(),
            version_control: VersionControl::default(),
            session_quota: None,
            accounts_quota: None,
            hwid_lock: true,
            allow_password_change: true,
            accounts_require_license: false,
            license_file_ttl: crate::license_file::DEFAULT_TTL,
            level_names: BTreeMap::new(),
            reseller_prices: BTreeMap::new(),
        }
    }
}

impl AppSettings {
    /// The name shown to clients for a level: the seller's name for it, else `"Level N"`.
    pub fn level_name(&self, level: i64) -> String {
        self.level_names.get(&level.to_string()).cloned().unwrap_or_else(|| format!("Level {level}"))
    }

    /// What one key of `duration` costs a reseller: the seller's price for it, else
    /// [`DEFAULT_RESELLER_PRICE`].
    pub fn reseller_price(&self, duration: DurationType) -> i64 {
        self.reseller_prices.get(&duration.to_string()).copied().unwrap_or(DEFAULT_RESELLER_PRICE)
    }
}

/// Credits a reseller pays for a key whose duration has no price of its own.
pub const DEFAULT_RESELLER_PRICE: i64 = 1;
/// The highest price of one key, in credits (the highest balance a seller can give).
pub const MAX_RESELLER_PRICE: i64 = 1_000_000_000;

/// `resellerPrices` of a patch: every key a duration (stored as the duration displays itself,
/// so two spellings of one duration cannot both be priced), every price 0 to
/// [`MAX_RESELLER_PRICE`] credits.
pub fn validate_reseller_prices(raw: BTreeMap<String, i64>) -> Result<BTreeMap<String, i64>, DomainError> {
    let mut out = BTreeMap::new();
    for (key, price) in raw {
        let duration: DurationType =
            key.trim().parse().map_err(|_| bad("resellerPrices", &format!("`{key}` is not a license duration")))?;
        if !(0..=MAX_RESELLER_PRICE).contains(&price) {
            return Err(bad(
                &format!("resellerPrices.{key}"),
                "must be a whole number of credits from 0 to 1000000000",
            ));
        }
        if out.insert(duration.to_string(), price).is_some() {
            return Err(bad("resellerPrices", &format!("`{duration}` is priced twice")));
        }
    }
    Ok(out)
}

/// A version rule as it arrives on the wire, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawVersionRule {
    pub version: String,
    pub mode: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub allowed_until: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawVersionControl {
    pub enabled: Option<bool>,
    pub auto_update: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub download_url: Option<Option<String>>,
    pub force_update: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub changelog: Option<Option<String>>,
    pub rules: Option<Vec<RawVersionRule>>,
}

/// `PATCH /v1/admin/apps/:appId`: every field optional; `null` clears a nullable one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppPatch {
    pub name: Option<String>,
    pub version: Option<String>,
    pub status: Option<String>,
    pub hash_check: Option<bool>,
    pub hashes: Option<Vec<String>>,
    pub ip_whitelist: Option<Vec<String>>,
    pub block_vpn: Option<bool>,
    pub blocked_countries: Option<Vec<String>>,
    pub version_control: Option<RawVersionControl>,
    #[serde(default, deserialize_with = "double_option")]
    pub session_quota: Option<Option<u32>>,
    #[serde(default, deserialize_with = "double_option")]
    pub accounts_quota: Option<Option<u32>>,
    pub hwid_lock: Option<bool>,
    pub allow_password_change: Option<bool>,
    pub accounts_require_license: Option<bool>,
    pub license_file_ttl: Option<i64>,
    pub level_names: Option<BTreeMap<String, String>>,
    /// Replaces every price; `{}` puts every duration back to the default.
    pub reseller_prices: Option<BTreeMap<String, i64>>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

pub(crate) fn bad(field: &str, message: &str) -> DomainError {
    DomainError::validation(field, message)
}

pub fn validate_app_name(name: &str) -> Result<String, DomainError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_APP_NAME_LEN || trimmed.chars().any(char::is_control) {
        return Err(bad("name", "must be 1-64 printable characters"));
    }
    Ok(trimmed.to_owned())
}

pub fn validate_version(field: &str, v: &str) -> Result<String, DomainError> {
    Version::parse(v).map_err(|_| bad(field, "must be 1 to 8 dot-separated numbers, e.g. 1.3 or 2.0.1"))?;
    Ok(v.trim().to_owned())
}

pub fn validate_sha256(field: &str, h: &str) -> Result<String, DomainError> {
    let h = h.trim();
    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(field, "each entry must be a SHA-256 digest of 64 hex characters"));
    }
    Ok(h.to_ascii_lowercase())
}

pub fn validate_country(field: &str, c: &str) -> Result<String, DomainError> {
    let c = c.trim();
    if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad(field, "each entry must be an ISO 3166-1 alpha-2 country code"));
    }
    Ok(c.to_ascii_uppercase())
}

pub fn validate_url(field: &str, u: &str) -> Result<String, DomainError> {
    let u = u.trim();
    let rest = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://"));
    // the authority (after any `user@`) must name a host
    let host = rest
        .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
        .map(|auth| auth.rsplit('@').next().unwrap_or(""))
        .map(|h| h.split(':').next().unwrap_or(""));
    let ok = host.is_some_and(|h| !h.is_empty() || rest.is_some_and(|r| r.starts_with('[')))
        && u.len() <= 2048
        && !u.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(bad(field, "must be an http(s) URL"));
    }
    Ok(u.to_owned())
}

pub(crate) fn check_len<T>(field: &str, v: &[T]) -> Result<(), DomainError> {
    if v.len() > MAX_LIST_LEN {
        return Err(bad(field, "too many entries (at most 1000)"));
    }
    Ok(())
}

pub(crate) fn validate_rules(raw: Vec<RawVersionRule>) -> Result<Vec<VersionRule>, DomainError> {
    check_len("versionControl.rules", &raw)?;
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let version = validate_version(&format!("versionControl.rules[{i}].version"), &r.version)?;
            let mode = match r.mode.to_ascii_uppercase().as_str() {
                "ALLOW" => RuleMode::Allow,
                "REMIND" => RuleMode::Remind,
                "GRACE" => RuleMode::Grace,
                _ => return Err(bad(&format!("versionControl.rules[{i}].mode"), "must be ALLOW, REMIND or GRACE")),
            };
            let allowed_until: Option<Timestamp> = match r.allowed_until.as_deref() {
                None | Some("") => None,
                Some(s) => Some(parse_rfc3339(s).ok_or_else(|| {
                    bad(&format!("versionControl.rules[{i}].allowedUntil"), "must be an RFC 3339 instant")
                })?),
            };
            if mode == RuleMode::Grace && allowed_until.is_none() {
                return Err(bad(&format!("versionControl.rules[{i}].allowedUntil"), "a GRACE rule needs a deadline"));
            }
            if r.message.as_ref().is_some_and(|m| m.len() > 1000) {
                return Err(bad(&format!("versionControl.rules[{i}].message"), "at most 1000 characters"));
            }
            Ok(VersionRule { version, mode, message: r.message, allowed_until })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_a_host() {
        assert!(validate_url("u", "https://example.com/x").is_ok());
        assert!(validate_url("u", "http://[::1]:8080/").is_ok());
        for bad in ["https://", "http://:80/", "https:///path", "ftp://x.com", "https://a b.com", "javascript:alert(1)"]
        {
            assert!(validate_url("u", bad).is_err(), "{bad}");
        }
    }
}
