//! What every signed client dialect shares: where a request's id, nonce and timestamp come from,
//! the checks that run before any endpoint (per-IP rate limit, replay defence), and how an answer
//! is signed and sent.
//!
//! 1. The request's id, nonce and timestamp are taken from the headers clients send
//!    (`x-request-id`/`x-v2-request-id`, `x-auth-nonce`/`x-v2-nonce`,
//!    `x-auth-timestamp`/`x-v2-timestamp`) or else from the body's `request_id`, `nonce`,
//!    `timestamp` ([`meta`]).
//! 2. [`admit`]: the per-IP rate limit, then the replay defence (timestamp window, nonce seen
//!    once), both from `crate::client::guard`.
//! 3. An endpoint answers with a JSON value carried in the response's extensions ([`answer`]).
//! 4. [`sign`]: that value, errors included, is serialised once as canonical JSON and signed
//!    with the server's Ed25519 key over `"{ts}\n{request_id}\n{nonce}\n{body}"`
//!    (`crate::signing`, docs/dialects/signing.md); the signature goes out in the [`header`]s
//!    below and the body is exactly the bytes that were signed.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tollgate_core::DomainError;

use crate::client::guard;
use crate::state::AppState;

/// Response headers of a signed answer.
pub mod header {
    /// The request's id, echoed.
    pub const REQUEST_ID: &str = "x-v2-request-id";
    /// The request's nonce, echoed.
    pub const NONCE: &str = "x-v2-nonce";
    /// Standard base64 of the 64-byte Ed25519 signature.
    pub const SIGNATURE: &str = "x-v2-signature";
    /// Unix milliseconds, the first line of the signed message.
    pub const SIGNATURE_TS: &str = "x-v2-signature-ts";
    /// The id of the key that signed.
    pub const SIGNATURE_KID: &str = "x-v2-signature-kid";
}

/// The request's id and nonce as they are echoed and signed (empty when absent), and its
/// timestamp for the replay defence.
#[derive(Debug, Default, Clone)]
pub struct Meta {
    pub request_id: String,
    pub nonce: String,
    pub timestamp: Option<String>,
}

/// The caller's address: the socket's, or the forwarded one behind a trusted proxy.
pub fn caller_ip(state: &AppState, parts: &Parts) -> IpAddr {
    let peer =
        parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    crate::extract::client_ip(peer, &parts.headers, &state.config.trusted_proxies)
}

/// A header's text, trimmed; the first of `names` that is present and not blank.
pub fn header_text<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok())).map(str::trim).filter(|v| !v.is_empty())
}

/// A body field of the envelope: a string, or for the timestamp also a number. `Err` names the
/// field of the wrong type.
fn body_text(body: &Map<String, Value>, name: &'static str, numbers: bool) -> Result<Option<String>, &'static str> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) if numbers => Ok(Some(n.to_string())),
        Some(_) => Err(name),
    }
}

/// Ids and nonces are echoed in headers: visible ASCII only, of sane length.
fn echoable(name: &'static str, v: String) -> Result<String, &'static str> {
    if v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(v)
    } else {
        Err(name)
    }
}

/// The request's id, nonce and timestamp, from the headers or else the body (`None` before the
/// body is read). `Err` names the field that cannot be used (wrong type, or not echoable).
pub fn meta(headers: &HeaderMap, body: Option<&Map<String, Value>>) -> Result<Meta, &'static str> {
    let pick = |hdrs: &[&str], field: &'static str, numbers: bool| -> Result<Option<String>, &'static str> {
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

/// What every request passes before its endpoint runs: the per-IP rate limit, then the replay
/// defence on the timestamp and nonce it carries (see `guard::check_replay`).
pub async fn admit(state: &AppState, ip: IpAddr, meta: &Meta) -> Result<(), DomainError> {
    guard::rate_limit(state, ip)?;
    guard::check_replay(state, meta.timestamp.as_deref(), Some(&meta.nonce)).await
}

/// An answer's body before it is signed: the JSON value [`sign`] serialises and signs.
#[derive(Debug, Clone)]
pub struct Unsigned(pub Value);

/// An answer with this status and body, to be signed. The body travels in the response's
/// extensions; the response itself is empty until [`sign`].
pub fn answer(status: StatusCode, body: Value) -> Response {
    let mut res = status.into_response();
    res.extensions_mut().insert(Unsigned(body));
    res
}

/// Sign the answer's value and send it as the canonical JSON that was signed. A response that is
/// not an [`answer`] (a framework one) becomes a 500 with the dialect's opaque error body
/// `internal`, still signed.
pub fn sign(state: &AppState, res: Response, meta: &Meta, internal: impl FnOnce() -> Value) -> Response {
    let (request_id, nonce) = (meta.request_id.as_str(), meta.nonce.as_str());
    let (mut parts, _) = res.into_parts();
    let value = match parts.extensions.remove::<Unsigned>() {
        Some(Unsigned(v)) => v,
        None => {
            tracing::error!(status = %parts.status, "client API produced an answer without a JSON body");
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            internal()
        }
    };
    let signed = state.signer.get().sign_value(request_id, nonce, &value);
    let headers = &mut parts.headers;
    headers.remove(axum::http::header::CONTENT_LENGTH);
    headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut set = |name: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set(header::REQUEST_ID, request_id);
    set(header::NONCE, nonce);
    set(header::SIGNATURE_TS, &signed.ts_ms.to_string());
    set(header::SIGNATURE_KID, &signed.kid);
    set(header::SIGNATURE, &signed.signature);
    Response::from_parts(parts, Body::from(signed.body))
}

/// The `Retry-After` a domain error carries (rate limited, server busy), in whole seconds.
pub fn retry_after(e: &DomainError) -> Option<u64> {
    match e {
        DomainError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
        DomainError::Busy => Some(crate::password::BUSY_RETRY_AFTER_SECS),
        _ => None,
    }
}

/// Add the `Retry-After` header of a domain error that has one.
pub fn with_retry_after(mut res: Response, e: &DomainError) -> Response {
    if let Some(secs) = retry_after(e) {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
    }
    res
}
