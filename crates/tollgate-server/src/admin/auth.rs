//! Seller accounts: `/v1/auth/register|login|refresh|logout|profile`.
//!
//! Access tokens are short-lived JWTs carrying the seller's token generation; refresh tokens are
//! single-use and chained (a login starts a chain, each refresh continues it). Presenting a
//! spent refresh token revokes its chain and moves the generation on, so the thief's and the
//! owner's tokens alike stop working.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use std::time::Instant;
use tollgate_core::model::{RefreshToken, Seller};
use tollgate_core::throttle::AttemptKeys;
use tollgate_core::time::{now, rfc3339};
use tollgate_core::{ids, password, validate, DomainError};
use tollgate_store::RefreshUse;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::crypto::sha256_hex;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ok, ok_message, ClientIp, SellerAuth, ValidJson};
use crate::state::{AppState, REFRESH_TOKEN_TTL};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(profile, delete_profile))
}

#[derive(Deserialize, ToSchema)]
pub struct RegisterBody {
    /// An email address.
    #[schema(max_length = 254)]
    pub email: String,
    /// 8 to 1024 characters.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct DeleteProfileBody {
    pub password: String,
}

/// Validate and create a seller account (also used by `tollgate seller create`).
pub async fn create_seller(state: &AppState, email: &str, pass: &str, name: &str) -> ApiResult<Seller> {
    let email = validate::email("email", email)?;
    validate::strong_password("password", pass)?;
    let name = validate::nonempty_text("name", name, 100)?;
    let hash = hash_password(state, pass.to_owned()).await?;
    let seller = Seller {
        id: ids::new_id(ids::prefix::SELLER),
        email,
        name,
        password_hash: hash,
        plan: "FREE".to_owned(),
        created_at: now(),
    };
    state.store.create_seller(&seller).await?;
    Ok(seller)
}

fn gate_err(e: crate::password::GateError) -> ApiError {
    match e {
        crate::password::GateError::Busy => ApiError::busy(),
        crate::password::GateError::Failed => ApiError::internal(),
    }
}

/// argon2id through the process's one gate (`crate::password`): `503 SERVER_BUSY` when full.
pub async fn hash_password(state: &AppState, p: String) -> ApiResult<String> {
    state.passwords.hash(p).await.map_err(gate_err)
}

/// Check a password through the gate, counted in the metrics.
pub async fn verify_password(state: &AppState, p: String, phc: String) -> ApiResult<bool> {
    let r = state.passwords.verify(p, phc).await.map_err(|e| match e {
        crate::password::GateError::Busy => DomainError::Busy,
        crate::password::GateError::Failed => DomainError::Internal,
    });
    state.metrics.password_checked(&r);
    Ok(r?)
}

/// A new access token and the next refresh token of `chain_id` (a new chain when `None`).
async fn issue_pair(state: &AppState, seller_id: &str, chain_id: Option<String>) -> ApiResult<(String, String)> {
    let generation = state
        .apps
        .seller_generation(state.store.as_ref(), seller_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("Account no longer exists"))?;
    let refresh = ids::new_token();
    let created = now();
    let id = ids::new_id(ids::prefix::REFRESH);
    let rt = RefreshToken {
        chain_id: chain_id.unwrap_or_else(|| id.clone()),
        id,
        seller_id: seller_id.to_owned(),
        token_hash: sha256_hex(&refresh),
        created_at: created,
        expires_at: created + chrono::Duration::from_std(REFRESH_TOKEN_TTL).unwrap_or_default(),
    };
    state.store.insert_refresh_token(&rt).await?;
    Ok((state.tokens.issue_access(seller_id, generation), refresh))
}

/// Check a seller's password with the failed-attempt throttle: counted before the check,
/// settled after it. `Ok(None)` for a wrong password or unknown email (the attempt stays
/// counted), `Err` 429 when this address or this account-from-this-address is over its limit.
async fn check_seller_password(
    state: &AppState,
    ip: std::net::IpAddr,
    email: &str,
    password: String,
) -> ApiResult<Option<Seller>> {
    let keys = AttemptKeys { account: format!("seller\u{0}{email}"), address: format!("ip\u{0}{ip}") };
    let attempt = state
        .seller_throttle
        .reserve(keys, Instant::now())
        .map_err(|secs| DomainError::RateLimited { retry_after_secs: secs })?;
    // Guessed at from many addresses: wait, holding no argon2 slot (never refused).
    if !attempt.delay().is_zero() {
        tokio::time::sleep(attempt.delay()).await;
    }
    let seller = state.store.seller_by_email(email).await?;
    // Verify against a dummy hash when there is no such seller so timing does not tell.
    let phc = seller.as_ref().map(|s| s.password_hash.clone()).unwrap_or_else(|| password::dummy_hash().to_owned());
    let good = verify_password(state, password, phc).await?;
    match (good, seller) {
        (true, Some(s)) => {
            attempt.succeeded();
            Ok(Some(s))
        }
        _ => {
            attempt.failed();
            Ok(None)
        }
    }
}

fn seller_json(s: &Seller, access: &str, refresh: &str) -> serde_json::Value {
    json!({
        "id": s.id, "email": s.email, "name": s.name, "plan": s.plan,
        "accessToken": access, "refreshToken": refresh,
    })
}

/// Create a seller account.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses((status = 201, description = "Account created, with access and refresh tokens"),
              (status = 400, description = "Invalid field"), (status = 403, description = "Sign-up is closed"),
              (status = 409, description = "Email taken")))]
