//! The conformance suite every backend runs against itself.
//!
//! A backend's test calls [`run_all`] with a function that opens a fresh, empty, migrated store:
//!
//! ```ignore
//! conformance::run_all(|| async { MyStore::open(&fresh_url()).await.unwrap() }).await;
//! ```
//!
//! Each area gets its own store, so no area depends on another's rows. The areas are public so
//! a backend can also run one alone while debugging. Everything here asserts and panics: it is
//! test code that lives in the library so every backend crate can use it.
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

/// Run every area, each against a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    basics(&make().await).await;
    sellers(&make().await).await;
    apps(&make().await).await;
    licenses(&make().await).await;
    license_totals(&make().await).await;
    license_cursor(&make().await).await;
    users(&make().await).await;
    user_variables(&make().await).await;
    variables(&make().await).await;
    blacklist(&make().await).await;
    sessions(&make().await).await;
    resellers(&make().await).await;
    files(&make().await).await;
    webhooks(&make().await).await;
    logs_and_audit(&make().await).await;
    tenant_scope(&make().await).await;
    concurrency(Arc::new(make().await)).await;
    signing_keys(Arc::new(make().await)).await;
    redemption(&make().await).await;
    device_binding(&make().await).await;
    logins(&make().await).await;
    nonces(&make().await).await;
    chats(&make().await).await;
    device_licenses(&make().await).await;
    client_tenant_scope(&make().await).await;
    redemption_concurrency(Arc::new(make().await)).await;
    quota_concurrency(Arc::new(make().await)).await;
    redemption_signs_in(&make().await).await;
    username_keys(&make().await).await;
    status_races(Arc::new(make().await)).await;
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
        hwid_lock: false,
        allow_password_change: false,
        level_names,
    }
}

pub fn license(app_id: &str, key: &str) -> License {
    License {
        id: ids::new_id(prefix::LICENSE),
        app_id: app_id.into(),
        key: key.into(),
        status: LicenseStatus::Unused,
        level: 1,
        duration: DurationType::Month,
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
    s.create_user(&u).await.unwrap();
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
// Areas

pub async fn basics<S: Store>(s: &S) {
    s.ping().await.unwrap();
    let name = s.backend();
    assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase()));
}

pub async fn sellers<S: Store>(s: &S) {
    let a = seller();
    s.create_seller(&a).await.unwrap();
    assert_eq!(s.seller_by_id(&a.id).await.unwrap(), Some(a.clone()));
    // Email lookups ignore case and keep the email as written.
    assert_eq!(s.seller_by_email(&a.email.to_lowercase()).await.unwrap(), Some(a.clone()));
    assert_eq!(s.seller_by_email(&a.email.to_uppercase()).await.unwrap(), Some(a.clone()));
    assert_eq!(s.seller_by_id("seller_missing").await.unwrap(), None);
    assert_eq!(s.seller_by_email("nobody@example.com").await.unwrap(), None);

    let mut same_email = seller();
    same_email.email = a.email.to_uppercase();
    assert_conflict(s.create_seller(&same_email).await, constraint::SELLER_EMAIL);
    assert_eq!(s.seller_by_id(&same_email.id).await.unwrap(), None);

    // Refresh tokens are single use and expire.
    let t = now();
    let fresh = |t: &RefreshToken| RefreshUse::Fresh { seller_id: t.seller_id.clone(), chain_id: t.chain_id.clone() };
    let live = refresh_token(&a.id, &"1".repeat(64), t + Duration::days(30));
    s.insert_refresh_token(&live).await.unwrap();
    assert_eq!(s.consume_refresh_token(&live.token_hash, t).await.unwrap(), fresh(&live));
    assert_eq!(
        s.consume_refresh_token(&live.token_hash, t).await.unwrap(),
        RefreshUse::Reused { seller_id: a.id.clone() },
        "a refresh token is consumed once"
    );
    assert_eq!(s.consume_refresh_token(&"9".repeat(64), t).await.unwrap(), RefreshUse::Invalid);

    let expired = refresh_token(&a.id, &"2".repeat(64), t - Duration::seconds(1));
    s.insert_refresh_token(&expired).await.unwrap();
    assert_eq!(s.consume_refresh_token(&expired.token_hash, t).await.unwrap(), RefreshUse::Invalid);
    let at_edge = refresh_token(&a.id, &"3".repeat(64), t);
    s.insert_refresh_token(&at_edge).await.unwrap();
    assert_eq!(
        s.consume_refresh_token(&at_edge.token_hash, t).await.unwrap(),
        RefreshUse::Invalid,
        "a token expiring now is expired"
    );
    assert_eq!(
        s.consume_refresh_token(&at_edge.token_hash, t - Duration::milliseconds(1)).await.unwrap(),
        fresh(&at_edge),
        "a refused consume does not use the token up"
    );

    let dup = refresh_token(&a.id, &live.token_hash, t + Duration::days(1));
    assert_conflict(s.insert_refresh_token(&dup).await, constraint::REFRESH_TOKEN_HASH);
    let orphan = refresh_token("seller_missing", &"4".repeat(64), t + Duration::days(1));
    assert!(s.insert_refresh_token(&orphan).await.is_err());

    // A chain: root -> second -> third. Reusing the spent root revokes the chain, the unused
    // third included, and a successor added to the chain afterwards is dead on arrival.
    let root = refresh_token(&a.id, &"5".repeat(64), t + Duration::days(1));
    let mut second = refresh_token(&a.id, &"6".repeat(64), t + Duration::days(1));
    let mut third = refresh_token(&a.id, &"7".repeat(64), t + Duration::days(1));
    let mut late = refresh_token(&a.id, &"8".repeat(64), t + Duration::days(1));
    second.chain_id = root.chain_id.clone();
    third.chain_id = root.chain_id.clone();
    late.chain_id = root.chain_id.clone();
    let other_chain = refresh_token(&a.id, &"a".repeat(64), t + Duration::days(1));
    for tok in [&root, &second, &third, &other_chain] {
        s.insert_refresh_token(tok).await.unwrap();
    }
    assert_eq!(s.consume_refresh_token(&root.token_hash, t).await.unwrap(), fresh(&root));
    assert_eq!(s.consume_refresh_token(&second.token_hash, t).await.unwrap(), fresh(&second));
    assert_eq!(
        s.consume_refresh_token(&root.token_hash, t).await.unwrap(),
        RefreshUse::Reused { seller_id: a.id.clone() }
    );
    assert_eq!(s.consume_refresh_token(&third.token_hash, t).await.unwrap(), RefreshUse::Invalid);
    s.insert_refresh_token(&late).await.unwrap();
    assert_eq!(s.consume_refresh_token(&late.token_hash, t).await.unwrap(), RefreshUse::Invalid);
    assert_eq!(s.consume_refresh_token(&other_chain.token_hash, t).await.unwrap(), fresh(&other_chain));

    // Logout revokes one chain of the seller's, and nobody else's.
    let mut out1 = refresh_token(&a.id, &"b".repeat(64), t + Duration::days(1));
    let mut out2 = refresh_token(&a.id, &"c".repeat(64), t + Duration::days(1));
    out1.chain_id = "chain_logout".into();
    out2.chain_id = "chain_logout".into();
    let keep = refresh_token(&a.id, &"d".repeat(64), t + Duration::days(1));
    for tok in [&out1, &out2, &keep] {
        s.insert_refresh_token(tok).await.unwrap();
    }
    let b = seller();
    s.create_seller(&b).await.unwrap();
    assert!(!s.revoke_refresh_chain(&b.id, &out1.token_hash, t).await.unwrap(), "not b's token");
    assert!(!s.revoke_refresh_chain(&a.id, &"f".repeat(64), t).await.unwrap());
    assert!(s.revoke_refresh_chain(&a.id, &out1.token_hash, t).await.unwrap());
    assert_eq!(s.consume_refresh_token(&out2.token_hash, t).await.unwrap(), RefreshUse::Invalid);
    assert_eq!(s.consume_refresh_token(&keep.token_hash, t).await.unwrap(), fresh(&keep));

    // Token generations move forward; a deleted seller has none.
    assert_eq!(s.seller_token_generation(&a.id).await.unwrap(), Some(0));
    assert_eq!(s.bump_seller_token_generation(&a.id).await.unwrap(), Some(1));
    assert_eq!(s.seller_token_generation(&a.id).await.unwrap(), Some(1));
    assert_eq!(s.seller_token_generation(&b.id).await.unwrap(), Some(0));
    assert_eq!(s.seller_token_generation("seller_missing").await.unwrap(), None);
    assert_eq!(s.bump_seller_token_generation("seller_missing").await.unwrap(), None);

    // Deleting a seller takes its apps and tokens along, and nothing of another seller's.
    let app_a = app(&a.id);
    s.create_app(&app_a).await.unwrap();
    let app_b = app(&b.id);
    s.create_app(&app_b).await.unwrap();
    assert!(s.delete_seller(&a.id).await.unwrap());
    assert!(!s.delete_seller(&a.id).await.unwrap());
    assert_eq!(s.seller_by_id(&a.id).await.unwrap(), None);
    assert_eq!(s.seller_token_generation(&a.id).await.unwrap(), None);
    assert_eq!(s.app_by_id(&app_a.id).await.unwrap(), None);
    assert!(s.app_by_id(&app_b.id).await.unwrap().is_some());
}

