//! Blazeauth's request packets: a text frame holding one flat JSON object `{"type": N, "id": U64,
//! ...}`. Parsing decides the close code of a malformed packet: no `type` or `id` 4300, a type
//! this protocol does not have 4301, a body that does not fit its type 4302. Fields a packet does
//! not use are ignored.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::codes::Close;

/// The `id` of every server push (panel events).
pub const PUSH_ID: u64 = u64::MAX;

/// The largest text frame read (bytes): a larger one is closed 4302, like any body that does
/// not fit its packet. Every request is a few short fields; a session value is the longest.
pub const MAX_PACKET_BYTES: usize = 64 * 1024;

/// A session value key: any text but the empty one.
fn value_key<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let key = String::deserialize(d)?;
    if key.is_empty() {
        return Err(serde::de::Error::custom("key is empty"));
    }
    Ok(key)
}

#[derive(Debug, Clone, Deserialize)]
pub struct Initialize {
    pub websocket_api_key: String,
    pub client_id: String,
}

/// `credentials_type`: 0 login and password, 1 email and password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CredentialsType {
    #[default]
    Login,
    Email,
}

impl<'de> Deserialize<'de> for CredentialsType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u8::deserialize(d)? {
            0 => Ok(CredentialsType::Login),
            1 => Ok(CredentialsType::Email),
            other => Err(serde::de::Error::custom(format!("credentials_type {other} is not 0 or 1"))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CreateAccount {
    pub login: String,
    pub password: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub license: Option<String>,
    /// Absent means 0 (login and password).
    #[serde(default)]
    pub credentials_type: CredentialsType,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LicenseKey {
    pub license: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Credentials {
    pub login: String,
    pub password: String,
    #[serde(default)]
    pub credentials_type: CredentialsType,
    /// Links this license to the account before signing in (as packet 4 would).
    #[serde(default)]
    pub license: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Blacklist {
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TransferFile {
    pub filename: String,
    /// Byte offset to start from; absent means 0.
    #[serde(default)]
    pub resume_at: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileName {
    pub filename: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VariableName {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SetValue {
    #[serde(deserialize_with = "value_key")]
    pub key: String,
    pub value: String,
    /// Seconds; absent, zero or negative means 72 hours.
    #[serde(default)]
    pub ttl: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ValueKey {
    #[serde(deserialize_with = "value_key")]
    pub key: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub subscribed: bool,
}

/// A request, by its `type`.
#[derive(Debug, Clone)]
pub enum Packet {
    /// 0
    Initialize(Initialize),
    /// 1
    CreateAccount(CreateAccount),
    /// 2
    AuthorizeByLicense(LicenseKey),
    /// 3
    AuthorizeByCredentials(Credentials),
    /// 4
    LinkLicense(LicenseKey),
    /// 5
    Logout,
    /// 6
    Blacklist(Blacklist),
    /// 7
    TransferFile(TransferFile),
    /// 8
    StopFileTransfer(FileName),
    /// 9
    FileMetadata(FileName),
    /// 10
    OnlineUsersCount,
    /// 11
    GetVariable(VariableName),
    /// 12
    SetSessionValue(SetValue),
    /// 13
    GetSessionValue(ValueKey),
    /// 14
    DeleteSessionValue(ValueKey),
    /// 15
    CurrentLicense,
    /// 16
    CurrentAccount,
    /// 17
    PanelSubscription(Subscription),
}

/// The highest packet type there is.
pub const LAST_TYPE: u64 = 17;

/// Read one text frame: its `id` and the packet, or the close it earns.
pub fn parse(text: &str) -> Result<(u64, Packet), Close> {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else { return Err(Close::NO_TYPE_OR_ID) };
    let (Some(kind), Some(id)) = (obj.get("type").and_then(Value::as_u64), obj.get("id").and_then(Value::as_u64))
    else {
        return Err(Close::NO_TYPE_OR_ID);
    };
    fn body<T: DeserializeOwned>(obj: Map<String, Value>) -> Result<T, Close> {
        serde_json::from_value(Value::Object(obj)).map_err(|_| Close::BAD_BODY)
    }
    let packet = match kind {
        0 => Packet::Initialize(body(obj)?),
        1 => Packet::CreateAccount(body(obj)?),
        2 => Packet::AuthorizeByLicense(body(obj)?),
        3 => Packet::AuthorizeByCredentials(body(obj)?),
        4 => Packet::LinkLicense(body(obj)?),
        5 => Packet::Logout,
        6 => Packet::Blacklist(body(obj)?),
        7 => Packet::TransferFile(body(obj)?),
        8 => Packet::StopFileTransfer(body(obj)?),
        9 => Packet::FileMetadata(body(obj)?),
        10 => Packet::OnlineUsersCount,
        11 => Packet::GetVariable(body(obj)?),
        12 => Packet::SetSessionValue(body(obj)?),
        13 => Packet::GetSessionValue(body(obj)?),
        14 => Packet::DeleteSessionValue(body(obj)?),
        15 => Packet::CurrentLicense,
        16 => Packet::CurrentAccount,
        17 => Packet::PanelSubscription(body(obj)?),
        _ => return Err(Close::UNKNOWN_TYPE),
    };
    Ok((id, packet))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_errors_get_their_close_codes() {
        assert_eq!(parse("not json").unwrap_err().code, 4300);
        assert_eq!(parse("[1,2]").unwrap_err().code, 4300);
        assert_eq!(parse(r#"{"type":0}"#).unwrap_err().code, 4300);
        assert_eq!(parse(r#"{"id":1}"#).unwrap_err().code, 4300);
        assert_eq!(parse(r#"{"type":-1,"id":1}"#).unwrap_err().code, 4300);
        assert_eq!(parse(r#"{"type":0,"id":"1"}"#).unwrap_err().code, 4300);
        assert_eq!(parse(r#"{"type":18,"id":1}"#).unwrap_err().code, 4301);
        assert_eq!(parse(r#"{"type":0,"id":1}"#).unwrap_err().code, 4302);
        assert_eq!(parse(r#"{"type":0,"id":1,"websocket_api_key":5,"client_id":"abcd"}"#).unwrap_err().code, 4302);
        assert_eq!(
            parse(r#"{"type":1,"id":1,"login":"a","password":"b","credentials_type":2}"#).unwrap_err().code,
            4302
        );
        assert_eq!(parse(r#"{"type":17,"id":1,"subscribed":"yes"}"#).unwrap_err().code, 4302);
        assert_eq!(parse(r#"{"type":12,"id":1,"key":"","value":"v"}"#).unwrap_err().code, 4302);
        assert_eq!(parse(r#"{"type":13,"id":1,"key":""}"#).unwrap_err().code, 4302);
        assert_eq!(parse(r#"{"type":12,"id":1,"key":"k","value":"v","ttl":1.5}"#).unwrap_err().code, 4302);
    }

    #[test]
    fn any_u64_id_is_read() {
        let (id, p) = parse(r#"{"type":5,"id":18446744073709551615}"#).unwrap();
        assert_eq!(id, u64::MAX);
        assert!(matches!(p, Packet::Logout));
        let (id, p) = parse(r#"{"type":0,"id":7,"websocket_api_key":"k","client_id":"c","extra":1}"#).unwrap();
        assert_eq!(id, 7);
        assert!(matches!(p, Packet::Initialize(_)));
    }
}
