//! The storage boundary: one `Store` trait, grouped by aggregate, that every backend implements.
//!
//! Tenant scope is in every signature: per-app rows are reached through `app_id`, apps through
//! their owner. Unique constraints carry the same names in every backend so a conflict maps the
//! same way everywhere (see [`constraint`]).
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod activity;
#[cfg(feature = "conformance")]
pub mod conformance;
mod keys;

pub use activity::*;
pub use keys::{SigningKey, SigningKeyStore};

use async_trait::async_trait;
use tollgate_core::events::Event;
use tollgate_core::model::*;
use tollgate_core::time::Timestamp;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A write named a row it depends on that does not exist (or is not in the tenant's scope):
    /// the user of a user variable, the channel or user of a mute or message, the session a
    /// redemption signs in. A missing row the call is *about* is never this error; see [`Store`].
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; `constraint` is one of [`constraint`]'s names.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// The database cannot be reached (connection refused, pool timed out, server restarting).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database cannot store a value it was given (PostgreSQL: a NUL character or bytes
    /// that are not valid in the database's encoding). The APIs refuse such text before it gets
    /// here; this keeps a value that slipped through a 400, never a 500.
    #[error("value cannot be stored: {0}")]
    Unstorable(String),
    #[error("database error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Unique constraint names, identical in every backend's migrations.
pub mod constraint {
    pub const SELLER_EMAIL: &str = "sellers_email_key";
    pub const APP_OWNER_NAME: &str = "apps_owner_name_key";
    pub const APP_API_KEY: &str = "apps_api_key_key";
    pub const APP_WS_KEY: &str = "apps_ws_key_key";
    pub const LICENSE_APP_KEY: &str = "licenses_app_key_key";
    pub const USER_APP_USERNAME: &str = "app_users_app_username_key";
    pub const VARIABLE_APP_KEY: &str = "app_variables_app_key_key";
    pub const BLACKLIST_APP_KIND_VALUE: &str = "blacklist_app_kind_value_key";
    pub const RESELLER_APP_USERNAME: &str = "resellers_app_username_key";
    pub const SESSION_TOKEN: &str = "sessions_token_key";
    pub const REFRESH_TOKEN_HASH: &str = "refresh_tokens_hash_key";
    pub const CHAT_CHANNEL_APP_NAME: &str = "chat_channels_app_name_key";
    pub const DEVICE_LICENSE_APP_DEVICE: &str = "device_licenses_app_device_key";
    pub const ALL: &[&str] = &[
        SELLER_EMAIL,
        APP_OWNER_NAME,
        APP_API_KEY,
        APP_WS_KEY,
        LICENSE_APP_KEY,
        USER_APP_USERNAME,
        VARIABLE_APP_KEY,
        BLACKLIST_APP_KIND_VALUE,
        RESELLER_APP_USERNAME,
        SESSION_TOKEN,
        REFRESH_TOKEN_HASH,
        CHAT_CHANNEL_APP_NAME,
        DEVICE_LICENSE_APP_DEVICE,
    ];
}

/// Page request: `page` from 1, `limit` 1..=100 (callers clamp before calling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl PageRequest {
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.limit)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// The most matches a license search counts: a search's total above it is reported as
/// `SEARCH_COUNT_CAP + 1` ("more than"), so a search matching most of a million licenses costs no
/// more than one matching ten thousand.
pub const SEARCH_COUNT_CAP: u64 = 10_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LicenseFilter {
    pub status: Option<LicenseStatus>,
    /// The beginning of the key or of the note, case-insensitively (`abcd` finds `ABCD-1234`
    /// and a note `abcd order`). Served by the key and note indexes, so a search costs the same
    /// in an app of a thousand licenses as in one of a million. The page's total counts the
    /// matches up to [`SEARCH_COUNT_CAP`]; past it, the total is `SEARCH_COUNT_CAP + 1`.
    pub search: Option<String>,
    /// Only licenses made by this creator id (a reseller listing its own keys).
    pub created_by: Option<String>,
    /// Keyset pagination: only licenses strictly after this position in the listing order
    /// (`created_at DESC, id DESC`), and the page's offset is ignored. A page costs the same
    /// however deep it is, where an offset walks over every row before it.
    pub after: Option<LicenseCursor>,
}

/// A position in a license listing: the `(created_at, id)` of the last license seen.
///
/// `id` compares byte-wise in every backend (SQLite's default BINARY collation, PostgreSQL's
/// `COLLATE "C"`), the same as `str`'s `Ord`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseCursor {
    pub created_at: Timestamp,
    pub id: String,
}

impl LicenseCursor {
    /// The position of `license`: a listing after it starts with the next one.
    pub fn of(license: &License) -> LicenseCursor {
        LicenseCursor { created_at: license.created_at, id: license.id.clone() }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserFilter {
    pub status: Option<UserStatus>,
    /// Substring of the username or the email (case-insensitive).
    pub search: Option<String>,
}

/// Fields an admin may change on a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    pub level: Option<i64>,
    pub email: Option<Option<String>>,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VariablePatch {
    pub value: Option<String>,
    pub read_only: Option<bool>,
    pub auth_required: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResellerPatch {
    pub password_hash: Option<String>,
    pub balance: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub format: Option<WebhookFormat>,
}

/// Fields an admin may change on a license; `None` leaves a field as it is, a note of
/// `Some(None)` removes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LicensePatch {
    pub note: Option<Option<String>>,
    pub level: Option<i64>,
    pub max_devices: Option<i64>,
}

/// How extending a license ended (see [`LicenseStore::extend_license`]).
// Returned once per call and matched at once, never stored: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum LicenseExtendOutcome {
    /// Written: the license as it is now, and the user it is registered to with their new
    /// expiry (`None` when the license has no user).
    Extended { license: License, user: Option<User> },
    /// The rule refused it: nothing written.
    Refused(tollgate_core::license::ExtendRefusal),
    /// No such license in the app.
    Missing,
}

/// What redeeming a key writes on the license: it turns `UNUSED` → `USED` at `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    pub at: Timestamp,
    /// From the license's duration; `None` for lifetime keys.
    pub expires_at: Option<Timestamp>,
    /// The device bound at first use, if any (becomes the license's only device).
    pub device: Option<String>,
    /// The client session that redeems the key, bound in the same transaction (see
    /// [`SessionLink`]): either the key is redeemed and the session signed in, or neither.
    pub session: Option<SessionLink>,
}