pub async fn apps<S: Store>(s: &S) {
    let owner = seller();
    s.create_seller(&owner).await.unwrap();
    let other = seller();
    s.create_seller(&other).await.unwrap();

    let mut a1 = app(&owner.id);
    a1.settings = rich_settings();
    a1.status = AppStatus::Paused;
    s.create_app(&a1).await.unwrap();

    assert_eq!(s.get_app(&owner.id, &a1.id).await.unwrap(), Some(a1.clone()));
    assert_eq!(s.get_app(&other.id, &a1.id).await.unwrap(), None);
    assert_eq!(s.app_by_id(&a1.id).await.unwrap(), Some(a1.clone()));
    assert_eq!(s.app_by_id("app_missing").await.unwrap(), None);
    assert_eq!(s.app_by_ws_key(&a1.ws_key).await.unwrap(), Some(a1.clone()));
    assert_eq!(s.app_by_ws_key(&ids::new_ws_key()).await.unwrap(), None);
    assert_eq!(s.app_by_owner_and_name(&owner.id, &a1.name).await.unwrap(), Some(a1.clone()));
    assert_eq!(
        s.app_by_owner_and_name(&owner.id, &a1.name.to_uppercase()).await.unwrap(),
        None,
        "app names are case-sensitive"
    );
    assert_eq!(s.app_by_owner_and_name(&other.id, &a1.name).await.unwrap(), None);

    // Names are unique per owner and case-sensitive; keys are unique everywhere.
    let mut same_name_other_owner = app(&other.id);
    same_name_other_owner.name = a1.name.clone();
    s.create_app(&same_name_other_owner).await.unwrap();
    let mut same_name = app(&owner.id);
    same_name.name = a1.name.clone();
    assert_conflict(s.create_app(&same_name).await, constraint::APP_OWNER_NAME);
    let mut other_case = app(&owner.id);
    other_case.name = a1.name.to_uppercase();
    other_case.created_at = a1.created_at + Duration::seconds(1);
    s.create_app(&other_case).await.unwrap();
    let mut same_api_key = app(&owner.id);
    same_api_key.api_key = a1.api_key.clone();
    assert_conflict(s.create_app(&same_api_key).await, constraint::APP_API_KEY);
    let mut same_ws_key = app(&other.id);
    same_ws_key.ws_key = a1.ws_key.clone();
    assert_conflict(s.create_app(&same_ws_key).await, constraint::APP_WS_KEY);
    assert!(s.create_app(&app("seller_missing")).await.is_err(), "an app needs an existing owner");

    // Listing: oldest first, only the owner's, with counts.
    let mut a0 = app(&owner.id);
    a0.created_at = a1.created_at - Duration::seconds(1);
    s.create_app(&a0).await.unwrap();
    stored_user(s, &a1.id, "u1").await;
    stored_user(s, &a1.id, "u2").await;
    s.insert_licenses(&[license(&a1.id, "K-1"), license(&a1.id, "K-2"), license(&a1.id, "K-3")]).await.unwrap();
    stored_user(s, &a0.id, "u3").await;
    let listed = s.list_apps(&owner.id).await.unwrap();
    let got: Vec<(&str, u64, u64)> = listed.iter().map(|(a, c)| (a.id.as_str(), c.users, c.licenses)).collect();
    assert_eq!(got, vec![(a0.id.as_str(), 1, 0), (a1.id.as_str(), 2, 3), (other_case.id.as_str(), 0, 0)]);
    assert_eq!(listed[1].0, a1);
    let others = s.list_apps(&other.id).await.unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].0, same_name_other_owner);
    assert!(s.list_apps("seller_missing").await.unwrap().is_empty());

    // Update writes every mutable field, only for the owner.
    let mut changed = a1.clone();
    changed.name = "Renamed".into();
    changed.version = "2.1.0".into();
    changed.status = AppStatus::Disabled;
    changed.settings = AppSettings::default();
    changed.api_key = ids::new_api_key();
    changed.ws_key = ids::new_ws_key();
    changed.updated_at = now();
    s.update_app(&changed).await.unwrap();
    assert_eq!(s.get_app(&owner.id, &a1.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(s.app_by_ws_key(&a1.ws_key).await.unwrap(), None);

    let mut hijack = changed.clone();
    hijack.owner_id = other.id.clone();
    hijack.name = "Hijacked".into();
    assert_not_found(s.update_app(&hijack).await);
    assert_not_found(s.update_app(&app(&owner.id)).await);
    assert_eq!(s.get_app(&owner.id, &a1.id).await.unwrap(), Some(changed.clone()));
    let mut clash = changed.clone();
    clash.name = a0.name.clone();
    assert_conflict(s.update_app(&clash).await, constraint::APP_OWNER_NAME);
    let mut key_clash = changed.clone();
    key_clash.api_key = a0.api_key.clone();
    assert_conflict(s.update_app(&key_clash).await, constraint::APP_API_KEY);

    // Delete: only the owner's, and everything under the app goes with it.
    let u = stored_user(s, &a1.id, "cascade-user").await;
    let lic = s.license_by_key(&a1.id, "K-1").await.unwrap().unwrap();
    let mut sess = session(&a1.id, Some(&u.id), now() + Duration::hours(1));
    sess.license_id = Some(lic.id.clone());
    s.create_session(&sess).await.unwrap();
    s.create_variable(&variable(&a1.id, "motd")).await.unwrap();
    s.set_user_variable(&user_variable(&a1.id, &u.id, "k")).await.unwrap();
    s.add_blacklist(&blacklist_entry(&a1.id, BlacklistKind::Hwid, "X")).await.unwrap();
    s.create_reseller(&reseller(&a1.id, "r1")).await.unwrap();
    s.create_file(&file(&a1.id, "f.bin")).await.unwrap();
    s.create_webhook(&webhook(&a1.id)).await.unwrap();
    s.append_log(&log_entry(&a1.id, "hello", now())).await.unwrap();

    assert!(!s.delete_app(&other.id, &a1.id).await.unwrap());
    assert!(s.get_app(&owner.id, &a1.id).await.unwrap().is_some());
    assert!(s.delete_app(&owner.id, &a1.id).await.unwrap());
    assert!(!s.delete_app(&owner.id, &a1.id).await.unwrap());
    assert_eq!(s.get_app(&owner.id, &a1.id).await.unwrap(), None);
    assert_eq!(s.app_by_id(&a1.id).await.unwrap(), None);

    let all = page(1, 100);
    let t = now();
    assert_eq!(s.list_licenses(&a1.id, &LicenseFilter::default(), all).await.unwrap().total, 0);
    assert_eq!(s.list_users(&a1.id, &UserFilter::default(), all).await.unwrap().total, 0);
    assert_eq!(s.session_by_token(&a1.id, &sess.token).await.unwrap(), None);
    assert_eq!(s.count_live_sessions(&a1.id, t).await.unwrap(), 0);
    assert!(s.list_variables(&a1.id).await.unwrap().is_empty());
    assert!(s.list_user_variables(&a1.id, &u.id).await.unwrap().is_empty());
    assert!(s.list_blacklist(&a1.id).await.unwrap().is_empty());
    assert!(s.list_resellers(&a1.id).await.unwrap().is_empty());
    assert!(s.list_files(&a1.id).await.unwrap().is_empty());
    assert!(s.list_webhooks(&a1.id).await.unwrap().is_empty());
    assert_eq!(s.list_logs(&a1.id, all).await.unwrap().total, 0);
    // The owner's other apps are untouched.
    assert_eq!(s.list_users(&a0.id, &UserFilter::default(), all).await.unwrap().total, 1);
    assert_eq!(s.list_apps(&owner.id).await.unwrap().len(), 2);
}

pub async fn licenses<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let other_app = app(&owner.id);
    s.create_app(&other_app).await.unwrap();
    let u = stored_user(s, &a.id, "holder").await;
    let rsl = reseller(&a.id, "rsl");
    s.create_reseller(&rsl).await.unwrap();

    // Round trip of every field, filled and empty.
    let t = now();
    let mut full = license(&a.id, "TG-FULL-0000-0001");
    full.status = LicenseStatus::Used;
    full.level = 3;
    full.duration = DurationType::Hour;
    full.max_devices = 2;
    full.note = Some("customer #7".into());
    full.prefix = Some("TG".into());
    full.created_by = Creator::Reseller(rsl.id.clone());
    full.activated_at = Some(t - Duration::minutes(7));
    full.expires_at = Some(t + Duration::minutes(53));
    full.user_id = Some(u.id.clone());
    full.devices = vec!["HWID-A".into(), "hwid-b".into()];
    full.ban_reason = Some("kept".into());
    let mut bare = license(&a.id, "TG-BARE-0000-0002");
    bare.created_by = Creator::Seller(owner.id.clone());
    bare.duration = DurationType::Lifetime;
    s.insert_licenses(&[full.clone(), bare.clone()]).await.unwrap();
    for l in [&full, &bare] {
        assert_eq!(s.get_license(&a.id, &l.id).await.unwrap(), Some(l.clone()));
        assert_eq!(s.license_by_key(&a.id, &l.key).await.unwrap(), Some(l.clone()));
        assert_eq!(s.get_license(&other_app.id, &l.id).await.unwrap(), None);
        assert_eq!(s.license_by_key(&other_app.id, &l.key).await.unwrap(), None);
    }
    assert_eq!(s.license_by_key(&a.id, &full.key.to_lowercase()).await.unwrap(), None, "key lookup is exact");
    assert_eq!(s.get_license(&a.id, "lic_missing").await.unwrap(), None);
    s.insert_licenses(&[]).await.unwrap();

    // Keys are unique per app; a batch with a duplicate inserts nothing.
    s.insert_licenses(&[license(&other_app.id, &full.key)]).await.unwrap();
    let fresh = license(&a.id, "TG-NEW-0000-0003");
    assert_conflict(s.insert_licenses(&[fresh.clone(), license(&a.id, &full.key)]).await, constraint::LICENSE_APP_KEY);
    assert_eq!(s.get_license(&a.id, &fresh.id).await.unwrap(), None);
    assert!(
        s.insert_licenses(&[license("app_missing", "TG-ORPHAN")]).await.is_err(),
        "a license needs an existing app"
    );

    // Large batches cross the backend's chunking; still all or none.
    let big_app = app(&owner.id);
    s.create_app(&big_app).await.unwrap();
    let mut batch: Vec<License> = (0..1201).map(|i| license(&big_app.id, &format!("BULK-{i:05}"))).collect();
    batch.push(license(&big_app.id, "BULK-00000"));
    assert_conflict(s.insert_licenses(&batch).await, constraint::LICENSE_APP_KEY);
    let none = LicenseFilter::default();
    assert_eq!(s.list_licenses(&big_app.id, &none, page(1, 1)).await.unwrap().total, 0);
    batch.pop();
    s.insert_licenses(&batch).await.unwrap();
    assert_eq!(s.list_licenses(&big_app.id, &none, page(1, 1)).await.unwrap().total, 1201);
    assert_eq!(s.license_by_key(&big_app.id, "BULK-01200").await.unwrap(), Some(batch[1200].clone()));

    // Listing: order, pagination, filters, search.
    let list_app = app(&owner.id);
    s.create_app(&list_app).await.unwrap();
    let base = now() - Duration::hours(1);
    let spec: [(&str, LicenseStatus, Option<&str>, bool, i64); 7] = [
        ("TG-AAAA-0001", LicenseStatus::Unused, None, false, 0),
        ("TG-BBBB-0002", LicenseStatus::Used, Some("VIP customer"), false, 1),
        ("TG-CCCC-0003", LicenseStatus::Banned, Some("50% off"), true, 2),
        ("TG-DDDD-0004", LicenseStatus::Unused, Some("500 off"), true, 3),
        ("tg-eeee_0005", LicenseStatus::Unused, Some("vip"), false, 3),
        ("TG-FFFF-0006", LicenseStatus::Paused, None, false, 4),
        ("TG-GGGG-0007", LicenseStatus::Expired, None, false, 5),
    ];
    let all: Vec<License> = spec
        .iter()
        .map(|(key, status, note, by_reseller, secs)| {
            let mut l = license(&list_app.id, key);
            l.status = *status;
            l.note = note.map(Into::into);
            l.created_by =
                if *by_reseller { Creator::Reseller(rsl.id.clone()) } else { Creator::Seller(owner.id.clone()) };
            l.created_at = base + Duration::seconds(*secs);
            l
        })
        .collect();
    s.insert_licenses(&all).await.unwrap();
    let ordered = newest_first(&all, |l| (l.created_at, l.id.clone()));
    let keys = |ls: &[License]| ls.iter().map(|l| l.key.clone()).collect::<Vec<_>>();

    let mut paged = Vec::new();
    for p in 1..=3 {
        let got = s.list_licenses(&list_app.id, &none, page(p, 3)).await.unwrap();
        assert_eq!(got.total, 7);
        assert!(got.items.len() <= 3);
        paged.extend(got.items);
    }
    assert_eq!(paged, ordered, "newest first, id breaks ties, pages join up");
    let beyond = s.list_licenses(&list_app.id, &none, page(4, 3)).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 7);

    let expect =
        |pred: &dyn Fn(&License) -> bool| keys(&ordered.iter().filter(|l| pred(l)).cloned().collect::<Vec<_>>());
    let cases: Vec<(LicenseFilter, Vec<String>)> = vec![
        (
            LicenseFilter { status: Some(LicenseStatus::Unused), ..Default::default() },
            expect(&|l| l.status == LicenseStatus::Unused),
        ),
        (
            LicenseFilter { created_by: Some(rsl.id.clone()), ..Default::default() },
            expect(&|l| matches!(l.created_by, Creator::Reseller(_))),
        ),
        (
            LicenseFilter { search: Some("vip".into()), ..Default::default() },
            vec!["tg-eeee_0005".into(), "TG-BBBB-0002".into()],
        ),
        (LicenseFilter { search: Some("tg-bbbb".into()), ..Default::default() }, vec!["TG-BBBB-0002".into()]),
        (LicenseFilter { search: Some("50%".into()), ..Default::default() }, vec!["TG-CCCC-0003".into()]),
        (LicenseFilter { search: Some("_".into()), ..Default::default() }, vec!["tg-eeee_0005".into()]),
        (LicenseFilter { search: Some("no such thing".into()), ..Default::default() }, vec![]),
        (
            LicenseFilter { status: Some(LicenseStatus::Unused), search: Some("VIP".into()), ..Default::default() },
            vec!["tg-eeee_0005".into()],
        ),
        (
            LicenseFilter {
                status: Some(LicenseStatus::Unused),
                search: Some("off".into()),
                created_by: Some(rsl.id.clone()),
                after: None,
            },
            vec!["TG-DDDD-0004".into()],
        ),
    ];
    for (filter, want) in cases {
        let got = s.list_licenses(&list_app.id, &filter, page(1, 100)).await.unwrap();
        assert_eq!(keys(&got.items), want, "{filter:?}");
        assert_eq!(got.total, want.len() as u64, "{filter:?}");
        let first = s.list_licenses(&list_app.id, &filter, page(1, 1)).await.unwrap();
        assert_eq!(first.total, want.len() as u64, "total ignores the page");
        assert_eq!(keys(&first.items), want.into_iter().take(1).collect::<Vec<_>>());
    }
    assert_eq!(s.list_licenses(&other_app.id, &none, page(1, 100)).await.unwrap().total, 1);

    // Banning a license ends the sessions opened with it; other sessions live on.
    let mut lic_session = session(&a.id, None, now() + Duration::hours(1));
    lic_session.license_id = Some(bare.id.clone());
    let bystander = session(&a.id, None, now() + Duration::hours(1));
    s.create_session(&lic_session).await.unwrap();
    s.create_session(&bystander).await.unwrap();

    // Status changes keep a reason only when banning.
    let banned = s
        .set_license_status(&a.id, &bare.id, LicenseStatus::Unused, LicenseStatus::Banned, Some("chargeback"))
        .await
        .unwrap()
        .unwrap();
    let mut want = bare.clone();
    want.status = LicenseStatus::Banned;
    want.ban_reason = Some("chargeback".into());
    assert_eq!(banned, want);
    assert_eq!(s.get_license(&a.id, &bare.id).await.unwrap(), Some(want));
    assert_eq!(s.session_by_token(&a.id, &lic_session.token).await.unwrap(), None);
    assert!(s.session_by_token(&a.id, &bystander.token).await.unwrap().is_some());
    let paused = s
        .set_license_status(&a.id, &bare.id, LicenseStatus::Banned, LicenseStatus::Paused, Some("ignored"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(paused.status, LicenseStatus::Paused);
    assert_eq!(paused.ban_reason, None);
    assert_eq!(
        s.set_license_status(&other_app.id, &bare.id, LicenseStatus::Paused, LicenseStatus::Banned, None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.get_license(&a.id, &bare.id).await.unwrap().unwrap().status, LicenseStatus::Paused);

    // Device reset, scoped.
    assert_eq!(s.reset_license_devices(&other_app.id, &full.id).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &full.id).await.unwrap().unwrap().devices, full.devices);
    let reset = s.reset_license_devices(&a.id, &full.id).await.unwrap().unwrap();
    let mut want = full.clone();
    want.devices.clear();
    assert_eq!(reset, want);
    assert_eq!(s.get_license(&a.id, &full.id).await.unwrap(), Some(want));

    // Delete, scoped.
    assert!(!s.delete_license(&other_app.id, &full.id).await.unwrap());
    assert!(s.delete_license(&a.id, &full.id).await.unwrap());
    assert!(!s.delete_license(&a.id, &full.id).await.unwrap());
    assert_eq!(s.get_license(&a.id, &full.id).await.unwrap(), None);
    assert!(s.get_license(&a.id, &bare.id).await.unwrap().is_some());
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

/// Listing totals stay exact through every kind of write to licenses.
pub async fn license_totals<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let b = app(&owner.id);
    s.create_app(&b).await.unwrap();
    assert!(totals_match(s, &a.id, "a new app").await.is_empty());

    // A batch of several statuses, across the backend's insert chunks.
    let batch: Vec<License> = (0..1250)
        .map(|i| {
            let mut l = license(&a.id, &format!("TOT-{i:05}"));
            l.status = match i % 10 {
                0..=5 => LicenseStatus::Unused,
                6 | 7 => LicenseStatus::Used,
                8 => LicenseStatus::Expired,
                _ => LicenseStatus::Banned,
            };
            l
        })
        .collect();
    s.insert_licenses(&batch).await.unwrap();
    let rows = totals_match(s, &a.id, "after a batch insert").await;
    assert_eq!(rows.len(), 1250);
    s.insert_licenses(&[license(&b.id, "TOT-B-1"), license(&b.id, "TOT-B-2")]).await.unwrap();
    assert_eq!(totals_match(s, &b.id, "the other app").await.len(), 2);
    assert_eq!(totals_match(s, &a.id, "after another app's insert").await.len(), 1250);

    // A batch that fails inserts nothing, and counts nothing.
    let failing = vec![license(&a.id, "TOT-NEW"), license(&a.id, "TOT-00001")];
    assert_conflict(s.insert_licenses(&failing).await, constraint::LICENSE_APP_KEY);
    assert_eq!(totals_match(s, &a.id, "after a refused batch").await.len(), 1250);

    // Status changes, each kind.
    let unused = batch[0].id.clone();
    let used = batch[6].id.clone();
    s.set_license_status(&a.id, &unused, LicenseStatus::Unused, LicenseStatus::Banned, Some("fraud"))
        .await
        .unwrap()
        .unwrap();
    totals_match(s, &a.id, "after a ban").await;
    s.set_license_status(&a.id, &unused, LicenseStatus::Banned, LicenseStatus::Unused, None).await.unwrap().unwrap();
    totals_match(s, &a.id, "after an unban").await;
    s.set_license_status(&a.id, &used, LicenseStatus::Used, LicenseStatus::Paused, None).await.unwrap().unwrap();
    totals_match(s, &a.id, "after a pause").await;
    s.set_license_status(&a.id, &used, LicenseStatus::Paused, LicenseStatus::Used, None).await.unwrap().unwrap();
    totals_match(s, &a.id, "after an unpause").await;
    s.set_license_status(&a.id, &used, LicenseStatus::Used, LicenseStatus::Used, None).await.unwrap().unwrap();
    totals_match(s, &a.id, "after setting the status it already had").await;
    s.set_license_status(&a.id, &unused, LicenseStatus::Unused, LicenseStatus::Banned, None).await.unwrap().unwrap();
    s.set_license_status(&a.id, &unused, LicenseStatus::Banned, LicenseStatus::Paused, None).await.unwrap().unwrap();
    totals_match(s, &a.id, "after banned to paused").await;
    // Out of scope or absent: nothing changes.
    assert_eq!(
        s.set_license_status(&b.id, &used, LicenseStatus::Used, LicenseStatus::Banned, None).await.unwrap(),
        None
    );
    assert_eq!(
        s.set_license_status(&a.id, "lic_missing", LicenseStatus::Unused, LicenseStatus::Banned, None).await.unwrap(),
        None
    );
    totals_match(s, &a.id, "after status changes that found nothing").await;
    assert_eq!(totals_match(s, &b.id, "the other app, after status changes").await.len(), 2);

    // Deletes: of an unused license, of a banned one, of a paused one; refused ones change nothing.
    assert!(s.delete_license(&a.id, &batch[1].id).await.unwrap());
    assert_eq!(totals_match(s, &a.id, "after a delete").await.len(), 1249);
    let banned = batch[9].id.clone();
    assert_eq!(s.get_license(&a.id, &banned).await.unwrap().unwrap().status, LicenseStatus::Banned);
    assert!(s.delete_license(&a.id, &banned).await.unwrap());
    assert_eq!(totals_match(s, &a.id, "after deleting a banned license").await.len(), 1248);
    assert!(s.delete_license(&a.id, &unused).await.unwrap());
    assert_eq!(totals_match(s, &a.id, "after deleting a paused license").await.len(), 1247);
    assert!(!s.delete_license(&a.id, &banned).await.unwrap());
    assert!(!s.delete_license(&b.id, &used).await.unwrap());
    assert_eq!(totals_match(s, &a.id, "after deletes that found nothing").await.len(), 1247);

    // Back to a count seen before (the counts may keep rows at zero); keys freed by deletes can
    // be used again.
    s.insert_licenses(&[license(&a.id, "TOT-00001")]).await.unwrap();
    assert_eq!(totals_match(s, &a.id, "after re-using a deleted key").await.len(), 1248);
    let banned_only = LicenseFilter { status: Some(LicenseStatus::Banned), ..Default::default() };
    let (banned_rows, _) = all_rows(s, &a.id, &banned_only).await;
    for l in &banned_rows {
        assert!(s.delete_license(&a.id, &l.id).await.unwrap());
    }
    let left = s.list_licenses(&a.id, &banned_only, page(1, 1)).await.unwrap();
    assert_eq!((left.total, left.items.len()), (0, 0), "no banned license left");
    totals_match(s, &a.id, "after deleting every banned license").await;

    // The filtered listings that are always counted agree too.
    let (all, _) = all_rows(s, &a.id, &LicenseFilter::default()).await;
    let by_seller = LicenseFilter { created_by: Some("seller_fixture".into()), ..Default::default() };
    assert_eq!(s.list_licenses(&a.id, &by_seller, page(1, 1)).await.unwrap().total, all.len() as u64);
    let search = LicenseFilter { search: Some("TOT-".into()), ..Default::default() };
    assert_eq!(s.list_licenses(&a.id, &search, page(1, 1)).await.unwrap().total, all.len() as u64);

    // Deleting the app takes its licenses and their totals; a new app starts at zero.
    assert!(s.delete_app(&owner.id, &a.id).await.unwrap());
    assert!(totals_match(s, &a.id, "after deleting the app").await.is_empty());
    assert_eq!(totals_match(s, &b.id, "the other app, after the delete").await.len(), 2);

    // Concurrent writers to one app's counts lose no update.
    let c = app(&owner.id);
    s.create_app(&c).await.unwrap();
    let seeded: Vec<License> = (0..30).map(|i| license(&c.id, &format!("CONC-{i:03}"))).collect();
    s.insert_licenses(&seeded).await.unwrap();
    let mut tasks = Vec::new();
    for (i, l) in seeded.iter().enumerate() {
        let (s, app_id, id) = (s, c.id.clone(), l.id.clone());
        tasks.push(async move {
            match i % 3 {
                0 => assert!(s
                    .set_license_status(&app_id, &id, LicenseStatus::Unused, LicenseStatus::Banned, None)
                    .await
                    .unwrap()
                    .is_some()),
                1 => assert!(s.delete_license(&app_id, &id).await.unwrap()),
                _ => s.insert_licenses(&[license(&app_id, &format!("CONC-NEW-{i:03}"))]).await.unwrap(),
            }
        });
    }
    futures::future::join_all(tasks).await;
    assert_eq!(totals_match(s, &c.id, "after concurrent writes").await.len(), 30);
}

/// Keyset pagination: walking a listing by cursor gives what walking it by pages gives.
pub async fn license_cursor<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let other = app(&owner.id);
    s.create_app(&other).await.unwrap();

    // 5 instants, several licenses in each millisecond, so most of the order is decided by the
    // id. Some ids differ only in case or punctuation: byte order (`str`'s), not a locale's.
    let base = now() - Duration::hours(2);
    let mut all: Vec<License> = Vec::new();
    for i in 0..37 {
        let mut l = license(&a.id, &format!("CUR-{i:03}"));
        l.created_at = base + Duration::milliseconds(i64::from(i % 5));
        l.status = if i % 3 == 0 { LicenseStatus::Used } else { LicenseStatus::Unused };
        l.note = (i % 4 == 0).then(|| "gift".to_owned());
        all.push(l);
    }
    for (n, id) in ["lic_Zeta", "lic_alpha", "lic_Alpha", "lic__under", "lic_-dash", "lic_0zero"].iter().enumerate() {
        let mut l = license(&a.id, &format!("CUR-X{n}"));
        l.id = (*id).to_owned();
        l.created_at = base + Duration::milliseconds(2);
        all.push(l);
    }
    s.insert_licenses(&all).await.unwrap();
    s.insert_licenses(&[license(&other.id, "CUR-OTHER")]).await.unwrap();
    let ordered = newest_first(&all, |l| (l.created_at, l.id.clone()));

    let filters = [
        LicenseFilter::default(),
        LicenseFilter { status: Some(LicenseStatus::Used), ..Default::default() },
        LicenseFilter { search: Some("gift".into()), ..Default::default() },
        LicenseFilter { created_by: Some("seller_fixture".into()), ..Default::default() },
    ];
    for filter in &filters {
        let want: Vec<License> = ordered
            .iter()
            .filter(|l| filter.status.is_none_or(|st| l.status == st))
            .filter(|l| filter.search.is_none() || l.note.as_deref() == Some("gift"))
            .cloned()
            .collect();
        let (by_pages, _) = all_rows(s, &a.id, filter).await;
        assert_eq!(by_pages, want, "{filter:?}: by pages");

        for limit in [1, 4, 7, 100] {
            let mut by_cursor: Vec<License> = Vec::new();
            let mut cursor = LicenseFilter { after: None, ..filter.clone() };
            // The page number is ignored once there is a cursor: ask for a far one.
            let mut p = 1;
            loop {
                let got = s.list_licenses(&a.id, &cursor, page(p, limit)).await.unwrap();
                assert_eq!(got.total, want.len() as u64, "{filter:?}, limit {limit}: total ignores the cursor");
                assert!(got.items.len() <= limit as usize);
                let Some(last) = got.items.last() else { break };
                cursor.after = Some(LicenseCursor::of(last));
                p = 1000;
                by_cursor.extend(got.items);
                assert!(by_cursor.len() <= want.len(), "{filter:?}, limit {limit}: the walk does not end");
            }
            assert_eq!(by_cursor, want, "{filter:?}, limit {limit}: by cursor");
        }
    }

    // After the last license: nothing. After a position past the newest: everything.
    let last = LicenseCursor::of(ordered.last().unwrap());
    let after_last = LicenseFilter { after: Some(last), ..Default::default() };
    assert!(s.list_licenses(&a.id, &after_last, page(1, 100)).await.unwrap().items.is_empty());
    let future = LicenseCursor { created_at: now() + Duration::days(1), id: String::new() };
    let from_top = LicenseFilter { after: Some(future), ..Default::default() };
    assert_eq!(s.list_licenses(&a.id, &from_top, page(1, 100)).await.unwrap().items, ordered);

    // A cursor is a position, not a license: after its license is deleted it still leads on.
    let mid = &ordered[20];
    assert!(s.delete_license(&a.id, &mid.id).await.unwrap());
    let after_mid = LicenseFilter { after: Some(LicenseCursor::of(mid)), ..Default::default() };
    let got = s.list_licenses(&a.id, &after_mid, page(1, 3)).await.unwrap();
    assert_eq!(got.items, ordered[21..24].to_vec());
    assert_eq!(got.total, ordered.len() as u64 - 1);

    // Same position, equal created_at: only ids strictly below come after.
    let tie = LicenseCursor { created_at: base + Duration::milliseconds(2), id: "lic_Zeta".into() };
    let got = s
        .list_licenses(&a.id, &LicenseFilter { after: Some(tie.clone()), ..Default::default() }, page(1, 100))
        .await
        .unwrap();
    let want: Vec<License> = ordered
        .iter()
        .filter(|l| l.id != mid.id)
        .filter(|l| (l.created_at, l.id.as_str()) < (tie.created_at, tie.id.as_str()))
        .cloned()
        .collect();
    assert_eq!(got.items, want);
    assert!(got.items.iter().all(|l| l.id != "lic_alpha" && l.id != "lic__under"), "lowercase sorts after Z");

    // Scoped: a cursor does not reach another app's licenses.
    let got = s.list_licenses(&other.id, &from_top, page(1, 100)).await.unwrap();
    assert_eq!(got.items.len(), 1);
    assert_eq!(got.total, 1);
}

