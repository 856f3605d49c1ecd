//! The bodies Authly v2 answers with, one type per shape, as the SDKs read them: snake_case
//! field names, timestamps as RFC 3339 text, and `null` (never an absent field) for a value
//! that is not known, except where a field is documented as optional below.
//!
//! Every success body starts with `success: true` and a fixed `message`; every error body is
//! [`ErrorAnswer`].

use serde::Serialize;
use serde_json::{Map, Value};
use tollgate_core::model::{App, ChatMessage, DeviceLicense, License, User};
use tollgate_core::time::{rfc3339, Timestamp};
use tollgate_core::version::{RejectionKind, UpdateNotice, VersionRejection};
use utoipa::ToSchema;

fn ts(t: &Option<Timestamp>) -> Option<String> {
    t.as_ref().map(rfc3339)
}

/// Every error answer: `{success: false, code, message}`, and for some errors more fields
/// (a refused version's [`VersionRefusal`], a blacklist hit's [`BlacklistFlags`]).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorAnswer {
    pub success: bool,
    /// Machine-readable, e.g. `INVALID_SESSION`.
    pub code: &'static str,
    /// For people.
    pub message: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: Map<String, Value>,
}

/// A success that carries nothing more (change password, log).
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    pub success: bool,
    pub message: &'static str,
}

impl Done {
    pub fn new(message: &'static str) -> Done {
        Done { success: true, message }
    }
}

/// The `update` of a passing init: a `REMIND` or `GRACE` version rule applies.
#[derive(Debug, Serialize, ToSchema)]
pub struct Update {
    pub available: bool,
    pub latest_version: String,
    pub download_url: Option<String>,
    pub auto_update_enabled: bool,
    pub force_update: bool,
    pub show_reminder: bool,
    pub reminder_message: Option<String>,
    /// RFC 3339: until when a `GRACE` rule lets this version in.
    pub allowed_until: Option<String>,
    /// Absent when the app has no changelog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changelog: Option<String>,
}

impl From<&UpdateNotice> for Update {
    fn from(n: &UpdateNotice) -> Update {
        Update {
            available: true,
            latest_version: n.latest_version.clone(),
            download_url: n.download_url.clone(),
            auto_update_enabled: n.auto_update_enabled,
            force_update: n.force_update,
            show_reminder: n.show_reminder,
            reminder_message: n.reminder_message.clone(),
            allowed_until: ts(&n.allowed_until),
            changelog: n.changelog.clone(),
        }
    }
}

/// A passing init.
#[derive(Debug, Serialize, ToSchema)]
pub struct InitAnswer {
    pub success: bool,
    pub message: &'static str,
    /// The session token every later call sends.
    pub session_id: String,
    pub owner_id: String,
    pub app_name: String,
    /// The version the client sent.
    pub version: String,
    /// Absent unless a version rule asks to remind or is in its grace period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
}

/// The extra fields of a refused version (426 `UPDATE_REQUIRED` / `VERSION_MISMATCH`).
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionRefusal {
    pub server_version: String,
    pub client_version: String,
    pub auto_update_enabled: bool,
    pub auto_update_download_url: Option<String>,
    /// Only when auto-update is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<RefusalUpdate>,
}

/// The `update` of a refused version: where to get the one that is let in.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusalUpdate {
    pub available: bool,
    pub latest_version: String,
    pub download_url: Option<String>,
    pub force_update: bool,
    pub auto_update_enabled: bool,
}

impl From<&VersionRejection> for VersionRefusal {
    fn from(r: &VersionRejection) -> VersionRefusal {
        VersionRefusal {
            server_version: r.server_version.clone(),
            client_version: r.client_version.clone(),
            auto_update_enabled: r.auto_update_enabled,
            auto_update_download_url: r.auto_update_download_url.clone(),
            update: r.auto_update_enabled.then(|| RefusalUpdate {
                available: true,
                latest_version: r.server_version.clone(),
                download_url: r.auto_update_download_url.clone(),
                // Refused: the update is not optional, whatever the app's default says.
                force_update: matches!(r.kind, RejectionKind::UpdateRequired | RejectionKind::VersionMismatch),
                auto_update_enabled: true,
            }),
        }
    }
}

/// The user object of register and login.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    pub username: String,
    pub email: Option<String>,
    /// The level's name in the app's settings, or `Level <n>`.
    pub subscription: String,
    pub subscription_level: i64,
    pub expiry_date: Option<String>,
    pub device_limit: i64,
    pub current_devices: usize,
    /// The device of this request, or else the first bound one.
    pub sid: Option<String>,
    /// The same as `sid`.
    pub hwid: Option<String>,
    pub last_login: Option<String>,
    pub registered_at: String,
    pub created_at: String,
    /// The key redeemed by register; `null` otherwise.
    pub linked_license_key: Option<String>,
}

