//! The dialect-neutral model: sellers, apps, licenses, users, sessions and what hangs off them.

use crate::duration::DurationType;
use crate::settings::AppSettings;
use crate::time::Timestamp;

use crate::string_enum::string_enum;

/// Devices are named in [`crate::device`], which errors use without the rest of the model.
pub use crate::device::DeviceType;

string_enum!(AppStatus { Active => "ACTIVE", Paused => "PAUSED", Disabled => "DISABLED" });
string_enum!(LicenseStatus {
    Unused => "UNUSED", Used => "USED", Banned => "BANNED", Paused => "PAUSED", Expired => "EXPIRED"
});
string_enum!(UserStatus { Active => "ACTIVE", Banned => "BANNED", Paused => "PAUSED" });
string_enum!(BlacklistKind { Ip => "IP", Hwid => "HWID", Username => "USERNAME", ClientId => "CLIENT_ID" });

#[derive(Debug, Clone, PartialEq)]
pub struct Seller {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub plan: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    pub id: String,
    pub seller_id: String,
    /// SHA-256 of the token, hex; the token itself is never stored.
    pub token_hash: String,
    /// The chain the token belongs to: a login starts one, each refresh continues it. Reusing a
    /// spent token revokes the whole chain.
    pub chain_id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub api_key: String,
    pub ws_key: String,
    pub version: String,
    pub status: AppStatus,
    pub settings: AppSettings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppCounts {
    pub users: u64,
    pub licenses: u64,
}

/// Who made a license: the seller (admin API, CLI) or one of the app's resellers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creator {
    Seller(String),
    Reseller(String),
}

