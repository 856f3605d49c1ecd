//! Accounts and keys: register, login, license login, extend, change password.

use std::time::Instant;

use tollgate_core::events::{Event, Origin};
use tollgate_core::ids::{self, prefix};
use tollgate_core::model::{BlacklistKind, License, User, UserStatus};
use tollgate_core::redeem::{self, DeviceCheck, KeyLogin};
use tollgate_core::throttle::{Attempt, AttemptKeys};
use tollgate_core::time::now;
use tollgate_core::{validate, DomainError};
use tollgate_store::{Activation, DeviceBinding, RegisterOutcome, SessionLink, UnlicensedSignup, UserPatch};

use super::{blacklisted, hash_password, session_expiry, store_err, verify_password, Live};
use crate::state::AppState;
use tollgate_store::kind;

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
    /// The account's note, as the client gave it.
    pub note: Option<&'a str>,
    /// Sign the caller's session in as the new account (Authly, Authon); Blazeauth's create
    /// account leaves the connection as it was.
    pub sign_in: bool,
}

/// A note given by a client: trimmed, blank is none, at most the length a note may have.
fn note(note: Option<&str>) -> Result<Option<String>, DomainError> {
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) => validate::text("note", n, tollgate_core::license::MAX_NOTE_LEN).map(Some),
    }
}

/// Register: a new account paid for by an unused key, both written in one transaction.
pub async fn register(
    state: &AppState,
    live: &Live,
    req: &RegisterRequest<'_>,
) -> Result<(User, License), DomainError> {
    let outcome = register_inner(state, live, req).await;
    state.activity.note(&live.app.app.id, live.dialect, live.ip, kind::REGISTER, &outcome);
    outcome
}

// The call itself; the public function notes its outcome for the overview.
async fn register_inner(
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
    let note = note(req.note)?;
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
        note,
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
    let session = req.sign_in.then(|| session_link(live, hwid.as_deref()));
    let activation = Activation { at, expires_at, device: bound, session };
    let quota = app.settings.accounts_quota;
    // Queued by the same transaction: a register that is rolled back (lost the key, the name,
    // the quota) sends nothing.
    let ip = live.ip_text();
    let origin = Origin { ip: Some(&ip), hwid: hwid.as_deref() };
    let mut events = vec![
        Event::user_register(&user, Some(&license), origin, at),
        Event::license_activate(&license, expires_at, Some(&user), origin, at),
    ];
    if req.sign_in {
        events.extend(live.owed_session_event(hwid.as_deref(), at));
    }
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

pub struct UnlicensedRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub email: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// How creating an account without a license ended, when it was not refused.
#[derive(Debug)]
pub enum Signup {
    Created(Box<User>),
    /// The app only lets accounts be made with a license; nothing was done.
    LicenseRequired,
}

/// Create an account no license paid for: it has level 0 and no time until a license is
/// redeemed onto it ([`link`]). An address makes at most
/// [`redeem::UNLICENSED_SIGNUPS_PER_ADDRESS`] of them per app in
/// [`redeem::UNLICENSED_SIGNUP_WINDOW`]; past that it is `RateLimited` until its oldest one
/// leaves the window. The caller's session is not signed in.
pub async fn register_unlicensed(
    state: &AppState,
    live: &Live,
    req: &UnlicensedRequest<'_>,
) -> Result<Signup, DomainError> {
    let outcome = register_unlicensed_inner(state, live, req).await;
    match &outcome {
        Ok(Signup::Created(_)) => state.activity.ok(&live.app.app.id, live.dialect, kind::REGISTER),
        Ok(Signup::LicenseRequired) => {}
        Err(e) => state.activity.refused_by(&live.app.app.id, live.dialect, live.ip, e),
    }
    outcome
}

// The call itself; the public function notes its outcome for the overview.
async fn register_unlicensed_inner(
    state: &AppState,
    live: &Live,
    req: &UnlicensedRequest<'_>,
) -> Result<Signup, DomainError> {
    let app = &live.app.app;
    if app.settings.accounts_require_license {
        return Ok(Signup::LicenseRequired);
    }
    let username = validate::new_username("username", req.username)?;
    validate::user_password("password", req.password)?;
    let email = match req.email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(validate::email("email", e)?),
        None => None,
    };
    let note = note(req.note)?;
    check_blacklists(live, Some(&username), None)?;
    let store = state.store.as_ref();
    if store.user_by_username(&app.id, &username).await.map_err(store_err)?.is_some() {
        return Err(DomainError::UsernameTaken);
    }
    let password_hash = hash_password(state, req.password.to_owned()).await?;
    let at = now();
    let ip = live.ip_text();
    let user = User {
        note,
        id: ids::new_id(prefix::USER),
        app_id: app.id.clone(),
        username,
        password_hash,
        email,
        level: 0,
        expires_at: redeem::unlicensed_expiry(at),
        devices: Vec::new(),
        max_devices: 1,
        last_ip: Some(ip.clone()),
        status: UserStatus::Active,
        ban_reason: None,
        last_login: None,
        created_at: at,
    };
    let origin = Origin { ip: Some(&ip), hwid: None };
    let events = [Event::user_register(&user, None, origin, at)];
    let since = at - redeem::UNLICENSED_SIGNUP_WINDOW;
    let cap = redeem::UNLICENSED_SIGNUPS_PER_ADDRESS;
    let quota = app.settings.accounts_quota.map(i64::from);
    match store.create_unlicensed_user(&user, &ip, since, cap, quota, &events).await.map_err(store_err)? {
        UnlicensedSignup::Created => Ok(Signup::Created(Box::new(user))),
        UnlicensedSignup::Capped { oldest } => {
            Err(DomainError::RateLimited { retry_after_secs: redeem::unlicensed_retry_after(oldest, now()) })
        }
        UnlicensedSignup::UsernameTaken => Err(DomainError::UsernameTaken),
        UnlicensedSignup::QuotaReached => Err(DomainError::AccountsQuotaExceeded),
    }
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
    let proven = authenticate(state, live, ip, req).await?;
    sign_in(state, live, ip, proven).await
}

