//! Offline license files: a license (or an account's entitlement) signed by the server's Ed25519
//! key, which a client program checks with no network until the file expires.
//!
//! The text a client holds:
//!
//! ```text
//! -----BEGIN TOLLGATE LICENSE FILE-----
//! <standard base64 of the envelope JSON, in lines of 64 characters>
//! -----END TOLLGATE LICENSE FILE-----
//! ```
//!
//! The envelope is `{"alg":"ed25519","kid":"k1","enc":"<base64 payload>","sig":"<base64
//! signature>"}`. `enc` is the standard (padded) base64 of the payload JSON's UTF-8 bytes; `sig`
//! is the standard base64 of the 64-byte Ed25519 signature of the bytes
//! `"tollgate-license-file/v1\n" + enc` (the base64 text itself, so no JSON canonicalisation is
//! needed to check it). The prefix keeps a license-file signature from ever being valid as a
//! signed response, and the other way round.
//!
//! The payload ([`Payload`]) carries when the file was issued, when it expires and its TTL, the
//! entitlement (level, end of subscription, the machines it is bound to) and the license or
//! account it describes. [`verify`] is the whole check a client runs.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::model::{License, LicenseStatus, User};
use crate::redeem;
use crate::time::{parse_rfc3339, rfc3339, Timestamp};

pub const BEGIN: &str = "-----BEGIN TOLLGATE LICENSE FILE-----";
pub const END: &str = "-----END TOLLGATE LICENSE FILE-----";
/// What goes before `enc` in the signed bytes.
pub const SIGNING_PREFIX: &str = "tollgate-license-file/v1\n";
/// The payload's `format`.
pub const FORMAT: &str = "tollgate-license-file";
pub const VERSION: u32 = 1;
pub const ALG: &str = "ed25519";
/// How far a client's clock may be behind the server's when it checks `issued`.
pub const CLOCK_SKEW_SECONDS: i64 = 300;
/// Shortest and longest lifetime of a file, in seconds (one hour, one year).
pub const MIN_TTL: i64 = 3600;
pub const MAX_TTL: i64 = 31_536_000;
/// The lifetime of a file when neither the seller nor the app setting chose one (seven days).
pub const DEFAULT_TTL: i64 = 604_800;
/// The longest armoured file [`verify`] reads (a file with the maximum of devices is far below).
pub const MAX_TEXT_LEN: usize = 256 * 1024;

/// What a license file says. Times are RFC 3339 UTC with milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for files this code writes.
    pub version: u32,
    pub app_id: String,
    /// When the server issued the file.
    pub issued: String,
    /// When the file stops being valid (`issued` + `ttl`).
    pub expiry: String,
    /// The file's lifetime in seconds.
    pub ttl: i64,
    /// The level the file grants.
    pub level: i64,
    /// When the subscription ends, `null` for one that never ends.
    pub expires_at: Option<String>,
    /// The machines (HWIDs) the file is valid on; empty when the license is bound to none, and
    /// then valid on any machine.
    pub devices: Vec<String>,
    /// The license the file was issued for (`null` for an account that has none left).
    pub license: Option<LicenseInfo>,
    /// The account, when the file was issued to a signed-in account.
    pub user: Option<UserInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseInfo {
    pub id: String,
    pub key: String,
    /// `UNUSED`, `USED`, `EXPIRED`, `BANNED` or `PAUSED` when the file was issued.
    pub status: String,
    pub level: i64,
    /// `1h`, `1d`, `7d`, `30d`, `90d`, `365d` or `lifetime`.
    pub duration: String,
    pub max_devices: i64,
    pub expires_at: Option<String>,
    pub devices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub id: String,
    pub username: String,
    pub level: i64,
    pub expires_at: Option<String>,
    pub devices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Envelope {
    alg: String,
    kid: String,
    enc: String,
    sig: String,
}

/// Why a license file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenseFileError {
    #[error("not a Tollgate license file: {0}")]
    Malformed(&'static str),
    #[error("license file signature algorithm `{0}` is not supported")]
    UnsupportedAlgorithm(String),
    #[error("license file signature does not verify with the pinned public key")]
    BadSignature,
    #[error("license file format version {0} is not supported")]
    UnsupportedVersion(u32),
    #[error("license file is for another app")]
    WrongApp,
    #[error("license file is not valid yet (issued {0})")]
    NotYetValid(String),
    #[error("license file expired at {0}")]
    Expired(String),
    #[error("the subscription in the license file ended at {0}")]
    SubscriptionExpired(String),
    #[error("license file is for another machine")]
    WrongMachine,
}

/// The bytes that are signed for an `enc`.
pub fn signing_input(enc: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_PREFIX.len() + enc.len());
    m.extend_from_slice(SIGNING_PREFIX.as_bytes());
    m.extend_from_slice(enc.as_bytes());
    m
}

