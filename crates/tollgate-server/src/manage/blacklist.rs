//! The app's blacklist: add and remove entries. Either invalidates the cached app, whose
//! blacklist the client API checks.

use tollgate_core::model::BlacklistEntry;
use tollgate_core::time::now;
use tollgate_core::{ids, rules, validate};

use super::{audit, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// The longest reason an entry keeps.
pub const MAX_REASON_LEN: usize = 500;

/// The app's blacklist, oldest first.
pub async fn list(state: &AppState, app_id: &str) -> ManageResult<Vec<BlacklistEntry>> {
    Ok(state.store.list_blacklist(app_id).await?)
}

/// Add an entry of `kind` (`ip`, `hwid`, ...) for `value`, with an optional reason.
pub async fn add(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    kind: &str,
    value: &str,
    reason: Option<&str>,
) -> ManageResult<BlacklistEntry> {
    let kind = rules::blacklist_kind("type", kind)?;
    let value = rules::blacklist_value("value", kind, value)?;
    let reason = match reason.map(str::trim) {
        Some(r) if !r.is_empty() => Some(validate::text("reason", r, MAX_REASON_LEN)?),
        _ => None,
    };
    let entry = BlacklistEntry {
        id: ids::new_id(ids::prefix::BLACKLIST),
        app_id: app_id.to_owned(),
        kind,
        value,
        reason,
        created_at: now(),
    };
    state.store.add_blacklist(&entry).await?;
    state.invalidate_app(app_id).await;
    audit(state, by, "blacklist.add", Some(app_id), Some(&entry.id)).await;
    Ok(entry)
}

/// Remove an entry.
pub async fn remove(state: &AppState, by: &Actor, app_id: &str, id: &str) -> ManageResult<()> {
    if !state.store.delete_blacklist(app_id, id).await? {
        return Err(ManageError::NotFound("Blacklist entry"));
    }
    state.invalidate_app(app_id).await;
    audit(state, by, "blacklist.remove", Some(app_id), Some(id)).await;
    Ok(())
}
