//! One row type per table the store reads, its columns as the database holds them, and its
//! conversion to the core model.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use tollgate_core::model::*;
use tollgate_store::{ResumeRecord, SigningKey, StoreError, StoreResult};

use crate::encode::{count, creator, json, parsed, ts, ts_opt};
use crate::IntoModel;

/// `sellers`.
#[derive(Debug, sqlx::FromRow)]
pub struct SellerRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub plan: String,
    pub created_at: i64,
}

impl IntoModel for SellerRow {
    type Model = Seller;

    fn into_model(self) -> StoreResult<Seller> {
        Ok(Seller {
            id: self.id,
            email: self.email,
            name: self.name,
            password_hash: self.password_hash,
            plan: self.plan,
            created_at: ts(self.created_at),
        })
    }
}

/// `apps`.
#[derive(Debug, sqlx::FromRow)]
pub struct AppRow {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub api_key: String,
    pub ws_key: String,
    pub version: String,
    pub status: String,
    pub settings: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl IntoModel for AppRow {
    type Model = App;

    fn into_model(self) -> StoreResult<App> {
        Ok(App {
            id: self.id,
            owner_id: self.owner_id,
            name: self.name,
            api_key: self.api_key,
            ws_key: self.ws_key,
            version: self.version,
            status: parsed(&self.status, "status")?,
            settings: json(&self.settings, "settings")?,
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
        })
    }
}

/// An app of the owner's listing, with its user and license counts.
#[derive(Debug, sqlx::FromRow)]
pub struct AppWithCountsRow {
    #[sqlx(flatten)]
    pub app: AppRow,
    pub user_count: i64,
    pub license_count: i64,
}

impl IntoModel for AppWithCountsRow {
    type Model = (App, AppCounts);

    fn into_model(self) -> StoreResult<(App, AppCounts)> {
        let counts = AppCounts { users: count(self.user_count), licenses: count(self.license_count) };
        Ok((self.app.into_model()?, counts))
    }
}

/// `licenses`.
#[derive(Debug, sqlx::FromRow)]
pub struct LicenseRow {
    pub id: String,
    pub app_id: String,
    pub key: String,
    pub status: String,
    pub level: i64,
    pub duration: String,
    pub max_devices: i64,
    pub note: Option<String>,
    pub prefix: Option<String>,
    pub created_by_kind: String,
    pub created_by: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub user_id: Option<String>,
    pub devices: String,
    pub ban_reason: Option<String>,
}

impl IntoModel for LicenseRow {
    type Model = License;

    fn into_model(self) -> StoreResult<License> {
        Ok(License {
            id: self.id,
            app_id: self.app_id,
            key: self.key,
            status: parsed(&self.status, "status")?,
            level: self.level,
            duration: parsed(&self.duration, "duration")?,
            max_devices: self.max_devices,
            note: self.note,
            prefix: self.prefix,
            created_by: creator(&self.created_by_kind, self.created_by)?,
            created_at: ts(self.created_at),
            activated_at: ts_opt(self.activated_at),
            expires_at: ts_opt(self.expires_at),
            user_id: self.user_id,
            devices: json(&self.devices, "devices")?,
            ban_reason: self.ban_reason,
        })
    }
}

/// `app_users`.
#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub app_id: String,
    pub username: String,
    pub password_hash: String,
    pub email: Option<String>,
    pub level: i64,
    pub expires_at: Option<i64>,
    pub devices: String,
    pub max_devices: i64,
    pub last_ip: Option<String>,
    pub status: String,
    pub ban_reason: Option<String>,
    pub last_login: Option<i64>,
    pub created_at: i64,
    pub note: Option<String>,
}

impl IntoModel for UserRow {
    type Model = User;

    fn into_model(self) -> StoreResult<User> {
        Ok(User {
            id: self.id,
            app_id: self.app_id,
            username: self.username,
            password_hash: self.password_hash,
            email: self.email,
            level: self.level,
            expires_at: ts_opt(self.expires_at),
            devices: json(&self.devices, "devices")?,
            max_devices: self.max_devices,
            last_ip: self.last_ip,
            status: parsed(&self.status, "status")?,
            ban_reason: self.ban_reason,
            last_login: ts_opt(self.last_login),
            created_at: ts(self.created_at),
            note: self.note,
        })
    }
}

