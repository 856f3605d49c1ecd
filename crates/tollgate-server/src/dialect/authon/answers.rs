//! The bodies Authon v1 answers with, one type per shape: camelCase field names, timestamps as
//! ISO-8601 UTC with milliseconds, `null` (never an absent field) for a value that is not known.
//!
//! Every success is [`Success`] `{success: true, message?, data?}`; every error is
//! [`ErrorAnswer`] `{success: false, message, code}`.

use serde::Serialize;
use tollgate_core::model::{App, FileMeta};
use tollgate_core::time::{rfc3339, Timestamp};

use crate::client::data::{AppStats, OnlineUser, SignedIn};
use crate::client::license_file::Issued;

fn ts(t: &Option<Timestamp>) -> Option<String> {
    t.as_ref().map(rfc3339)
}

/// Every success answer.
#[derive(Debug, Serialize)]
pub struct Success<T: Serialize> {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

/// No `data`: a success that carries nothing more.
pub type Nothing = ();

impl<T: Serialize> Success<T> {
    pub fn new(message: &'static str, data: T) -> Success<T> {
        Success { success: true, message: Some(message), data: Some(data) }
    }
    pub fn data(data: T) -> Success<T> {
        Success { success: true, message: None, data: Some(data) }
    }
}

impl Success<Nothing> {
    pub fn done(message: &'static str) -> Success<Nothing> {
        Success { success: true, message: Some(message), data: None }
    }
}

/// Every error answer.
#[derive(Debug, Serialize)]
pub struct ErrorAnswer {
    pub success: bool,
    /// For people: what an Authon client shows its user.
    pub message: String,
    /// Machine-readable, e.g. `INVALID_SESSION`.
    pub code: &'static str,
}

/// `init`: the app as the client needs to know it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitData {
    pub name: String,
    /// The app's current version.
    pub version: String,
    /// Where to get a newer version, when the seller set one.
    pub update_url: Option<String>,
    pub hwid_lock: bool,
    pub hash_check: bool,
}

impl InitData {
    pub fn new(app: &App, notice_url: Option<String>) -> InitData {
        let s = &app.settings;
        InitData {
            name: app.name.clone(),
            version: app.version.clone(),
            update_url: notice_url.or_else(|| s.version_control.download_url.clone()),
            hwid_lock: s.hwid_lock,
            hash_check: s.hash_check,
        }
    }
}

/// `login`, `register`: the signed-in account.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSession {
    pub session_token: String,
    pub username: String,
    pub level: i64,
    /// The app's name for the level.
    pub subscription: String,
    /// `null`: lifetime.
    pub expires_at: Option<String>,
}

impl AccountSession {
    pub fn new(app: &App, token: String, username: String, level: i64, expires_at: &Option<Timestamp>) -> Self {
        AccountSession {
            session_token: token,
            username,
            level,
            subscription: app.settings.level_name(level),
            expires_at: ts(expires_at),
        }
    }
}

/// `license`: the signed-in key.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySession {
    pub session_token: String,
    pub level: i64,
    pub subscription: String,
    pub expires_at: Option<String>,
}

impl KeySession {
    pub fn new(app: &App, token: String, level: i64, expires_at: &Option<Timestamp>) -> Self {
        KeySession {
            session_token: token,
            level,
            subscription: app.settings.level_name(level),
            expires_at: ts(expires_at),
        }
    }
}

/// `check`: who the session is signed in as.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckData {
    /// `null` for a key-only session.
    pub username: Option<String>,
    pub level: i64,
    pub expires_at: Option<String>,
}

impl From<SignedIn> for CheckData {
    fn from(s: SignedIn) -> CheckData {
        CheckData { username: s.username, level: s.level, expires_at: ts(&s.expires_at) }
    }
}

/// `var`, `getvar`.
#[derive(Debug, Serialize)]
pub struct VariableData {
    pub key: String,
    pub value: String,
}

/// One entry of `list_files`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub id: String,
    pub name: String,
    pub size: i64,
    pub min_level: i64,
}

impl From<&FileMeta> for FileEntry {
    fn from(f: &FileMeta) -> FileEntry {
        FileEntry { id: f.id.clone(), name: f.name.clone(), size: f.size, min_level: f.min_level }
    }
}

/// `file`: what to download and how to check it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileData {
    pub name: String,
    pub size: i64,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Relative to the server: `/v1/files/download/<id>?token=<sessionToken>`.
    pub download_url: String,
}

/// `fetch_online`.
#[derive(Debug, Serialize)]
pub struct OnlineData {
    pub count: usize,
    pub users: Vec<OnlineEntry>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnlineEntry {
    pub username: String,
    pub last_active: String,
}

impl From<Vec<OnlineUser>> for OnlineData {
    fn from(users: Vec<OnlineUser>) -> OnlineData {
        let users: Vec<OnlineEntry> = users
            .into_iter()
            .map(|u| OnlineEntry { username: u.username, last_active: rfc3339(&u.last_active) })
            .collect();
        OnlineData { count: users.len(), users }
    }
}

/// `fetch_stats`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsData {
    pub total_users: u64,
    pub online_users: u64,
    pub total_keys: u64,
    pub app_version: String,
}

impl From<AppStats> for StatsData {
    fn from(s: AppStats) -> StatsData {
        StatsData {
            total_users: s.total_users,
            online_users: s.online_users,
            total_keys: s.total_keys,
            app_version: s.app_version,
        }
    }
}

/// `license_file`: a signed offline license file for the session, and its outside.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseFileData {
    /// The armoured file, `-----BEGIN TOLLGATE LICENSE FILE-----` ...
    pub license_file: String,
    pub issued: String,
    pub expiry: String,
    /// Its lifetime in seconds (the app's `licenseFileTtl`).
    pub ttl: i64,
    /// The id of the server key that signed it.
    pub kid: String,
}

impl From<Issued> for LicenseFileData {
    fn from(f: Issued) -> LicenseFileData {
        LicenseFileData {
            license_file: f.text,
            issued: f.payload.issued,
            expiry: f.payload.expiry,
            ttl: f.payload.ttl,
            kid: f.kid,
        }
    }
}

/// `check_blacklist`.
#[derive(Debug, Serialize)]
pub struct BlacklistData {
    pub blacklisted: bool,
    /// The seller's reason for the entry found; `null` when none was found or none was given.
    pub reason: Option<String>,
}
