//! Shared state handed to every handler.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tollgate_core::events::Event;
use tollgate_core::model::{AuditEntry, Session};
use tollgate_core::throttle::{LoginThrottle, ThrottleRule};
use tollgate_core::time::Timestamp;
use tollgate_store::Store;

use crate::batch::Batcher;
use crate::cache::AppCache;
use crate::config::Config;
use crate::crypto::MasterKey;
use crate::metrics::Metrics;
use crate::netpolicy::NetPolicy;
use crate::signing::{Signer, SignerCell};

/// Shared state handed to every handler: one reference count to bump per request, however many
/// parts it has (axum clones the state for every extractor that asks for it).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub store: Arc<dyn Store>,
    /// Apps and blacklists as client requests read them; see `cache`.
    pub apps: Arc<AppCache>,
    pub config: Arc<Config>,
    pub master: Arc<MasterKey>,
    pub tokens: Arc<TokenService>,
    pub metrics: Arc<Metrics>,
    /// Seller and reseller password checks (login, account deletion): 10 per account and
    /// address, 30 per address over both, the account slowed down across addresses
    /// (`tollgate_core::throttle`).
    pub seller_throttle: Arc<LoginThrottle>,
    /// Signs every client-API answer, so a client can spot a forged server; the active key when
    /// this process started.
    pub signer: Arc<SignerCell>,
    /// VPN ranges and the country database (init pipeline steps 7 and 8).
    pub net: Arc<NetPolicy>,
    /// End-user logins and password changes: 10 per account and address, 100 per app and
    /// address (many users can share one address behind a NAT, so this only stops a spray), the
    /// account slowed down across addresses.
    pub login_throttle: Arc<LoginThrottle>,
    /// The one argon2 gate every password hash and check goes through (`crate::password`).
    pub passwords: Arc<crate::password::PasswordGate>,
    /// Client API requests per IP; `None` when turned off.
    pub client_limiter: Option<Arc<ClientLimiter>>,
    /// Webhook sending: the HTTP client, the secrets' key and the in-flight cap.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// The live Blazeauth WebSocket connections of this process.
    pub hub: Arc<crate::dialect::blaze::hub::Hub>,
    /// Addresses whose WebSocket hit `--ws-rate-limit`, held back for a while.
    pub ws_backoff: Arc<crate::dialect::blaze::limits::Backoff>,
    /// One permit per open WebSocket connection, `ws.max_connections` in all.
    pub ws_slots: Arc<tokio::sync::Semaphore>,
    /// Client activity (inits, logins, registrations, refusals) pending its next write.
    pub activity: Arc<crate::client::activity::ActivityRecorder>,
    /// The request nonces of the replay defence, written in group commits: one transaction for
    /// the nonces of every request that arrived while the previous one committed.
    pub nonces: Arc<Batcher<(String, Timestamp), bool>>,
    /// New client sessions (of apps without a session quota) with their events, written in
    /// group commits the same way.
    pub sessions: Arc<Batcher<(Session, Vec<Event>), bool>>,
    /// The sessions client requests name, read together: one query for the tokens of every
    /// request that arrived while the previous read ran.
    pub session_reads: Arc<Batcher<String, Option<Session>>>,
}

/// Nonces written in one transaction at most.
const NONCE_BATCH: usize = 512;
/// Sessions written in one transaction at most.
const SESSION_BATCH: usize = 128;
/// Sessions read in one query at most.
const SESSION_READ_BATCH: usize = 256;
/// Session reads in the database at once, at most.
const SESSION_READERS: usize = 4;