impl Creator {
    pub fn id(&self) -> &str {
        match self {
            Creator::Seller(id) | Creator::Reseller(id) => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct License {
    pub id: String,
    pub app_id: String,
    pub key: String,
    pub status: LicenseStatus,
    pub level: i64,
    pub duration: DurationType,
    pub max_devices: i64,
    pub note: Option<String>,
    pub prefix: Option<String>,
    pub created_by: Creator,
    pub created_at: Timestamp,
    pub activated_at: Option<Timestamp>,
    /// Set at first use from the duration; `None` while unused or for lifetime keys.
    pub expires_at: Option<Timestamp>,
    pub user_id: Option<String>,
    pub devices: Vec<String>,
    pub ban_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub app_id: String,
    pub username: String,
    pub password_hash: String,
    pub email: Option<String>,
    pub level: i64,
    /// `None` means the subscription never ends.
    pub expires_at: Option<Timestamp>,
    pub devices: Vec<String>,
    /// How many devices may be bound at once (from the license the user redeemed).
    pub max_devices: i64,
    pub last_ip: Option<String>,
    pub status: UserStatus,
    pub ban_reason: Option<String>,
    pub last_login: Option<Timestamp>,
    pub created_at: Timestamp,
    /// The seller's or the client's note on the account (Blazeauth's create-account `comment`).
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub app_id: String,
    /// The bearer value clients send back (Authly `session_id`, Authon `sessionToken`).
    pub token: String,
    pub user_id: Option<String>,
    pub license_id: Option<String>,
    pub ip: Option<String>,
    pub hwid: Option<String>,
    pub client_id: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_seen: Timestamp,
}

/// A live session with the username it belongs to, for the admin list.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub session: Session,
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppVariable {
    pub id: String,
    pub app_id: String,
    pub key: String,
    pub value: String,
    pub read_only: bool,
    pub auth_required: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserVariable {
    pub app_id: String,
    pub user_id: String,
    pub key: String,
    pub value: String,
    pub updated_at: Timestamp,
}

/// A variable a key-only session keeps: the license's own, as a user's variable is the user's.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseVariable {
    pub app_id: String,
    pub license_id: String,
    pub key: String,
    pub value: String,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BlacklistEntry {
    pub id: String,
    pub app_id: String,
    pub kind: BlacklistKind,
    /// Normalised: IP entries are CIDRs in canonical form (`1.2.3.4/32`).
    pub value: String,
    pub reason: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reseller {
    pub id: String,
    pub app_id: String,
    pub username: String,
    pub password_hash: String,
    pub balance: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileMeta {
    pub id: String,
    pub app_id: String,
    pub name: String,
    /// Plaintext size in bytes.
    pub size: i64,
    pub min_level: i64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
    pub created_at: Timestamp,
    /// Downloads started from the file's first byte, by any client protocol.
    pub transfer_count: i64,
    /// When the last of those started.
    pub last_transferred_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: String,
    pub app_id: String,
    pub url: String,
    pub events: Vec<String>,
    /// The signing secret as the server stores it: sealed under the master key (the store keeps
    /// whatever it is given).
    pub secret: String,
    pub enabled: bool,
    pub format: WebhookFormat,
    /// Since when every attempt to this endpoint has failed; `None` while it answers.
    pub failing_since: Option<Timestamp>,
    /// Why the server disabled it (failing for too long); cleared when the seller enables it.
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
}

string_enum!(
    /// What a webhook is sent: the signed JSON event, or a message a Discord channel webhook shows.
    WebhookFormat { Standard => "standard", Discord => "discord" }
);
string_enum!(DeliveryState { Pending => "PENDING", Delivered => "DELIVERED", Failed => "FAILED" });

/// One event on its way to one webhook. Its id is the `webhook-id` every attempt carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub app_id: String,
    /// The event's kind (`user.login`, ...).
    pub event: String,
    /// The event's standard body, exactly as signed and sent.
    pub payload: String,
    pub state: DeliveryState,
    /// Attempts made so far, all rounds.
    pub attempts: u32,
    /// Failed attempts in a row since it was (re)queued: where it is in the retry schedule.
    pub failures: u32,
    /// When the worker may next send it; `None` when it is not waiting (done, or a test ping
    /// being sent by the request that made it).
    pub next_attempt_at: Option<Timestamp>,
    pub last_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// One try at sending a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub delivery_id: String,
    /// 1 for the first attempt.
    pub number: u32,
    pub at: Timestamp,
    /// The receiver's HTTP status; `None` when no answer came (refused, timeout, connection).
    pub status_code: Option<u16>,
    pub latency_ms: u32,
    /// The first bytes of the answer's body (at most 1 KiB), lossily decoded.
    pub response: String,
    /// Why no answer came, or why the address was refused.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub id: String,
    pub app_id: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub message: String,
    pub ip: Option<String>,
    pub hwid: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: String,
    pub seller_id: String,
    /// Who acted: a seller id (or `cli` for operator commands).
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub app_id: Option<String>,
    pub ip: Option<String>,
    pub created_at: Timestamp,
}

/// A chat channel of an app (Authly `chats/*`), made by the seller.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatChannel {
    pub id: String,
    pub app_id: String,
    /// Unique per app, case-sensitive (clients address channels by name).
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub id: String,
    pub app_id: String,
    pub channel_id: String,
    pub user_id: Option<String>,
    /// A record of who wrote it: the message outlives the user.
    pub username: String,
    pub message: String,
    pub created_at: Timestamp,
}

/// A user muted in one channel, until an instant or for good.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMute {
    pub app_id: String,
    pub channel_id: String,
    pub user_id: String,
    pub reason: Option<String>,
    /// `None`: muted until unmuted.
    pub until: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A license bound to one piece of hardware (Authly `device-auth`): no username, no key.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceLicense {
    pub id: String,
    pub app_id: String,
    pub device_type: DeviceType,
    pub device_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub level: i64,
    /// `UNUSED` until its first authentication, then `USED`; or `BANNED` / `PAUSED`.
    pub status: LicenseStatus,
    pub ban_reason: Option<String>,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub activated_at: Option<Timestamp>,
    /// Set by the seller at creation (and moved by extend); `None` never expires.
    pub expires_at: Option<Timestamp>,
    pub last_login: Option<Timestamp>,
    pub last_ip: Option<String>,
    pub hwid: Option<String>,
}

/// Webhook events a seller can subscribe to.
/// (The kinds of [`crate::events::EventKind`] but `webhook.test`.)
pub const WEBHOOK_EVENTS: &[&str] = &[
    "user.login",
    "user.register",
    "user.ban",
    "license.activate",
    "license.expire",
    "license.delete",
    "file.download",
    "session.create",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip() {
        for s in LicenseStatus::ALL {
            assert_eq!(s.as_str().parse::<LicenseStatus>(), Ok(*s));
        }
        assert_eq!(serde_json::to_string(&BlacklistKind::ClientId).unwrap(), "\"CLIENT_ID\"");
        assert!("active".parse::<AppStatus>().is_err());
    }
}