async fn register(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<RegisterBody>,
) -> ApiResult<impl IntoResponse> {
    if state.config.seller_signup == crate::config::SellerSignup::Closed {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "SIGNUP_CLOSED", "Seller sign-up is closed on this server"));
    }
    let seller = create_seller(&state, &body.email, &body.password, &body.name).await?;
    let (access, refresh) = issue_pair(&state, &seller.id, None).await?;
    Ok((StatusCode::CREATED, ok_message("Account created successfully", Some(seller_json(&seller, &access, &refresh)))))
}

/// Log in with email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, description = "Access and refresh tokens"), (status = 401, description = "Invalid credentials"),
              (status = 429, description = "Too many failed attempts from this address, with `Retry-After`"),
              (status = 503, description = "`SERVER_BUSY`: too many password checks at once, with `Retry-After`")))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<LoginBody>,
) -> ApiResult<impl IntoResponse> {
    let email = body.email.trim().to_lowercase();
    let seller = check_seller_password(&state, ip, &email, body.password)
        .await?
        .ok_or_else(|| ApiError::unauthorized("Invalid email or password"))?;
    let (access, refresh) = issue_pair(&state, &seller.id, None).await?;
    Ok(ok_message("Login successful", Some(seller_json(&seller, &access, &refresh))))
}

/// Exchange a refresh token for a new pair; the old one is spent. Presenting a spent one again
/// revokes its whole chain and every access token of the seller.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, description = "New access and refresh tokens"), (status = 401, description = "Unknown, used, revoked or expired refresh token")))]
async fn refresh(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<RefreshBody>,
) -> ApiResult<impl IntoResponse> {
    let invalid = || ApiError::unauthorized("Invalid or expired refresh token");
    match state.store.consume_refresh_token(&sha256_hex(body.refresh_token.trim()), now()).await? {
        RefreshUse::Fresh { seller_id, chain_id } => {
            let (access, refresh) = issue_pair(&state, &seller_id, Some(chain_id)).await?;
            Ok(ok(json!({ "accessToken": access, "refreshToken": refresh })))
        }
        RefreshUse::Reused { seller_id } => {
            // Someone holds a copy: the chain is revoked; access tokens issued from it die too.
            tracing::warn!(seller_id, "a spent refresh token was presented again; its chain is revoked");
            state.store.bump_seller_token_generation(&seller_id).await?;
            state.invalidate_seller(&seller_id).await;
            Err(invalid())
        }
        RefreshUse::Invalid => Err(invalid()),
    }
}

/// End a session: revoke the refresh chain of the given token. Every access token the seller
/// holds stops working too (other sessions get new ones through their own refresh tokens).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])), request_body = RefreshBody,
    responses((status = 200, description = "Logged out"), (status = 400, description = "Missing refreshToken"),
              (status = 401, description = "Missing or invalid access token, or a refresh token that is not this seller's")))]
async fn logout(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<RefreshBody>,
) -> ApiResult<impl IntoResponse> {
    let hash = sha256_hex(body.refresh_token.trim());
    if !state.store.revoke_refresh_chain(&auth.seller_id, &hash, now()).await? {
        return Err(ApiError::unauthorized("Invalid refresh token"));
    }
    state.store.bump_seller_token_generation(&auth.seller_id).await?;
    state.invalidate_seller(&auth.seller_id).await;
    state.audit(&auth.seller_id, "auth.logout", None, None, ip).await;
    Ok(ok_message::<()>("Logged out", None))
}

/// The signed-in seller.
#[utoipa::path(get, path = "/v1/auth/profile", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "Seller profile"), (status = 401, description = "Missing or invalid token")))]
async fn profile(State(state): State<AppState>, auth: SellerAuth) -> ApiResult<impl IntoResponse> {
    let s = state
        .store
        .seller_by_id(&auth.seller_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("Account no longer exists"))?;
    Ok(ok(json!({ "id": s.id, "email": s.email, "name": s.name, "plan": s.plan, "createdAt": rfc3339(&s.created_at) })))
}

/// Delete the signed-in seller's account and everything under it: apps, their licenses, users,
/// files (the encrypted blobs too), logs, refresh tokens. Needs the password.
#[utoipa::path(delete, path = "/v1/auth/profile", tag = "auth", security(("bearer" = [])), request_body = DeleteProfileBody,
    responses((status = 200, description = "Account deleted"), (status = 400, description = "Missing password"),
              (status = 401, description = "Missing or invalid token, or wrong password"),
              (status = 429, description = "Too many failed attempts, with `Retry-After`"),
              (status = 503, description = "`SERVER_BUSY`: too many password checks at once, with `Retry-After`")))]
async fn delete_profile(
    State(state): State<AppState>,
    auth: SellerAuth,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<DeleteProfileBody>,
) -> ApiResult<impl IntoResponse> {
    let seller = state
        .store
        .seller_by_id(&auth.seller_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("Account no longer exists"))?;
    // The same throttle as login, on the same account key.
    match check_seller_password(&state, ip, &seller.email.to_lowercase(), body.password).await? {
        Some(s) if s.id == seller.id => {}
        _ => return Err(ApiError::unauthorized("Invalid password")),
    }
    let apps = state.store.list_apps(&seller.id).await?;
    if !state.store.delete_seller(&seller.id).await? {
        return Err(ApiError::unauthorized("Account no longer exists"));
    }
    state.invalidate_seller(&seller.id).await;
    let vault = crate::files::FileVault::from_state(&state);
    for (app, _) in apps {
        state.invalidate_app(&app.id).await;
        // The rows are gone; now the encrypted blobs. A failure leaves orphaned ciphertext only.
        if let Err(e) = vault.remove_app(&app.id).await {
            tracing::warn!(error = %e, app_id = app.id, "could not remove a deleted seller's files");
        }
    }
    Ok(ok_message::<()>("Account deleted", None))
}
