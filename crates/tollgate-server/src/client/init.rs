//! Init: find the app by the credentials the client sent, run the security pipeline, open a
//! session.

use std::sync::Arc;

use tollgate_core::events::Event;
use tollgate_core::ids::{self, prefix};
use tollgate_core::model::{AppStatus, BlacklistKind, Session};
use tollgate_core::pipeline::{self, Hash, NetFacts, Presented};
use tollgate_core::time::now;
use tollgate_core::version::UpdateNotice;
use tollgate_core::DomainError;
use tollgate_store::kind;

use super::{blacklisted, ip_blacklisted, session_expiry, store_err, Caller, Live};
use crate::cache::CachedApp;
use crate::state::AppState;

/// How a client identifies the app it runs as: each wire protocol has its own credentials, and
/// they decide which steps of the pipeline apply.
#[derive(Debug, Clone, Copy)]
pub enum AppCredentials<'a> {
    /// Owner id and exact app name, proven by the app's secret; version required, hash optional.
    NamedApp { owner_id: &'a str, app_name: &'a str, secret: &'a str, version: &'a str, hash: Option<&'a str> },
    /// App id proven by its API key; the hash is checked when the app checks hashes, the version
    /// only when one is sent.
    AppKey { app_id: &'a str, api_key: &'a str, version: Option<&'a str>, hash: Option<&'a str> },
    /// The app's WebSocket key (it proves the app by finding it) and the client's id, which is
    /// checked against the app's device and client-id blacklist. No hash, no version.
    WsKey { ws_key: &'a str, client_id: &'a str },
}

/// A passing init: the new session, the app it is for, and the version-control notice to show
/// (a reminder or a grace period), if any.
pub struct Opened {
    pub session: Session,
    pub app: Arc<CachedApp>,
    pub update: Option<UpdateNotice>,
}

/// The init pipeline on the credentials given: find the app, run the steps those credentials
/// allow (status, IP blacklist/whitelist, VPN, country, then hash, secret and version where they
/// apply), and open a session within the app's quota. The dialect has checked that its required
/// fields are present.
pub async fn init(state: &AppState, caller: &Caller, creds: &AppCredentials<'_>) -> Result<Opened, DomainError> {
    let app = find_app(state, creds).await?;
    let opened = async {
        let (update, client_id) = checked(state, caller, creds, &app)?;
        let session = open_session(state, caller, &app, client_id, Announce::Now).await?;
        Ok(Opened { session, app: app.clone(), update })
    }
    .await;
    state.activity.note(&app.app.id, caller.dialect, caller.ip, kind::INIT, &opened);
    opened
}

/// The init pipeline without the session: find the app, run the steps the credentials allow.
/// For protocols whose start answers no session (their sign-in calls open one, see
/// [`open_for_sign_in`]). `Ok` carries the app and the version-control notice to show.
pub async fn check(
    state: &AppState,
    caller: &Caller,
    creds: &AppCredentials<'_>,
) -> Result<(Arc<CachedApp>, Option<UpdateNotice>), DomainError> {
    let app = find_app(state, creds).await?;
    let checked = checked(state, caller, creds, &app).map(|(update, _)| (app.clone(), update));
    state.activity.note(&app.app.id, caller.dialect, caller.ip, kind::INIT, &checked);
    checked
}

/// The pipeline on the app the credentials name (see [`find_app`]); a refusal of a known app is
/// what the overview records.
fn checked<'a>(
    state: &AppState,
    caller: &Caller,
    creds: &AppCredentials<'a>,
    app: &CachedApp,
) -> Result<(Option<UpdateNotice>, Option<&'a str>), DomainError> {
    let presented = match *creds {
        AppCredentials::NamedApp { secret, version, hash, .. } => {
            Presented { secret: Some(secret), version: Some(version), hash: Hash::Sent(hash) }
        }
        AppCredentials::AppKey { api_key, version, hash, .. } => {
            Presented { secret: Some(api_key), version, hash: Hash::Sent(hash) }
        }
        AppCredentials::WsKey { .. } => Presented { secret: None, version: None, hash: Hash::NotCarried },
    };
    let update = run_pipeline(state, caller, app, &presented)?;
    let client_id = match *creds {
        AppCredentials::WsKey { client_id, .. } => {
            if client_id_blacklisted(app, client_id) {
                return Err(DomainError::HwidBlocked);
            }
            Some(client_id)
        }
        _ => None,
    };
    Ok((update, client_id))
}

/// The app an id names, proven by its API key (compared in constant time) and active, without
/// the rest of the pipeline: for requests that carry the app's credentials beside a session
/// token, or that ask something of the app without signing in.
pub async fn app_by_key(
    state: &AppState,
    caller: &Caller,
    app_id: &str,
    api_key: &str,
) -> Result<Arc<CachedApp>, DomainError> {
    let app = find_app(state, &AppCredentials::AppKey { app_id, api_key, version: None, hash: None }).await?;
    match app.app.status {
        AppStatus::Active => {}
        AppStatus::Disabled => return Err(DomainError::AppDisabled),
        AppStatus::Paused => return Err(DomainError::AppPaused),
    }
    if !pipeline::secret_matches(&app.app.api_key, api_key) {
        return Err(DomainError::InvalidSecret);
    }
    caller.check_mac(&app.app.api_key)?;
    Ok(app)
}

