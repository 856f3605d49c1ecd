//! Seller accounts: `/v1/auth/register|login|refresh|profile` (Authon seed 002 §Auth API).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use std::time::Instant;
use tollgate_core::model::{RefreshToken, Seller};
use tollgate_core::time::{now, rfc3339};
use tollgate_core::{ids, password, validate, DomainError};
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
        .routes(routes!(profile))
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

/// Validate and create a seller account (also used by `tollgate seller create`).
pub async fn create_seller(state: &AppState, email: &str, pass: &str, name: &str) -> ApiResult<Seller> {
    let email = validate::email("email", email)?;
    validate::strong_password("password", pass)?;
    let name = validate::nonempty_text("name", name, 100)?;
    let hash = hash_password(pass.to_owned()).await?;
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

/// argon2id off the async runtime: it takes tens of milliseconds of CPU by design.
pub async fn hash_password(p: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&p))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|_| ApiError::internal())
}

pub async fn verify_password(p: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || password::verify(&p, &phc)).await.unwrap_or(false)
}

async fn issue_pair(state: &AppState, seller_id: &str) -> ApiResult<(String, String)> {
    let refresh = ids::new_token();
    let created = now();
    let rt = RefreshToken {
        id: ids::new_id(ids::prefix::REFRESH),
        seller_id: seller_id.to_owned(),
        token_hash: sha256_hex(&refresh),
        created_at: created,
        expires_at: created + chrono::Duration::from_std(REFRESH_TOKEN_TTL).unwrap_or_default(),
    };
    state.store.insert_refresh_token(&rt).await?;
    Ok((state.tokens.issue_access(seller_id), refresh))
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
    let (access, refresh) = issue_pair(&state, &seller.id).await?;
    Ok((StatusCode::CREATED, ok_message("Account created successfully", Some(seller_json(&seller, &access, &refresh)))))
}

/// Log in with email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, description = "Access and refresh tokens"), (status = 401, description = "Invalid credentials"),
              (status = 429, description = "Too many failed attempts")))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<LoginBody>,
) -> ApiResult<impl IntoResponse> {
    let email = body.email.trim().to_lowercase();
    let keys = [format!("email:{email}"), format!("ip:{ip}")];
    let t = Instant::now();
    for k in &keys {
        state.seller_throttle.check(k, t).map_err(|secs| DomainError::RateLimited { retry_after_secs: secs })?;
    }
    let seller = state.store.seller_by_email(&email).await?;
    // Verify against a dummy hash when there is no such seller so timing does not tell.
    let phc = seller.as_ref().map(|s| s.password_hash.clone()).unwrap_or_else(|| password::dummy_hash().to_owned());
    let good = verify_password(body.password, phc).await;
    let seller = match (good, seller) {
        (true, Some(s)) => s,
        _ => {
            for k in &keys {
                state.seller_throttle.record_failure(k, Instant::now());
            }
            return Err(ApiError::unauthorized("Invalid email or password"));
        }
    };
    state.seller_throttle.record_success(&keys[0]);
    let (access, refresh) = issue_pair(&state, &seller.id).await?;
    Ok(ok_message("Login successful", Some(seller_json(&seller, &access, &refresh))))
}

/// Exchange a refresh token for a new pair; the old one is spent.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, description = "New access and refresh tokens"), (status = 401, description = "Unknown, used or expired refresh token")))]
async fn refresh(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<RefreshBody>,
) -> ApiResult<impl IntoResponse> {
    let seller_id = state
        .store
        .consume_refresh_token(&sha256_hex(body.refresh_token.trim()), now())
        .await?
        .ok_or_else(|| ApiError::unauthorized("Invalid or expired refresh token"))?;
    let (access, refresh) = issue_pair(&state, &seller_id).await?;
    Ok(ok(json!({ "accessToken": access, "refreshToken": refresh })))
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