/// Issue a file: `payload` encoded, signed by `sign` (which returns the 64-byte Ed25519
/// signature of the bytes it is given) under key `kid`, and armoured.
pub fn issue(payload: &Payload, kid: &str, sign: impl FnOnce(&[u8]) -> [u8; 64]) -> String {
    // Serialising plain strings and numbers cannot fail.
    let json = serde_json::to_vec(payload).unwrap_or_default();
    let enc = B64.encode(json);
    let sig = B64.encode(sign(&signing_input(&enc)));
    let envelope = Envelope { alg: ALG.into(), kid: kid.into(), enc, sig };
    let body = B64.encode(serde_json::to_vec(&envelope).unwrap_or_default());
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 80);
    out.push_str(BEGIN);
    out.push('\n');
    for line in body.as_bytes().chunks(64) {
        // Base64 is ASCII.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// The expiry and TTL fields of a file issued at `issued` for `ttl` seconds.
pub fn validity(issued: &Timestamp, ttl: i64) -> (String, String) {
    (rfc3339(issued), rfc3339(&(*issued + chrono::Duration::seconds(ttl))))
}

/// `ttl` when it is a lifetime a file may have ([`MIN_TTL`] to [`MAX_TTL`] seconds); otherwise a
/// validation error naming `field`.
pub fn checked_ttl(field: &str, ttl: i64) -> Result<i64, DomainError> {
    if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
        return Err(DomainError::validation(
            field,
            format!("must be a whole number of seconds from {MIN_TTL} (one hour) to {MAX_TTL} (one year)"),
        ));
    }
    Ok(ttl)
}

/// Whether a file may describe this entitlement at `now`. A file stands in for the server while
/// the client is offline, so it is only issued for what would be let in right now: an account
/// that may sign in (not banned, paused or expired), or a key-only license that was activated
/// and is neither banned, paused nor expired. A license an account holds is judged by the
/// account, except that a ban or pause of the license itself refuses too. The error is the one
/// a sign-in would meet. An `UNUSED` license is the caller's to refuse (it is not an
/// entitlement yet; only the admin API can name one).
pub fn check_entitlement(license: Option<&License>, user: Option<&User>, now: Timestamp) -> Result<(), DomainError> {
    if let Some(user) = user {
        match license.map(|l| l.status) {
            Some(LicenseStatus::Banned) => {
                return Err(DomainError::LicenseBanned { reason: license.and_then(|l| l.ban_reason.clone()) })
            }
            Some(LicenseStatus::Paused) => return Err(DomainError::LicensePaused),
            _ => {}
        }
        return redeem::check_user(user, now);
    }
    match license {
        Some(l) if l.status == LicenseStatus::Unused => Ok(()),
        // A key-only license: what its key login checks (a key an account holds has `user`).
        Some(l) => redeem::check_key_login(Some(l), now).map(|_| ()).or_else(|e| match e {
            DomainError::LicenseLinked => Ok(()),
            e => Err(e),
        }),
        None => Err(DomainError::LoginRequired),
    }
}

/// The payload of a file issued at `now` for `ttl` seconds, for a license alone or, with
/// `user`, for the account that holds it. A key-only license grants its own level, end and
/// bound machines; an account grants the account's (what its sign-in checks), and `license`
/// names the license it was issued through.
pub fn for_license(app_id: &str, license: &License, user: Option<&User>, now: &Timestamp, ttl: i64) -> Payload {
    match user {
        Some(user) => for_account(app_id, user, Some(license), now, ttl),
        None => {
            let (issued, expiry) = validity(now, ttl);
            Payload {
                format: FORMAT.into(),
                version: VERSION,
                app_id: app_id.to_owned(),
                issued,
                expiry,
                ttl,
                level: license.level,
                expires_at: license.expires_at.as_ref().map(rfc3339),
                devices: license.devices.clone(),
                license: Some(LicenseInfo::from(license)),
                user: None,
            }
        }
    }
}