pub async fn users<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;

    // Round trip, filled and empty.
    let full = stored_user(s, &a.id, "Alice").await;
    let mut bare = user(&a.id, "bob");
    bare.email = None;
    bare.expires_at = None;
    bare.devices = Vec::new();
    bare.max_devices = 7;
    bare.last_ip = None;
    bare.status = UserStatus::Banned;
    bare.ban_reason = Some("spam".into());
    bare.last_login = None;
    s.create_user(&bare).await.unwrap();
    for u in [&full, &bare] {
        assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(u.clone()));
        assert_eq!(s.get_user(&b.id, &u.id).await.unwrap(), None);
        assert_eq!(s.user_by_username(&a.id, &u.username).await.unwrap(), Some(u.clone()));
        assert_eq!(s.user_by_username(&b.id, &u.username).await.unwrap(), None);
    }
    assert_eq!(
        s.user_by_username(&a.id, "ALICE").await.unwrap(),
        Some(full.clone()),
        "usernames compare case-insensitively"
    );
    assert_eq!(s.user_by_username(&a.id, "nobody").await.unwrap(), None);
    assert_eq!(s.get_user(&a.id, "usr_missing").await.unwrap(), None);

    assert_conflict(s.create_user(&user(&a.id, "aLiCe")).await, constraint::USER_APP_USERNAME);
    s.create_user(&user(&b.id, "alice")).await.unwrap();
    assert!(s.create_user(&user("app_missing", "x")).await.is_err(), "a user needs an existing app");

    // Listing.
    let list_app = app(&a.owner_id);
    s.create_app(&list_app).await.unwrap();
    let base = now() - Duration::hours(5);
    let spec: [(&str, Option<&str>, UserStatus, i64); 6] = [
        ("zed", Some("zed@corp.example"), UserStatus::Active, 0),
        ("Mallory", None, UserStatus::Banned, 1),
        ("carol_99", Some("carol@home.example"), UserStatus::Active, 2),
        ("carol999", Some("c9@CORP.example"), UserStatus::Paused, 2),
        ("dave%", Some("dave@home.example"), UserStatus::Active, 3),
        ("erin", Some("erin@corp.example"), UserStatus::Active, 4),
    ];
    let all: Vec<User> = spec
        .iter()
        .map(|(name, email, status, secs)| {
            let mut u = user(&list_app.id, name);
            u.email = email.map(Into::into);
            u.status = *status;
            u.created_at = base + Duration::seconds(*secs);
            u
        })
        .collect();
    for u in &all {
        s.create_user(u).await.unwrap();
    }
    let ordered = newest_first(&all, |u| (u.created_at, u.id.clone()));
    let names = |us: &[User]| us.iter().map(|u| u.username.clone()).collect::<Vec<_>>();
    let none = UserFilter::default();
    let mut paged = Vec::new();
    for p in 1..=2 {
        let got = s.list_users(&list_app.id, &none, page(p, 4)).await.unwrap();
        assert_eq!(got.total, 6);
        paged.extend(got.items);
    }
    assert_eq!(paged, ordered);
    let carols: Vec<String> =
        ordered.iter().filter(|u| u.username.starts_with("carol")).map(|u| u.username.clone()).collect();
    let cases: Vec<(UserFilter, Vec<String>)> = vec![
        (UserFilter { status: Some(UserStatus::Active), search: None }, strs(&["erin", "dave%", "carol_99", "zed"])),
        (
            UserFilter { status: None, search: Some("CAROL".into()) },
            // Both carols share a created_at: the id breaks the tie.
            carols,
        ),
        (UserFilter { status: None, search: Some("l_9".into()) }, strs(&["carol_99"])),
        (UserFilter { status: None, search: Some("%".into()) }, strs(&["dave%"])),
        (UserFilter { status: None, search: Some("corp.example".into()) }, strs(&["erin", "carol999", "zed"])),
        (UserFilter { status: Some(UserStatus::Active), search: Some("CORP".into()) }, strs(&["erin", "zed"])),
        (UserFilter { status: Some(UserStatus::Banned), search: None }, strs(&["Mallory"])),
    ];
    for (filter, want) in cases {
        let got = s.list_users(&list_app.id, &filter, page(1, 100)).await.unwrap();
        assert_eq!(names(&got.items), want, "{filter:?}");
        assert_eq!(got.total, want.len() as u64, "{filter:?}");
    }
    assert_eq!(s.list_users(&b.id, &none, page(1, 100)).await.unwrap().total, 1);

    // Patches change only what they name.
    let patched =
        s.update_user(&a.id, &full.id, &UserPatch { level: Some(9), ..Default::default() }).await.unwrap().unwrap();
    let mut want = full.clone();
    want.level = 9;
    assert_eq!(patched, want);
    let patched = s
        .update_user(
            &a.id,
            &full.id,
            &UserPatch { email: Some(None), password_hash: Some("$argon2id$new".into()), ..Default::default() },
        )
        .await
        .unwrap()
        .unwrap();
    want.email = None;
    want.password_hash = "$argon2id$new".into();
    assert_eq!(patched, want);
    let patched = s
        .update_user(&a.id, &full.id, &UserPatch { email: Some(Some("new@mail.example".into())), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    want.email = Some("new@mail.example".into());
    assert_eq!(patched, want);
    assert_eq!(s.update_user(&a.id, &full.id, &UserPatch::default()).await.unwrap(), Some(want.clone()));
    assert_eq!(
        s.update_user(&b.id, &full.id, &UserPatch { level: Some(1), ..Default::default() }).await.unwrap(),
        None
    );
    assert_eq!(s.get_user(&a.id, &full.id).await.unwrap(), Some(want.clone()));

    // Status: banning or pausing ends the user's sessions, and only theirs.
    let t = now();
    let later = t + Duration::hours(1);
    let carl = stored_user(s, &a.id, "carl").await;
    let s_full = session(&a.id, Some(&full.id), later);
    let s_carl = session(&a.id, Some(&carl.id), later);
    s.create_session(&s_full).await.unwrap();
    s.create_session(&s_carl).await.unwrap();

    assert_eq!(
        s.set_user_status(&b.id, &full.id, UserStatus::Active, UserStatus::Banned, Some("x")).await.unwrap(),
        None
    );
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 2);
    let active =
        s.set_user_status(&a.id, &full.id, UserStatus::Active, UserStatus::Active, None).await.unwrap().unwrap();
    assert_eq!(active, want);
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 2);

    let banned = s
        .set_user_status(&a.id, &full.id, UserStatus::Active, UserStatus::Banned, Some("cheating"))
        .await
        .unwrap()
        .unwrap();
    want.status = UserStatus::Banned;
    want.ban_reason = Some("cheating".into());
    assert_eq!(banned, want);
    assert_eq!(s.get_user(&a.id, &full.id).await.unwrap(), Some(want.clone()));
    assert_eq!(s.session_by_token(&a.id, &s_full.token).await.unwrap(), None);
    assert!(s.session_by_token(&a.id, &s_carl.token).await.unwrap().is_some());

    let s_carl2 = session(&a.id, Some(&carl.id), later);
    s.create_session(&s_carl2).await.unwrap();
    let paused =
        s.set_user_status(&a.id, &carl.id, UserStatus::Active, UserStatus::Paused, None).await.unwrap().unwrap();
    assert_eq!(paused.status, UserStatus::Paused);
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 0);

    // Devices.
    assert_eq!(s.reset_user_devices(&b.id, &full.id).await.unwrap(), None);
    let reset = s.reset_user_devices(&a.id, &full.id).await.unwrap().unwrap();
    want.devices.clear();
    assert_eq!(reset, want);
    assert_eq!(s.reset_user_devices(&a.id, &full.id).await.unwrap(), Some(want.clone()), "idempotent");

    // Extension: from now when expired, from the expiry when in the future, never from none.
    let t = now();
    let mut expired = user(&a.id, "expired");
    expired.expires_at = Some(t - Duration::days(5));
    let mut future = user(&a.id, "future");
    future.expires_at = Some(t + Duration::days(10));
    let mut forever = user(&a.id, "forever");
    forever.expires_at = None;
    for u in [&expired, &future, &forever] {
        s.create_user(u).await.unwrap();
    }
    let mut just_now = user(&a.id, "just-now");
    just_now.expires_at = Some(t);
    s.create_user(&just_now).await.unwrap();
    for (u, want) in [
        (&expired, Some(t + Duration::days(3))),
        (&future, Some(t + Duration::days(13))),
        (&forever, None),
        (&just_now, Some(t + Duration::days(3))),
    ] {
        let got = s.extend_user(&a.id, &u.id, 3, t).await.unwrap().unwrap();
        assert_eq!(got.expires_at, want, "{}", u.username);
    }
    assert_eq!(s.extend_user(&b.id, &future.id, 3, t).await.unwrap(), None);
    assert_eq!(s.get_user(&a.id, &future.id).await.unwrap().unwrap().expires_at, Some(t + Duration::days(13)));
    let rest = s.get_user(&a.id, &future.id).await.unwrap().unwrap();
    let mut want_future = future.clone();
    want_future.expires_at = Some(t + Duration::days(13));
    assert_eq!(rest, want_future, "extension touches nothing else");

    // Delete: sessions and variables go, licenses stay unlinked.
    let doomed = stored_user(s, &a.id, "doomed").await;
    let sess = session(&a.id, Some(&doomed.id), later);
    s.create_session(&sess).await.unwrap();
    s.set_user_variable(&user_variable(&a.id, &doomed.id, "k")).await.unwrap();
    let mut lic = license(&a.id, "LINKED-1");
    lic.user_id = Some(doomed.id.clone());
    lic.status = LicenseStatus::Used;
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();

    assert!(!s.delete_user(&b.id, &doomed.id).await.unwrap());
    assert!(s.get_user(&a.id, &doomed.id).await.unwrap().is_some());
    assert!(s.delete_user(&a.id, &doomed.id).await.unwrap());
    assert!(!s.delete_user(&a.id, &doomed.id).await.unwrap());
    assert_eq!(s.get_user(&a.id, &doomed.id).await.unwrap(), None);
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), None);
    assert_eq!(s.get_user_variable(&a.id, &doomed.id, "k").await.unwrap(), None);
    let mut unlinked = lic.clone();
    unlinked.user_id = None;
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap(), Some(unlinked));
}

pub async fn user_variables<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let u = stored_user(s, &a.id, "alice").await;
    let other = stored_user(s, &a.id, "bob").await;
    let foreign = stored_user(s, &b.id, "carol").await;

    let v = user_variable(&a.id, &u.id, "theme");
    s.set_user_variable(&v).await.unwrap();
    assert_eq!(s.get_user_variable(&a.id, &u.id, "theme").await.unwrap(), Some(v.clone()));
    assert_eq!(s.get_user_variable(&a.id, &u.id, "THEME").await.unwrap(), None);
    assert_eq!(s.get_user_variable(&a.id, &other.id, "theme").await.unwrap(), None);
    assert_eq!(s.get_user_variable(&b.id, &u.id, "theme").await.unwrap(), None);

    // Overwrite.
    let mut v2 = v.clone();
    v2.value = "dark".into();
    v2.updated_at = now();
    s.set_user_variable(&v2).await.unwrap();
    assert_eq!(s.get_user_variable(&a.id, &u.id, "theme").await.unwrap(), Some(v2.clone()));

    // Sorted by key, per user.
    for key in ["zeta", "alpha", "Mid"] {
        s.set_user_variable(&user_variable(&a.id, &u.id, key)).await.unwrap();
    }
    s.set_user_variable(&user_variable(&a.id, &other.id, "other")).await.unwrap();
    let keys: Vec<String> = s.list_user_variables(&a.id, &u.id).await.unwrap().into_iter().map(|v| v.key).collect();
    assert_eq!(keys, vec!["Mid", "alpha", "theme", "zeta"]);
    assert!(s.list_user_variables(&b.id, &u.id).await.unwrap().is_empty());

    // A user of another app cannot be written through this app.
    assert_not_found(s.set_user_variable(&user_variable(&a.id, &foreign.id, "x")).await);
    assert_not_found(s.set_user_variable(&user_variable(&a.id, "usr_missing", "x")).await);
    assert!(s.list_user_variables(&b.id, &foreign.id).await.unwrap().is_empty());

    assert!(!s.delete_user_variable(&b.id, &u.id, "theme").await.unwrap());
    assert!(s.delete_user_variable(&a.id, &u.id, "theme").await.unwrap());
    assert!(!s.delete_user_variable(&a.id, &u.id, "theme").await.unwrap());
    assert_eq!(s.get_user_variable(&a.id, &u.id, "theme").await.unwrap(), None);
    assert_eq!(s.list_user_variables(&a.id, &u.id).await.unwrap().len(), 3);
}

pub async fn variables<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;

    let v = variable(&a.id, "motd");
    s.create_variable(&v).await.unwrap();
    assert_eq!(s.get_variable(&a.id, "motd").await.unwrap(), Some(v.clone()));
    assert_eq!(s.get_variable(&b.id, "motd").await.unwrap(), None);
    assert_eq!(s.get_variable(&a.id, "MOTD").await.unwrap(), None);
    assert_conflict(s.create_variable(&variable(&a.id, "motd")).await, constraint::VARIABLE_APP_KEY);
    s.create_variable(&variable(&b.id, "motd")).await.unwrap();

    let mut flags = variable(&a.id, "beta");
    flags.read_only = false;
    flags.auth_required = true;
    s.create_variable(&flags).await.unwrap();
    s.create_variable(&variable(&a.id, "Zulu")).await.unwrap();
    let keys: Vec<String> = s.list_variables(&a.id).await.unwrap().into_iter().map(|v| v.key).collect();
    assert_eq!(keys, vec!["Zulu", "beta", "motd"]);
    assert_eq!(s.list_variables(&a.id).await.unwrap()[1], flags);

    // Patches change only what they name; updated_at always moves.
    let t1 = now() + Duration::seconds(1);
    let got = s
        .update_variable(&a.id, "motd", &VariablePatch { value: Some("new".into()), ..Default::default() }, t1)
        .await
        .unwrap()
        .unwrap();
    let mut want = v.clone();
    want.value = "new".into();
    want.updated_at = t1;
    assert_eq!(got, want);
    let t2 = t1 + Duration::seconds(1);
    let got = s
        .update_variable(
            &a.id,
            "motd",
            &VariablePatch { value: None, read_only: Some(false), auth_required: Some(true) },
            t2,
        )
        .await
        .unwrap()
        .unwrap();
    want.read_only = false;
    want.auth_required = true;
    want.updated_at = t2;
    assert_eq!(got, want);
    assert_eq!(s.get_variable(&a.id, "motd").await.unwrap(), Some(want.clone()));
    assert_eq!(s.update_variable(&b.id, "beta", &VariablePatch::default(), t2).await.unwrap(), None);
    assert_eq!(s.update_variable(&a.id, "missing", &VariablePatch::default(), t2).await.unwrap(), None);
    assert_eq!(s.get_variable(&b.id, "motd").await.unwrap().unwrap().value, "value of motd");

    assert!(!s.delete_variable(&b.id, "beta").await.unwrap());
    assert!(s.delete_variable(&a.id, "beta").await.unwrap());
    assert!(!s.delete_variable(&a.id, "beta").await.unwrap());
    assert_eq!(s.get_variable(&a.id, "beta").await.unwrap(), None);
    assert!(s.get_variable(&b.id, "motd").await.unwrap().is_some());
}

