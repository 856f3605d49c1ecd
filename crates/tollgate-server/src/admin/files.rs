//! Files: upload (multipart, streamed to disk and encrypted as it arrives), list, delete.
//!
//! The upload size limit is `max_upload_bytes`, a runtime setting, so the route turns axum's
//! default body limit off and enforces its own while streaming: the file part may hold at most
//! `max_upload_bytes`, the whole body that plus [`FORM_OVERHEAD`] for the other parts and the
//! multipart envelope. A body announced larger by its `Content-Length` is refused before a byte
//! is read. Over the limit → 413 `PAYLOAD_TOO_LARGE`, and nothing is kept.

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use tollgate_core::model::FileMeta;
use tollgate_core::time::{serde_ts, Timestamp};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ok, ok_message, ClientIp, OwnedApp};
use crate::state::AppState;
use crate::{download, manage};

pub use crate::manage::files::FORM_OVERHEAD;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_file, list_files))
        .routes(routes!(delete_file))
        .routes(routes!(download_file))
        // The upload enforces `max_upload_bytes` itself (see the module doc).
        .layer(DefaultBodyLimit::disable())
}

/// A file as the admin API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileView {
    pub id: String,
    pub name: String,
    /// Plaintext size in bytes.
    pub size: i64,
    pub min_level: i64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
    /// Downloads started from the first byte, by any client protocol.
    pub transfer_count: i64,
    /// When the last of those started.
    #[serde(with = "serde_ts::option")]
    pub last_transferred_at: Option<Timestamp>,
}

impl From<&FileMeta> for FileView {
    fn from(f: &FileMeta) -> Self {
        FileView {
            id: f.id.clone(),
            name: f.name.clone(),
            size: f.size,
            min_level: f.min_level,
            sha256: f.sha256.clone(),
            created_at: f.created_at,
            transfer_count: f.transfer_count,
            last_transferred_at: f.last_transferred_at,
        }
    }
}

/// The form `POST .../files` takes (documentation only; the handler streams the parts).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file's content.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Display name, 1-255 characters, no `/`, `\` or control characters; defaults to the uploaded filename.
    name: Option<String>,
    /// Lowest user level allowed to download it (integer ≥ 0, default 0).
    #[schema(rename = "minLevel")]
    min_level: Option<String>,
}

/// Upload a file: `multipart/form-data` with a `file` part and optional `name` and `minLevel`
/// parts. The content is encrypted at rest as it streams in; its SHA-256 and size are recorded.
#[utoipa::path(post, path = "/v1/admin/apps/{appId}/files", tag = "files", security(("bearer" = [])),
    params(("appId" = String, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "`{id, name, size, minLevel, sha256, createdAt, transferCount, lastTransferredAt}`"),
              (status = 400, description = "Not multipart, no `file` part, or an invalid field, named"),
              (status = 404, description = "Not yours or absent"),
              (status = 413, description = "Over `max_upload_bytes`")))]
async fn upload_file(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(_app_id): Path<String>,
    req: Request,
) -> ApiResult<impl IntoResponse> {
    let upload = manage::files::receive(&state, &owned.app.id, req).await?;
    let meta = manage::files::finish_upload(&state, &owned.actor(ip), upload).await?;
    Ok((StatusCode::CREATED, ok(FileView::from(&meta))))
}

/// List an application's files.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/files", tag = "files", security(("bearer" = [])),
    params(("appId" = String, Path)),
    responses((status = 200, description = "`[{id, name, size, minLevel, sha256, createdAt}]`"),
              (status = 404, description = "Not yours or absent")))]
async fn list_files(
    State(state): State<AppState>,
    owned: OwnedApp,
    Path(_app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let files = manage::files::list(&state, &owned.app.id).await?;
    Ok(ok(files.iter().map(FileView::from).collect::<Vec<_>>()))
}

/// Delete a file and its encrypted content.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/files/{fileId}", tag = "files", security(("bearer" = [])),
    params(("appId" = String, Path), ("fileId" = String, Path)),
    responses((status = 200, description = "File deleted"), (status = 404, description = "Not yours or absent")))]
async fn delete_file(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((_app_id, file_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::files::delete(&state, &owned.actor(ip), &owned.app.id, &file_id).await?;
    Ok(ok_message::<()>("File deleted", None))
}

/// Download a file's content, decrypted and streamed, with the same headers and `Range` support
/// as the client download route (docs/files.md).
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/files/{fileId}/download", tag = "files", security(("bearer" = [])),
    params(
        ("appId" = String, Path),
        ("fileId" = String, Path),
        ("Range" = Option<String>, Header, description = "`bytes=a-b`, `bytes=a-` or `bytes=-n`; several ranges: the whole file"),
        ("If-Range" = Option<String>, Header, description = "The `ETag`: the range is honoured only while it matches"),
    ),
    responses(
        (status = 200, description = "The whole file", content_type = "application/octet-stream", body = inline(download::FileBytes)),
        (status = 206, description = "The range asked for, with `Content-Range`", content_type = "application/octet-stream", body = inline(download::FileBytes)),
        (status = 404, description = "Not yours or absent"),
        (status = 416, description = "Malformed or unsatisfiable range; `Content-Range: bytes */<size>`"),
        (status = 500, description = "The stored file cannot be read"),
    ))]
async fn download_file(
    State(state): State<AppState>,
    owned: OwnedApp,
    Path((_app_id, file_id)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> ApiResult<axum::response::Response> {
    let file = manage::files::get(&state, &owned.app.id, &file_id).await?;
    match download::serve(&state, &file, &headers).await {
        Ok(prepared) => Ok(prepared.response),
        Err(download::ServeError::Unsatisfiable { size }) => Ok(download::unsatisfiable(size)),
        Err(download::ServeError::Storage) => Err(ApiError::internal()),
    }
}