/// The payload of a file issued at `now` for `ttl` seconds to an account: the account's level,
/// end and bound machines, with `license` when the caller knows which license it holds
/// (`null` otherwise).
pub fn for_account(app_id: &str, user: &User, license: Option<&License>, now: &Timestamp, ttl: i64) -> Payload {
    let (issued, expiry) = validity(now, ttl);
    Payload {
        format: FORMAT.into(),
        version: VERSION,
        app_id: app_id.to_owned(),
        issued,
        expiry,
        ttl,
        level: user.level,
        expires_at: user.expires_at.as_ref().map(rfc3339),
        devices: user.devices.clone(),
        license: license.map(LicenseInfo::from),
        user: Some(UserInfo {
            id: user.id.clone(),
            username: user.username.clone(),
            level: user.level,
            expires_at: user.expires_at.as_ref().map(rfc3339),
            devices: user.devices.clone(),
        }),
    }
}

impl From<&License> for LicenseInfo {
    fn from(l: &License) -> Self {
        LicenseInfo {
            id: l.id.clone(),
            key: l.key.clone(),
            status: l.status.to_string(),
            level: l.level,
            duration: l.duration.to_string(),
            max_devices: l.max_devices,
            expires_at: l.expires_at.as_ref().map(rfc3339),
            devices: l.devices.clone(),
        }
    }
}

/// Read a file without checking it: the kid and the payload. For display and tests; a client
/// trusts only what [`verify`] returns.
pub fn inspect(text: &str) -> Result<(String, Payload), LicenseFileError> {
    let env = envelope(text)?;
    Ok((env.kid.clone(), payload(&env)?))
}

/// Check a license file the way a client must: the armour, the signature with the pinned
/// `key`, the format, the app, the file's validity at `now` (allowing [`CLOCK_SKEW_SECONDS`] on
/// `issued`), the subscription's end, and — when the file is bound to machines — that
/// `machine` is one of them. Returns the payload only when every check passes.
pub fn verify(
    text: &str,
    key: &VerifyingKey,
    app_id: &str,
    machine: Option<&str>,
    now: &Timestamp,
) -> Result<Payload, LicenseFileError> {
    let env = envelope(text)?;
    if env.alg != ALG {
        return Err(LicenseFileError::UnsupportedAlgorithm(env.alg));
    }
    let sig = B64.decode(env.sig.as_bytes()).map_err(|_| LicenseFileError::Malformed("sig is not base64"))?;
    let sig = Signature::from_slice(&sig).map_err(|_| LicenseFileError::Malformed("sig is not 64 bytes"))?;
    key.verify_strict(&signing_input(&env.enc), &sig).map_err(|_| LicenseFileError::BadSignature)?;
    let p = payload(&env)?;
    if p.format != FORMAT {
        return Err(LicenseFileError::Malformed("format is not tollgate-license-file"));
    }
    if p.version != VERSION {
        return Err(LicenseFileError::UnsupportedVersion(p.version));
    }
    if p.app_id != app_id {
        return Err(LicenseFileError::WrongApp);
    }
    let issued = parse_rfc3339(&p.issued).ok_or(LicenseFileError::Malformed("issued is not a time"))?;
    let expiry = parse_rfc3339(&p.expiry).ok_or(LicenseFileError::Malformed("expiry is not a time"))?;
    if *now + chrono::Duration::seconds(CLOCK_SKEW_SECONDS) < issued {
        return Err(LicenseFileError::NotYetValid(p.issued));
    }
    if *now >= expiry {
        return Err(LicenseFileError::Expired(p.expiry));
    }
    if let Some(end) = &p.expires_at {
        let t = parse_rfc3339(end).ok_or(LicenseFileError::Malformed("expiresAt is not a time"))?;
        if *now >= t {
            return Err(LicenseFileError::SubscriptionExpired(end.clone()));
        }
    }
    if !p.devices.is_empty() {
        match machine {
            Some(m) if p.devices.iter().any(|d| d == m) => {}
            _ => return Err(LicenseFileError::WrongMachine),
        }
    }
    Ok(p)
}

