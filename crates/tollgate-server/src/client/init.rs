//! Init: find the app, run the security pipeline, open a session.

use std::sync::Arc;

use tollgate_core::ids::{self, prefix};
use tollgate_core::model::Session;
use tollgate_core::pipeline::{self, Presented};
use tollgate_core::time::now;
use tollgate_core::version::UpdateNotice;
use tollgate_core::DomainError;

use super::{ip_blacklisted, session_expiry, store_err, Caller};
use crate::cache::CachedApp;
use crate::state::AppState;

/// Init as Authly asks it: the app by owner and exact name, proven by its secret.
pub struct InitRequest<'a> {
    pub owner_id: &'a str,
    pub app_name: &'a str,
    pub secret: &'a str,
    pub version: &'a str,
    pub hash: Option<&'a str>,
}

pub struct Opened {
    pub session: Session,
    pub app: Arc<CachedApp>,
    pub update: Option<UpdateNotice>,
}

/// Steps 2–12 of the init pipeline (owner, app, status, IP blacklist/whitelist, VPN, country, hash,
/// secret, version, session); the dialect has done step 1, fields present.
pub async fn init(state: &AppState, caller: &Caller, req: &InitRequest<'_>) -> Result<Opened, DomainError> {
    let store = state.store.as_ref();
    // 2–3. A cached app proves its owner exists (apps are deleted with their seller); only a
    // miss costs the owner lookup that tells the two errors apart.
    let app = match state.apps.by_owner_and_name(store, req.owner_id, req.app_name).await.map_err(store_err)? {
        Some(app) => app,
        None => {
            let owner = store.seller_by_id(req.owner_id).await.map_err(store_err)?;
            return Err(if owner.is_none() { DomainError::OwnerNotFound } else { DomainError::AppNotFound });
        }
    };
    let presented = Presented { secret: Some(req.secret), version: req.version, hash: req.hash };
    let update = run_pipeline(state, caller, &app, &presented)?;
    let session = open_session(state, caller, &app).await?;
    Ok(Opened { session, app, update })
}

/// Steps 4–11 on a found app, with the caller's network facts looked up; then the request MAC,
/// which needs the secret the pipeline has just proven.
pub fn run_pipeline(
    state: &AppState,
    caller: &Caller,
    app: &CachedApp,
    presented: &Presented<'_>,
) -> Result<Option<UpdateNotice>, DomainError> {
    let facts = pipeline::Caller {
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

/// Step 12: a new session, within the app's live-session quota.
pub async fn open_session(state: &AppState, caller: &Caller, app: &CachedApp) -> Result<Session, DomainError> {
    let at = now();
    let session = Session {
        id: ids::new_id(prefix::SESSION),
        app_id: app.app.id.clone(),
        token: ids::new_token(),
        user_id: None,
        license_id: None,
        ip: Some(caller.ip.to_string()),
        hwid: None,
        client_id: None,
        created_at: at,
        expires_at: session_expiry(at),
        last_seen: at,
    };
    match app.app.settings.session_quota {
        // Counted and inserted atomically: concurrent inits cannot pass the quota together.
        Some(quota) => {
            if !state.store.create_session_capped(&session, quota, at).await.map_err(store_err)? {
                return Err(DomainError::SessionQuotaExceeded);
            }
        }
        None => state.store.create_session(&session).await.map_err(store_err)?,
    }
    Ok(session)
}