/// An account whose password was proven, not yet signed in.
pub struct Proven {
    pub user: User,
    /// The device the sign-in presented, checked.
    hwid: Option<String>,
}

impl Proven {
    /// The same proof for the account as it is now (after a write to it, such as [`link`]).
    pub fn with_user(self, user: User) -> Proven {
        Proven { user, ..self }
    }
}

/// The first half of [`login`]: the name and password are checked (throttled), nothing else
/// about the account is, and nothing is written but the throttle's count.
pub async fn authenticate(
    state: &AppState,
    live: &Live,
    ip: std::net::IpAddr,
    req: &LoginRequest<'_>,
) -> Result<Proven, DomainError> {
    let outcome = authenticate_inner(state, live, ip, req).await;
    if let Err(e) = &outcome {
        state.activity.refused_by(&live.app.app.id, live.dialect, ip, e);
    }
    outcome
}

// The call itself; the public function notes its outcome for the overview.
async fn authenticate_inner(
    state: &AppState,
    live: &Live,
    ip: std::net::IpAddr,
    req: &LoginRequest<'_>,
) -> Result<Proven, DomainError> {
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
    Ok(Proven { user, hwid })
}

/// The second half of [`login`]: the account's state (banned, paused, expired), the device
/// binding, and the session is then the user's. Judged only after the password, so a stranger
/// learns nothing of the account.
pub async fn sign_in(state: &AppState, live: &Live, ip: std::net::IpAddr, proven: Proven) -> Result<User, DomainError> {
    let outcome = sign_in_inner(state, live, ip, proven).await;
    state.activity.note(&live.app.app.id, live.dialect, ip, kind::LOGIN, &outcome);
    outcome
}

// The call itself; the public function notes its outcome for the overview.
async fn sign_in_inner(
    state: &AppState,
    live: &Live,
    ip: std::net::IpAddr,
    proven: Proven,
) -> Result<User, DomainError> {
    let app = &live.app.app;
    let store = state.store.as_ref();
    let Proven { mut user, hwid } = proven;
    let at = now();
    redeem::check_user(&user, at)?;
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
    let outcome = license_login_inner(state, live, key, hwid).await;
    state.activity.note(&live.app.app.id, live.dialect, live.ip, kind::LOGIN, &outcome);
    outcome
}