impl UserInfo {
    pub fn new(app: &App, u: &User, device: Option<&str>, license_key: Option<&str>) -> UserInfo {
        let device = device.or(u.devices.first().map(String::as_str)).map(str::to_owned);
        UserInfo {
            username: u.username.clone(),
            email: u.email.clone(),
            subscription: app.settings.level_name(u.level),
            subscription_level: u.level,
            expiry_date: ts(&u.expires_at),
            device_limit: u.max_devices,
            current_devices: u.devices.len(),
            sid: device.clone(),
            hwid: device,
            last_login: ts(&u.last_login),
            registered_at: rfc3339(&u.created_at),
            created_at: rfc3339(&u.created_at),
            linked_license_key: license_key.map(str::to_owned),
        }
    }
}

/// A passing register or login.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountAnswer {
    pub success: bool,
    pub message: &'static str,
    pub session_id: String,
    pub user: UserInfo,
}

/// The license object of a license login.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseInfo {
    pub license_key: String,
    pub subscription: String,
    pub subscription_level: i64,
    pub expiry_date: Option<String>,
    /// When the key was first used.
    pub last_login: Option<String>,
    pub created_at: String,
    pub registered_at: Option<String>,
    pub device_limit: i64,
    pub current_devices: usize,
    /// The device of this request, or else the first bound one.
    pub sid: Option<String>,
    /// The same as `sid`.
    pub hwid: Option<String>,
    /// The caller's address as the server saw it.
    pub ip_address: Option<String>,
}

impl LicenseInfo {
    pub fn new(app: &App, l: &License, device: Option<&str>, ip: Option<&str>) -> LicenseInfo {
        let device = device.or(l.devices.first().map(String::as_str)).map(str::to_owned);
        LicenseInfo {
            license_key: l.key.clone(),
            subscription: app.settings.level_name(l.level),
            subscription_level: l.level,
            expiry_date: ts(&l.expires_at),
            last_login: ts(&l.activated_at),
            created_at: rfc3339(&l.created_at),
            registered_at: ts(&l.activated_at),
            device_limit: l.max_devices,
            current_devices: l.devices.len(),
            sid: device.clone(),
            hwid: device,
            ip_address: ip.map(str::to_owned),
        }
    }
}

/// A passing license login.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseAnswer {
    pub success: bool,
    pub message: &'static str,
    pub session_id: String,
    pub license: LicenseInfo,
}

/// The account after an extend.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtendedUser {
    pub username: String,
    pub subscription: String,
    pub subscription_level: i64,
    pub expiry_date: Option<String>,
    pub last_login: Option<String>,
    pub created_at: String,
}

/// The key an extend redeemed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtendedLicense {
    pub license_key: String,
    pub subscription: String,
    pub subscription_level: i64,
    pub expiry_date: Option<String>,
}

/// A passing extend.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtendAnswer {
    pub success: bool,
    pub message: &'static str,
    pub user: ExtendedUser,
    pub license: ExtendedLicense,
    /// `null` when the account became lifetime.
    pub time_added_seconds: Option<i64>,
}

impl ExtendAnswer {
    pub fn new(app: &App, u: &User, l: &License, added_seconds: Option<i64>) -> ExtendAnswer {
        ExtendAnswer {
            success: true,
            message: "Account extended successfully.",
            user: ExtendedUser {
                username: u.username.clone(),
                subscription: app.settings.level_name(u.level),
                subscription_level: u.level,
                expiry_date: ts(&u.expires_at),
                last_login: ts(&u.last_login),
                created_at: rfc3339(&u.created_at),
            },
            license: ExtendedLicense {
                license_key: l.key.clone(),
                subscription: app.settings.level_name(l.level),
                subscription_level: l.level,
                expiry_date: ts(&l.expires_at),
            },
            time_added_seconds: added_seconds,
        }
    }
}

/// One variable.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariableInfo {
    pub var_key: String,
    pub var_value: String,
    pub updated_at: String,
}

/// A variable read or written.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariableAnswer {
    pub success: bool,
    pub message: &'static str,
    pub variable: VariableInfo,
}

impl VariableAnswer {
    pub fn new(key: &str, value: &str, updated_at: &Timestamp) -> VariableAnswer {
        VariableAnswer {
            success: true,
            message: "Variable retrieved successfully",
            variable: VariableInfo { var_key: key.into(), var_value: value.into(), updated_at: rfc3339(updated_at) },
        }
    }
}

