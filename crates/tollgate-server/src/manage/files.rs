//! Files: take an upload (its content streamed to an encrypted blob by the caller, part by
//! part, so no upload is held in memory), list, delete.

use tollgate_core::model::FileMeta;
use tollgate_core::time::now;
use tollgate_core::{ids, DomainError};

use super::{audit, Actor, ManageError, ManageResult};
use crate::files::{parse_min_level, validate_file_name, BlobWriter, FileVault};
use crate::state::AppState;

/// What a failed read or write of the file storage answers; the cause goes to the log.
pub fn storage_failed(e: std::io::Error) -> ManageError {
    tracing::error!(error = %e, "file storage failed");
    DomainError::Internal.into()
}

/// An upload being received: the id the file will have, its content as it is written, and the
/// form's other fields as given. Dropped before [`finish_upload`], it leaves nothing behind.
pub struct Upload {
    vault: FileVault,
    app_id: String,
    file_id: String,
    /// The content's writer and the filename the form gave it.
    blob: Option<(BlobWriter, Option<String>)>,
    /// The display name asked for; the uploaded filename when absent.
    pub name: Option<String>,
    /// The lowest user level allowed to download it, as sent (an integer of 0 or more).
    pub min_level: Option<String>,
}

impl Upload {
    /// Start receiving a file for `app_id`.
    pub fn new(state: &AppState, app_id: &str) -> Upload {
        Upload {
            vault: FileVault::from_state(state),
            app_id: app_id.to_owned(),
            file_id: ids::new_id(ids::prefix::FILE),
            blob: None,
            name: None,
            min_level: None,
        }
    }

    /// Open the blob the file's content is written to, chunk by chunk; one file per upload.
    pub async fn start_file(&mut self, filename: Option<String>) -> ManageResult<&mut BlobWriter> {
        if self.blob.is_some() {
            return Err(DomainError::validation("file", "only one file may be uploaded at a time").into());
        }
        let writer = self.vault.create(&self.app_id, &self.file_id).await.map_err(storage_failed)?;
        Ok(&mut self.blob.insert((writer, filename)).0)
    }
}

/// Check the upload's fields, seal its content and record the file. Nothing is kept when any
/// of that fails.
pub async fn finish_upload(state: &AppState, by: &Actor, upload: Upload) -> ManageResult<FileMeta> {
    let Upload { vault, app_id, file_id, blob, name, min_level } = upload;
    let min_level = match min_level {
        Some(raw) => parse_min_level("minLevel", &raw)?,
        None => 0,
    };
    let (writer, filename) = blob.ok_or_else(|| DomainError::MissingFields("file".into()))?;
    let name = name.or(filename).ok_or_else(|| DomainError::MissingFields("name".into()))?;
    let name = validate_file_name("name", &name)?;

    let stored = writer.finish().await.map_err(storage_failed)?;
    let meta = FileMeta {
        last_transferred_at: None,
        transfer_count: 0,
        id: file_id,
        app_id,
        name,
        size: i64::try_from(stored.size).unwrap_or(i64::MAX),
        min_level,
        sha256: stored.sha256,
        created_at: now(),
    };
    if let Err(e) = state.store.create_file(&meta).await {
        if let Err(rm) = vault.remove(&meta.app_id, &meta.id).await {
            tracing::error!(error = %rm, file = %meta.id, "could not remove the blob of a failed upload");
        }
        return Err(e.into());
    }
    audit(state, by, "file.upload", Some(&meta.app_id), Some(&meta.id)).await;
    Ok(meta)
}

/// The app's files.
pub async fn list(state: &AppState, app_id: &str) -> ManageResult<Vec<FileMeta>> {
    Ok(state.store.list_files(app_id).await?)
}

/// One of the app's files, for the seller to download.
pub async fn get(state: &AppState, app_id: &str, file_id: &str) -> ManageResult<FileMeta> {
    state.store.get_file(app_id, file_id).await?.ok_or(ManageError::NotFound("File"))
}

/// Delete a file and its encrypted content.
pub async fn delete(state: &AppState, by: &Actor, app_id: &str, file_id: &str) -> ManageResult<()> {
    if !state.store.delete_file(app_id, file_id).await? {
        return Err(ManageError::NotFound("File"));
    }
    // The row is gone, so the file is gone for every reader; a blob left behind is only space.
    if let Err(e) = FileVault::from_state(state).remove(app_id, file_id).await {
        tracing::error!(error = %e, file = %file_id, "could not remove a deleted file's blob");
    }
    audit(state, by, "file.delete", Some(app_id), Some(file_id)).await;
    Ok(())
}
