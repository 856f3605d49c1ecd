//! Request extractors shared by the seller and admin APIs: validated JSON and query strings
//! (400 naming the field), the seller's bearer token, and the caller's IP address.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// Turn a serde error with its path into the API's 400.
fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let msg = err.into_inner().to_string();
    // "missing field `name` at line 1 column 2": name the field, with its parent path.
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or("");
        let full = if path == "." || path.is_empty() { field.to_owned() } else { format!("{path}.{field}") };
        return ApiError::bad_request("MISSING_FIELDS", format!("Missing field: {full}"));
    }
    let field = if path == "." || path.is_empty() { "body".to_owned() } else { path };
    let detail = msg.split(" at line ").next().unwrap_or(&msg);
    ApiError::validation(&field, detail)
}

/// Parse a JSON body into `T` (unknown fields ignored). An empty body parses as `{}`, so
/// action routes whose fields are all optional need no body. The body is first read by the
/// strict reader ([`crate::strict_json`]): a key given twice or a NUL character anywhere is a
/// 400 naming the field, before `T` sees it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    let value = crate::strict_json::parse(bytes).map_err(|p| match p {
        crate::strict_json::JsonProblem::Syntax(_) => {
            ApiError::bad_request("INVALID_JSON", "Request body is not valid JSON")
        }
        other => ApiError::validation(other.path(), &other.message()),
    })?;
    let v = serde_path_to_error::deserialize(value).map_err(json_error)?;
    Ok(v)
}

/// JSON body with the API's errors: 400 naming the field, 413 over the size limit.
pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "Request body is too large")
            } else {
                ApiError::bad_request("INVALID_BODY", "Request body could not be read")
            }
        })?;
        parse_json(&bytes).map(ValidJson)
    }
}

/// Query string with the API's errors.
pub struct ValidQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        if let Some(field) = nul_query_field(q) {
            return Err(ApiError::validation(&field, "must not contain NUL (U+0000) characters"));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de).map(ValidQuery).map_err(|e| {
            let field = e.path().to_string();
            ApiError::validation(if field == "." { "query" } else { &field }, &e.into_inner().to_string())
        })
    }
}

/// The first query parameter whose name or value, once decoded, holds a NUL character.
fn nul_query_field(q: &str) -> Option<String> {
    form_urlencoded::parse(q.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0')).map(|(k, _)| {
        if k.contains('\0') {
            "query".to_owned()
        } else {
            k.into_owned()
        }
    })
}

/// Middleware of the seller and admin API: a path or query string that percent-decodes to a
/// NUL character (`/v1/admin/apps/%00`, `?search=%00`) is refused with 400 before any route
/// runs. No identifier or search text can hold one, and PostgreSQL could not even compare it.
pub async fn refuse_nul(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let uri = req.uri();
    let path_has_nul = uri.path().as_bytes().windows(3).any(|w| w == b"%00");
    if path_has_nul {
        return ApiError::validation("path", "must not contain NUL (U+0000) characters").into_response();
    }
    if let Some(field) = uri.query().and_then(nul_query_field) {
        return ApiError::validation(&field, "must not contain NUL (U+0000) characters").into_response();
    }
    next.run(req).await
}

/// The `Authorization: Bearer <token>` value of a request, seller's or reseller's.
pub fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("Missing bearer token"))
}

/// The authenticated seller: a valid, unexpired access token of a seller that still exists and
/// whose token generation has not moved on since the token was issued (cached per process).
#[derive(Debug, Clone)]
pub struct SellerAuth {
    pub seller_id: String,
}

impl<S> FromRequestParts<S> for SellerAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer_token(parts)?;
        let seller_id = crate::manage::sellers::seller_of_token(&state, state.tokens.verify_access(token)).await?;
        Ok(SellerAuth { seller_id })
    }
}

/// One of the signed-in seller's apps, named by the `{appId}` segment of the path. Another
/// seller's app, or one that does not exist, answers 404 "Application not found": never 403,
/// another seller's app is invisible. Every route under `/v1/admin/apps/{appId}` takes it.
#[derive(Debug, Clone)]
pub struct OwnedApp {
    /// The seller whose token was presented.
    pub seller_id: String,
    pub app: tollgate_core::model::App,
}

impl OwnedApp {
    pub fn id(&self) -> &str {
        &self.app.id
    }

    /// The seller, from `ip`, as the author of a change.
    pub fn actor(&self, ip: IpAddr) -> crate::manage::Actor {
        crate::manage::Actor::seller(&self.seller_id, ip)
    }
}

