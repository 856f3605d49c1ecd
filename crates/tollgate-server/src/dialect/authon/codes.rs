//! The one table from `DomainError` to Authon v1's HTTP status, code and message. Messages are
//! the ones Authon clients show their users ("Invalid credentials", "Account banned", ...);
//! codes are Authly's names where the meaning is the same. Statuses: 400 input, 401 credentials
//! or session, 403 a rule of the app, key or account, 404 not found, 409 taken, 429 rate
//! limited, 500 the opaque error, 503 busy or unavailable. docs/dialects/authon.md carries the
//! whole table; a test below checks it against this one.

use axum::http::StatusCode;
use tollgate_core::DomainError;

/// Status, code and message of an Authon error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

fn f(status: u16, code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        code,
        message: message.into(),
    }
}

/// Invalid or already used: the same words whether the key does not exist or is taken.
const BAD_KEY: &str = "Invalid or already used license key";

pub fn failure(e: &DomainError) -> Failure {
    use DomainError as D;
    match e {
        // --- input
        D::MissingFields(field) => f(400, "MISSING_FIELDS", format!("Missing required field: {field}")),
        D::Validation { field, message } => f(400, "VALIDATION_ERROR", format!("{field}: {message}")),
        // --- the app and the caller's network
        D::OwnerNotFound => f(404, "OWNER_NOT_FOUND", "Owner not found"),
        D::AppNotFound => f(404, "APP_NOT_FOUND", "Application not found"),
        D::AppDisabled => f(403, "APP_DISABLED", "Application is disabled"),
        D::AppPaused => f(403, "APP_PAUSED", "Application is paused"),
        D::IpBlocked => f(403, "IP_BLOCKED", "IP address banned"),
        D::IpNotWhitelisted => f(403, "IP_NOT_WHITELISTED", "IP address is not whitelisted"),
        D::VpnBlocked => f(403, "VPN_BLOCKED", "VPN/Proxy connections are not allowed"),
        D::CountryBlocked => f(403, "COUNTRY_BLOCKED", "Access denied from this location"),
        D::HashRequired => f(403, "HASH_REQUIRED", "Hash is required for this application"),
        D::InvalidHash => f(403, "INVALID_HASH", "Hash does not match"),
        D::InvalidSecret => f(401, "INVALID_SECRET", "Invalid API key"),
        D::VersionRefused(r) => match r.kind {
            tollgate_core::version::RejectionKind::UpdateRequired => {
                f(403, "UPDATE_REQUIRED", "Please update your app to the latest version")
            }
            tollgate_core::version::RejectionKind::VersionMismatch => {
                f(403, "VERSION_MISMATCH", "This app version is not supported by the developer")
            }
        },
        D::SessionQuotaExceeded => f(403, "SESSION_LIMIT_REACHED", "This application has reached its session limit"),
        // --- sessions
        D::InvalidSession => f(401, "INVALID_SESSION", "Invalid session"),
        D::SessionExpired => f(401, "SESSION_EXPIRED", "Session expired"),
        // --- licenses
        D::LicenseNotFound => f(401, "LICENSE_NOT_FOUND", BAD_KEY),
        D::LicenseInUse | D::LicenseLinked => f(401, "LICENSE_IN_USE", BAD_KEY),
        D::LicenseBanned { .. } => f(403, "LICENSE_BANNED", "License banned"),
        D::LicensePaused => f(403, "LICENSE_PAUSED", "License paused"),
        D::LicenseExpired => f(403, "LICENSE_EXPIRED", "Subscription expired"),
        // --- accounts: an unknown name and a wrong password read the same
        D::UsernameTaken => f(409, "USERNAME_TAKEN", "Username already exists"),
        D::UserNotFound => f(401, "INVALID_CREDENTIALS", "Invalid credentials"),
        D::InvalidPassword => f(401, "INVALID_CREDENTIALS", "Invalid credentials"),
        D::UserBanned { .. } => f(403, "USER_BANNED", "Account banned"),
        D::UserSuspended => f(403, "USER_SUSPENDED", "Account is frozen"),
        D::UserExpired => f(403, "USER_EXPIRED", "Subscription expired"),
        D::DeviceLimitReached => f(403, "DEVICE_LIMIT_REACHED", "Hardware ID mismatch"),
        D::HwidBlocked => f(403, "HWID_BLOCKED", "Hardware ID banned"),
        D::AccountsQuotaExceeded => f(403, "ACCOUNT_LIMIT_REACHED", "This application has reached its account limit"),
        D::PasswordChangeUnavailable => {
            f(403, "PASSWORD_CHANGE_UNAVAILABLE", "Password change is disabled for this app")
        }
        D::PasswordReused => f(400, "PASSWORD_REUSED", "The new password must differ from the old one"),
        // --- device licenses (no Authon request reaches them; listed so the table is whole)
        D::InvalidDeviceType => f(400, "INVALID_DEVICE_TYPE", "Device type must be motherboard or processor"),
        D::DeviceNotFound(_) => f(404, "DEVICE_NOT_FOUND", "Device not found"),
        D::DeviceBanned { .. } => f(403, "DEVICE_BANNED", "Device banned"),
        D::DevicePaused(_) => f(403, "DEVICE_PAUSED", "Device paused"),
        D::DeviceExpired(_) => f(403, "DEVICE_EXPIRED", "Subscription expired"),
        // --- chats (idem)
        D::ChannelNotFound => f(404, "CHANNEL_NOT_FOUND", "Chat channel not found"),
        D::UserMuted => f(403, "USER_MUTED", "You are muted in this channel"),
        // --- what a session that has not signed in cannot do
        D::UsernameNotLinked => f(401, "USERNAME_NOT_LINKED", "Log in first"),
        D::LoginRequired => f(401, "LOGIN_REQUIRED", "Log in first"),
        // --- variables
        D::VariableNotFound => f(404, "VARIABLE_NOT_FOUND", "Variable not found"),
        D::VariableReadOnly => f(403, "VARIABLE_READ_ONLY", "This variable cannot be changed by clients"),
        // --- files
        D::FileNotFound => f(404, "FILE_NOT_FOUND", "File not found"),
        D::LevelTooLow => f(403, "LEVEL_TOO_LOW", "Your level is too low for this file"),
        D::BlacklistFull => f(403, "BLACKLIST_FULL", "The application's blacklist is full"),
        // --- request integrity
        D::ReplayedRequest => f(401, "REPLAYED_REQUEST", "Request was already used or its timestamp is out of range"),
        D::InvalidRequestSignature => f(401, "INVALID_REQUEST_SIGNATURE", "Request signature does not match"),
        D::RateLimited { .. } => f(429, "RATE_LIMITED", "Too many requests, slow down"),
        // --- infrastructure
        D::Unavailable => f(503, "UNAVAILABLE", "Service temporarily unavailable"),
        D::Busy => f(503, "SERVER_BUSY", "Server is busy, try again shortly"),
        D::Internal => internal(),
    }
}

