//! The one table from `DomainError` to Authly v2's HTTP status, code and message. Codes and
//! messages are the ones the Authly v2 documentation gives (init, register, licenses); where it
//! gives no status, the scheme is 400 input, 401 session or credentials, 403 policy, 404 not found,
//! 409 taken, 429 rate limited (docs/dialects/authly.md has the whole table).

use axum::http::StatusCode;
use tollgate_core::model::DeviceType;
use tollgate_core::DomainError;

/// Every status an error answer of the client API can have: the statuses of [`failure`] and of
/// the envelope's own errors. The OpenAPI document lists them on every `/api/v2` operation; a
/// test checks that each entry of the table is among them.
pub const STATUSES: &[u16] = &[400, 401, 403, 404, 409, 426, 429, 503];

/// Status, code and message of an Authly error answer.
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

fn device_code(t: DeviceType, motherboard: &'static str, processor: &'static str) -> &'static str {
    match t {
        DeviceType::Motherboard => motherboard,
        DeviceType::Processor => processor,
    }
}

fn device_word(t: DeviceType) -> &'static str {
    match t {
        DeviceType::Motherboard => "Motherboard",
        DeviceType::Processor => "Processor",
    }
}

/// A ban message carries the seller's reason when there is one.
fn banned(what: &str, reason: &Option<String>) -> String {
    match reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("{what} is banned: {r}"),
        None => format!("{what} is banned"),
    }
}

