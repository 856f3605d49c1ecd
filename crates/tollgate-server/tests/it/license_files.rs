//! Offline license files: the admin route and the client calls of both HTTP dialects issue a
//! signed, expiring file; each file is taken apart here by hand (armour, base64, envelope,
//! Ed25519 over the signed bytes with the key the app object publishes) as docs/license-files.md
//! describes it, then checked with `tollgate_core::license_file::verify`, the client's check:
//! valid on its machine, refused tampered, expired, on another machine or for another app.
//! A Python that can `import cryptography` (`TOLLGATE_TEST_PYTHON`, else `python3`) verifies a
//! file following the document's steps alone; without one that test says so and passes.

use std::process::Stdio;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::{Signature, VerifyingKey};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tollgate_core::license_file::{self, LicenseFileError, Payload};
use tollgate_core::model::{Creator, License, LicenseStatus};
use tollgate_core::time::{now, parse_rfc3339, rfc3339};

use crate::authly::{self, assert_signed, client_app, keys, settings, ClientApp};
use crate::harness::{Resp, TestServer};
use crate::signing::imports;

const PW: &str = "correct-horse-9";

fn admin(app: &ClientApp, path: &str) -> String {
    format!("/v1/admin/apps/{}{path}", app.id)
}

/// The server's public key as the app object publishes it (what a seller pins).
async fn pinned_key(s: &TestServer, app: &ClientApp) -> VerifyingKey {
    let r = s.get(&admin(app, ""), &app.seller.token).await;
    r.assert_status(200);
    VerifyingKey::from_public_key_pem(r.data()["publicKeyPem"].as_str().unwrap()).unwrap()
}

/// Authon `POST /v1` with the app's credentials; the answer's signature is checked.
async fn authon(s: &TestServer, app: &ClientApp, kind: &str, fields: Value) -> Resp {
    let mut body = json!({ "type": kind, "appId": app.id, "apiKey": app.secret });
    if let (Value::Object(b), Value::Object(extra)) = (&mut body, fields) {
        b.extend(extra);
    }
    let res = s.http.post(s.url("/v1")).json(&body).headers(HeaderMap::new()).send().await.unwrap();
    let r = TestServer::into_resp(res).await;
    assert_signed(s, &r, "", "");
    r
}

/// A key activated by a key login from `hwid` (bound to it: the app locks devices); the
/// Authon session token and the license's id.
async fn activated_key(s: &TestServer, app: &ClientApp, spec: Value, hwid: &str) -> (String, String) {
    let key = keys(s, app, 1, spec).await.remove(0);
    let r = authon(s, app, "license", json!({ "licenseKey": key, "hwid": hwid })).await;
    r.assert_status(200);
    let token = r.data()["sessionToken"].as_str().unwrap().to_owned();
    (token, license_id(s, app, &key).await)
}

async fn license_id(s: &TestServer, app: &ClientApp, key: &str) -> String {
    let r = s.get(&admin(app, &format!("/licenses/by-key/{key}")), &app.seller.token).await;
    r.assert_status(200);
    r.data()["id"].as_str().unwrap().to_owned()
}

/// An account registered through Authon with a fresh key from `hwid`: the session token and
/// the id of the key it redeemed.
async fn account(s: &TestServer, app: &ClientApp, username: &str, hwid: &str) -> (String, String) {
    let key = keys(s, app, 1, json!({ "level": 4 })).await.remove(0);
    let r =
        authon(s, app, "register", json!({ "username": username, "password": PW, "licenseKey": key, "hwid": hwid }))
            .await;
    r.assert_status(200);
    (r.data()["sessionToken"].as_str().unwrap().to_owned(), license_id(s, app, &key).await)
}

async fn issue(s: &TestServer, app: &ClientApp, license_id: &str, body: Option<Value>) -> Resp {
    let path = admin(app, &format!("/licenses/{license_id}/license-file"));
    s.req(reqwest::Method::POST, &path, Some(&app.seller.token), body).await
}

