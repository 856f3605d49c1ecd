//! Accounts and licenses: create account (1), authorize by license (2) or credentials (3), link
//! a license (4), logout (5), blacklist (6), current license (15) and account (16).
//!
//! Every field's length rule is judged here, before anything is looked up; the rest is the client
//! core's (`crate::client::accounts`), whose refusals become statuses through [`status_of`].

use std::net::IpAddr;

use serde::Serialize;
use tollgate_core::model::{License, User};
use tollgate_core::settings::AppSettings;
use tollgate_core::time::{now, Timestamp};
use tollgate_core::{username, validate, DomainError};

use super::codes::{status_of, Close, Status};
use super::conn::{Auth, Conn, Flow, Init};
use super::wire::{Blacklist, CreateAccount, Credentials, CredentialsType, LicenseKey};
use crate::client::accounts::{self, LoginRequest, RegisterRequest, Signup, UnlicensedRequest};
use crate::client::{data, store_err};

/// License keys are 6 to 64 characters.
const LICENSE_LEN: (usize, usize) = (6, 64);
/// Logins (a username, or an email address) are 4 to 320 characters.
const LOGIN_LEN: (usize, usize) = (4, 320);

/// `short` below `min` characters, `long` above `max`.
fn length(text: &str, (min, max): (usize, usize), short: Status, long: Status) -> Result<(), Status> {
    let n = text.chars().count();
    if n < min {
        Err(short)
    } else if n > max {
        Err(long)
    } else {
        Ok(())
    }
}

/// The `license` field: 101 / 102 by its length; a key with control characters is one no
/// license has (100), without a lookup.
fn license_key(key: &str) -> Result<&str, Status> {
    let key = key.trim();
    length(key, LICENSE_LEN, Status::LicenseTooShort, Status::LicenseTooLong)?;
    if key.chars().any(char::is_control) {
        return Err(Status::LicenseNotFound);
    }
    Ok(key)
}

/// An optional `license`: absent, `null` and blank all mean none.
fn optional_key(key: Option<&str>) -> Result<Option<&str>, Status> {
    match key.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) => license_key(k).map(Some),
    }
}

/// A login as an account's name: with `credentials_type` 1 the login is an email address, and
/// the account's name is that address (lowercased).
struct Login {
    username: String,
    email: Option<String>,
}

/// The `login` and `credentials_type` fields: 205 / 206 by length; type 1 not an email address
/// 209; a name an account may not have (controls, invisible characters, more than 64
/// characters, and for a new account a mix of scripts spoofs use) 210.
fn login(login: &str, kind: CredentialsType, new: bool) -> Result<Login, Status> {
    let login = login.trim();
    length(login, LOGIN_LEN, Status::AppUserLoginTooShort, Status::AppUserLoginTooLong)?;
    let (name, email) = match kind {
        CredentialsType::Login => (login.to_owned(), None),
        CredentialsType::Email => {
            let email = validate::email("login", login).map_err(|_| Status::AppUserInvalidEmail)?;
            (email.clone(), Some(email))
        }
    };
    let problem = if new { username::problem_for_new(&name) } else { username::problem(&name) };
    if problem.is_some() {
        return Err(Status::AppUserInvalidLogin);
    }
    Ok(Login { username: name, email })
}

/// The `password` field: 207 / 208 outside the lengths an account's password may have.
fn password(p: &str) -> Result<(), Status> {
    let len = (validate::USER_PASSWORD_MIN, validate::USER_PASSWORD_MAX);
    length(p, len, Status::AppUserPasswordTooShort, Status::AppUserPasswordTooLong)
}

/// A `comment`: blank is none; longer than a note may be, or holding a NUL character (which no
/// database stores), is a body that does not fit its packet (4302).
fn comment(c: Option<&str>) -> Result<Option<&str>, Close> {
    match c.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) if c.chars().count() > tollgate_core::license::MAX_NOTE_LEN || c.contains('\0') => Err(Close::BAD_BODY),
        Some(c) => Ok(Some(c)),
    }
}

#[derive(Serialize)]
struct RetryAfter {
    /// Seconds until the request may succeed.
    retry_after: u64,
}

#[derive(Serialize)]
struct LicenseRequired {
    license_required: bool,
}