pub async fn blacklist<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let base = now() - Duration::hours(1);
    let mut entries = Vec::new();
    for (i, (kind, value)) in [
        (BlacklistKind::Ip, "10.0.0.0/8"),
        (BlacklistKind::Hwid, "HWID-9"),
        (BlacklistKind::Username, "mallory"),
        (BlacklistKind::ClientId, "client-x"),
        (BlacklistKind::Username, "HWID-9"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = blacklist_entry(&a.id, kind, value);
        // Inserted newest first, listed oldest first.
        e.created_at = base - Duration::seconds(i as i64);
        if i == 3 {
            e.reason = None;
        }
        s.add_blacklist(&e).await.unwrap();
        entries.push(e);
    }
    entries.reverse();
    assert_eq!(s.list_blacklist(&a.id).await.unwrap(), entries);
    assert!(s.list_blacklist(&b.id).await.unwrap().is_empty());

    assert_conflict(
        s.add_blacklist(&blacklist_entry(&a.id, BlacklistKind::Hwid, "HWID-9")).await,
        constraint::BLACKLIST_APP_KIND_VALUE,
    );
    s.add_blacklist(&blacklist_entry(&b.id, BlacklistKind::Hwid, "HWID-9")).await.unwrap();

    let victim = &entries[0];
    assert!(!s.delete_blacklist(&b.id, &victim.id).await.unwrap());
    assert!(s.delete_blacklist(&a.id, &victim.id).await.unwrap());
    assert!(!s.delete_blacklist(&a.id, &victim.id).await.unwrap());
    assert_eq!(s.list_blacklist(&a.id).await.unwrap(), entries[1..].to_vec());
    assert_eq!(s.list_blacklist(&b.id).await.unwrap().len(), 1);
}

pub async fn sessions<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let u = stored_user(s, &a.id, "Alice").await;
    let lic = license(&a.id, "SESS-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let t = now();

    // Round trip, filled and empty.
    let mut s_user = session(&a.id, Some(&u.id), t + Duration::hours(24));
    s_user.created_at = t - Duration::minutes(2);
    let mut s_lic = session(&a.id, None, t + Duration::hours(2));
    s_lic.license_id = Some(lic.id.clone());
    s_lic.ip = None;
    s_lic.hwid = None;
    s_lic.client_id = None;
    s_lic.created_at = t - Duration::minutes(1);
    let mut s_dead = session(&a.id, Some(&u.id), t - Duration::seconds(1));
    s_dead.created_at = t - Duration::minutes(3);
    let mut s_edge = session(&a.id, None, t);
    s_edge.created_at = t - Duration::minutes(4);
    let s_other = session(&b.id, None, t + Duration::hours(1));
    for x in [&s_user, &s_lic, &s_dead, &s_edge, &s_other] {
        s.create_session(x).await.unwrap();
    }
    for x in [&s_user, &s_lic, &s_dead] {
        assert_eq!(s.session_by_token(&a.id, &x.token).await.unwrap(), Some(x.clone()));
        assert_eq!(s.session_by_token(&b.id, &x.token).await.unwrap(), None);
    }
    assert_eq!(s.session_by_token(&a.id, &ids::new_token()).await.unwrap(), None);
    let mut dup = session(&b.id, None, t + Duration::hours(1));
    dup.token = s_user.token.clone();
    assert_conflict(s.create_session(&dup).await, constraint::SESSION_TOKEN);

    // Live means `expires_at > now`; newest first, with the username when there is a user.
    let live = s.list_live_sessions(&a.id, t).await.unwrap();
    assert_eq!(
        live,
        vec![
            SessionView { session: s_lic.clone(), username: None },
            SessionView { session: s_user.clone(), username: Some("Alice".into()) },
        ]
    );
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 2);
    assert_eq!(
        s.count_live_sessions(&a.id, t - Duration::milliseconds(1)).await.unwrap(),
        3,
        "the edge session is live one millisecond earlier"
    );
    assert_eq!(s.count_live_sessions(&b.id, t).await.unwrap(), 1);
    assert_eq!(s.list_live_sessions(&b.id, t).await.unwrap().len(), 1);

    // Touch: last_seen always, expiry only forward.
    let t1 = t + Duration::seconds(5);
    let further = t + Duration::hours(48);
    assert!(s.touch_session(&a.id, &s_lic.id, t1, Some(further)).await.unwrap());
    let mut want = s_lic.clone();
    want.last_seen = t1;
    want.expires_at = further;
    assert_eq!(s.session_by_token(&a.id, &s_lic.token).await.unwrap(), Some(want.clone()));
    let t2 = t1 + Duration::seconds(5);
    assert!(s.touch_session(&a.id, &s_lic.id, t2, Some(t + Duration::hours(1))).await.unwrap());
    want.last_seen = t2;
    assert_eq!(
        s.session_by_token(&a.id, &s_lic.token).await.unwrap(),
        Some(want.clone()),
        "an earlier expiry does not shorten the session"
    );
    let t3 = t2 + Duration::seconds(5);
    assert!(s.touch_session(&a.id, &s_lic.id, t3, None).await.unwrap());
    want.last_seen = t3;
    assert_eq!(s.session_by_token(&a.id, &s_lic.token).await.unwrap(), Some(want.clone()));
    assert!(!s.touch_session(&b.id, &s_lic.id, t3, Some(further)).await.unwrap());
    assert!(!s.touch_session(&a.id, "sess_missing", t3, None).await.unwrap());

    // Delete one, scoped.
    assert!(!s.delete_session(&b.id, &s_user.id).await.unwrap());
    assert!(s.delete_session(&a.id, &s_user.id).await.unwrap());
    assert!(!s.delete_session(&a.id, &s_user.id).await.unwrap());
    assert_eq!(s.session_by_token(&a.id, &s_user.token).await.unwrap(), None);

    // Purge: expired sessions of every app, nothing live.
    let s_other_dead = session(&b.id, None, t - Duration::hours(1));
    s.create_session(&s_other_dead).await.unwrap();
    assert_eq!(s.purge_expired_sessions(t).await.unwrap(), 3);
    assert_eq!(s.session_by_token(&a.id, &s_dead.token).await.unwrap(), None);
    assert_eq!(s.session_by_token(&a.id, &s_edge.token).await.unwrap(), None);
    assert_eq!(s.session_by_token(&b.id, &s_other_dead.token).await.unwrap(), None);
    assert!(s.session_by_token(&a.id, &s_lic.token).await.unwrap().is_some());
    assert_eq!(s.purge_expired_sessions(t).await.unwrap(), 0);

    // Kill every session of one app.
    s.create_session(&session(&a.id, Some(&u.id), t + Duration::hours(1))).await.unwrap();
    assert_eq!(s.delete_app_sessions(&a.id).await.unwrap(), 2);
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 0);
    assert_eq!(s.count_live_sessions(&b.id, t).await.unwrap(), 1);
    assert_eq!(s.delete_app_sessions(&a.id).await.unwrap(), 0);
}

pub async fn resellers<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let mut first = reseller(&a.id, "Rita");
    first.created_at = now() - Duration::hours(2);
    let second = reseller(&a.id, "sam");
    s.create_reseller(&second).await.unwrap();
    s.create_reseller(&first).await.unwrap();

    assert_eq!(s.get_reseller(&a.id, &first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(s.get_reseller(&b.id, &first.id).await.unwrap(), None);
    assert_eq!(s.reseller_by_username(&a.id, "RITA").await.unwrap(), Some(first.clone()));
    assert_eq!(s.reseller_by_username(&b.id, "rita").await.unwrap(), None);
    assert_eq!(s.list_resellers(&a.id).await.unwrap(), vec![first.clone(), second.clone()]);
    assert!(s.list_resellers(&b.id).await.unwrap().is_empty());

    assert_conflict(s.create_reseller(&reseller(&a.id, "rita")).await, constraint::RESELLER_APP_USERNAME);
    s.create_reseller(&reseller(&b.id, "rita")).await.unwrap();

    let got = s
        .update_reseller(&a.id, &first.id, &ResellerPatch { balance: Some(0), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    let mut want = first.clone();
    want.balance = 0;
    assert_eq!(got, want);
    let got = s
        .update_reseller(
            &a.id,
            &first.id,
            &ResellerPatch { password_hash: Some("$argon2id$rotated".into()), balance: None },
        )
        .await
        .unwrap()
        .unwrap();
    want.password_hash = "$argon2id$rotated".into();
    assert_eq!(got, want);
    assert_eq!(
        s.update_reseller(&b.id, &first.id, &ResellerPatch { balance: Some(1_000_000), ..Default::default() })
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.get_reseller(&a.id, &first.id).await.unwrap(), Some(want.clone()));

    assert!(!s.delete_reseller(&b.id, &first.id).await.unwrap());
    assert!(s.delete_reseller(&a.id, &first.id).await.unwrap());
    assert!(!s.delete_reseller(&a.id, &first.id).await.unwrap());
    assert_eq!(s.list_resellers(&a.id).await.unwrap(), vec![second]);
}

pub async fn files<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let newer = file(&a.id, "loader.exe");
    let mut older = file(&a.id, "readme.txt");
    older.created_at = newer.created_at - Duration::minutes(1);
    older.size = 0;
    older.min_level = 0;
    s.create_file(&newer).await.unwrap();
    s.create_file(&older).await.unwrap();

    assert_eq!(s.get_file(&a.id, &newer.id).await.unwrap(), Some(newer.clone()));
    assert_eq!(s.get_file(&b.id, &newer.id).await.unwrap(), None);
    assert_eq!(s.list_files(&a.id).await.unwrap(), vec![older.clone(), newer.clone()]);
    assert!(s.list_files(&b.id).await.unwrap().is_empty());

    assert!(!s.delete_file(&b.id, &newer.id).await.unwrap());
    assert!(s.delete_file(&a.id, &newer.id).await.unwrap());
    assert!(!s.delete_file(&a.id, &newer.id).await.unwrap());
    assert_eq!(s.list_files(&a.id).await.unwrap(), vec![older]);
}

pub async fn webhooks<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let first = webhook(&a.id);
    let mut second = webhook(&a.id);
    second.created_at = first.created_at + Duration::seconds(1);
    second.events = Vec::new();
    second.enabled = false;
    s.create_webhook(&second).await.unwrap();
    s.create_webhook(&first).await.unwrap();

    assert_eq!(s.get_webhook(&a.id, &first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(s.get_webhook(&b.id, &first.id).await.unwrap(), None);
    assert_eq!(s.list_webhooks(&a.id).await.unwrap(), vec![first.clone(), second.clone()]);
    assert!(s.list_webhooks(&b.id).await.unwrap().is_empty());

    let got = s
        .update_webhook(
            &a.id,
            &first.id,
            &WebhookPatch { url: Some("https://new.example/hook".into()), ..Default::default() },
        )
        .await
        .unwrap()
        .unwrap();
    let mut want = first.clone();
    want.url = "https://new.example/hook".into();
    assert_eq!(got, want);
    let got = s
        .update_webhook(
            &a.id,
            &first.id,
            &WebhookPatch { url: None, events: Some(vec!["user.ban".into()]), enabled: Some(false) },
        )
        .await
        .unwrap()
        .unwrap();
    want.events = vec!["user.ban".into()];
    want.enabled = false;
    assert_eq!(got, want);
    let got = s
        .update_webhook(
            &a.id,
            &first.id,
            &WebhookPatch { events: Some(Vec::new()), enabled: Some(true), ..Default::default() },
        )
        .await
        .unwrap()
        .unwrap();
    want.events = Vec::new();
    want.enabled = true;
    assert_eq!(got, want);
    assert_eq!(
        s.update_webhook(&b.id, &first.id, &WebhookPatch { enabled: Some(false), ..Default::default() }).await.unwrap(),
        None
    );
    assert_eq!(s.get_webhook(&a.id, &first.id).await.unwrap(), Some(want.clone()));

    assert!(!s.delete_webhook(&b.id, &first.id).await.unwrap());
    assert!(s.delete_webhook(&a.id, &first.id).await.unwrap());
    assert!(!s.delete_webhook(&a.id, &first.id).await.unwrap());
    assert_eq!(s.list_webhooks(&a.id).await.unwrap(), vec![second]);
}

pub async fn logs_and_audit<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let (other_owner, b) = seller_with_app(s).await;
    let base = now() - Duration::hours(1);

    let mut logs = Vec::new();
    for i in 0..7i64 {
        // Two entries share each timestamp: the id breaks the tie.
        let mut e = log_entry(&a.id, &format!("message {i}"), base + Duration::seconds(i / 2));
        if i == 3 {
            e.user_id = None;
            e.username = None;
            e.ip = None;
            e.hwid = None;
        }
        s.append_log(&e).await.unwrap();
        logs.push(e);
    }
    s.append_log(&log_entry(&b.id, "elsewhere", base)).await.unwrap();
    let ordered = newest_first(&logs, |e| (e.created_at, e.id.clone()));
    let mut paged = Vec::new();
    for p in 1..=3 {
        let got = s.list_logs(&a.id, page(p, 3)).await.unwrap();
        assert_eq!(got.total, 7);
        paged.extend(got.items);
    }
    assert_eq!(paged, ordered);
    let beyond = s.list_logs(&a.id, page(9, 3)).await.unwrap();
    assert_eq!((beyond.items.len(), beyond.total), (0, 7));
    assert_eq!(s.list_logs(&b.id, page(1, 10)).await.unwrap().total, 1);

    let mut trail = Vec::new();
    for i in 0..5i64 {
        let mut e = audit_entry(&owner.id, &format!("license.create.{i}"), base + Duration::seconds(i % 3));
        if i == 0 {
            e.actor = "cli".into();
            e.target = None;
            e.app_id = None;
            e.ip = None;
        }
        s.append_audit(&e).await.unwrap();
        trail.push(e);
    }
    s.append_audit(&audit_entry(&other_owner.id, "app.delete", base)).await.unwrap();
    let ordered = newest_first(&trail, |e| (e.created_at, e.id.clone()));
    let mut paged = Vec::new();
    for p in 1..=3 {
        let got = s.list_audit(&owner.id, page(p, 2)).await.unwrap();
        assert_eq!(got.total, 5);
        assert_eq!(got.items.len(), if p < 3 { 2 } else { 1 });
        paged.extend(got.items);
    }
    assert_eq!(paged, ordered);
    assert_eq!(s.list_audit(&other_owner.id, page(1, 10)).await.unwrap().total, 1);
    assert_eq!(s.list_audit("seller_missing", page(1, 10)).await.unwrap().total, 0);
}

/// Every per-app read and write, given one app's object ids and another app's id, misses; and
/// an owner never reaches another owner's app.
pub async fn tenant_scope<S: Store>(s: &S) {
    let (owner_a, a) = seller_with_app(s).await;
    let (owner_b, b) = seller_with_app(s).await;
    let t = now();

    let u = stored_user(s, &a.id, "alice").await;
    let lic = license(&a.id, "SCOPE-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let sess = session(&a.id, Some(&u.id), t + Duration::hours(1));
    s.create_session(&sess).await.unwrap();
    s.create_variable(&variable(&a.id, "k")).await.unwrap();
    s.set_user_variable(&user_variable(&a.id, &u.id, "k")).await.unwrap();
    let bl = blacklist_entry(&a.id, BlacklistKind::Ip, "192.0.2.0/24");
    s.add_blacklist(&bl).await.unwrap();
    let rsl = reseller(&a.id, "rita");
    s.create_reseller(&rsl).await.unwrap();
    let f = file(&a.id, "x.bin");
    s.create_file(&f).await.unwrap();
    let wh = webhook(&a.id);
    s.create_webhook(&wh).await.unwrap();
    s.append_log(&log_entry(&a.id, "m", t)).await.unwrap();
    s.append_audit(&audit_entry(&owner_a.id, "a", t)).await.unwrap();

    // Apps through the wrong owner.
    assert_eq!(s.get_app(&owner_b.id, &a.id).await.unwrap(), None);
    assert_eq!(s.app_by_owner_and_name(&owner_b.id, &a.name).await.unwrap(), None);
    let mut stolen = a.clone();
    stolen.owner_id = owner_b.id.clone();
    assert_not_found(s.update_app(&stolen).await);
    assert!(!s.delete_app(&owner_b.id, &a.id).await.unwrap());
    assert!(s.list_apps(&owner_b.id).await.unwrap().iter().all(|(x, _)| x.id != a.id));

    // Everything under app A, addressed through app B.
    let x = &b.id;
    let all = page(1, 100);
    assert_eq!(s.get_license(x, &lic.id).await.unwrap(), None);
    assert_eq!(s.license_by_key(x, &lic.key).await.unwrap(), None);
    assert_eq!(
        s.set_license_status(x, &lic.id, LicenseStatus::Unused, LicenseStatus::Banned, None).await.unwrap(),
        None
    );
    assert_eq!(s.reset_license_devices(x, &lic.id).await.unwrap(), None);
    assert!(!s.delete_license(x, &lic.id).await.unwrap());
    assert_eq!(s.list_licenses(x, &LicenseFilter::default(), all).await.unwrap().total, 0);

    assert_eq!(s.get_user(x, &u.id).await.unwrap(), None);
    assert_eq!(s.user_by_username(x, &u.username).await.unwrap(), None);
    assert_eq!(s.update_user(x, &u.id, &UserPatch { level: Some(7), ..Default::default() }).await.unwrap(), None);
    assert_eq!(s.set_user_status(x, &u.id, UserStatus::Active, UserStatus::Banned, None).await.unwrap(), None);
    assert_eq!(s.reset_user_devices(x, &u.id).await.unwrap(), None);
    assert_eq!(s.extend_user(x, &u.id, 1, t).await.unwrap(), None);
    assert!(!s.delete_user(x, &u.id).await.unwrap());
    assert_eq!(s.list_users(x, &UserFilter::default(), all).await.unwrap().total, 0);
    assert_not_found(s.set_user_variable(&user_variable(x, &u.id, "k2")).await);
    assert_eq!(s.get_user_variable(x, &u.id, "k").await.unwrap(), None);
    assert!(s.list_user_variables(x, &u.id).await.unwrap().is_empty());
    assert!(!s.delete_user_variable(x, &u.id, "k").await.unwrap());

    assert_eq!(s.get_variable(x, "k").await.unwrap(), None);
    assert_eq!(
        s.update_variable(x, "k", &VariablePatch { value: Some("pwned".into()), ..Default::default() }, t)
            .await
            .unwrap(),
        None
    );
    assert!(!s.delete_variable(x, "k").await.unwrap());
    assert!(s.list_variables(x).await.unwrap().is_empty());

    assert!(!s.delete_blacklist(x, &bl.id).await.unwrap());
    assert!(s.list_blacklist(x).await.unwrap().is_empty());

    assert_eq!(s.session_by_token(x, &sess.token).await.unwrap(), None);
    assert!(!s.touch_session(x, &sess.id, t, None).await.unwrap());
    assert!(!s.delete_session(x, &sess.id).await.unwrap());
    assert_eq!(s.delete_app_sessions(x).await.unwrap(), 0);
    assert!(s.list_live_sessions(x, t).await.unwrap().is_empty());
    assert_eq!(s.count_live_sessions(x, t).await.unwrap(), 0);

    assert_eq!(s.get_reseller(x, &rsl.id).await.unwrap(), None);
    assert_eq!(s.reseller_by_username(x, &rsl.username).await.unwrap(), None);
    assert_eq!(
        s.update_reseller(x, &rsl.id, &ResellerPatch { balance: Some(9), ..Default::default() }).await.unwrap(),
        None
    );
    assert!(!s.delete_reseller(x, &rsl.id).await.unwrap());
    assert!(s.list_resellers(x).await.unwrap().is_empty());

    assert_eq!(s.get_file(x, &f.id).await.unwrap(), None);
    assert!(!s.delete_file(x, &f.id).await.unwrap());
    assert!(s.list_files(x).await.unwrap().is_empty());

    assert_eq!(s.get_webhook(x, &wh.id).await.unwrap(), None);
    assert_eq!(
        s.update_webhook(x, &wh.id, &WebhookPatch { enabled: Some(false), ..Default::default() }).await.unwrap(),
        None
    );
    assert!(!s.delete_webhook(x, &wh.id).await.unwrap());
    assert!(s.list_webhooks(x).await.unwrap().is_empty());

    assert_eq!(s.list_logs(x, all).await.unwrap().total, 0);
    assert_eq!(s.list_audit(&owner_b.id, all).await.unwrap().total, 0);

    // And everything under A is still there, unchanged.
    assert_eq!(s.get_app(&owner_a.id, &a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap(), Some(lic));
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), Some(sess));
    assert_eq!(s.get_variable(&a.id, "k").await.unwrap(), Some(s.list_variables(&a.id).await.unwrap()[0].clone()));
    assert_eq!(s.get_variable(&a.id, "k").await.unwrap().unwrap().value, "value of k");
    assert_eq!(s.list_user_variables(&a.id, &u.id).await.unwrap().len(), 1);
    assert_eq!(s.list_blacklist(&a.id).await.unwrap(), vec![bl]);
    assert_eq!(s.get_reseller(&a.id, &rsl.id).await.unwrap(), Some(rsl));
    assert_eq!(s.get_file(&a.id, &f.id).await.unwrap(), Some(f));
    assert_eq!(s.get_webhook(&a.id, &wh.id).await.unwrap(), Some(wh));
    assert_eq!(s.list_logs(&a.id, all).await.unwrap().total, 1);
    assert_eq!(s.list_audit(&owner_a.id, all).await.unwrap().total, 1);
}

/// Single-use and uniqueness under real concurrency: tasks start together behind a barrier.
pub async fn concurrency<S: Store>(s: Arc<S>) {
    const N: usize = 40;
    let (owner, a) = seller_with_app(s.as_ref()).await;
    let owner = owner.id;

    // One refresh token, 40 consumers: exactly one wins, nobody errors.
    let token = refresh_token(&owner, &"7".repeat(64), now() + Duration::days(1));
    s.insert_refresh_token(&token).await.unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let (s, barrier, hash) = (s.clone(), barrier.clone(), token.token_hash.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.consume_refresh_token(&hash, now()).await
            })
        })
        .collect();
    let mut winners = 0;
    for t in futures::future::join_all(tasks).await {
        match t.unwrap() {
            Ok(RefreshUse::Fresh { seller_id, .. }) => {
                assert_eq!(seller_id, owner);
                winners += 1;
            }
            Ok(RefreshUse::Reused { .. } | RefreshUse::Invalid) => {}
            Err(e) => panic!("consume_refresh_token failed under concurrency: {e:?}"),
        }
    }
    assert_eq!(winners, 1, "a refresh token is consumed exactly once");

    // One username (in any case), 40 registrations: exactly one is taken.
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier) = (s.clone(), barrier.clone());
            let name = if i % 2 == 0 { "Racer" } else { "rACER" };
            let u = user(&a.id, name);
            tokio::spawn(async move {
                barrier.wait().await;
                s.create_user(&u).await
            })
        })
        .collect();
    let (mut ok, mut conflicts) = (0, 0);
    for t in futures::future::join_all(tasks).await {
        match t.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict { constraint }) => {
                assert_eq!(constraint, constraint::USER_APP_USERNAME);
                conflicts += 1;
            }
            Err(e) => panic!("create_user failed under concurrency: {e:?}"),
        }
    }
    assert_eq!((ok, conflicts), (1, N - 1));
    assert_eq!(s.list_users(&a.id, &UserFilter::default(), page(1, 100)).await.unwrap().total, 1);

    // One key, 10 batches: exactly one batch lands.
    let barrier = Arc::new(Barrier::new(10));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (s, barrier) = (s.clone(), barrier.clone());
            let batch = vec![license(&a.id, &format!("RACE-OWN-{i}")), license(&a.id, "RACE-SHARED")];
            tokio::spawn(async move {
                barrier.wait().await;
                s.insert_licenses(&batch).await
            })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks).await.into_iter().map(|t| t.unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.into_iter().filter(|r| r.is_err()) {
        assert_conflict(r, constraint::LICENSE_APP_KEY);
    }
    assert_eq!(s.list_licenses(&a.id, &LicenseFilter::default(), page(1, 100)).await.unwrap().total, 2);

    // 20 concurrent one-day extensions add up to 20 days.
    let t = now();
    let mut sub = user(&a.id, "subscriber");
    sub.expires_at = Some(t + Duration::days(1));
    s.create_user(&sub).await.unwrap();
    let barrier = Arc::new(Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), sub.id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.extend_user(&app_id, &id, 1, t).await
            })
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        assert!(t.unwrap().unwrap().is_some());
    }
    assert_eq!(s.get_user(&a.id, &sub.id).await.unwrap().unwrap().expires_at, Some(t + Duration::days(21)));
}

