//! The one error enum of the domain. Each dialect maps it to its own codes in one table.

use crate::device::DeviceType;
use crate::version::VersionRejection;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    // --- input
    #[error("required fields are missing: {0}")]
    MissingFields(String),
    #[error("invalid {field}: {message}")]
    Validation { field: String, message: String },

    // --- init pipeline, in pipeline order
    #[error("owner not found")]
    OwnerNotFound,
    #[error("application not found")]
    AppNotFound,
    #[error("application is disabled")]
    AppDisabled,
    #[error("application is paused")]
    AppPaused,
    #[error("ip is blacklisted")]
    IpBlocked,
    #[error("ip is not whitelisted")]
    IpNotWhitelisted,
    #[error("vpn or proxy connections are not allowed")]
    VpnBlocked,
    #[error("country is blocked")]
    CountryBlocked,
    #[error("hash is required")]
    HashRequired,
    #[error("hash does not match")]
    InvalidHash,
    #[error("invalid secret")]
    InvalidSecret,
    #[error("client version refused")]
    VersionRefused(Box<VersionRejection>),
    #[error("session quota exceeded")]
    SessionQuotaExceeded,

    // --- sessions
    #[error("invalid session")]
    InvalidSession,
    #[error("session expired")]
    SessionExpired,

    // --- licenses
    #[error("license not found")]
    LicenseNotFound,
    #[error("license is in use")]
    LicenseInUse,
    /// Used, and linked to an account: only that account's sign-in uses it.
    #[error("license is linked to an account")]
    LicenseLinked,
    #[error("license is banned")]
    LicenseBanned { reason: Option<String> },
    #[error("license is paused")]
    LicensePaused,
    #[error("license has expired")]
    LicenseExpired,

    // --- users
    #[error("username is taken")]
    UsernameTaken,
    #[error("user not found")]
    UserNotFound,
    #[error("invalid password")]
    InvalidPassword,
    #[error("user is banned")]
    UserBanned { reason: Option<String> },
    #[error("user is suspended")]
    UserSuspended,
    #[error("subscription has expired")]
    UserExpired,
    #[error("device limit reached")]
    DeviceLimitReached,
    #[error("device is blacklisted")]
    HwidBlocked,
    #[error("accounts quota exceeded")]
    AccountsQuotaExceeded,
    #[error("password change is disabled")]
    PasswordChangeUnavailable,
    #[error("new password equals the old one")]
    PasswordReused,

    // --- device licenses (Authly device-auth); the type is part of the wire code
    #[error("device type must be motherboard or processor")]
    InvalidDeviceType,
    #[error("{0} not found")]
    DeviceNotFound(DeviceType),
    #[error("{device_type} is banned")]
    DeviceBanned { device_type: DeviceType, reason: Option<String> },
    #[error("{0} is paused")]
    DevicePaused(DeviceType),
    #[error("{0} has expired")]
    DeviceExpired(DeviceType),

    // --- chats
    #[error("chat channel not found")]
    ChannelNotFound,
    #[error("muted in this channel")]
    UserMuted,
    #[error("the session has no user")]
    UsernameNotLinked,

    // --- request integrity (replay defence, request MAC)
    #[error("request timestamp outside the window or nonce already seen")]
    ReplayedRequest,
    #[error("request signature does not match")]
    InvalidRequestSignature,

    #[error("this needs a signed-in session")]
    LoginRequired,

    // --- variables
    #[error("variable not found")]
    VariableNotFound,
    #[error("variable is read-only")]
    VariableReadOnly,

    // --- files
    #[error("file not found")]
    FileNotFound,
    /// The session's level is below the file's minimum level.
    #[error("level too low for this file")]
    LevelTooLow,
    /// The app's blacklist holds as many entries as it may (a client blacklisting itself).
    #[error("the application's blacklist is full")]
    BlacklistFull,

    // --- throttling
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },

    // --- infrastructure
    #[error("service unavailable")]
    Unavailable,
    /// Too many password checks are running or waiting: nothing was done, try again shortly.
    #[error("server busy")]
    Busy,
    /// The cause is logged where it happens; this text never reaches a client.
    #[error("internal error")]
    Internal,
}

impl DomainError {
    /// How many variants there are: [`DomainError::ordinal`] numbers them `0..VARIANTS`.
    pub const VARIANTS: usize = 54;

