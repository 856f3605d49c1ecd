//! Files: take an upload (a `multipart/form-data` body whose content is streamed to an
//! encrypted blob part by part, so no upload is held in memory), list, delete.
//!
//! The upload size limit is `max_upload_bytes`, a runtime setting, so the routes that take an
//! upload turn axum's default body limit off and [`receive`] enforces its own while streaming:
//! the file part may hold at most `max_upload_bytes`, the whole body that plus
//! [`FORM_OVERHEAD`] for the other parts and the multipart envelope. A body announced larger by
//! its `Content-Length` is refused before a byte is read. Over the limit: [`UploadError::TooLarge`]
//! (413), and nothing is kept.

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};

use tollgate_core::model::FileMeta;
use tollgate_core::time::now;
use tollgate_core::{ids, DomainError};

use super::{audit, Actor, ManageError, ManageResult};
use crate::files::{parse_min_level, validate_file_name, BlobWriter, FileVault};
use crate::state::AppState;

/// Room for the `name` and `minLevel` parts and the multipart boundaries and headers.
pub const FORM_OVERHEAD: u64 = 64 * 1024;
/// Largest text part read (`name`, `minLevel`); text parts are small by nature.
const TEXT_PART_MAX: usize = 4096;

/// Why an upload's body was not taken.
#[derive(Debug)]
pub enum UploadError {
    /// The body, or its file part, is over the size limit (413).
    TooLarge,
    /// Not a `multipart/form-data` body (400).
    NotMultipart,
    /// A multipart body that could not be read (400).
    Malformed,
    /// A part refused by a rule, or the storage failing.
    Refused(ManageError),
}

impl From<ManageError> for UploadError {
    fn from(e: ManageError) -> Self {
        UploadError::Refused(e)
    }
}

impl From<DomainError> for UploadError {
    fn from(e: DomainError) -> Self {
        UploadError::Refused(e.into())
    }
}

/// The admin API's answer (the dashboard shows the same status and message).
impl From<UploadError> for crate::error::ApiError {
    fn from(e: UploadError) -> Self {
        use crate::error::ApiError;
        match e {
            UploadError::TooLarge => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "Upload exceeds the size limit")
            }
            UploadError::NotMultipart => {
                ApiError::bad_request("INVALID_BODY", "Expected a multipart/form-data body with a `file` part")
            }
            UploadError::Malformed => ApiError::bad_request("INVALID_BODY", "Malformed multipart/form-data body"),
            UploadError::Refused(e) => e.into(),
        }
    }
}

fn multipart_error(e: MultipartError) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge
    } else {
        UploadError::Malformed
    }
}

/// A small text part, refused past `TEXT_PART_MAX` bytes without reading further.
async fn read_text(field: &mut Field<'_>, name: &str) -> Result<String, UploadError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > TEXT_PART_MAX {
            return Err(DomainError::validation(name, "is too long").into());
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| DomainError::validation(name, "must be UTF-8 text").into())
}

/// Read an upload's `multipart/form-data` body for `app_id`: a `file` part (streamed to an
/// encrypted blob as it arrives) and optional `name` and `minLevel` parts; other parts are
/// ignored (the size limit still counts them). Hand the result to [`finish_upload`]; on any
/// error nothing is kept.
pub async fn receive(state: &AppState, app_id: &str, req: Request) -> Result<Upload, UploadError> {
    let limit = state.config.max_upload_bytes;
    let body_limit = limit.saturating_add(FORM_OVERHEAD);
    let announced =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > body_limit) {
        return Err(UploadError::TooLarge);
    }
    let req =
        req.map(|b| Body::new(http_body_util::Limited::new(b, usize::try_from(body_limit).unwrap_or(usize::MAX))));
    let mut form = Multipart::from_request(req, &()).await.map_err(|_| UploadError::NotMultipart)?;

    let mut upload = Upload::new(state, app_id);
    while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                let filename = field.file_name().map(str::to_owned);
                // The upload owns the writer: dropped on any early return (including the
                // client going away), it takes the temporary file with it.
                let writer = upload.start_file(filename).await?;
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if writer.size() + chunk.len() as u64 > limit {
                        return Err(UploadError::TooLarge);
                    }
                    writer.write(&chunk).await.map_err(storage_failed)?;
                }
            }
            Some("name") => upload.name = Some(read_text(&mut field, "name").await?),
            Some("minLevel") => upload.min_level = Some(read_text(&mut field, "minLevel").await?),
            _ => while field.chunk().await.map_err(multipart_error)?.is_some() {},
        }
    }
    Ok(upload)
}

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
