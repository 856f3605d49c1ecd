//! One call of the client API: `POST {base}/v1` with a fresh request id, nonce and timestamp,
//! and the answer checked before anything in it is believed.
//!
//! The order matters. The echoed request id and nonce, the signature and its timestamp are all
//! checked on the raw answer; only an answer that passes them is read as `{success, ...}`. A
//! forged or replayed answer therefore never reaches the code that decides what the user is
//! allowed to do, whatever its status or body says.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Map, Value};
use tollgate_core::integrity::signed_message;

use crate::Error;

/// The headers a signed answer carries.
pub(crate) mod header {
    pub const REQUEST_ID: &str = "x-v2-request-id";
    pub const NONCE: &str = "x-v2-nonce";
    pub const SIGNATURE: &str = "x-v2-signature";
    pub const SIGNATURE_TS: &str = "x-v2-signature-ts";
}

/// The headers a request carries its id, nonce and timestamp in.
mod request_header {
    pub const REQUEST_ID: &str = "x-request-id";
    pub const NONCE: &str = "x-auth-nonce";
    pub const TIMESTAMP: &str = "x-auth-timestamp";
}

/// The largest answer read from `/v1`. The server's answers are a few KiB at most; a bigger one
/// is not from it, and reading it whole would let a hostile server fill the client's memory.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The id, nonce and timestamp of one request. Fresh for every call: the server accepts a
/// nonce once, and the answer is signed over the id and nonce, so an answer recorded earlier
/// can never pass as the answer to this request.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub request_id: String,
    pub nonce: String,
    pub timestamp_ms: i64,
}

impl Meta {
    pub fn fresh() -> Meta {
        Meta {
            request_id: tollgate_core::ids::random_hex(16),
            nonce: tollgate_core::ids::random_hex(16),
            timestamp_ms: tollgate_core::time::to_millis(&tollgate_core::time::now()),
        }
    }
}

/// A verified answer: its HTTP status and the JSON object that was signed.
#[derive(Debug)]
pub(crate) struct Verified {
    pub status: u16,
    pub body: Map<String, Value>,
}

impl Verified {
    /// `success: true` gives the body; `success: false` the [`Error::Refused`] it names.
    pub fn into_success(self) -> Result<Map<String, Value>, Error> {
        match self.body.get("success") {
            Some(Value::Bool(true)) if self.status < 300 => Ok(self.body),
            Some(Value::Bool(false)) => {
                let text = |k: &str| self.body.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                Err(Error::Refused { status: self.status, code: text("code"), message: text("message") })
            }
            _ => Err(Error::Protocol(format!("answer with status {} has no `success` flag", self.status))),
        }
    }
}

/// Send `body` to `url` and verify the answer with `key`: the echoes of this request's id and
/// nonce, the Ed25519 signature over them and the canonical body, and (when `max_skew` is set)
/// the signature's timestamp against the local clock. Only then is the body handed back.
pub(crate) async fn call(
    http: &reqwest::Client,
    url: &str,
    key: &VerifyingKey,
    max_skew: Option<Duration>,
    body: &Value,
) -> Result<Verified, Error> {
    let meta = Meta::fresh();
    let res = http
        .post(url)
        .header(request_header::REQUEST_ID, &meta.request_id)
        .header(request_header::NONCE, &meta.nonce)
        .header(request_header::TIMESTAMP, meta.timestamp_ms.to_string())
        .json(body)
        .send()
        .await
        .map_err(transport)?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let raw = read_limited(res).await?;
    let body = verify(key, &meta, &headers, &raw, max_skew, tollgate_core::time::now())?;
    Ok(Verified { status, body })
}

/// The answer's bytes, at most [`MAX_ANSWER_BYTES`].
async fn read_limited(mut res: reqwest::Response) -> Result<Vec<u8>, Error> {
    let mut raw = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(transport)? {
        if raw.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(Error::Untrusted(format!("the answer is larger than {MAX_ANSWER_BYTES} bytes")));
        }
        raw.extend_from_slice(&chunk);
    }
    Ok(raw)
}

/// Check an answer to the request `meta` the way the client must before reading it; returns
/// the signed JSON object.
pub(crate) fn verify(
    key: &VerifyingKey,
    meta: &Meta,
    headers: &reqwest::header::HeaderMap,
    raw: &[u8],
    max_skew: Option<Duration>,
    now: tollgate_core::time::Timestamp,
) -> Result<Map<String, Value>, Error> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // The server always echoes both; an answer without them is not bound to this request.
    match text(header::REQUEST_ID) {
        Some(v) if v == meta.request_id => {}
        Some(_) => return Err(Error::Untrusted("the answer echoes another request id".into())),
        None => return Err(Error::Untrusted("the answer does not echo the request id".into())),
    }
    match text(header::NONCE) {
        Some(v) if v == meta.nonce => {}
        Some(_) => return Err(Error::Untrusted("the answer echoes another nonce".into())),
        None => return Err(Error::Untrusted("the answer does not echo the nonce".into())),
    }
    let (Some(signature), Some(ts)) = (text(header::SIGNATURE), text(header::SIGNATURE_TS)) else {
        return Err(Error::Untrusted("the answer is not signed".into()));
    };
    // The signature covers the parsed body re-serialised canonically, so the body has to be
    // parsed first; nothing in it is looked at until the signature holds.
    let body: Value = serde_json::from_slice(raw).map_err(|_| Error::Untrusted("the answer is not JSON".into()))?;
    let signature = B64
        .decode(signature.trim())
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or_else(|| Error::Untrusted("the answer's signature is not 64 bytes of base64".into()))?;
    let message = signed_message(ts, &meta.request_id, &meta.nonce, &body);
    key.verify_strict(message.as_bytes(), &signature)
        .map_err(|_| Error::Untrusted("the answer's signature does not verify with the pinned key".into()))?;
    if let Some(max) = max_skew {
        let signed_at =
            ts.trim().parse::<i64>().map_err(|_| Error::Untrusted("the signature time is not a number".into()))?;
        let off = (signed_at - tollgate_core::time::to_millis(&now)).unsigned_abs();
        if u128::from(off) > max.as_millis() {
            return Err(Error::Untrusted(format!(
                "the answer was signed {} s away from this machine's clock",
                off / 1000
            )));
        }
    }
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(Error::Protocol("the answer is not a JSON object".into())),
    }
}

/// A transport error, without the URL (a download URL may carry a session token).
pub(crate) fn transport(e: reqwest::Error) -> Error {
    Error::Transport(e.without_url().to_string())
}
