//! Authly v2 (`POST /api/v2/<endpoint>`, JSON): Authly v2's wire shapes (docs/dialects/authly.md)
//! over `crate::client`. Parsing and shaping only; every rule is in the core. Every answer goes
//! through [`envelope`] (rate limit, replay defence, signature); every error through the one
//! table in [`codes`].

pub mod answers;
pub mod codes;
pub mod envelope;
pub mod wire;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};
use tollgate_core::time::{from_millis, rfc3339, to_millis};
use tollgate_core::DomainError;
use tollgate_store::MessageCursor;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::client::{self, accounts, data, init::AppCredentials, Live};
use crate::state::AppState;
use answers::*;
use codes::Failure;
use envelope::{answer, error_response, failure_response, AuthlyRequest};
use wire::*;

/// Why an endpoint did not answer 200.
enum Refusal {
    Domain(DomainError),
    /// A wire-level failure, with extra body fields.
    Wire(Failure, Option<Map<String, Value>>),
}

impl From<DomainError> for Refusal {
    fn from(e: DomainError) -> Self {
        Refusal::Domain(e)
    }
}

impl From<Failure> for Refusal {
    fn from(f: Failure) -> Self {
        Refusal::Wire(f, None)
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

/// A body's fields as the extra fields of an error answer.
fn fields(body: impl Serialize) -> Option<Map<String, Value>> {
    match serde_json::to_value(body) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

fn respond(outcome: Outcome) -> Response {
    match outcome {
        Ok(body) => answer(StatusCode::OK, body),
        Err(Refusal::Wire(f, extra)) => failure_response(f, extra),
        Err(Refusal::Domain(DomainError::VersionRefused(r))) => failure_response(
            codes::failure(&DomainError::VersionRefused(r.clone())),
            fields(VersionRefusal::from(r.as_ref())),
        ),
        Err(Refusal::Domain(e)) => error_response(&e),
    }
}

/// The session a body names, live.
async fn live(state: &AppState, req: &AuthlyRequest, session_id: &Option<String>) -> Result<Live, Refusal> {
    let token = required("session_id", session_id)?;
    Ok(client::live_session(state, &req.caller, token.trim()).await?)
}

/// Other methods on a client route answer through the envelope (signed). Left unset, the route's
/// 405 would be replaced by the app-wide one, which the envelope layer does not wrap.
fn post_only(r: UtoipaMethodRouter<AppState>) -> UtoipaMethodRouter<AppState> {
    let (schemas, paths, method_router) = r;
    (schemas, paths, method_router.fallback(|| async { failure_response(codes::method_not_allowed(), None) }))
}

pub fn router(state: AppState) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(post_only(routes!(init)))
        .routes(post_only(routes!(register)))
        .routes(post_only(routes!(login)))
        .routes(post_only(routes!(licenses)))
        .routes(post_only(routes!(license_login)))
        .routes(post_only(routes!(extend)))
        .routes(post_only(routes!(change_password)))
        .routes(post_only(routes!(variables)))
        .routes(post_only(routes!(variables_get)))
        .routes(post_only(routes!(variables_set)))
        .routes(post_only(routes!(logs)))
        .routes(post_only(routes!(validate_session)))
        .routes(post_only(routes!(validate)))
        .routes(post_only(routes!(blacklist_check)))
        .routes(post_only(routes!(device_auth)))
        .routes(post_only(routes!(chats_send)))
        .routes(post_only(routes!(chats_get)))
        .routes(post_only(routes!(license_file)));
    // Unknown endpoints are routes too, so that their answer is signed like every other.
    let unknown = || async { failure_response(codes::unknown_endpoint(), None) };
    api.route("/api/v2", axum::routing::any(unknown))
        .route("/api/v2/", axum::routing::any(unknown))
        .route("/api/v2/{*rest}", axum::routing::any(unknown))
        .layer(axum::middleware::from_fn_with_state(state, envelope::envelope))
        .layer(axum::extract::DefaultBodyLimit::max(envelope::MAX_BODY))
}

macro_rules! endpoint {
    ($name:ident, $path:literal, $body:ty => $answer:ty, $summary:literal, $inner:ident) => {
        #[doc = $summary]
        #[utoipa::path(post, path = $path, tag = "authly", request_body = $body,
                            responses((status = 200, body = $answer,
                                description = "Signed JSON answer; errors use `{success:false, code, message}`")))]
        async fn $name(State(state): State<AppState>, Extension(req): Extension<AuthlyRequest>) -> Response {
            respond($inner(&state, &req).await)
        }
    };
}