/// Answer a refusal of the client core: its status from the dialect's table, with `retry_after`
/// for status 5. A field the core refused gets that field's status; any other refused input is
/// a body that does not fit (4302).
async fn refuse(conn: &Conn, id: u64, e: &DomainError) -> Flow {
    match e {
        DomainError::RateLimited { retry_after_secs } => {
            conn.reply(id, Status::TooManyRequests, &RetryAfter { retry_after: *retry_after_secs }).await;
        }
        DomainError::Validation { field, .. } | DomainError::MissingFields(field) => {
            let status = match field.as_str() {
                "username" => Status::AppUserInvalidLogin,
                "email" | "login" => Status::AppUserInvalidEmail,
                "license_key" => Status::LicenseNotFound,
                _ => return Flow::Close(Close::BAD_BODY),
            };
            conn.status(id, status).await;
        }
        _ => {
            conn.status(id, status_of(e)).await;
        }
    }
    Flow::Continue
}

/// Answer a status with no fields, and go on.
async fn answer(conn: &Conn, id: u64, status: Status) -> Flow {
    conn.status(id, status).await;
    Flow::Continue
}

/// The level as clients are shown it: the seller's name for it, else its number.
fn level_names(settings: &AppSettings, level: i64) -> Vec<String> {
    vec![settings.level_names.get(&level.to_string()).cloned().unwrap_or_else(|| level.to_string())]
}

/// Whole seconds until `expires_at` (none left once past); `None` for never.
fn time_left(expires_at: Option<Timestamp>, at: Timestamp) -> Option<i64> {
    expires_at.map(|e| (e - at).num_seconds().max(0))
}

/// The license a connection is authorized by (packets 2 and 15).
#[derive(Serialize)]
struct LicenseInfo {
    license: String,
    levels: Vec<String>,
    /// The license's note; empty when it has none.
    comment: String,
    ip_address: String,
    /// Omitted for a lifetime license.
    #[serde(skip_serializing_if = "Option::is_none")]
    time_left: Option<i64>,
}

impl LicenseInfo {
    fn new(settings: &AppSettings, license: &License, ip: IpAddr) -> LicenseInfo {
        LicenseInfo {
            license: license.key.clone(),
            levels: level_names(settings, license.level),
            comment: license.note.clone().unwrap_or_default(),
            ip_address: ip.to_string(),
            time_left: time_left(license.expires_at, now()),
        }
    }
}

/// The account a connection is authorized as (packets 3 and 16).
#[derive(Serialize)]
struct AccountInfo {
    login: String,
    levels: Vec<String>,
    /// The account's note; empty when it has none.
    comment: String,
    ip_address: String,
    /// Omitted when the account never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    time_left: Option<i64>,
    /// The account has no time left: a license must be linked to it before it can sign in.
    license_required: bool,
}

impl AccountInfo {
    fn new(settings: &AppSettings, user: &User, ip: IpAddr) -> AccountInfo {
        let at = now();
        AccountInfo {
            login: user.username.clone(),
            levels: level_names(settings, user.level),
            comment: user.note.clone().unwrap_or_default(),
            ip_address: ip.to_string(),
            time_left: time_left(user.expires_at, at),
            license_required: user.expires_at.is_some_and(|e| e <= at),
        }
    }
}

/// Who the connection is signed in as, everywhere it is kept: the connection, its session (which
/// the other packets read) and the hub (which a seller's action on the license or account
/// reaches it through). `None` signs the connection out (as a seller's action on its key may).
pub(super) fn set_auth(conn: &mut Conn, auth: Option<Auth>) {
    let (user_id, license_id) = match &auth {
        Some(Auth::Account { user_id }) => (Some(user_id.clone()), None),
        Some(Auth::License { license_id }) => (None, Some(license_id.clone())),
        None => (None, None),
    };
    if let Some(init) = conn.init.as_mut() {
        init.live.session.user_id.clone_from(&user_id);
        init.live.session.license_id.clone_from(&license_id);
    }
    if let Some(key) = conn.hub_key {
        conn.state.hub.update(key, |e| {
            e.user_id = user_id;
            e.license_id = license_id;
        });
    }
    conn.auth = auth;
}

