//! Request bodies: what the SDKs send (the answers are in `super::answers`).
//!
//! Every field is optional at the serde level so that a missing one becomes the protocol's
//! `MISSING_FIELDS` rather than a parse error; a field of the wrong type is `INVALID_REQUEST`.
//! Unknown fields (the SDKs' `request_id`, `nonce`, `timestamp`, the npm SDK's credentials on
//! every call) are ignored.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use tollgate_core::DomainError;
use utoipa::ToSchema;

use super::codes::{self, Failure};

/// Parse the body into an endpoint's request type, naming the field of a wrong type.
pub fn parse<T: DeserializeOwned>(body: &Map<String, Value>) -> Result<T, Failure> {
    let de = serde_json::Value::Object(body.clone());
    serde_path_to_error::deserialize(de).map_err(|e| codes::wrong_type(&e.path().to_string()))
}

/// A required text field: absent, null or blank is `MISSING_FIELDS`.
pub fn required<'a>(name: &str, v: &'a Option<String>) -> Result<&'a str, DomainError> {
    match v.as_deref() {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(DomainError::MissingFields(name.to_owned())),
    }
}

/// An optional text field: blank counts as absent (the SDKs send `""` for "not known").
pub fn optional(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct InitBody {
    pub owner_id: Option<String>,
    pub app_name: Option<String>,
    pub secret: Option<String>,
    pub version: Option<String>,
    pub hash: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SessionBody {
    pub session_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RegisterBody {
    pub session_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub key: Option<String>,
    /// The npm SDK's name for `key`.
    pub license_key: Option<String>,
    pub email: Option<String>,
    pub hwid: Option<String>,
    pub sid: Option<String>,
}

/// Login, license login and extend share their device and address fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LoginBody {
    pub session_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub license_key: Option<String>,
    pub key: Option<String>,
    pub hwid: Option<String>,
    pub sid: Option<String>,
    /// The client's own idea of its address: informational only, never trusted.
    pub ip: Option<String>,
    pub ip_address: Option<String>,
}

impl LoginBody {
    pub fn device(&self) -> Option<&str> {
        optional(&self.hwid).or(optional(&self.sid))
    }
}

impl RegisterBody {
    pub fn device(&self) -> Option<&str> {
        optional(&self.hwid).or(optional(&self.sid))
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ChangePasswordBody {
    pub session_id: Option<String>,
    pub old_password: Option<String>,
    pub new_password: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct VariableBody {
    pub session_id: Option<String>,
    pub var_key: Option<String>,
    pub var_value: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LogBody {
    pub session_id: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BlacklistBody {
    pub session_id: Option<String>,
    pub hwid: Option<String>,
    pub sid: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DeviceBody {
    pub session_id: Option<String>,
    pub device_type: Option<String>,
    pub device_id: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ChatBody {
    pub session_id: Option<String>,
    pub channel_name: Option<String>,
    pub message: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
