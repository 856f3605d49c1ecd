//! Accounts and keys: register, login, license login, extend, change password.

use std::time::Instant;

use tollgate_core::events::{Event, Origin};
use tollgate_core::ids::{self, prefix};
use tollgate_core::model::{BlacklistKind, License, User, UserStatus};
use tollgate_core::redeem::{self, DeviceCheck, KeyLogin};
use tollgate_core::throttle::{Attempt, AttemptKeys};
use tollgate_core::time::now;
use tollgate_core::{validate, DomainError};
use tollgate_store::{Activation, DeviceBinding, RegisterOutcome, SessionLink, UserPatch};

use super::{blacklisted, hash_password, session_expiry, store_err, verify_password, Live};
use crate::state::AppState;

/// A device id as clients send it (`hwid` / `sid`): at most 256 characters.
fn device(field: &str, hwid: Option<&str>) -> Result<Option<String>, DomainError> {
    match hwid.map(str::trim).filter(|h| !h.is_empty()) {
        None => Ok(None),
        Some(h) => validate::text(field, h, 256).map(Some),
    }
}

/// A blacklisted device or username refuses every account operation.
fn check_blacklists(live: &Live, username: Option<&str>, hwid: Option<&str>) -> Result<(), DomainError> {
    if let Some(h) = hwid {
        if blacklisted(&live.app, BlacklistKind::Hwid, h).is_some() {
            return Err(DomainError::HwidBlocked);
        }
    }
    if let Some(u) = username {
        if let Some(reason) = blacklisted(&live.app, BlacklistKind::Username, u) {
            return Err(DomainError::UserBanned { reason });
        }
    }
    Ok(())
}

pub struct RegisterRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub key: &'a str,
    pub email: Option<&'a str>,
    pub hwid: Option<&'a str>,
}

/// Register: a new account paid for by an unused key, both written in one transaction.
pub async fn register(
    state: &AppState,
    live: &Live,
    req: &RegisterRequest<'_>,
) -> Result<(User, License), DomainError> {
    let app = &live.app.app;
    let username = validate::new_username("username", req.username)?;
    validate::user_password("password", req.password)?;
    let email = match req.email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(validate::email("email", e)?),
        None => None,
    };
    let hwid = device("hwid", req.hwid)?;
    check_blacklists(live, Some(&username), hwid.as_deref())?;

    let store = state.store.as_ref();
    let at = now();
    let license = store.license_by_key(&app.id, req.key.trim()).await.map_err(store_err)?;
    let license = redeem::check_redeemable(license.as_ref(), at)?.clone();
    // Cheap refusals before the deliberately slow hash; the transaction below is what decides.
    if store.user_by_username(&app.id, &username).await.map_err(store_err)?.is_some() {
        return Err(DomainError::UsernameTaken);
    }
    let password_hash = hash_password(state, req.password.to_owned()).await?;

    let at = now();
    let expires_at = redeem::expiry_at_activation(&license, at);
    let bound = if app.settings.hwid_lock { hwid.clone() } else { None };
    let user = User {
        note: None,
        id: ids::new_id(prefix::USER),
        app_id: app.id.clone(),
        username,
        password_hash,
        email,
        level: license.level,
        expires_at,
        devices: bound.iter().cloned().collect(),
        max_devices: license.max_devices.max(1),
        last_ip: live.session.ip.clone(),
        status: UserStatus::Active,
        ban_reason: None,
        last_login: Some(at),
        created_at: at,
    };
    // The session is signed in by the same transaction that redeems the key: no answer can
    // follow a redemption that did not also sign the caller in, or the other way round.
    let activation = Activation { at, expires_at, device: bound, session: Some(session_link(live, hwid.as_deref())) };
    let quota = app.settings.accounts_quota;
    // Queued by the same transaction: a register that is rolled back (lost the key, the name,
    // the quota) sends nothing.
    let ip = live.ip_text();
    let origin = Origin { ip: Some(&ip), hwid: hwid.as_deref() };
    let mut events = vec![
        Event::user_register(&user, Some(&license), origin, at),
        Event::license_activate(&license, expires_at, Some(&user), origin, at),
    ];
    events.extend(live.owed_session_event(hwid.as_deref(), at));
    match store.register_with_license(&user, &license.id, &activation, quota, &events).await.map_err(store_err)? {
        RegisterOutcome::Registered => {}
        RegisterOutcome::QuotaReached => return Err(DomainError::AccountsQuotaExceeded),
        RegisterOutcome::UsernameTaken => return Err(DomainError::UsernameTaken),
        // Killed by an admin while we worked; nothing was written.
        RegisterOutcome::SessionGone => return Err(DomainError::InvalidSession),
        RegisterOutcome::LicenseTaken => {
            // Lost the race for the key: judge it again as it is now (in use, banned, ...).
            let now_license = store.license_by_key(&app.id, &license.key).await.map_err(store_err)?;
            redeem::check_redeemable(now_license.as_ref(), now())?;
            return Err(DomainError::LicenseInUse);
        }
    }
    let license = License {
        status: tollgate_core::model::LicenseStatus::Used,
        activated_at: Some(at),
        expires_at,
        user_id: Some(user.id.clone()),
        devices: user.devices.clone(),
        ..license
    };
    Ok((user, license))
}