/// A session to sign in as part of a redemption: as `bind_session` does, it is linked to the new
/// user (register) or the license (key login), records `hwid` when given, and its expiry moves
/// forward to `expires_at` if later. The session must belong to the license's app.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionLink {
    pub session_id: String,
    pub hwid: Option<String>,
    pub expires_at: Timestamp,
}

/// How an atomic register-with-key ended. Only `Registered` wrote anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOutcome {
    Registered,
    /// The license was no longer `UNUSED` when the write came (another redeemer won).
    LicenseTaken,
    /// The username exists in the app (case-insensitively).
    UsernameTaken,
    /// The app already has `max_users` users.
    QuotaReached,
    /// `activation.session` names no session of the app (it was killed meanwhile).
    SessionGone,
}

/// How creating an account without a license ended (see [`UserStore::create_unlicensed_user`]).
/// Only `Created` wrote anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlicensedSignup {
    Created,
    /// The address already made `cap` such accounts in the app since `since`; the oldest of them
    /// was made at `oldest` (the caller can tell when the next one is allowed).
    Capped {
        oldest: Timestamp,
    },
    /// The username exists in the app (case-insensitively).
    UsernameTaken,
    /// The app already has `quota` users.
    QuotaReached,
}

/// A dropped WebSocket session kept for resumption.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeRecord {
    /// SHA-256 (hex) of the resume id the client holds; the id itself is never stored.
    pub id_hash: String,
    pub app_id: String,
    pub session_id: String,
    /// The connection's state as the server serialised it; opaque to the store.
    pub state: String,
    pub expires_at: Timestamp,
}

/// How binding a device to a license or a user ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceBinding {
    /// The device was already one of the bound ones: nothing written.
    Known,
    /// The device was added.
    Added,
    /// Adding it would exceed the limit: nothing written.
    LimitReached,
    /// No such license or user in the app.
    Missing,
}

/// A position in a chat channel's history, newest first: the `(created_at, id)` of the last
/// message seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageCursor {
    pub created_at: Timestamp,
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceLicensePatch {
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub level: Option<i64>,
    pub note: Option<Option<String>>,
}

#[async_trait]
pub trait SellerStore {
    /// `Conflict(sellers_email_key)` when the email (compared case-insensitively) exists.
    async fn create_seller(&self, seller: &Seller) -> StoreResult<()>;
    async fn seller_by_id(&self, id: &str) -> StoreResult<Option<Seller>>;
    /// Case-insensitive.
    async fn seller_by_email(&self, email: &str) -> StoreResult<Option<Seller>>;
    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()>;
    /// Atomically consume a refresh token: `Fresh` once, for a token that is unused, unexpired
    /// and whose chain is not revoked. A token that was already used is `Reused`, and its whole
    /// chain is revoked (`revoked_at`) so no token of it is ever `Fresh` again, even one
    /// inserted into the chain afterwards. Unknown, expired or revoked tokens are `Invalid`.
    async fn consume_refresh_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<RefreshUse>;
    /// Revoke the chain of the seller's refresh token with this hash; `false` when the seller
    /// has no such token.
    async fn revoke_refresh_chain(&self, seller_id: &str, token_hash: &str, now: Timestamp) -> StoreResult<bool>;
    /// The seller's token generation (access tokens carry the one they were issued under);
    /// `None` when the seller does not exist.
    async fn seller_token_generation(&self, seller_id: &str) -> StoreResult<Option<i64>>;
    /// Move to the next token generation: every access token issued before is refused. The new
    /// generation, or `None` when the seller does not exist.
    async fn bump_seller_token_generation(&self, seller_id: &str) -> StoreResult<Option<i64>>;
    /// Delete the seller and everything under it (apps and their data, refresh tokens, audit
    /// trail); `false` when there was no such seller.
    async fn delete_seller(&self, seller_id: &str) -> StoreResult<bool>;
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// Consumed now; the successor joins `chain_id`.
    Fresh { seller_id: String, chain_id: String },
    /// Already used: the chain is now revoked.
    Reused { seller_id: String },
    /// Unknown, expired or revoked.
    Invalid,
}

