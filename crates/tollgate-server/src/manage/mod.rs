//! The seller's use cases: what the admin HTTP API and the `tollgate` command line do beyond
//! reading a request and shaping an answer. Each function checks its input with the core
//! rules, writes through the store, records the audit entry, and answers a [`ManageError`];
//! the admin API maps that error to its status and code in one table (`crate::error`), the
//! command line to a message.
//!
//! Scope is the caller's business: a function that works inside an app takes the app (or its
//! id) already known to belong to the seller acting (the admin API gets it from the
//! `OwnedApp` extractor).

pub mod apps;
pub mod blacklist;
pub mod builder;
pub mod chats;
pub mod devices;
pub mod files;
pub mod licenses;
pub mod logs;
pub mod overview;
pub mod resellers;
pub mod sellers;
pub mod sessions;
pub mod users;
pub mod variables;
pub mod webhooks;

use std::future::Future;
use std::net::IpAddr;

use tollgate_core::status::{self, Refused};
use tollgate_core::DomainError;
use tollgate_store::{Invalidation, LiveChange, StoreError};

use crate::state::AppState;

/// Why a seller's use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// An input or domain rule refused it (a field named with its problem, ...).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store failed or refused the write (a unique constraint, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The thing named is absent, or not the caller's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The thing exists but is in a state that does not allow the change.
    #[error("{0}")]
    Conflict(String),
    /// The credentials given do not identify the caller; the text says which.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The caller may not do this here; the text says why.
    #[error("{0}")]
    Forbidden(String),
    /// A reseller's balance does not cover the licenses asked for: they cost `needs` credits.
    #[error("Not enough credit: this request needs {needs}, balance {balance}")]
    InsufficientCredit { needs: i64, balance: i64 },
}

impl From<Refused> for ManageError {
    fn from(e: Refused) -> Self {
        ManageError::Conflict(e.0.to_owned())
    }
}

impl From<crate::password::GateError> for ManageError {
    fn from(e: crate::password::GateError) -> Self {
        ManageError::Domain(match e {
            crate::password::GateError::Busy => DomainError::Busy,
            crate::password::GateError::Failed => DomainError::Internal,
        })
    }
}

pub type ManageResult<T> = Result<T, ManageError>;

/// Apply a ban/unban/pause/unpause with the store's conditional update: `decide` gives the
/// status to change from and to (`None`: nothing to change), `write` stores the change on the
/// thing as it was read (for the events it sends) only if the status is still the one decided
/// from (`false` otherwise), `read` fetches the thing again. When another change came first, decide again on what is stored now; after
/// [`status::ATTEMPTS`] losses in a row, answer a conflict with nothing written. `Ok(true)`
/// when the status changed, `Ok(false)` when there was nothing to change.
pub(crate) async fn transition<T, S, Read, ReadFut, Write, WriteFut>(
    mut current: T,
    decide: impl Fn(&T) -> Result<Option<(S, S)>, Refused>,
    read: Read,
    write: Write,
) -> ManageResult<bool>
where
    Read: Fn() -> ReadFut,
    ReadFut: Future<Output = ManageResult<T>>,
    Write: Fn(&T, S, S) -> WriteFut,
    WriteFut: Future<Output = Result<bool, StoreError>>,
{
    for _ in 0..status::ATTEMPTS {
        let Some((from, to)) = decide(&current)? else {
            return Ok(false);
        };
        if write(&current, from, to).await? {
            return Ok(true);
        }
        current = read().await?;
    }
    Err(status::CHANGED_CONCURRENTLY.into())
}

/// Who a change is made by, for the audit log.
#[derive(Debug, Clone)]
pub enum Actor {
    /// A seller through the admin API, from this address.
    Seller { seller_id: String, ip: IpAddr },
    /// The operator at the `tollgate` command line: not audited.
    Operator,
}

impl Actor {
    pub fn seller(seller_id: &str, ip: IpAddr) -> Actor {
        Actor::Seller { seller_id: seller_id.to_owned(), ip }
    }
}

/// Record `action` on `target` in the audit log when a seller made it.
pub async fn audit(state: &AppState, by: &Actor, action: &str, app_id: Option<&str>, target: Option<&str>) {
    if let Actor::Seller { seller_id, ip } = by {
        state.audit(seller_id, action, app_id, target, *ip).await;
    }
}

/// Tell every process's live client connections (WebSocket sessions) what a seller just did,
/// after the store write succeeded: they act on it at once (a kick, an event, the sign-in
/// cleared). A failed publish is logged; the change itself has happened.
pub async fn publish_live(state: &AppState, app_id: &str, change: LiveChange) {
    let inv = Invalidation::Live { app_id: app_id.to_owned(), change };
    if let Err(e) = state.store.publish(&inv).await {
        tracing::error!(error = %e, app_id, "could not publish a change to live sessions");
    }
}

/// argon2id hash through the process's one gate (`crate::password`): `Busy` when it is full.
pub async fn hash_password(state: &AppState, password: String) -> ManageResult<String> {
    Ok(state.passwords.hash(password).await?)
}

/// Check a password through the gate, counted in the metrics.
pub async fn verify_password(state: &AppState, password: String, phc: String) -> ManageResult<bool> {
    let r = state.passwords.verify(password, phc).await.map_err(|e| match e {
        crate::password::GateError::Busy => DomainError::Busy,
        crate::password::GateError::Failed => DomainError::Internal,
    });
    state.metrics.password_checked(&r);
    Ok(r?)
}