/// The caller's session, to be signed in by a redemption's own transaction.
fn session_link(live: &Live, hwid: Option<&str>) -> SessionLink {
    SessionLink {
        session_id: live.session.id.clone(),
        hwid: hwid.map(str::to_owned),
        expires_at: session_expiry(now()),
    }
}

/// Attach the session to the signed-in user or key and extend it by a full lifetime.
async fn bind(
    state: &AppState,
    live: &Live,
    user_id: Option<&str>,
    license_id: Option<&str>,
    hwid: Option<&str>,
) -> Result<(), DomainError> {
    let s = &live.session;
    let ok = state
        .store
        .bind_session(&s.app_id, &s.id, user_id, license_id, hwid, session_expiry(now()))
        .await
        .map_err(store_err)?;
    if !ok {
        // Killed by an admin while we worked.
        return Err(DomainError::InvalidSession);
    }
    Ok(())
}

pub struct LoginRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub hwid: Option<&'a str>,
}

/// Throttle keys: the account (per app, by the username's look-alike key, since every look-alike
/// spelling reaches the same account) and the address (per app).
fn throttle_keys(live: &Live, username: &str, ip: std::net::IpAddr) -> AttemptKeys {
    let app = &live.app.app.id;
    AttemptKeys {
        account: format!("{app}\u{0}user\u{0}{}", tollgate_core::username::key(username)),
        address: format!("{app}\u{0}ip\u{0}{ip}"),
    }
}

/// Reserve a password attempt before the check (see `tollgate_core::throttle`), and wait the
/// delay the account has earned from failures across addresses, holding no argon2 slot.
async fn reserve_attempt(state: &AppState, keys: AttemptKeys) -> Result<Attempt<'_>, DomainError> {
    let attempt = state
        .login_throttle
        .reserve(keys, Instant::now())
        .map_err(|retry_after_secs| DomainError::RateLimited { retry_after_secs })?;
    if !attempt.delay().is_zero() {
        tokio::time::sleep(attempt.delay()).await;
    }
    Ok(attempt)
}