pub fn failure(e: &DomainError) -> Failure {
    use DomainError as D;
    match e {
        // --- input
        D::MissingFields(_) => f(400, "MISSING_FIELDS", "Required fields are missing"),
        D::Validation { field, message } => f(400, "VALIDATION_ERROR", format!("{field}: {message}")),
        // --- init pipeline
        D::OwnerNotFound => f(404, "OWNER_NOT_FOUND", "Owner not found"),
        D::AppNotFound => f(404, "APP_NOT_FOUND", "Application not found"),
        D::AppDisabled => f(403, "APP_DISABLED", "This application is currently disabled"),
        // Authly has one state for both; Tollgate's pause reads the same to a client.
        D::AppPaused => f(403, "APP_DISABLED", "This application is currently disabled"),
        D::IpBlocked => f(403, "IP_BLOCKED", "Access denied from this IP address"),
        D::IpNotWhitelisted => f(403, "IP_NOT_WHITELISTED", "IP address is not whitelisted"),
        D::VpnBlocked => f(403, "VPN_BLOCKED", "VPN/proxy connections are not allowed"),
        D::CountryBlocked => f(403, "COUNTRY_BLOCKED", "Access denied from this location"),
        D::HashRequired => f(400, "HASH_REQUIRED", "Hash is required for this application"),
        D::InvalidHash => f(401, "INVALID_HASH", "Hash does not match"),
        D::InvalidSecret => f(401, "INVALID_SECRET", "Invalid secret key"),
        D::VersionRefused(r) => match r.kind {
            tollgate_core::version::RejectionKind::UpdateRequired => {
                f(426, "UPDATE_REQUIRED", "Please update your app to the latest version")
            }
            tollgate_core::version::RejectionKind::VersionMismatch => {
                f(426, "VERSION_MISMATCH", "This app version is not supported by the developer")
            }
        },
        D::SessionQuotaExceeded => f(403, "SESSION_LIMIT_REACHED", "This application has reached its session limit"),
        // --- sessions
        D::InvalidSession => f(401, "INVALID_SESSION", "Invalid session"),
        D::SessionExpired => f(401, "SESSION_EXPIRED", "Session has expired"),
        // --- licenses
        D::LicenseNotFound => f(404, "LICENSE_NOT_FOUND", "License key not found"),
        D::LicenseInUse | D::LicenseLinked => f(403, "LICENSE_IN_USE", "This license key is already in use"),
        D::LicenseBanned { reason } => f(403, "LICENSE_BANNED", banned("This license key", reason)),
        D::LicensePaused => f(403, "LICENSE_PAUSED", "This license key is paused"),
        D::LicenseExpired => f(403, "LICENSE_EXPIRED", "This license key has expired"),
        // --- users
        D::UsernameTaken => f(409, "USERNAME_TAKEN", "Username is already taken"),
        D::UserNotFound => f(404, "USER_NOT_FOUND", "User not found"),
        D::InvalidPassword => f(401, "INVALID_PASSWORD", "Invalid password"),
        D::UserBanned { reason } => f(403, "USER_BANNED", banned("This account", reason)),
        D::UserSuspended => f(403, "USER_SUSPENDED", "This account is suspended"),
        D::UserExpired => f(403, "USER_EXPIRED", "Your subscription has expired"),
        D::DeviceLimitReached => f(403, "DEVICE_LIMIT_REACHED", "Device limit reached for this account"),
        D::HwidBlocked => f(403, "SID_BLOCKED", "This device is blacklisted"),
        D::AccountsQuotaExceeded => f(403, "ACCOUNT_LIMIT_REACHED", "This application has reached its account limit"),
        D::PasswordChangeUnavailable => {
            f(403, "PASSWORD_CHANGE_UNAVAILABLE", "Password change is disabled for this app")
        }
        D::PasswordReused => f(400, "PASSWORD_REUSED", "The new password must differ from the old one"),
        // --- device licenses
        D::InvalidDeviceType => f(400, "INVALID_DEVICE_TYPE", "Device type must be motherboard or processor"),
        D::DeviceNotFound(t) => f(
            404,
            device_code(*t, "MOTHERBOARD_NOT_FOUND", "PROCESSOR_NOT_FOUND"),
            format!("{} not found", device_word(*t)),
        ),
        D::DeviceBanned { device_type, reason } => f(
            403,
            device_code(*device_type, "MOTHERBOARD_BANNED", "PROCESSOR_BANNED"),
            banned(&format!("This {}", device_word(*device_type).to_lowercase()), reason),
        ),
        D::DevicePaused(t) => f(
            403,
            device_code(*t, "MOTHERBOARD_PAUSED", "PROCESSOR_PAUSED"),
            format!("This {} is paused", device_word(*t).to_lowercase()),
        ),
        D::DeviceExpired(t) => f(
            403,
            device_code(*t, "MOTHERBOARD_EXPIRED", "PROCESSOR_EXPIRED"),
            format!("This {} license has expired", device_word(*t).to_lowercase()),
        ),
        // --- chats
        D::ChannelNotFound => f(404, "CHANNEL_NOT_FOUND", "Chat channel not found"),
        D::UserMuted => f(403, "USER_MUTED", "You are muted in this channel"),
        D::UsernameNotLinked => f(401, "USERNAME_NOT_LINKED", "Log in with an account first"),
        D::LoginRequired => f(401, "LOGIN_REQUIRED", "Log in first to read this variable"),
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

/// Errors of the envelope itself, before any endpoint runs.
pub fn bad_json(detail: &str) -> Failure {
    f(400, "INVALID_REQUEST", format!("Request body is not a valid JSON object: {detail}"))
}

/// A body the strict reader refused: not JSON or a key given twice (`INVALID_REQUEST`), or a NUL
/// character in a field (`VALIDATION_ERROR`, naming the field). All 400.
pub fn refused_json(p: &crate::strict_json::JsonProblem) -> Failure {
    use crate::strict_json::JsonProblem as P;
    match p {
        P::Syntax(detail) => bad_json(detail),
        P::DuplicateKey { path } => f(400, "INVALID_REQUEST", format!("Field `{path}` appears more than once")),
        P::NulCharacter { path } => f(400, "VALIDATION_ERROR", format!("{path}: {}", p.message())),
    }
}

pub fn too_large(limit: usize) -> Failure {
    f(400, "PAYLOAD_TOO_LARGE", format!("Request body is larger than {limit} bytes"))
}

pub fn wrong_type(field: &str) -> Failure {
    f(400, "INVALID_REQUEST", format!("Field `{field}` has the wrong type"))
}

/// A blacklist check that found the device or the address (the flags go with it).
pub fn blacklisted() -> Failure {
    f(403, "BLACKLISTED", "This device or address is blacklisted")
}

/// `LOGIN_REQUIRED` of `license-file`: the table's message speaks of variables.
pub fn license_file_login_required() -> Failure {
    f(401, "LOGIN_REQUIRED", "Log in first to get a license file")
}

pub fn unknown_endpoint() -> Failure {
    f(404, "NOT_FOUND", "Unknown endpoint")
}

pub fn method_not_allowed() -> Failure {
    f(405, "METHOD_NOT_ALLOWED", "Use POST")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::version::{RejectionKind, VersionRejection};

    fn refused(kind: RejectionKind) -> DomainError {
        DomainError::VersionRefused(Box::new(VersionRejection {
            kind,
            server_version: "2.0".into(),
            client_version: "1.0".into(),
            auto_update_enabled: false,
            auto_update_download_url: None,
            changelog: None,
        }))
    }

    /// The table as the wire shows it: a sample of every `DomainError` variant (variants that
    /// carry a kind, once per kind) with its status, code and message.
    fn rows() -> Vec<(DomainError, u16, &'static str, &'static str)> {
        use DeviceType::{Motherboard as Mb, Processor as Cpu};
        use DomainError as D;
        let reason = || Some("chargeback".to_owned());
        vec![
            (D::MissingFields("f".into()), 400, "MISSING_FIELDS", "Required fields are missing"),
            (
                D::validation("email", "is not an email address"),
                400,
                "VALIDATION_ERROR",
                "email: is not an email address",
            ),
            (D::OwnerNotFound, 404, "OWNER_NOT_FOUND", "Owner not found"),
            (D::AppNotFound, 404, "APP_NOT_FOUND", "Application not found"),
            (D::AppDisabled, 403, "APP_DISABLED", "This application is currently disabled"),
            (D::AppPaused, 403, "APP_DISABLED", "This application is currently disabled"),
            (D::IpBlocked, 403, "IP_BLOCKED", "Access denied from this IP address"),
            (D::IpNotWhitelisted, 403, "IP_NOT_WHITELISTED", "IP address is not whitelisted"),
            (D::VpnBlocked, 403, "VPN_BLOCKED", "VPN/proxy connections are not allowed"),
            (D::CountryBlocked, 403, "COUNTRY_BLOCKED", "Access denied from this location"),
            (D::HashRequired, 400, "HASH_REQUIRED", "Hash is required for this application"),
            (D::InvalidHash, 401, "INVALID_HASH", "Hash does not match"),
            (D::InvalidSecret, 401, "INVALID_SECRET", "Invalid secret key"),
            (
                refused(RejectionKind::UpdateRequired),
                426,
                "UPDATE_REQUIRED",
                "Please update your app to the latest version",
            ),
            (
                refused(RejectionKind::VersionMismatch),
                426,
                "VERSION_MISMATCH",
                "This app version is not supported by the developer",
            ),
            (D::SessionQuotaExceeded, 403, "SESSION_LIMIT_REACHED", "This application has reached its session limit"),
            (D::InvalidSession, 401, "INVALID_SESSION", "Invalid session"),
            (D::SessionExpired, 401, "SESSION_EXPIRED", "Session has expired"),
            (D::LicenseNotFound, 404, "LICENSE_NOT_FOUND", "License key not found"),
            (D::LicenseInUse, 403, "LICENSE_IN_USE", "This license key is already in use"),
            (D::LicenseLinked, 403, "LICENSE_IN_USE", "This license key is already in use"),
            (D::LicenseBanned { reason: None }, 403, "LICENSE_BANNED", "This license key is banned"),
            (D::LicenseBanned { reason: reason() }, 403, "LICENSE_BANNED", "This license key is banned: chargeback"),
            (D::LicensePaused, 403, "LICENSE_PAUSED", "This license key is paused"),
            (D::LicenseExpired, 403, "LICENSE_EXPIRED", "This license key has expired"),
            (D::UsernameTaken, 409, "USERNAME_TAKEN", "Username is already taken"),
            (D::UserNotFound, 404, "USER_NOT_FOUND", "User not found"),
            (D::InvalidPassword, 401, "INVALID_PASSWORD", "Invalid password"),
            (D::UserBanned { reason: Some("  ".into()) }, 403, "USER_BANNED", "This account is banned"),
            (D::UserBanned { reason: reason() }, 403, "USER_BANNED", "This account is banned: chargeback"),
            (D::UserSuspended, 403, "USER_SUSPENDED", "This account is suspended"),
            (D::UserExpired, 403, "USER_EXPIRED", "Your subscription has expired"),
            (D::DeviceLimitReached, 403, "DEVICE_LIMIT_REACHED", "Device limit reached for this account"),
            (D::HwidBlocked, 403, "SID_BLOCKED", "This device is blacklisted"),
            (D::AccountsQuotaExceeded, 403, "ACCOUNT_LIMIT_REACHED", "This application has reached its account limit"),
            (
                D::PasswordChangeUnavailable,
                403,
                "PASSWORD_CHANGE_UNAVAILABLE",
                "Password change is disabled for this app",
            ),
            (D::PasswordReused, 400, "PASSWORD_REUSED", "The new password must differ from the old one"),
            (D::InvalidDeviceType, 400, "INVALID_DEVICE_TYPE", "Device type must be motherboard or processor"),
            (D::DeviceNotFound(Mb), 404, "MOTHERBOARD_NOT_FOUND", "Motherboard not found"),
            (D::DeviceNotFound(Cpu), 404, "PROCESSOR_NOT_FOUND", "Processor not found"),
            (
                D::DeviceBanned { device_type: Mb, reason: None },
                403,
                "MOTHERBOARD_BANNED",
                "This motherboard is banned",
            ),
            (
                D::DeviceBanned { device_type: Cpu, reason: reason() },
                403,
                "PROCESSOR_BANNED",
                "This processor is banned: chargeback",
            ),
            (D::DevicePaused(Mb), 403, "MOTHERBOARD_PAUSED", "This motherboard is paused"),
            (D::DevicePaused(Cpu), 403, "PROCESSOR_PAUSED", "This processor is paused"),
            (D::DeviceExpired(Mb), 403, "MOTHERBOARD_EXPIRED", "This motherboard license has expired"),
            (D::DeviceExpired(Cpu), 403, "PROCESSOR_EXPIRED", "This processor license has expired"),
            (D::ChannelNotFound, 404, "CHANNEL_NOT_FOUND", "Chat channel not found"),
            (D::UserMuted, 403, "USER_MUTED", "You are muted in this channel"),
            (D::UsernameNotLinked, 401, "USERNAME_NOT_LINKED", "Log in with an account first"),
            (D::ReplayedRequest, 401, "REPLAYED_REQUEST", "Request was already used or its timestamp is out of range"),
            (D::InvalidRequestSignature, 401, "INVALID_REQUEST_SIGNATURE", "Request signature does not match"),
            (D::LoginRequired, 401, "LOGIN_REQUIRED", "Log in first to read this variable"),
            (D::VariableNotFound, 404, "VARIABLE_NOT_FOUND", "Variable not found"),
            (D::VariableReadOnly, 403, "VARIABLE_READ_ONLY", "This variable cannot be changed by clients"),
            (D::FileNotFound, 404, "FILE_NOT_FOUND", "File not found"),
            (D::LevelTooLow, 403, "LEVEL_TOO_LOW", "Your level is too low for this file"),
            (D::BlacklistFull, 403, "BLACKLIST_FULL", "The application's blacklist is full"),
            (D::RateLimited { retry_after_secs: 3 }, 429, "RATE_LIMITED", "Too many requests, slow down"),
            (D::Unavailable, 503, "UNAVAILABLE", "Service temporarily unavailable"),
            (D::Busy, 503, "SERVER_BUSY", "Server is busy, try again shortly"),
            (D::Internal, 500, "INTERNAL", "Internal server error"),
        ]
    }

    #[test]
    fn the_table_has_a_row_for_every_variant_and_answers_it() {
        let mut covered = std::collections::BTreeSet::new();
        for (e, status, code, message) in rows() {
            let got = failure(&e);
            assert_eq!((got.status.as_u16(), got.code, got.message.as_str()), (status, code, message), "{e:?}");
            let n = e.ordinal();
            assert!(n < DomainError::VARIANTS, "{e:?} is numbered {n}: number it in DomainError::ordinal");
            covered.insert(n);
        }
        let missing: Vec<usize> = (0..DomainError::VARIANTS).filter(|n| !covered.contains(n)).collect();
        assert!(missing.is_empty(), "variants without a row (numbers of `DomainError::ordinal`): {missing:?}");
    }

    #[test]
    fn every_status_of_the_table_is_documented() {
        let mut seen = std::collections::BTreeSet::new();
        // The opaque 500 is not a status a client is told to expect.
        for (e, status, _, _) in rows().into_iter().filter(|r| r.1 != 500) {
            assert!(STATUSES.contains(&status), "{e:?} answers {status}, not in STATUSES");
            seen.insert(status);
        }
        for f in [bad_json("x"), too_large(1), wrong_type("x"), unknown_endpoint(), blacklisted()] {
            assert!(STATUSES.contains(&f.status.as_u16()), "{f:?}");
            seen.insert(f.status.as_u16());
        }
        // And no status is listed that nothing answers.
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), STATUSES.to_vec());
    }

    #[test]
    fn busy_and_infrastructure_rows() {
        let busy = failure(&DomainError::Busy);
        assert_eq!((busy.status.as_u16(), busy.code), (503, "SERVER_BUSY"));
        assert_eq!(busy.message, "Server is busy, try again shortly");
        let down = failure(&DomainError::Unavailable);
        assert_eq!((down.status.as_u16(), down.code), (503, "UNAVAILABLE"));
        let limited = failure(&DomainError::RateLimited { retry_after_secs: 5 });
        assert_eq!((limited.status.as_u16(), limited.code), (429, "RATE_LIMITED"));
        // Both waits tell the client how long.
        for e in [DomainError::Busy, DomainError::RateLimited { retry_after_secs: 5 }] {
            let res = super::super::envelope::error_response(&e);
            assert!(res.headers().get(axum::http::header::RETRY_AFTER).is_some(), "{e:?}");
        }
    }
}