/// Take a file apart by hand as the format document says, and check its signature with `key`
/// (strict Ed25519); the envelope and the payload.
fn decode_by_hand(text: &str, key: &VerifyingKey) -> (Value, Value) {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"-----BEGIN TOLLGATE LICENSE FILE-----"), "{text}");
    assert_eq!(lines.last(), Some(&"-----END TOLLGATE LICENSE FILE-----"), "{text}");
    assert!(text.ends_with('\n'), "the file ends with a newline");
    let body_lines = &lines[1..lines.len() - 1];
    assert!(body_lines.iter().all(|l| !l.is_empty() && l.len() <= 64), "64-character lines");
    assert!(body_lines[..body_lines.len() - 1].iter().all(|l| l.len() == 64), "every line but the last is full");
    let envelope: Value = serde_json::from_slice(&B64.decode(body_lines.concat()).unwrap()).unwrap();
    let obj = envelope.as_object().unwrap();
    let mut fields: Vec<&str> = obj.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["alg", "enc", "kid", "sig"]);
    assert_eq!(envelope["alg"], "ed25519");
    let enc = envelope["enc"].as_str().unwrap();
    let sig = Signature::from_slice(&B64.decode(envelope["sig"].as_str().unwrap()).unwrap()).unwrap();
    let mut signed = b"tollgate-license-file/v1\n".to_vec();
    signed.extend_from_slice(enc.as_bytes());
    key.verify_strict(&signed, &sig).expect("the signature verifies with the pinned key");
    let payload: Value = serde_json::from_slice(&B64.decode(enc).unwrap()).unwrap();
    (envelope, payload)
}

/// The file with one character of its payload's base64 changed, armoured again.
fn tampered(text: &str) -> String {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut envelope: Value = serde_json::from_slice(&B64.decode(body).unwrap()).unwrap();
    let mut enc = envelope["enc"].as_str().unwrap().to_owned().into_bytes();
    // A character in the middle (never the padding), to another base64 character.
    let i = enc.len() / 2;
    enc[i] = if enc[i] == b'A' { b'B' } else { b'A' };
    envelope["enc"] = json!(String::from_utf8(enc).unwrap());
    let armoured = B64.encode(serde_json::to_vec(&envelope).unwrap());
    format!("{}\n{armoured}\n{}\n", license_file::BEGIN, license_file::END)
}

/// The outside of an answer (`licenseFile`/`license_file`, issued, expiry, ttl, kid) agrees with
/// the file's payload and the server's key id; the payload.
#[track_caller]
fn check_outside(s: &TestServer, key: &VerifyingKey, data: &Value, file_field: &str, ttl: i64) -> (String, Payload) {
    let text = data[file_field].as_str().unwrap().to_owned();
    let (envelope, payload) = decode_by_hand(&text, key);
    assert_eq!(data["kid"], s.state.signer.get().kid());
    assert_eq!(envelope["kid"], data["kid"]);
    assert_eq!(data["ttl"], ttl);
    assert_eq!(payload["ttl"], ttl);
    assert_eq!(data["issued"], payload["issued"]);
    assert_eq!(data["expiry"], payload["expiry"]);
    let issued = parse_rfc3339(data["issued"].as_str().unwrap()).unwrap();
    let expiry = parse_rfc3339(data["expiry"].as_str().unwrap()).unwrap();
    assert_eq!((expiry - issued).num_seconds(), ttl);
    assert!((now() - issued).num_seconds().abs() < 60, "issued now: {issued}");
    assert_eq!(payload["format"], "tollgate-license-file");
    assert_eq!(payload["version"], 1);
    (text, serde_json::from_value(payload).unwrap())
}

// ---------------------------------------------------------------------------------------------
// admin route