/// A signing key with bytes a text encoding could get wrong (0x00, 0xff, a 60-byte blob).
pub fn signing_key(kid: &str, active: bool, created_at: Timestamp) -> SigningKey {
    let mut public_key = vec![0u8, 0xff, 0x80, 0x7f];
    public_key.resize(32, 0xa5);
    let mut private_key_enc: Vec<u8> = (0..60).map(|i| (i * 37 % 256) as u8).collect();
    private_key_enc[0] = 0;
    SigningKey { kid: kid.into(), public_key, private_key_enc, created_at, active }
}

/// Response-signing keys: at most one active, whoever inserts or activates concurrently.
pub async fn signing_keys<S: Store>(s: Arc<S>) {
    const N: usize = 20;
    let t0 = now() - Duration::hours(1);

    assert_eq!(s.active_signing_key().await.unwrap(), None);
    assert!(s.list_signing_keys().await.unwrap().is_empty());
    assert!(!s.activate_signing_key("k1").await.unwrap(), "no such key");
    assert!(s.list_signing_keys().await.unwrap().is_empty());

    // Nodes starting together on an empty database, each with its own new key: one wins.
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier) = (s.clone(), barrier.clone());
            let key = signing_key(&format!("race-{i:02}"), true, t0);
            tokio::spawn(async move {
                barrier.wait().await;
                (key.kid.clone(), s.insert_signing_key(&key).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in futures::future::join_all(tasks).await {
        match t.unwrap() {
            (kid, Ok(true)) => winners.push(kid),
            (_, Ok(false)) => {}
            (_, Err(e)) => panic!("insert_signing_key failed under concurrency: {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one active key is inserted: {winners:?}");
    let first = s.active_signing_key().await.unwrap().unwrap();
    assert_eq!(first, signing_key(&winners[0], true, t0), "every field round-trips");
    assert_eq!(s.list_signing_keys().await.unwrap(), vec![first.clone()]);

    // A taken kid is refused even for an inactive key, and nothing changes.
    assert!(!s.insert_signing_key(&signing_key(&first.kid, false, now())).await.unwrap());
    // A second active key is refused.
    assert!(!s.insert_signing_key(&signing_key("k-second-active", true, now())).await.unwrap());
    assert_eq!(s.list_signing_keys().await.unwrap(), vec![first.clone()]);

    // Rotation: insert inactive, then activate; the old key stays, inactive.
    let second = signing_key("k2", false, t0 + Duration::minutes(1));
    let third = signing_key("k3", false, t0 + Duration::minutes(2));
    assert!(s.insert_signing_key(&second).await.unwrap());
    assert!(s.insert_signing_key(&third).await.unwrap());
    assert_eq!(
        s.active_signing_key().await.unwrap().unwrap().kid,
        first.kid,
        "inserting inactive keys changes nothing"
    );
    assert!(s.activate_signing_key("k2").await.unwrap());
    let listed = s.list_signing_keys().await.unwrap();
    let kids: Vec<(&str, bool)> = listed.iter().map(|k| (k.kid.as_str(), k.active)).collect();
    assert_eq!(kids, vec![("k3", false), ("k2", true), (first.kid.as_str(), false)], "newest first");
    assert_eq!(s.active_signing_key().await.unwrap().unwrap(), SigningKey { active: true, ..second.clone() });

    // Activating the active key again, or an unknown one, keeps exactly that key active.
    assert!(s.activate_signing_key("k2").await.unwrap());
    assert!(!s.activate_signing_key("k-missing").await.unwrap());
    assert_eq!(s.active_signing_key().await.unwrap().unwrap().kid, "k2");
    assert_eq!(s.list_signing_keys().await.unwrap().iter().filter(|k| k.active).count(), 1);

    // Concurrent activations of different keys: all succeed, one key ends up active.
    let kids = [first.kid.clone(), "k2".to_owned(), "k3".to_owned()];
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier, kid) = (s.clone(), barrier.clone(), kids[i % kids.len()].clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.activate_signing_key(&kid).await
            })
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        assert!(t.unwrap().unwrap(), "activate_signing_key failed under concurrency");
    }
    let listed = s.list_signing_keys().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed.iter().filter(|k| k.active).count(), 1, "{listed:?}");
    let active = s.active_signing_key().await.unwrap().unwrap();
    assert!(listed.iter().any(|k| k.active && k.kid == active.kid));
}

// ---------------------------------------------------------------------------------------------
// The client API: redemption, device binding, logins, nonces, chats, device licenses.

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

/// Redeeming keys: first use, register and extend, each all or nothing, totals kept.
pub async fn redemption<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let b = app(&owner.id);
    s.create_app(&b).await.unwrap();
    let t = now();

    let mut k_act = license(&a.id, "RED-ACT");
    k_act.level = 3;
    k_act.max_devices = 2;
    let k_plain = license(&a.id, "RED-PLAIN");
    let mut k_reg = license(&a.id, "RED-REG");
    k_reg.level = 4;
    let k_free = license(&a.id, "RED-FREE");
    let mut k_ext = license(&a.id, "RED-EXT");
    k_ext.level = 5;
    let k_ext2 = license(&a.id, "RED-EXT2");
    let mut k_life = license(&a.id, "RED-LIFE");
    k_life.duration = DurationType::Lifetime;
    let k_never = license(&a.id, "RED-NEVER");
    let k_left = license(&a.id, "RED-LEFT");
    let mut k_banned = license(&a.id, "RED-BANNED");
    k_banned.status = LicenseStatus::Banned;
    let keys = [&k_act, &k_plain, &k_reg, &k_free, &k_ext, &k_ext2, &k_life, &k_never, &k_left, &k_banned];
    s.insert_licenses(&keys.iter().map(|l| (*l).clone()).collect::<Vec<_>>()).await.unwrap();
    let k_b = license(&b.id, "RED-B");
    s.insert_licenses(std::slice::from_ref(&k_b)).await.unwrap();
    totals_match(s, &a.id, "before any redemption").await;

    // First use by key login: UNUSED -> USED with no user, the activation written.
    let act =
        Activation { at: t, expires_at: Some(t + Duration::days(30)), device: Some("HWID-A".into()), session: None };
    let want = activated(&k_act, &act, None);
    assert_eq!(s.activate_license(&a.id, &k_act.id, &act).await.unwrap(), Some(want.clone()));
    assert_eq!(s.get_license(&a.id, &k_act.id).await.unwrap(), Some(want.clone()));
    // Only once: a second first use writes nothing.
    let later =
        Activation { at: t + Duration::minutes(1), expires_at: None, device: Some("HWID-Z".into()), session: None };
    assert_eq!(s.activate_license(&a.id, &k_act.id, &later).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_act.id).await.unwrap(), Some(want));
    // No device: the (empty) list stays; no expiry: a lifetime activation.
    let bare = Activation { at: t, expires_at: None, device: None, session: None };
    let got = s.activate_license(&a.id, &k_plain.id, &bare).await.unwrap().unwrap();
    assert_eq!(got, activated(&k_plain, &bare, None));
    assert!(got.devices.is_empty());
    // Not UNUSED, another app's, missing: nothing.
    assert_eq!(s.activate_license(&a.id, &k_banned.id, &act).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_banned.id).await.unwrap(), Some(k_banned.clone()));
    assert_eq!(s.activate_license(&b.id, &k_reg.id, &act).await.unwrap(), None);
    assert_eq!(s.activate_license(&a.id, &k_b.id, &act).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_reg.id).await.unwrap(), Some(k_reg.clone()));
    assert_eq!(s.get_license(&b.id, &k_b.id).await.unwrap(), Some(k_b.clone()));
    assert_eq!(s.activate_license(&a.id, "lic_missing", &act).await.unwrap(), None);
    totals_match(s, &a.id, "after activations").await;

    // Register: the user inserted and the key linked to them, in one go.
    let mut newbie = user(&a.id, "Newbie");
    newbie.level = 4;
    newbie.devices = vec!["HWID-R".into()];
    newbie.max_devices = 3;
    let reg =
        Activation { at: t, expires_at: Some(t + Duration::days(7)), device: Some("HWID-R".into()), session: None };
    assert_eq!(s.register_with_license(&newbie, &k_reg.id, &reg, None).await.unwrap(), RegisterOutcome::Registered);
    assert_eq!(s.get_user(&a.id, &newbie.id).await.unwrap(), Some(newbie.clone()));
    let reg_want = activated(&k_reg, &reg, Some(&newbie.id));
    assert_eq!(s.get_license(&a.id, &k_reg.id).await.unwrap(), Some(reg_want.clone()));
    totals_match(s, &a.id, "after a registration").await;

    // The key again, under another name: refused, and the other user is not created.
    let second = user(&a.id, "second");
    assert_eq!(s.register_with_license(&second, &k_reg.id, &reg, None).await.unwrap(), RegisterOutcome::LicenseTaken);
    assert_eq!(s.get_user(&a.id, &second.id).await.unwrap(), None);
    assert_eq!(s.user_by_username(&a.id, "second").await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_reg.id).await.unwrap(), Some(reg_want));
    // A key used by key login, a banned key, another app's key, a missing key: the same.
    for key_id in [&k_act.id, &k_banned.id, &k_b.id, &"lic_missing".to_owned()] {
        assert_eq!(
            s.register_with_license(&second, key_id, &reg, None).await.unwrap(),
            RegisterOutcome::LicenseTaken,
            "{key_id}"
        );
    }
    assert_eq!(s.user_by_username(&a.id, "second").await.unwrap(), None);
    // The name taken (in any case) with a good key: refused, and the key stays UNUSED.
    let dup = user(&a.id, "NEWBIE");
    assert_eq!(s.register_with_license(&dup, &k_free.id, &reg, None).await.unwrap(), RegisterOutcome::UsernameTaken);
    assert_eq!(s.get_user(&a.id, &dup.id).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_free.id).await.unwrap(), Some(k_free.clone()));
    // The user's app is the scope: a user of app B cannot take app A's key.
    let foreign = user(&b.id, "Newbie");
    assert_eq!(s.register_with_license(&foreign, &k_free.id, &reg, None).await.unwrap(), RegisterOutcome::LicenseTaken);
    assert_eq!(s.get_user(&b.id, &foreign.id).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_free.id).await.unwrap(), Some(k_free.clone()));
    totals_match(s, &a.id, "after refused registrations").await;
    assert_eq!(totals_match(s, &b.id, "the other app, after refused registrations").await.len(), 1);
    assert_eq!(s.list_users(&b.id, &UserFilter::default(), page(1, 10)).await.unwrap().total, 0);

    // Extend an active subscription: the key's time on top of the expiry, the higher level.
    let mut sub = user(&a.id, "sub");
    sub.level = 2;
    sub.expires_at = Some(t + Duration::days(10));
    s.create_user(&sub).await.unwrap();
    let ext = Activation { at: t, expires_at: Some(t + Duration::days(30)), device: None, session: None };
    let got = s.extend_with_license(&a.id, &sub.id, &k_ext.id, &ext, Some(30 * DAY_MS)).await.unwrap();
    let mut sub_want = sub.clone();
    sub_want.level = 5;
    sub_want.expires_at = Some(t + Duration::days(40));
    assert_eq!(got, Some(sub_want.clone()));
    assert_eq!(s.get_user(&a.id, &sub.id).await.unwrap(), Some(sub_want.clone()));
    assert_eq!(s.get_license(&a.id, &k_ext.id).await.unwrap(), Some(activated(&k_ext, &ext, Some(&sub.id))));
    // Only once.
    assert_eq!(s.extend_with_license(&a.id, &sub.id, &k_ext.id, &ext, Some(DAY_MS)).await.unwrap(), None);
    assert_eq!(s.get_user(&a.id, &sub.id).await.unwrap(), Some(sub_want.clone()));

    // A lapsed subscription starts again from now; a higher level is kept.
    let mut lapsed = user(&a.id, "lapsed");
    lapsed.level = 9;
    lapsed.expires_at = Some(t - Duration::days(3));
    s.create_user(&lapsed).await.unwrap();
    let got = s.extend_with_license(&a.id, &lapsed.id, &k_ext2.id, &ext, Some(DAY_MS)).await.unwrap().unwrap();
    assert_eq!((got.level, got.expires_at), (9, Some(t + Duration::days(1))));

    // A lifetime key: the subscription never ends from then on, and a timed key keeps it so.
    let life = Activation { at: t, expires_at: None, device: None, session: None };
    let got = s.extend_with_license(&a.id, &sub.id, &k_life.id, &life, None).await.unwrap().unwrap();
    assert_eq!((got.level, got.expires_at), (5, None));
    let got = s.extend_with_license(&a.id, &sub.id, &k_never.id, &ext, Some(DAY_MS)).await.unwrap().unwrap();
    assert_eq!((got.level, got.expires_at), (5, None));
    assert_eq!(s.get_license(&a.id, &k_never.id).await.unwrap().unwrap().user_id, Some(sub.id.clone()));

    // No such user in the app, or the key in another app: nothing, and the key stays UNUSED.
    let stranger = stored_user(s, &b.id, "stranger").await;
    for (app_id, user_id) in [(&a.id, &stranger.id), (&a.id, &"usr_missing".to_owned()), (&b.id, &sub.id)] {
        assert_eq!(s.extend_with_license(app_id, user_id, &k_left.id, &ext, Some(DAY_MS)).await.unwrap(), None);
    }
    assert_eq!(s.get_license(&a.id, &k_left.id).await.unwrap(), Some(k_left.clone()));
    assert_eq!(s.get_user(&b.id, &stranger.id).await.unwrap(), Some(stranger));
    assert_eq!(s.extend_with_license(&a.id, &sub.id, &k_banned.id, &ext, Some(DAY_MS)).await.unwrap(), None);
    let rows = totals_match(s, &a.id, "after extensions").await;
    let used = rows.iter().filter(|l| l.status == LicenseStatus::Used).count();
    assert_eq!(used, 7, "act, plain, reg, ext, ext2, life, never");
}

