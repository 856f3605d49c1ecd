//! Blazeauth's statuses and close codes, and the one table from `DomainError` to a status.

use std::borrow::Cow;

use serde::{Serialize, Serializer};
use tollgate_core::DomainError;

/// A Blazeauth answer status (the `status` field of every answer packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    InvalidApiKey,
    NotAuthorized,
    AlreadyInitialized,
    TooManyRequests,
    InternalServerError,
    AlreadyAuthorized,
    LicenseNotFound,
    LicenseTooShort,
    LicenseTooLong,
    LicenseExpired,
    LicensePaused,
    LicenseBlacklisted,
    LicenseAlreadyLinked,
    LicenseAlreadyActivated,
    AppUserNotFound,
    AppUserBlacklisted,
    AppUserAlreadyExists,
    AppUserHasNoValidLicenses,
    AppUserRequiresLicense,
    AppUserLoginTooShort,
    AppUserLoginTooLong,
    AppUserPasswordTooShort,
    /// Tollgate's: the password is longer than the 1,024 characters accepted.
    AppUserPasswordTooLong,
    /// Tollgate's: credentials type 1 with a login that is not an email address.
    AppUserInvalidEmail,
    /// Tollgate's: a login (credentials type 0) with characters a username may not have.
    AppUserInvalidLogin,
    FileNotFound,
    FileInvalidName,
    /// Tollgate's: `resume_at` is past the end of the file.
    FileInvalidResumeOffset,
    /// Tollgate's: the transfer was stopped by a Stop file transfer packet.
    FileTransferStopped,
    FileNotBeingTransferred,
    /// Tollgate's: a transfer of this file is already running on this connection.
    FileAlreadyBeingTransferred,
    VariableNotFound,
    VariableInvalidName,
    ClientIdTooShort,
    ClientIdTooLong,
    ClientIdMismatch,
    ClientIdBlacklisted,
    AppNotFound,
    AppPaused,
    AppSessionsQuotaExceeded,
    AppAccountsQuotaExceeded,
    AppBlacklistsQuotaExceeded,
    StoreValueNotFound,
    StoreOutOfMemory,
    StoreOutOfEntries,
}

impl Status {
    /// The number on the wire.
    pub fn code(self) -> u16 {
        use Status as S;
        match self {
            S::Ok => 1,
            S::InvalidApiKey => 2,
            S::NotAuthorized => 3,
            S::AlreadyInitialized => 4,
            S::TooManyRequests => 5,
            S::InternalServerError => 6,
            S::AlreadyAuthorized => 7,
            S::LicenseNotFound => 100,
            S::LicenseTooShort => 101,
            S::LicenseTooLong => 102,
            S::LicenseExpired => 103,
            S::LicensePaused => 104,
            S::LicenseBlacklisted => 105,
            S::LicenseAlreadyLinked => 106,
            S::LicenseAlreadyActivated => 107,
            S::AppUserNotFound => 200,
            S::AppUserBlacklisted => 201,
            S::AppUserAlreadyExists => 202,
            S::AppUserHasNoValidLicenses => 203,
            S::AppUserRequiresLicense => 204,
            S::AppUserLoginTooShort => 205,
            S::AppUserLoginTooLong => 206,
            S::AppUserPasswordTooShort => 207,
            S::AppUserPasswordTooLong => 208,
            S::AppUserInvalidEmail => 209,
            S::AppUserInvalidLogin => 210,
            S::FileNotFound => 300,
            S::FileInvalidName => 301,
            S::FileInvalidResumeOffset => 302,
            S::FileTransferStopped => 304,
            S::FileNotBeingTransferred => 305,
            S::FileAlreadyBeingTransferred => 306,
            S::VariableNotFound => 400,
            S::VariableInvalidName => 401,
            S::ClientIdTooShort => 500,
            S::ClientIdTooLong => 501,
            S::ClientIdMismatch => 502,
            S::ClientIdBlacklisted => 503,
            S::AppNotFound => 600,
            S::AppPaused => 601,
            S::AppSessionsQuotaExceeded => 602,
            S::AppAccountsQuotaExceeded => 603,
            S::AppBlacklistsQuotaExceeded => 604,
            S::StoreValueNotFound => 700,
            S::StoreOutOfMemory => 701,
            S::StoreOutOfEntries => 702,
        }
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.code())
    }
}

/// A close of the socket by the server: the code and the reason text Blazeauth clients know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: Cow<'static, str>,
}

impl Close {
    pub const NORMAL: Close = Close { code: 1000, reason: Cow::Borrowed("") };
    pub const INTERNAL: Close = Close { code: 4000, reason: Cow::Borrowed("internal server error") };
    pub const DISCONNECTED: Close = Close { code: 4100, reason: Cow::Borrowed("disconnected from panel") };
    pub const APP_PAUSED: Close = Close { code: 4101, reason: Cow::Borrowed("application paused") };
    pub const APP_DELETED: Close = Close { code: 4102, reason: Cow::Borrowed("application deleted") };
    pub const NOT_INITIALIZED: Close = Close { code: 4200, reason: Cow::Borrowed("connection is not initialized") };
    pub const RATE_LIMITED: Close = Close { code: 4201, reason: Cow::Borrowed("rate limit hit") };
    pub const INIT_TIMEOUT: Close =
        Close { code: 4202, reason: Cow::Borrowed("session wasn't initialized in 15 seconds after connection") };
    pub const BLACKLISTED: Close = Close { code: 4203, reason: Cow::Borrowed("session was blacklisted") };
    pub const EXTERNAL_ID_BLACKLISTED: Close =
        Close { code: 4204, reason: Cow::Borrowed("external ID is blacklisted") };
    pub const INIT_FAILED: Close = Close { code: 4205, reason: Cow::Borrowed("failed to initialize session") };
    pub const NO_TYPE_OR_ID: Close =
        Close { code: 4300, reason: Cow::Borrowed("packet does not contain mandatory 'type' and/or 'id' fields") };
    pub const UNKNOWN_TYPE: Close = Close { code: 4301, reason: Cow::Borrowed("invalid handler type specified") };
    pub const BAD_BODY: Close = Close { code: 4302, reason: Cow::Borrowed("invalid request body") };
    pub const UNSUPPORTED_DATA: Close = Close { code: 4304, reason: Cow::Borrowed("received unsupported data") };
    pub const RESUME_FAILED: Close = Close { code: 4400, reason: Cow::Borrowed("failed to resume session") };
    pub const RESUME_UNKNOWN: Close =
        Close { code: 4401, reason: Cow::Borrowed("resume ID was not found or it is expired") };

    /// Whether the client may resume the session after this close: never after a close the
    /// server decided (a kick, a blacklist, the app paused or deleted, a protocol violation).
    pub fn resumable(&self) -> bool {
        false
    }

    /// 4202 with the configured time in its reason (the reference's text at the default 15 s).
    pub fn init_timeout(secs: u64) -> Close {
        Close {
            code: 4202,
            reason: Cow::Owned(format!("session wasn't initialized in {secs} seconds after connection")),
        }
    }

    /// 4201 for an Initialize while the address is in backoff.
    pub fn rate_limited_for(secs: u64) -> Close {
        Close { code: 4201, reason: Cow::Owned(format!("rate limited, {secs} seconds left")) }
    }
}

// The DomainError table (`status_of`) and its per-variant test: H-blaze.
pub fn status_of(e: &DomainError) -> Status {
    let _ = e;
    Status::InternalServerError
}