#[tokio::test]
async fn admin_file_verifies_with_the_pinned_key_and_describes_the_license() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = pinned_key(&s, &app).await;
    let (_, id) = activated_key(&s, &app, json!({ "level": 3, "maxDevices": 2 }), "HW-1").await;
    let stored = s.get(&admin(&app, &format!("/licenses/{id}")), &app.seller.token).await;

    // No body: the app's default lifetime, seven days.
    let r = issue(&s, &app, &id, None).await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    let mut fields: Vec<&str> = r.data().as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["expiry", "issued", "kid", "licenseFile", "ttl"]);
    let (text, p) = check_outside(&s, &key, r.data(), "licenseFile", license_file::DEFAULT_TTL);
    assert_eq!(p.app_id, app.id);
    assert_eq!(p.level, 3);
    assert_eq!(p.devices, vec!["HW-1".to_string()]);
    assert_eq!(p.expires_at.as_deref(), stored.data()["expiresAt"].as_str());
    assert!(p.expires_at.is_some(), "a 30-day key has an end");
    let l = p.license.clone().unwrap();
    assert_eq!((l.id.as_str(), l.status.as_str(), l.duration.as_str()), (id.as_str(), "USED", "30d"));
    assert_eq!((l.level, l.max_devices), (3, 2));
    assert_eq!(l.key, stored.data()["key"].as_str().unwrap());
    assert!(p.user.is_none());

    // The client's check: valid on its machine; refused elsewhere, for another app, later,
    // tampered, or with another key.
    let at = now();
    assert_eq!(license_file::verify(&text, &key, &app.id, Some("HW-1"), &at), Ok(p.clone()));
    assert_eq!(license_file::verify(&text, &key, &app.id, Some("HW-2"), &at), Err(LicenseFileError::WrongMachine));
    assert_eq!(license_file::verify(&text, &key, &app.id, None, &at), Err(LicenseFileError::WrongMachine));
    assert_eq!(license_file::verify(&text, &key, "app_other", Some("HW-1"), &at), Err(LicenseFileError::WrongApp));
    let expiry = parse_rfc3339(&p.expiry).unwrap();
    assert!(matches!(
        license_file::verify(&text, &key, &app.id, Some("HW-1"), &expiry),
        Err(LicenseFileError::Expired(_))
    ));
    let just_before = expiry - chrono::Duration::milliseconds(1);
    assert!(license_file::verify(&text, &key, &app.id, Some("HW-1"), &just_before).is_ok());
    assert_eq!(
        license_file::verify(&tampered(&text), &key, &app.id, Some("HW-1"), &at),
        Err(LicenseFileError::BadSignature)
    );
    let other = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]).verifying_key();
    assert_eq!(license_file::verify(&text, &other, &app.id, Some("HW-1"), &at), Err(LicenseFileError::BadSignature));

    // Audited as a license action.
    let audit = s.get("/v1/admin/audit?limit=100", &app.seller.token).await;
    let entries = audit.data().as_array().unwrap();
    assert!(entries.iter().any(|e| e["action"] == "license.file" && e["target"] == json!(id)), "{}", audit.body);
    s.stop().await;
}

#[tokio::test]
async fn ttl_defaults_to_the_app_setting_and_is_bounded() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = pinned_key(&s, &app).await;
    let (_, id) = activated_key(&s, &app, json!({}), "HW-1").await;
    let r = s.get(&admin(&app, ""), &app.seller.token).await;
    assert_eq!(r.data()["licenseFileTtl"], license_file::DEFAULT_TTL);

    // Explicit, at both ends.
    for ttl in [license_file::MIN_TTL, license_file::MAX_TTL] {
        let r = issue(&s, &app, &id, Some(json!({ "ttl": ttl }))).await;
        r.assert_status(200);
        check_outside(&s, &key, r.data(), "licenseFile", ttl);
    }
    // Out of range, not a number, unknown field: 400 naming it, nothing issued.
    for (body, field) in [
        (json!({ "ttl": license_file::MIN_TTL - 1 }), "ttl"),
        (json!({ "ttl": license_file::MAX_TTL + 1 }), "ttl"),
        (json!({ "ttl": -5 }), "ttl"),
        (json!({ "ttl": "3600" }), "ttl"),
        (json!({ "ttl": 3600.5 }), "ttl"),
    ] {
        let r = issue(&s, &app, &id, Some(body.clone())).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with(&format!("{field}:")), "{body}: {}", r.body);
    }
    let r = issue(&s, &app, &id, Some(json!({ "tll": 3600 }))).await;
    r.assert_status(400);

    // The app's setting is the default; out of range it is refused naming it and unchanged.
    settings(&s, &app, json!({ "licenseFileTtl": 7200 })).await;
    let r = issue(&s, &app, &id, Some(json!({}))).await;
    r.assert_status(200);
    check_outside(&s, &key, r.data(), "licenseFile", 7200);
    for bad in [json!(3599), json!(31_536_001), json!("7200"), json!(-1)] {
        let r = s.patch(&admin(&app, ""), &app.seller.token, json!({ "licenseFileTtl": bad })).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with("licenseFileTtl"), "{}", r.body);
    }
    let r = s.get(&admin(&app, ""), &app.seller.token).await;
    assert_eq!(r.data()["licenseFileTtl"], 7200);
    s.stop().await;
}

/// A stored license of the app, `USED` by a key login that ended an hour ago.
fn expired_license(app_id: &str, seller_id: &str) -> License {
    let at = now();
    License {
        id: tollgate_core::ids::new_id("lic"),
        app_id: app_id.to_owned(),
        key: format!("EXPD-{}", tollgate_core::ids::random_hex(6).to_uppercase()),
        status: LicenseStatus::Used,
        level: 1,
        duration: tollgate_core::DurationType::Days(1),
        max_devices: 1,
        note: None,
        prefix: None,
        created_by: Creator::Seller(seller_id.to_owned()),
        created_at: at - chrono::Duration::days(2),
        activated_at: Some(at - chrono::Duration::hours(25)),
        expires_at: Some(at - chrono::Duration::hours(1)),
        user_id: None,
        devices: Vec::new(),
        ban_reason: None,
    }
}

