//! App settings (hash check, IP whitelist, VPN and country blocking, version control, quotas, ...)
//! and their validation. The admin API deserialises a patch; every
//! field is checked here so the same rules hold for the dashboard and the CLI.

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::model::{App, AppStatus};
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
    /// Level number (as text, JSON object keys are strings) → subscription name.
    pub level_names: BTreeMap<String, String>,
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
            level_names: BTreeMap::new(),
        }
    }
}

impl AppSettings {
    /// The name shown to clients for a level: the seller's name for it, else `"Level N"`.
    pub fn level_name(&self, level: i64) -> String {
        self.level_names.get(&level.to_string()).cloned().unwrap_or_else(|| format!("Level {level}"))
    }
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
    pub level_names: Option<BTreeMap<String, String>>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn bad(field: &str, message: &str) -> DomainError {
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

fn check_len<T>(field: &str, v: &[T]) -> Result<(), DomainError> {
    if v.len() > MAX_LIST_LEN {
        return Err(bad(field, "too many entries (at most 1000)"));
    }
    Ok(())
}

fn validate_rules(raw: Vec<RawVersionRule>) -> Result<Vec<VersionRule>, DomainError> {
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

impl AppPatch {
    /// Validate every field and apply the patch. Nothing is applied unless all fields pass.
    pub fn apply(self, app: &App) -> Result<App, DomainError> {
        let mut next = app.clone();
        let s = &mut next.settings;
        if let Some(name) = self.name {
            next.name = validate_app_name(&name)?;
        }
        if let Some(v) = self.version {
            next.version = validate_version("version", &v)?;
        }
        if let Some(st) = self.status {
            next.status = st.parse::<AppStatus>().map_err(|_| bad("status", "must be ACTIVE, PAUSED or DISABLED"))?;
        }
        if let Some(b) = self.hash_check {
            s.hash_check = b;
        }
        if let Some(hashes) = self.hashes {
            check_len("hashes", &hashes)?;
            let mut out: Vec<String> = hashes.iter().map(|h| validate_sha256("hashes", h)).collect::<Result<_, _>>()?;
            out.dedup();
            s.hashes = out;
        }
        if let Some(list) = self.ip_whitelist {
            check_len("ipWhitelist", &list)?;
            s.ip_whitelist = list
                .iter()
                .map(|c| {
                    crate::net::parse_cidr(c)
                        .ok_or_else(|| bad("ipWhitelist", "each entry must be an IP address or CIDR"))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(b) = self.block_vpn {
            s.block_vpn = b;
        }
        if let Some(list) = self.blocked_countries {
            check_len("blockedCountries", &list)?;
            s.blocked_countries =
                list.iter().map(|c| validate_country("blockedCountries", c)).collect::<Result<_, _>>()?;
        }
        if let Some(vc) = self.version_control {
            let cur = &mut s.version_control;
            if let Some(b) = vc.enabled {
                cur.enabled = b;
            }
            if let Some(b) = vc.auto_update {
                cur.auto_update = b;
            }
            if let Some(b) = vc.force_update {
                cur.force_update = b;
            }
            if let Some(url) = vc.download_url {
                cur.download_url = match url.as_deref() {
                    None | Some("") => None,
                    Some(u) => Some(validate_url("versionControl.downloadUrl", u)?),
                };
            }
            if let Some(cl) = vc.changelog {
                if cl.as_ref().is_some_and(|c| c.len() > 10_000) {
                    return Err(bad("versionControl.changelog", "at most 10000 characters"));
                }
                cur.changelog = cl;
            }
            if let Some(rules) = vc.rules {
                cur.rules = validate_rules(rules)?;
            }
        }
        if let Some(q) = self.session_quota {
            s.session_quota = q;
        }
        if let Some(q) = self.accounts_quota {
            s.accounts_quota = q;
        }
        if let Some(b) = self.hwid_lock {
            s.hwid_lock = b;
        }
        if let Some(b) = self.allow_password_change {
            s.allow_password_change = b;
        }
        if let Some(names) = self.level_names {
            if names.len() > 100 {
                return Err(bad("levelNames", "at most 100 levels"));
            }
            for (k, v) in &names {
                if k.parse::<i64>().is_err() {
                    return Err(bad("levelNames", "keys must be level numbers"));
                }
                if v.is_empty() || v.len() > 64 {
                    return Err(bad("levelNames", "names must be 1-64 characters"));
                }
            }
            s.level_names = names;
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::now;

    fn app() -> App {
        App {
            id: "app_x".into(),
            owner_id: "seller_x".into(),
            name: "My App".into(),
            api_key: "as_x".into(),
            ws_key: "w".repeat(21),
            version: "1.0".into(),
            status: AppStatus::Active,
            settings: AppSettings::default(),
            created_at: now(),
            updated_at: now(),
        }
    }

    fn patch(j: serde_json::Value) -> Result<App, DomainError> {
        serde_json::from_value::<AppPatch>(j).unwrap().apply(&app())
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Validation { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn applies_valid_settings() {
        let a = patch(serde_json::json!({
            "name": "New", "version": "2.0.1", "status": "PAUSED",
            "hashCheck": true, "hashes": ["A".repeat(64)],
            "ipWhitelist": ["10.0.0.0/8", "1.2.3.4"], "blockVpn": true,
            "blockedCountries": ["ru", "KP"],
            "versionControl": {"enabled": true, "downloadUrl": "https://x.example/d",
                "rules": [{"version": "1.9", "mode": "grace", "allowedUntil": "2026-07-01T00:00:00Z"}]},
            "sessionQuota": 5, "hwidLock": false, "levelNames": {"1": "Premium"}
        }))
        .unwrap();
        assert_eq!(a.name, "New");
        assert_eq!(a.status, AppStatus::Paused);
        assert_eq!(a.settings.hashes, vec!["a".repeat(64)]);
        assert_eq!(a.settings.ip_whitelist[1].to_string(), "1.2.3.4/32");
        assert_eq!(a.settings.blocked_countries, vec!["RU", "KP"]);
        assert_eq!(a.settings.version_control.rules[0].mode, RuleMode::Grace);
        assert_eq!(a.settings.session_quota, Some(5));
        assert_eq!(a.settings.level_name(1), "Premium");
        assert_eq!(a.settings.level_name(2), "Level 2");
    }

    #[test]
    fn urls_need_a_host() {
        assert!(validate_url("u", "https://example.com/x").is_ok());
        assert!(validate_url("u", "http://[::1]:8080/").is_ok());
        for bad in ["https://", "http://:80/", "https:///path", "ftp://x.com", "https://a b.com", "javascript:alert(1)"]
        {
            assert!(validate_url("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn null_clears_quota() {
        let mut base = app();
        base.settings.session_quota = Some(3);
        let p: AppPatch = serde_json::from_value(serde_json::json!({"sessionQuota": null})).unwrap();
        assert_eq!(p.apply(&base).unwrap().settings.session_quota, None);
        let p: AppPatch = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(p.apply(&base).unwrap().settings.session_quota, Some(3));
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (serde_json::json!({"name": "  "}), "name"),
            (serde_json::json!({"version": "1.x"}), "version"),
            (serde_json::json!({"status": "GONE"}), "status"),
            (serde_json::json!({"hashes": ["abc"]}), "hashes"),
            (serde_json::json!({"ipWhitelist": ["300.1.1.1"]}), "ipWhitelist"),
            (serde_json::json!({"blockedCountries": ["USA"]}), "blockedCountries"),
            (serde_json::json!({"versionControl": {"downloadUrl": "ftp://x"}}), "versionControl.downloadUrl"),
            (
                serde_json::json!({"versionControl": {"rules": [{"version": "1", "mode": "NOPE"}]}}),
                "versionControl.rules[0].mode",
            ),
            (
                serde_json::json!({"versionControl": {"rules": [{"version": "1", "mode": "GRACE", "allowedUntil": "soon"}]}}),
                "versionControl.rules[0].allowedUntil",
            ),
            (
                serde_json::json!({"versionControl": {"rules": [{"version": "1", "mode": "GRACE"}]}}),
                "versionControl.rules[0].allowedUntil",
            ),
            (serde_json::json!({"levelNames": {"one": "x"}}), "levelNames"),
        ];
        for (j, field) in cases {
            assert_eq!(field_of(patch(j.clone()).unwrap_err()), field, "{j}");
        }
    }
}
