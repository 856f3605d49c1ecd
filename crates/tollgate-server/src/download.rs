//! File downloads over HTTP: the client route `GET /v1/files/download/{fileId}` and the
//! byte-serving it shares with the seller's `GET /v1/admin/apps/{appId}/files/{fileId}/download`
//! (docs/files.md).
//!
//! A download is streamed chunk by chunk from the encrypted blob (`crate::files`): a chunk is
//! read and decrypted only when the connection asks for more, so a large file never sits in
//! memory and a slow reader holds back the reading, not the server's memory. Ranges decrypt only
//! the chunks that hold the bytes asked for.

use std::net::IpAddr;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde_json::json;
use tollgate_core::model::FileMeta;
use tollgate_core::DomainError;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::client::{self, Caller};
use crate::extract::ClientIp;
use crate::files::FileVault;
use crate::state::AppState;

/// The header that carries the SHA-256 of the whole file (lowercase hex), on whole and partial
/// answers alike.
pub const SHA256_HEADER: &str = "x-content-sha256";
/// The header a client may send its session token in, instead of `?token=`.
pub const SESSION_HEADER: &str = "x-session-token";
/// The query parameter a client may send its session token in.
pub const TOKEN_PARAM: &str = "token";

pub fn router() -> OpenApiRouter<AppState> {
    // A NUL in the path or the query (`?token=%00`) is a 400 naming it, as on the admin API.
    OpenApiRouter::new().routes(routes!(client_download)).layer(axum::middleware::from_fn(crate::extract::refuse_nul))
}

/// A file's bytes as an answer carries them (documentation only: `string`, `format: binary`).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct FileBytes(Vec<u8>);

// ------------------------------------------------------------------------------------- ranges

/// What a request's `Range` header asks of a file of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// No range (or several, or an `If-Range` that no longer matches): the whole file, 200.
    Whole,
    /// One satisfiable range, resolved against the size: bytes `start..=end`, 206.
    Part { start: u64, end: u64 },
    /// A malformed range, or one that holds no byte of the file: 416.
    Unsatisfiable,
}

/// One `first-last`, `first-` or `-suffix` of a `bytes=` range set, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    From(u64, Option<u64>),
    Suffix(u64),
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn spec(s: &str) -> Option<Spec> {
    let (a, b) = s.split_once('-')?;
    match (a, b) {
        ("", n) => Some(Spec::Suffix(number(n)?)),
        (a, "") => Some(Spec::From(number(a)?, None)),
        (a, b) => {
            let (a, b) = (number(a)?, number(b)?);
            (a <= b).then_some(Spec::From(a, Some(b)))
        }
    }
}

/// Resolve a `Range` header against a file of `size` bytes.
///
/// - `bytes=a-b` (clamped to the end), `bytes=a-`, `bytes=-n` (the last `n` bytes) → [`Ask::Part`];
/// - anything else — another unit, bad syntax, `a > b`, a start at or past the end, `-0`, any
///   range of an empty file — → [`Ask::Unsatisfiable`];
/// - several well-formed ranges → [`Ask::Whole`]: the range is ignored, which HTTP allows, rather
///   than answering `multipart/byteranges`.
pub fn resolve_range(range: &str, size: u64) -> Ask {
    let range = range.trim();
    let Some((unit, set)) = range.split_once('=') else { return Ask::Unsatisfiable };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Ask::Unsatisfiable;
    }
    let mut specs = Vec::new();
    for part in set.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match spec(part) {
            Some(s) => specs.push(s),
            None => return Ask::Unsatisfiable,
        }
    }
    match specs.as_slice() {
        [] => Ask::Unsatisfiable,
        [_, _, ..] => Ask::Whole,
        [_] if size == 0 => Ask::Unsatisfiable,
        [Spec::From(start, end)] => {
            if *start >= size {
                return Ask::Unsatisfiable;
            }
            Ask::Part { start: *start, end: end.map_or(size - 1, |e| e.min(size - 1)) }
        }
        [Spec::Suffix(0)] => Ask::Unsatisfiable,
        [Spec::Suffix(n)] => Ask::Part { start: size - (*n).min(size), end: size - 1 },
    }
}