#[tokio::test]
async fn only_an_activated_usable_license_gets_a_file() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let conflict = |r: &Resp, why: &str| {
        r.assert_error(409, "CONFLICT");
        let m = r.body["message"].as_str().unwrap();
        assert!(m.starts_with("No license file for this license") && m.contains(why), "{why}: {m}");
    };

    let unused = keys(&s, &app, 1, json!({})).await.remove(0);
    let unused = license_id(&s, &app, &unused).await;
    conflict(&issue(&s, &app, &unused, None).await, "UNUSED");

    let (_, banned) = activated_key(&s, &app, json!({}), "HW-1").await;
    let r = s.post(&admin(&app, &format!("/licenses/{banned}/ban")), &app.seller.token, json!({ "reason": "x" })).await;
    r.assert_status(200);
    conflict(&issue(&s, &app, &banned, None).await, "banned");
    s.post(&admin(&app, &format!("/licenses/{banned}/unban")), &app.seller.token, json!({})).await.assert_status(200);
    issue(&s, &app, &banned, None).await.assert_status(200);

    let (_, paused) = activated_key(&s, &app, json!({}), "HW-2").await;
    s.post(&admin(&app, &format!("/licenses/{paused}/pause")), &app.seller.token, json!({})).await.assert_status(200);
    conflict(&issue(&s, &app, &paused, None).await, "paused");

    let expired = expired_license(&app.id, &app.seller.id);
    s.state.store.insert_licenses(std::slice::from_ref(&expired)).await.unwrap();
    conflict(&issue(&s, &app, &expired.id, None).await, "expired");

    // An account that is banned refuses the license it holds.
    let (_, held) = account(&s, &app, "carol", "HW-C").await;
    let users = s.get(&admin(&app, "/users?search=carol"), &app.seller.token).await;
    let user_id = users.data()[0]["id"].as_str().unwrap().to_owned();
    s.post(&admin(&app, &format!("/users/{user_id}/ban")), &app.seller.token, json!({})).await.assert_status(200);
    conflict(&issue(&s, &app, &held, None).await, "user is banned");

    // Absent: 404.
    issue(&s, &app, "lic_nope", None).await.assert_error(404, "NOT_FOUND");
    s.stop().await;
}

#[tokio::test]
async fn another_sellers_app_or_license_is_not_found() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let (_, id) = activated_key(&s, &app, json!({}), "HW-1").await;
    let other = client_app(&s).await;
    // Their token on our app, and our license under their app.
    let path = admin(&app, &format!("/licenses/{id}/license-file"));
    s.post(&path, &other.seller.token, json!({})).await.assert_error(404, "NOT_FOUND");
    issue(&s, &other, &id, None).await.assert_error(404, "NOT_FOUND");
    // No token at all.
    let r = s.req(reqwest::Method::POST, &path, None, Some(json!({}))).await;
    r.assert_status(401);
    s.stop().await;
}

#[tokio::test]
async fn a_license_an_account_holds_gets_the_accounts_entitlement() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = pinned_key(&s, &app).await;
    let (_, id) = account(&s, &app, "alice", "HW-A").await;
    let r = issue(&s, &app, &id, None).await;
    r.assert_status(200);
    let (text, p) = check_outside(&s, &key, r.data(), "licenseFile", license_file::DEFAULT_TTL);
    let user = p.user.clone().expect("the account");
    assert_eq!(user.username, "alice");
    assert_eq!((p.level, user.level), (4, 4));
    assert_eq!(p.devices, vec!["HW-A".to_string()]);
    assert_eq!(user.devices, p.devices);
    assert_eq!(p.expires_at, user.expires_at);
    assert_eq!(p.license.as_ref().map(|l| l.id.as_str()), Some(id.as_str()));
    assert!(license_file::verify(&text, &key, &app.id, Some("HW-A"), &now()).is_ok());
    assert_eq!(license_file::verify(&text, &key, &app.id, Some("HW-B"), &now()), Err(LicenseFileError::WrongMachine));
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// client API