async fn license_devices<S: Store>(s: &S, app_id: &str, id: &str) -> Vec<String> {
    s.get_license(app_id, id).await.unwrap().unwrap().devices
}

/// Binding devices to licenses and users: known, added, refused at the limit, missing.
pub async fn device_binding<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;

    let mut lic = license(&a.id, "BIND-1");
    lic.devices = vec!["HWID-A".into()];
    lic.max_devices = 2;
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();

    assert_eq!(s.bind_license_device(&a.id, &lic.id, "HWID-A", 2).await.unwrap(), DeviceBinding::Known);
    // Device ids compare exactly.
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "hwid-a", 2).await.unwrap(), DeviceBinding::Added);
    assert_eq!(license_devices(s, &a.id, &lic.id).await, strs(&["HWID-A", "hwid-a"]));
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "HWID-C", 2).await.unwrap(), DeviceBinding::LimitReached);
    assert_eq!(license_devices(s, &a.id, &lic.id).await, strs(&["HWID-A", "hwid-a"]));
    // A known device is known even past a lower limit.
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "hwid-a", 1).await.unwrap(), DeviceBinding::Known);
    // The limit is the caller's.
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "HWID-C", 3).await.unwrap(), DeviceBinding::Added);
    assert_eq!(license_devices(s, &a.id, &lic.id).await, strs(&["HWID-A", "hwid-a", "HWID-C"]));
    assert_eq!(s.bind_license_device(&b.id, &lic.id, "HWID-D", 9).await.unwrap(), DeviceBinding::Missing);
    assert_eq!(s.bind_license_device(&a.id, "lic_missing", "HWID-D", 9).await.unwrap(), DeviceBinding::Missing);
    let mut want = lic.clone();
    want.devices = strs(&["HWID-A", "hwid-a", "HWID-C"]);
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap(), Some(want), "nothing else changes");
    // After a reset the first device binds again; a limit of 0 binds nothing.
    s.reset_license_devices(&a.id, &lic.id).await.unwrap().unwrap();
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "NEW", 0).await.unwrap(), DeviceBinding::LimitReached);
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "NEW", 1).await.unwrap(), DeviceBinding::Added);
    assert_eq!(license_devices(s, &a.id, &lic.id).await, strs(&["NEW"]));

    // The same for users.
    let u = stored_user(s, &a.id, "binder").await;
    assert_eq!(u.devices, strs(&["HWID-1", "hwid-2"]));
    assert_eq!(s.bind_user_device(&a.id, &u.id, "hwid-2", 2).await.unwrap(), DeviceBinding::Known);
    assert_eq!(s.bind_user_device(&a.id, &u.id, "HWID-3", 2).await.unwrap(), DeviceBinding::LimitReached);
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.bind_user_device(&a.id, &u.id, "HWID-3", 3).await.unwrap(), DeviceBinding::Added);
    assert_eq!(s.bind_user_device(&b.id, &u.id, "HWID-4", 9).await.unwrap(), DeviceBinding::Missing);
    assert_eq!(s.bind_user_device(&a.id, "usr_missing", "HWID-4", 9).await.unwrap(), DeviceBinding::Missing);
    let mut want = u.clone();
    want.devices.push("HWID-3".into());
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(want));
}

/// A login's writes: the user's last login, the session's link, device and expiry.
pub async fn logins<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();
    let u = stored_user(s, &a.id, "alice").await;

    s.record_login(&a.id, &u.id, Some("198.51.100.9"), t).await.unwrap();
    let mut want = u.clone();
    want.last_login = Some(t);
    want.last_ip = Some("198.51.100.9".into());
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(want.clone()));
    // No address: the last one is kept.
    s.record_login(&a.id, &u.id, None, t + Duration::seconds(1)).await.unwrap();
    want.last_login = Some(t + Duration::seconds(1));
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(want.clone()));
    // Another app's id, or no such user: nothing written, no error.
    s.record_login(&b.id, &u.id, Some("192.0.2.66"), t + Duration::seconds(2)).await.unwrap();
    s.record_login(&a.id, "usr_missing", None, t).await.unwrap();
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(want));

    // A token alone finds its session in any app, expired ones too.
    let live = session(&a.id, None, t + Duration::hours(1));
    let dead = session(&b.id, None, t - Duration::seconds(1));
    s.create_session(&live).await.unwrap();
    s.create_session(&dead).await.unwrap();
    assert_eq!(s.session_by_token_any(&live.token).await.unwrap(), Some(live.clone()));
    assert_eq!(s.session_by_token_any(&dead.token).await.unwrap(), Some(dead.clone()));
    assert_eq!(s.session_by_token_any(&ids::new_token()).await.unwrap(), None);
    assert_eq!(s.session_by_token_any(&live.token.to_uppercase()).await.unwrap(), None, "tokens compare exactly");

    // Binding: links set, device recorded, expiry moved forward only.
    let lic = license(&a.id, "LOGIN-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let mut sess = session(&a.id, None, t + Duration::hours(1));
    sess.hwid = None;
    s.create_session(&sess).await.unwrap();
    let day = t + Duration::hours(24);
    assert!(s.bind_session(&a.id, &sess.id, Some(&u.id), None, Some("HWID-9"), day).await.unwrap());
    let mut want = sess.clone();
    want.user_id = Some(u.id.clone());
    want.hwid = Some("HWID-9".into());
    want.expires_at = day;
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), Some(want.clone()));
    assert!(s.bind_session(&a.id, &sess.id, None, Some(&lic.id), None, t + Duration::hours(2)).await.unwrap());
    want.license_id = Some(lic.id.clone());
    assert_eq!(
        s.session_by_token(&a.id, &sess.token).await.unwrap(),
        Some(want.clone()),
        "None keeps a link and the device; an earlier expiry does not shorten"
    );
    // Never to another app's user or license, nor through another app's id.
    let stranger = stored_user(s, &b.id, "stranger").await;
    let foreign_lic = license(&b.id, "LOGIN-B");
    s.insert_licenses(std::slice::from_ref(&foreign_lic)).await.unwrap();
    let far = t + Duration::days(9);
    assert!(!s.bind_session(&a.id, &sess.id, Some(&stranger.id), None, Some("X"), far).await.unwrap());
    assert!(!s.bind_session(&a.id, &sess.id, None, Some(&foreign_lic.id), Some("X"), far).await.unwrap());
    assert!(!s.bind_session(&a.id, &sess.id, Some("usr_missing"), None, Some("X"), far).await.unwrap());
    assert!(!s.bind_session(&b.id, &sess.id, None, None, Some("X"), far).await.unwrap());
    assert!(!s.bind_session(&a.id, "sess_missing", None, None, Some("X"), far).await.unwrap());
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), Some(want));
}

/// Replay defence: a nonce is new once until it is purged.
pub async fn nonces<S: Store>(s: &S) {
    let t = now();
    assert!(s.remember_nonce("nonce-1", t + Duration::minutes(5)).await.unwrap());
    assert!(!s.remember_nonce("nonce-1", t + Duration::minutes(10)).await.unwrap(), "a replay");
    assert!(!s.remember_nonce("nonce-1", t - Duration::minutes(10)).await.unwrap(), "a replay");
    assert!(s.remember_nonce("NONCE-1", t + Duration::minutes(5)).await.unwrap(), "nonces compare exactly");
    assert!(s.remember_nonce("old", t - Duration::seconds(1)).await.unwrap());
    assert!(s.remember_nonce("edge", t).await.unwrap());

    // Purging forgets the windows that ended before `now`, and only those.
    assert_eq!(s.purge_nonces(t).await.unwrap(), 1);
    assert!(s.remember_nonce("old", t + Duration::minutes(5)).await.unwrap(), "forgotten, so new again");
    assert!(!s.remember_nonce("edge", t + Duration::minutes(5)).await.unwrap(), "still remembered");
    assert!(!s.remember_nonce("nonce-1", t).await.unwrap());
    assert_eq!(s.purge_nonces(t).await.unwrap(), 0);
    assert_eq!(s.purge_nonces(t + Duration::hours(1)).await.unwrap(), 4);
    assert!(s.remember_nonce("nonce-1", t + Duration::minutes(5)).await.unwrap());
}

/// Channels, messages (newest first, by cursor) and mutes, scoped by app.
pub async fn chats<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();

    let mut general = chat_channel(&a.id, "General");
    general.created_at = t - Duration::hours(2);
    let lower = chat_channel(&a.id, "general");
    s.create_channel(&lower).await.unwrap();
    s.create_channel(&general).await.unwrap();
    let b_general = chat_channel(&b.id, "General");
    s.create_channel(&b_general).await.unwrap();
    assert_conflict(s.create_channel(&chat_channel(&a.id, "General")).await, constraint::CHAT_CHANNEL_APP_NAME);
    assert!(s.create_channel(&chat_channel("app_missing", "x")).await.is_err(), "a channel needs an app");

    assert_eq!(s.list_channels(&a.id).await.unwrap(), vec![general.clone(), lower.clone()], "oldest first");
    assert_eq!(s.list_channels(&b.id).await.unwrap(), vec![b_general.clone()]);
    assert_eq!(s.get_channel(&a.id, &general.id).await.unwrap(), Some(general.clone()));
    assert_eq!(s.get_channel(&b.id, &general.id).await.unwrap(), None);
    assert_eq!(s.channel_by_name(&a.id, "General").await.unwrap(), Some(general.clone()));
    assert_eq!(s.channel_by_name(&a.id, "general").await.unwrap(), Some(lower.clone()));
    assert_eq!(s.channel_by_name(&a.id, "GENERAL").await.unwrap(), None, "names compare exactly");
    assert_eq!(s.channel_by_name(&b.id, "general").await.unwrap(), None);

    // 25 messages, three to a millisecond so the id decides most of the order; ids that differ
    // in case only sort by bytes.
    let base = t - Duration::minutes(30);
    let mut msgs: Vec<ChatMessage> = (0..25)
        .map(|i| {
            let mut m = chat_message(&a.id, &general.id, &format!("hello {i}"), base + Duration::milliseconds(i / 3));
            if i % 4 == 0 {
                m.user_id = None;
                m.username = "former user".into();
            }
            m
        })
        .collect();
    for (i, id) in ["msg_Zed", "msg_alpha", "msg_Alpha", "msg__x"].iter().enumerate() {
        let mut m = chat_message(&a.id, &general.id, &format!("tie {i}"), base + Duration::milliseconds(4));
        m.id = (*id).to_owned();
        msgs.push(m);
    }
    for m in &msgs {
        s.post_message(m).await.unwrap();
    }
    let lower_msg = chat_message(&a.id, &lower.id, "elsewhere", t);
    s.post_message(&lower_msg).await.unwrap();
    s.post_message(&chat_message(&b.id, &b_general.id, "other app", t)).await.unwrap();
    // Never into another app's channel or a missing one.
    assert_not_found(s.post_message(&chat_message(&a.id, &b_general.id, "x", t)).await);
    assert_not_found(s.post_message(&chat_message(&b.id, &general.id, "x", t)).await);
    assert_not_found(s.post_message(&chat_message(&a.id, "chan_missing", "x", t)).await);

    let ordered = newest_first(&msgs, |m| (m.created_at, m.id.clone()));
    assert_eq!(s.list_messages(&a.id, &general.id, None, 100).await.unwrap(), ordered);
    assert_eq!(s.list_messages(&a.id, &general.id, None, 3).await.unwrap(), ordered[..3].to_vec());
    for limit in [1, 4, 7, 100] {
        let mut walked: Vec<ChatMessage> = Vec::new();
        let mut cursor: Option<MessageCursor> = None;
        loop {
            let got = s.list_messages(&a.id, &general.id, cursor.as_ref(), limit).await.unwrap();
            assert!(got.len() <= limit as usize);
            let Some(last) = got.last() else { break };
            cursor = Some(MessageCursor { created_at: last.created_at, id: last.id.clone() });
            walked.extend(got);
            assert!(walked.len() <= ordered.len(), "limit {limit}: the walk does not end");
        }
        assert_eq!(walked, ordered, "limit {limit}: by cursor");
    }
    // A tie on created_at: only smaller ids come after.
    let tie = MessageCursor { created_at: base + Duration::milliseconds(4), id: "msg_Zed".into() };
    let want: Vec<ChatMessage> =
        ordered.iter().filter(|m| (m.created_at, m.id.as_str()) < (tie.created_at, tie.id.as_str())).cloned().collect();
    let got = s.list_messages(&a.id, &general.id, Some(&tie), 100).await.unwrap();
    assert_eq!(got, want);
    assert!(got.iter().all(|m| m.id != "msg_alpha" && m.id != "msg__x"), "lowercase sorts after Z");
    let future = MessageCursor { created_at: t + Duration::days(1), id: String::new() };
    assert_eq!(s.list_messages(&a.id, &general.id, Some(&future), 100).await.unwrap(), ordered);
    assert_eq!(s.list_messages(&a.id, &lower.id, None, 100).await.unwrap(), vec![lower_msg.clone()]);
    assert!(s.list_messages(&b.id, &general.id, None, 100).await.unwrap().is_empty());

    // Mutes: insert or replace, scoped by app on the channel and the user.
    let alice = stored_user(s, &a.id, "alice").await;
    let bob = stored_user(s, &a.id, "bob").await;
    let stranger = stored_user(s, &b.id, "stranger").await;
    let m_alice = chat_mute(&a.id, &general.id, &alice.id);
    let mut m_bob = chat_mute(&a.id, &general.id, &bob.id);
    m_bob.reason = None;
    m_bob.until = None;
    m_bob.created_at = m_alice.created_at + Duration::minutes(1);
    s.mute_user(&m_alice).await.unwrap();
    s.mute_user(&m_bob).await.unwrap();
    assert_eq!(s.get_mute(&a.id, &general.id, &alice.id).await.unwrap(), Some(m_alice.clone()));
    assert_eq!(s.get_mute(&a.id, &general.id, &bob.id).await.unwrap(), Some(m_bob.clone()));
    assert_eq!(s.get_mute(&a.id, &lower.id, &alice.id).await.unwrap(), None);
    assert_eq!(s.list_mutes(&a.id, &general.id).await.unwrap(), vec![m_alice.clone(), m_bob.clone()]);
    let again = ChatMute { reason: Some("again".into()), until: None, created_at: t, ..m_alice.clone() };
    s.mute_user(&again).await.unwrap();
    assert_eq!(s.get_mute(&a.id, &general.id, &alice.id).await.unwrap(), Some(again.clone()));
    assert_eq!(s.list_mutes(&a.id, &general.id).await.unwrap(), vec![m_bob.clone(), again.clone()]);
    assert_not_found(s.mute_user(&chat_mute(&b.id, &general.id, &alice.id)).await);
    assert_not_found(s.mute_user(&chat_mute(&a.id, &general.id, &stranger.id)).await);
    assert_not_found(s.mute_user(&chat_mute(&a.id, &b_general.id, &alice.id)).await);
    assert_not_found(s.mute_user(&chat_mute(&a.id, &general.id, "usr_missing")).await);
    assert_eq!(s.get_mute(&b.id, &general.id, &alice.id).await.unwrap(), None);
    assert!(s.list_mutes(&b.id, &general.id).await.unwrap().is_empty());
    assert!(s.list_mutes(&b.id, &b_general.id).await.unwrap().is_empty());
    assert!(!s.unmute_user(&b.id, &general.id, &alice.id).await.unwrap());
    assert!(s.unmute_user(&a.id, &general.id, &alice.id).await.unwrap());
    assert!(!s.unmute_user(&a.id, &general.id, &alice.id).await.unwrap());
    assert_eq!(s.list_mutes(&a.id, &general.id).await.unwrap(), vec![m_bob.clone()]);

    // Deleting a user takes their mutes and leaves their messages.
    s.mute_user(&chat_mute(&a.id, &lower.id, &bob.id)).await.unwrap();
    let mut by_bob = chat_message(&a.id, &lower.id, "bye", t + Duration::seconds(1));
    by_bob.user_id = Some(bob.id.clone());
    s.post_message(&by_bob).await.unwrap();
    assert!(s.delete_user(&a.id, &bob.id).await.unwrap());
    assert!(s.list_mutes(&a.id, &lower.id).await.unwrap().is_empty());
    assert!(s.list_mutes(&a.id, &general.id).await.unwrap().is_empty());
    assert_eq!(s.list_messages(&a.id, &lower.id, None, 10).await.unwrap(), vec![by_bob, lower_msg.clone()]);

    // Deleting a channel takes its messages and mutes; scoped.
    s.mute_user(&m_alice).await.unwrap();
    assert!(!s.delete_channel(&b.id, &general.id).await.unwrap());
    assert!(s.delete_channel(&a.id, &general.id).await.unwrap());
    assert!(!s.delete_channel(&a.id, &general.id).await.unwrap());
    assert_eq!(s.get_channel(&a.id, &general.id).await.unwrap(), None);
    assert!(s.list_messages(&a.id, &general.id, None, 100).await.unwrap().is_empty());
    assert!(s.list_mutes(&a.id, &general.id).await.unwrap().is_empty());
    assert_eq!(s.list_channels(&a.id).await.unwrap(), vec![lower.clone()]);
    assert_eq!(s.list_messages(&a.id, &lower.id, None, 10).await.unwrap().len(), 2);
    assert_eq!(s.list_messages(&b.id, &b_general.id, None, 10).await.unwrap().len(), 1);
    // The name is free again.
    s.create_channel(&chat_channel(&a.id, "General")).await.unwrap();
}

