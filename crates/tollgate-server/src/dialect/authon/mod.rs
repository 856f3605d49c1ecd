//! Authon v1 (`POST /v1`, one JSON object whose `type` selects what is asked, with the app's
//! `appId` and `apiKey` on every call): Authon's wire shapes (docs/dialects/authon.md) over
//! `crate::client`. Parsing and shaping only; every rule is in the core. Every answer, errors
//! included, is signed as Authly's are (`crate::dialect::signed`); every error goes through the
//! one table in [`codes`].
//!
//! Authon has no start call that hands out a session: `init` checks the app and opens nothing,
//! and each sign-in (`login`, `register`, `license`) opens its own session, which the call signs
//! in or, when it fails, ends again. Calls that name a `sessionToken` also prove the app with its
//! API key, and the session must be that app's.

pub mod answers;
pub mod codes;
pub mod wire;

use std::net::IpAddr;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use serde::Serialize;
use serde_json::Value;
use tollgate_core::DomainError;

use crate::client::{self, accounts, data, files, init::AppCredentials, Caller, Live};
use crate::dialect::signed::{self, Meta};
use crate::state::AppState;
use answers::*;
use codes::Failure;
use wire::{optional, optional_id, required, required_id, Body, Kind};

/// The largest request body: every field of every type fits many times over (a variable value
/// is at most 64 KiB).
pub const MAX_BODY: usize = 96 * 1024;

/// Where Authon clients send every call.
pub const PATH: &str = "/v1";

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, any(handle)).route("/v1/", any(handle))
}

/// Why a call did not answer 200.
enum Refusal {
    Domain(DomainError),
    /// A wire-level failure (the body, the `type`).
    Wire(Failure),
}

impl From<DomainError> for Refusal {
    fn from(e: DomainError) -> Self {
        Refusal::Domain(e)
    }
}

impl From<Failure> for Refusal {
    fn from(f: Failure) -> Self {
        Refusal::Wire(f)
    }
}

type Outcome = Result<Value, Refusal>;

/// A success body, as the value the envelope signs.
fn ok(body: impl Serialize) -> Outcome {
    serde_json::to_value(body).map_err(|e| {
        tracing::error!(error = %e, "cannot serialise a client API answer");
        Refusal::Domain(DomainError::Internal)
    })
}

/// The answer of a failure: `{success: false, message, code}`.
pub fn failure_response(f: Failure) -> Response {
    let status = f.status;
    signed::answer(status, failure_body(f))
}

fn failure_body(f: Failure) -> Value {
    let body = ErrorAnswer { success: false, message: f.message, code: f.code };
    // Two strings and a boolean always serialise.
    serde_json::to_value(body).unwrap_or(Value::Null)
}

/// The answer of a domain error, with the `Retry-After` some carry.
pub fn error_response(e: &DomainError) -> Response {
    signed::with_retry_after(failure_response(codes::failure(e)), e)
}

fn respond(outcome: Outcome) -> Response {
    match outcome {
        Ok(body) => signed::answer(StatusCode::OK, body),
        Err(Refusal::Wire(f)) => failure_response(f),
        Err(Refusal::Domain(e)) => error_response(&e),
    }
}

fn sign(state: &AppState, res: Response, meta: &Meta) -> Response {
    signed::sign(state, res, meta, || failure_body(codes::internal()))
}

/// Every call: read the body (at most [`MAX_BODY`], one JSON object, no key twice, no NUL), the
/// request id, nonce and timestamp, then the rate limit and the replay defence, then the `type`;
/// whatever answers is signed.
async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ip = signed::caller_ip(&state, &parts);
    // Whatever fails below is still answered signed, echoing what could be read of the request.
    let header_meta = signed::meta(&parts.headers, None).unwrap_or_default();
    if parts.method != Method::POST {
        return sign(&state, failure_response(codes::method_not_allowed()), &header_meta);
    }
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return sign(&state, failure_response(codes::too_large(MAX_BODY)), &header_meta),
    };
    let body = match crate::strict_json::parse(&bytes) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return sign(&state, failure_response(codes::bad_json()), &header_meta),
        Err(p) => return sign(&state, failure_response(codes::refused_json(&p)), &header_meta),
    };
    let meta = match signed::meta(&parts.headers, Some(&body)) {
        Ok(m) => m,
        Err(field) => return sign(&state, failure_response(codes::wrong_type(field)), &header_meta),
    };
    if let Err(e) = signed::admit(&state, ip, &meta).await {
        return sign(&state, error_response(&e), &meta);
    }
    let caller = Caller { ip, mac: None, dialect: crate::client::activity::dialect::AUTHON };
    let outcome = match wire::parse(&body) {
        Ok(b) => run(&state, &caller, &b).await,
        Err(f) => Err(f.into()),
    };
    sign(&state, respond(outcome), &meta)
}