/// The file's entity tag: its SHA-256, quoted (a strong validator: same tag, same bytes).
pub fn etag(file: &FileMeta) -> String {
    format!("\"{}\"", file.sha256)
}

/// What the request asks of `file`: its `Range`, honoured only while its `If-Range` (when sent)
/// still names this exact file (its `ETag`; a date never matches, so the whole file is sent).
pub fn ask(headers: &HeaderMap, file: &FileMeta, size: u64) -> Ask {
    let Some(range) = headers.get(header::RANGE) else { return Ask::Whole };
    let Ok(range) = range.to_str() else { return Ask::Unsatisfiable };
    if let Some(if_range) = headers.get(header::IF_RANGE) {
        if if_range.to_str().ok().map(str::trim) != Some(etag(file).as_str()) {
            return Ask::Whole;
        }
    }
    resolve_range(range, size)
}

// ---------------------------------------------------------------------------------- answers

/// `Content-Disposition: attachment` with the file's name: an ASCII `filename="..."` (anything
/// else, and `"` and `\`, as `_`), plus `filename*=UTF-8''...` with the exact name, percent-encoded,
/// whenever the ASCII one had to change it.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' { c } else { '_' })
        .collect();
    let mut v = format!("attachment; filename=\"{ascii}\"");
    if ascii != name {
        v.push_str("; filename*=UTF-8''");
        for b in name.bytes() {
            // RFC 8187 attr-char passes as is; every other byte is %XX.
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                v.push(char::from(b));
            } else {
                v.push_str(&format!("%{b:02X}"));
            }
        }
    }
    v
}

/// Why a download was not served, before any byte went out.
#[derive(Debug)]
pub enum ServeError {
    /// 416 with `Content-Range: bytes */<size>`.
    Unsatisfiable { size: u64 },
    /// The blob is missing, unreadable, or not the size its row says: logged here, answered as
    /// the caller's opaque internal error.
    Storage,
}

/// A download ready to go: the answer (headers set, body streaming from the blob) and the range
/// it serves, if partial.
pub struct Prepared {
    pub response: Response,
    pub range: Option<(u64, u64)>,
    pub size: u64,
}

fn storage(file: &FileMeta, e: &std::io::Error) -> ServeError {
    tracing::error!(error = %e, file = %file.id, app = %file.app_id, "cannot read a stored file");
    ServeError::Storage
}

/// Open the file's blob and answer the request's range of it: 200 with the whole file, 206 with
/// one range, or [`ServeError::Unsatisfiable`]. Nothing is decrypted until the body is polled.
pub async fn serve(state: &AppState, file: &FileMeta, headers: &HeaderMap) -> Result<Prepared, ServeError> {
    let blob = FileVault::from_state(state).open(&file.app_id, &file.id).await.map_err(|e| storage(file, &e))?;
    let size = blob.size();
    if u64::try_from(file.size).ok() != Some(size) {
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("blob holds {size} bytes, row says {}", file.size),
        );
        return Err(storage(file, &e));
    }
    let (status, range, stream) = match ask(headers, file, size) {
        Ask::Unsatisfiable => return Err(ServeError::Unsatisfiable { size }),
        Ask::Whole => (StatusCode::OK, None, blob.whole().await),
        Ask::Part { start, end } => (StatusCode::PARTIAL_CONTENT, Some((start, end)), blob.range(start, end).await),
    };
    let mut stream = stream.map_err(|e| storage(file, &e))?;
    // The first chunk is decrypted before the answer starts: a blob that fails authentication
    // there is a clean 500, not a cut connection. Later chunks are checked as they stream (a
    // failure then cuts the connection short of its Content-Length; no unchecked byte is sent).
    let first = match stream.next().await {
        Some(Ok(bytes)) => Some(Ok(bytes)),
        Some(Err(e)) => return Err(storage(file, &e)),
        None => None,
    };
    let stream = futures::stream::iter(first).chain(stream);
    let length = range.map_or(size, |(a, b)| b - a + 1);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some((a, b)) = range {
        h.insert(header::CONTENT_RANGE, value(&format!("bytes {a}-{b}/{size}")));
    }
    common_headers(h, Some(file));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&content_disposition(&file.name)).unwrap_or(HeaderValue::from_static("attachment")),
    );
    Ok(Prepared { response, range, size })
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""))
}

