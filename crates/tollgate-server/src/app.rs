//! Builds the store, the state and the Router from a `Config`. `tollgate serve` and the tests
//! build the server the same way.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tollgate_store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::config::{Config, DatabaseKind};
use crate::crypto::MasterKey;
use crate::error::ApiError;
use crate::state::AppState;
use crate::{admin, dialect, ops};

#[derive(OpenApi)]
#[openapi(
    info(title = "Tollgate", description = "Self-hosted licensing and authentication server: seller and admin API, and the client API."),
    modifiers(&BearerAuth),
    paths(ops::healthz, ops::readyz, ops::metrics, ops::openapi_json),
    tags(
        (name = "auth", description = "Seller accounts"),
        (name = "apps", description = "Applications and their settings"),
        (name = "licenses", description = "License keys"),
        (name = "users", description = "End users of an app"),
        (name = "variables", description = "App variables"),
        (name = "blacklist", description = "Blocked IPs, HWIDs, usernames, client ids"),
        (name = "sessions", description = "Live client sessions"),
        (name = "resellers", description = "Resellers and their balances"),
        (name = "files", description = "Encrypted downloadable files"),
        (name = "webhooks", description = "Webhook definitions"),
        (name = "logs", description = "Client log messages"),
        (name = "audit", description = "The audit trail of admin actions"),
        (name = "chats", description = "Chat channels, their messages and mutes"),
        (name = "devices", description = "Device licenses (motherboard or processor ids)"),
        (name = "builder", description = "Loaders built for an app from prebuilt templates (docs/builder.md)"),
        (name = "ops", description = "Liveness, readiness, metrics and this document"),
        (name = "authly", description = "Client API, Authly v2 dialect: every answer signed (docs/dialects/authly.md)")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Open the database the URL names, running migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match config.database {
        DatabaseKind::Sqlite => {
            let store = tollgate_sqlite::SqliteStore::open_with_cache(
                &config.database_url,
                config.db_pool_size,
                config.sqlite_cache_mib,
            )
            .await?;
            Ok(Arc::new(store))
        }
        DatabaseKind::Postgres => {
            let store = tollgate_postgres::PgStore::connect(&config.database_url, config.db_pool_size).await?;
            Ok(Arc::new(store))
        }
    }
}

/// Everything a running server needs, from a config; creates the data directory (0700) and the
/// master key when missing, and makes what is in the directory private (0600 files, 0700
/// folders), repairing older installs.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    create_data_dir(&config.data_dir)?;
    build(config).await
}

/// Like `build_state`, for operator commands: the data directory, the master key it would hold
/// and the SQLite database must already exist. Run from the wrong folder, a command would
/// otherwise make a new master key and database and print answers from them.
pub async fn open_existing(config: Config) -> anyhow::Result<AppState> {
    let dir = &config.data_dir;
    let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
    let key_from_dir = config.master_key.is_none() && config.master_key_file.is_none();
    let sqlite_in_dir = config.database == DatabaseKind::Sqlite;
    if (key_from_dir || sqlite_in_dir) && !dir.is_dir() {
        anyhow::bail!(
            "no data directory at {}: run this command where `tollgate serve` keeps its data, pass --data-dir, or run `tollgate migrate` first to start a new one",
            shown.display()
        );
    }
    if key_from_dir && !dir.join(crate::crypto::MASTER_KEY_FILE).is_file() {
        anyhow::bail!(
            "no master key in the data directory {} (expected {}): refusing to make a new one; pass --data-dir, --master-key-file or TOLLGATE_MASTER_KEY",
            shown.display(),
            crate::crypto::MASTER_KEY_FILE
        );
    }
    if let Some(db) = crate::cli::sqlite_path(&config.database_url).filter(|_| sqlite_in_dir) {
        if !db.is_file() {
            anyhow::bail!(
                "no database at {} (data directory {}): pass --data-dir or --database-url",
                db.display(),
                shown.display()
            );
        }
    }
    build(config).await
}

async fn build(config: Config) -> anyhow::Result<AppState> {
    let master = MasterKey::load(&config.key_source())?;
    let net = crate::netpolicy::NetPolicy::load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = open_store(&config).await?;
    if config.data_dir.is_dir() {
        make_private(&config.data_dir);
    }
    let signer = crate::signing::Signer::load_or_create(store.as_ref(), &master).await?;
    let webhooks = crate::webhooks::Webhooks::new(&config.webhooks, &master)?;
    Ok(AppState::new(store, config, master, signer, net, webhooks))
}

/// Create the data directory, readable by its owner only.
pub fn create_data_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| anyhow::anyhow!("invalid setting `data_dir`: cannot create {}: {e}", dir.display()))
}

/// The data directory and everything in it private to the owner: folders 0700, files 0600
/// (the database and its WAL hold API keys and webhook secrets). Failures are logged, not fatal.
pub fn make_private(dir: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fn walk(path: &std::path::Path, depth: u32) {
            let Ok(meta) = std::fs::symlink_metadata(path) else { return };
            let mode = if meta.is_dir() {
                0o700
            } else if meta.is_file() {
                0o600
            } else {
                return;
            };
            if meta.permissions().mode() & 0o777 != mode {
                if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot make private");
                }
            }
            if meta.is_dir() && depth < 8 {
                if let Ok(entries) = std::fs::read_dir(path) {
                    for entry in entries.flatten() {
                        walk(&entry.path(), depth + 1);
                    }
                }
            }
        }
        walk(dir, 0);
    }
    #[cfg(not(unix))]
    let _ = dir;
}

