//! Offline license files (`tollgate_core::license_file`): a signed, expiring description of what
//! a session is signed in with, which the client checks later with no network. The payload and
//! who may have one are core rules; this reads the session's account or key as it is now and
//! signs. The admin API's route signs through [`sign`] too.

use tollgate_core::license_file::{self, Payload};
use tollgate_core::time::now;
use tollgate_core::DomainError;

use super::{record_expiry, store_err, Live};
use crate::state::AppState;

/// A signed file: its armoured text, what it says, and the key id it was signed under.
#[derive(Debug, Clone)]
pub struct Issued {
    pub text: String,
    pub payload: Payload,
    pub kid: String,
}

/// Sign `payload` with the server's current key.
pub fn sign(state: &AppState, payload: Payload) -> Issued {
    let signer = state.signer.get();
    Issued { text: signer.sign_license_file(&payload), kid: signer.kid().to_owned(), payload }
}

/// A file for the session, valid for the app's `licenseFileTtl`: for an account's session the
/// account's entitlement (with no `license`: the account's licenses are not looked up), for a
/// key-only session its key's. What the session is signed in with is read again and must still
/// be usable (a banned, paused or expired account or key is refused as at sign-in); a session
/// signed in with neither is `LoginRequired`.
pub async fn issue(state: &AppState, live: &Live) -> Result<Issued, DomainError> {
    let app = &live.app.app;
    let store = state.store.as_ref();
    let at = now();
    let ttl = app.settings.license_file_ttl;
    if let Some(user_id) = &live.session.user_id {
        let user = store.get_user(&app.id, user_id).await.map_err(store_err)?.ok_or(DomainError::InvalidSession)?;
        license_file::check_entitlement(None, Some(&user), at)?;
        return Ok(sign(state, license_file::for_account(&app.id, &user, None, &at, ttl)));
    }
    if let Some(license_id) = &live.session.license_id {
        let license =
            store.get_license(&app.id, license_id).await.map_err(store_err)?.ok_or(DomainError::InvalidSession)?;
        if let Err(e) = license_file::check_entitlement(Some(&license), None, at) {
            record_expiry(state, &license, at).await;
            return Err(e);
        }
        return Ok(sign(state, license_file::for_license(&app.id, &license, None, &at, ttl)));
    }
    Err(DomainError::LoginRequired)
}