/// A new session for a sign-in call of a protocol that has no separate start (login, register
/// or key login carry the app's id and API key themselves): the pipeline on the app (status,
/// IP blacklist and whitelist, VPN, country, API key; not the hash or version, which its start
/// checks), then a session within the quota. The caller signs the session in, or ends it when
/// the sign-in fails ([`super::end_session`]).
pub async fn open_for_sign_in(
    state: &AppState,
    caller: &Caller,
    app_id: &str,
    api_key: &str,
) -> Result<Live, DomainError> {
    let app = find_app(state, &AppCredentials::AppKey { app_id, api_key, version: None, hash: None }).await?;
    let opened = async {
        let presented = Presented { secret: Some(api_key), version: None, hash: Hash::NotCarried };
        run_pipeline(state, caller, &app, &presented)?;
        open_session(state, caller, &app, None, Announce::WithSignIn).await
    }
    .await;
    // Only a refusal is noted here: the sign-in the session is for counts as itself.
    if let Err(e) = &opened {
        state.activity.refused_by(&app.app.id, caller.dialect, caller.ip, e);
    }
    Ok(Live { session: opened?, app, ip: caller.ip, unannounced: true, dialect: caller.dialect })
}

/// Steps 2–3: the app the credentials name. For an owner and name, a cached app proves its owner
/// exists (apps are deleted with their seller); only a miss costs the owner lookup that tells
/// the two errors apart.
async fn find_app(state: &AppState, creds: &AppCredentials<'_>) -> Result<Arc<CachedApp>, DomainError> {
    let store = state.store.as_ref();
    let found = match *creds {
        AppCredentials::NamedApp { owner_id, app_name, .. } => {
            match state.apps.by_owner_and_name(store, owner_id, app_name).await.map_err(store_err)? {
                Some(app) => Some(app),
                None => {
                    let owner = store.seller_by_id(owner_id).await.map_err(store_err)?;
                    return Err(if owner.is_none() { DomainError::OwnerNotFound } else { DomainError::AppNotFound });
                }
            }
        }
        AppCredentials::AppKey { app_id, .. } => state.apps.by_id(store, app_id).await.map_err(store_err)?,
        AppCredentials::WsKey { ws_key, .. } => state.apps.by_ws_key(store, ws_key).await.map_err(store_err)?,
    };
    found.ok_or(DomainError::AppNotFound)
}

/// Whether a client id is on the app's blacklist, as a device (HWID) or client-id entry.
fn client_id_blacklisted(app: &CachedApp, client_id: &str) -> bool {
    [BlacklistKind::Hwid, BlacklistKind::ClientId].into_iter().any(|kind| blacklisted(app, kind, client_id).is_some())
}

/// Steps 4–11 on a found app, with the caller's network facts looked up; then the request MAC,
/// which needs the secret the pipeline has just proven.
pub fn run_pipeline(
    state: &AppState,
    caller: &Caller,
    app: &CachedApp,
    presented: &Presented<'_>,
) -> Result<Option<UpdateNotice>, DomainError> {
    let facts = NetFacts {
        ip: caller.ip,
        blacklisted: ip_blacklisted(app, caller.ip),
        // Only looked up when the app asks: both are cheap, but not free.
        vpn: app.app.settings.block_vpn && state.net.is_vpn(caller.ip),
        country: if app.app.settings.blocked_countries.is_empty() { None } else { state.net.country(caller.ip) },
    };
    let update = pipeline::check(&app.app, &facts, presented, now())?;
    caller.check_mac(&app.app.api_key)?;
    Ok(update)
}

/// When a new session's `session.create` event is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    /// With the session's own insert (a start that answers the session).
    Now,
    /// With the sign-in the session was opened for, once it succeeds ([`super::Live::unannounced`]).
    WithSignIn,
}

/// Step 12: a new session, within the app's live-session quota.
///
/// `client_id` is recorded on the session when the credentials carried one.
pub async fn open_session(
    state: &AppState,
    caller: &Caller,
    app: &CachedApp,
    client_id: Option<&str>,
    announce: Announce,
) -> Result<Session, DomainError> {
    let at = now();
    let session = Session {
        id: ids::new_id(prefix::SESSION),
        app_id: app.app.id.clone(),
        token: ids::new_token(),
        user_id: None,
        license_id: None,
        ip: Some(caller.ip.to_string()),
        hwid: None,
        client_id: client_id.map(str::to_owned),
        created_at: at,
        expires_at: session_expiry(at),
        last_seen: at,
    };
    let events = match announce {
        Announce::Now => vec![Event::session_create(&session, at)],
        Announce::WithSignIn => Vec::new(),
    };
    match app.app.settings.session_quota {
        // Counted and inserted atomically: concurrent inits cannot pass the quota together.
        Some(quota) => {
            if !state.store.create_session_capped(&session, quota, at, &events).await.map_err(store_err)? {
                return Err(DomainError::SessionQuotaExceeded);
            }
        }
        // Group commit with the sessions of concurrent inits; answered once its batch commits.
        None => {
            if !state.sessions.submit((session.clone(), events)).await.map_err(store_err)? {
                // The app was deleted while this init ran.
                return Err(DomainError::AppNotFound);
            }
        }
    }
    Ok(session)
}
