//! What every `/api/v2` request and response goes through, whatever the endpoint:
//!
//! 1. the body is read (at most [`MAX_BODY`]) and parsed once as a JSON object, refusing a key
//!    given twice and any NUL character (`crate::strict_json`);
//! 2. the request's id, nonce and timestamp are taken from the headers the SDKs send
//!    (`x-request-id`/`x-v2-request-id`, `x-auth-nonce`/`x-v2-nonce`,
//!    `x-auth-timestamp`/`x-v2-timestamp`) or else from the body's `request_id`, `nonce`,
//!    `timestamp`;
//! 3. the per-IP rate limit, then the replay defence (timestamp window, nonce seen once);
//! 4. the endpoint runs;
//! 5. the answer, errors included, is re-serialised as canonical JSON and signed with the
//!    server's Ed25519 key over `"{ts}\n{request_id}\n{nonce}\n{body}"` (docs/dialects/signing.md).

use std::net::{IpAddr, SocketAddr};

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tollgate_core::canonical::canonical_json;
use tollgate_core::{replay, DomainError};

use super::codes::{self, Failure};
use crate::client::{store_err, Caller, RequestMac};
use crate::signing::header as h;
use crate::state::AppState;

/// The largest request body a client call may have: every field of every endpoint fits many
/// times over (a variable value is at most 64 KiB).
pub const MAX_BODY: usize = 96 * 1024;
/// Responses are small JSON documents; anything larger is a bug, not something to sign.
const MAX_RESPONSE: usize = 4 << 20;

/// A parsed client request, handed to the endpoint in the request's extensions.
#[derive(Clone)]
pub struct AuthlyRequest {
    pub body: Map<String, Value>,
    pub caller: Caller,
}

/// The request's id and nonce as they are echoed and signed (empty when absent).
#[derive(Default)]
struct Meta {
    request_id: String,
    nonce: String,
    timestamp: Option<String>,
}

fn header_text<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok())).map(str::trim).filter(|v| !v.is_empty())
}

/// A body field of the envelope: a string, or for the timestamp also a number.
fn body_text(body: &Map<String, Value>, name: &str, numbers: bool) -> Result<Option<String>, Failure> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) if numbers => Ok(Some(n.to_string())),
        Some(_) => Err(codes::wrong_type(name)),
    }
}

/// Ids and nonces are echoed in headers: visible ASCII only, of sane length.
fn echoable(name: &str, v: String) -> Result<String, Failure> {
    if v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(v)
    } else {
        Err(codes::wrong_type(name))
    }
}

fn meta(headers: &HeaderMap, body: Option<&Map<String, Value>>) -> Result<Meta, Failure> {
    let pick = |hdrs: &[&str], field: &str, numbers: bool| -> Result<Option<String>, Failure> {
        if let Some(v) = header_text(headers, hdrs) {
            return Ok(Some(v.to_owned()));
        }
        match body {
            Some(b) => body_text(b, field, numbers),
            None => Ok(None),
        }
    };
    let request_id = pick(&["x-request-id", "x-v2-request-id"], "request_id", false)?;
    let nonce = pick(&["x-auth-nonce", "x-v2-nonce"], "nonce", false)?;
    let timestamp = pick(&["x-auth-timestamp", "x-v2-timestamp"], "timestamp", true)?;
    Ok(Meta {
        request_id: request_id.map(|v| echoable("request_id", v)).transpose()?.unwrap_or_default(),
        nonce: nonce.map(|v| echoable("nonce", v)).transpose()?.unwrap_or_default(),
        timestamp,
    })
}

/// The JSON answer of a failure, before signing.
pub fn failure_response(f: Failure, extra: Option<Map<String, Value>>) -> Response {
    let mut body = Map::new();
    body.insert("success".into(), Value::Bool(false));
    body.insert("code".into(), Value::String(f.code.into()));
    body.insert("message".into(), Value::String(f.message));
    if let Some(extra) = extra {
        body.extend(extra);
    }
    (f.status, axum::Json(Value::Object(body))).into_response()
}

