//! The conformance suite every backend runs against itself, one test per area.
//!
//! A backend's test crate expands [`conformance_tests!`](crate::conformance_tests) with an async
//! function that opens a fresh, empty, migrated store (and something to keep alive beside it,
//! such as its temporary directory), or `None` to skip:
//!
//! ```ignore
//! async fn fresh() -> Option<(MyStore, TempDir)> { ... }
//! tollgate_store::conformance_tests!(fresh);
//! ```
//!
//! Each area is its own `#[tokio::test]` on its own store, so no area depends on another's rows
//! and one failing area does not hide the others. The areas are also public functions, grouped
//! in the modules below. Everything here asserts and panics: it is test code, compiled only with
//! the `conformance` feature (which backend crates enable in their dev-dependencies).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use chrono::Duration;
use tokio::sync::Barrier;
use tollgate_core::duration::DurationType;
use tollgate_core::ids::{self, prefix};
use tollgate_core::model::*;
use tollgate_core::net::parse_cidr;
use tollgate_core::settings::AppSettings;
use tollgate_core::time::{now, Timestamp};
use tollgate_core::version::{RuleMode, VersionControl, VersionRule};

use crate::*;

mod activity;
mod app_data;
mod apps;
mod chats;
mod concurrency;
mod devices;
mod keys;
mod license_admin;
mod licenses;
mod purchases;
mod redemption;
mod scope;
mod sellers;
mod sessions;
mod status;
mod users;
mod webhook_outbox;
mod websocket;

pub use activity::*;
pub use app_data::*;
pub use apps::*;
pub use chats::*;
pub use concurrency::*;
pub use devices::*;
pub use keys::*;
pub use license_admin::*;
pub use licenses::*;
pub use purchases::*;
pub use redemption::*;
pub use scope::*;
pub use sellers::*;
pub use sessions::*;
pub use status::*;
pub use users::*;
pub use webhook_outbox::*;
pub use websocket::*;

/// What `conformance_tests!` does with the guard by default: drops it.
pub async fn drop_guard<G>(guard: G) {
    drop(guard);
}

/// One `#[tokio::test]` per area of the suite, each on a fresh store.
///
/// `$fresh` is an async function returning `Option<(store, guard)>`: `None` skips every area
/// (the backend is not configured), and the guard (a temporary directory, a database to drop)
/// lives until the area is done. With `$finish`, an async function taking the guard, the guard is
/// handed to it after the area passed instead of being dropped.
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:path) => {
        $crate::conformance_tests!($fresh, $crate::conformance::drop_guard);
    };
    ($fresh:path, $finish:path) => {
        $crate::conformance_tests!(@by_ref $fresh, $finish;
            basics, sellers, apps, licenses, license_totals, license_cursor, license_search, users, user_variables,
            license_variables,
            variables, blacklist, sessions, resellers, files, webhooks, logs_and_audit, tenant_scope,
            redemption, device_binding, logins, nonces, chats, device_licenses, client_tenant_scope,
            redemption_signs_in, username_keys, license_key_case, license_edits, license_extensions,
            webhook_outbox, unlicensed_signups, resume_records, session_unbind_expiry, file_transfers, user_notes,
            activity, activity_purge, activity_totals);
        $crate::conformance_tests!(@by_arc $fresh, $finish;
            concurrency, signing_keys, redemption_concurrency, quota_concurrency, status_races,
            license_extend_concurrency, webhook_claim_concurrency, unlicensed_signup_concurrency,
            resume_take_concurrency);
        $crate::conformance_tests!(@by_arc $fresh, $finish; reseller_purchases);
        $crate::conformance_tests!(@by_arc $fresh, $finish; reseller_credit_with_purchases);
    };
    (@by_ref $fresh:path, $finish:path; $($area:ident),+) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $area() {
            let Some((store, guard)) = $fresh().await else { return };
            $crate::conformance::$area(&store).await;
            drop(store);
            $finish(guard).await;
        }
    )+};
    (@by_arc $fresh:path, $finish:path; $($area:ident),+) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $area() {
            let Some((store, guard)) = $fresh().await else { return };
            $crate::conformance::$area(::std::sync::Arc::new(store)).await;
            $finish(guard).await;
        }
    )+};
}

// ---------------------------------------------------------------------------------------------
// Fixtures: every field set to something a round trip could get wrong (mixed case, options
// filled in, timestamps with milliseconds).

