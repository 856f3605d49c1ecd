//! Resellers of an app: what the seller does with them (create, change password or balance,
//! delete) and what a reseller does itself (sign in, buy license keys with its credit, list
//! them). Passwords are hashed and checked through the argon2 gate like every other.

use std::net::IpAddr;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tollgate_core::license::{self as license_rules, LicenseSpec};
use tollgate_core::model::{App, AppStatus, AuditEntry, Creator, License, Reseller};
use tollgate_core::throttle::AttemptKeys;
use tollgate_core::time::now;
use tollgate_core::{ids, password, pipeline, rules, validate, DomainError};
use tollgate_store::{
    constraint, CreditAdded, LicenseFilter, Page, PageRequest, ResellerPatch, ResellerPurchase, StoreError,
};

use super::{audit, hash_password, verify_password, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// Create a reseller for the app with a username, a password and a starting balance.
pub async fn create(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    username: &str,
    password: String,
    balance: i64,
) -> ManageResult<Reseller> {
    let username = validate::new_username("username", username)?;
    validate::strong_password("password", &password)?;
    let balance = rules::reseller_balance("balance", balance)?;
    let reseller = Reseller {
        id: ids::new_id(ids::prefix::RESELLER),
        app_id: app_id.to_owned(),
        username,
        password_hash: hash_password(state, password).await?,
        balance,
        created_at: now(),
    };
    state.store.create_reseller(&reseller).await?;
    audit(state, by, "reseller.create", Some(app_id), Some(&reseller.id)).await;
    Ok(reseller)
}

/// Change a reseller's password or set their balance. Every field is validated, and the
/// reseller must exist, before a password is hashed.
pub async fn update(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    reseller_id: &str,
    password: Option<String>,
    balance: Option<i64>,
) -> ManageResult<Reseller> {
    let balance = balance.map(|b| rules::reseller_balance("balance", b)).transpose()?;
    if let Some(p) = &password {
        validate::strong_password("password", p)?;
    }
    // Check existence before paying for a password hash.
    state.store.get_reseller(app_id, reseller_id).await?.ok_or(ManageError::NotFound("Reseller"))?;
    let password_hash = match password {
        Some(p) => Some(hash_password(state, p).await?),
        None => None,
    };
    let patch = ResellerPatch { password_hash, balance };
    let reseller =
        state.store.update_reseller(app_id, reseller_id, &patch).await?.ok_or(ManageError::NotFound("Reseller"))?;
    audit(state, by, "reseller.update", Some(app_id), Some(&reseller.id)).await;
    Ok(reseller)
}

/// Delete a reseller.
pub async fn delete(state: &AppState, by: &Actor, app_id: &str, reseller_id: &str) -> ManageResult<()> {
    if !state.store.delete_reseller(app_id, reseller_id).await? {
        return Err(ManageError::NotFound("Reseller"));
    }
    audit(state, by, "reseller.delete", Some(app_id), Some(reseller_id)).await;
    Ok(())
}

/// The app's resellers.
pub async fn list(state: &AppState, app_id: &str) -> ManageResult<Vec<Reseller>> {
    Ok(state.store.list_resellers(app_id).await?)
}

/// How many license keys the reseller has made (counted on the `(app_id, created_by)` index,
/// so the cost follows this reseller's own keys, not the app's).
pub async fn licenses_made(state: &AppState, app_id: &str, reseller_id: &str) -> ManageResult<u64> {
    let filter = LicenseFilter { created_by: Some(reseller_id.to_owned()), ..Default::default() };
    Ok(state.store.list_licenses(app_id, &filter, PageRequest { page: 1, limit: 1 }).await?.total)
}

/// A number of credits to add or take away: 1 to [`rules::MAX_RESELLER_BALANCE`].
fn credit_amount(field: &str, amount: i64) -> Result<i64, DomainError> {
    if !(1..=rules::MAX_RESELLER_BALANCE).contains(&amount) {
        return Err(DomainError::validation(field, format!("must be between 1 and {}", rules::MAX_RESELLER_BALANCE)));
    }
    Ok(amount)
}

/// Add `amount` credits to the reseller's balance, which stays at most
/// [`rules::MAX_RESELLER_BALANCE`]. The new balance.
pub async fn add_credit(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    reseller_id: &str,
    amount: i64,
) -> ManageResult<i64> {
    let amount = credit_amount("amount", amount)?;
    // One conditional update: a purchase landing meanwhile is never overwritten.
    let balance =
        match state.store.add_reseller_credit(app_id, reseller_id, amount, rules::MAX_RESELLER_BALANCE).await? {
            CreditAdded::Added { balance } => balance,
            CreditAdded::OverMax { .. } => {
                return Err(DomainError::validation(
                    "amount",
                    format!("would take the balance over {}", rules::MAX_RESELLER_BALANCE),
                )
                .into())
            }
            CreditAdded::ResellerMissing => return Err(ManageError::NotFound("Reseller")),
        };
    audit(state, by, "reseller.credit.add", Some(app_id), Some(reseller_id)).await;
    Ok(balance)
}

/// Take `amount` credits from the reseller's balance, which never goes below 0: the store's
/// conditional debit (the one a purchase makes, with no keys) decides, so a purchase at the
/// same moment cannot make it negative. The new balance; a validation error on `amount`
/// naming the balance when it does not cover the amount.
pub async fn remove_credit(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    reseller_id: &str,
    amount: i64,
) -> ManageResult<i64> {
    let amount = credit_amount("amount", amount)?;
    match state.store.insert_reseller_licenses(app_id, reseller_id, &[], amount).await? {
        ResellerPurchase::Bought { balance } => {
            audit(state, by, "reseller.credit.remove", Some(app_id), Some(reseller_id)).await;
            Ok(balance)
        }
        ResellerPurchase::NotEnoughCredit { balance } => Err(DomainError::validation(
            "amount",
            format!("is more than the balance ({balance}); the balance cannot go below 0"),
        )
        .into()),
        ResellerPurchase::ResellerMissing => Err(ManageError::NotFound("Reseller")),
    }
}

// ---------------------------------------------------------------- the reseller's own use cases

/// What the credentials of a reseller token are checked against on every request: a number
/// derived from the stored password hash (the first 8 bytes of its SHA-256). A password change
/// makes every token issued before it stale. The hash holds a random salt, so the number tells
/// nothing about the password.
pub fn credential_generation(reseller: &Reseller) -> i64 {
    let digest = Sha256::digest(reseller.password_hash.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// A reseller may act only while its app is active: `403` once the seller pauses or disables it.
fn app_open(app: &App) -> ManageResult<()> {
    match app.status {
        AppStatus::Active => Ok(()),
        AppStatus::Paused => Err(ManageError::Forbidden("Application is paused".into())),
        AppStatus::Disabled => Err(ManageError::Forbidden("Application is disabled".into())),
    }
}

/// A signed-in reseller: the reseller and a token for its app, valid 24 hours.
#[derive(Debug, Clone)]
pub struct ResellerLogin {
    pub reseller: Reseller,
    pub token: String,
}

/// Check a reseller's password under the seller sign-in throttle (the account key scoped to the
/// app; the address key shared with sellers' sign-ins). `None` for a wrong password or an unknown
/// username, after the same argon2 work (a dummy hash stands in for a missing reseller).
async fn check_password(
    state: &AppState,
    ip: IpAddr,
    app_id: &str,
    username: &str,
    password: String,
) -> ManageResult<Option<Reseller>> {
    let account = format!("reseller\u{0}{app_id}\u{0}{}", username.trim().to_lowercase());
    let keys = AttemptKeys { account, address: format!("ip\u{0}{ip}") };
    let attempt = state
        .seller_throttle
        .reserve(keys, Instant::now())
        .map_err(|secs| DomainError::RateLimited { retry_after_secs: secs })?;
    if !attempt.delay().is_zero() {
        tokio::time::sleep(attempt.delay()).await;
    }
    let reseller = state.store.reseller_by_username(app_id, username.trim()).await?;
    let phc = reseller.as_ref().map(|r| r.password_hash.clone()).unwrap_or_else(|| password::dummy_hash().to_owned());
    let good = verify_password(state, password, phc).await?;
    match (good, reseller) {
        (true, Some(r)) => {
            attempt.succeeded();
            Ok(Some(r))
        }
        _ => {
            attempt.failed();
            Ok(None)
        }
    }
}

/// Sign a reseller in to an app: the app by id and API key (`401` otherwise), active (`403`),
/// then the username and password (`401 "Invalid credentials"` for an unknown username and a
/// wrong password alike).
pub async fn login(
    state: &AppState,
    ip: IpAddr,
    app_id: &str,
    api_key: &str,
    username: &str,
    password: String,
) -> ManageResult<ResellerLogin> {
    let app = state.apps.by_id(state.store.as_ref(), app_id).await?;
    let app = match app {
        Some(a) if pipeline::secret_matches(&a.app.api_key, api_key) => a,
        _ => return Err(ManageError::Unauthorized("Invalid application credentials")),
    };
    app_open(&app.app)?;
    let reseller = check_password(state, ip, &app.app.id, username, password)
        .await?
        .ok_or(ManageError::Unauthorized("Invalid credentials"))?;
    let token = state.tokens.issue_reseller(&reseller.id, &app.app.id, credential_generation(&reseller));
    Ok(ResellerLogin { reseller, token })
}

/// The reseller and app of a verified reseller token, read again on every request: `401` once
/// the reseller is deleted (with its app or alone) or its password changed, `403` while the app
/// is paused or disabled.
pub async fn authenticate(
    state: &AppState,
    reseller_id: &str,
    app_id: &str,
    generation: i64,
) -> ManageResult<(Reseller, App)> {
    let reseller = state
        .store
        .get_reseller(app_id, reseller_id)
        .await?
        .ok_or(ManageError::Unauthorized("Account no longer exists"))?;
    if credential_generation(&reseller) != generation {
        return Err(ManageError::Unauthorized("Token has been revoked"));
    }
    let app = state
        .apps
        .by_id(state.store.as_ref(), app_id)
        .await?
        .ok_or(ManageError::Unauthorized("Account no longer exists"))?;
    app_open(&app.app)?;
    Ok((reseller, app.app.clone()))
}

/// What a reseller asks for: `count` keys (1 to 50) of `spec`.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub count: usize,
    pub spec: LicenseSpec,
}

impl Purchase {
    /// Read the wire fields with the same rules as the seller's generate, but at most
    /// [`license_rules::RESELLER_MAX_BATCH`] keys, and no mask or note.
    pub fn new(
        count: i64,
        duration_type: &str,
        level: i64,
        max_devices: i64,
        prefix: Option<String>,
    ) -> ManageResult<Purchase> {
        let count = license_rules::batch_count("count", count, license_rules::RESELLER_MAX_BATCH)?;
        let spec = LicenseSpec {
            duration: license_rules::parse_duration("durationType", duration_type)?,
            level,
            max_devices,
            prefix,
            mask: None,
            note: None,
        };
        spec.validate()?;
        Ok(Purchase { count, spec })
    }
}

/// Fresh batches tried when a generated key collides with an existing one.
const GENERATE_ATTEMPTS: usize = 5;

/// Buy license keys: `count × price` of the duration (the app's `resellerPrices`, default 1) is
/// taken from the balance in the transaction that stores the keys, so concurrent purchases never
/// spend more than the balance. The keys and the balance left.
pub async fn buy_licenses(
    state: &AppState,
    ip: IpAddr,
    reseller: &Reseller,
    app: &App,
    purchase: &Purchase,
) -> ManageResult<(Vec<License>, i64)> {
    purchase.spec.validate()?;
    let price = app.settings.reseller_price(purchase.spec.duration);
    let cost = i64::try_from(purchase.count)
        .ok()
        .and_then(|n| n.checked_mul(price))
        .ok_or_else(|| DomainError::validation("count", "costs more credits than a balance can hold"))?;
    let creator = Creator::Reseller(reseller.id.clone());
    let mut attempt = 1;
    loop {
        let batch = license_rules::new_licenses(&app.id, &purchase.spec, creator.clone(), purchase.count, now());
        match state.store.insert_reseller_licenses(&app.id, &reseller.id, &batch, cost).await {
            Ok(ResellerPurchase::Bought { balance }) => {
                audit_reseller(state, ip, app, reseller, "reseller.license.generate").await;
                return Ok((batch, balance));
            }
            Ok(ResellerPurchase::NotEnoughCredit { balance }) => {
                return Err(ManageError::InsufficientCredit { needs: cost, balance })
            }
            Ok(ResellerPurchase::ResellerMissing) => return Err(ManageError::Unauthorized("Account no longer exists")),
            Err(StoreError::Conflict { constraint: c })
                if c == constraint::LICENSE_APP_KEY && attempt < GENERATE_ATTEMPTS =>
            {
                tracing::warn!(app_id = %app.id, attempt, "generated license key collided; making a new batch");
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The reseller's own license keys, newest first.
pub async fn list_licenses(state: &AppState, reseller: &Reseller, page: PageRequest) -> ManageResult<Page<License>> {
    let filter = LicenseFilter { created_by: Some(reseller.id.clone()), ..Default::default() };
    Ok(state.store.list_licenses(&reseller.app_id, &filter, page).await?)
}

/// Record what a reseller did in the seller's audit trail, the reseller as its actor.
async fn audit_reseller(state: &AppState, ip: IpAddr, app: &App, reseller: &Reseller, action: &str) {
    let entry = AuditEntry {
        id: ids::new_id(ids::prefix::AUDIT),
        seller_id: app.owner_id.clone(),
        actor: reseller.id.clone(),
        action: action.to_owned(),
        target: None,
        app_id: Some(app.id.clone()),
        ip: Some(ip.to_string()),
        created_at: now(),
    };
    if let Err(e) = state.store.append_audit(&entry).await {
        tracing::error!(error = %e, action, "could not write audit entry");
    }
}
