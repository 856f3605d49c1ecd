//! End users of an app: list and search, change, delete, ban/unban, pause/unpause, forget bound
//! devices, extend the subscription, list and delete per-user variables. End users are created
//! by the client protocols, never here.

use tollgate_core::events::Event;
use tollgate_core::license as license_rules;
use tollgate_core::model::{User, UserStatus, UserVariable};
use tollgate_core::status::{self, StatusAction};
use tollgate_core::time::now;
use tollgate_core::validate;
use tollgate_store::{LiveChange, Page, PageRequest, UserFilter, UserPatch};

use super::{audit, hash_password, publish_live, transition, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// Longest search text over usernames and emails.
pub const MAX_SEARCH_LEN: usize = 200;

/// A user listing's filter as given (a query string, a form): `status` one of `ACTIVE`,
/// `BANNED`, `PAUSED` in any case, `search` part of the username or email; blank means none.
pub fn user_filter(status: Option<&str>, search: Option<&str>) -> ManageResult<UserFilter> {
    let status =
        match status.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.to_ascii_uppercase().parse::<UserStatus>().map_err(|()| {
                tollgate_core::DomainError::validation("status", "must be one of ACTIVE, BANNED, PAUSED")
            })?),
        };
    let search = match search.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(validate::text("search", s, MAX_SEARCH_LEN)?),
    };
    Ok(UserFilter { status, search })
}

/// A page of the app's users, newest first.
pub async fn list(state: &AppState, app_id: &str, filter: &UserFilter, page: PageRequest) -> ManageResult<Page<User>> {
    Ok(state.store.list_users(app_id, filter, page).await?)
}

/// A user's own variables (written by the client), sorted by key; the user must exist.
pub async fn variables(state: &AppState, app_id: &str, user_id: &str) -> ManageResult<Vec<UserVariable>> {
    get(state, app_id, user_id).await?;
    Ok(state.store.list_user_variables(app_id, user_id).await?)
}

/// Ban a user, with an optional reason (blank: none; at most 500 characters), checked here.
pub async fn ban(state: &AppState, by: &Actor, app_id: &str, user_id: &str, reason: Option<&str>) -> ManageResult<()> {
    let reason = license_rules::ban_reason("reason", reason)?;
    change_status(state, by, app_id, user_id, StatusAction::Ban, reason).await
}

/// The user `user_id` of the app.
pub async fn get(state: &AppState, app_id: &str, user_id: &str) -> ManageResult<User> {
    state.store.get_user(app_id, user_id).await?.ok_or(ManageError::NotFound("User"))
}

/// Apply a ban/unban/pause/unpause to a user of the app. A ban or pause that changed the
/// status also closes the user's live connections.
pub async fn change_status(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    user_id: &str,
    action: StatusAction,
    reason: Option<String>,
) -> ManageResult<()> {
    let reason = reason.as_deref();
    let changed = transition(
        get(state, app_id, user_id).await?,
        |user| Ok(status::user_next(user.status, action)?.map(|to| (user.status, to))),
        || get(state, app_id, user_id),
        |user, from, to| {
            // Sent when the user becomes banned (not when a ban's reason is rewritten).
            let events: Vec<Event> = (to == UserStatus::Banned && from != UserStatus::Banned)
                .then(|| Event::user_ban(user, reason, now()))
                .into_iter()
                .collect();
            async move { Ok(state.store.set_user_status(app_id, user_id, from, to, reason, &events).await?.is_some()) }
        },
    )
    .await?;
    if changed && matches!(action, StatusAction::Ban | StatusAction::Pause) {
        publish_live(state, app_id, LiveChange::UserBlocked(user_id.to_owned())).await;
    }
    let name = match action {
        StatusAction::Ban => "user.ban",
        StatusAction::Unban => "user.unban",
        StatusAction::Pause => "user.pause",
        StatusAction::Unpause => "user.unpause",
    };
    audit(state, by, name, Some(app_id), Some(user_id)).await;
    Ok(())
}

/// What a seller may change of a user, as given (checked by [`update`]).
#[derive(Debug, Default)]
pub struct UserChanges {
    pub level: Option<i64>,
    /// `Some(None)` removes the email.
    pub email: Option<Option<String>>,
    pub password: Option<String>,
}

/// Change a user's level, email or password. Every field is validated before anything is
/// written, and the user must exist before a password is hashed.
pub async fn update(state: &AppState, by: &Actor, app_id: &str, user_id: &str, c: UserChanges) -> ManageResult<User> {
    let level = c.level.map(|l| license_rules::level("level", l)).transpose()?;
    let email = match c.email {
        None => None,
        Some(None) => Some(None),
        Some(Some(e)) => Some(Some(validate::email("email", &e)?)),
    };
    if let Some(p) = &c.password {
        validate::user_password("password", p)?;
    }
    // Existence first, so a patch of an absent user does not cost an argon2 hash.
    get(state, app_id, user_id).await?;
    let password_hash = match c.password {
        Some(p) => Some(hash_password(state, p).await?),
        None => None,
    };
    let patch = UserPatch { level, email, password_hash };
    let user = state.store.update_user(app_id, user_id, &patch).await?.ok_or(ManageError::NotFound("User"))?;
    audit(state, by, "user.update", Some(app_id), Some(user_id)).await;
    Ok(user)
}

/// Permanently delete a user with their sessions and variables; their live connections close.
pub async fn delete(state: &AppState, by: &Actor, app_id: &str, user_id: &str) -> ManageResult<()> {
    if !state.store.delete_user(app_id, user_id).await? {
        return Err(ManageError::NotFound("User"));
    }
    publish_live(state, app_id, LiveChange::UserBlocked(user_id.to_owned())).await;
    audit(state, by, "user.delete", Some(app_id), Some(user_id)).await;
    Ok(())
}

/// Forget a user's bound devices (idempotent).
pub async fn reset_devices(state: &AppState, by: &Actor, app_id: &str, user_id: &str) -> ManageResult<()> {
    state.store.reset_user_devices(app_id, user_id).await?.ok_or(ManageError::NotFound("User"))?;
    audit(state, by, "user.reset_hwid", Some(app_id), Some(user_id)).await;
    Ok(())
}

/// Extend a user's subscription by `days` (1 to 36500), counted from the later of the current
/// expiry and now; a user whose subscription never ends keeps no expiry. Answers the days
/// added and the user as stored.
pub async fn extend(state: &AppState, by: &Actor, app_id: &str, user_id: &str, days: i64) -> ManageResult<(i64, User)> {
    let days = license_rules::extend_days("days", days)?;
    let user = state.store.extend_user(app_id, user_id, days, now()).await?.ok_or(ManageError::NotFound("User"))?;
    audit(state, by, "user.extend", Some(app_id), Some(user_id)).await;
    Ok((days, user))
}

/// Delete one of a user's own variables.
pub async fn delete_variable(state: &AppState, by: &Actor, app_id: &str, user_id: &str, key: &str) -> ManageResult<()> {
    if !state.store.delete_user_variable(app_id, user_id, key).await? {
        return Err(ManageError::NotFound("Variable"));
    }
    audit(state, by, "user.variable.delete", Some(app_id), Some(user_id)).await;
    Ok(())
}