impl<S> FromRequestParts<S> for OwnedApp
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let SellerAuth { seller_id } = SellerAuth::from_request_parts(parts, state).await?;
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("Application"))?;
        let app_id = params.iter().find(|(name, _)| *name == "appId").map(|(_, v)| v.to_owned());
        let Some(app_id) = app_id else { return Err(ApiError::not_found("Application")) };
        let state = AppState::from_ref(state);
        let app = state.store.get_app(&seller_id, &app_id).await?.ok_or_else(|| ApiError::not_found("Application"))?;
        Ok(OwnedApp { seller_id, app })
    }
}

/// The caller's address: the socket peer, or the forwarded client when the peer is a trusted
/// proxy (`trusted_proxies`; none by default). `CF-Connecting-IP` wins over `X-Forwarded-For`; in
/// the latter the right-most address that is not itself a trusted proxy is the client.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let peer =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(ClientIp(client_ip(peer, &parts.headers, &state.config.trusted_proxies)))
    }
}

pub fn client_ip(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    use tollgate_core::net::{canonical, contains_any};
    let peer = canonical(peer);
    if !contains_any(trusted, peer) {
        return peer;
    }
    let header_ip = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(ip) = header_ip("cf-connecting-ip").and_then(|v| v.trim().parse::<IpAddr>().ok()) {
        return canonical(ip);
    }
    if let Some(xff) = header_ip("x-forwarded-for") {
        let hops: Vec<IpAddr> = xff.split(',').filter_map(|h| h.trim().parse::<IpAddr>().ok()).map(canonical).collect();
        if let Some(ip) = hops.iter().rev().find(|ip| !contains_any(trusted, **ip)) {
            return *ip;
        }
        if let Some(first) = hops.first() {
            return *first;
        }
    }
    peer
}

/// `{success: true, data}` as the OpenAPI document shows an answer: `data` is a `T`. The
/// handlers build the same JSON with [`ok`] and [`ok_message`] (which may add `message`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Envelope<T> {
    /// Always `true`.
    pub success: bool,
    /// For people, on the answers of actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub data: T,
}

/// `{success: true, data}`.
pub fn ok<T: Serialize>(data: T) -> axum::Json<Value> {
    axum::Json(json!({ "success": true, "data": data }))
}

/// `{success: true, message, data?}`.
pub fn ok_message<T: Serialize>(message: &str, data: Option<T>) -> axum::Json<Value> {
    match data {
        Some(d) => axum::Json(json!({ "success": true, "message": message, "data": d })),
        None => axum::Json(json!({ "success": true, "message": message })),
    }
}

/// `{success: true, data, pagination{page, limit, total}}`.
pub fn ok_page<T: Serialize>(data: T, page: tollgate_store::PageRequest, total: u64) -> axum::Json<Value> {
    axum::Json(json!({
        "success": true,
        "data": data,
        "pagination": { "page": page.page, "limit": page.limit, "total": total }
    }))
}

/// `{success: true, data, pagination{page, limit, total, totalCapped, nextCursor}}`: a page of a listing that
/// can also be walked by cursor. `nextCursor` leads to the next page, `null` when there is none.
pub fn ok_page_cursor<T: Serialize>(
    data: T,
    page: tollgate_store::PageRequest,
    total: u64,
    total_capped: bool,
    next_cursor: Option<String>,
) -> axum::Json<Value> {
    axum::Json(json!({
        "success": true,
        "data": data,
        "pagination": {
            "page": page.page, "limit": page.limit, "total": total, "totalCapped": total_capped,
            "nextCursor": next_cursor
        }
    }))
}

/// The largest `page` number a listing accepts.
pub const MAX_PAGE: u32 = 1_000_000_000;
/// The largest `limit` of a listing page.
pub const MAX_LIMIT: u32 = 100;

/// `?page=&limit=`: page from 1 (default 1), limit 1 to 100 (default 20). A value out of range
/// is refused with a 400 naming it, as the OpenAPI document's `minimum`/`maximum` say.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// From 1 (default 1).
    #[param(minimum = 1, maximum = 1_000_000_000)]
    pub page: Option<u32>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn page(&self) -> Result<tollgate_store::PageRequest, ApiError> {
        Ok(tollgate_store::PageRequest { page: page_number(self.page)?, limit: page_limit(self.limit, 20)? })
    }
}