/// `license_variables`.
#[derive(Debug, sqlx::FromRow)]
pub struct LicenseVariableRow {
    pub app_id: String,
    pub license_id: String,
    pub key: String,
    pub value: String,
    pub updated_at: i64,
}

impl IntoModel for LicenseVariableRow {
    type Model = LicenseVariable;

    fn into_model(self) -> StoreResult<LicenseVariable> {
        Ok(LicenseVariable {
            app_id: self.app_id,
            license_id: self.license_id,
            key: self.key,
            value: self.value,
            updated_at: ts(self.updated_at),
        })
    }
}

/// `user_variables`.
#[derive(Debug, sqlx::FromRow)]
pub struct UserVariableRow {
    pub app_id: String,
    pub user_id: String,
    pub key: String,
    pub value: String,
    pub updated_at: i64,
}

impl IntoModel for UserVariableRow {
    type Model = UserVariable;

    fn into_model(self) -> StoreResult<UserVariable> {
        Ok(UserVariable {
            app_id: self.app_id,
            user_id: self.user_id,
            key: self.key,
            value: self.value,
            updated_at: ts(self.updated_at),
        })
    }
}

/// `app_variables`.
#[derive(Debug, sqlx::FromRow)]
pub struct VariableRow {
    pub id: String,
    pub app_id: String,
    pub key: String,
    pub value: String,
    pub read_only: bool,
    pub auth_required: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl IntoModel for VariableRow {
    type Model = AppVariable;

    fn into_model(self) -> StoreResult<AppVariable> {
        Ok(AppVariable {
            id: self.id,
            app_id: self.app_id,
            key: self.key,
            value: self.value,
            read_only: self.read_only,
            auth_required: self.auth_required,
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
        })
    }
}

/// `blacklist`.
#[derive(Debug, sqlx::FromRow)]
pub struct BlacklistRow {
    pub id: String,
    pub app_id: String,
    pub kind: String,
    pub value: String,
    pub reason: Option<String>,
    pub created_at: i64,
}

impl IntoModel for BlacklistRow {
    type Model = BlacklistEntry;

    fn into_model(self) -> StoreResult<BlacklistEntry> {
        Ok(BlacklistEntry {
            id: self.id,
            app_id: self.app_id,
            kind: parsed(&self.kind, "kind")?,
            value: self.value,
            reason: self.reason,
            created_at: ts(self.created_at),
        })
    }
}

/// `sessions`.
#[derive(Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub app_id: String,
    pub token: String,
    pub user_id: Option<String>,
    pub license_id: Option<String>,
    pub ip: Option<String>,
    pub hwid: Option<String>,
    pub client_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen: i64,
}

impl IntoModel for SessionRow {
    type Model = Session;

    fn into_model(self) -> StoreResult<Session> {
        Ok(Session {
            id: self.id,
            app_id: self.app_id,
            token: self.token,
            user_id: self.user_id,
            license_id: self.license_id,
            ip: self.ip,
            hwid: self.hwid,
            client_id: self.client_id,
            created_at: ts(self.created_at),
            expires_at: ts(self.expires_at),
            last_seen: ts(self.last_seen),
        })
    }
}

/// A session of the live listing, with its user's name.
#[derive(Debug, sqlx::FromRow)]
pub struct SessionViewRow {
    #[sqlx(flatten)]
    pub session: SessionRow,
    pub username: Option<String>,
}

impl IntoModel for SessionViewRow {
    type Model = SessionView;

    fn into_model(self) -> StoreResult<SessionView> {
        Ok(SessionView { session: self.session.into_model()?, username: self.username })
    }
}

/// `resellers`.
#[derive(Debug, sqlx::FromRow)]
pub struct ResellerRow {
    pub id: String,
    pub app_id: String,
    pub username: String,
    pub password_hash: String,
    pub balance: i64,
    pub created_at: i64,
}

impl IntoModel for ResellerRow {
    type Model = Reseller;

    fn into_model(self) -> StoreResult<Reseller> {
        Ok(Reseller {
            id: self.id,
            app_id: self.app_id,
            username: self.username,
            password_hash: self.password_hash,
            balance: self.balance,
            created_at: ts(self.created_at),
        })
    }
}

/// `files` (the metadata; the bytes are not in the database).
#[derive(Debug, sqlx::FromRow)]
pub struct FileRow {
    pub id: String,
    pub app_id: String,
    pub name: String,
    pub size: i64,
    pub min_level: i64,
    pub sha256: String,
    pub created_at: i64,
    pub transfer_count: i64,
    pub last_transferred_at: Option<i64>,
}