#[tokio::test]
async fn authon_license_file_for_a_key_and_for_an_account() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = pinned_key(&s, &app).await;
    settings(&s, &app, json!({ "licenseFileTtl": 86_400 })).await;

    let (token, id) = activated_key(&s, &app, json!({ "level": 2 }), "HW-K").await;
    let r = authon(&s, &app, "license_file", json!({ "sessionToken": token })).await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "License file issued");
    let (text, p) = check_outside(&s, &key, r.data(), "licenseFile", 86_400);
    assert_eq!((p.level, p.devices.clone()), (2, vec!["HW-K".to_string()]));
    assert_eq!(p.license.as_ref().map(|l| l.id.as_str()), Some(id.as_str()));
    assert!(p.user.is_none());
    assert!(license_file::verify(&text, &key, &app.id, Some("HW-K"), &now()).is_ok());
    // The key is read as it is now: a new level shows in the next file.
    let r = s.patch(&admin(&app, &format!("/licenses/{id}")), &app.seller.token, json!({ "level": 9 })).await;
    r.assert_status(200);
    let r = authon(&s, &app, "license_file", json!({ "sessionToken": token })).await;
    r.assert_status(200);
    assert_eq!(check_outside(&s, &key, r.data(), "licenseFile", 86_400).1.level, 9);

    let (token, _) = account(&s, &app, "bob", "HW-B").await;
    let r = authon(&s, &app, "license_file", json!({ "sessionToken": token })).await;
    r.assert_status(200);
    let (text, p) = check_outside(&s, &key, r.data(), "licenseFile", 86_400);
    assert_eq!(p.user.as_ref().map(|u| u.username.as_str()), Some("bob"));
    assert_eq!((p.level, p.devices.clone()), (4, vec!["HW-B".to_string()]));
    assert_eq!(p.license, None, "an account's file names no license");
    assert!(license_file::verify(&text, &key, &app.id, Some("HW-B"), &now()).is_ok());

    // Refusals: no session, a bad one, a key banned since the sign-in (the ban ends its
    // sessions).
    let r = authon(&s, &app, "license_file", json!({})).await;
    r.assert_error(400, "MISSING_FIELDS");
    let r = authon(&s, &app, "license_file", json!({ "sessionToken": "nope" })).await;
    r.assert_error(401, "INVALID_SESSION");
    let (token, id) = activated_key(&s, &app, json!({}), "HW-X").await;
    s.post(&admin(&app, &format!("/licenses/{id}/ban")), &app.seller.token, json!({})).await.assert_status(200);
    let r = authon(&s, &app, "license_file", json!({ "sessionToken": token })).await;
    r.assert_error(401, "INVALID_SESSION");
    s.stop().await;
}

#[tokio::test]
async fn authly_license_file_for_a_key_and_an_account_and_not_for_an_init_only_session() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let key = pinned_key(&s, &app).await;

    // Key login.
    let sid = authly::init(&s, &app).await;
    let k = keys(&s, &app, 1, json!({ "level": 6 })).await.remove(0);
    let r = authly::call(&s, "licenses", json!({ "session_id": sid, "license_key": k, "hwid": "HW-L" })).await;
    r.assert_status(200);
    let r = authly::call(&s, "license-file", json!({ "session_id": sid })).await;
    r.assert_status(200);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "License file issued");
    let mut fields: Vec<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["expiry", "issued", "kid", "license_file", "message", "success", "ttl"]);
    let (text, p) = check_outside(&s, &key, &r.body, "license_file", license_file::DEFAULT_TTL);
    assert_eq!((p.level, p.devices.clone()), (6, vec!["HW-L".to_string()]));
    assert_eq!(p.license.as_ref().map(|l| l.key.as_str()), Some(k.as_str()));
    assert!(license_file::verify(&text, &key, &app.id, Some("HW-L"), &now()).is_ok());

    // Account.
    let sid = authly::registered(&s, &app, "dave", PW).await;
    let r = authly::call(&s, "license-file", json!({ "session_id": sid })).await;
    r.assert_status(200);
    let (_, p) = check_outside(&s, &key, &r.body, "license_file", license_file::DEFAULT_TTL);
    assert_eq!(p.user.as_ref().map(|u| u.username.as_str()), Some("dave"));
    assert_eq!(p.devices, vec!["HWID-1".to_string()]);

    // Signed in to nothing yet, or no session at all.
    let sid = authly::init(&s, &app).await;
    let r = authly::call(&s, "license-file", json!({ "session_id": sid })).await;
    r.assert_error(401, "LOGIN_REQUIRED");
    assert_eq!(r.body["message"], "Log in first to get a license file");
    let r = authly::call(&s, "license-file", json!({})).await;
    r.assert_error(400, "MISSING_FIELDS");
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// the format document, followed by another implementation