/// Every input is checked before anything is looked up: the `type`, the app's credentials, then
/// the fields of that type.
async fn run(state: &AppState, caller: &Caller, b: &Body) -> Outcome {
    let name = required_id("type", &b.kind)?;
    let kind = Kind::parse(name).ok_or_else(|| codes::unknown_type(name))?;
    let app_id = required_id("appId", &b.app_id)?;
    let api_key = required_id("apiKey", &b.api_key)?;
    match kind {
        Kind::Init => do_init(state, caller, app_id, api_key, b).await,
        Kind::CheckBlacklist => do_check_blacklist(state, caller, app_id, api_key, b).await,
        k if k.signs_in() => sign_in(state, caller, app_id, api_key, k, b).await,
        k => {
            let token = required_id("sessionToken", &b.session_token)?;
            let input = SessionInput::read(k, b)?;
            let live = session(state, caller, app_id, api_key, token).await?;
            with_session(state, caller, &live, input).await
        }
    }
}

async fn do_init(state: &AppState, caller: &Caller, app_id: &str, api_key: &str, b: &Body) -> Outcome {
    let version = optional_id("version", &b.version)?;
    let hash = optional_id("hash", &b.hash)?;
    let hwid = optional_id("hwid", &b.hwid)?;
    let creds = AppCredentials::AppKey { app_id, api_key, version, hash };
    let (app, update) = client::init::check(state, caller, &creds).await?;
    // A device the seller blacklisted is refused at the start, as at sign-in.
    if data::blacklist_lookup(&app, &[], hwid).is_some() {
        return Err(DomainError::HwidBlocked.into());
    }
    ok(Success::new("App initialized", InitData::new(&app.app, update.and_then(|u| u.download_url))))
}

async fn do_check_blacklist(state: &AppState, caller: &Caller, app_id: &str, api_key: &str, b: &Body) -> Outcome {
    let hwid = optional_id("hwid", &b.hwid)?;
    // The caller's own address, and the one the client names when it names one.
    let mut ips = vec![caller.ip];
    if let Some(ip) = optional_id("ip", &b.ip)? {
        let ip: IpAddr = ip.parse().map_err(|_| DomainError::validation("ip", "is not an IP address"))?;
        ips.push(ip);
    }
    let app = client::init::app_by_key(state, caller, app_id, api_key).await?;
    let found = data::blacklist_lookup(&app, &ips, hwid);
    ok(Success::data(BlacklistData { blacklisted: found.is_some(), reason: found.flatten() }))
}

/// `login`, `register`, `license`: a new session on the app, signed in by the call, or ended
/// again when the call fails (a failed sign-in leaves no session behind to count against the
/// app's quota).
async fn sign_in(state: &AppState, caller: &Caller, app_id: &str, api_key: &str, kind: Kind, b: &Body) -> Outcome {
    let hwid = optional(&b.hwid);
    // The fields of the type, before anything is looked up.
    let (username, password, key) = match kind {
        Kind::Login => (Some(required("username", &b.username)?), Some(required("password", &b.password)?), None),
        Kind::Register => (
            Some(required("username", &b.username)?),
            Some(required("password", &b.password)?),
            Some(required("licenseKey", &b.license_key)?),
        ),
        _ => (None, None, Some(required("licenseKey", &b.license_key)?)),
    };
    let live = client::init::open_for_sign_in(state, caller, app_id, api_key).await?;
    let app = &live.app.app;
    let token = live.session.token.clone();
    let outcome: Result<Value, Refusal> = async {
        match (kind, username, password, key) {
            (Kind::Login, Some(username), Some(password), _) => {
                let r = accounts::LoginRequest { username, password, hwid };
                let user = accounts::login(state, &live, caller.ip, &r).await?;
                let data = AccountSession::new(app, token, user.username, user.level, &user.expires_at);
                ok(Success::new("Login successful", data))
            }
            (Kind::Register, Some(username), Some(password), Some(key)) => {
                let r =
                    accounts::RegisterRequest { username, password, key, email: None, hwid, note: None, sign_in: true };
                let (user, _) = accounts::register(state, &live, &r).await?;
                let data = AccountSession::new(app, token, user.username, user.level, &user.expires_at);
                ok(Success::new("Registration successful", data))
            }
            (_, _, _, Some(key)) => {
                let license = accounts::license_login(state, &live, key, hwid).await?;
                let data = KeySession::new(app, token, license.level, &license.expires_at);
                ok(Success::new("License activated", data))
            }
            // The fields were read above for each kind.
            _ => Err(DomainError::Internal.into()),
        }
    }
    .await;
    if outcome.is_err() {
        if let Err(e) = client::end_session(state, &live).await {
            tracing::warn!(error = ?e, "could not end the session of a failed sign-in");
        }
    }
    outcome
}