impl IntoModel for FileRow {
    type Model = FileMeta;

    fn into_model(self) -> StoreResult<FileMeta> {
        Ok(FileMeta {
            id: self.id,
            app_id: self.app_id,
            name: self.name,
            size: self.size,
            min_level: self.min_level,
            sha256: self.sha256,
            created_at: ts(self.created_at),
            transfer_count: self.transfer_count,
            last_transferred_at: ts_opt(self.last_transferred_at),
        })
    }
}

/// `webhooks`.
#[derive(Debug, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub app_id: String,
    pub url: String,
    pub events: String,
    pub secret: String,
    pub enabled: bool,
    pub format: String,
    pub failing_since: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
}

impl IntoModel for WebhookRow {
    type Model = Webhook;

    fn into_model(self) -> StoreResult<Webhook> {
        Ok(Webhook {
            id: self.id,
            app_id: self.app_id,
            url: self.url,
            events: json(&self.events, "events")?,
            secret: self.secret,
            enabled: self.enabled,
            format: parsed(&self.format, "format")?,
            failing_since: self.failing_since.map(ts),
            disabled_reason: self.disabled_reason,
            created_at: ts(self.created_at),
        })
    }
}

/// `webhook_deliveries`.
#[derive(Debug, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub app_id: String,
    pub event: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub failures: i64,
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub created_at: i64,
}

/// A counter column as the unsigned count the model holds.
fn counter(n: i64, column: &str) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| StoreError::Other(format!("unexpected value in column {column}")))
}

impl IntoModel for DeliveryRow {
    type Model = Delivery;

    fn into_model(self) -> StoreResult<Delivery> {
        Ok(Delivery {
            id: self.id,
            webhook_id: self.webhook_id,
            app_id: self.app_id,
            event: self.event,
            payload: self.payload,
            state: parsed(&self.state, "state")?,
            attempts: counter(self.attempts, "attempts")?,
            failures: counter(self.failures, "failures")?,
            next_attempt_at: ts_opt(self.next_attempt_at),
            last_attempt_at: ts_opt(self.last_attempt_at),
            created_at: ts(self.created_at),
        })
    }
}

/// `webhook_attempts`.
#[derive(Debug, sqlx::FromRow)]
pub struct DeliveryAttemptRow {
    pub delivery_id: String,
    pub number: i64,
    pub at: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub response: String,
    pub error: Option<String>,
}

impl IntoModel for DeliveryAttemptRow {
    type Model = DeliveryAttempt;

    fn into_model(self) -> StoreResult<DeliveryAttempt> {
        let status_code = self
            .status_code
            .map(|c| u16::try_from(c).map_err(|_| StoreError::Other("unexpected value in column status_code".into())))
            .transpose()?;
        Ok(DeliveryAttempt {
            delivery_id: self.delivery_id,
            number: counter(self.number, "number")?,
            at: ts(self.at),
            status_code,
            latency_ms: counter(self.latency_ms, "latency_ms")?,
            response: self.response,
            error: self.error,
        })
    }
}

/// `logs`.
#[derive(Debug, sqlx::FromRow)]
pub struct LogRow {
    pub id: String,
    pub app_id: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub message: String,
    pub ip: Option<String>,
    pub hwid: Option<String>,
    pub created_at: i64,
}

impl IntoModel for LogRow {
    type Model = LogEntry;

    fn into_model(self) -> StoreResult<LogEntry> {
        Ok(LogEntry {
            id: self.id,
            app_id: self.app_id,
            user_id: self.user_id,
            username: self.username,
            message: self.message,
            ip: self.ip,
            hwid: self.hwid,
            created_at: ts(self.created_at),
        })
    }
}

/// `audit_log`.
#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: String,
    pub seller_id: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub app_id: Option<String>,
    pub ip: Option<String>,
    pub created_at: i64,
}

impl IntoModel for AuditRow {
    type Model = AuditEntry;

    fn into_model(self) -> StoreResult<AuditEntry> {
        Ok(AuditEntry {
            id: self.id,
            seller_id: self.seller_id,
            actor: self.actor,
            action: self.action,
            target: self.target,
            app_id: self.app_id,
            ip: self.ip,
            created_at: ts(self.created_at),
        })
    }
}

/// `chat_channels`.
#[derive(Debug, sqlx::FromRow)]
pub struct ChatChannelRow {
    pub id: String,
    pub app_id: String,
    pub name: String,
    pub created_at: i64,
}

