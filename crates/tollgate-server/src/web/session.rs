//! The dashboard's cookies: the seller's session, the CSRF token and the one-shot notice.
//!
//! - `tollgate_session`: a signed dashboard token (12 hours) of the seller's token generation;
//!   `HttpOnly`, `SameSite=Strict`, `Path=/`, and `Secure` when the public URL is https. Signing
//!   out moves the generation on, which ends every session of the seller at once, on every node.
//! - `tollgate_csrf`: a random token set on the first page a browser loads (same attributes).
//!   Every form carries it in a hidden `csrf` field (an upload sends it in `X-CSRF-Token`) and a
//!   POST whose field does not match the cookie is refused with 403 before anything runs. A POST
//!   whose `Origin` names another host is refused as well.
//! - `tollgate_flash`: the notice a redirect carries to the next page ("License banned"), shown
//!   once and cleared.

use std::net::IpAddr;

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use subtle::ConstantTimeEq;
use tollgate_core::model::App;

use super::error::WebError;
use crate::extract::ClientIp;
use crate::state::{AppState, WEB_SESSION_TTL};

pub const SESSION_COOKIE: &str = "tollgate_session";
pub const CSRF_COOKIE: &str = "tollgate_csrf";
pub const FLASH_COOKIE: &str = "tollgate_flash";
/// The form field, and for uploads the request header, that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value with the dashboard's attributes; `max_age` 0 deletes the cookie.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: u64) -> HeaderValue {
    let secure = if secure_cookies(state) { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Cookies are `Secure` when the server's public URL is https.
fn secure_cookies(state: &AppState) -> bool {
    state.config.public_url.as_deref().is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
}

/// The CSRF token of this browser, put in the request's extensions by [`layer`].
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The notice the previous redirect left, if any, put in the request's extensions by [`layer`].
#[derive(Debug, Clone, Default)]
pub struct Flash(pub Option<String>);

/// The dashboard's middleware: hands the CSRF token and the notice to the handlers (setting a
/// new CSRF cookie when the browser has none and clearing a notice once a page showed it), and
/// refuses a state-changing request whose `Origin` is another host or whose CSRF token does not
/// match (the form field is checked by [`CsrfForm`], the upload header here).
pub async fn layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE).filter(|t| valid_token_shape(t)).map(str::to_owned);
    let fresh = existing.is_none();
    let token = existing.unwrap_or_else(new_token);
    let flash = cookie(req.headers(), FLASH_COOKIE).and_then(decode_flash);
    let had_flash = flash.is_some();
    if req.method() != Method::GET && req.method() != Method::HEAD {
        if !same_origin(req.headers()) {
            return WebError::csrf().into_response();
        }
        // Multipart uploads carry the token in a header (forms in their `csrf` field).
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/"));
        // The script sends the header; without script the form's action carries `?csrf=`.
        let given = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| query_param(req.uri().query().unwrap_or(""), CSRF_FIELD));
        if multipart && !tokens_match(given.as_deref(), &token, fresh) {
            return WebError::csrf().into_response();
        }
    }
    req.extensions_mut().insert(CsrfToken(token.clone()));
    req.extensions_mut().insert(Flash(flash));
    req.extensions_mut().insert(FreshCsrf(fresh));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if fresh {
        h.append(header::SET_COOKIE, set_cookie(&state, CSRF_COOKIE, &token, WEB_SESSION_TTL.as_secs()));
    }
    // A page that showed the notice clears it; a redirect passes it on (or sets its own).
    let sets_flash = h
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with(&format!("{FLASH_COOKIE}="))));
    if had_flash && !res.status().is_redirection() && !sets_flash {
        res.headers_mut().append(header::SET_COOKIE, set_cookie(&state, FLASH_COOKIE, "", 0));
    }
    res
}

/// Whether the browser had no CSRF cookie before this request (so no form could carry one).
#[derive(Debug, Clone, Copy)]
struct FreshCsrf(bool);

fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn new_token() -> String {
    tollgate_core::ids::new_token()
}

fn valid_token_shape(t: &str) -> bool {
    (16..=128).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn tokens_match(given: Option<&str>, expected: &str, fresh: bool) -> bool {
    match given {
        Some(g) if !fresh => bool::from(g.trim().as_bytes().ct_eq(expected.as_bytes())),
        _ => false,
    }
}

/// No `Origin` (older browsers), or an opaque `null` one (a browser under a strict referrer
/// setting), passes on to the CSRF token check; one whose host differs from `Host` does not.
fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| o.trim() != "null");
    let Some(origin) = origin else { return true };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
    origin_host.trim_end_matches('/').eq_ignore_ascii_case(host)
}

fn decode_flash(v: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v).ok()?;
    String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
}