/// Device licenses: round trip, uniqueness per app and device, listing, every write, scoped.
pub async fn device_licenses<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();

    let mut full = device_license(&a.id, DeviceType::Motherboard, "MB-0001");
    full.status = LicenseStatus::Used;
    full.ban_reason = Some("kept".into());
    full.activated_at = Some(t - Duration::minutes(30));
    full.last_login = Some(t - Duration::minutes(3));
    full.last_ip = Some("203.0.113.8".into());
    full.hwid = Some("HWID-M".into());
    let mut bare = device_license(&a.id, DeviceType::Processor, "CPU-0001");
    bare.name = None;
    bare.email = None;
    bare.note = None;
    bare.expires_at = None;
    bare.level = 0;
    s.create_device_license(&full).await.unwrap();
    s.create_device_license(&bare).await.unwrap();
    for d in [&full, &bare] {
        assert_eq!(s.get_device_license(&a.id, &d.id).await.unwrap(), Some(d.clone()));
        assert_eq!(s.get_device_license(&b.id, &d.id).await.unwrap(), None);
        assert_eq!(s.device_license_by_device(&a.id, d.device_type, &d.device_id).await.unwrap(), Some(d.clone()));
        assert_eq!(s.device_license_by_device(&b.id, d.device_type, &d.device_id).await.unwrap(), None);
    }
    assert_eq!(s.device_license_by_device(&a.id, DeviceType::Processor, "MB-0001").await.unwrap(), None);
    assert_eq!(s.device_license_by_device(&a.id, DeviceType::Motherboard, "mb-0001").await.unwrap(), None);
    assert_eq!(s.get_device_license(&a.id, "dev_missing").await.unwrap(), None);

    // Unique per app, type and id.
    let dup = device_license(&a.id, DeviceType::Motherboard, "MB-0001");
    assert_conflict(s.create_device_license(&dup).await, constraint::DEVICE_LICENSE_APP_DEVICE);
    s.create_device_license(&device_license(&a.id, DeviceType::Processor, "MB-0001")).await.unwrap();
    s.create_device_license(&device_license(&b.id, DeviceType::Motherboard, "MB-0001")).await.unwrap();

    // Listing: newest first, the id breaking ties, pages joining up.
    let list_app = app(&a.owner_id);
    s.create_app(&list_app).await.unwrap();
    let base = t - Duration::hours(3);
    let all: Vec<DeviceLicense> = (0..7)
        .map(|i| {
            let mut d = device_license(&list_app.id, DeviceType::Motherboard, &format!("LIST-{i}"));
            d.created_at = base + Duration::seconds(i / 2);
            d
        })
        .collect();
    for d in &all {
        s.create_device_license(d).await.unwrap();
    }
    let ordered = newest_first(&all, |d| (d.created_at, d.id.clone()));
    let mut paged = Vec::new();
    for p in 1..=3 {
        let got = s.list_device_licenses(&list_app.id, page(p, 3)).await.unwrap();
        assert_eq!(got.total, 7);
        paged.extend(got.items);
    }
    assert_eq!(paged, ordered);
    assert_eq!(s.list_device_licenses(&b.id, page(1, 100)).await.unwrap().total, 1);

    // Update: each field written or left; `Some(None)` clears.
    let patch =
        DeviceLicensePatch { name: Some(Some("Renamed".into())), email: Some(None), level: Some(7), note: None };
    let got = s.update_device_license(&a.id, &full.id, &patch).await.unwrap();
    let mut want = full.clone();
    want.name = Some("Renamed".into());
    want.email = None;
    want.level = 7;
    assert_eq!(got, Some(want.clone()));
    let got = s.update_device_license(&a.id, &full.id, &DeviceLicensePatch::default()).await.unwrap();
    assert_eq!(got, Some(want.clone()));
    let patch = DeviceLicensePatch { note: Some(None), ..Default::default() };
    want.note = None;
    assert_eq!(s.update_device_license(&a.id, &full.id, &patch).await.unwrap(), Some(want.clone()));
    let patch = DeviceLicensePatch { level: Some(99), ..Default::default() };
    assert_eq!(s.update_device_license(&b.id, &full.id, &patch).await.unwrap(), None);
    assert_eq!(s.get_device_license(&a.id, &full.id).await.unwrap(), Some(want.clone()));

    // Status: a reason only when banning.
    let got = s
        .set_device_license_status(&a.id, &full.id, LicenseStatus::Used, LicenseStatus::Banned, Some("fraud"))
        .await
        .unwrap();
    want.status = LicenseStatus::Banned;
    want.ban_reason = Some("fraud".into());
    assert_eq!(got, Some(want.clone()));
    let got = s
        .set_device_license_status(&a.id, &full.id, LicenseStatus::Banned, LicenseStatus::Paused, Some("ignored"))
        .await
        .unwrap();
    want.status = LicenseStatus::Paused;
    want.ban_reason = None;
    assert_eq!(got, Some(want.clone()));
    assert_eq!(
        s.set_device_license_status(&b.id, &full.id, LicenseStatus::Paused, LicenseStatus::Banned, None).await.unwrap(),
        None
    );
    assert_eq!(s.get_device_license(&a.id, &full.id).await.unwrap(), Some(want.clone()));

    // Extend: from the expiry while it is ahead, from now once it has passed; never stays never.
    let got = s.extend_device_license(&a.id, &full.id, 2, t).await.unwrap().unwrap();
    assert_eq!(got.expires_at, Some(full.expires_at.unwrap() + Duration::days(2)));
    let mut lapsed = device_license(&a.id, DeviceType::Processor, "CPU-LAPSED");
    lapsed.expires_at = Some(t - Duration::days(5));
    s.create_device_license(&lapsed).await.unwrap();
    let got = s.extend_device_license(&a.id, &lapsed.id, 3, t).await.unwrap().unwrap();
    assert_eq!(got, DeviceLicense { expires_at: Some(t + Duration::days(3)), ..lapsed.clone() });
    let got = s.extend_device_license(&a.id, &bare.id, 3, t).await.unwrap().unwrap();
    assert_eq!(got, bare);
    assert_eq!(s.extend_device_license(&b.id, &lapsed.id, 3, t).await.unwrap(), None);
    assert_eq!(s.extend_device_license(&a.id, "dev_missing", 3, t).await.unwrap(), None);

    // Logins: the first turns UNUSED into USED and stamps the activation; later ones do not.
    let first = t + Duration::seconds(1);
    let got = s.record_device_login(&a.id, &bare.id, Some("198.51.100.1"), Some("HW-1"), first).await.unwrap();
    let mut want_bare = bare.clone();
    want_bare.status = LicenseStatus::Used;
    want_bare.activated_at = Some(first);
    want_bare.last_login = Some(first);
    want_bare.last_ip = Some("198.51.100.1".into());
    want_bare.hwid = Some("HW-1".into());
    assert_eq!(got, Some(want_bare.clone()));
    let second = t + Duration::seconds(2);
    let got = s.record_device_login(&a.id, &bare.id, None, Some("HW-2"), second).await.unwrap();
    want_bare.last_login = Some(second);
    want_bare.hwid = Some("HW-2".into());
    assert_eq!(got, Some(want_bare.clone()));
    assert_eq!(s.get_device_license(&a.id, &bare.id).await.unwrap(), Some(want_bare.clone()));
    // Any other status stays as it is.
    let got = s.record_device_login(&a.id, &full.id, Some("192.0.2.5"), None, second).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.activated_at, got.last_login),
        (LicenseStatus::Paused, full.activated_at, Some(second))
    );
    assert_eq!(s.record_device_login(&b.id, &bare.id, None, None, second).await.unwrap(), None);
    assert_eq!(s.record_device_login(&a.id, "dev_missing", None, None, second).await.unwrap(), None);

    // Delete, scoped; the device is free again.
    assert!(!s.delete_device_license(&b.id, &bare.id).await.unwrap());
    assert!(s.delete_device_license(&a.id, &bare.id).await.unwrap());
    assert!(!s.delete_device_license(&a.id, &bare.id).await.unwrap());
    assert_eq!(s.get_device_license(&a.id, &bare.id).await.unwrap(), None);
    s.create_device_license(&device_license(&a.id, DeviceType::Processor, "CPU-0001")).await.unwrap();
}

/// The client API's per-app reads and writes, given one app's object ids and another app's id,
/// miss and change nothing.
pub async fn client_tenant_scope<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();
    let u = stored_user(s, &a.id, "alice").await;
    let lic = license(&a.id, "CSCOPE-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let sess = session(&a.id, None, t + Duration::hours(1));
    s.create_session(&sess).await.unwrap();
    let chan = chat_channel(&a.id, "lobby");
    s.create_channel(&chan).await.unwrap();
    let msg = chat_message(&a.id, &chan.id, "hi", t);
    s.post_message(&msg).await.unwrap();
    let mute = chat_mute(&a.id, &chan.id, &u.id);
    s.mute_user(&mute).await.unwrap();
    let dev = device_license(&a.id, DeviceType::Motherboard, "MB-SCOPE");
    s.create_device_license(&dev).await.unwrap();

    let x = &b.id;
    let act = Activation { at: t, expires_at: None, device: Some("X".into()), session: None };
    assert_eq!(s.activate_license(x, &lic.id, &act).await.unwrap(), None);
    assert_eq!(s.extend_with_license(x, &u.id, &lic.id, &act, Some(DAY_MS)).await.unwrap(), None);
    assert_eq!(s.bind_license_device(x, &lic.id, "X", 9).await.unwrap(), DeviceBinding::Missing);
    assert_eq!(s.bind_user_device(x, &u.id, "X", 9).await.unwrap(), DeviceBinding::Missing);
    s.record_login(x, &u.id, Some("192.0.2.1"), t).await.unwrap();
    assert!(!s.bind_session(x, &sess.id, None, None, Some("X"), t + Duration::days(3)).await.unwrap());

    assert!(s.list_channels(x).await.unwrap().is_empty());
    assert_eq!(s.get_channel(x, &chan.id).await.unwrap(), None);
    assert_eq!(s.channel_by_name(x, &chan.name).await.unwrap(), None);
    assert!(!s.delete_channel(x, &chan.id).await.unwrap());
    assert_not_found(s.mute_user(&ChatMute { app_id: x.clone(), ..mute.clone() }).await);
    assert!(!s.unmute_user(x, &chan.id, &u.id).await.unwrap());
    assert!(s.list_mutes(x, &chan.id).await.unwrap().is_empty());
    assert_eq!(s.get_mute(x, &chan.id, &u.id).await.unwrap(), None);
    assert_not_found(s.post_message(&ChatMessage { app_id: x.clone(), ..chat_message(x, &chan.id, "m", t) }).await);
    assert!(s.list_messages(x, &chan.id, None, 100).await.unwrap().is_empty());

    assert_eq!(s.list_device_licenses(x, page(1, 100)).await.unwrap().total, 0);
    assert_eq!(s.get_device_license(x, &dev.id).await.unwrap(), None);
    assert_eq!(s.device_license_by_device(x, dev.device_type, &dev.device_id).await.unwrap(), None);
    let patch = DeviceLicensePatch { level: Some(9), ..Default::default() };
    assert_eq!(s.update_device_license(x, &dev.id, &patch).await.unwrap(), None);
    assert_eq!(
        s.set_device_license_status(x, &dev.id, LicenseStatus::Unused, LicenseStatus::Banned, None).await.unwrap(),
        None
    );
    assert_eq!(s.extend_device_license(x, &dev.id, 9, t).await.unwrap(), None);
    assert_eq!(s.record_device_login(x, &dev.id, None, Some("X"), t).await.unwrap(), None);
    assert!(!s.delete_device_license(x, &dev.id).await.unwrap());

    // Everything under A is unchanged.
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap(), Some(lic));
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), Some(sess));
    assert_eq!(s.list_channels(&a.id).await.unwrap(), vec![chan.clone()]);
    assert_eq!(s.list_messages(&a.id, &chan.id, None, 10).await.unwrap(), vec![msg]);
    assert_eq!(s.get_mute(&a.id, &chan.id, &u.id).await.unwrap(), Some(mute));
    assert_eq!(s.get_device_license(&a.id, &dev.id).await.unwrap(), Some(dev));
    assert_eq!(totals_match(s, &a.id, "after the scoped misses").await.len(), 1);
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