endpoint!(init, "/api/v2/init", InitBody => InitAnswer, "Start: the security pipeline, then a 24-hour session.", do_init);
endpoint!(register, "/api/v2/register", RegisterBody => AccountAnswer, "Create an account by redeeming a key.", do_register);
endpoint!(login, "/api/v2/login", LoginBody => AccountAnswer, "Log in with username and password.", do_login);
endpoint!(licenses, "/api/v2/licenses", LoginBody => LicenseAnswer, "Log in with a license key alone.", do_license_login);
endpoint!(license_login, "/api/v2/license-login", LoginBody => LicenseAnswer, "Alias of `licenses` (npm SDK).", do_license_login);
endpoint!(extend, "/api/v2/extend", LoginBody => ExtendAnswer, "Redeem a key onto an existing account.", do_extend);
endpoint!(
    change_password,
    "/api/v2/change-password",
    ChangePasswordBody => Done,
    "Change the session user's password.",
    do_change_password
);
endpoint!(variables, "/api/v2/variables", VariableBody => VariableAnswer, "Read an app or user variable.", do_get_variable);
endpoint!(variables_get, "/api/v2/variables/get", VariableBody => VariableAnswer, "Alias of `variables` (npm SDK).", do_get_variable);
endpoint!(variables_set, "/api/v2/variables/set", VariableBody => VariableAnswer, "Write the session user's variable.", do_set_variable);
endpoint!(logs, "/api/v2/logs", LogBody => Done, "Send a log line to the seller.", do_log);
endpoint!(validate_session, "/api/v2/validate-session", SessionBody => SessionAnswer, "Is the session live?", do_validate);
endpoint!(validate, "/api/v2/validate", SessionBody => SessionAnswer, "Alias of `validate-session` (npm SDK).", do_validate);
endpoint!(
    blacklist_check,
    "/api/v2/blacklist/check",
    BlacklistBody => BlacklistAnswer,
    "Is this device or address blacklisted?",
    do_blacklist_check
);
endpoint!(
    device_auth,
    "/api/v2/device-auth",
    DeviceBody => DeviceAnswer,
    "Authenticate with a motherboard or processor id.",
    do_device_auth
);
endpoint!(chats_send, "/api/v2/chats/send", ChatBody => ChatSentAnswer, "Post a chat message.", do_chat_send);
endpoint!(chats_get, "/api/v2/chats/get", ChatBody => ChatPageAnswer, "Read a page of chat messages.", do_chat_get);
endpoint!(
    license_file,
    "/api/v2/license-file",
    SessionBody => LicenseFileAnswer,
    "A signed offline license file for the session's account or key.",
    do_license_file
);

async fn do_init(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: InitBody = parse(&req.body)?;
    let (owner_id, app_name) = (required("owner_id", &b.owner_id)?, required("app_name", &b.app_name)?);
    let secret = required("secret", &b.secret)?;
    let version = required("version", &b.version)?.trim();
    let creds = AppCredentials::NamedApp { owner_id, app_name, secret, version, hash: optional(&b.hash) };
    let opened = client::init::init(state, &req.caller, &creds).await?;
    ok(InitAnswer {
        success: true,
        message: "Init success",
        session_id: opened.session.token,
        owner_id: opened.app.app.owner_id.clone(),
        app_name: opened.app.app.name.clone(),
        version: version.to_owned(),
        update: opened.update.as_ref().map(Update::from),
    })
}

