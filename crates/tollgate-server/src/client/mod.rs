//! The client API's use cases, dialect-neutral: what a client program can ask (init, register,
//! login, variables, ...), written once over the core rules and the store. Each dialect
//! (`crate::dialect::*`) parses its wire shape into these inputs and maps the typed results and
//! `DomainError`s back to its own codes and statuses.

pub mod accounts;
pub mod activity;
pub mod data;
pub mod files;
pub mod guard;
pub mod init;
pub mod license_file;

use std::net::IpAddr;
use std::sync::Arc;

use tollgate_core::events::Event;
use tollgate_core::model::{BlacklistKind, License, LicenseStatus, Session};
use tollgate_core::time::{now, Timestamp};
use tollgate_core::{redeem, session, DomainError};
use tollgate_store::StoreError;

use crate::cache::CachedApp;
use crate::state::AppState;

/// Who is asking, as the transport saw it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The socket address, or the forwarded one behind a trusted proxy.
    pub ip: IpAddr,
    /// A MAC of the request keyed with the app secret, when the client sent one; checked once
    /// the app is known.
    pub mac: Option<RequestMac>,
    /// The client protocol the call came in by (`activity::dialect`), for the overview.
    pub dialect: &'static str,
}

/// A request's HMAC and the message it should cover.
#[derive(Debug, Clone)]
pub struct RequestMac {
    pub message: String,
    pub signature: String,
}

impl Caller {
    /// `InvalidRequestSignature` when the request carried a MAC that the app secret does not
    /// reproduce. A request without one passes (MACs are optional; some SDKs send one).
    pub fn check_mac(&self, secret: &str) -> Result<(), DomainError> {
        match &self.mac {
            Some(mac) if !tollgate_core::integrity::verify_request_mac(secret, &mac.message, &mac.signature) => {
                Err(DomainError::InvalidRequestSignature)
            }
            _ => Ok(()),
        }
    }
}

/// A live session and the app it belongs to.
pub struct Live {
    pub session: Session,
    pub app: Arc<CachedApp>,
    /// The address of the request using the session.
    pub ip: IpAddr,
    /// The session was opened by this very request for a sign-in ([`init::open_for_sign_in`]):
    /// its `session.create` event goes with the sign-in's own write, so a sign-in that fails
    /// (and ends the session again) announces nothing.
    pub unannounced: bool,
    /// The client protocol the session is used by (`activity::dialect`).
    pub dialect: &'static str,
}

impl Live {
    /// The `session.create` event still owed for this session, if any: with the device the
    /// sign-in presented.
    pub fn owed_session_event(&self, hwid: Option<&str>, at: Timestamp) -> Option<Event> {
        self.unannounced.then(|| {
            let session =
                Session { hwid: hwid.map(str::to_owned).or_else(|| self.session.hwid.clone()), ..self.session.clone() };
            Event::session_create(&session, at)
        })
    }

    /// The address of the request, as text (what events carry as `ip`).
    pub fn ip_text(&self) -> String {
        self.ip.to_string()
    }
}

/// A key-only session's key met expired at a use (key login, session check, download) while
/// still stored `USED`: record it `EXPIRED` with its `license.expire` event, in one conditional
/// update, so concurrent uses record it once (see [`redeem::expiry_to_record`]). The caller
/// answers `LicenseExpired` whatever happens here; a failure to record is logged, and the next
/// use tries again.
pub async fn record_expiry(state: &AppState, license: &License, at: Timestamp) {
    if !redeem::expiry_to_record(license, at) {
        return;
    }
    let event = Event::license_expire(license, at);
    let written = state
        .store
        .set_license_status(&license.app_id, &license.id, LicenseStatus::Used, LicenseStatus::Expired, None, &[event])
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, license_id = %license.id, "could not record a license's expiry");
    }
}

