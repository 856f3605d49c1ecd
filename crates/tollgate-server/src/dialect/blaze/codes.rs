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

    /// 4202 with the configured time in its reason (Blazeauth's own text at the default 15 s).
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

/// The one table from a `DomainError` to the status of the answer. Errors no Blazeauth packet
/// can meet (device licenses, chats, request MACs, ...) answer 6 like any other failure whose
/// cause is the server's; inputs are checked by each packet before the core sees them, so
/// `MissingFields` and `Validation` do not reach a client through this table.
pub fn status_of(e: &DomainError) -> Status {
    use DomainError as D;
    use Status as S;
    match e {
        // --- input (checked by the packets first)
        D::MissingFields(_) | D::Validation { .. } => S::InternalServerError,
        // --- the app and the caller's network
        D::OwnerNotFound | D::AppNotFound => S::AppNotFound,
        D::AppDisabled | D::AppPaused => S::AppPaused,
        // Initialize closes 4204 on these without an answer (see `close_of`).
        D::IpBlocked | D::IpNotWhitelisted | D::VpnBlocked | D::CountryBlocked => S::ClientIdBlacklisted,
        D::InvalidSecret => S::InvalidApiKey,
        D::HashRequired | D::InvalidHash | D::VersionRefused(_) => S::InternalServerError,
        D::SessionQuotaExceeded => S::AppSessionsQuotaExceeded,
        // --- sessions
        D::InvalidSession | D::SessionExpired => S::NotAuthorized,
        // --- licenses
        D::LicenseNotFound => S::LicenseNotFound,
        D::LicenseExpired => S::LicenseExpired,
        D::LicensePaused => S::LicensePaused,
        D::LicenseBanned { .. } => S::LicenseBlacklisted,
        D::LicenseLinked => S::LicenseAlreadyLinked,
        D::LicenseInUse => S::LicenseAlreadyActivated,
        // --- accounts: an unknown login and a wrong password read the same
        D::UserNotFound | D::InvalidPassword => S::AppUserNotFound,
        D::UserBanned { .. } | D::UserSuspended => S::AppUserBlacklisted,
        D::UsernameTaken => S::AppUserAlreadyExists,
        D::UserExpired => S::AppUserHasNoValidLicenses,
        D::DeviceLimitReached => S::ClientIdMismatch,
        D::HwidBlocked => S::ClientIdBlacklisted,
        D::AccountsQuotaExceeded => S::AppAccountsQuotaExceeded,
        D::BlacklistFull => S::AppBlacklistsQuotaExceeded,
        D::PasswordChangeUnavailable | D::PasswordReused => S::InternalServerError,
        // --- device licenses and chats: no Blazeauth packet reaches them
        D::InvalidDeviceType
        | D::DeviceNotFound(_)
        | D::DeviceBanned { .. }
        | D::DevicePaused(_)
        | D::DeviceExpired(_)
        | D::ChannelNotFound
        | D::UserMuted => S::InternalServerError,
        // --- what a connection that has not authorized cannot do
        D::UsernameNotLinked | D::LoginRequired | D::LevelTooLow => S::NotAuthorized,
        // --- variables and files
        D::VariableNotFound => S::VariableNotFound,
        D::VariableReadOnly => S::InternalServerError,
        D::FileNotFound => S::FileNotFound,
        // --- request integrity and load
        D::ReplayedRequest | D::InvalidRequestSignature => S::InternalServerError,
        D::RateLimited { .. } => S::TooManyRequests,
        D::Unavailable | D::Busy | D::Internal => S::InternalServerError,
    }
}