/// docs/license-files.md's check, step by step, in Python with `cryptography`. Reads
/// `{text, pem, appId, cases: [{machine, now}]}` (now in unix seconds) and prints, for each case,
/// the payload or the name of the check that refused it.
const PY_VERIFY: &str = r#"
import base64, json, sys
from datetime import datetime, timedelta, timezone
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

BEGIN = "-----BEGIN TOLLGATE LICENSE FILE-----"
END = "-----END TOLLGATE LICENSE FILE-----"

def when(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)

def verify(text, pem, app_id, machine, now):
    text = text.strip()
    if not (text.startswith(BEGIN) and text.endswith(END)):
        return "malformed"
    body = "".join(text[len(BEGIN):-len(END)].split())
    envelope = json.loads(base64.b64decode(body, validate=True))
    if envelope["alg"] != "ed25519":
        return "alg"
    key = load_pem_public_key(pem.encode("ascii"))
    try:
        key.verify(base64.b64decode(envelope["sig"], validate=True),
                   b"tollgate-license-file/v1\n" + envelope["enc"].encode("ascii"))
    except InvalidSignature:
        return "signature"
    p = json.loads(base64.b64decode(envelope["enc"], validate=True).decode("utf-8"))
    if p["format"] != "tollgate-license-file" or p["version"] != 1:
        return "format"
    if p["appId"] != app_id:
        return "app"
    if now + timedelta(seconds=300) < when(p["issued"]):
        return "not yet valid"
    if now >= when(p["expiry"]):
        return "expired"
    if p["expiresAt"] is not None and now >= when(p["expiresAt"]):
        return "subscription ended"
    if p["devices"] and machine not in p["devices"]:
        return "machine"
    return p

req = json.load(sys.stdin)
out = []
for case in req["cases"]:
    now = datetime.fromtimestamp(case["now"], timezone.utc)
    out.append(verify(case["text"], req["pem"], req["appId"], case["machine"], now))
print(json.dumps(out))
"#;

/// A Python that can `import cryptography`, or `None` (after saying so).
async fn crypto_python() -> Option<String> {
    if let Ok(python) = std::env::var("TOLLGATE_TEST_PYTHON") {
        assert!(imports(&python, "cryptography").await, "TOLLGATE_TEST_PYTHON={python} cannot import cryptography");
        return Some(python);
    }
    if imports("python3", "cryptography").await {
        return Some("python3".into());
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "license file Python check skipped: TOLLGATE_TEST_PYTHON is unset and python3 lacks `cryptography`"
    );
    None
}

#[tokio::test]
async fn a_python_verifier_written_from_the_format_document_agrees() {
    let Some(python) = crypto_python().await else { return };
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let (_, id) = activated_key(&s, &app, json!({ "level": 7 }), "HW-P").await;
    let r = issue(&s, &app, &id, Some(json!({ "ttl": 3600 }))).await;
    r.assert_status(200);
    let text = r.data()["licenseFile"].as_str().unwrap().to_owned();
    let pem = s.get(&admin(&app, ""), &app.seller.token).await.data()["publicKeyPem"].clone();
    let t = now().timestamp();
    let case = |text: &str, machine: &str, at: i64| json!({ "text": text, "machine": machine, "now": at });
    let input = json!({
        "pem": pem,
        "appId": app.id,
        "cases": [
            case(&text, "HW-P", t),
            case(&text, "HW-Q", t),
            // `t` is whole seconds, the file's times have milliseconds.
            case(&text, "HW-P", t + 3601),
            case(&text, "HW-P", t - 3600),
            case(&tampered(&text), "HW-P", t),
        ],
    });
    let mut child = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(PY_VERIFY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    // What Python read is what the server signed.
    let (_, ours) = license_file::inspect(&text).unwrap();
    assert_eq!(got[0], serde_json::to_value(&ours).unwrap());
    assert_eq!(got[0]["level"], 7);
    assert_eq!(got[0]["expiry"], json!(rfc3339(&parse_rfc3339(&ours.expiry).unwrap())));
    assert_eq!(got[1], "machine");
    assert_eq!(got[2], "expired");
    assert_eq!(got[3], "not yet valid");
    assert_eq!(got[4], "signature");
    s.stop().await;
}