/// A redirect (303, so the browser follows with a GET) that leaves `notice` for the next page.
pub fn redirect_with(state: &AppState, to: &str, notice: &str) -> Response {
    let notice: String = notice.chars().take(300).collect();
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(notice.as_bytes());
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(state, FLASH_COOKIE, &value, 60));
    res
}

/// A form with no field but its CSRF token (a button: sign out, ban, delete...).
#[derive(Debug, serde::Deserialize)]
pub struct NoFields {}

/// An urlencoded form whose `csrf` field matched the browser's CSRF cookie: `T` is read from the
/// other fields (unknown ones are ignored; a field of the wrong type is a 400 naming it).
pub struct CsrfForm<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for CsrfForm<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let expected = req.extensions().get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
        let fresh = req.extensions().get::<FreshCsrf>().is_none_or(|f| f.0);
        let limit = AppState::from_ref(state).config.max_body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| WebError::new(StatusCode::PAYLOAD_TOO_LARGE, "Too large", "The form is too large."))?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        let given = pairs.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str());
        if expected.is_empty() || !tokens_match(given, &expected, fresh) {
            return Err(WebError::csrf());
        }
        let rest: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != CSRF_FIELD).collect();
        let encoded = serde_urlencoded::to_string(&rest).unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(CsrfForm)
            .map_err(|e| WebError::bad_request(&format!("The form field {} is not valid.", e.path())))
    }
}

/// The signed-in seller of a dashboard request, with what every page shows around its content.
/// Without a valid session a page redirects to the sign-in page (and back after it).
#[derive(Debug, Clone)]
pub struct WebSeller {
    pub seller_id: String,
    pub ip: IpAddr,
    pub csrf: String,
    pub flash: Option<String>,
}

impl WebSeller {
    /// The seller, from their address, as the author of a change.
    pub fn actor(&self) -> crate::manage::Actor {
        crate::manage::Actor::seller(&self.seller_id, self.ip)
    }
}

/// Sends the browser to the sign-in page, remembering where it was going (GET pages only).
pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to(&self.0).into_response()
    }
}

impl<S> FromRequestParts<S> for WebSeller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app_state = AppState::from_ref(state);
        let verified = cookie(&parts.headers, SESSION_COOKIE).and_then(|t| app_state.tokens.verify_web(t));
        let seller_id = match crate::manage::sellers::seller_of_token(&app_state, verified).await {
            Ok(id) => id,
            Err(crate::manage::ManageError::Unauthorized(_)) => {
                let to = if parts.method == Method::GET {
                    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                    format!("/login?next={}", form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>())
                } else {
                    "/login".to_owned()
                };
                return Err(SignInFirst(to).into_response());
            }
            Err(e) => return Err(WebError::from(e).into_response()),
        };
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let csrf = parts.extensions.get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
        let flash = parts.extensions.get::<Flash>().and_then(|f| f.0.clone());
        Ok(WebSeller { seller_id, ip, csrf, flash })
    }
}

/// One of the signed-in seller's apps, named by the `{appId}` path segment; another seller's
/// app, or none, is a 404 page.
#[derive(Debug, Clone)]
pub struct WebApp {
    pub seller: WebSeller,
    pub app: App,
}

impl<S> FromRequestParts<S> for WebApp
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let seller = WebSeller::from_request_parts(parts, state).await?;
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| WebError::not_found("Application").into_response())?;
        let app_id = params.iter().find(|(name, _)| *name == "appId").map(|(_, v)| v.to_owned());
        let Some(app_id) = app_id else { return Err(WebError::not_found("Application").into_response()) };
        let app_state = AppState::from_ref(state);
        let app = crate::manage::apps::get(&app_state, &seller.seller_id, &app_id)
            .await
            .map_err(|e| WebError::from(e).into_response())?;
        Ok(WebApp { seller, app })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; tollgate_csrf=abc; tollgate_csrf_x=2"));
        h.append(header::COOKIE, HeaderValue::from_static("tollgate_session=tok"));
        assert_eq!(cookie(&h, "tollgate_csrf"), Some("abc"));
        assert_eq!(cookie(&h, "tollgate_session"), Some("tok"));
        assert_eq!(cookie(&h, "tollgate"), None);
    }

    #[test]
    fn origins_must_name_the_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(same_origin(&h), "an opaque origin is left to the token check");
    }

    #[test]
    fn a_fresh_cookie_never_matches() {
        assert!(tokens_match(Some("abcdefabcdefabcdef"), "abcdefabcdefabcdef", false));
        assert!(!tokens_match(Some("abcdefabcdefabcdef"), "abcdefabcdefabcdef", true));
        assert!(!tokens_match(None, "abcdefabcdefabcdef", false));
        assert!(!tokens_match(Some("x"), "abcdefabcdefabcdef", false));
    }
}
