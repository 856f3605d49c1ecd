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
//!    docs/dialects/signing.md), and the signature goes out in the [`header`]s.
//!
//! Steps 2, 3 and 5 are the ones every signed dialect shares: `crate::dialect::signed`.
//!
//! The C# SDK's request MAC (`x-v2-signature`) is read here too, and checked by the client core
//! once the app's secret is known.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value};
use tollgate_core::DomainError;

use super::answers::ErrorAnswer;
use super::codes::{self, Failure};
use crate::client::{Caller, RequestMac};
use crate::dialect::signed::{self, header_text, Meta};
use crate::state::AppState;

pub use crate::dialect::signed::{answer, header, Unsigned};

/// The largest request body a client call may have: every field of every endpoint fits many
/// times over (a variable value is at most 64 KiB).
pub const MAX_BODY: usize = 96 * 1024;

/// A parsed client request, handed to the endpoint in the request's extensions.
#[derive(Clone)]
pub struct AuthlyRequest {
    pub body: Map<String, Value>,
    pub caller: Caller,
}

fn meta(headers: &axum::http::HeaderMap, body: Option<&Map<String, Value>>) -> Result<Meta, Failure> {
    signed::meta(headers, body).map_err(codes::wrong_type)
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
    signed::with_retry_after(failure_response(codes::failure(e), None), e)
}

/// The middleware: see the module documentation.
pub async fn envelope(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let ip = signed::caller_ip(&state, &parts);

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

    if let Err(e) = signed::admit(&state, ip, &meta).await {
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
    parts
        .extensions
        .insert(AuthlyRequest { body, caller: Caller { ip, mac, dialect: crate::client::activity::dialect::AUTHLY } });
    let res = next.run(Request::from_parts(parts, Body::empty())).await;
    sign(&state, res, &meta)
}

/// Sign the answer (`crate::dialect::signed`); a framework answer becomes the opaque error.
fn sign(state: &AppState, res: Response, meta: &Meta) -> Response {
    signed::sign(state, res, meta, || failure_body(codes::internal(), None))
}