/// `page` checked against 1..=[`MAX_PAGE`]; 1 when absent.
pub fn page_number(page: Option<u32>) -> Result<u32, ApiError> {
    match page {
        None => Ok(1),
        Some(p) if (1..=MAX_PAGE).contains(&p) => Ok(p),
        Some(_) => Err(ApiError::validation("page", "must be from 1 to 1000000000")),
    }
}

/// `limit` checked against 1..=[`MAX_LIMIT`]; `default` when absent.
pub fn page_limit(limit: Option<u32>, default: u32) -> Result<u32, tollgate_core::DomainError> {
    match limit {
        None => Ok(default),
        Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
        Some(_) => Err(tollgate_core::DomainError::validation("limit", "must be from 1 to 100")),
    }
}

/// Longer than any cursor this API hands out (a timestamp and an id, base64url).
const MAX_CURSOR_LEN: usize = 200;

/// The opaque cursor of a listing walked by `(created_at, id)`: base64url (no padding) of
/// `<created_at_ms>:<id>`.
pub fn encode_cursor(created_at: &tollgate_core::time::Timestamp, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}:{id}", tollgate_core::time::to_millis(created_at)))
}

/// The `(created_at, id)` of a cursor; `None` for anything [`encode_cursor`] could not have made.
pub fn decode_cursor(text: &str) -> Option<(tollgate_core::time::Timestamp, String)> {
    use base64::Engine;
    use tollgate_core::time::{from_millis, to_millis};
    if text.len() > MAX_CURSOR_LEN {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (ms, id) = text.split_once(':')?;
    let ms: i64 = ms.parse().ok()?;
    let created_at = from_millis(ms);
    // `from_millis` maps what chrono cannot represent to the epoch: refuse instead.
    if to_millis(&created_at) != ms || id.is_empty() || id.chars().any(char::is_control) {
        return None;
    }
    Some((created_at, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let at = tollgate_core::time::from_millis(1_795_436_877_924);
        let text = encode_cursor(&at, "msg_0c0ven812s0aes4sox1y");
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
        let decoded = Some((at, "msg_0c0ven812s0aes4sox1y".to_owned()));
        assert_eq!(decode_cursor(&text), decoded);
        assert_eq!(decode_cursor(&format!("{text}==")), decoded, "padding is tolerated");
        for bad in [
            "",
            "not base64!",
            &URL_SAFE_NO_PAD.encode("no-colon"),
            &URL_SAFE_NO_PAD.encode("abc:msg_x"),
            &URL_SAFE_NO_PAD.encode("123:"),
            &URL_SAFE_NO_PAD.encode("99999999999999999:msg_x"),
            &URL_SAFE_NO_PAD.encode("1:msg\nx"),
            &URL_SAFE_NO_PAD.encode([0xff, 0x3a, 0x41]),
            &"A".repeat(MAX_CURSOR_LEN + 4),
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad:?}");
        }
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
        inner: Option<Inner>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"count": 1}"#).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("MISSING_FIELDS", "Missing field: name"));
        let e = parse_json::<Body>(br#"{"name": "x", "count": "many"}"#).unwrap_err();
        assert_eq!(e.code, "VALIDATION_ERROR");
        assert!(e.message.starts_with("count:"), "{}", e.message);
        let e = parse_json::<Body>(br#"{"name": "x", "count": 1, "inner": {"flag": 3}}"#).unwrap_err();
        assert!(e.message.starts_with("inner.flag:"), "{}", e.message);
        let e = parse_json::<Body>(br#"{"name": "x", "#).unwrap_err();
        assert_eq!(e.code, "INVALID_JSON");
        assert!(parse_json::<Body>(br#"{"name": "x", "count": 1, "extra": true}"#).is_ok());
    }

    #[test]
    fn forwarded_ip_only_from_trusted_proxy() {
        let trusted = vec![tollgate_core::net::parse_cidr("10.0.0.0/8").unwrap()];
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1, 2.2.2.2, 10.0.0.5".parse().unwrap());
        let untrusted: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(client_ip(untrusted, &h, &trusted), untrusted);
        let proxy: IpAddr = "10.1.1.1".parse().unwrap();
        assert_eq!(client_ip(proxy, &h, &trusted).to_string(), "2.2.2.2");
        h.insert("cf-connecting-ip", "3.3.3.3".parse().unwrap());
        assert_eq!(client_ip(proxy, &h, &trusted).to_string(), "3.3.3.3");
    }
}
