//! License keys: generate in batches, look up by key, edit, extend, ban/unban, pause/unpause,
//! forget bound devices, delete.

use tollgate_core::events::Event;
use tollgate_core::license::{self as rules, ExtendRefusal, LicenseChanges, LicenseSpec};
use tollgate_core::license_file;
use tollgate_core::model::{App, Creator, License, LicenseStatus, User};
use tollgate_core::status::{self, StatusAction};
use tollgate_core::time::now;
use tollgate_core::{validate, DomainError, DurationType};
use tollgate_store::{
    constraint, LicenseChange, LicenseCursor, LicenseExtendOutcome, LicenseFilter, LicensePatch, LiveChange,
    PageRequest, StoreError, SEARCH_COUNT_CAP,
};

use super::{audit, publish_live, transition, Actor, ManageError, ManageResult};
use crate::client::license_file::sign;
pub use crate::client::license_file::Issued as IssuedFile;
use crate::state::AppState;

/// Fresh batches tried when a generated key collides with an existing one.
const GENERATE_ATTEMPTS: usize = 5;

/// Make `count` licenses of `spec` for `app_id` and store them all or none. A generated key
/// that collides with an existing one (or with another of the batch) makes a fresh batch, a few
/// times over. Audited as one `license.generate` entry per call when a seller made it (the
/// command line, [`Actor::Operator`], stores in many batches and is not audited).
pub async fn generate(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    spec: &LicenseSpec,
    creator: Creator,
    count: usize,
) -> ManageResult<Vec<License>> {
    spec.validate()?;
    let mut attempt = 1;
    loop {
        let batch = rules::new_licenses(app_id, spec, creator.clone(), count, now());
        match state.store.insert_licenses(&batch).await {
            Ok(()) => {
                audit(state, by, "license.generate", Some(app_id), None).await;
                return Ok(batch);
            }
            Err(StoreError::Conflict { constraint: c })
                if c == constraint::LICENSE_APP_KEY && attempt < GENERATE_ATTEMPTS =>
            {
                tracing::warn!(app_id, attempt, "generated license key collided; making a new batch");
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Longest `search` a listing takes.
pub const MAX_SEARCH_LEN: usize = 200;

/// A license listing as asked for, before it is checked: `status`, `search` and `cursor` as
/// the query string gave them (blank = absent).
#[derive(Debug, Clone, Default)]
pub struct ListQuery<'a> {
    pub status: Option<&'a str>,
    pub search: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

/// One page of a license listing: the licenses, the total matching the filter (not the page),
/// and the cursor of the page after it (`None` after the last page).
#[derive(Debug, Clone)]
pub struct Listing {
    pub items: Vec<License>,
    /// The number of matches; with a search, at most `SEARCH_COUNT_CAP`.
    pub total: u64,
    /// A search matched more than `total` (`SEARCH_COUNT_CAP`) licenses: they were not counted.
    pub total_capped: bool,
    pub next_cursor: Option<String>,
}

fn blank_is_none(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

impl ListQuery<'_> {
    /// The store's filter: `status` one of the statuses (any case), `search` at most
    /// [`MAX_SEARCH_LEN`] characters, `cursor` one this listing made ([`encode_cursor`]).
    pub fn filter(&self) -> Result<LicenseFilter, DomainError> {
        let status = match blank_is_none(self.status) {
            None => None,
            Some(s) => Some(s.to_ascii_uppercase().parse::<LicenseStatus>().map_err(|()| {
                DomainError::validation("status", "must be one of UNUSED, USED, BANNED, PAUSED, EXPIRED")
            })?),
        };
        let search = match blank_is_none(self.search) {
            None => None,
            Some(s) => Some(validate::text("search", s, MAX_SEARCH_LEN)?),
        };
        let after = match blank_is_none(self.cursor) {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                DomainError::validation("cursor", "is not a cursor of this listing (use pagination.nextCursor)")
            })?),
        };
        Ok(LicenseFilter { status, search, created_by: None, after })
    }
}

/// The opaque cursor of a license listing: base64url (no padding) of `<created_at_ms>:<id>`.
pub fn encode_cursor(c: &LicenseCursor) -> String {
    crate::extract::encode_cursor(&c.created_at, &c.id)
}

/// `None` for anything [`encode_cursor`] could not have made.
pub fn decode_cursor(text: &str) -> Option<LicenseCursor> {
    crate::extract::decode_cursor(text).map(|(created_at, id)| LicenseCursor { created_at, id })
}

/// The app's licenses, newest first, filtered (see [`ListQuery::filter`]): by page number, or
/// after the filter's cursor (as fast at the millionth license as at the first).
///
/// A `search` lists the licenses whose key or note starts with it (case-insensitive, through
/// the key and note indexes). With `key_first`, a `search` that is a whole key of the app (any
/// case) lists that one license (when it also passes the status filter) and not the longer keys
/// that start with it.
pub async fn list(
    state: &AppState,
    app_id: &str,
    filter: &LicenseFilter,
    page: PageRequest,
    key_first: bool,
) -> ManageResult<Listing> {
    if key_first && filter.after.is_none() {
        if let Some(search) = filter.search.as_deref() {
            match by_key(state, app_id, search).await {
                Ok(license) => {
                    let items: Vec<License> =
                        filter.status.is_none_or(|s| s == license.status).then_some(license).into_iter().collect();
                    let total = items.len() as u64;
                    return Ok(Listing { items, total, total_capped: false, next_cursor: None });
                }
                Err(ManageError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let found = state.store.list_licenses(app_id, filter, page).await?;
    // A full page may have more after it; a short one is the last.
    let next_cursor = match found.items.last() {
        Some(last) if found.items.len() >= page.limit as usize => Some(encode_cursor(&LicenseCursor::of(last))),
        _ => None,
    };
    let total_capped = found.total > SEARCH_COUNT_CAP;
    Ok(Listing { items: found.items, total: found.total.min(SEARCH_COUNT_CAP), total_capped, next_cursor })
}

/// The license `license_id` of the app.
pub async fn get(state: &AppState, app_id: &str, license_id: &str) -> ManageResult<License> {
    state.store.get_license(app_id, license_id).await?.ok_or(ManageError::NotFound("License"))
}

/// The app's license with this key, whatever its case (`abcd-...` finds `ABCD-...`).
pub async fn by_key(state: &AppState, app_id: &str, key: &str) -> ManageResult<License> {
    let key = key.trim();
    if key.is_empty() || key.chars().count() > MAX_KEY_LEN {
        return Err(ManageError::NotFound("License"));
    }
    state.store.license_by_key(app_id, key).await?.ok_or(ManageError::NotFound("License"))
}

/// Longest key a lookup tries: a mask is at most 64 characters, a prefixed key 16 + 15.
const MAX_KEY_LEN: usize = 64;

/// Change a license's note, level or device limit; every field is checked before anything is
/// written. Lowering `maxDevices` below the devices already bound keeps them bound (they still
/// sign in); no new device binds until the count is under the limit (or the devices are reset).
/// No field given changes nothing and answers the license as it is. A new level or device limit
/// reaches the live connections signed in with the key (they are signed out to sign in again);
/// a note alone does not.
pub async fn update(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    license_id: &str,
    changes: LicenseChanges,
) -> ManageResult<License> {
    let changes = changes.checked()?;
    if changes.is_empty() {
        return get(state, app_id, license_id).await;
    }
    let terms_changed = changes.level.is_some() || changes.max_devices.is_some();
    let patch = LicensePatch { note: changes.note, level: changes.level, max_devices: changes.max_devices };
    let license =
        state.store.update_license(app_id, license_id, &patch).await?.ok_or(ManageError::NotFound("License"))?;
    if terms_changed {
        publish_license(state, app_id, license_id, LicenseChange::Reinitialized).await;
    }
    audit(state, by, "license.update", Some(app_id), Some(license_id)).await;
    Ok(license)
}

/// How much to extend a license by, as the request gave it.
#[derive(Debug, Clone)]
pub enum ExtendBy {
    /// `days`: 1 to 36500.
    Days(i64),
    /// `duration`: `<n>h` or `<n>d`.
    Duration(String),
}

impl ExtendBy {
    /// The wire field it came from.
    fn field(&self) -> &'static str {
        match self {
            ExtendBy::Days(_) => "days",
            ExtendBy::Duration(_) => "duration",
        }
    }

    /// Checked, as a duration.
    pub fn span(&self) -> Result<DurationType, DomainError> {
        match self {
            ExtendBy::Days(d) => {
                let days = rules::extend_days("days", *d)?;
                Ok(DurationType::Days(
                    u32::try_from(days).map_err(|_| DomainError::validation("days", "is out of range"))?,
                ))
            }
            ExtendBy::Duration(text) => rules::parse_extension("duration", text),
        }
    }
}

/// A license after an extension, with the span it was extended by and the user it is
/// registered to, whose expiry moved with it.
#[derive(Debug, Clone)]
pub struct Extended {
    pub by: DurationType,
    pub license: License,
    pub user: Option<User>,
}

/// Extend a license (see [`tollgate_core::license::extend`] for what moves): one locked store
/// transaction, so concurrent extensions each count. Lifetime keys are a conflict; a result
/// more than 100 years away is refused naming the field.
pub async fn extend(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    license_id: &str,
    amount: ExtendBy,
) -> ManageResult<Extended> {
    let span = amount.span()?;
    match state.store.extend_license(app_id, license_id, span, now()).await? {
        LicenseExtendOutcome::Missing => Err(ManageError::NotFound("License")),
        LicenseExtendOutcome::Refused(ExtendRefusal::Lifetime) => {
            Err(ManageError::Conflict("A lifetime license cannot be extended".to_owned()))
        }
        LicenseExtendOutcome::Refused(ExtendRefusal::TooLong) => {
            Err(DomainError::validation(amount.field(), "would make the license last more than 100 years").into())
        }
        LicenseExtendOutcome::Extended { license, user } => {
            publish_license(state, app_id, license_id, LicenseChange::Reinitialized).await;
            audit(state, by, "license.extend", Some(app_id), Some(license_id)).await;
            Ok(Extended { by: span, license, user })
        }
    }
}

/// Apply a ban/unban/pause/unpause to a license of the app. A ban outranks a pause: pausing a
/// banned key is refused.
pub async fn change_status(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    license_id: &str,
    action: StatusAction,
    reason: Option<String>,
) -> ManageResult<()> {
    let reason = reason.as_deref();
    let changed = transition(
        get(state, app_id, license_id).await?,
        |license| Ok(status::license_next(license, action)?.map(|to| (license.status, to))),
        || get(state, app_id, license_id),
        |_, from, to| async move {
            Ok(state.store.set_license_status(app_id, license_id, from, to, reason, &[]).await?.is_some())
        },
    )
    .await?;
    if changed {
        let event = match action {
            StatusAction::Ban => LicenseChange::Banned,
            StatusAction::Unban => LicenseChange::Unbanned,
            StatusAction::Pause => LicenseChange::Paused,
            StatusAction::Unpause => LicenseChange::Unpaused,
        };
        publish_license(state, app_id, license_id, event).await;
    }
    let name = match action {
        StatusAction::Ban => "license.ban",
        StatusAction::Unban => "license.unban",
        StatusAction::Pause => "license.pause",
        StatusAction::Unpause => "license.unpause",
    };
    audit(state, by, name, Some(app_id), Some(license_id)).await;
    Ok(())
}

/// Forget the devices a license is bound to, so it can be used on a new machine.
pub async fn reset_devices(state: &AppState, by: &Actor, app_id: &str, license_id: &str) -> ManageResult<()> {
    state.store.reset_license_devices(app_id, license_id).await?.ok_or(ManageError::NotFound("License"))?;
    publish_license(state, app_id, license_id, LicenseChange::DevicesReset).await;
    audit(state, by, "license.reset_devices", Some(app_id), Some(license_id)).await;
    Ok(())
}

/// Permanently delete a license key. Its `license.delete` event (the key as it was) goes with
/// the delete itself, so a delete that finds nothing sends nothing.
pub async fn delete(state: &AppState, by: &Actor, app_id: &str, license_id: &str) -> ManageResult<()> {
    let license = get(state, app_id, license_id).await?;
    let events = [Event::license_delete(&license, now())];
    if !state.store.delete_license(app_id, license_id, &events).await? {
        return Err(ManageError::NotFound("License"));
    }
    publish_license(state, app_id, license_id, LicenseChange::Deleted).await;
    audit(state, by, "license.delete", Some(app_id), Some(license_id)).await;
    Ok(())
}

/// An offline license file for the license, valid `ttl` seconds (the app's `licenseFileTtl`
/// when not given). A license an account holds gets the account's entitlement (its level, end
/// and machines), naming the license. Only an entitlement a client could use right now gets a
/// file: an `UNUSED` license (nothing activated yet), a banned, paused or expired one, or one
/// whose account is banned, paused or expired is a conflict saying why.
pub async fn issue_file(
    state: &AppState,
    by: &Actor,
    app: &App,
    license_id: &str,
    ttl: Option<i64>,
) -> ManageResult<IssuedFile> {
    let ttl = match ttl {
        Some(t) => license_file::checked_ttl("ttl", t)?,
        None => app.settings.license_file_ttl,
    };
    let license = get(state, &app.id, license_id).await?;
    if license.status == LicenseStatus::Unused {
        return Err(ManageError::Conflict(
            "No license file for this license: it is UNUSED (a file describes an activated license)".to_owned(),
        ));
    }
    let user = match &license.user_id {
        Some(user_id) => state.store.get_user(&app.id, user_id).await?,
        None => None,
    };
    let at = now();
    license_file::check_entitlement(Some(&license), user.as_ref(), at)
        .map_err(|e| ManageError::Conflict(format!("No license file for this license: {e}")))?;
    let issued = sign(state, license_file::for_license(&app.id, &license, user.as_ref(), &at, ttl));
    audit(state, by, "license.file", Some(&app.id), Some(license_id)).await;
    Ok(issued)
}

/// Tell the live connections signed in with the license what happened to it.
async fn publish_license(state: &AppState, app_id: &str, license_id: &str, event: LicenseChange) {
    publish_live(state, app_id, LiveChange::License { license_id: license_id.to_owned(), event }).await;
}
