//! Seller accounts: create (register), sign in, refresh and end sessions, delete.
//!
//! Access tokens are short-lived JWTs carrying the seller's token generation; refresh tokens are
//! single-use and chained (a sign-in starts a chain, each refresh continues it). Presenting a
//! spent refresh token revokes its chain and moves the generation on, so the thief's and the
//! owner's tokens alike stop working.

use std::net::IpAddr;
use std::time::Instant;

use tollgate_core::model::{RefreshToken, Seller};
use tollgate_core::throttle::AttemptKeys;
use tollgate_core::time::now;
use tollgate_core::{ids, password, validate, DomainError};
use tollgate_store::RefreshUse;

use super::{audit, verify_password, Actor, ManageError, ManageResult};
use crate::crypto::sha256_hex;
use crate::state::{AppState, REFRESH_TOKEN_TTL};

/// An access token and the refresh token that renews it.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

/// Validate and create a seller account; the password is hashed through the argon2 gate.
pub async fn create(state: &AppState, email: &str, pass: &str, name: &str) -> ManageResult<Seller> {
    let email = validate::email("email", email)?;
    validate::strong_password("password", pass)?;
    let name = validate::nonempty_text("name", name, 100)?;
    let hash = super::hash_password(state, pass.to_owned()).await?;
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

/// A new access token and the next refresh token of `chain_id` (a new chain when `None`).
pub async fn issue_tokens(state: &AppState, seller_id: &str, chain_id: Option<String>) -> ManageResult<TokenPair> {
    let generation = state
        .apps
        .seller_generation(state.store.as_ref(), seller_id)
        .await?
        .ok_or(ManageError::Unauthorized("Account no longer exists"))?;
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
    Ok(TokenPair { access: state.tokens.issue_access(seller_id, generation), refresh })
}

/// Check a seller's password with the failed-attempt throttle: counted before the check,
/// settled after it. `Ok(None)` for a wrong password or unknown email (the attempt stays
/// counted), `RateLimited` when this address or this account-from-this-address is over its
/// limit, `Busy` when the argon2 gate is full.
async fn check_password(state: &AppState, ip: IpAddr, email: &str, password: String) -> ManageResult<Option<Seller>> {
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

/// Check email and password under the sign-in throttle: the seller, or `Unauthorized`.
pub async fn authenticate(state: &AppState, ip: IpAddr, email: &str, password: String) -> ManageResult<Seller> {
    let email = email.trim().to_lowercase();
    check_password(state, ip, &email, password).await?.ok_or(ManageError::Unauthorized("Invalid email or password"))
}

/// Sign in with email and password: the seller and a new token chain.
pub async fn login(state: &AppState, ip: IpAddr, email: &str, password: String) -> ManageResult<(Seller, TokenPair)> {
    let seller = authenticate(state, ip, email, password).await?;
    let tokens = issue_tokens(state, &seller.id, None).await?;
    Ok((seller, tokens))
}

/// A dashboard session token for the seller, of their current token generation.
pub async fn issue_web_session(state: &AppState, seller_id: &str) -> ManageResult<String> {
    let generation = state
        .apps
        .seller_generation(state.store.as_ref(), seller_id)
        .await?
        .ok_or(ManageError::Unauthorized("Account no longer exists"))?;
    Ok(state.tokens.issue_web(seller_id, generation))
}

/// The seller a token of the seller's current generation names: `verify` checks the token and
/// gives `(seller_id, generation)`. `Unauthorized` for an invalid, expired or revoked token.
pub async fn seller_of_token(state: &AppState, verified: Option<(String, i64)>) -> ManageResult<String> {
    let (seller_id, generation) = verified.ok_or(ManageError::Unauthorized("Invalid or expired token"))?;
    match state.apps.seller_generation(state.store.as_ref(), &seller_id).await? {
        Some(current) if current == generation => Ok(seller_id),
        Some(_) => Err(ManageError::Unauthorized("Token has been revoked")),
        None => Err(ManageError::Unauthorized("Account no longer exists")),
    }
}

/// Sign the seller out everywhere: the token generation moves on, so every dashboard session
/// and access token of theirs stops working (API clients renew theirs with a refresh token).
pub async fn sign_out_everywhere(state: &AppState, by: &Actor, seller_id: &str) -> ManageResult<()> {
    state.store.bump_seller_token_generation(seller_id).await?;
    state.invalidate_seller(seller_id).await;
    audit(state, by, "auth.logout", None, None).await;
    Ok(())
}

/// Exchange a refresh token for a new pair; the old one is spent. Presenting a spent one again
/// revokes its whole chain and every access token of the seller.
pub async fn refresh(state: &AppState, refresh_token: &str) -> ManageResult<TokenPair> {
    let invalid = ManageError::Unauthorized("Invalid or expired refresh token");
    match state.store.consume_refresh_token(&sha256_hex(refresh_token.trim()), now()).await? {
        RefreshUse::Fresh { seller_id, chain_id } => issue_tokens(state, &seller_id, Some(chain_id)).await,
        RefreshUse::Reused { seller_id } => {
            // Someone holds a copy: the chain is revoked; access tokens issued from it die too.
            tracing::warn!(seller_id, "a spent refresh token was presented again; its chain is revoked");
            state.store.bump_seller_token_generation(&seller_id).await?;
            state.invalidate_seller(&seller_id).await;
            Err(invalid)
        }
        RefreshUse::Invalid => Err(invalid),
    }
}

/// End a session: revoke the refresh chain of the given token. Every access token the seller
/// holds stops working too (other sessions get new ones through their own refresh tokens).
pub async fn logout(state: &AppState, by: &Actor, seller_id: &str, refresh_token: &str) -> ManageResult<()> {
    let hash = sha256_hex(refresh_token.trim());
    if !state.store.revoke_refresh_chain(seller_id, &hash, now()).await? {
        return Err(ManageError::Unauthorized("Invalid refresh token"));
    }
    state.store.bump_seller_token_generation(seller_id).await?;
    state.invalidate_seller(seller_id).await;
    audit(state, by, "auth.logout", None, None).await;
    Ok(())
}

/// The seller's account; `Unauthorized` once it is gone.
pub async fn profile(state: &AppState, seller_id: &str) -> ManageResult<Seller> {
    state.store.seller_by_id(seller_id).await?.ok_or(ManageError::Unauthorized("Account no longer exists"))
}

/// Delete the seller's account and everything under it: apps, their licenses, users, files
/// (the encrypted blobs too), logs, refresh tokens. Needs the password, checked under the same
/// throttle as sign-in, on the same account key.
pub async fn delete_account(state: &AppState, ip: IpAddr, seller_id: &str, password: String) -> ManageResult<()> {
    let seller = profile(state, seller_id).await?;
    match check_password(state, ip, &seller.email.to_lowercase(), password).await? {
        Some(s) if s.id == seller.id => {}
        _ => return Err(ManageError::Unauthorized("Invalid password")),
    }
    let apps = state.store.list_apps(&seller.id).await?;
    if !state.store.delete_seller(&seller.id).await? {
        return Err(ManageError::Unauthorized("Account no longer exists"));
    }
    state.invalidate_seller(&seller.id).await;
    let vault = crate::files::FileVault::from_state(state);
    for (app, _) in apps {
        state.invalidate_app(&app.id).await;
        // The rows are gone; now the encrypted blobs. A failure leaves orphaned ciphertext only.
        if let Err(e) = vault.remove_app(&app.id).await {
            tracing::warn!(error = %e, app_id = app.id, "could not remove a deleted seller's files");
        }
    }
    Ok(())
}