/// Login: password, account state, device binding; the session is then the user's.
pub async fn login(
    state: &AppState,
    live: &Live,
    ip: std::net::IpAddr,
    req: &LoginRequest<'_>,
) -> Result<User, DomainError> {
    let app = &live.app.app;
    let username = validate::username("username", req.username)?;
    validate::user_password("password", req.password)?;
    let hwid = device("sid", req.hwid)?;
    if super::ip_blacklisted(&live.app, ip) {
        return Err(DomainError::IpBlocked);
    }
    check_blacklists(live, Some(&username), hwid.as_deref())?;

    // Attempts are counted before the password is checked: per account and address, per
    // address, and slowed down per account across addresses.
    let attempt = reserve_attempt(state, throttle_keys(live, &username, ip)).await?;

    let store = state.store.as_ref();
    let user = store.user_by_username(&app.id, &username).await.map_err(store_err)?;
    let Some(user) = user else {
        // Same cost as a real check, so timing does not add to what the error already says.
        verify_password(state, req.password.to_owned(), tollgate_core::password::dummy_hash().to_owned()).await?;
        attempt.failed();
        return Err(DomainError::UserNotFound);
    };
    if !verify_password(state, req.password.to_owned(), user.password_hash.clone()).await? {
        attempt.failed();
        return Err(DomainError::InvalidPassword);
    }
    attempt.succeeded();
    // The state of the account only after the password: a stranger learns nothing of it.
    let at = now();
    redeem::check_user(&user, at)?;
    let mut user = user;
    match redeem::check_device(app.settings.hwid_lock, &user.devices, user.max_devices, hwid.as_deref())? {
        DeviceCheck::Skip | DeviceCheck::Known => {}
        DeviceCheck::Bind => {
            let device = hwid.as_deref().unwrap_or_default();
            match store.bind_user_device(&app.id, &user.id, device, user.max_devices).await.map_err(store_err)? {
                DeviceBinding::Added => user.devices.push(device.to_owned()),
                DeviceBinding::Known => {}
                DeviceBinding::LimitReached => return Err(DomainError::DeviceLimitReached),
                DeviceBinding::Missing => return Err(DomainError::UserNotFound),
            }
        }
    }
    let ip_text = ip.to_string();
    let origin = Origin { ip: Some(&ip_text), hwid: hwid.as_deref() };
    let mut events = vec![Event::user_login(&user, origin, at)];
    events.extend(live.owed_session_event(hwid.as_deref(), at));
    store.record_login(&app.id, &user.id, Some(&ip_text), at, &events).await.map_err(store_err)?;
    user.last_login = Some(at);
    user.last_ip = Some(ip_text);
    bind(state, live, Some(&user.id), None, hwid.as_deref()).await?;
    Ok(user)
}

/// License login with the key alone: the first use activates it, later ones sign in again on a
/// bound device.
pub async fn license_login(
    state: &AppState,
    live: &Live,
    key: &str,
    hwid: Option<&str>,
) -> Result<License, DomainError> {
    let app = &live.app.app;
    let key = validate::nonempty_text("license_key", key, 256)?;
    let hwid = device("sid", hwid)?;
    check_blacklists(live, None, hwid.as_deref())?;
    let store = state.store.as_ref();
    let ip = live.ip_text();
    let origin = Origin { ip: Some(&ip), hwid: hwid.as_deref() };
    // Two tries: a first use that loses the race to another first use signs in as a resume.
    for _ in 0..2 {
        let at = now();
        let found = store.license_by_key(&app.id, &key).await.map_err(store_err)?;
        let decision = match redeem::check_key_login(found.as_ref(), at) {
            Ok(decision) => decision,
            Err(e) => {
                if let Some(license) = &found {
                    super::record_expiry(state, license, at).await;
                }
                return Err(e);
            }
        };
        let Some(license) = found else { return Err(DomainError::LicenseNotFound) };
        match decision {
            KeyLogin::Activate => {
                let bound = if app.settings.hwid_lock { hwid.clone() } else { None };
                let expires_at = redeem::expiry_at_activation(&license, at);
                let session = Some(session_link(live, hwid.as_deref()));
                let activation = Activation { at, expires_at, device: bound, session };
                let mut events = vec![Event::license_activate(&license, expires_at, None, origin, at)];
                events.extend(live.owed_session_event(hwid.as_deref(), at));
                match store.activate_license(&app.id, &license.id, &activation, &events).await {
                    Ok(Some(license)) => return Ok(license),
                    Ok(None) => {}
                    // The session was killed meanwhile; nothing was written.
                    Err(tollgate_store::StoreError::NotFound) => return Err(DomainError::InvalidSession),
                    Err(e) => return Err(store_err(e)),
                }
            }
            KeyLogin::Resume => {
                let mut license = license;
                match redeem::check_device(
                    app.settings.hwid_lock,
                    &license.devices,
                    license.max_devices,
                    hwid.as_deref(),
                )? {
                    DeviceCheck::Skip | DeviceCheck::Known => {}
                    DeviceCheck::Bind => {
                        let device = hwid.as_deref().unwrap_or_default();
                        match store
                            .bind_license_device(&app.id, &license.id, device, license.max_devices)
                            .await
                            .map_err(store_err)?
                        {
                            DeviceBinding::Added => license.devices.push(device.to_owned()),
                            DeviceBinding::Known => {}
                            DeviceBinding::LimitReached => return Err(DomainError::DeviceLimitReached),
                            DeviceBinding::Missing => return Err(DomainError::LicenseNotFound),
                        }
                    }
                }
                bind(state, live, None, Some(&license.id), hwid.as_deref()).await?;
                // A sign-in that writes no event of its own still owes its new session's.
                if let Some(event) = live.owed_session_event(hwid.as_deref(), at) {
                    store.emit(&[event]).await.map_err(store_err)?;
                }
                return Ok(license);
            }
        }
    }
    Err(DomainError::LicenseInUse)
}

