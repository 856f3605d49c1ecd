//! Files as a client program sees them: only the ones its session's level reaches. The bytes
//! themselves are streamed by the download route; this decides who may have them.

use tollgate_core::events::Event;
use tollgate_core::model::{FileMeta, User};
use tollgate_core::DomainError;

use super::{store_err, Live};
use crate::state::AppState;

/// The level a session carries: its user's, or its license's for a key-only session. A session
/// that has signed in with neither reaches no file.
pub async fn session_level(state: &AppState, live: &Live) -> Result<i64, DomainError> {
    let app_id = &live.app.app.id;
    let store = state.store.as_ref();
    if let Some(user_id) = &live.session.user_id {
        let user = store.get_user(app_id, user_id).await.map_err(store_err)?;
        return user.map(|u| u.level).ok_or(DomainError::InvalidSession);
    }
    if let Some(license_id) = &live.session.license_id {
        let license = store.get_license(app_id, license_id).await.map_err(store_err)?;
        return license.map(|l| l.level).ok_or(DomainError::InvalidSession);
    }
    Err(DomainError::LoginRequired)
}

/// The app's files the session may download, in the store's order.
pub async fn list(state: &AppState, live: &Live) -> Result<Vec<FileMeta>, DomainError> {
    let level = session_level(state, live).await?;
    let files = state.store.list_files(&live.app.app.id).await.map_err(store_err)?;
    Ok(files.into_iter().filter(|f| f.min_level <= level).collect())
}

/// One file of the session's app, if its level reaches it: `FileNotFound` for an id the app
/// does not have (another app's file included), `LevelTooLow` below the file's minimum level.
pub async fn get(state: &AppState, live: &Live, file_id: &str) -> Result<FileMeta, DomainError> {
    let level = session_level(state, live).await?;
    let file = state.store.get_file(&live.app.app.id, file_id).await.map_err(store_err)?;
    let file = file.ok_or(DomainError::FileNotFound)?;
    if level < file.min_level {
        return Err(DomainError::LevelTooLow);
    }
    Ok(file)
}

/// A file a session is about to download, and who the session is signed in as.
pub struct Download {
    pub file: FileMeta,
    /// The session's account, for an account's session.
    pub user: Option<User>,
    /// The session's key, for a key-only session.
    pub license_id: Option<String>,
}

impl Download {
    /// The username to log the download under (none for a key-only session).
    pub fn username(&self) -> Option<String> {
        self.user.as_ref().map(|u| u.username.clone())
    }
}

/// The file a session may download now: as [`get`], and the account or key behind the session
/// must still be in good standing. A ban, a pause or an expiry since the session signed in
/// refuses (`UserBanned`, `UserSuspended`, `UserExpired`; `LicenseBanned`, `LicensePaused`,
/// `LicenseExpired`), so a banned user cannot keep downloading on a session opened before.
pub async fn for_download(state: &AppState, live: &Live, file_id: &str) -> Result<Download, DomainError> {
    let app_id = &live.app.app.id;
    let store = state.store.as_ref();
    let at = tollgate_core::time::now();
    let (level, user, license_id) = if let Some(user_id) = &live.session.user_id {
        let user = store.get_user(app_id, user_id).await.map_err(store_err)?.ok_or(DomainError::InvalidSession)?;
        tollgate_core::redeem::check_user(&user, at)?;
        (user.level, Some(user), None)
    } else if let Some(license_id) = &live.session.license_id {
        let license =
            store.get_license(app_id, license_id).await.map_err(store_err)?.ok_or(DomainError::InvalidSession)?;
        // A key-only session's key: usable and still its own (not redeemed onto an account since).
        if let Err(e) = tollgate_core::redeem::check_key_login(Some(&license), at) {
            super::record_expiry(state, &license, at).await;
            return Err(e);
        }
        (license.level, None, Some(license.id))
    } else {
        return Err(DomainError::LoginRequired);
    };
    let file = store.get_file(app_id, file_id).await.map_err(store_err)?.ok_or(DomainError::FileNotFound)?;
    if level < file.min_level {
        return Err(DomainError::LevelTooLow);
    }
    Ok(Download { file, user, license_id })
}

/// Whether a request for `range` (inclusive byte offsets; `None` for the whole file) starts a
/// download: it asks for the first byte. A resume or a later part of a split download does not.
pub fn starts_download(range: Option<(u64, u64)>) -> bool {
    range.is_none_or(|(first, _)| first == 0)
}

/// A download the session starts now: count it on the file (its transfer count and time) and
/// send `file.download`. Counting is best effort: a failure is logged and the download goes on.
pub async fn announce_download(state: &AppState, live: &Live, download: &Download) -> Result<(), DomainError> {
    let ip = live.ip_text();
    let at = tollgate_core::time::now();
    let file = &download.file;
    if let Err(e) = state.store.record_file_transfer(&file.app_id, &file.id, at).await {
        tracing::warn!(error = %e, app_id = %file.app_id, file_id = %file.id, "recording a file transfer failed");
    }
    let event =
        Event::file_download(&download.file, download.user.as_ref(), download.license_id.as_deref(), Some(&ip), at);
    state.store.emit(&[event]).await.map_err(store_err)?;
    Ok(())
}

/// A download, in the seller's log list: `message` as the route words it, with the session's
/// user, address and device.
pub async fn log_download(
    state: &AppState,
    live: &Live,
    ip: std::net::IpAddr,
    username: Option<String>,
    message: String,
) -> Result<(), DomainError> {
    let entry = tollgate_core::model::LogEntry {
        id: tollgate_core::ids::new_id(tollgate_core::ids::prefix::LOG),
        app_id: live.app.app.id.clone(),
        user_id: live.session.user_id.clone(),
        username,
        message,
        ip: Some(ip.to_string()),
        hwid: live.session.hwid.clone(),
        created_at: tollgate_core::time::now(),
    };
    state.store.append_log(&entry).await.map_err(store_err)
}