/// The opaque error: the cause is logged, never told.
pub fn internal() -> Failure {
    f(500, "INTERNAL", "Internal server error")
}

/// A body that is not a JSON object (or has a key twice, or a NUL character).
pub fn refused_json(p: &crate::strict_json::JsonProblem) -> Failure {
    use crate::strict_json::JsonProblem as P;
    match p {
        P::Syntax(_) => bad_json(),
        P::DuplicateKey { path } => f(400, "INVALID_REQUEST", format!("Field `{path}` appears more than once")),
        P::NulCharacter { path } => f(400, "VALIDATION_ERROR", format!("{path}: {}", p.message())),
    }
}

pub fn bad_json() -> Failure {
    f(400, "INVALID_REQUEST", "Request body must be a JSON object")
}

pub fn too_large(limit: usize) -> Failure {
    f(400, "PAYLOAD_TOO_LARGE", format!("Request body is larger than {limit} bytes"))
}

pub fn wrong_type(field: &str) -> Failure {
    f(400, "INVALID_REQUEST", format!("Field `{field}` has the wrong type"))
}

/// A `type` this server does not answer, named.
pub fn unknown_type(kind: &str) -> Failure {
    f(400, "UNKNOWN_TYPE", format!("Unknown request type: {kind}"))
}

pub fn method_not_allowed() -> Failure {
    f(405, "METHOD_NOT_ALLOWED", "Use POST")
}

