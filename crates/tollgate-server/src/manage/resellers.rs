//! Resellers of an app: create, change password or balance, delete. Their passwords are
//! hashed through the argon2 gate like every other.

use tollgate_core::model::Reseller;
use tollgate_core::time::now;
use tollgate_core::{ids, rules, validate};
use tollgate_store::ResellerPatch;

use super::{audit, hash_password, Actor, ManageError, ManageResult};
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