async fn do_register(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: RegisterBody = parse(&req.body)?;
    let username = required("username", &b.username)?;
    let password = required("password", &b.password)?;
    let key = match optional(&b.key) {
        Some(k) => k,
        None => required("key", &b.license_key)?,
    };
    let live = live(state, req, &b.session_id).await?;
    let r = accounts::RegisterRequest {
        username,
        password,
        key,
        email: optional(&b.email),
        hwid: b.device(),
        note: None,
        sign_in: true,
    };
    let (user, license) = accounts::register(state, &live, &r).await?;
    ok(AccountAnswer {
        success: true,
        message: "User registered successfully",
        user: UserInfo::new(&live.app.app, &user, b.device(), Some(&license.key)),
        session_id: live.session.token,
    })
}

async fn do_login(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: LoginBody = parse(&req.body)?;
    let username = required("username", &b.username)?;
    let password = required("password", &b.password)?;
    let hwid = match b.device() {
        Some(h) => h,
        None => return Err(DomainError::MissingFields("sid".into()).into()),
    };
    let live = live(state, req, &b.session_id).await?;
    let r = accounts::LoginRequest { username, password, hwid: Some(hwid) };
    let user = accounts::login(state, &live, req.caller.ip, &r).await?;
    ok(AccountAnswer {
        success: true,
        message: "Login success",
        user: UserInfo::new(&live.app.app, &user, Some(hwid), None),
        session_id: live.session.token,
    })
}

async fn do_license_login(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: LoginBody = parse(&req.body)?;
    let key = match optional(&b.license_key) {
        Some(k) => k,
        None => required("license_key", &b.key)?,
    };
    let live = live(state, req, &b.session_id).await?;
    let license = accounts::license_login(state, &live, key, b.device()).await?;
    let ip = req.caller.ip.to_string();
    ok(LicenseAnswer {
        success: true,
        message: "License login successful",
        license: LicenseInfo::new(&live.app.app, &license, b.device(), Some(&ip)),
        session_id: live.session.token,
    })
}

async fn do_extend(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: LoginBody = parse(&req.body)?;
    let username = required("username", &b.username)?;
    let key = match optional(&b.license_key) {
        Some(k) => k,
        None => required("license_key", &b.key)?,
    };
    let hwid = match b.device() {
        Some(h) => h,
        None => return Err(DomainError::MissingFields("sid".into()).into()),
    };
    let live = live(state, req, &b.session_id).await?;
    let r = accounts::ExtendRequest { username, key, hwid: Some(hwid) };
    let done = accounts::extend(state, &live, &r).await?;
    ok(ExtendAnswer::new(&live.app.app, &done.user, &done.license, done.added_seconds))
}

async fn do_change_password(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: ChangePasswordBody = parse(&req.body)?;
    let old = required("old_password", &b.old_password)?;
    let new = required("new_password", &b.new_password)?;
    let live = live(state, req, &b.session_id).await?;
    accounts::change_password(state, &live, req.caller.ip, old, new).await?;
    ok(Done::new("Password changed successfully"))
}

async fn do_get_variable(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: VariableBody = parse(&req.body)?;
    let key = required("var_key", &b.var_key)?;
    let live = live(state, req, &b.session_id).await?;
    let v = data::get_variable(state, &live, key).await?;
    ok(VariableAnswer::new(v.key(), v.value(), &v.updated_at()))
}

async fn do_set_variable(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: VariableBody = parse(&req.body)?;
    let key = required("var_key", &b.var_key)?;
    // An empty value is a value (clearing a setting), only a missing one is missing.
    let value = b.var_value.as_deref().ok_or_else(|| DomainError::MissingFields("var_value".into()))?;
    let live = live(state, req, &b.session_id).await?;
    let v = data::set_variable(state, &live, key, value).await?;
    ok(VariableAnswer::new(v.key(), v.value(), &v.updated_at()))
}

async fn do_log(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: LogBody = parse(&req.body)?;
    let message = required("message", &b.message)?;
    let live = live(state, req, &b.session_id).await?;
    data::log(state, &live, req.caller.ip, message).await?;
    ok(Done::new("Log submitted successfully"))
}