#[async_trait]
pub trait AppStore {
    /// `Conflict(apps_owner_name_key)` when the owner has an app of that exact name.
    async fn create_app(&self, app: &App) -> StoreResult<()>;
    /// The owner's apps, oldest first, each with its user and license counts.
    async fn list_apps(&self, owner_id: &str) -> StoreResult<Vec<(App, AppCounts)>>;
    /// The app if it belongs to `owner_id`.
    async fn get_app(&self, owner_id: &str, app_id: &str) -> StoreResult<Option<App>>;
    /// Case-sensitive name match (Authly init).
    async fn app_by_owner_and_name(&self, owner_id: &str, name: &str) -> StoreResult<Option<App>>;
    /// Unscoped lookup for client protocols that identify the app by id and then prove the key.
    async fn app_by_id(&self, app_id: &str) -> StoreResult<Option<App>>;
    async fn app_by_ws_key(&self, ws_key: &str) -> StoreResult<Option<App>>;
    /// Write name, version, status, settings, keys and `updated_at` of an app the owner has.
    /// `false` (nothing written) if the app is not the owner's; `Conflict(apps_owner_name_key)`
    /// on a rename clash.
    async fn update_app(&self, app: &App) -> StoreResult<bool>;
    /// Deletes the app and everything under it. `false` if not the owner's.
    async fn delete_app(&self, owner_id: &str, app_id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait LicenseStore {
    /// Insert all or none, in one transaction. `Conflict(licenses_app_key_key)` on a duplicate key.
    async fn insert_licenses(&self, licenses: &[License]) -> StoreResult<()>;
    /// Newest first (`created_at DESC, id DESC`). `total` counts every license matching the
    /// filter, whatever the page or `filter.after`.
    async fn list_licenses(
        &self,
        app_id: &str,
        filter: &LicenseFilter,
        page: PageRequest,
    ) -> StoreResult<Page<License>>;
    async fn get_license(&self, app_id: &str, license_id: &str) -> StoreResult<Option<License>>;
    /// The app's license with this key, compared case-insensitively (ASCII letters; served by
    /// an index on `(app_id, lower(key))`). When several keys differ only by case (keys made
    /// before generation was upper case only), the one written exactly as given wins, else the
    /// oldest.
    async fn license_by_key(&self, app_id: &str, key: &str) -> StoreResult<Option<License>>;
    /// Change note, level and device limit; `None` when the app has no such license.
    async fn update_license(
        &self,
        app_id: &str,
        license_id: &str,
        patch: &LicensePatch,
    ) -> StoreResult<Option<License>>;
    /// Extend a license by `by`, deciding with [`tollgate_core::license::extend`] on the row as
    /// it is under a lock and writing the result in the same transaction, so concurrent
    /// extensions each count. A used license registered to a user moves the user's expiry too,
    /// to `max(user expiry, now) + by` (a user who never expires keeps no expiry). The counts
    /// move when the status does (`EXPIRED` back to `USED`/`UNUSED`).
    async fn extend_license(
        &self,
        app_id: &str,
        license_id: &str,
        by: tollgate_core::DurationType,
        now: Timestamp,
    ) -> StoreResult<LicenseExtendOutcome>;
    /// Move the license from status `from` to `to` (and set the ban reason, cleared unless
    /// banning), only if its status is still `from`: one conditional update, so two admins
    /// acting at once cannot overwrite each other. Banning or pausing deletes the license's
    /// sessions and the counts move from `from` to `to`, in the same transaction. Returns the
    /// updated license; `None` when no license of the app has that id and status `from` (absent,
    /// or its status changed since it was read: read it again to tell).
    async fn set_license_status(
        &self,
        app_id: &str,
        license_id: &str,
        from: LicenseStatus,
        to: LicenseStatus,
        ban_reason: Option<&str>,
        events: &[Event],
    ) -> StoreResult<Option<License>>;
    async fn reset_license_devices(&self, app_id: &str, license_id: &str) -> StoreResult<Option<License>>;
    async fn delete_license(&self, app_id: &str, license_id: &str, events: &[Event]) -> StoreResult<bool>;

    // --- redemption: each is one transaction or one conditional statement, so under
    // any concurrency a key is consumed at most once and a username taken at most once.

    /// Key login's first use: `UNUSED` → `USED` with no user, writing `activation`, and signing
    /// in `activation.session` when given, all in one transaction. `None` when the license is not
    /// (or no longer) `UNUSED`; `Err(NotFound)` when the session is not one of the app's. Nothing
    /// is written in either case.
    async fn activate_license(
        &self,
        app_id: &str,
        license_id: &str,
        activation: &Activation,
        events: &[Event],
    ) -> StoreResult<Option<License>>;
    /// Register: in one transaction, turn the license `UNUSED` → `USED` linked to `user.id`
    /// (writing `activation`), insert `user`, and sign `activation.session` in as the user when
    /// given. All of it happens or none. With
    /// `max_users`, the app's user count is checked inside the same transaction, serialised
    /// with other registers of the app, so concurrent registers never pass the quota.
    async fn register_with_license(
        &self,
        user: &User,
        license_id: &str,
        activation: &Activation,
        max_users: Option<u32>,
        events: &[Event],
    ) -> StoreResult<RegisterOutcome>;
    /// Extend: in one transaction, turn the license `UNUSED` → `USED` linked to the user and
    /// give the user `max(level, license level)` and a new expiry: `max(expires_at, now) + add_ms`,
    /// or never (`None`) when `add_ms` is `None` (a lifetime key) or the user never expired.
    /// `None` when the license was not `UNUSED` or the user does not exist: nothing written.
    async fn extend_with_license(
        &self,
        app_id: &str,
        user_id: &str,
        license_id: &str,
        activation: &Activation,
        add_ms: Option<i64>,
        events: &[Event],
    ) -> StoreResult<Option<User>>;
    /// Add `device` to the license's devices unless it is there or `max_devices` are bound.
    /// Atomic against concurrent binds (never more than `max_devices`).
    async fn bind_license_device(
        &self,
        app_id: &str,
        license_id: &str,
        device: &str,
        max_devices: i64,
    ) -> StoreResult<DeviceBinding>;
}

#[async_trait]
pub trait UserStore {
    /// `Conflict(app_users_app_username_key)` when the username exists in the app
    /// (usernames compare case-insensitively).
    async fn create_user(&self, user: &User, events: &[Event]) -> StoreResult<()>;
    /// Newest first.
    async fn list_users(&self, app_id: &str, filter: &UserFilter, page: PageRequest) -> StoreResult<Page<User>>;
    async fn get_user(&self, app_id: &str, user_id: &str) -> StoreResult<Option<User>>;
    async fn user_by_username(&self, app_id: &str, username: &str) -> StoreResult<Option<User>>;
    async fn update_user(&self, app_id: &str, user_id: &str, patch: &UserPatch) -> StoreResult<Option<User>>;
    /// Move the user from status `from` to `to` and set the reason, only if their status is
    /// still `from` (one conditional update, as [`LicenseStore::set_license_status`]). Banning
    /// or pausing deletes the user's sessions in the same transaction so the next request of any
    /// of them fails. `None` when no user of the app has that id and status `from`.
    async fn set_user_status(
        &self,
        app_id: &str,
        user_id: &str,
        from: UserStatus,
        to: UserStatus,
        reason: Option<&str>,
        events: &[Event],
    ) -> StoreResult<Option<User>>;
    /// Forget the user's bound devices (idempotent).
    async fn reset_user_devices(&self, app_id: &str, user_id: &str) -> StoreResult<Option<User>>;
    /// Atomically add `days` to `max(expires_at, now)`; a user without expiry keeps none.
    async fn extend_user(&self, app_id: &str, user_id: &str, days: i64, now: Timestamp) -> StoreResult<Option<User>>;
    /// Deletes the user with their sessions and variables.
    async fn delete_user(&self, app_id: &str, user_id: &str) -> StoreResult<bool>;
    /// Add `device` to the user's devices unless it is there or `max_devices` are bound.
    /// Atomic against concurrent binds.
    async fn bind_user_device(
        &self,
        app_id: &str,
        user_id: &str,
        device: &str,
        max_devices: i64,
    ) -> StoreResult<DeviceBinding>;
    /// A successful login: `last_login = now`, and `last_ip` when given. `false` when the app has
    /// no such user (deleted while logging in): nothing is written.
    async fn record_login(
        &self,
        app_id: &str,
        user_id: &str,
        ip: Option<&str>,
        now: Timestamp,
        events: &[Event],
    ) -> StoreResult<bool>;
    /// Create an account that no license paid for, made from address `ip`: at most `cap` such
    /// accounts per app and address since `since` (this one counted), and at most `quota` users
    /// in the app. Counted and inserted atomically, so concurrent sign-ups from one address
    /// cannot pass the cap together. The address is remembered with the account.
    ///
    /// Checked in this order: the cap (`Capped`, with the oldest sign-up counted; with `cap` 0,
    /// `oldest` is `since`), the username (`UsernameTaken`), the quota (`QuotaReached`). The
    /// sign-up record outlives the account (deleting it does not give the address its turn back)
    /// and goes with the app, or after [`UNLICENSED_SIGNUPS_KEPT_MS`]. `events` are queued in the
    /// same transaction. Only `Created` writes anything; `NotFound` when the app is gone.
    async fn create_unlicensed_user(
        &self,
        user: &User,
        ip: &str,
        since: Timestamp,
        cap: u32,
        quota: Option<i64>,
        events: &[Event],
    ) -> StoreResult<UnlicensedSignup>;

    /// Insert or overwrite a user's variable.
    async fn set_user_variable(&self, var: &UserVariable) -> StoreResult<()>;
    async fn get_user_variable(&self, app_id: &str, user_id: &str, key: &str) -> StoreResult<Option<UserVariable>>;
    /// Sorted by key.
    async fn list_user_variables(&self, app_id: &str, user_id: &str) -> StoreResult<Vec<UserVariable>>;
    async fn delete_user_variable(&self, app_id: &str, user_id: &str, key: &str) -> StoreResult<bool>;

    /// Insert or overwrite a license's own variable (what a key-only session keeps, as a user's
    /// variable is what an account's session keeps). `NotFound` when the app has no such
    /// license; deleted with the license.
    async fn set_license_variable(&self, var: &LicenseVariable) -> StoreResult<()>;
    async fn get_license_variable(
        &self,
        app_id: &str,
        license_id: &str,
        key: &str,
    ) -> StoreResult<Option<LicenseVariable>>;
}

#[async_trait]
pub trait VariableStore {
    /// `Conflict(app_variables_app_key_key)` on a duplicate key.
    async fn create_variable(&self, var: &AppVariable) -> StoreResult<()>;
    /// Sorted by key.
    async fn list_variables(&self, app_id: &str) -> StoreResult<Vec<AppVariable>>;
    async fn get_variable(&self, app_id: &str, key: &str) -> StoreResult<Option<AppVariable>>;
    async fn update_variable(
        &self,
        app_id: &str,
        key: &str,
        patch: &VariablePatch,
        now: Timestamp,
    ) -> StoreResult<Option<AppVariable>>;
    async fn delete_variable(&self, app_id: &str, key: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait BlacklistStore {
    /// `Conflict(blacklist_app_kind_value_key)` when the same type and value exist.
    async fn add_blacklist(&self, entry: &BlacklistEntry) -> StoreResult<()>;
    /// Oldest first.
    async fn list_blacklist(&self, app_id: &str) -> StoreResult<Vec<BlacklistEntry>>;
    async fn delete_blacklist(&self, app_id: &str, id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait SessionStore {
    async fn create_session(&self, session: &Session, events: &[Event]) -> StoreResult<()>;
    /// Create every session of `batch` with its events in one transaction (group commit: the
    /// sessions of many concurrent inits in one write). One answer per entry, in order: `true`
    /// when it was created; `false` when its app no longer exists, and then nothing of that entry
    /// is written. Nothing is written when the call fails.
    async fn create_sessions(&self, batch: &[(Session, Vec<Event>)]) -> StoreResult<Vec<bool>>;
    /// Create the session only if the app has fewer than `max_live` sessions live at `now`;
    /// `false` (nothing written) otherwise. Concurrent calls for one app are serialised, so the
    /// quota holds under any concurrency.
    async fn create_session_capped(
        &self,
        session: &Session,
        max_live: u32,
        now: Timestamp,
        events: &[Event],
    ) -> StoreResult<bool>;
    async fn session_by_token(&self, app_id: &str, token: &str) -> StoreResult<Option<Session>>;
    /// For protocols whose bearer token is the only scope (Authly `session_id`): tokens are
    /// unique across apps. Expired sessions are returned too.
    async fn session_by_token_any(&self, token: &str) -> StoreResult<Option<Session>>;
    /// [`SessionStore::session_by_token_any`] for many tokens in one query (the sessions that
    /// concurrent requests name, read together): one answer per token, in order.
    async fn sessions_by_tokens_any(&self, tokens: &[String]) -> StoreResult<Vec<Option<Session>>>;
    /// Attach the session to a user or a license after a login (`None` leaves a link as it is),
    /// record the device, and move `expires_at` forward to `expires_at` if later.
    async fn bind_session(
        &self,
        app_id: &str,
        session_id: &str,
        user_id: Option<&str>,
        license_id: Option<&str>,
        hwid: Option<&str>,
        expires_at: Timestamp,
    ) -> StoreResult<bool>;
    /// Sessions with `expires_at > now`, newest first, with their usernames.
    async fn list_live_sessions(&self, app_id: &str, now: Timestamp) -> StoreResult<Vec<SessionView>>;
    async fn count_live_sessions(&self, app_id: &str, now: Timestamp) -> StoreResult<u64>;
    /// Record activity: `last_seen = now`, and `expires_at` moved to `expires_at` if later.
    async fn touch_session(
        &self,
        app_id: &str,
        session_id: &str,
        now: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<bool>;
    async fn delete_session(&self, app_id: &str, session_id: &str) -> StoreResult<bool>;
    /// Sign the session out: no user, no license (it stays open). `false` when it is gone.
    async fn unbind_session(&self, app_id: &str, session_id: &str) -> StoreResult<bool>;
    /// Set the session's expiry to exactly `expires_at`, earlier or later (a dropped WebSocket
    /// session lives only as long as it can be resumed). `false` when it is gone.
    async fn set_session_expiry(&self, app_id: &str, session_id: &str, expires_at: Timestamp) -> StoreResult<bool>;
    /// Kill every session of the app; returns how many.
    async fn delete_app_sessions(&self, app_id: &str) -> StoreResult<u64>;
    /// Remove sessions that expired before `now`, across all apps; returns how many.
    async fn purge_expired_sessions(&self, now: Timestamp) -> StoreResult<u64>;
}

#[async_trait]
pub trait ResellerStore {
    /// `Conflict(resellers_app_username_key)` on a duplicate username in the app.
    async fn create_reseller(&self, reseller: &Reseller) -> StoreResult<()>;
    async fn list_resellers(&self, app_id: &str) -> StoreResult<Vec<Reseller>>;
    async fn get_reseller(&self, app_id: &str, id: &str) -> StoreResult<Option<Reseller>>;
    async fn reseller_by_username(&self, app_id: &str, username: &str) -> StoreResult<Option<Reseller>>;
    async fn update_reseller(&self, app_id: &str, id: &str, patch: &ResellerPatch) -> StoreResult<Option<Reseller>>;
    async fn delete_reseller(&self, app_id: &str, id: &str) -> StoreResult<bool>;
    /// Add `amount` (positive) credits to the reseller's balance in one conditional update,
    /// only if the result stays at most `max_balance`: a purchase at the same moment is never
    /// overwritten. `Added` with the new balance, `OverMax` with the balance as it is (nothing
    /// written), or `ResellerMissing`.
    async fn add_reseller_credit(
        &self,
        app_id: &str,
        id: &str,
        amount: i64,
        max_balance: i64,
    ) -> StoreResult<CreditAdded>;
    /// A reseller buys `licenses` for `cost` credits: in one transaction, the reseller's balance
    /// goes down by `cost` only if it is at least `cost` (one conditional update, so concurrent
    /// purchases never spend more than the balance), and the licenses are inserted as
    /// [`LicenseStore::insert_licenses`] does. All of it happens or none:
    /// `Conflict(licenses_app_key_key)` on a duplicate key leaves the balance as it was. The
    /// licenses are the app's, made by this reseller; `cost` is not negative.
    async fn insert_reseller_licenses(
        &self,
        app_id: &str,
        reseller_id: &str,
        licenses: &[License],
        cost: i64,
    ) -> StoreResult<ResellerPurchase>;
}

/// How adding credit to a reseller ended. Only `Added` wrote anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditAdded {
    Added { balance: i64 },
    OverMax { balance: i64 },
    ResellerMissing,
}

/// How a reseller's purchase of licenses ended. Only `Bought` wrote anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResellerPurchase {
    /// The licenses are stored and the cost taken; `balance` is what is left.
    Bought { balance: i64 },
    /// The balance, as it is now, does not cover the cost: nothing written.
    NotEnoughCredit { balance: i64 },
    /// No reseller of the app has that id (deleted meanwhile): nothing written.
    ResellerMissing,
}

#[async_trait]
pub trait FileStore {
    async fn create_file(&self, file: &FileMeta) -> StoreResult<()>;
    async fn list_files(&self, app_id: &str) -> StoreResult<Vec<FileMeta>>;
    async fn get_file(&self, app_id: &str, id: &str) -> StoreResult<Option<FileMeta>>;
    async fn delete_file(&self, app_id: &str, id: &str) -> StoreResult<bool>;
    /// Count a transfer of the file (a download from its first byte) started at `at`:
    /// `transfer_count + 1`, `last_transferred_at = at`. `false` when the file is gone.
    async fn record_file_transfer(&self, app_id: &str, file_id: &str, at: Timestamp) -> StoreResult<bool>;
}

/// Dropped WebSocket sessions, kept for a while so the client can resume them on any node.
#[async_trait]
pub trait ResumeStore {
    /// Insert or replace the record with this `id_hash`.
    async fn save_resume(&self, record: &ResumeRecord) -> StoreResult<()>;
    /// Take the record: delete it and return it if it has not expired at `now`, so exactly one
    /// reconnect gets it, whatever node it reaches. `None` when unknown or expired.
    async fn take_resume(&self, id_hash: &str, now: Timestamp) -> StoreResult<Option<ResumeRecord>>;
    /// Remove records that expired at or before `now`; returns how many. Also forgets the
    /// unlicensed sign-ups (see [`UserStore::create_unlicensed_user`]) older than
    /// [`UNLICENSED_SIGNUPS_KEPT_MS`] (not counted in the result), so whatever purges resume records
    /// keeps that table small too.
    async fn purge_resumes(&self, now: Timestamp) -> StoreResult<u64>;
}

/// How long a record of an account made without a license is kept after it was made: the
/// longest window `create_unlicensed_user` can count over. Older records are removed by
/// [`ResumeStore::purge_resumes`].
pub const UNLICENSED_SIGNUPS_KEPT_MS: i64 = 24 * 60 * 60 * 1000;

/// A delivery the worker holds, with the webhook it goes to, until it reports the attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub delivery: Delivery,
    pub webhook: Webhook,
}

/// What an attempt did to the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A 2xx answer: `DELIVERED`, not due again.
    Delivered,
    /// Failed, with retries left: still `PENDING`, due at `at`; `failures` counts one more.
    Retry { at: Timestamp },
    /// Failed for good (no retry left, or a test ping): `FAILED`, not due again.
    Failed,
}

/// What an attempt tells about the webhook's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointHealth {
    /// Leave the webhook as it is (test pings).
    Unchanged,
    /// It answered 2xx: `failing_since` cleared.
    Healthy,
    /// It failed: `failing_since` set to the attempt's time unless already set.
    Failing,
    /// It has failed for too long: `failing_since` set as for `Failing`, the webhook disabled
    /// with this reason.
    Disable { reason: String },
}

/// A delivery with its attempts, oldest attempt first.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub delivery: Delivery,
    pub attempts: Vec<DeliveryAttempt>,
}

#[async_trait]
pub trait WebhookStore {
    async fn create_webhook(&self, hook: &Webhook) -> StoreResult<()>;
    async fn list_webhooks(&self, app_id: &str) -> StoreResult<Vec<Webhook>>;
    async fn get_webhook(&self, app_id: &str, id: &str) -> StoreResult<Option<Webhook>>;
    /// Enabling (`enabled: Some(true)`) also clears `disabled_reason` and `failing_since`.
    async fn update_webhook(&self, app_id: &str, id: &str, patch: &WebhookPatch) -> StoreResult<Option<Webhook>>;
    /// Deletes the webhook with its deliveries.
    async fn delete_webhook(&self, app_id: &str, id: &str) -> StoreResult<bool>;