/// The session a call names, after its app's credentials: the session must be that app's.
async fn session(
    state: &AppState,
    caller: &Caller,
    app_id: &str,
    api_key: &str,
    token: &str,
) -> Result<Live, DomainError> {
    let app = client::init::app_by_key(state, caller, app_id, api_key).await?;
    let live = client::live_session(state, caller, token).await?;
    if live.app.app.id != app.app.id {
        return Err(DomainError::InvalidSession);
    }
    Ok(live)
}

/// The fields of a call on a session, read before the session is looked up.
enum SessionInput<'a> {
    Check,
    Logout,
    Var { key: &'a str },
    SetVar { key: &'a str, value: &'a str },
    GetVar { key: &'a str },
    ListFiles,
    File { file_id: &'a str },
    Log { message: &'a str },
    FetchOnline,
    FetchStats,
    LicenseFile,
}

impl<'a> SessionInput<'a> {
    fn read(kind: Kind, b: &'a Body) -> Result<SessionInput<'a>, DomainError> {
        Ok(match kind {
            Kind::Check => SessionInput::Check,
            Kind::Logout => SessionInput::Logout,
            Kind::Var => SessionInput::Var { key: required("key", &b.key)? },
            Kind::GetVar => SessionInput::GetVar { key: required("key", &b.key)? },
            // An empty value is a value (clearing a setting); only a missing one is missing.
            Kind::SetVar => SessionInput::SetVar {
                key: required("key", &b.key)?,
                value: b.value.as_deref().ok_or_else(|| DomainError::MissingFields("value".into()))?,
            },
            Kind::ListFiles => SessionInput::ListFiles,
            Kind::File => SessionInput::File { file_id: required_id("fileId", &b.file_id)? },
            Kind::Log => SessionInput::Log { message: required("message", &b.message)? },
            Kind::FetchOnline => SessionInput::FetchOnline,
            Kind::FetchStats => SessionInput::FetchStats,
            Kind::LicenseFile => SessionInput::LicenseFile,
            // Not calls on a session: `run` routes them elsewhere.
            Kind::Init | Kind::Login | Kind::Register | Kind::License | Kind::CheckBlacklist => {
                return Err(DomainError::Internal)
            }
        })
    }
}

async fn with_session(state: &AppState, caller: &Caller, live: &Live, input: SessionInput<'_>) -> Outcome {
    match input {
        SessionInput::Check => {
            let who = data::signed_in(state, live).await?;
            data::touch(state, live).await?;
            ok(Success::new("Session valid", CheckData::from(who)))
        }
        SessionInput::Logout => {
            client::end_session(state, live).await?;
            ok(Success::done("Logged out"))
        }
        SessionInput::Var { key } => {
            let v = data::app_variable(state, live, key).await?;
            ok(Success::data(VariableData { key: v.key.clone(), value: v.value.clone() }))
        }
        SessionInput::GetVar { key } => {
            let v = data::own_variable(state, live, key).await?;
            ok(Success::data(VariableData { key: v.key().to_owned(), value: v.value().to_owned() }))
        }
        SessionInput::SetVar { key, value } => {
            data::set_own_variable(state, live, ("key", "value"), key, value).await?;
            ok(Success::done("Variable set"))
        }
        SessionInput::ListFiles => {
            let list = files::list(state, live).await?;
            ok(Success::data(list.iter().map(FileEntry::from).collect::<Vec<_>>()))
        }
        SessionInput::File { file_id } => {
            let file = files::get(state, live, file_id).await?;
            let download_url = format!("{PATH}/files/download/{}?token={}", file.id, live.session.token);
            ok(Success::data(FileData { name: file.name, size: file.size, sha256: file.sha256, download_url }))
        }
        SessionInput::Log { message } => {
            data::log(state, live, caller.ip, message).await?;
            ok(Success::done("Log recorded"))
        }
        SessionInput::FetchOnline => ok(Success::data(OnlineData::from(data::online_users(state, live).await?))),
        SessionInput::FetchStats => ok(Success::data(StatsData::from(data::stats(state, live).await?))),
        SessionInput::LicenseFile => {
            let issued = client::license_file::issue(state, live).await?;
            ok(Success::new("License file issued", LicenseFileData::from(issued)))
        }
    }
}
