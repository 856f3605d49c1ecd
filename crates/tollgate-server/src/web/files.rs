//! Dashboard pages: an app's files. The list (name, size, lowest level, SHA-256, downloads),
//! an upload form with a progress bar (the page's script sends it with the CSRF token in
//! `X-CSRF-Token`), the seller's download and delete.
//!
//! The upload is read by `manage::files::receive`, the admin API's own reader: streamed to an
//! encrypted blob part by part (never held whole in memory), under the same `max_upload_bytes`
//! limit; the download is the admin API's (decrypted as it streams, `Content-Disposition:
//! attachment`, `Range` honoured).

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tollgate_core::model::FileMeta;

use super::session::{redirect_with, NoFields};
use super::{field_error, page_with, Chrome, CsrfForm, WebApp, WebError, WebResult};
use crate::error::ApiError;
use crate::manage::files::UploadError;
use crate::state::AppState;
use crate::{download, manage};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/apps/{appId}/files",
            // The upload enforces `max_upload_bytes` itself (see `manage::files`).
            get(list).post(upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/apps/{appId}/files/{fileId}/download", get(download_file))
        .route("/apps/{appId}/files/{fileId}/delete", post(delete))
}

#[derive(askama::Template)]
#[template(path = "files.html")]
struct FilesPage {
    chrome: Chrome,
    app_id: String,
    files: Vec<FileMeta>,
    max_upload: String,
    min_level: String,
    /// The upload form's field with an error, and its message.
    error: Option<(String, String)>,
}

impl FilesPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    fn size(&self, f: &FileMeta) -> String {
        size_of(f)
    }
}

/// A size for people: bytes, KiB, MiB or GiB.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

fn size_of(f: &FileMeta) -> String {
    human_size(u64::try_from(f.size).unwrap_or(0))
}

async fn render(
    state: &AppState,
    w: &WebApp,
    status: StatusCode,
    min_level: String,
    error: Option<(String, String)>,
) -> WebResult<Response> {
    let files = manage::files::list(state, &w.app.id).await?;
    page_with(
        status,
        &FilesPage {
            chrome: Chrome::app(w, "files", format!("{} · Files", w.app.name)),
            app_id: w.app.id.clone(),
            files,
            max_upload: human_size(state.config.max_upload_bytes),
            min_level,
            error,
        },
    )
}

async fn list(State(state): State<AppState>, w: WebApp) -> WebResult<Response> {
    render(&state, &w, StatusCode::OK, "0".to_owned(), None).await
}

/// The CSRF token was checked by the dashboard's layer (the `X-CSRF-Token` header of a
/// multipart POST) before this runs.
async fn upload(State(state): State<AppState>, w: WebApp, req: Request) -> WebResult<Response> {
    let received = manage::files::receive(&state, &w.app.id, req).await;
    let result = match received {
        Ok(upload) => {
            let typed = upload.min_level.clone().unwrap_or_default();
            manage::files::finish_upload(&state, &w.seller.actor(), upload).await.map_err(|e| (e, typed))
        }
        Err(UploadError::Refused(e)) => Err((e, String::new())),
        Err(other) => return Err(WebError::from(ApiError::from(other))),
    };
    match result {
        Ok(meta) => {
            let to = format!("/apps/{}/files", w.app.id);
            Ok(redirect_with(&state, &to, &format!("Uploaded {} ({}).", meta.name, size_of(&meta))))
        }
        Err((e, typed)) => match field_error(&e) {
            Some(err) => render(&state, &w, StatusCode::BAD_REQUEST, typed, Some(err)).await,
            None => Err(e.into()),
        },
    }
}

async fn download_file(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, file_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let file = manage::files::get(&state, &w.app.id, &file_id).await?;
    match download::serve(&state, &file, &headers).await {
        Ok(prepared) => Ok(prepared.response),
        Err(download::ServeError::Unsatisfiable { size }) => Ok(download::unsatisfiable(size)),
        Err(download::ServeError::Storage) => Err(WebError::internal()),
    }
}

async fn delete(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, file_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    let file = manage::files::get(&state, &w.app.id, &file_id).await?;
    manage::files::delete(&state, &w.seller.actor(), &w.app.id, &file_id).await?;
    Ok(redirect_with(&state, &format!("/apps/{}/files", w.app.id), &format!("Deleted {}.", file.name)))
}
