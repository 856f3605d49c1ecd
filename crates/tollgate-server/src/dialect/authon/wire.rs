//! The request: one JSON object whose `type` selects what is asked, with the app's `appId` and
//! `apiKey` on every call (the answers are in `super::answers`).
//!
//! Every field is optional at the serde level so that a missing one becomes `MISSING_FIELDS`
//! naming it, rather than a parse error; a field of the wrong type is `INVALID_REQUEST` naming
//! it. Unknown fields are ignored (the replay fields `nonce`, `timestamp`, `request_id` are read
//! by the envelope).

use serde::Deserialize;
use serde_json::{Map, Value};
use tollgate_core::DomainError;

use super::codes::{self, Failure};

/// What can be asked: the values of `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Init,
    Login,
    Register,
    License,
    Check,
    Logout,
    Var,
    SetVar,
    GetVar,
    ListFiles,
    File,
    Log,
    FetchOnline,
    FetchStats,
    LicenseFile,
    CheckBlacklist,
}

impl Kind {
    pub const ALL: [(&'static str, Kind); 16] = [
        ("init", Kind::Init),
        ("login", Kind::Login),
        ("register", Kind::Register),
        ("license", Kind::License),
        ("check", Kind::Check),
        ("logout", Kind::Logout),
        ("var", Kind::Var),
        ("setvar", Kind::SetVar),
        ("getvar", Kind::GetVar),
        ("list_files", Kind::ListFiles),
        ("file", Kind::File),
        ("log", Kind::Log),
        ("fetch_online", Kind::FetchOnline),
        ("fetch_stats", Kind::FetchStats),
        ("license_file", Kind::LicenseFile),
        ("check_blacklist", Kind::CheckBlacklist),
    ];

    /// The kind a `type` names (exact, lower case); `None` for any other.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }

    /// Whether the request signs in (and so opens a session of its own).
    pub fn signs_in(self) -> bool {
        matches!(self, Kind::Login | Kind::Register | Kind::License)
    }
}

/// Every field any `type` reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub app_id: Option<String>,
    pub api_key: Option<String>,
    pub version: Option<String>,
    pub hash: Option<String>,
    pub hwid: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub license_key: Option<String>,
    pub session_token: Option<String>,
    pub key: Option<String>,
    pub value: Option<String>,
    pub file_id: Option<String>,
    pub message: Option<String>,
    pub ip: Option<String>,
}

/// The longest id, key or token a client can send in a field the core does not measure itself
/// (`type`, `appId`, `apiKey`, `sessionToken`, `fileId`, `version`, `hash`, `ip`).
pub const MAX_ID_LEN: usize = 256;

/// Parse the body, naming the field of a wrong type.
pub fn parse(body: &Map<String, Value>) -> Result<Body, Failure> {
    let de = Value::Object(body.clone());
    serde_path_to_error::deserialize(de).map_err(|e| codes::wrong_type(&e.path().to_string()))
}

/// A required text field: absent, null or blank is `MISSING_FIELDS` naming it.
pub fn required<'a>(name: &str, v: &'a Option<String>) -> Result<&'a str, DomainError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(DomainError::MissingFields(name.to_owned())),
    }
}

/// A required id or token: as [`required`], and at most [`MAX_ID_LEN`] bytes.
pub fn required_id<'a>(name: &str, v: &'a Option<String>) -> Result<&'a str, DomainError> {
    let s = required(name, v)?;
    short(name, s)
}

/// An optional text field: blank counts as absent.
pub fn optional(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// An optional id: as [`optional`], and at most [`MAX_ID_LEN`] bytes.
pub fn optional_id<'a>(name: &str, v: &'a Option<String>) -> Result<Option<&'a str>, DomainError> {
    optional(v).map(|s| short(name, s)).transpose()
}

fn short<'a>(name: &str, s: &'a str) -> Result<&'a str, DomainError> {
    if s.len() > MAX_ID_LEN {
        return Err(DomainError::validation(name, format!("must be at most {MAX_ID_LEN} characters")));
    }
    Ok(s)
}