/// The errors that end the connection, and whether their status is answered first: a client id
/// on the app's blacklist is answered 503 and then closed 4204; an address the app refuses
/// (blacklisted, not whitelisted, a VPN, a blocked country) is closed 4204 without an answer,
/// so the client learns nothing of the rule that refused it.
pub fn close_of(e: &DomainError) -> Option<(bool, Close)> {
    use DomainError as D;
    match e {
        D::HwidBlocked => Some((true, Close::EXTERNAL_ID_BLACKLISTED)),
        D::IpBlocked | D::IpNotWhitelisted | D::VpnBlocked | D::CountryBlocked => {
            Some((false, Close::EXTERNAL_ID_BLACKLISTED))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::model::DeviceType;
    use tollgate_core::version::{RejectionKind, VersionRejection};

    /// One sample of every variant with the status it answers.
    fn rows() -> Vec<(DomainError, u16)> {
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
        vec![
            (D::MissingFields("login".into()), 6),
            (D::validation("login", "is too short"), 6),
            (D::OwnerNotFound, 600),
            (D::AppNotFound, 600),
            (D::AppDisabled, 601),
            (D::AppPaused, 601),
            (D::IpBlocked, 503),
            (D::IpNotWhitelisted, 503),
            (D::VpnBlocked, 503),
            (D::CountryBlocked, 503),
            (D::HashRequired, 6),
            (D::InvalidHash, 6),
            (D::InvalidSecret, 2),
            (refused(RejectionKind::UpdateRequired), 6),
            (refused(RejectionKind::VersionMismatch), 6),
            (D::SessionQuotaExceeded, 602),
            (D::InvalidSession, 3),
            (D::SessionExpired, 3),
            (D::LicenseNotFound, 100),
            (D::LicenseInUse, 107),
            (D::LicenseBanned { reason: Some("chargeback".into()) }, 105),
            (D::LicensePaused, 104),
            (D::LicenseExpired, 103),
            (D::UsernameTaken, 202),
            (D::UserNotFound, 200),
            (D::InvalidPassword, 200),
            (D::UserBanned { reason: None }, 201),
            (D::UserSuspended, 201),
            (D::UserExpired, 203),
            (D::DeviceLimitReached, 502),
            (D::HwidBlocked, 503),
            (D::AccountsQuotaExceeded, 603),
            (D::PasswordChangeUnavailable, 6),
            (D::PasswordReused, 6),
            (D::InvalidDeviceType, 6),
            (D::DeviceNotFound(DeviceType::Motherboard), 6),
            (D::DeviceBanned { device_type: DeviceType::Processor, reason: None }, 6),
            (D::DevicePaused(DeviceType::Motherboard), 6),
            (D::DeviceExpired(DeviceType::Processor), 6),
            (D::ChannelNotFound, 6),
            (D::UserMuted, 6),
            (D::UsernameNotLinked, 3),
            (D::ReplayedRequest, 6),
            (D::InvalidRequestSignature, 6),
            (D::LoginRequired, 3),
            (D::VariableNotFound, 400),
            (D::VariableReadOnly, 6),
            (D::RateLimited { retry_after_secs: 3 }, 5),
            (D::Unavailable, 6),
            (D::Busy, 6),
            (D::Internal, 6),
            (D::FileNotFound, 300),
            (D::LevelTooLow, 3),
            (D::LicenseLinked, 106),
            (D::BlacklistFull, 604),
        ]
    }

    #[test]
    fn every_domain_error_has_its_status() {
        let mut covered = std::collections::BTreeSet::new();
        for (e, status) in rows() {
            assert_eq!(status_of(&e).code(), status, "{e:?}");
            let n = e.ordinal();
            assert!(n < DomainError::VARIANTS, "{e:?} is numbered {n}: number it in DomainError::ordinal");
            covered.insert(n);
        }
        let missing: Vec<usize> = (0..DomainError::VARIANTS).filter(|n| !covered.contains(n)).collect();
        assert!(missing.is_empty(), "variants without a row (numbers of `DomainError::ordinal`): {missing:?}");
    }

    #[test]
    fn refused_addresses_close_unanswered_and_a_blacklisted_client_id_is_answered_first() {
        use DomainError as D;
        for e in [D::IpBlocked, D::IpNotWhitelisted, D::VpnBlocked, D::CountryBlocked] {
            assert_eq!(close_of(&e), Some((false, Close::EXTERNAL_ID_BLACKLISTED)), "{e:?}");
        }
        assert_eq!(close_of(&D::HwidBlocked), Some((true, Close::EXTERNAL_ID_BLACKLISTED)));
        for (e, _) in rows().into_iter().filter(|(e, _)| {
            !matches!(e, D::IpBlocked | D::IpNotWhitelisted | D::VpnBlocked | D::CountryBlocked | D::HwidBlocked)
        }) {
            assert_eq!(close_of(&e), None, "{e:?}");
        }
    }

    #[test]
    fn statuses_serialise_as_their_numbers() {
        assert_eq!(serde_json::to_string(&Status::StoreOutOfEntries).unwrap(), "702");
        assert_eq!(serde_json::to_string(&Status::Ok).unwrap(), "1");
        assert_eq!(Close::init_timeout(15), Close::INIT_TIMEOUT);
    }
}