/// The connection's Initialize; the loop only lets these packets through once it succeeded.
fn init_of(conn: &Conn) -> Result<&Init, Flow> {
    conn.init.as_ref().ok_or(Flow::Close(Close::NOT_INITIALIZED))
}

/// Run `$e` (a `Result<_, Status>`), answering the status and returning on `Err`.
macro_rules! field {
    ($conn:expr, $id:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(status) => return answer($conn, $id, status).await,
        }
    };
}

/// The connection's Initialize, or return the close its absence earns.
macro_rules! initialized {
    ($conn:expr) => {
        match init_of($conn) {
            Ok(i) => i,
            Err(flow) => return flow,
        }
    };
}

/// 1: create an account, paid for by `license` when given (the key is redeemed onto it), else
/// one without time (at most 3 per address and app a day). The connection is not signed in.
pub async fn create_account(conn: &mut Conn, id: u64, req: CreateAccount) -> Flow {
    let key = field!(conn, id, optional_key(req.license.as_deref()));
    let name = field!(conn, id, login(&req.login, req.credentials_type, true));
    field!(conn, id, password(&req.password));
    let note = match comment(req.comment.as_deref()) {
        Ok(c) => c,
        Err(close) => return Flow::Close(close),
    };
    let init = initialized!(conn);
    let (state, live) = (&conn.state, &init.live);
    let created = match key {
        Some(key) => {
            let r = RegisterRequest {
                username: &name.username,
                password: &req.password,
                key,
                email: name.email.as_deref(),
                // The account is bound to a device at its first sign-in, not where it was made.
                hwid: None,
                note,
                sign_in: false,
            };
            accounts::register(state, live, &r).await.map(|_| ())
        }
        None => {
            let r = UnlicensedRequest {
                username: &name.username,
                password: &req.password,
                email: name.email.as_deref(),
                note,
            };
            match accounts::register_unlicensed(state, live, &r).await {
                Ok(Signup::Created(_)) => Ok(()),
                Ok(Signup::LicenseRequired) => return answer(conn, id, Status::AppUserRequiresLicense).await,
                Err(e) => Err(e),
            }
        }
    };
    match created {
        Ok(()) => answer(conn, id, Status::Ok).await,
        Err(e) => refuse(conn, id, &e).await,
    }
}

/// 2: sign in with a license key alone; its first use activates it and binds the client id (with
/// the app's device lock).
pub async fn authorize_by_license(conn: &mut Conn, id: u64, req: LicenseKey) -> Flow {
    if conn.auth.is_some() {
        return answer(conn, id, Status::AlreadyAuthorized).await;
    }
    let key = field!(conn, id, license_key(&req.license));
    let init = initialized!(conn);
    match accounts::license_login(&conn.state, &init.live, key, Some(&init.client_id)).await {
        Ok(license) => {
            let body = LicenseInfo::new(&init.live.app.app.settings, &license, conn.ip);
            set_auth(conn, Some(Auth::License { license_id: license.id }));
            conn.reply(id, Status::Ok, &body).await;
            Flow::Continue
        }
        Err(e) => refuse(conn, id, &e).await,
    }
}

/// 3: sign in to an account. With `license`, the key is linked to the account (as packet 4)
/// once the password is proven and before the account's time is judged, so an account without
/// time can sign in with the license that gives it.
pub async fn authorize_by_credentials(conn: &mut Conn, id: u64, req: Credentials) -> Flow {
    if conn.auth.is_some() {
        return answer(conn, id, Status::AlreadyAuthorized).await;
    }
    let key = field!(conn, id, optional_key(req.license.as_deref()));
    let name = field!(conn, id, login(&req.login, req.credentials_type, false));
    field!(conn, id, password(&req.password));
    let init = initialized!(conn);
    let (state, live, ip) = (&conn.state, &init.live, conn.ip);
    let hwid = Some(init.client_id.as_str());
    let signed_in = async {
        let r = LoginRequest { username: &name.username, password: &req.password, hwid };
        let mut proven = accounts::authenticate(state, live, ip, &r).await?;
        if let Some(key) = key {
            let linked = accounts::link(state, live, &proven.user.id, key, hwid).await?;
            proven = proven.with_user(linked.user);
        }
        accounts::sign_in(state, live, ip, proven).await
    }
    .await;
    match signed_in {
        Ok(user) => {
            let body = AccountInfo::new(&live.app.app.settings, &user, ip);
            set_auth(conn, Some(Auth::Account { user_id: user.id }));
            conn.reply(id, Status::Ok, &body).await;
            Flow::Continue
        }
        Err(DomainError::UserExpired) => {
            conn.reply(id, Status::AppUserHasNoValidLicenses, &LicenseRequired { license_required: true }).await;
            Flow::Continue
        }
        Err(e) => refuse(conn, id, &e).await,
    }
}