pub fn seller() -> Seller {
    let id = ids::new_id(prefix::SELLER);
    Seller {
        email: format!("Seller.{}@Example.COM", &id[7..]),
        id,
        name: "Ada Seller".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        plan: "pro".into(),
        created_at: now() - Duration::days(3),
    }
}

pub fn app(owner_id: &str) -> App {
    let id = ids::new_id(prefix::APP);
    App {
        name: format!("App {}", &id[4..12]),
        id,
        owner_id: owner_id.into(),
        api_key: ids::new_api_key(),
        ws_key: ids::new_ws_key(),
        version: "1.0".into(),
        status: AppStatus::Active,
        settings: AppSettings::default(),
        created_at: now() - Duration::days(2),
        updated_at: now() - Duration::days(1),
    }
}

/// Settings with every field away from its default.
pub fn rich_settings() -> AppSettings {
    let mut level_names = BTreeMap::new();
    level_names.insert("1".to_owned(), "Premium".to_owned());
    AppSettings {
        hash_check: true,
        hashes: vec!["ab".repeat(32)],
        ip_whitelist: vec![parse_cidr("10.0.0.0/8").unwrap(), parse_cidr("::1").unwrap()],
        block_vpn: true,
        blocked_countries: vec!["KP".into(), "RU".into()],
        version_control: VersionControl {
            enabled: true,
            auto_update: true,
            download_url: Some("https://dl.example/app.exe".into()),
            force_update: true,
            changelog: Some("fixes".into()),
            rules: vec![VersionRule {
                version: "0.9".into(),
                mode: RuleMode::Grace,
                message: Some("please update".into()),
                allowed_until: Some(now() + Duration::days(7)),
            }],
        },
        session_quota: Some(5),
        accounts_quota: Some(100),
        accounts_require_license: true,
        license_file_ttl: 86_400,
        hwid_lock: false,
        allow_password_change: false,
        level_names,
        reseller_prices: BTreeMap::from([("30d".to_owned(), 5), ("lifetime".to_owned(), 0)]),
    }
}

pub fn license(app_id: &str, key: &str) -> License {
    License {
        id: ids::new_id(prefix::LICENSE),
        app_id: app_id.into(),
        key: key.into(),
        status: LicenseStatus::Unused,
        level: 1,
        duration: DurationType::Days(30),
        max_devices: 1,
        note: None,
        prefix: None,
        created_by: Creator::Seller("seller_fixture".into()),
        created_at: now() - Duration::hours(1),
        activated_at: None,
        expires_at: None,
        user_id: None,
        devices: Vec::new(),
        ban_reason: None,
    }
}

pub fn user(app_id: &str, username: &str) -> User {
    User {
        id: ids::new_id(prefix::USER),
        app_id: app_id.into(),
        username: username.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$dXNlcg$aGFzaA".into(),
        email: Some(format!("{}@mail.example", username.to_lowercase())),
        level: 2,
        expires_at: Some(now() + Duration::days(30)),
        devices: vec!["HWID-1".into(), "hwid-2".into()],
        max_devices: 2,
        last_ip: Some("203.0.113.7".into()),
        status: UserStatus::Active,
        ban_reason: None,
        last_login: Some(now() - Duration::minutes(5)),
        created_at: now() - Duration::hours(2),
        note: Some("Bought at the fair".into()),
    }
}

pub fn session(app_id: &str, user_id: Option<&str>, expires_at: Timestamp) -> Session {
    Session {
        id: ids::new_id(prefix::SESSION),
        app_id: app_id.into(),
        token: ids::new_token(),
        user_id: user_id.map(Into::into),
        license_id: None,
        ip: Some("198.51.100.4".into()),
        hwid: Some("HWID-1".into()),
        client_id: Some("client-1".into()),
        created_at: now() - Duration::minutes(10),
        expires_at,
        last_seen: now() - Duration::minutes(1),
    }
}

pub fn variable(app_id: &str, key: &str) -> AppVariable {
    AppVariable {
        id: ids::new_id(prefix::VARIABLE),
        app_id: app_id.into(),
        key: key.into(),
        value: format!("value of {key}"),
        read_only: true,
        auth_required: false,
        created_at: now() - Duration::hours(1),
        updated_at: now() - Duration::minutes(30),
    }
}

pub fn user_variable(app_id: &str, user_id: &str, key: &str) -> UserVariable {
    UserVariable {
        app_id: app_id.into(),
        user_id: user_id.into(),
        key: key.into(),
        value: format!("value of {key}"),
        updated_at: now() - Duration::minutes(3),
    }
}