fn envelope(text: &str) -> Result<Envelope, LicenseFileError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(LicenseFileError::Malformed("too long"));
    }
    let text = text.trim();
    let inner = text
        .strip_prefix(BEGIN)
        .and_then(|t| t.strip_suffix(END))
        .ok_or(LicenseFileError::Malformed("missing the BEGIN/END lines"))?;
    let b64: String = inner.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let raw = B64.decode(b64.as_bytes()).map_err(|_| LicenseFileError::Malformed("body is not base64"))?;
    serde_json::from_slice(&raw).map_err(|_| LicenseFileError::Malformed("envelope is not the expected JSON"))
}

fn payload(env: &Envelope) -> Result<Payload, LicenseFileError> {
    let raw = B64.decode(env.enc.as_bytes()).map_err(|_| LicenseFileError::Malformed("enc is not base64"))?;
    serde_json::from_slice(&raw).map_err(|_| LicenseFileError::Malformed("payload is not the expected JSON"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn sample(now: &Timestamp, ttl: i64, devices: &[&str]) -> Payload {
        let (issued, expiry) = validity(now, ttl);
        Payload {
            format: FORMAT.into(),
            version: VERSION,
            app_id: "app1".into(),
            issued,
            expiry,
            ttl,
            level: 2,
            expires_at: None,
            devices: devices.iter().map(|d| d.to_string()).collect(),
            license: None,
            user: None,
        }
    }

    fn issue_with(k: &SigningKey, p: &Payload) -> String {
        issue(p, "k1", |m| k.sign(m).to_bytes())
    }

    #[test]
    fn a_file_verifies_and_round_trips() {
        let now = crate::time::now();
        let p = sample(&now, 3600, &["hw-a"]);
        let text = issue_with(&key(), &p);
        assert!(text.starts_with(BEGIN) && text.trim_end().ends_with(END));
        assert!(text.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        let got = verify(&text, &key().verifying_key(), "app1", Some("hw-a"), &now).unwrap();
        assert_eq!(got, p);
        assert_eq!(inspect(&text).unwrap(), ("k1".to_string(), p));
    }

    #[test]
    fn every_refusal() {
        let now = crate::time::now();
        let k = key();
        let vk = k.verifying_key();
        let text = issue_with(&k, &sample(&now, 3600, &["hw-a"]));
        // Another key.
        let other = SigningKey::from_bytes(&[8u8; 32]).verifying_key();
        assert_eq!(verify(&text, &other, "app1", Some("hw-a"), &now), Err(LicenseFileError::BadSignature));
        // Another machine, or none.
        assert_eq!(verify(&text, &vk, "app1", Some("hw-b"), &now), Err(LicenseFileError::WrongMachine));
        assert_eq!(verify(&text, &vk, "app1", None, &now), Err(LicenseFileError::WrongMachine));
        // Another app.
        assert_eq!(verify(&text, &vk, "app2", Some("hw-a"), &now), Err(LicenseFileError::WrongApp));
        // Expired, and not yet valid.
        let later = now + chrono::Duration::seconds(3600);
        assert!(matches!(verify(&text, &vk, "app1", Some("hw-a"), &later), Err(LicenseFileError::Expired(_))));
        let earlier = now - chrono::Duration::seconds(CLOCK_SKEW_SECONDS + 1);
        assert!(matches!(verify(&text, &vk, "app1", Some("hw-a"), &earlier), Err(LicenseFileError::NotYetValid(_))));
        // A payload changed after signing: re-encode the envelope with another level.
        let mut env = envelope(&text).unwrap();
        let mut p = payload(&env).unwrap();
        p.level = 99;
        env.enc = B64.encode(serde_json::to_vec(&p).unwrap());
        let forged = format!("{BEGIN}\n{}\n{END}\n", B64.encode(serde_json::to_vec(&env).unwrap()));
        assert_eq!(verify(&forged, &vk, "app1", Some("hw-a"), &now), Err(LicenseFileError::BadSignature));
        // Armour damage.
        assert!(matches!(verify("hello", &vk, "app1", None, &now), Err(LicenseFileError::Malformed(_))));
        let cut = text.replace(END, "");
        assert!(matches!(verify(&cut, &vk, "app1", None, &now), Err(LicenseFileError::Malformed(_))));
    }

    fn license(status: LicenseStatus, expires_in: Option<i64>) -> License {
        let now = crate::time::now();
        License {
            id: "lic_1".into(),
            app_id: "app1".into(),
            key: "KEY-AAAA-BBBB".into(),
            status,
            level: 3,
            duration: crate::DurationType::Days(30),
            max_devices: 2,
            note: None,
            prefix: None,
            created_by: crate::model::Creator::Seller("sel_1".into()),
            created_at: now,
            activated_at: Some(now),
            expires_at: expires_in.map(|s| now + chrono::Duration::seconds(s)),
            user_id: None,
            devices: vec!["hw-a".into()],
            ban_reason: None,
        }
    }

    fn user(status: crate::model::UserStatus) -> User {
        User {
            id: "usr_1".into(),
            app_id: "app1".into(),
            username: "alice".into(),
            password_hash: "x".into(),
            email: None,
            level: 5,
            expires_at: None,
            devices: vec!["hw-u".into()],
            max_devices: 1,
            last_ip: None,
            status,
            ban_reason: None,
            last_login: None,
            created_at: crate::time::now(),
            note: None,
        }
    }

    #[test]
    fn payloads_from_a_license_and_from_an_account() {
        let now = crate::time::now();
        let l = license(LicenseStatus::Used, Some(86_400));
        let p = for_license("app1", &l, None, &now, 7200);
        assert_eq!((p.level, p.ttl, p.devices.clone()), (3, 7200, vec!["hw-a".to_string()]));
        assert_eq!(p.expires_at, l.expires_at.as_ref().map(rfc3339));
        assert_eq!(
            parse_rfc3339(&p.expiry).unwrap() - parse_rfc3339(&p.issued).unwrap(),
            chrono::Duration::seconds(7200)
        );
        let info = p.license.unwrap();
        assert_eq!((info.status.as_str(), info.duration.as_str(), info.key.as_str()), ("USED", "30d", "KEY-AAAA-BBBB"));
        assert!(p.user.is_none());

        let u = user(crate::model::UserStatus::Active);
        let p = for_license("app1", &l, Some(&u), &now, 3600);
        assert_eq!((p.level, p.expires_at.clone(), p.devices.clone()), (5, None, vec!["hw-u".to_string()]));
        assert_eq!(p.user.as_ref().unwrap().username, "alice");
        assert_eq!(p.license.as_ref().unwrap().id, "lic_1");
        assert_eq!(for_account("app1", &u, None, &now, 3600).license, None);
    }

    #[test]
    fn only_a_usable_entitlement_gets_a_file() {
        let now = crate::time::now();
        assert!(check_entitlement(Some(&license(LicenseStatus::Used, Some(60))), None, now).is_ok());
        assert!(check_entitlement(Some(&license(LicenseStatus::Used, None)), None, now).is_ok());
        let refused = |l: License| check_entitlement(Some(&l), None, now).unwrap_err();
        assert_eq!(refused(license(LicenseStatus::Used, Some(-1))), DomainError::LicenseExpired);
        assert_eq!(refused(license(LicenseStatus::Paused, Some(60))), DomainError::LicensePaused);
        assert!(matches!(refused(license(LicenseStatus::Banned, None)), DomainError::LicenseBanned { .. }));
        let active = user(crate::model::UserStatus::Active);
        assert!(check_entitlement(None, Some(&active), now).is_ok());
        let banned = user(crate::model::UserStatus::Banned);
        assert!(matches!(check_entitlement(None, Some(&banned), now), Err(DomainError::UserBanned { .. })));
        let paused_key = license(LicenseStatus::Paused, None);
        assert_eq!(check_entitlement(Some(&paused_key), Some(&active), now), Err(DomainError::LicensePaused));
        assert_eq!(check_entitlement(None, None, now), Err(DomainError::LoginRequired));
        assert!(checked_ttl("ttl", MIN_TTL - 1).is_err() && checked_ttl("ttl", MAX_TTL + 1).is_err());
        assert_eq!(checked_ttl("ttl", DEFAULT_TTL), Ok(DEFAULT_TTL));
    }

    #[test]
    fn subscription_end_and_unbound_files() {
        let now = crate::time::now();
        let k = key();
        let mut p = sample(&now, 3600, &[]);
        let text = issue_with(&k, &p);
        // Bound to no machine: valid anywhere.
        assert!(verify(&text, &k.verifying_key(), "app1", Some("any"), &now).is_ok());
        assert!(verify(&text, &k.verifying_key(), "app1", None, &now).is_ok());
        p.expires_at = Some(rfc3339(&(now + chrono::Duration::seconds(60))));
        let text = issue_with(&k, &p);
        let after = now + chrono::Duration::seconds(61);
        assert!(matches!(
            verify(&text, &k.verifying_key(), "app1", None, &after),
            Err(LicenseFileError::SubscriptionExpired(_))
        ));
    }

    /// The worked example of docs/license-files.md: a file signed by the key of 32 bytes of 42
    /// (whose public key the document shows), checked on its machine a day after it was issued.
    const DOC_EXAMPLE: &str = "-----BEGIN TOLLGATE LICENSE FILE-----\n\
eyJhbGciOiJlZDI1NTE5Iiwia2lkIjoiazEiLCJlbmMiOiJleUptYjNKdFlYUWlP\n\
aUowYjJ4c1oyRjBaUzFzYVdObGJuTmxMV1pwYkdVaUxDSjJaWEp6YVc5dUlqb3hM\n\
Q0poY0hCSlpDSTZJbUZ3Y0Y4emF6bDRNbTAwY1RkM01XVTFjamgwTm5rd2RTSXNJ\n\
bWx6YzNWbFpDSTZJakl3TWpZdE1USXRNRGRVTVRJNk1EQTZNREF1TURBd1dpSXNJ\n\
bVY0Y0dseWVTSTZJakl3TWpZdE1USXRNVFJVTVRJNk1EQTZNREF1TURBd1dpSXNJ\n\
blIwYkNJNk5qQTBPREF3TENKc1pYWmxiQ0k2TWl3aVpYaHdhWEpsYzBGMElqb2lN\n\
akF5Tnkwd01TMHdObFF3T1Rvek1Eb3dNQzR3TURCYUlpd2laR1YyYVdObGN5STZX\n\
eUpJVjBsRUxUZEdNMEV0TVRsRE1pSmRMQ0pzYVdObGJuTmxJanA3SW1sa0lqb2li\n\
R2xqWHpodU1uWTFZemQ0TVhvellqWnRPWEUwZHpCbElpd2lhMlY1SWpvaVZFY3RO\n\
MHRSVUMxTk1saEVMVGxTVjBZaUxDSnpkR0YwZFhNaU9pSlZVMFZFSWl3aWJHVjJa\n\
V3dpT2pJc0ltUjFjbUYwYVc5dUlqb2lNekJrSWl3aWJXRjRSR1YyYVdObGN5STZN\n\
U3dpWlhod2FYSmxjMEYwSWpvaU1qQXlOeTB3TVMwd05sUXdPVG96TURvd01DNHdN\n\
REJhSWl3aVpHVjJhV05sY3lJNld5SklWMGxFTFRkR00wRXRNVGxETWlKZGZTd2lk\n\
WE5sY2lJNmJuVnNiSDA9Iiwic2lnIjoiZ1QxNTE0NHB3SkNQRGFsa2FpRVYxNFND\n\
ZVhMbnFtbEJ1eVF3bHNCMVR2WWY4ZTJNblp4blpQd2M2R0J1OFdoekhJL21RUndo\n\
emdPeTJ3ek1pdlRTQkE9PSJ9\n\
-----END TOLLGATE LICENSE FILE-----\n\
";

    #[test]
    fn the_documented_example_verifies() {
        let k = SigningKey::from_bytes(&[42u8; 32]);
        let now = parse_rfc3339("2026-12-08T00:00:00.000Z").unwrap();
        let app = "app_3k9x2m4q7w1e5r8t6y0u";
        let p = verify(DOC_EXAMPLE, &k.verifying_key(), app, Some("HWID-7F3A-19C2"), &now).unwrap();
        assert_eq!((p.level, p.ttl, p.expiry.as_str()), (2, 604_800, "2026-12-14T12:00:00.000Z"));
        assert_eq!(p.license.unwrap().key, "TG-7KQP-M2XD-9RWF");
        let later = parse_rfc3339("2026-12-14T12:00:00.000Z").unwrap();
        assert!(matches!(
            verify(DOC_EXAMPLE, &k.verifying_key(), app, Some("HWID-7F3A-19C2"), &later),
            Err(LicenseFileError::Expired(_))
        ));
    }
}