/// Store failures as domain errors: an outage is `Unavailable`, anything else is logged with its
/// cause here and becomes the opaque `Internal`.
pub fn store_err(e: StoreError) -> DomainError {
    match e {
        StoreError::Unavailable(cause) => {
            tracing::error!(%cause, "database unavailable");
            DomainError::Unavailable
        }
        StoreError::Unstorable(cause) => {
            tracing::warn!(%cause, "the database refused a value");
            DomainError::validation("body", "contains text that cannot be stored")
        }
        other => {
            tracing::error!(error = %other, "store error in the client API");
            DomainError::Internal
        }
    }
}

/// The session a request names, still live, with its app. A token that is not even shaped like
/// one of ours is `InvalidSession` without a lookup. The app must still be active: disabling an
/// app stops its live sessions at their next request.
pub async fn live_session(state: &AppState, caller: &Caller, token: &str) -> Result<Live, DomainError> {
    if !session::plausible_token(token) {
        return Err(DomainError::InvalidSession);
    }
    // Read with the sessions of concurrent requests, in one query started after this request.
    let found = state.session_reads.submit(token.to_owned()).await.map_err(store_err)?;
    let session = session::check(found, now())?;
    let app = state.apps.by_id(state.store.as_ref(), &session.app_id).await.map_err(store_err)?;
    // The app was deleted under the session (the cascade removes sessions; a race can lose).
    let app = app.ok_or(DomainError::InvalidSession)?;
    match app.app.status {
        tollgate_core::model::AppStatus::Active => {}
        tollgate_core::model::AppStatus::Disabled => return Err(DomainError::AppDisabled),
        tollgate_core::model::AppStatus::Paused => return Err(DomainError::AppPaused),
    }
    caller.check_mac(&app.app.api_key)?;
    Ok(Live { session, app, ip: caller.ip, unannounced: false, dialect: caller.dialect })
}

/// End the session (logout, or a sign-in that failed after its session was opened). `false` when
/// it was already gone.
pub async fn end_session(state: &AppState, live: &Live) -> Result<bool, DomainError> {
    state.store.delete_session(&live.session.app_id, &live.session.id).await.map_err(store_err)
}

/// Blacklist lookups on the cached entries of an app. Values compare case-insensitively;
/// usernames compare by their look-alike key, as accounts do, so a banned `gooduser` also bans
/// `GoodUser` and `gооduser` (Cyrillic о).
pub fn blacklisted(app: &CachedApp, kind: BlacklistKind, value: &str) -> Option<Option<String>> {
    let name_key = (kind == BlacklistKind::Username).then(|| tollgate_core::username::key(value));
    app.blacklist
        .iter()
        .filter(|e| e.kind == kind)
        .find(|e| match &name_key {
            Some(k) => tollgate_core::username::key(&e.value) == *k,
            None => e.value.eq_ignore_ascii_case(value),
        })
        .map(|e| e.reason.clone())
}

/// Whether the address is inside one of the app's IP entries (entries are CIDRs).
pub fn ip_blacklisted(app: &CachedApp, ip: IpAddr) -> bool {
    tollgate_core::net::contains_any(&app.ip_blacklist, ip)
}

/// A new session's expiry.
pub fn session_expiry(at: Timestamp) -> Timestamp {
    at + session::SESSION_TTL
}

fn gate_err(e: crate::password::GateError) -> DomainError {
    match e {
        crate::password::GateError::Busy => DomainError::Busy,
        crate::password::GateError::Failed => DomainError::Internal,
    }
}

/// Check a password through the process's argon2 gate (`crate::password`), counted in the
/// metrics.
pub async fn verify_password(state: &AppState, password: String, phc: String) -> Result<bool, DomainError> {
    let r = state.passwords.verify(password, phc).await.map_err(gate_err);
    state.metrics.password_checked(&r);
    r
}

/// Hash a new password through the process's argon2 gate.
pub async fn hash_password(state: &AppState, password: String) -> Result<String, DomainError> {
    state.passwords.hash(password).await.map_err(gate_err)
}