    /// The variant's number, for the dialects' code-table tests: each table must answer every
    /// number. There is no wildcard, so a new variant does not compile until it is numbered here
    /// (and `VARIANTS` raised), and then every dialect's table test fails until it has a row.
    pub fn ordinal(&self) -> usize {
        use DomainError as D;
        match self {
            D::MissingFields(_) => 0,
            D::Validation { .. } => 1,
            D::OwnerNotFound => 2,
            D::AppNotFound => 3,
            D::AppDisabled => 4,
            D::AppPaused => 5,
            D::IpBlocked => 6,
            D::IpNotWhitelisted => 7,
            D::VpnBlocked => 8,
            D::CountryBlocked => 9,
            D::HashRequired => 10,
            D::InvalidHash => 11,
            D::InvalidSecret => 12,
            D::VersionRefused(_) => 13,
            D::SessionQuotaExceeded => 14,
            D::InvalidSession => 15,
            D::SessionExpired => 16,
            D::LicenseNotFound => 17,
            D::LicenseInUse => 18,
            D::LicenseBanned { .. } => 19,
            D::LicensePaused => 20,
            D::LicenseExpired => 21,
            D::UsernameTaken => 22,
            D::UserNotFound => 23,
            D::InvalidPassword => 24,
            D::UserBanned { .. } => 25,
            D::UserSuspended => 26,
            D::UserExpired => 27,
            D::DeviceLimitReached => 28,
            D::HwidBlocked => 29,
            D::AccountsQuotaExceeded => 30,
            D::PasswordChangeUnavailable => 31,
            D::PasswordReused => 32,
            D::InvalidDeviceType => 33,
            D::DeviceNotFound(_) => 34,
            D::DeviceBanned { .. } => 35,
            D::DevicePaused(_) => 36,
            D::DeviceExpired(_) => 37,
            D::ChannelNotFound => 38,
            D::UserMuted => 39,
            D::UsernameNotLinked => 40,
            D::ReplayedRequest => 41,
            D::InvalidRequestSignature => 42,
            D::LoginRequired => 43,
            D::VariableNotFound => 44,
            D::VariableReadOnly => 45,
            D::RateLimited { .. } => 46,
            D::Unavailable => 47,
            D::Busy => 48,
            D::Internal => 49,
            D::FileNotFound => 50,
            D::LevelTooLow => 51,
            D::LicenseLinked => 52,
            D::BlacklistFull => 53,
        }
    }

    /// The variant's name (`InvalidSecret`, `IpBlocked`, ...): a stable code for a refusal that
    /// is the same whatever protocol answered it (the seller's record of refused client calls).
    pub fn name(&self) -> &'static str {
        Self::NAMES[self.ordinal()]
    }

    /// The names by ordinal; the array's length is `VARIANTS`, so a variant cannot be left out.
    const NAMES: [&'static str; Self::VARIANTS] = [
        "MissingFields",
        "Validation",
        "OwnerNotFound",
        "AppNotFound",
        "AppDisabled",
        "AppPaused",
        "IpBlocked",
        "IpNotWhitelisted",
        "VpnBlocked",
        "CountryBlocked",
        "HashRequired",
        "InvalidHash",
        "InvalidSecret",
        "VersionRefused",
        "SessionQuotaExceeded",
        "InvalidSession",
        "SessionExpired",
        "LicenseNotFound",
        "LicenseInUse",
        "LicenseBanned",
        "LicensePaused",
        "LicenseExpired",
        "UsernameTaken",
        "UserNotFound",
        "InvalidPassword",
        "UserBanned",
        "UserSuspended",
        "UserExpired",
        "DeviceLimitReached",
        "HwidBlocked",
        "AccountsQuotaExceeded",
        "PasswordChangeUnavailable",
        "PasswordReused",
        "InvalidDeviceType",
        "DeviceNotFound",
        "DeviceBanned",
        "DevicePaused",
        "DeviceExpired",
        "ChannelNotFound",
        "UserMuted",
        "UsernameNotLinked",
        "ReplayedRequest",
        "InvalidRequestSignature",
        "LoginRequired",
        "VariableNotFound",
        "VariableReadOnly",
        "RateLimited",
        "Unavailable",
        "Busy",
        "Internal",
        "FileNotFound",
        "LevelTooLow",
        "LicenseLinked",
        "BlacklistFull",
    ];

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Validation { field: field.into(), message: message.into() }
    }
}