impl IntoModel for ChatChannelRow {
    type Model = ChatChannel;

    fn into_model(self) -> StoreResult<ChatChannel> {
        Ok(ChatChannel { id: self.id, app_id: self.app_id, name: self.name, created_at: ts(self.created_at) })
    }
}

/// `chat_messages`.
#[derive(Debug, sqlx::FromRow)]
pub struct ChatMessageRow {
    pub id: String,
    pub app_id: String,
    pub channel_id: String,
    pub user_id: Option<String>,
    pub username: String,
    pub message: String,
    pub created_at: i64,
}

impl IntoModel for ChatMessageRow {
    type Model = ChatMessage;

    fn into_model(self) -> StoreResult<ChatMessage> {
        Ok(ChatMessage {
            id: self.id,
            app_id: self.app_id,
            channel_id: self.channel_id,
            user_id: self.user_id,
            username: self.username,
            message: self.message,
            created_at: ts(self.created_at),
        })
    }
}

/// `chat_mutes`.
#[derive(Debug, sqlx::FromRow)]
pub struct ChatMuteRow {
    pub app_id: String,
    pub channel_id: String,
    pub user_id: String,
    pub reason: Option<String>,
    pub until: Option<i64>,
    pub created_at: i64,
}

impl IntoModel for ChatMuteRow {
    type Model = ChatMute;

    fn into_model(self) -> StoreResult<ChatMute> {
        Ok(ChatMute {
            app_id: self.app_id,
            channel_id: self.channel_id,
            user_id: self.user_id,
            reason: self.reason,
            until: ts_opt(self.until),
            created_at: ts(self.created_at),
        })
    }
}

/// `device_licenses`.
#[derive(Debug, sqlx::FromRow)]
pub struct DeviceLicenseRow {
    pub id: String,
    pub app_id: String,
    pub device_type: String,
    pub device_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub level: i64,
    pub status: String,
    pub ban_reason: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub last_login: Option<i64>,
    pub last_ip: Option<String>,
    pub hwid: Option<String>,
}

impl IntoModel for DeviceLicenseRow {
    type Model = DeviceLicense;

    fn into_model(self) -> StoreResult<DeviceLicense> {
        Ok(DeviceLicense {
            id: self.id,
            app_id: self.app_id,
            device_type: parsed(&self.device_type, "device_type")?,
            device_id: self.device_id,
            name: self.name,
            email: self.email,
            level: self.level,
            status: parsed(&self.status, "status")?,
            ban_reason: self.ban_reason,
            note: self.note,
            created_at: ts(self.created_at),
            activated_at: ts_opt(self.activated_at),
            expires_at: ts_opt(self.expires_at),
            last_login: ts_opt(self.last_login),
            last_ip: self.last_ip,
            hwid: self.hwid,
        })
    }
}

/// `signing_keys`: the key bytes as standard base64 text. No `Debug`: it holds the encrypted
/// private key.
#[derive(sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    pub public_key: String,
    pub private_key_enc: String,
    pub created_at: i64,
    pub active: bool,
}

impl IntoModel for SigningKeyRow {
    type Model = SigningKey;

    fn into_model(self) -> StoreResult<SigningKey> {
        Ok(SigningKey {
            kid: self.kid,
            public_key: base64_bytes(&self.public_key, "public_key")?,
            private_key_enc: base64_bytes(&self.private_key_enc, "private_key_enc")?,
            created_at: ts(self.created_at),
            active: self.active,
        })
    }
}

/// Bytes stored as standard base64 text.
pub fn base64_text(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn base64_bytes(text: &str, column: &str) -> StoreResult<Vec<u8>> {
    B64.decode(text).map_err(|_| StoreError::Other(format!("invalid base64 in column {column}")))
}

/// `ws_resumes`.
#[derive(Debug, sqlx::FromRow)]
pub struct ResumeRow {
    pub id_hash: String,
    pub app_id: String,
    pub session_id: String,
    pub state: String,
    pub expires_at: i64,
}

impl IntoModel for ResumeRow {
    type Model = ResumeRecord;

    fn into_model(self) -> StoreResult<ResumeRecord> {
        Ok(ResumeRecord {
            id_hash: self.id_hash,
            app_id: self.app_id,
            session_id: self.session_id,
            state: self.state,
            expires_at: ts(self.expires_at),
        })
    }
}