pub struct ExtendRequest<'a> {
    pub username: &'a str,
    pub key: &'a str,
    pub hwid: Option<&'a str>,
}

pub struct Extended {
    pub user: User,
    pub license: License,
    /// `None` for a lifetime key.
    pub added_seconds: Option<i64>,
}

/// Extend: redeem an unused key onto an existing account, adding its time.
pub async fn extend(state: &AppState, live: &Live, req: &ExtendRequest<'_>) -> Result<Extended, DomainError> {
    let app = &live.app.app;
    let username = validate::username("username", req.username)?;
    let key = validate::nonempty_text("license_key", req.key, 256)?;
    let hwid = device("sid", req.hwid)?;
    check_blacklists(live, Some(&username), hwid.as_deref())?;
    let store = state.store.as_ref();
    let user = store.user_by_username(&app.id, &username).await.map_err(store_err)?.ok_or(DomainError::UserNotFound)?;
    redeem::check_user_standing(&user)?;
    let at = now();
    let found = store.license_by_key(&app.id, &key).await.map_err(store_err)?;
    let license = redeem::check_redeemable(found.as_ref(), at)?.clone();
    let span = license.duration.span();
    let activation =
        Activation { at, expires_at: redeem::expiry_at_activation(&license, at), device: None, session: None };
    let add_ms = span.map(|s| s.num_milliseconds());
    let ip = live.ip_text();
    let origin = Origin { ip: Some(&ip), hwid: hwid.as_deref() };
    let events = [Event::license_activate(&license, activation.expires_at, Some(&user), origin, at)];
    let Some(user) = store
        .extend_with_license(&app.id, &user.id, &license.id, &activation, add_ms, &events)
        .await
        .map_err(store_err)?
    else {
        let again = store.license_by_key(&app.id, &key).await.map_err(store_err)?;
        redeem::check_redeemable(again.as_ref(), now())?;
        return Err(DomainError::UserNotFound);
    };
    let license = License {
        status: tollgate_core::model::LicenseStatus::Used,
        activated_at: Some(at),
        expires_at: activation.expires_at,
        user_id: Some(user.id.clone()),
        ..license
    };
    Ok(Extended { user, license, added_seconds: span.map(|s| s.num_seconds()) })
}

/// Change password of the session's user.
pub async fn change_password(
    state: &AppState,
    live: &Live,
    ip: std::net::IpAddr,
    old: &str,
    new: &str,
) -> Result<(), DomainError> {
    let app = &live.app.app;
    if !app.settings.allow_password_change {
        return Err(DomainError::PasswordChangeUnavailable);
    }
    let user_id = live.session.user_id.as_deref().ok_or(DomainError::UserNotFound)?;
    validate::user_password("old_password", old)?;
    validate::user_password("new_password", new)?;
    let store = state.store.as_ref();
    let user = store.get_user(&app.id, user_id).await.map_err(store_err)?.ok_or(DomainError::UserNotFound)?;
    redeem::check_user_standing(&user)?;
    let keys = AttemptKeys {
        account: format!("{}\u{0}pw\u{0}{}", app.id, user.id),
        address: format!("{}\u{0}ip\u{0}{ip}", app.id),
    };
    let attempt = reserve_attempt(state, keys).await?;
    if !verify_password(state, old.to_owned(), user.password_hash.clone()).await? {
        attempt.failed();
        return Err(DomainError::InvalidPassword);
    }
    attempt.succeeded();
    if old == new {
        return Err(DomainError::PasswordReused);
    }
    let password_hash = hash_password(state, new.to_owned()).await?;
    let patch = UserPatch { password_hash: Some(password_hash), ..UserPatch::default() };
    store.update_user(&app.id, &user.id, &patch).await.map_err(store_err)?.ok_or(DomainError::UserNotFound)?;
    Ok(())
}