/// Headers every answer about a file carries, 416 included.
fn common_headers(h: &mut HeaderMap, file: Option<&FileMeta>) {
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(file) = file {
        h.insert(SHA256_HEADER, value(&file.sha256));
        h.insert(header::ETAG, value(&etag(file)));
    }
}

/// The JSON error answer both download routes give.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "success": false, "code": code, "message": message }))).into_response()
}

/// 416 `RANGE_NOT_SATISFIABLE` with `Content-Range: bytes */<size>`.
pub fn unsatisfiable(size: u64) -> Response {
    let mut res = error_response(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "RANGE_NOT_SATISFIABLE",
        &format!("Range not satisfiable: the file has {size} bytes"),
    );
    res.headers_mut().insert(header::CONTENT_RANGE, value(&format!("bytes */{size}")));
    common_headers(res.headers_mut(), None);
    res
}

// ------------------------------------------------------------------------------ client route

/// The client route's status, code and message for a refusal: the one place its error table is
/// chosen.
fn failure(e: &DomainError) -> (StatusCode, &'static str, String) {
    let f = crate::dialect::authon::codes::failure(e);
    (f.status, f.code, f.message)
}

fn client_error(e: &DomainError) -> Response {
    let (status, code, message) = failure(e);
    let mut res = error_response(status, code, &message);
    if let DomainError::RateLimited { retry_after_secs } = e {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    res
}

/// The session token: the `X-Session-Token` header, else the `token` query parameter.
fn session_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(v) = headers.get(SESSION_HEADER) {
        return v.to_str().ok().map(|t| t.trim().to_owned());
    }
    let query = query?;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == TOKEN_PARAM).map(|(_, v)| v.trim().to_owned())
}

/// Download a file of the session's app: the session token as `X-Session-Token` or `?token=`;
/// the session's user (or key) must reach the file's level. `Range: bytes=...` gives 206 with
/// `Content-Range`. Each download (not a `HEAD`) is logged in the app's logs as
/// `file.download <name>`.
#[utoipa::path(get, path = "/v1/files/download/{fileId}", tag = "files",
    params(
        ("fileId" = String, Path),
        ("token" = Option<String>, Query, description = "The client session token, if not sent as `X-Session-Token`"),
        ("X-Session-Token" = Option<String>, Header, description = "The client session token"),
        ("Range" = Option<String>, Header, description = "`bytes=a-b`, `bytes=a-` or `bytes=-n`; several ranges: the whole file"),
        ("If-Range" = Option<String>, Header, description = "The `ETag`: the range is honoured only while it matches"),
    ),
    responses(
        (status = 200, description = "The whole file", content_type = "application/octet-stream", body = inline(FileBytes)),
        (status = 206, description = "The range asked for, with `Content-Range`", content_type = "application/octet-stream", body = inline(FileBytes)),
        (status = 401, description = "No session token, or an invalid or expired session"),
        (status = 403, description = "Level too low; app paused or disabled; user or key banned, paused or expired"),
        (status = 404, description = "No such file in the session's app"),
        (status = 416, description = "Malformed or unsatisfiable range; `Content-Range: bytes */<size>`"),
        (status = 429, description = "Too many requests from this address; `Retry-After`"),
        (status = 500, description = "The stored file cannot be read"),
    ))]