/// Redemption under real concurrency: a key is consumed once, a name taken once, a nonce new once,
/// a device list never past its limit.
pub async fn redemption_concurrency<S: Store>(s: Arc<S>) {
    const N: usize = 40;
    let (owner, _) = seller_with_app(s.as_ref()).await;
    let fresh_app = || {
        let s = s.clone();
        let owner_id = owner.id.clone();
        async move {
            let a = app(&owner_id);
            s.create_app(&a).await.unwrap();
            a
        }
    };
    let t = now();
    let act = Activation { at: t, expires_at: Some(t + Duration::days(30)), device: None, session: None };

    // One key, 40 registrations under 40 names: one registers, the rest find the key taken.
    let a = fresh_app().await;
    let key = license(&a.id, "RACE-REG");
    s.insert_licenses(std::slice::from_ref(&key)).await.unwrap();
    let users: Vec<User> = (0..N).map(|i| user(&a.id, &format!("racer{i:02}"))).collect();
    let results = race(&s, N, |s, i| {
        let (u, key_id, act) = (users[i].clone(), key.id.clone(), act.clone());
        async move { s.register_with_license(&u, &key_id, &act, None).await }
    })
    .await;
    let mut winners = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(RegisterOutcome::Registered) => winners.push(i),
            Ok(RegisterOutcome::LicenseTaken) => {}
            other => panic!("register_with_license under concurrency: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "one key registers one user: {winners:?}");
    let listed = s.list_users(&a.id, &UserFilter::default(), page(1, 100)).await.unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items, vec![users[winners[0]].clone()]);
    let got = s.get_license(&a.id, &key.id).await.unwrap().unwrap();
    assert_eq!((got.status, got.user_id), (LicenseStatus::Used, Some(users[winners[0]].id.clone())));
    totals_match(s.as_ref(), &a.id, "after 40 registrations on one key").await;

    // One name (in any case), 40 keys: one registers, the rest find the name taken, and only the
    // winner's key is used.
    let a = fresh_app().await;
    let keys: Vec<License> = (0..N).map(|i| license(&a.id, &format!("RACE-NAME-{i:02}"))).collect();
    s.insert_licenses(&keys).await.unwrap();
    let results = race(&s, N, |s, i| {
        let u = user(&a.id, if i % 2 == 0 { "Taken" } else { "tAKEN" });
        let (key_id, act) = (keys[i].id.clone(), act.clone());
        async move { (u.id.clone(), s.register_with_license(&u, &key_id, &act, None).await) }
    })
    .await;
    let mut winners = Vec::new();
    for (i, (user_id, r)) in results.into_iter().enumerate() {
        match r {
            Ok(RegisterOutcome::Registered) => winners.push((i, user_id)),
            Ok(RegisterOutcome::UsernameTaken) => {}
            other => panic!("register_with_license under concurrency: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "one name is taken once");
    let (won, winner_id) = winners.pop().unwrap();
    assert_eq!(s.list_users(&a.id, &UserFilter::default(), page(1, 100)).await.unwrap().total, 1);
    for (i, k) in keys.iter().enumerate() {
        let got = s.get_license(&a.id, &k.id).await.unwrap().unwrap();
        if i == won {
            assert_eq!((got.status, got.user_id), (LicenseStatus::Used, Some(winner_id.clone())));
        } else {
            assert_eq!(got, k.clone(), "a refused registration leaves its key as it was");
        }
    }
    let rows = totals_match(s.as_ref(), &a.id, "after 40 registrations of one name").await;
    assert_eq!(rows.iter().filter(|l| l.status == LicenseStatus::Unused).count(), N - 1);
    let used = LicenseFilter { status: Some(LicenseStatus::Used), ..Default::default() };
    assert_eq!(s.list_licenses(&a.id, &used, page(1, 1)).await.unwrap().total, 1);

    // One key, 40 first uses by key login: one activates it.
    let a = fresh_app().await;
    let key = license(&a.id, "RACE-ACT");
    s.insert_licenses(std::slice::from_ref(&key)).await.unwrap();
    let results = race(&s, N, |s, i| {
        let (app_id, key_id) = (a.id.clone(), key.id.clone());
        let act = Activation { device: Some(format!("HWID-{i:02}")), ..act.clone() };
        async move { s.activate_license(&app_id, &key_id, &act).await.unwrap() }
    })
    .await;
    let won: Vec<License> = results.into_iter().flatten().collect();
    assert_eq!(won.len(), 1, "a key is activated once");
    assert_eq!(s.get_license(&a.id, &key.id).await.unwrap(), Some(won[0].clone()));
    assert_eq!(won[0].devices.len(), 1);
    totals_match(s.as_ref(), &a.id, "after 40 activations of one key").await;

    // One nonce, 40 requests: one is new.
    let results =
        race(&s, N, |s, _| async move { s.remember_nonce("race-nonce", t + Duration::minutes(5)).await }).await;
    let new = results.into_iter().map(|r| r.unwrap()).filter(|fresh| *fresh).count();
    assert_eq!(new, 1, "a nonce is new once");

    // 20 devices at once onto a license and a user allowing 3: exactly 3 bound.
    let a = fresh_app().await;
    let key = license(&a.id, "RACE-BIND");
    s.insert_licenses(std::slice::from_ref(&key)).await.unwrap();
    let mut binder = user(&a.id, "binder");
    binder.devices = Vec::new();
    s.create_user(&binder).await.unwrap();
    let results = race(&s, 40, |s, i| {
        let (app_id, key_id, user_id) = (a.id.clone(), key.id.clone(), binder.id.clone());
        async move {
            let device = format!("DEV-{:02}", i / 2);
            if i.is_multiple_of(2) {
                (device.clone(), s.bind_license_device(&app_id, &key_id, &device, 3).await.unwrap())
            } else {
                (device.clone(), s.bind_user_device(&app_id, &user_id, &device, 3).await.unwrap())
            }
        }
    })
    .await;
    let (on_license, on_user): (Vec<_>, Vec<_>) = results.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    for (what, results, mut bound) in [
        ("license", on_license, s.get_license(&a.id, &key.id).await.unwrap().unwrap().devices),
        ("user", on_user, s.get_user(&a.id, &binder.id).await.unwrap().unwrap().devices),
    ] {
        let mut added: Vec<String> = Vec::new();
        for (_, (device, outcome)) in results {
            match outcome {
                DeviceBinding::Added => added.push(device),
                DeviceBinding::LimitReached => {}
                other => panic!("{what}: unexpected {other:?}"),
            }
        }
        added.sort();
        bound.sort();
        assert_eq!(added.len(), 3, "{what}: exactly the limit is added");
        assert_eq!(bound, added, "{what}: the list holds exactly the added devices");
    }

    // One key, 10 extensions of one user: one lands, and the time is added once.
    let a = fresh_app().await;
    let key = license(&a.id, "RACE-EXT");
    s.insert_licenses(std::slice::from_ref(&key)).await.unwrap();
    let mut sub = user(&a.id, "subscriber");
    sub.expires_at = Some(t + Duration::days(10));
    s.create_user(&sub).await.unwrap();
    let results = race(&s, 10, |s, _| {
        let (app_id, user_id, key_id, act) = (a.id.clone(), sub.id.clone(), key.id.clone(), act.clone());
        async move { s.extend_with_license(&app_id, &user_id, &key_id, &act, Some(30 * DAY_MS)).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().flatten().count(), 1, "a key extends once");
    let got = s.get_user(&a.id, &sub.id).await.unwrap().unwrap();
    assert_eq!(got.expires_at, Some(t + Duration::days(40)));

    // 10 keys extending one user at once: every one lands and no time is lost.
    let keys: Vec<License> = (0..10).map(|i| license(&a.id, &format!("RACE-EXT-{i}"))).collect();
    s.insert_licenses(&keys).await.unwrap();
    let results = race(&s, 10, |s, i| {
        let (app_id, user_id, key_id, act) = (a.id.clone(), sub.id.clone(), keys[i].id.clone(), act.clone());
        async move { s.extend_with_license(&app_id, &user_id, &key_id, &act, Some(DAY_MS)).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().flatten().count(), 10);
    let got = s.get_user(&a.id, &sub.id).await.unwrap().unwrap();
    assert_eq!(got.expires_at, Some(t + Duration::days(50)));
    let rows = totals_match(s.as_ref(), &a.id, "after concurrent extensions").await;
    assert!(rows.iter().all(|l| l.status == LicenseStatus::Used && l.user_id.as_deref() == Some(sub.id.as_str())));
}

/// Quotas hold under concurrency: 20 capped session creates with room for 3 create 3, and 20
/// registers into an app capped at 4 users register 4 and consume 4 keys.
pub async fn quota_concurrency<S: Store>(s: Arc<S>) {
    const N: usize = 20;
    let (_, a) = seller_with_app(s.as_ref()).await;
    let t = now();
    // One live session and one expired one already: the expired one does not count.
    s.create_session(&session(&a.id, None, t + Duration::hours(1))).await.unwrap();
    s.create_session(&session(&a.id, None, t - Duration::hours(1))).await.unwrap();
    let results = race(&s, N, |s, _| {
        let (sess, t) = (session(&a.id, None, t + Duration::hours(24)), t);
        async move { s.create_session_capped(&sess, 4, t).await }
    })
    .await;
    let created = results.into_iter().map(|r| r.unwrap()).filter(|c| *c).count();
    assert_eq!(created, 3, "room for 3 under a quota of 4 with 1 live");
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 4);

    let keys: Vec<License> = (0..N).map(|i| license(&a.id, &format!("QUOTA-{i:02}"))).collect();
    s.insert_licenses(&keys).await.unwrap();
    let act = Activation { at: t, expires_at: None, device: None, session: None };
    let results = race(&s, N, |s, i| {
        let (u, key_id, act) = (user(&a.id, &format!("quota{i:02}")), keys[i].id.clone(), act.clone());
        async move { s.register_with_license(&u, &key_id, &act, Some(4)).await }
    })
    .await;
    let mut registered = 0;
    for r in results {
        match r.unwrap() {
            RegisterOutcome::Registered => registered += 1,
            RegisterOutcome::QuotaReached => {}
            other => panic!("register under a quota: {other:?}"),
        }
    }
    assert_eq!(registered, 4);
    let users = s.list_users(&a.id, &UserFilter::default(), page(1, 100)).await.unwrap();
    assert_eq!(users.total, 4);
    let used = LicenseFilter { status: Some(LicenseStatus::Used), ..LicenseFilter::default() };
    assert_eq!(s.list_licenses(&a.id, &used, page(1, 100)).await.unwrap().total, 4, "refused registers consume no key");
}

/// A redemption signs the caller's session in inside its own transaction: both or neither.
pub async fn redemption_signs_in<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();
    let (k_reg, k_act, k_gone) = (license(&a.id, "SIGN-REG"), license(&a.id, "SIGN-ACT"), license(&a.id, "SIGN-GONE"));
    s.insert_licenses(&[k_reg.clone(), k_act.clone(), k_gone.clone()]).await.unwrap();
    let live = session(&a.id, None, t + Duration::minutes(5));
    s.create_session(&live).await.unwrap();
    let other_app = session(&b.id, None, t + Duration::minutes(5));
    s.create_session(&other_app).await.unwrap();
    let later = t + Duration::hours(1);
    let link = |id: &str| SessionLink { session_id: id.into(), hwid: Some("HWID-S".into()), expires_at: later };

    // Register: the user exists, the key is theirs and the session is signed in as them.
    let u = user(&a.id, "signer");
    let reg = Activation { at: t, expires_at: None, device: None, session: Some(link(&live.id)) };
    assert_eq!(s.register_with_license(&u, &k_reg.id, &reg, None).await.unwrap(), RegisterOutcome::Registered);
    let got = s.session_by_token(&a.id, &live.token).await.unwrap().unwrap();
    assert_eq!(
        (got.user_id.as_deref(), got.hwid.as_deref(), got.expires_at),
        (Some(u.id.as_str()), Some("HWID-S"), later)
    );

    // A session that is gone, or another app's: nothing is written, the key stays UNUSED.
    for sid in ["ses_missing", other_app.id.as_str()] {
        let late = user(&a.id, &format!("late-{sid}"));
        let act = Activation { at: t, expires_at: None, device: None, session: Some(link(sid)) };
        assert_eq!(s.register_with_license(&late, &k_gone.id, &act, None).await.unwrap(), RegisterOutcome::SessionGone);
        assert_eq!(s.get_user(&a.id, &late.id).await.unwrap(), None);
        assert_eq!(s.get_license(&a.id, &k_gone.id).await.unwrap(), Some(k_gone.clone()));
        assert_not_found(s.activate_license(&a.id, &k_gone.id, &act).await);
        assert_eq!(s.get_license(&a.id, &k_gone.id).await.unwrap(), Some(k_gone.clone()));
    }
    assert_eq!(s.session_by_token(&b.id, &other_app.token).await.unwrap(), Some(other_app.clone()));

    // Key login's first use: the license is used and the session is the license's.
    let keyed = session(&a.id, None, t + Duration::minutes(5));
    s.create_session(&keyed).await.unwrap();
    let act = Activation { at: t, expires_at: None, device: None, session: Some(link(&keyed.id)) };
    let used = s.activate_license(&a.id, &k_act.id, &act).await.unwrap().unwrap();
    assert_eq!(used.status, LicenseStatus::Used);
    let got = s.session_by_token(&a.id, &keyed.token).await.unwrap().unwrap();
    assert_eq!((got.license_id.as_deref(), got.expires_at), (Some(k_act.id.as_str()), later));
    totals_match(s, &a.id, "after redemptions that sign in").await;
}

/// Usernames are unique, and found, by their look-alike key (NFKC, case, confusables).
pub async fn username_keys<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let good = stored_user(s, &a.id, "gooduser").await;
    for alike in ["GoodUser", "\u{ff47}ooduser", "g\u{43e}\u{43e}duser", "g00duser"] {
        assert_conflict(s.create_user(&user(&a.id, alike)).await, constraint::USER_APP_USERNAME);
        // ... and each finds the one account, shown as it was typed.
        let found = s.user_by_username(&a.id, alike).await.unwrap().unwrap();
        assert_eq!((found.id.as_str(), found.username.as_str()), (good.id.as_str(), "gooduser"), "{alike}");
    }
    // Another app may have its own.
    stored_user(s, &b.id, "g\u{43e}\u{43e}duser").await;
    assert!(s.user_by_username(&a.id, "gooduser2").await.unwrap().is_none());

    // The same for resellers.
    let r = reseller(&a.id, "Seller1");
    s.create_reseller(&r).await.unwrap();
    assert_conflict(s.create_reseller(&reseller(&a.id, "sellerl")).await, constraint::RESELLER_APP_USERNAME);
    assert_conflict(s.create_reseller(&reseller(&a.id, "\u{ff33}eller1")).await, constraint::RESELLER_APP_USERNAME);
    assert_eq!(s.reseller_by_username(&a.id, "SELLER1").await.unwrap().map(|x| x.id), Some(r.id.clone()));
    s.create_reseller(&reseller(&b.id, "seller1")).await.unwrap();
}

/// Status changes are conditional on the status they were decided from: of 20 admins who all
/// read the same status and race to ban or pause, exactly one writes, and the counts, the
/// sessions and the stored row agree with that one.
pub async fn status_races<S: Store>(s: Arc<S>) {
    const N: usize = 20;
    let (_, a) = seller_with_app(s.as_ref()).await;
    let later = now() + Duration::hours(1);
    // The action of racer `i`: even ones ban (with their number as the reason), odd ones pause.
    fn wanted(i: usize) -> (LicenseStatus, Option<String>) {
        if i.is_multiple_of(2) {
            (LicenseStatus::Banned, Some(format!("racer {i}")))
        } else {
            (LicenseStatus::Paused, None)
        }
    }

    // A license, with a session that either change ends.
    let lic = license(&a.id, "RACE-LIC-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let mut sess = session(&a.id, None, later);
    sess.license_id = Some(lic.id.clone());
    s.create_session(&sess).await.unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), lic.id.clone());
            tokio::spawn(async move {
                let (to, reason) = wanted(i);
                barrier.wait().await;
                (i, s.set_license_status(&app_id, &id, LicenseStatus::Unused, to, reason.as_deref()).await.unwrap())
            })
        })
        .collect();
    let winners: Vec<(usize, License)> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .filter_map(|t| {
            let (i, got) = t.unwrap();
            got.map(|l| (i, l))
        })
        .collect();
    assert_eq!(winners.len(), 1, "exactly one license status change wins: {winners:?}");
    let (i, won) = &winners[0];
    let (to, reason) = wanted(*i);
    assert_eq!((won.status, won.ban_reason.clone()), (to, reason));
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap().as_ref(), Some(won));
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), None);
    let rows = totals_match(s.as_ref(), &a.id, "after racing status changes").await;
    assert_eq!(rows.len(), 1);

    // A user, likewise.
    let u = stored_user(s.as_ref(), &a.id, "racer").await;
    let us = session(&a.id, Some(&u.id), later);
    s.create_session(&us).await.unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), u.id.clone());
            tokio::spawn(async move {
                let (to, reason) = match wanted(i) {
                    (LicenseStatus::Banned, reason) => (UserStatus::Banned, reason),
                    _ => (UserStatus::Paused, None),
                };
                barrier.wait().await;
                s.set_user_status(&app_id, &id, UserStatus::Active, to, reason.as_deref()).await.unwrap()
            })
        })
        .collect();
    let winners: Vec<User> = futures::future::join_all(tasks).await.into_iter().filter_map(|t| t.unwrap()).collect();
    assert_eq!(winners.len(), 1, "exactly one user status change wins: {winners:?}");
    assert_ne!(winners[0].status, UserStatus::Active);
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap().as_ref(), Some(&winners[0]));
    assert_eq!(s.session_by_token(&a.id, &us.token).await.unwrap(), None);

    // A device license, likewise.
    let dev = device_license(&a.id, DeviceType::Processor, "CPU-RACE");
    s.create_device_license(&dev).await.unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), dev.id.clone());
            tokio::spawn(async move {
                let (to, reason) = wanted(i);
                barrier.wait().await;
                s.set_device_license_status(&app_id, &id, LicenseStatus::Unused, to, reason.as_deref()).await.unwrap()
            })
        })
        .collect();
    let winners: Vec<DeviceLicense> =
        futures::future::join_all(tasks).await.into_iter().filter_map(|t| t.unwrap()).collect();
    assert_eq!(winners.len(), 1, "exactly one device license status change wins: {winners:?}");
    assert_eq!(s.get_device_license(&a.id, &dev.id).await.unwrap().as_ref(), Some(&winners[0]));

    // Racers that read again and decide again when they lose: bans and pauses from `UNUSED`,
    // each retried from the status it finds, by the admin rule (a ban replaces anything; a
    // pause of a banned license is refused; a pause of a paused one changes nothing). Whatever
    // the order, the license ends banned, and the counts follow every step.
    let lic = license(&a.id, "RACE-LIC-2");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), lic.id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                loop {
                    let from = s.get_license(&app_id, &id).await.unwrap().unwrap().status;
                    let to = match (i % 2, from) {
                        (0, _) => LicenseStatus::Banned,
                        (_, LicenseStatus::Banned | LicenseStatus::Paused) => return,
                        _ => LicenseStatus::Paused,
                    };
                    if s.set_license_status(&app_id, &id, from, to, None).await.unwrap().is_some() {
                        return;
                    }
                }
            })
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        t.unwrap();
    }
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap().unwrap().status, LicenseStatus::Banned);
    let rows = totals_match(s.as_ref(), &a.id, "after racing, re-deciding status changes").await;
    assert_eq!(rows.len(), 2);
}