/// A per-IP token bucket (governor's keyed limiter).
pub type ClientLimiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        config: Config,
        master: MasterKey,
        signer: Signer,
        net: NetPolicy,
        webhooks: crate::webhooks::Webhooks,
    ) -> AppState {
        let tokens = TokenService::new(&master.derive("jwt"));
        let ws_max_connections = config.ws.max_connections.min(tokio::sync::Semaphore::MAX_PERMITS);
        let apps = Arc::new(AppCache::default());
        let metrics = Arc::new(Metrics::default());
        let activity = Arc::new(crate::client::activity::ActivityRecorder::new(store.clone(), metrics.clone()));
        let client_limiter = std::num::NonZeroU32::new(config.client_rate_limit).map(|rate| {
            let burst = std::num::NonZeroU32::new(rate.get().saturating_mul(10)).unwrap_or(rate);
            Arc::new(governor::RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst)))
        });
        let nonces = {
            let store = store.clone();
            Arc::new(Batcher::new(NONCE_BATCH, 1, move |batch: Vec<(String, Timestamp)>| {
                let store = store.clone();
                async move { store.remember_nonces(&batch).await }
            }))
        };
        let sessions = {
            let store = store.clone();
            Arc::new(Batcher::new(SESSION_BATCH, 1, move |batch: Vec<(Session, Vec<Event>)>| {
                let store = store.clone();
                async move { store.create_sessions(&batch).await }
            }))
        };
        let session_reads = {
            let store = store.clone();
            Arc::new(Batcher::new(SESSION_READ_BATCH, SESSION_READERS, move |tokens: Vec<String>| {
                let store = store.clone();
                async move { store.sessions_by_tokens_any(&tokens).await }
            }))
        };
        AppState(Arc::new(Shared {
            nonces,
            sessions,
            session_reads,
            signer: Arc::new(SignerCell::new(signer)),
            net: Arc::new(net),
            login_throttle: Arc::new(LoginThrottle::new(ThrottleRule::login(100))),
            client_limiter,
            passwords: Arc::new(crate::password::PasswordGate::default()),
            apps,
            store,
            config: Arc::new(config),
            master: Arc::new(master),
            tokens: Arc::new(tokens),
            metrics,
            activity,
            seller_throttle: Arc::new(LoginThrottle::new(ThrottleRule::login(30))),
            webhooks: Arc::new(webhooks),
            hub: Arc::new(crate::dialect::blaze::hub::Hub::default()),
            ws_backoff: Arc::new(crate::dialect::blaze::limits::Backoff::default()),
            ws_slots: Arc::new(tokio::sync::Semaphore::new(ws_max_connections)),
        }))
    }

    /// Drop the seller's cached token generation here at once and on every other process: after
    /// a logout, a detected refresh-token reuse or the seller's deletion.
    pub async fn invalidate_seller(&self, seller_id: &str) {
        self.invalidate(tollgate_store::Invalidation::Seller(seller_id.to_owned())).await;
    }

    /// Drop the app from this process's cache at once, and tell every other process sharing the
    /// database.
    pub async fn invalidate_app(&self, app_id: &str) {
        self.invalidate(tollgate_store::Invalidation::App(app_id.to_owned())).await;
    }

    /// Drop the app's cached variables here at once, and on every other process sharing the
    /// database as soon as the notification arrives.
    pub async fn invalidate_variables(&self, app_id: &str) {
        self.invalidate(tollgate_store::Invalidation::Variables(app_id.to_owned())).await;
    }

    /// Apply `inv` to this process's cache at once, then publish it to every process sharing the
    /// database. A failed notification is logged: the change itself is committed.
    async fn invalidate(&self, inv: tollgate_store::Invalidation) {
        self.apps.invalidate(&inv);
        if let Err(e) = self.store.publish(&inv).await {
            tracing::error!(error = %e, "could not publish a cache invalidation");
        }
    }

    /// Record an admin action. A failure to write the trail is logged, not returned: the action
    /// itself has already happened.
    pub async fn audit(
        &self,
        seller_id: &str,
        action: &str,
        app_id: Option<&str>,
        target: Option<&str>,
        ip: std::net::IpAddr,
    ) {
        let entry = AuditEntry {
            id: tollgate_core::ids::new_id(tollgate_core::ids::prefix::AUDIT),
            seller_id: seller_id.to_owned(),
            actor: seller_id.to_owned(),
            action: action.to_owned(),
            target: target.map(str::to_owned),
            app_id: app_id.map(str::to_owned),
            ip: Some(ip.to_string()),
            created_at: tollgate_core::time::now(),
        };
        if let Err(e) = self.store.append_audit(&entry).await {
            tracing::error!(error = %e, action, "could not write audit entry");
        }
    }
}

pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
pub const RESELLER_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a dashboard sign-in lasts: the session cookie's token and its `Max-Age`.
pub const WEB_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    /// `access` (seller) or `reseller`; a token of one kind is refused where the other is expected.
    typ: String,
    iat: u64,
    exp: u64,
    /// App a reseller token is scoped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app: Option<String>,
    /// The seller's token generation when an access token was issued; the token is refused once
    /// the generation has moved on (logout, a reused refresh token).
    #[serde(default)]
    gen: i64,
}

/// Short-lived JWTs (HS256, key derived from the master key so every node accepts them).
pub struct TokenService {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
}

impl TokenService {
    pub fn new(key: &[u8; 32]) -> TokenService {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenService { enc: EncodingKey::from_secret(key), dec: DecodingKey::from_secret(key), validation }
    }

    fn issue(&self, sub: &str, typ: &str, app: Option<&str>, gen: i64, ttl: Duration) -> String {
        let iat = chrono::Utc::now().timestamp().max(0) as u64;
        let claims = Claims {
            sub: sub.to_owned(),
            typ: typ.to_owned(),
            iat,
            exp: iat + ttl.as_secs(),
            app: app.map(str::to_owned),
            gen,
        };
        // Encoding HS256 with a valid key cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.enc).unwrap_or_default()
    }

    fn verify(&self, token: &str, typ: &str) -> Option<Claims> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.dec, &self.validation).ok()?;
        (data.claims.typ == typ).then_some(data.claims)
    }

    /// An access token of the seller's current token generation.
    pub fn issue_access(&self, seller_id: &str, generation: i64) -> String {
        self.issue(seller_id, "access", None, generation, ACCESS_TOKEN_TTL)
    }

    /// `(seller_id, token generation)` of a valid, unexpired access token.
    pub fn verify_access(&self, token: &str) -> Option<(String, i64)> {
        self.verify(token, "access").map(|c| (c.sub, c.gen))
    }

    /// A dashboard session token (the `tollgate_session` cookie) of the seller's current token
    /// generation: refused as an API bearer token, and an API token is refused as a cookie.
    pub fn issue_web(&self, seller_id: &str, generation: i64) -> String {
        self.issue(seller_id, "web", None, generation, WEB_SESSION_TTL)
    }

    /// `(seller_id, token generation)` of a valid, unexpired dashboard session token.
    pub fn verify_web(&self, token: &str) -> Option<(String, i64)> {
        self.verify(token, "web").map(|c| (c.sub, c.gen))
    }

    /// A reseller token for one app, carrying the reseller's credential generation (see
    /// `manage::resellers::credential_generation`): a password change makes it stale.
    pub fn issue_reseller(&self, reseller_id: &str, app_id: &str, generation: i64) -> String {
        self.issue(reseller_id, "reseller", Some(app_id), generation, RESELLER_TOKEN_TTL)
    }

    /// `(reseller_id, app_id, credential generation)` of a valid, unexpired reseller token.
    pub fn verify_reseller(&self, token: &str) -> Option<(String, String, i64)> {
        let c = self.verify(token, "reseller")?;
        Some((c.sub, c.app?, c.gen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_kind_and_key() {
        let t = TokenService::new(&[7u8; 32]);
        let access = t.issue_access("seller_1", 3);
        assert_eq!(t.verify_access(&access), Some(("seller_1".into(), 3)));
        assert_eq!(t.verify_reseller(&access), None);
        let r = t.issue_reseller("rsl_1", "app_1", -7);
        assert_eq!(t.verify_reseller(&r), Some(("rsl_1".into(), "app_1".into(), -7)));
        assert_eq!(t.verify_access(&r), None);
        let web = t.issue_web("seller_1", 3);
        assert_eq!(t.verify_web(&web), Some(("seller_1".into(), 3)));
        assert_eq!(t.verify_access(&web), None);
        assert_eq!(t.verify_web(&access), None);
        let other = TokenService::new(&[8u8; 32]);
        assert_eq!(other.verify_access(&access), None);
        assert_eq!(t.verify_access("garbage"), None);
    }
}