/// The table as the documentation shows it: one row per sample of each variant, then the
/// dialect's own errors. Shared by the tests below.
#[cfg(test)]
pub(crate) fn documented_rows() -> Vec<(DomainError, Failure)> {
    use tollgate_core::model::DeviceType;
    use tollgate_core::version::{RejectionKind, VersionRejection};
    use DomainError as D;
    let refused = |kind| {
        D::VersionRefused(Box::new(VersionRejection {
            kind,
            server_version: "2.0".into(),
            client_version: "1.0".into(),
            auto_update_enabled: false,
            auto_update_download_url: None,
            changelog: None,
        }))
    };
    let all = vec![
        D::MissingFields("username".into()),
        D::validation("hwid", "is too long"),
        D::OwnerNotFound,
        D::AppNotFound,
        D::AppDisabled,
        D::AppPaused,
        D::IpBlocked,
        D::IpNotWhitelisted,
        D::VpnBlocked,
        D::CountryBlocked,
        D::HashRequired,
        D::InvalidHash,
        D::InvalidSecret,
        refused(RejectionKind::UpdateRequired),
        refused(RejectionKind::VersionMismatch),
        D::SessionQuotaExceeded,
        D::InvalidSession,
        D::SessionExpired,
        D::LicenseNotFound,
        D::LicenseInUse,
        D::LicenseLinked,
        D::BlacklistFull,
        D::LicenseBanned { reason: Some("chargeback".into()) },
        D::LicensePaused,
        D::LicenseExpired,
        D::UsernameTaken,
        D::UserNotFound,
        D::InvalidPassword,
        D::UserBanned { reason: None },
        D::UserSuspended,
        D::UserExpired,
        D::DeviceLimitReached,
        D::HwidBlocked,
        D::AccountsQuotaExceeded,
        D::PasswordChangeUnavailable,
        D::PasswordReused,
        D::InvalidDeviceType,
        D::DeviceNotFound(DeviceType::Motherboard),
        D::DeviceBanned { device_type: DeviceType::Processor, reason: None },
        D::DevicePaused(DeviceType::Motherboard),
        D::DeviceExpired(DeviceType::Processor),
        D::ChannelNotFound,
        D::UserMuted,
        D::UsernameNotLinked,
        D::LoginRequired,
        D::VariableNotFound,
        D::VariableReadOnly,
        D::FileNotFound,
        D::LevelTooLow,
        D::ReplayedRequest,
        D::InvalidRequestSignature,
        D::RateLimited { retry_after_secs: 3 },
        D::Unavailable,
        D::Busy,
        D::Internal,
    ];
    all.into_iter()
        .map(|e| {
            let f = failure(&e);
            (e, f)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire, row by row: status, code, message of a sample of every variant.
    fn expected() -> Vec<(u16, &'static str, &'static str)> {
        vec![
            (400, "MISSING_FIELDS", "Missing required field: username"),
            (400, "VALIDATION_ERROR", "hwid: is too long"),
            (404, "OWNER_NOT_FOUND", "Owner not found"),
            (404, "APP_NOT_FOUND", "Application not found"),
            (403, "APP_DISABLED", "Application is disabled"),
            (403, "APP_PAUSED", "Application is paused"),
            (403, "IP_BLOCKED", "IP address banned"),
            (403, "IP_NOT_WHITELISTED", "IP address is not whitelisted"),
            (403, "VPN_BLOCKED", "VPN/Proxy connections are not allowed"),
            (403, "COUNTRY_BLOCKED", "Access denied from this location"),
            (403, "HASH_REQUIRED", "Hash is required for this application"),
            (403, "INVALID_HASH", "Hash does not match"),
            (401, "INVALID_SECRET", "Invalid API key"),
            (403, "UPDATE_REQUIRED", "Please update your app to the latest version"),
            (403, "VERSION_MISMATCH", "This app version is not supported by the developer"),
            (403, "SESSION_LIMIT_REACHED", "This application has reached its session limit"),
            (401, "INVALID_SESSION", "Invalid session"),
            (401, "SESSION_EXPIRED", "Session expired"),
            (401, "LICENSE_NOT_FOUND", "Invalid or already used license key"),
            (401, "LICENSE_IN_USE", "Invalid or already used license key"),
            (401, "LICENSE_IN_USE", "Invalid or already used license key"),
            (403, "BLACKLIST_FULL", "The application's blacklist is full"),
            (403, "LICENSE_BANNED", "License banned"),
            (403, "LICENSE_PAUSED", "License paused"),
            (403, "LICENSE_EXPIRED", "Subscription expired"),
            (409, "USERNAME_TAKEN", "Username already exists"),
            (401, "INVALID_CREDENTIALS", "Invalid credentials"),
            (401, "INVALID_CREDENTIALS", "Invalid credentials"),
            (403, "USER_BANNED", "Account banned"),
            (403, "USER_SUSPENDED", "Account is frozen"),
            (403, "USER_EXPIRED", "Subscription expired"),
            (403, "DEVICE_LIMIT_REACHED", "Hardware ID mismatch"),
            (403, "HWID_BLOCKED", "Hardware ID banned"),
            (403, "ACCOUNT_LIMIT_REACHED", "This application has reached its account limit"),
            (403, "PASSWORD_CHANGE_UNAVAILABLE", "Password change is disabled for this app"),
            (400, "PASSWORD_REUSED", "The new password must differ from the old one"),
            (400, "INVALID_DEVICE_TYPE", "Device type must be motherboard or processor"),
            (404, "DEVICE_NOT_FOUND", "Device not found"),
            (403, "DEVICE_BANNED", "Device banned"),
            (403, "DEVICE_PAUSED", "Device paused"),
            (403, "DEVICE_EXPIRED", "Subscription expired"),
            (404, "CHANNEL_NOT_FOUND", "Chat channel not found"),
            (403, "USER_MUTED", "You are muted in this channel"),
            (401, "USERNAME_NOT_LINKED", "Log in first"),
            (401, "LOGIN_REQUIRED", "Log in first"),
            (404, "VARIABLE_NOT_FOUND", "Variable not found"),
            (403, "VARIABLE_READ_ONLY", "This variable cannot be changed by clients"),
            (404, "FILE_NOT_FOUND", "File not found"),
            (403, "LEVEL_TOO_LOW", "Your level is too low for this file"),
            (401, "REPLAYED_REQUEST", "Request was already used or its timestamp is out of range"),
            (401, "INVALID_REQUEST_SIGNATURE", "Request signature does not match"),
            (429, "RATE_LIMITED", "Too many requests, slow down"),
            (503, "UNAVAILABLE", "Service temporarily unavailable"),
            (503, "SERVER_BUSY", "Server is busy, try again shortly"),
            (500, "INTERNAL", "Internal server error"),
        ]
    }

    #[test]
    fn the_table_has_a_row_for_every_variant_and_answers_it() {
        let rows = documented_rows();
        let expected = expected();
        assert_eq!(rows.len(), expected.len());
        let mut covered = std::collections::BTreeSet::new();
        for ((e, got), (status, code, message)) in rows.iter().zip(expected) {
            assert_eq!((got.status.as_u16(), got.code, got.message.as_str()), (status, code, message), "{e:?}");
            let n = e.ordinal();
            assert!(n < DomainError::VARIANTS, "{e:?} is numbered {n}: number it in DomainError::ordinal");
            // `name()` is the variant's own name (what refused calls are recorded under).
            let debug = format!("{e:?}");
            let end = debug.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(debug.len());
            assert_eq!(e.name(), &debug[..end], "DomainError::NAMES[{n}]");
            covered.insert(n);
        }
        let missing: Vec<usize> = (0..DomainError::VARIANTS).filter(|n| !covered.contains(n)).collect();
        assert!(missing.is_empty(), "variants without a row (numbers of `DomainError::ordinal`): {missing:?}");
    }

    #[test]
    fn the_messages_clients_match_on_are_exact() {
        use DomainError as D;
        let message = |e: D| failure(&e).message;
        assert_eq!(message(D::InvalidPassword), "Invalid credentials");
        assert_eq!(message(D::UserNotFound), "Invalid credentials");
        assert_eq!(message(D::UserBanned { reason: Some("spam".into()) }), "Account banned");
        assert_eq!(message(D::DeviceLimitReached), "Hardware ID mismatch");
        assert_eq!(message(D::UserExpired), "Subscription expired");
        assert_eq!(message(D::AppPaused), "Application is paused");
        assert_eq!(message(D::UsernameTaken), "Username already exists");
        assert_eq!(message(D::LicenseNotFound), "Invalid or already used license key");
        assert_eq!(message(D::VpnBlocked), "VPN/Proxy connections are not allowed");
        assert_eq!(message(D::IpBlocked), "IP address banned");
    }

    /// Every row of the table is in docs/dialects/authon.md, spelled as the wire spells it; the
    /// failure message prints the table to paste.
    #[test]
    fn the_documentation_has_the_whole_table() {
        let doc = include_str!("../../../../../docs/dialects/authon.md");
        let mut table = String::new();
        let mut missing = Vec::new();
        let own = [
            bad_json(),
            too_large(super::super::MAX_BODY),
            wrong_type("username"),
            unknown_type("redeem_referral"),
            method_not_allowed(),
        ];
        let rows = documented_rows().into_iter().map(|(_, f)| f).chain(own);
        let mut seen = std::collections::BTreeSet::new();
        for f in rows {
            let line = format!("| {} | `{}` | {} |", f.status.as_u16(), f.code, f.message);
            if !seen.insert(line.clone()) {
                continue;
            }
            if !doc.contains(&line) {
                missing.push(line.clone());
            }
            table.push_str(&line);
            table.push('\n');
        }
        assert!(
            missing.is_empty(),
            "rows missing from docs/dialects/authon.md: {missing:#?}\nthe whole table:\n{table}"
        );
    }

    #[test]
    fn waits_carry_retry_after() {
        for e in [DomainError::Busy, DomainError::RateLimited { retry_after_secs: 5 }] {
            let res = super::super::error_response(&e);
            assert!(res.headers().get(axum::http::header::RETRY_AFTER).is_some(), "{e:?}");
        }
    }
}