// The call itself; the public function notes its outcome for the overview.
async fn license_login_inner(
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
    redeem_onto(state, live, user, &key, hwid.as_deref()).await
}

/// Link: redeem an unused key onto the account the session is signed in as (an account made
/// without a license gets its first time and level this way).
pub async fn link(
    state: &AppState,
    live: &Live,
    user_id: &str,
    key: &str,
    hwid: Option<&str>,
) -> Result<Extended, DomainError> {
    let app = &live.app.app;
    let key = validate::nonempty_text("license_key", key, 256)?;
    let hwid = device("sid", hwid)?;
    let store = state.store.as_ref();
    let user = store.get_user(&app.id, user_id).await.map_err(store_err)?.ok_or(DomainError::UserNotFound)?;
    check_blacklists(live, Some(&user.username), hwid.as_deref())?;
    redeem_onto(state, live, user, &key, hwid.as_deref()).await
}

/// The redemption [`extend`] and [`link`] share, onto an account found and checked.
async fn redeem_onto(
    state: &AppState,
    live: &Live,
    user: User,
    key: &str,
    hwid: Option<&str>,
) -> Result<Extended, DomainError> {
    let app = &live.app.app;
    let store = state.store.as_ref();
    redeem::check_user_standing(&user)?;
    let at = now();
    let found = store.license_by_key(&app.id, key).await.map_err(store_err)?;
    let license = redeem::check_redeemable(found.as_ref(), at)?.clone();
    let span = license.duration.span();
    let activation =
        Activation { at, expires_at: redeem::expiry_at_activation(&license, at), device: None, session: None };
    let add_ms = span.map(|s| s.num_milliseconds());
    let ip = live.ip_text();
    let origin = Origin { ip: Some(&ip), hwid };
    let events = [Event::license_activate(&license, activation.expires_at, Some(&user), origin, at)];
    let Some(user) = store
        .extend_with_license(&app.id, &user.id, &license.id, &activation, add_ms, &events)
        .await
        .map_err(store_err)?
    else {
        let again = store.license_by_key(&app.id, key).await.map_err(store_err)?;
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

/// What the session is signed in with, as it is now, and whether it may still be used (`Err`
/// with the reason it may not: expired, banned, paused, ...). Read again at each ask, so a
/// seller's change shows at once.
pub struct Standing<T> {
    pub item: T,
    pub usable: Result<(), DomainError>,
}

/// The key the session is signed in with (key login). `LoginRequired` when it is signed in with
/// none; `LicenseNotFound` when the key was deleted meanwhile.
pub async fn session_license(state: &AppState, live: &Live) -> Result<Standing<License>, DomainError> {
    let license_id = live.session.license_id.as_deref().ok_or(DomainError::LoginRequired)?;
    let store = state.store.as_ref();
    let license = store
        .get_license(&live.app.app.id, license_id)
        .await
        .map_err(store_err)?
        .ok_or(DomainError::LicenseNotFound)?;
    let at = now();
    let usable = redeem::check_key_login(Some(&license), at).map(|_| ());
    if usable.is_err() {
        super::record_expiry(state, &license, at).await;
    }
    Ok(Standing { item: license, usable })
}

/// The account the session is signed in as. `LoginRequired` when it is signed in as none;
/// `UserNotFound` when the account was deleted meanwhile.
pub async fn session_account(state: &AppState, live: &Live) -> Result<Standing<User>, DomainError> {
    let user_id = live.session.user_id.as_deref().ok_or(DomainError::LoginRequired)?;
    let store = state.store.as_ref();
    let user = store.get_user(&live.app.app.id, user_id).await.map_err(store_err)?.ok_or(DomainError::UserNotFound)?;
    let usable = redeem::check_user(&user, now());
    Ok(Standing { item: user, usable })
}