/// A live session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionAnswer {
    pub success: bool,
    pub message: &'static str,
    pub valid: bool,
    pub session_id: String,
    pub expires_at: String,
}

/// A signed offline license file for the session's account or key, and its outside.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseFileAnswer {
    pub success: bool,
    pub message: &'static str,
    /// The armoured file, `-----BEGIN TOLLGATE LICENSE FILE-----` ...
    pub license_file: String,
    /// When it was issued (ISO-8601 UTC, milliseconds).
    pub issued: String,
    /// When it stops being valid: `issued` + `ttl`.
    pub expiry: String,
    /// Its lifetime in seconds (the app's `licenseFileTtl`).
    pub ttl: i64,
    /// The id of the server key that signed it.
    pub kid: String,
}

impl LicenseFileAnswer {
    pub fn new(f: crate::client::license_file::Issued) -> LicenseFileAnswer {
        LicenseFileAnswer {
            success: true,
            message: "License file issued",
            license_file: f.text,
            issued: f.payload.issued,
            expiry: f.payload.expiry,
            ttl: f.payload.ttl,
            kid: f.kid,
        }
    }
}

/// What a blacklist check found; on a hit these are the extra fields of the 403 `BLACKLISTED`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlacklistFlags {
    pub blacklisted: bool,
    pub hwid_blacklisted: bool,
    pub ip_blacklisted: bool,
}

/// A blacklist check that found nothing: the [`BlacklistFlags`], all false.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlacklistAnswer {
    pub success: bool,
    pub message: &'static str,
    pub blacklisted: bool,
    pub hwid_blacklisted: bool,
    pub ip_blacklisted: bool,
}

impl BlacklistAnswer {
    pub fn new(flags: BlacklistFlags) -> BlacklistAnswer {
        BlacklistAnswer {
            success: true,
            message: "Not blacklisted",
            blacklisted: flags.blacklisted,
            hwid_blacklisted: flags.hwid_blacklisted,
            ip_blacklisted: flags.ip_blacklisted,
        }
    }
}

/// The device object of a device authentication.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceInfo {
    /// `motherboard` or `processor`.
    pub device_type: &'static str,
    pub device_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub subscription_id: i64,
    pub subscription: String,
    pub subscription_level: i64,
    pub expiry_date: Option<String>,
    pub last_login: Option<String>,
    pub registered_at: String,
    pub activated: bool,
    pub hwid: Option<String>,
    pub ip_address: Option<String>,
}

impl DeviceInfo {
    pub fn new(app: &App, d: &DeviceLicense) -> DeviceInfo {
        DeviceInfo {
            device_type: d.device_type.as_str(),
            device_id: d.device_id.clone(),
            name: d.name.clone(),
            email: d.email.clone(),
            subscription_id: d.level,
            subscription: app.settings.level_name(d.level),
            subscription_level: d.level,
            expiry_date: ts(&d.expires_at),
            last_login: ts(&d.last_login),
            registered_at: rfc3339(&d.created_at),
            activated: d.activated_at.is_some(),
            hwid: d.hwid.clone(),
            ip_address: d.last_ip.clone(),
        }
    }
}

/// A passing device authentication.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceAnswer {
    pub success: bool,
    pub message: &'static str,
    pub device: DeviceInfo,
}

/// One chat message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatMessageInfo {
    pub id: String,
    pub username: String,
    pub message: String,
    pub created_at: String,
}

impl From<&ChatMessage> for ChatMessageInfo {
    fn from(m: &ChatMessage) -> ChatMessageInfo {
        ChatMessageInfo {
            id: m.id.clone(),
            username: m.username.clone(),
            message: m.message.clone(),
            created_at: rfc3339(&m.created_at),
        }
    }
}

/// A chat message sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatSentAnswer {
    pub success: bool,
    pub message: &'static str,
    pub data: ChatMessageInfo,
}

/// Where the next page starts.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    pub limit: u32,
    /// Opaque; `null` on the last page.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// A page of a channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatPageInfo {
    pub channel_name: String,
    pub messages: Vec<ChatMessageInfo>,
    pub pagination: Pagination,
    /// The same as `pagination.next_cursor` (the Python SDK reads it at this level).
    pub next_cursor: Option<String>,
    /// The same as `pagination.has_more`.
    pub has_more: bool,
}

/// A page of chat messages read.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatPageAnswer {
    pub success: bool,
    pub message: &'static str,
    pub data: ChatPageInfo,
}