/// The JSON answer of a domain error, with the headers some of them carry.
pub fn error_response(e: &DomainError) -> Response {
    let mut res = failure_response(codes::failure(e), None);
    let retry_after = match e {
        DomainError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
        DomainError::Busy => Some(crate::password::BUSY_RETRY_AFTER_SECS),
        _ => None,
    };
    if let Some(retry_after_secs) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

/// The middleware: see the module documentation.
pub async fn envelope(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let peer =
        parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let ip = crate::extract::client_ip(peer, &parts.headers, &state.config.trusted_proxies);

    // Whatever fails below is still answered signed, echoing what could be read of the request.
    let header_meta = meta(&parts.headers, None).unwrap_or_default();

    if parts.method != Method::POST {
        return sign(&state, failure_response(codes::method_not_allowed(), None), &header_meta).await;
    }
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return sign(&state, failure_response(codes::too_large(MAX_BODY), None), &header_meta).await,
    };
    // The strict reader: a key given twice or a NUL character anywhere is refused here, for
    // every endpoint, before anything is read from the body or written.
    let body = match crate::strict_json::parse(&bytes) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return sign(&state, failure_response(codes::bad_json("not an object"), None), &header_meta).await,
        Err(p) => return sign(&state, failure_response(codes::refused_json(&p), None), &header_meta).await,
    };
    let meta = match meta(&parts.headers, Some(&body)) {
        Ok(m) => m,
        Err(f) => return sign(&state, failure_response(f, None), &header_meta).await,
    };

    if let Some(limiter) = &state.client_limiter {
        if let Err(not_until) = limiter.check_key(&ip) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            let e = DomainError::RateLimited { retry_after_secs: wait.as_secs().max(1) };
            return sign(&state, error_response(&e), &meta).await;
        }
    }
    if let Err(e) = check_replay(&state, &meta).await {
        return sign(&state, error_response(&e), &meta).await;
    }

    // The C# SDK MACs the canonical body with the app secret; it is checked once the endpoint
    // knows the app.
    let mac = header_text(&parts.headers, &["x-v2-signature"]).map(|signature| {
        let ts = header_text(&parts.headers, &["x-v2-timestamp"]).map(str::to_owned).or(meta.timestamp.clone());
        RequestMac {
            message: tollgate_core::integrity::signed_message(
                ts.as_deref().unwrap_or_default(),
                &meta.request_id,
                &meta.nonce,
                &Value::Object(body.clone()),
            ),
            signature: signature.to_owned(),
        }
    });
    parts.extensions.insert(AuthlyRequest { body, caller: Caller { ip, mac } });
    let res = next.run(Request::from_parts(parts, Body::empty())).await;
    sign(&state, res, &meta).await
}

/// Timestamp window and nonce, when the request carries them. Older clients send neither; an
/// answer to them is still bound to nothing they can replay, since it echoes no nonce.
async fn check_replay(state: &AppState, meta: &Meta) -> Result<(), DomainError> {
    let now = tollgate_core::time::now();
    let ts = match &meta.timestamp {
        Some(t) => {
            let ms = t.parse::<i64>().map_err(|_| DomainError::ReplayedRequest)?;
            replay::check_timestamp(ms, now)?;
            Some(ms)
        }
        None => None,
    };
    if !meta.nonce.is_empty() {
        if !replay::plausible_nonce(&meta.nonce) {
            return Err(DomainError::ReplayedRequest);
        }
        let until = replay::remember_until(ts.unwrap_or_else(|| tollgate_core::time::to_millis(&now)), now);
        if !state.store.remember_nonce(&meta.nonce, until).await.map_err(store_err)? {
            return Err(DomainError::ReplayedRequest);
        }
    }
    Ok(())
}

/// Re-serialise the answer as canonical JSON and sign it.
async fn sign(state: &AppState, res: Response, meta: &Meta) -> Response {
    let (request_id, nonce) = (meta.request_id.as_str(), meta.nonce.as_str());
    let (mut parts, body) = res.into_parts();
    let value = match to_bytes(body, MAX_RESPONSE).await {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes).ok(),
        Err(_) => None,
    };
    let value = match value {
        Some(v @ Value::Object(_)) => v,
        // Not JSON (a framework answer): replace it with the opaque error, still signed.
        _ => {
            tracing::error!(status = %parts.status, "client API produced a non-JSON answer");
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            serde_json::json!({"success": false, "code": "INTERNAL", "message": "Internal server error"})
        }
    };
    let canonical = canonical_json(&value);
    let ts = tollgate_core::time::to_millis(&tollgate_core::time::now());
    let (signature, kid) = state.signer.get().sign_canonical(ts, request_id, nonce, &canonical);
    let headers = &mut parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut set = |name: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set(h::REQUEST_ID, request_id);
    set(h::NONCE, nonce);
    set(h::SIGNATURE_TS, &ts.to_string());
    set(h::SIGNATURE_KID, &kid);
    set(h::SIGNATURE, &signature);
    Response::from_parts(parts, Body::from(canonical))
}