pub fn blacklist_entry(app_id: &str, kind: BlacklistKind, value: &str) -> BlacklistEntry {
    BlacklistEntry {
        id: ids::new_id(prefix::BLACKLIST),
        app_id: app_id.into(),
        kind,
        value: value.into(),
        reason: Some("abuse".into()),
        created_at: now() - Duration::hours(1),
    }
}

pub fn reseller(app_id: &str, username: &str) -> Reseller {
    Reseller {
        id: ids::new_id(prefix::RESELLER),
        app_id: app_id.into(),
        username: username.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$cnNs$aGFzaA".into(),
        balance: 250,
        created_at: now() - Duration::hours(1),
    }
}

pub fn file(app_id: &str, name: &str) -> FileMeta {
    FileMeta {
        id: ids::new_id(prefix::FILE),
        app_id: app_id.into(),
        name: name.into(),
        size: 5_000_000_123,
        min_level: 2,
        sha256: "cd".repeat(32),
        created_at: now() - Duration::hours(1),
        transfer_count: 0,
        last_transferred_at: None,
    }
}

pub fn webhook(app_id: &str) -> Webhook {
    Webhook {
        id: ids::new_id(prefix::WEBHOOK),
        app_id: app_id.into(),
        url: "https://hooks.example/tollgate".into(),
        events: vec!["user.login".into(), "license.activate".into()],
        secret: ids::new_webhook_secret(),
        enabled: true,
        format: WebhookFormat::Standard,
        failing_since: None,
        disabled_reason: None,
        created_at: now() - Duration::hours(1),
    }
}

pub fn log_entry(app_id: &str, message: &str, created_at: Timestamp) -> LogEntry {
    LogEntry {
        id: ids::new_id(prefix::LOG),
        app_id: app_id.into(),
        user_id: Some("usr_fixture".into()),
        username: Some("alice".into()),
        message: message.into(),
        ip: Some("192.0.2.1".into()),
        hwid: Some("HWID-1".into()),
        created_at,
    }
}

pub fn audit_entry(seller_id: &str, action: &str, created_at: Timestamp) -> AuditEntry {
    AuditEntry {
        id: ids::new_id(prefix::AUDIT),
        seller_id: seller_id.into(),
        actor: seller_id.into(),
        action: action.into(),
        target: Some("lic_target".into()),
        app_id: Some("app_target".into()),
        ip: Some("192.0.2.9".into()),
        created_at,
    }
}

pub fn refresh_token(seller_id: &str, token_hash: &str, expires_at: Timestamp) -> RefreshToken {
    let id = ids::new_id(prefix::REFRESH);
    RefreshToken {
        chain_id: id.clone(),
        id,
        seller_id: seller_id.into(),
        token_hash: token_hash.into(),
        created_at: now() - Duration::minutes(1),
        expires_at,
    }
}

pub fn chat_channel(app_id: &str, name: &str) -> ChatChannel {
    ChatChannel {
        id: ids::new_id(prefix::CHANNEL),
        app_id: app_id.into(),
        name: name.into(),
        created_at: now() - Duration::hours(1),
    }
}

pub fn chat_message(app_id: &str, channel_id: &str, text: &str, created_at: Timestamp) -> ChatMessage {
    ChatMessage {
        id: ids::new_id(prefix::MESSAGE),
        app_id: app_id.into(),
        channel_id: channel_id.into(),
        user_id: Some("usr_fixture".into()),
        username: "Alice".into(),
        message: text.into(),
        created_at,
    }
}

pub fn chat_mute(app_id: &str, channel_id: &str, user_id: &str) -> ChatMute {
    ChatMute {
        app_id: app_id.into(),
        channel_id: channel_id.into(),
        user_id: user_id.into(),
        reason: Some("spam".into()),
        until: Some(now() + Duration::hours(1)),
        created_at: now() - Duration::minutes(10),
    }
}

pub fn device_license(app_id: &str, device_type: DeviceType, device_id: &str) -> DeviceLicense {
    DeviceLicense {
        id: ids::new_id(prefix::DEVICE),
        app_id: app_id.into(),
        device_type,
        device_id: device_id.into(),
        name: Some("Workstation 7".into()),
        email: Some("Owner@Mail.example".into()),
        level: 2,
        status: LicenseStatus::Unused,
        ban_reason: None,
        note: Some("bought at the fair".into()),
        created_at: now() - Duration::hours(1),
        activated_at: None,
        expires_at: Some(now() + Duration::days(30)),
        last_login: None,
        last_ip: None,
        hwid: None,
    }
}

