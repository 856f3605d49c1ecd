//! What every `/api/v2` request and response goes through, whatever the endpoint:
//!
//! 1. the body is read (at most [`MAX_BODY`]) and parsed once as a JSON object, refusing a key
//!    given twice and any NUL character (`crate::strict_json`);
//! 2. the request's id, nonce and timestamp are taken from the headers the SDKs send
//!    (`x-request-id`/`x-v2-request-id`, `x-auth-nonce`/`x-v2-nonce`,
//!    `x-auth-timestamp`/`x-v2-timestamp`) or else from the body's `request_id`, `nonce`,
//!    `timestamp`;
//! 3. the per-IP rate limit, then the replay defence (timestamp window, nonce seen once), both
//!    from `crate::client::guard`;
//! 4. the endpoint runs and answers with a JSON value in the response's extensions ([`answer`]);
//! 5. that value, errors included, is serialised once as canonical JSON and signed with the
//!    server's Ed25519 key over `"{ts}\n{request_id}\n{nonce}\n{body}"` (`crate::signing`,
//!    docs/dialects/signing.md), and the signature goes out in the [`header`]s below.
//!
//! The C# SDK's request MAC (`x-v2-signature`) is read here too, and checked by the client core
//! once the app's secret is known.

use std::net::{IpAddr, SocketAddr};

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tollgate_core::DomainError;

use super::answers::ErrorAnswer;
use super::codes::{self, Failure};
use crate::client::{guard, Caller, RequestMac};
use crate::state::AppState;

/// Response headers of a signed answer (Authly v2 names).
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

/// The largest request body a client call may have: every field of every endpoint fits many
/// times over (a variable value is at most 64 KiB).
pub const MAX_BODY: usize = 96 * 1024;

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

/// An answer's body before it is signed: the JSON value the envelope signs and serialises.
#[derive(Debug, Clone)]
pub struct Unsigned(pub Value);

/// An answer with this status and body, for the envelope to sign and send. The body travels in
/// the response's extensions; the response itself is empty until then.
pub fn answer(status: StatusCode, body: Value) -> Response {
    let mut res = status.into_response();
    res.extensions_mut().insert(Unsigned(body));
    res
}

/// The answer of a failure: `{success: false, code, message}` and the extra fields some carry.
pub fn failure_response(f: Failure, extra: Option<Map<String, Value>>) -> Response {
    let status = f.status;
    answer(status, failure_body(f, extra))
}

fn failure_body(f: Failure, extra: Option<Map<String, Value>>) -> Value {
    let body = ErrorAnswer { success: false, code: f.code, message: f.message, extra: extra.unwrap_or_default() };
    // A map of strings and plain values always serialises.
    serde_json::to_value(body).unwrap_or(Value::Null)
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
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
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
        return sign(&state, failure_response(codes::method_not_allowed(), None), &header_meta);
    }
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return sign(&state, failure_response(codes::too_large(MAX_BODY), None), &header_meta),
    };
    // The strict reader: a key given twice or a NUL character anywhere is refused here, for
    // every endpoint, before anything is read from the body or written.
    let body = match crate::strict_json::parse(&bytes) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return sign(&state, failure_response(codes::bad_json("not an object"), None), &header_meta),
        Err(p) => return sign(&state, failure_response(codes::refused_json(&p), None), &header_meta),
    };
    let meta = match meta(&parts.headers, Some(&body)) {
        Ok(m) => m,
        Err(f) => return sign(&state, failure_response(f, None), &header_meta),
    };

    if let Err(e) = guard::rate_limit(&state, ip) {
        return sign(&state, error_response(&e), &meta);
    }
    if let Err(e) = guard::check_replay(&state, meta.timestamp.as_deref(), Some(&meta.nonce)).await {
        return sign(&state, error_response(&e), &meta);
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
    sign(&state, res, &meta)
}

/// Sign the answer's value and send it as the canonical JSON that was signed.
fn sign(state: &AppState, res: Response, meta: &Meta) -> Response {
    let (request_id, nonce) = (meta.request_id.as_str(), meta.nonce.as_str());
    let (mut parts, _) = res.into_parts();
    let value = match parts.extensions.remove::<Unsigned>() {
        Some(Unsigned(v)) => v,
        // Not one of the endpoints' answers (a framework one): the opaque error, still signed.
        None => {
            tracing::error!(status = %parts.status, "client API produced an answer without a JSON body");
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            failure_body(codes::internal(), None)
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