    // --- the outbox. Every write below that takes `events` queues them in the same
    // transaction as the write, and only when the write happened (its outcome says it was
    // written): one `PENDING` delivery, due at once, per event and per enabled webhook of the
    // event's app subscribed to its kind. A commit that queued anything publishes
    // `Invalidation::WebhooksDue` (inside the transaction on PostgreSQL, so a rollback sends
    // nothing).

    /// Queue events that no write goes with (a download, ...), in one transaction. Returns how
    /// many deliveries were queued.
    async fn emit(&self, events: &[tollgate_core::events::Event]) -> StoreResult<u64>;
    /// Insert a delivery as it is given (a test ping: `next_attempt_at: None`, so no worker
    /// takes it), held under `lease` until [`WebhookStore::finish_attempt`]. `NotFound` when the
    /// webhook is gone.
    async fn insert_delivery(&self, delivery: &Delivery, lease: &str) -> StoreResult<()>;
    /// Take up to `limit` deliveries due at `now` (`PENDING`, `next_attempt_at <= now`, not held
    /// under a lease that runs past `now`, their webhook enabled), oldest due first, and hold
    /// them under `lease` until `lease_until`. Concurrent callers, in this process or another,
    /// never take the same delivery while its lease runs (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Claim>>;
    /// Record an attempt on a delivery held under `lease`, apply `outcome` to it (`attempts`
    /// and `last_attempt_at` move; `failures` moves on `Retry`/`Failed` and resets on
    /// `Delivered`) and `health` to its webhook, and release the lease, in one transaction.
    /// `false` (nothing written) when the delivery is gone or no longer held under `lease`.
    async fn finish_attempt(
        &self,
        lease: &str,
        attempt: &DeliveryAttempt,
        outcome: AttemptOutcome,
        health: EndpointHealth,
    ) -> StoreResult<bool>;
    /// The webhook's deliveries, newest first, each with its attempts.
    async fn list_deliveries(
        &self,
        app_id: &str,
        webhook_id: &str,
        page: PageRequest,
    ) -> StoreResult<Page<DeliveryRecord>>;
    async fn get_delivery(&self, app_id: &str, webhook_id: &str, id: &str) -> StoreResult<Option<DeliveryRecord>>;
    /// Queue the delivery again, whatever its state: `PENDING`, due at `now`, `failures` 0,
    /// lease released; its id (the `webhook-id`) and its attempts stay. `None` when absent.
    async fn redeliver(
        &self,
        app_id: &str,
        webhook_id: &str,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Delivery>>;
    /// Delete `DELIVERED` and `FAILED` deliveries (with their attempts) created before
    /// `before`; returns how many.
    async fn purge_deliveries(&self, before: Timestamp) -> StoreResult<u64>;
}

#[async_trait]
pub trait LogStore {
    async fn append_log(&self, entry: &LogEntry) -> StoreResult<()>;
    /// Newest first.
    async fn list_logs(&self, app_id: &str, page: PageRequest) -> StoreResult<Page<LogEntry>>;
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// The seller's audit trail, newest first.
    async fn list_audit(&self, seller_id: &str, page: PageRequest) -> StoreResult<Page<AuditEntry>>;
}

/// Request nonces seen by the client API (replay defence), shared by every process.
#[async_trait]
pub trait ReplayStore {
    /// Remember every nonce of `batch` until its expiry, in one transaction (group commit: one
    /// write for the nonces of many concurrent requests). The answer has one entry per entry of
    /// `batch`, in order: `true` the first time a nonce is seen; `false` when it is already
    /// remembered (a replay), also under concurrency with other batches and other processes, and
    /// for every later copy of a nonce that occurs more than once in `batch`. Nothing is
    /// remembered when the call fails.
    async fn remember_nonces(&self, batch: &[(String, Timestamp)]) -> StoreResult<Vec<bool>>;
    /// Remember one nonce until `expires_at`: [`ReplayStore::remember_nonces`] with one entry.
    async fn remember_nonce(&self, nonce: &str, expires_at: Timestamp) -> StoreResult<bool> {
        let seen = self.remember_nonces(&[(nonce.to_owned(), expires_at)]).await?;
        Ok(seen.first().copied().unwrap_or(false))
    }
    /// Forget nonces whose window ended before `now`; returns how many.
    async fn purge_nonces(&self, now: Timestamp) -> StoreResult<u64>;
}

/// Chat channels, mutes and messages (Authly `chats/*`), scoped by app.
#[async_trait]
pub trait ChatStore {
    /// `Conflict(chat_channels_app_name_key)` on a duplicate name in the app.
    async fn create_channel(&self, channel: &ChatChannel) -> StoreResult<()>;
    /// Oldest first.
    async fn list_channels(&self, app_id: &str) -> StoreResult<Vec<ChatChannel>>;
    async fn get_channel(&self, app_id: &str, channel_id: &str) -> StoreResult<Option<ChatChannel>>;
    /// Exact (case-sensitive) name.
    async fn channel_by_name(&self, app_id: &str, name: &str) -> StoreResult<Option<ChatChannel>>;
    /// Deletes the channel with its messages and mutes.
    async fn delete_channel(&self, app_id: &str, channel_id: &str) -> StoreResult<bool>;
    /// Insert or replace the mute of that user in that channel.
    async fn mute_user(&self, mute: &ChatMute) -> StoreResult<()>;
    async fn unmute_user(&self, app_id: &str, channel_id: &str, user_id: &str) -> StoreResult<bool>;
    /// Every mute of the channel (expired ones included), oldest first.
    async fn list_mutes(&self, app_id: &str, channel_id: &str) -> StoreResult<Vec<ChatMute>>;
    async fn get_mute(&self, app_id: &str, channel_id: &str, user_id: &str) -> StoreResult<Option<ChatMute>>;
    async fn post_message(&self, message: &ChatMessage) -> StoreResult<()>;
    /// Newest first (`created_at DESC, id DESC`), at most `limit`, strictly after `after` in that
    /// order when given.
    async fn list_messages(
        &self,
        app_id: &str,
        channel_id: &str,
        after: Option<&MessageCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ChatMessage>>;
}

/// Device licenses (Authly `device-auth`), scoped by app.
#[async_trait]
pub trait DeviceLicenseStore {
    /// `Conflict(device_licenses_app_device_key)` when the app has that type and id.
    async fn create_device_license(&self, device: &DeviceLicense) -> StoreResult<()>;
    /// Newest first.
    async fn list_device_licenses(&self, app_id: &str, page: PageRequest) -> StoreResult<Page<DeviceLicense>>;
    async fn get_device_license(&self, app_id: &str, id: &str) -> StoreResult<Option<DeviceLicense>>;
    /// Exact type and id.
    async fn device_license_by_device(
        &self,
        app_id: &str,
        device_type: DeviceType,
        device_id: &str,
    ) -> StoreResult<Option<DeviceLicense>>;
    async fn update_device_license(
        &self,
        app_id: &str,
        id: &str,
        patch: &DeviceLicensePatch,
    ) -> StoreResult<Option<DeviceLicense>>;
    /// Move the device license from status `from` to `to` and set the ban reason (cleared
    /// unless banning), only if its status is still `from` (one conditional update, as
    /// [`LicenseStore::set_license_status`]). `None` when no device license of the app has that
    /// id and status `from`.
    async fn set_device_license_status(
        &self,
        app_id: &str,
        id: &str,
        from: LicenseStatus,
        to: LicenseStatus,
        ban_reason: Option<&str>,
    ) -> StoreResult<Option<DeviceLicense>>;
    /// Atomically add `days` to `max(expires_at, now)`; one that never expires stays so.
    async fn extend_device_license(
        &self,
        app_id: &str,
        id: &str,
        days: i64,
        now: Timestamp,
    ) -> StoreResult<Option<DeviceLicense>>;
    async fn delete_device_license(&self, app_id: &str, id: &str) -> StoreResult<bool>;
    /// A successful device authentication: `last_login`, `last_ip`, `hwid` written; the first one
    /// also turns `UNUSED` → `USED` with `activated_at = now`. Returns the updated license.
    async fn record_device_login(
        &self,
        app_id: &str,
        id: &str,
        ip: Option<&str>,
        hwid: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<Option<DeviceLicense>>;
}

/// A change that makes per-process caches stale. Published by the process that made
/// the change and delivered to every process sharing the database, itself included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// The app's row or anything cached with it (settings, keys, blacklist) changed.
    App(String),
    /// One of the app's variables was created, changed or deleted: cached variable reads of that
    /// app must be read again.
    Variables(String),
    /// The active response-signing key changed (`tollgate keys rotate`).
    SigningKeys,
    /// The seller was deleted or its access tokens were revoked (token generation moved on).
    Seller(String),
    /// Webhook deliveries were queued: delivery workers should look for due ones now.
    WebhooksDue,
    /// A seller changed something that live client connections (WebSocket sessions) must act
    /// on at once, on whichever process holds them: a session killed, a user or license banned.
    Live { app_id: String, change: LiveChange },
    /// Anything may have changed: the feed was interrupted and notifications may be lost.
    All,
}

/// What happened to something a live client session may hold (see [`Invalidation::Live`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveChange {
    /// The session with this id was ended by the seller.
    SessionKilled(String),
    /// Every session of the app was ended by the seller.
    AllSessionsKilled,
    /// The user was banned, paused or deleted: its sessions must end.
    UserBlocked(String),
    /// Something happened to a license.
    License { license_id: String, event: LicenseChange },
}

/// What happened to a license, as live sessions hear of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenseChange {
    /// Its bound devices (client ids) were reset.
    DevicesReset,
    Banned,
    Unbanned,
    /// Its terms changed (level, duration, expiry, devices allowed): sign in again to see them.
    Reinitialized,
    Deleted,
    Paused,
    Unpaused,
}

impl LicenseChange {
    pub const ALL: [LicenseChange; 7] = [
        LicenseChange::DevicesReset,
        LicenseChange::Banned,
        LicenseChange::Unbanned,
        LicenseChange::Reinitialized,
        LicenseChange::Deleted,
        LicenseChange::Paused,
        LicenseChange::Unpaused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LicenseChange::DevicesReset => "reset",
            LicenseChange::Banned => "banned",
            LicenseChange::Unbanned => "unbanned",
            LicenseChange::Reinitialized => "reinitialized",
            LicenseChange::Deleted => "deleted",
            LicenseChange::Paused => "paused",
            LicenseChange::Unpaused => "unpaused",
        }
    }