/// 4: redeem a key onto the account the connection is signed in as.
pub async fn link_license(conn: &mut Conn, id: u64, req: LicenseKey) -> Flow {
    let Some(Auth::Account { user_id }) = conn.auth.clone() else {
        return answer(conn, id, Status::NotAuthorized).await;
    };
    let key = field!(conn, id, license_key(&req.license));
    let init = initialized!(conn);
    match accounts::link(&conn.state, &init.live, &user_id, key, Some(&init.client_id)).await {
        Ok(_) => answer(conn, id, Status::Ok).await,
        Err(e) => refuse(conn, id, &e).await,
    }
}

/// 5: sign out; the connection and its session stay open.
pub async fn logout(conn: &mut Conn, id: u64) -> Flow {
    if conn.auth.is_none() {
        return answer(conn, id, Status::NotAuthorized).await;
    }
    let init = initialized!(conn);
    let s = &init.live.session;
    // `false`: the session is gone already (killed by the seller); signed out all the same.
    if let Err(e) = conn.state.store.unbind_session(&s.app_id, &s.id).await {
        return refuse(conn, id, &store_err(e)).await;
    }
    set_auth(conn, None);
    answer(conn, id, Status::Ok).await
}

/// 6: the client blacklists itself: its client id goes on the app's blacklist with `comment` as
/// the reason, then the socket closes 4203.
pub async fn blacklist(conn: &mut Conn, id: u64, req: Blacklist) -> Flow {
    let reason = match comment(req.comment.as_deref()) {
        Ok(c) => c,
        Err(close) => return Flow::Close(close),
    };
    let init = initialized!(conn);
    match data::blacklist_client(&conn.state, &init.live, &init.client_id, reason).await {
        Ok(()) => {
            conn.status(id, Status::Ok).await;
            Flow::Close(Close::BLACKLISTED)
        }
        Err(e) => refuse(conn, id, &e).await,
    }
}

/// 15: the license the connection is authorized by, as it is now; when it may no longer be used
/// the status says why (103 expired, 104 paused, 105 banned) and the fields are still there.
pub async fn current_license(conn: &mut Conn, id: u64) -> Flow {
    if !matches!(conn.auth, Some(Auth::License { .. })) {
        return answer(conn, id, Status::NotAuthorized).await;
    }
    let init = initialized!(conn);
    match accounts::session_license(&conn.state, &init.live).await {
        Ok(standing) => {
            let status = standing.usable.as_ref().map_or_else(status_of, |()| Status::Ok);
            let body = LicenseInfo::new(&init.live.app.app.settings, &standing.item, conn.ip);
            conn.reply(id, status, &body).await;
            Flow::Continue
        }
        Err(e) => refuse(conn, id, &e).await,
    }
}

/// 16: the account the connection is authorized as, as it is now; when it may no longer sign in
/// the status says why (203 no time left, 201 banned or paused) and the fields are still there.
pub async fn current_account(conn: &mut Conn, id: u64) -> Flow {
    if !matches!(conn.auth, Some(Auth::Account { .. })) {
        return answer(conn, id, Status::NotAuthorized).await;
    }
    let init = initialized!(conn);
    match accounts::session_account(&conn.state, &init.live).await {
        Ok(standing) => {
            let status = standing.usable.as_ref().map_or_else(status_of, |()| Status::Ok);
            let body = AccountInfo::new(&init.live.app.app.settings, &standing.item, conn.ip);
            conn.reply(id, status, &body).await;
            Flow::Continue
        }
        Err(e) => refuse(conn, id, &e).await,
    }
}