async fn client_download(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    method: Method,
    Path(file_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match client_serve(&state, ip, &method, &file_id, query.as_deref(), &headers).await {
        Ok(res) => res,
        Err(e) => client_error(&e),
    }
}

async fn client_serve(
    state: &AppState,
    ip: IpAddr,
    method: &Method,
    file_id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, DomainError> {
    client::guard::rate_limit(state, ip)?;
    let token = session_token(headers, query).filter(|t| !t.is_empty()).ok_or(DomainError::InvalidSession)?;
    let live = client::live_session(
        state,
        &Caller { ip, mac: None, dialect: crate::client::activity::dialect::DOWNLOAD },
        &token,
    )
    .await?;
    let download = client::files::for_download(state, &live, file_id).await?;
    let prepared = match serve(state, &download.file, headers).await {
        Ok(p) => p,
        Err(ServeError::Unsatisfiable { size }) => return Ok(unsatisfiable(size)),
        Err(ServeError::Storage) => return Err(DomainError::Internal),
    };
    // Logged (and `file.download` sent, for a request from the first byte) as the answer starts:
    // a download the client abandons halfway is still logged.
    if *method != Method::HEAD {
        let name = &download.file.name;
        let message = match prepared.range {
            None => format!("file.download {name}"),
            Some((a, b)) => format!("file.download {name} bytes {a}-{b}/{}", prepared.size),
        };
        client::files::log_download(state, &live, ip, download.username(), message).await?;
        if client::files::starts_download(prepared.range) {
            client::files::announce_download(state, &live, &download).await?;
        }
    }
    Ok(prepared.response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_against_the_size() {
        use Ask::*;
        let p = |start, end| Part { start, end };
        for (header, size, want) in [
            ("bytes=0-0", 10, p(0, 0)),
            ("bytes=0-9", 10, p(0, 9)),
            ("bytes=2-5", 10, p(2, 5)),
            ("bytes=5-100", 10, p(5, 9)),
            ("bytes=9-", 10, p(9, 9)),
            ("bytes=0-", 10, p(0, 9)),
            ("bytes=-3", 10, p(7, 9)),
            ("bytes=-30", 10, p(0, 9)),
            ("BYTES = 1-2 ", 10, p(1, 2)),
            ("bytes=1-2,", 10, p(1, 2)),
            ("bytes=10-", 10, Unsatisfiable),
            ("bytes=10-20", 10, Unsatisfiable),
            ("bytes=-0", 10, Unsatisfiable),
            ("bytes=5-4", 10, Unsatisfiable),
            ("bytes=0-0", 0, Unsatisfiable),
            ("bytes=-1", 0, Unsatisfiable),
            ("bytes=", 10, Unsatisfiable),
            ("bytes=-", 10, Unsatisfiable),
            ("bytes=a-b", 10, Unsatisfiable),
            ("bytes=+1-2", 10, Unsatisfiable),
            ("bytes=1-2-3", 10, Unsatisfiable),
            ("bytes=99999999999999999999999-", 10, Unsatisfiable),
            ("items=0-1", 10, Unsatisfiable),
            ("0-1", 10, Unsatisfiable),
            ("bytes=0-1,x", 10, Unsatisfiable),
            ("bytes=0-1,4-5", 10, Whole),
            ("bytes=0-1, -2", 10, Whole),
        ] {
            assert_eq!(resolve_range(header, size), want, "{header:?} of {size}");
        }
    }

    #[test]
    fn if_range_honours_the_range_only_for_this_file() {
        let file = FileMeta {
            last_transferred_at: None,
            transfer_count: 0,
            id: "file_a".into(),
            app_id: "app_a".into(),
            name: "a.bin".into(),
            size: 10,
            min_level: 0,
            sha256: "ab".repeat(32),
            created_at: tollgate_core::time::now(),
        };
        let mut h = HeaderMap::new();
        assert_eq!(ask(&h, &file, 10), Ask::Whole);
        h.insert(header::RANGE, HeaderValue::from_static("bytes=1-2"));
        assert_eq!(ask(&h, &file, 10), Ask::Part { start: 1, end: 2 });
        h.insert(header::IF_RANGE, value(&etag(&file)));
        assert_eq!(ask(&h, &file, 10), Ask::Part { start: 1, end: 2 });
        h.insert(header::IF_RANGE, HeaderValue::from_static("\"other\""));
        assert_eq!(ask(&h, &file, 10), Ask::Whole);
        h.insert(header::IF_RANGE, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(ask(&h, &file, 10), Ask::Whole);
    }

    #[test]
    fn content_disposition_quotes_safely() {
        assert_eq!(content_disposition("module.exe"), "attachment; filename=\"module.exe\"");
        assert_eq!(content_disposition("a b%.txt"), "attachment; filename=\"a b%.txt\"");
        assert_eq!(
            content_disposition("say \"hi\".txt"),
            "attachment; filename=\"say _hi_.txt\"; filename*=UTF-8''say%20%22hi%22.txt"
        );
        assert_eq!(
            content_disposition("résumé.pdf"),
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
        );
        for name in ["x\\y", "日本.bin", "a;b=c"] {
            assert!(HeaderValue::from_str(&content_disposition(name)).is_ok(), "{name}");
        }
    }
}