pub fn router(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(admin::router())
        .merge(crate::builder::router())
        .merge(crate::reseller::router())
        .merge(dialect::authly::router(state.clone()))
        .merge(crate::download::router())
        .split_for_parts();
    let mut openapi = openapi;
    crate::openapi::complete_responses(&mut openapi);
    let openapi = Arc::new(openapi);
    let body_limit = state.config.max_body_bytes;
    api.merge(dialect::authon::router())
        .merge(dialect::blaze::router())
        .merge(crate::web::router(state.clone()))
        .route("/openapi.json", get(move || ops::openapi_json(openapi.clone())))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { ApiError::not_found("Route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "Method not allowed")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), ops::track_metrics))
        .layer(axum::middleware::from_fn(ops::security_headers))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // query values are never logged: license keys and tokens travel there
            tracing::debug_span!(
                "request",
                method = %req.method(),
                uri = %ops::redacted_uri(req.uri()),
                version = ?req.version(),
            )
        }))
        .layer(CatchPanicLayer::custom(|_| -> Response {
            tracing::error!("handler panicked");
            ApiError::internal().into_response()
        }))
        .with_state(state)
}

/// How long finished webhook deliveries (delivered or failed for good) stay in the delivery log.
pub const DELIVERY_LOG_DAYS: i64 = 30;

/// Spawn the background workers: expired sessions, resume records and nonces purged, rate-limit
/// state trimmed, finished webhook deliveries older than [`DELIVERY_LOG_DAYS`] deleted; and the
/// listener that turns a seller's actions into kicks and events on live WebSocket connections.
/// How often recorded request latencies are folded into their histogram buckets.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

pub fn spawn_workers(state: &AppState) {
    crate::cache::spawn_invalidation_listener(state.store.clone(), state.apps.clone());
    // Request latencies folded into their buckets, so unscraped metrics do not grow.
    let metrics = state.metrics.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(METRICS_UPKEEP);
        loop {
            tick.tick().await;
            metrics.upkeep();
        }
    });
    // A seller's actions reaching the live WebSocket connections of this process.
    crate::dialect::blaze::hub::spawn_listener(state);
    // Signing-key rotations: at once when announced, and checked every minute besides.
    let (store, signer, master) = (state.store.clone(), state.signer.clone(), state.master.clone());
    let mut feed = store.subscribe();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                got = feed.recv() => match got {
                    Ok(
                        tollgate_store::Invalidation::App(_)
                        | tollgate_store::Invalidation::Variables(_)
                        | tollgate_store::Invalidation::Seller(_)
                        | tollgate_store::Invalidation::Live { .. },
                    ) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    Ok(_) | Err(_) => {}
                },
                _ = tick.tick() => {}
            }
            signer.refresh(store.as_ref(), &master).await;
        }
    });
    // Client activity for the overview, written in one batch every few seconds.
    let activity = state.activity.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::client::activity::FLUSH_EVERY);
        loop {
            tick.tick().await;
            activity.flush().await;
        }
    });
    let store = state.store.clone();
    let limiter = state.client_limiter.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = tollgate_core::time::now();
            match store.purge_expired_sessions(now).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(purged = n, "expired sessions removed"),
                Err(e) => tracing::warn!(error = %e, "session purge failed"),
            }
            match store.purge_resumes(now).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(purged = n, "expired resume records removed"),
                Err(e) => tracing::warn!(error = %e, "resume record purge failed"),
            }
            if let Err(e) = store.purge_nonces(now).await {
                tracing::warn!(error = %e, "nonce purge failed");
            }
            match store.purge_deliveries(now - chrono::Duration::days(DELIVERY_LOG_DAYS)).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(purged = n, "old webhook deliveries removed"),
                Err(e) => tracing::warn!(error = %e, "webhook delivery purge failed"),
            }
            let retention = (
                now - chrono::Duration::milliseconds(tollgate_store::REFUSED_KEPT_MS),
                tollgate_store::REFUSED_KEPT_PER_APP,
                now - chrono::Duration::milliseconds(tollgate_store::COUNTS_KEPT_MS),
            );
            match store.purge_activity(retention.0, retention.1, retention.2).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(purged = n, "old client activity removed"),
                Err(e) => tracing::warn!(error = %e, "client activity purge failed"),
            }
            if let Some(limiter) = &limiter {
                limiter.retain_recent();
            }
        }
    });
}

/// Serve on an already bound listener until `shutdown` resolves, then drain in-flight requests.
/// The webhook delivery worker runs as long as the server does.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    spawn_workers(&state);
    let (stop_worker, stopped) = tokio::sync::watch::channel(false);
    let worker = crate::webhooks::worker::spawn(&state, stopped);
    let shutdown = async move {
        shutdown.await;
        let _ = stop_worker.send(true);
    };
    let limits = crate::conn::Limits {
        header_read_timeout: state.config.header_read_timeout,
        body_timeout: state.config.body_timeout,
        idle_timeout: state.config.idle_timeout,
        max_connections: state.config.max_connections,
    };
    let activity = state.activity.clone();
    let app = router(state);
    let served = crate::conn::serve(listener, app, limits, shutdown).await;
    // What the last requests did, before the process goes.
    activity.flush().await;
    // the shutdown future is gone either way, so the worker is stopping
    let _ = worker.await;
    served?;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
