//! Seller accounts: `/v1/auth/register|login|refresh|logout|profile`. The rules (tokens,
//! refresh chains, the sign-in throttle) are in [`crate::manage::sellers`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use tollgate_core::model::Seller;
use tollgate_core::time::rfc3339;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ok, ok_message, ClientIp, SellerAuth, ValidJson};
use crate::manage::sellers::TokenPair;
use crate::manage::{self, Actor};
use crate::state::AppState;

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

fn seller_json(s: &Seller, tokens: &TokenPair) -> serde_json::Value {
    json!({
        "id": s.id, "email": s.email, "name": s.name, "plan": s.plan,
        "accessToken": tokens.access, "refreshToken": tokens.refresh,
    })
}

/// Create a seller account.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", operation_id = "sellerRegister", request_body = RegisterBody,
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
    let seller = manage::sellers::create(&state, &body.email, &body.password, &body.name).await?;
    let tokens = manage::sellers::issue_tokens(&state, &seller.id, None).await?;
    Ok((StatusCode::CREATED, ok_message("Account created successfully", Some(seller_json(&seller, &tokens)))))
}

/// Log in with email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", operation_id = "sellerLogin", request_body = LoginBody,
    responses((status = 200, description = "Access and refresh tokens"), (status = 401, description = "Invalid credentials"),
              (status = 429, description = "Too many failed attempts from this address, with `Retry-After`"),
              (status = 503, description = "`SERVER_BUSY`: too many password checks at once, with `Retry-After`")))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<LoginBody>,
) -> ApiResult<impl IntoResponse> {
    let (seller, tokens) = manage::sellers::login(&state, ip, &body.email, body.password).await?;
    Ok(ok_message("Login successful", Some(seller_json(&seller, &tokens))))
}

/// Exchange a refresh token for a new pair; the old one is spent. Presenting a spent one again
/// revokes its whole chain and every access token of the seller.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, description = "New access and refresh tokens"), (status = 401, description = "Unknown, used, revoked or expired refresh token")))]
async fn refresh(
    State(state): State<AppState>,
    ValidJson(body): ValidJson<RefreshBody>,
) -> ApiResult<impl IntoResponse> {
    let tokens = manage::sellers::refresh(&state, &body.refresh_token).await?;
    Ok(ok(json!({ "accessToken": tokens.access, "refreshToken": tokens.refresh })))
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
    manage::sellers::logout(&state, &Actor::seller(&auth.seller_id, ip), &auth.seller_id, &body.refresh_token).await?;
    Ok(ok_message::<()>("Logged out", None))
}

/// The signed-in seller.
#[utoipa::path(get, path = "/v1/auth/profile", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "Seller profile"), (status = 401, description = "Missing or invalid token")))]
async fn profile(State(state): State<AppState>, auth: SellerAuth) -> ApiResult<impl IntoResponse> {
    let s = manage::sellers::profile(&state, &auth.seller_id).await?;
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
    manage::sellers::delete_account(&state, ip, &auth.seller_id, body.password).await?;
    Ok(ok_message::<()>("Account deleted", None))
}