    pub fn parse(s: &str) -> Option<LicenseChange> {
        LicenseChange::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl Invalidation {
    pub fn to_payload(&self) -> String {
        match self {
            Invalidation::App(id) => format!("app:{id}"),
            Invalidation::Variables(id) => format!("vars:{id}"),
            Invalidation::Live { app_id, change } => match change {
                LiveChange::SessionKilled(id) => format!("live:{app_id}:session:{id}"),
                LiveChange::AllSessionsKilled => format!("live:{app_id}:sessions:"),
                LiveChange::UserBlocked(id) => format!("live:{app_id}:user:{id}"),
                LiveChange::License { license_id, event } => {
                    format!("live:{app_id}:license-{}:{license_id}", event.as_str())
                }
            },
            Invalidation::SigningKeys => "keys".to_owned(),
            Invalidation::Seller(id) => format!("seller:{id}"),
            Invalidation::WebhooksDue => "webhooks".to_owned(),
            Invalidation::All => "all".to_owned(),
        }
    }

    /// Unknown payloads read as `All`: dropping a cache is always safe.
    pub fn from_payload(p: &str) -> Invalidation {
        if p == "keys" {
            return Invalidation::SigningKeys;
        }
        if p == "webhooks" {
            return Invalidation::WebhooksDue;
        }
        if let Some(rest) = p.strip_prefix("live:") {
            return Invalidation::live_from_payload(rest).unwrap_or(Invalidation::All);
        }
        if let Some(id) = p.strip_prefix("seller:").filter(|id| !id.is_empty()) {
            return Invalidation::Seller(id.to_owned());
        }
        if let Some(id) = p.strip_prefix("vars:").filter(|id| !id.is_empty()) {
            return Invalidation::Variables(id.to_owned());
        }
        match p.strip_prefix("app:") {
            Some(id) if !id.is_empty() => Invalidation::App(id.to_owned()),
            _ => Invalidation::All,
        }
    }
}

impl Invalidation {
    /// `<app>:<what>:<id>` after `live:`; `None` for anything else.
    fn live_from_payload(rest: &str) -> Option<Invalidation> {
        let mut parts = rest.splitn(3, ':');
        let (app_id, what, id) = (parts.next()?, parts.next()?, parts.next()?);
        if app_id.is_empty() {
            return None;
        }
        let change = match what {
            "sessions" => LiveChange::AllSessionsKilled,
            _ if id.is_empty() => return None,
            "session" => LiveChange::SessionKilled(id.to_owned()),
            "user" => LiveChange::UserBlocked(id.to_owned()),
            _ => {
                let event = LicenseChange::parse(what.strip_prefix("license-")?)?;
                LiveChange::License { license_id: id.to_owned(), event }
            }
        };
        Some(Invalidation::Live { app_id: app_id.to_owned(), change })
    }
}

/// Everything a backend provides.
///
/// One convention for "not found", in every method:
/// - a lookup of one thing (by id, key, name or token) returns `Option<T>`: `None` when there
///   is no such thing in the scope given;
/// - a write to one existing thing returns `Option<T>` (the thing as written) or `bool`
///   (whether it was there): `None`/`false` when it is not in the scope, and nothing is written;
/// - a delete returns `bool`, `false` when there was nothing to delete;
/// - a write that can fail to happen in several ways returns an outcome that names them,
///   the missing row among them (`DeviceBinding::Missing`, `RegisterOutcome`);
/// - [`StoreError::NotFound`] only when a write names another row it depends on that is gone
///   (a user variable of a missing user, a message in a missing channel, a redemption signing
///   in a session of another app). Nothing is written then either.
///
/// A write that takes `events: &[Event]` queues them for the app's webhooks in its own
/// transaction, only when it wrote (see [`WebhookStore`]).
#[async_trait]
pub trait Store:
    SellerStore
    + AppStore
    + LicenseStore
    + UserStore
    + VariableStore
    + BlacklistStore
    + SessionStore
    + ResellerStore
    + FileStore
    + WebhookStore
    + LogStore
    + SigningKeyStore
    + ReplayStore
    + ChatStore
    + DeviceLicenseStore
    + ResumeStore
    + ActivityStore
    + Send
    + Sync
    + 'static
{
    /// A cheap round trip to the database (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;
    /// Short backend name for logs and metrics (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;
    /// Tell every process sharing this database, this one included, that cached state is stale.
    async fn publish(&self, invalidation: &Invalidation) -> StoreResult<()>;
    /// The invalidations published by any process sharing the database.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Invalidation>;
}

#[cfg(test)]
mod invalidation_tests {
    use super::*;

    #[test]
    fn every_invalidation_survives_its_payload() {
        let mut all = vec![
            Invalidation::App("app_1".into()),
            Invalidation::Variables("app_1".into()),
            Invalidation::SigningKeys,
            Invalidation::Seller("seller_1".into()),
            Invalidation::WebhooksDue,
            Invalidation::All,
            Invalidation::Live { app_id: "app_1".into(), change: LiveChange::SessionKilled("ses_1".into()) },
            Invalidation::Live { app_id: "app_1".into(), change: LiveChange::AllSessionsKilled },
            Invalidation::Live { app_id: "app_1".into(), change: LiveChange::UserBlocked("usr_1".into()) },
        ];
        for event in LicenseChange::ALL {
            all.push(Invalidation::Live {
                app_id: "app_1".into(),
                change: LiveChange::License { license_id: "lic_1".into(), event },
            });
        }
        for inv in all {
            assert_eq!(Invalidation::from_payload(&inv.to_payload()), inv, "{}", inv.to_payload());
        }
        for junk in
            ["vars:", "live:", "live:app_1", "live:app_1:user:", "live:app_1:license-nope:lic_1", "live::session:s"]
        {
            assert_eq!(Invalidation::from_payload(junk), Invalidation::All, "{junk}");
        }
    }
}