async fn do_validate(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: SessionBody = parse(&req.body)?;
    let live = live(state, req, &b.session_id).await?;
    data::touch(state, &live).await?;
    ok(SessionAnswer {
        success: true,
        message: "Session is valid",
        valid: true,
        expires_at: rfc3339(&live.session.expires_at),
        session_id: live.session.token,
    })
}

async fn do_blacklist_check(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: BlacklistBody = parse(&req.body)?;
    let live = live(state, req, &b.session_id).await?;
    let hwid = optional(&b.hwid).or(optional(&b.sid));
    let found = data::blacklist_check(&live, req.caller.ip, hwid);
    let flags =
        BlacklistFlags { blacklisted: found.hwid || found.ip, hwid_blacklisted: found.hwid, ip_blacklisted: found.ip };
    if flags.blacklisted {
        return Err(Refusal::Wire(codes::blacklisted(), fields(flags)));
    }
    ok(BlacklistAnswer::new(flags))
}

async fn do_device_auth(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: DeviceBody = parse(&req.body)?;
    let device_type = required("device_type", &b.device_type)?;
    let device_id = required("device_id", &b.device_id)?;
    let live = live(state, req, &b.session_id).await?;
    let device = data::device_auth(state, &live, req.caller.ip, device_type, device_id).await?;
    ok(DeviceAnswer {
        success: true,
        message: "Device authentication successful",
        device: DeviceInfo::new(&live.app.app, &device),
    })
}

async fn do_chat_send(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: ChatBody = parse(&req.body)?;
    let message = required("message", &b.message)?;
    let live = live(state, req, &b.session_id).await?;
    let m = data::chat_send(state, &live, optional(&b.channel_name), message).await?;
    ok(ChatSentAnswer { success: true, message: "Message sent successfully", data: ChatMessageInfo::from(&m) })
}

async fn do_license_file(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: SessionBody = parse(&req.body)?;
    let live = live(state, req, &b.session_id).await?;
    let issued = client::license_file::issue(state, &live).await.map_err(|e| match e {
        DomainError::LoginRequired => Refusal::from(codes::license_file_login_required()),
        e => Refusal::from(e),
    })?;
    ok(LicenseFileAnswer::new(issued))
}

fn encode_cursor(c: &MessageCursor) -> String {
    B64URL.encode(format!("{}:{}", to_millis(&c.created_at), c.id))
}

fn decode_cursor(text: &str) -> Option<MessageCursor> {
    let raw = String::from_utf8(B64URL.decode(text.trim()).ok()?).ok()?;
    let (ms, id) = raw.split_once(':')?;
    let ms = ms.parse::<i64>().ok()?;
    if id.is_empty() || id.len() > 64 {
        return None;
    }
    Some(MessageCursor { created_at: from_millis(ms), id: id.to_owned() })
}

async fn do_chat_get(state: &AppState, req: &AuthlyRequest) -> Outcome {
    let b: ChatBody = parse(&req.body)?;
    let channel = required("channel_name", &b.channel_name)?;
    let cursor = match optional(&b.cursor) {
        Some(c) => Some(
            decode_cursor(c).ok_or_else(|| DomainError::validation("cursor", "is not a cursor from this channel"))?,
        ),
        None => None,
    };
    let live = live(state, req, &b.session_id).await?;
    let page = data::chat_get(state, &live, Some(channel), b.limit, cursor).await?;
    let next = page.next.as_ref().map(encode_cursor);
    ok(ChatPageAnswer {
        success: true,
        message: "Messages retrieved successfully",
        data: ChatPageInfo {
            channel_name: page.channel.name,
            messages: page.messages.iter().map(ChatMessageInfo::from).collect(),
            pagination: Pagination { limit: page.limit, next_cursor: next.clone(), has_more: next.is_some() },
            // The Python SDK reads these two at this level.
            has_more: next.is_some(),
            next_cursor: next,
        },
    })
}