pub fn page(page: u32, limit: u32) -> PageRequest {
    PageRequest { page, limit }
}

/// A seller with one app, both stored.
pub async fn seller_with_app<S: Store>(s: &S) -> (Seller, App) {
    let owner = seller();
    s.create_seller(&owner).await.unwrap();
    let a = app(&owner.id);
    s.create_app(&a).await.unwrap();
    (owner, a)
}

/// A stored user of `app_id`.
pub async fn stored_user<S: Store>(s: &S, app_id: &str, username: &str) -> User {
    let u = user(app_id, username);
    s.create_user(&u, &[]).await.unwrap();
    u
}

#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: StoreResult<T>, name: &str) {
    match result {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, name),
        other => panic!("expected Conflict({name}), got {other:?}"),
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: StoreResult<T>) {
    match result {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// `items` in the listing order `created_at DESC, id DESC`.
fn newest_first<T: Clone>(items: &[T], key: impl Fn(&T) -> (Timestamp, String)) -> Vec<T> {
    let mut v = items.to_vec();
    v.sort_by_key(|x| std::cmp::Reverse(key(x)));
    v
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by several areas

/// A signing key with bytes a text encoding could get wrong (0x00, 0xff, a 60-byte blob).
pub fn signing_key(kid: &str, active: bool, created_at: Timestamp) -> SigningKey {
    let mut public_key = vec![0u8, 0xff, 0x80, 0x7f];
    public_key.resize(32, 0xa5);
    let mut private_key_enc: Vec<u8> = (0..60).map(|i| (i * 37 % 256) as u8).collect();
    private_key_enc[0] = 0;
    SigningKey { kid: kid.into(), public_key, private_key_enc, created_at, active }
}

/// Every license of the listing under `filter`, read page by page (the rows themselves, which
/// no backend takes from a counter), with the `total` each page reported.
async fn all_rows<S: Store>(s: &S, app_id: &str, filter: &LicenseFilter) -> (Vec<License>, Vec<u64>) {
    let (mut rows, mut totals) = (Vec::new(), Vec::new());
    for p in 1.. {
        let got = s.list_licenses(app_id, filter, page(p, 100)).await.unwrap();
        totals.push(got.total);
        let done = got.items.len() < 100;
        rows.extend(got.items);
        if done {
            break;
        }
    }
    (rows, totals)
}

/// The listing's `total`, unfiltered and for each status, is the number of licenses it lists.
/// A backend may keep the unfiltered and per-status totals in counters instead of counting rows:
/// this is what finds a write that forgot to move them. Returns the rows, newest first.
async fn totals_match<S: Store>(s: &S, app_id: &str, when: &str) -> Vec<License> {
    let (rows, totals) = all_rows(s, app_id, &LicenseFilter::default()).await;
    for t in totals {
        assert_eq!(t, rows.len() as u64, "{when}: total of the unfiltered listing");
    }
    for status in LicenseStatus::ALL {
        let filter = LicenseFilter { status: Some(*status), ..Default::default() };
        let (with_status, totals) = all_rows(s, app_id, &filter).await;
        let want = rows.iter().filter(|l| l.status == *status).count();
        assert_eq!(with_status.len(), want, "{when}: rows listed with status {status}");
        for t in totals {
            assert_eq!(t, want as u64, "{when}: total of the listing with status {status}");
        }
    }
    rows
}

const DAY_MS: i64 = 86_400_000;

/// The license as `activate_license` leaves it.
fn activated(l: &License, a: &Activation, user_id: Option<&str>) -> License {
    let mut want = l.clone();
    want.status = LicenseStatus::Used;
    want.activated_at = Some(a.at);
    want.expires_at = a.expires_at;
    want.user_id = user_id.map(Into::into);
    if let Some(d) = &a.device {
        want.devices = vec![d.clone()];
    }
    want
}

async fn license_devices<S: Store>(s: &S, app_id: &str, id: &str) -> Vec<String> {
    s.get_license(app_id, id).await.unwrap().unwrap().devices
}

/// Spawn `n` tasks that start together behind a barrier; their results in spawn order.
async fn race<S, T, F, Fut>(s: &Arc<S>, n: usize, f: F) -> Vec<T>
where
    S: Store,
    T: Send + 'static,
    F: Fn(Arc<S>, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, fut) = (barrier.clone(), f(s.clone(), i));
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    futures::future::join_all(tasks).await.into_iter().map(|t| t.unwrap()).collect()
}
