//! The Rust SDK (`tollgate-client`) against the real server: every call it makes, the download
//! with its resume and hash check, refusals as `Error::Refused` codes. And against a fake
//! server on 127.0.0.1:0 that answers `/v1` with one defect each (unsigned, another key, a
//! body changed after signing, wrong or missing echoes, a stale signature): every one is
//! `Error::Untrusted`, whatever the body says.

use std::path::Path;

use axum::extract::Path as UrlPath;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tollgate_client::{Client, Error, LicenseFileError};
use tollgate_core::canonical::canonical_json;
use tollgate_core::integrity::signed_message;

use crate::authly::{client_app, keys, ClientApp};
use crate::file_download::upload;
use crate::harness::TestServer;

const PW: &str = "correct-horse-9";
const HWID: &str = "sdk-machine-1";

/// A client of `app` pinning this server's key, on a fixed HWID.
fn client(s: &TestServer, app: &ClientApp) -> Client {
    Client::new(&s.base, &app.id, &app.secret, s.state.signer.get().public_key_pem()).unwrap().with_hwid(HWID)
}

fn admin(app: &ClientApp, path: &str) -> String {
    format!("/v1/admin/apps/{}{path}", app.id)
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(r: Result<T, Error>, status: u16, code: &str) {
    match r {
        Err(Error::Refused { status: st, code: c, message }) => {
            assert_eq!((st, c.as_str()), (status, code), "{message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected Refused {status} {code}, got {other:?}"),
    }
}

#[track_caller]
fn assert_untrusted<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) {
    match r {
        Err(Error::Untrusted(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("expected Untrusted ({what}), got {other:?}"),
    }
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    tollgate_core::ids::fill_random(&mut v);
    v
}

async fn log_messages(s: &TestServer, app: &ClientApp) -> Vec<String> {
    let r = s.get(&admin(app, "/logs?limit=100"), &app.seller.token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().iter().filter_map(|l| l["message"].as_str().map(str::to_owned)).collect()
}

// ---------------------------------------------------------------------------------------------
// Against the real server

#[tokio::test]
async fn sdk_init_register_login_check_logout() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let c = client(&s, &app);
    assert_eq!(c.hwid(), Some(HWID));

    let info = c.init(Some("1.0"), None).await.unwrap();
    assert_eq!(info.name, app.name);
    assert_eq!(info.version, "1.0");
    assert_eq!(info.update_url, None);
    assert!(info.hwid_lock);
    assert!(!info.hash_check);

    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let reg = c.register("alice", PW, &key).await.unwrap();
    assert_eq!(reg.username.as_deref(), Some("alice"));
    assert_eq!(reg.level, 1);
    assert_eq!(reg.subscription, "Level 1");
    assert!(reg.expires_at.is_some(), "a 30-day key");
    assert!(!reg.token.is_empty());

    let login = c.login("alice", PW).await.unwrap();
    assert_ne!(login.token, reg.token, "each sign-in opens its own session");
    assert_eq!(login.username.as_deref(), Some("alice"));
    assert_eq!(login.expires_at, reg.expires_at);

    let check = c.check(&login.token).await.unwrap();
    assert_eq!(check.username.as_deref(), Some("alice"));
    assert_eq!(check.level, 1);
    assert_eq!(check.expires_at, reg.expires_at);

    // The account is bound to this HWID.
    let r = s.get(&admin(&app, "/users"), &app.seller.token).await;
    assert_eq!(r.data()[0]["devices"], json!([HWID]), "{}", r.body);

    c.logout(&login.token).await.unwrap();
    assert_refused(c.check(&login.token).await, 401, "INVALID_SESSION");
    // The other session is untouched.
    assert_eq!(c.check(&reg.token).await.unwrap().username.as_deref(), Some("alice"));
}

#[tokio::test]
async fn sdk_license_sign_in_and_refusals() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let c = client(&s, &app);

    let key = keys(&s, &app, 1, json!({ "level": 2 })).await.remove(0);
    let session = c.license(&key).await.unwrap();
    assert_eq!(session.username, None);
    assert_eq!(session.level, 2);
    let check = c.check(&session.token).await.unwrap();
    assert_eq!((check.username, check.level), (None, 2));
    // The same key signs in again on the same machine, not on another.
    c.license(&key).await.unwrap();
    let other = client(&s, &app).with_hwid("another-machine");
    assert_refused(other.license(&key).await, 403, "DEVICE_LIMIT_REACHED");

    assert_refused(c.license("NOPE-NOPE-NOPE-NOPE").await, 401, "LICENSE_NOT_FOUND");
    assert_refused(c.register("bob", PW, &key).await, 401, "LICENSE_IN_USE");
    let key2 = keys(&s, &app, 2, json!({})).await;
    c.register("bob", PW, &key2[0]).await.unwrap();
    assert_refused(c.register("bob", PW, &key2[1]).await, 409, "USERNAME_TAKEN");
    assert_refused(c.login("bob", "wrong-password-1").await, 401, "INVALID_CREDENTIALS");
    assert_refused(c.login("nobody", PW).await, 401, "INVALID_CREDENTIALS");
    assert_refused(c.login("", PW).await, 400, "MISSING_FIELDS");
    assert_refused(c.check("not-a-session").await, 401, "INVALID_SESSION");

    // Wrong app credentials are refused, signed.
    let bad = Client::new(&s.base, &app.id, "wrong-api-key", s.state.signer.get().public_key_pem()).unwrap();
    assert_refused(bad.init(None, None).await, 401, "INVALID_SECRET");
    let unknown = Client::new(&s.base, "app_unknown", &app.secret, s.state.signer.get().public_key_pem()).unwrap();
    assert_refused(unknown.init(None, None).await, 404, "APP_NOT_FOUND");
}

#[tokio::test]
async fn sdk_variables_and_log() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let c = client(&s, &app);
    let body = json!({ "key": "motd", "value": "hello, world", "readOnly": true, "authRequired": false });
    s.post(&admin(&app, "/variables"), &app.seller.token, body).await.assert_status(201);
    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let t = c.register("carol", PW, &key).await.unwrap().token;

    assert_eq!(c.variable(&t, "motd").await.unwrap(), "hello, world");
    assert_refused(c.variable(&t, "nope").await, 404, "VARIABLE_NOT_FOUND");

    assert_refused(c.user_variable(&t, "theme").await, 404, "VARIABLE_NOT_FOUND");
    c.set_user_variable(&t, "theme", "dark").await.unwrap();
    assert_eq!(c.user_variable(&t, "theme").await.unwrap(), "dark");
    c.set_user_variable(&t, "theme", "").await.unwrap();
    assert_eq!(c.user_variable(&t, "theme").await.unwrap(), "");
    assert_refused(c.set_user_variable(&t, "motd", "x").await, 403, "VARIABLE_READ_ONLY");

    c.log(&t, "started from the SDK").await.unwrap();
    let logs = s.get(&admin(&app, "/logs"), &app.seller.token).await;
    assert_eq!(logs.data()[0]["message"], "started from the SDK", "{}", logs.body);
    assert_eq!(logs.data()[0]["username"], "carol", "{}", logs.body);
    assert_refused(c.log(&t, &"x".repeat(5000)).await, 400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn sdk_file_download_resume_and_integrity() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let c = client(&s, &app);
    let data = random_bytes(300_000);
    let id = upload(&s, &app, "payload.bin", &data, 1).await;
    let high = upload(&s, &app, "high.bin", b"secret", 5).await;
    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let t = c.license(&key).await.unwrap().token;
    let dir = tempfile::tempdir().unwrap();

    let info = c.file(&t, &id).await.unwrap();
    assert_eq!((info.id.as_str(), info.name.as_str(), info.size), (id.as_str(), "payload.bin", 300_000));
    assert_eq!(info.sha256, sha_hex(&data));
    assert_refused(c.file(&t, &high).await, 403, "LEVEL_TOO_LOW");
    assert_refused(c.file(&t, "file_nope").await, 404, "FILE_NOT_FOUND");

    // A whole download.
    let dest = dir.path().join("whole.bin");
    let got = c.download(&t, &id, &dest).await.unwrap();
    assert_eq!(got.sha256, sha_hex(&data));
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert!(!part(&dest).exists());

    // A `.part` holding the right first 100,000 bytes: only the rest is fetched (one ranged
    // download in the logs), and the file completes to the right hash.
    let dest = dir.path().join("resumed.bin");
    std::fs::write(part(&dest), &data[..100_000]).unwrap();
    c.download(&t, &id, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert!(!part(&dest).exists());
    let logs = log_messages(&s, &app).await;
    assert!(logs.contains(&"file.download payload.bin bytes 100000-299999/300000".to_owned()), "{logs:?}");

    // A `.part` whose prefix is wrong: resumed (so the wrong bytes stay in the hash), refused,
    // nothing at dest and the `.part` deleted; the next attempt starts over and succeeds.
    let dest = dir.path().join("tampered.bin");
    let mut wrong = data[..100_000].to_vec();
    wrong[5] ^= 0xff;
    std::fs::write(part(&dest), &wrong).unwrap();
    match c.download(&t, &id, &dest).await {
        Err(Error::Integrity { expected, actual }) => {
            assert_eq!(expected, sha_hex(&data));
            let mut whole = wrong.clone();
            whole.extend_from_slice(&data[100_000..]);
            assert_eq!(actual, sha_hex(&whole), "the resumed prefix was hashed, then the ranged rest");
        }
        other => panic!("expected Integrity, got {other:?}"),
    }
    assert!(!dest.exists());
    assert!(!part(&dest).exists());
    c.download(&t, &id, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);

    // A `.part` that is already whole is checked and renamed without a request.
    let dest = dir.path().join("complete.bin");
    std::fs::write(part(&dest), &data).unwrap();
    let before = log_messages(&s, &app).await.len();
    c.download(&t, &id, &dest).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(log_messages(&s, &app).await.len(), before, "no download request");

    // After logout the file call is refused, and nothing is written.
    c.logout(&t).await.unwrap();
    let dest = dir.path().join("after-logout.bin");
    assert_refused(c.download(&t, &id, &dest).await, 401, "INVALID_SESSION");
    assert!(!dest.exists() && !part(&dest).exists());
}

fn part(dest: &Path) -> std::path::PathBuf {
    let mut name = dest.file_name().unwrap().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

#[tokio::test]
async fn sdk_pinning_another_key_refuses_the_real_server() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let c = Client::new(&s.base, &app.id, &app.secret, &fake_pem()).unwrap();
    assert_untrusted(c.init(None, None).await, "does not verify");
    // Refusals are checked the same way: a wrong API key does not come back as Refused.
    let c = Client::new(&s.base, &app.id, "wrong", &fake_pem()).unwrap();
    assert_untrusted(c.init(None, None).await, "does not verify");
}

#[tokio::test]
async fn sdk_bad_configuration_is_refused_at_new() {
    let pem = fake_pem();
    let config = |r: Result<Client, Error>| matches!(r, Err(Error::Config(_)));
    assert!(config(Client::new("http://127.0.0.1:1", "app", "key", "garbage")));
    assert!(config(Client::new("http://127.0.0.1:1", "app", "key", "")));
    // A PEM of the right shape holding something that is not an Ed25519 key (a P-256 key).
    let p256 = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\nq9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n-----END PUBLIC KEY-----\n";
    assert!(config(Client::new("http://127.0.0.1:1", "app", "key", p256)));
    assert!(config(Client::new("ftp://127.0.0.1:1", "app", "key", &pem)));
    assert!(config(Client::new("not a url", "app", "key", &pem)));
    assert!(config(Client::new("http://127.0.0.1:1", " ", "key", &pem)));
    // The same key with its line breaks written as `\n` (copied out of JSON) is accepted.
    assert!(Client::new("http://127.0.0.1:1/", "app", "key", &pem.replace('\n', "\\n")).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Against a fake server

/// The fake server's signing key; [`fake_pem`] is its public key.
fn fake_key() -> SigningKey {
    SigningKey::from_bytes(&[41u8; 32])
}

fn fake_pem() -> String {
    fake_key().verifying_key().to_public_key_pem(LineEnding::LF).unwrap()
}

/// What the fake download route serves, and the SHA-256 its signed `file` answer names.
const FAKE_FILE: &[u8] = b"the real program, 32 bytes long.";
const FAKE_SESSION: &str = "fake-session-token";

/// `POST /{mode}/v1`: an `init` success (or for `error-unsigned` a refusal) answered with the
/// defect `mode` names; `good` answers correctly. A `file` call is answered, correctly signed,
/// with the download URL `/files/f1` under the base (for `foreign-url`, on another host).
async fn fake_v1(UrlPath(mode): UrlPath<String>, headers: HeaderMap, axum::Json(req): axum::Json<Value>) -> Response {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (rid, nonce) = (h("x-request-id"), h("x-auth-nonce"));
    assert_eq!(nonce.len(), 32, "a 32-hex nonce");
    assert!(h("x-auth-timestamp").parse::<i64>().is_ok());
    let (status, body) = if req["type"] == "file" {
        assert_eq!(req["sessionToken"], FAKE_SESSION);
        let url = if mode == "foreign-url" {
            format!("//127.0.0.1:9/files/f1?token={FAKE_SESSION}")
        } else {
            // Relative to the client's base URL, which ends in `/{mode}`.
            format!("/files/f1?token={FAKE_SESSION}")
        };
        let data =
            json!({ "name": "app.bin", "size": FAKE_FILE.len(), "sha256": sha_hex(FAKE_FILE), "downloadUrl": url });
        (StatusCode::OK, json!({ "success": true, "data": data }))
    } else if mode == "error-unsigned" {
        (StatusCode::UNAUTHORIZED, json!({ "success": false, "message": "Invalid API key", "code": "INVALID_SECRET" }))
    } else {
        let data =
            json!({ "name": "Forged", "version": "9.9", "updateUrl": null, "hwidLock": false, "hashCheck": false });
        (StatusCode::OK, json!({ "success": true, "message": "App initialized", "data": data }))
    };
    let now = tollgate_core::time::to_millis(&tollgate_core::time::now());
    let ts = if mode == "stale" { now - 10 * 60 * 1000 } else { now }.to_string();
    let key = if mode == "other-key" { SigningKey::from_bytes(&[7u8; 32]) } else { fake_key() };
    let signature = B64.encode(key.sign(signed_message(&ts, &rid, &nonce, &body).as_bytes()).to_bytes());
    let mut sent = body.clone();
    if mode == "tampered" {
        sent["data"]["hwidLock"] = json!(true);
    }
    let mut res = (status, canonical_json(&sent)).into_response();
    let out = res.headers_mut();
    out.insert("content-type", HeaderValue::from_static("application/json"));
    let mut set = |name: &'static str, v: &str| {
        out.insert(name, HeaderValue::from_str(v).unwrap());
    };
    match mode.as_str() {
        "wrong-request-id" => set("x-v2-request-id", "another-request"),
        "missing-echo" => {}
        "missing-request-id" => set("x-v2-nonce", &nonce),
        "missing-nonce" => set("x-v2-request-id", &rid),
        _ => set("x-v2-request-id", &rid),
    }
    match mode.as_str() {
        "wrong-nonce" => set("x-v2-nonce", "00000000000000000000000000000000"),
        "missing-echo" | "missing-request-id" | "missing-nonce" => {}
        _ => set("x-v2-nonce", &nonce),
    }
    if !matches!(mode.as_str(), "unsigned" | "error-unsigned") {
        set("x-v2-signature-ts", &ts);
        set("x-v2-signature", &signature);
    }
    res
}

/// `GET /{mode}/files/f1`: the file's bytes, only for the session token in `X-Session-Token`
/// and none in the query; `wrong-bytes` serves other bytes of the same length, `too-long`
/// serves more than the signed size.
async fn fake_download(
    UrlPath(mode): UrlPath<String>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let token = headers.get("x-session-token").and_then(|v| v.to_str().ok());
    if token != Some(FAKE_SESSION) || query.is_some_and(|q| q.contains("token")) {
        return (StatusCode::BAD_REQUEST, "the token belongs in X-Session-Token only").into_response();
    }
    match mode.as_str() {
        "wrong-bytes" => FAKE_FILE.to_ascii_uppercase().into_response(),
        "too-long" => [FAKE_FILE, b"and then some"].concat().into_response(),
        _ => FAKE_FILE.to_vec().into_response(),
    }
}

/// The fake server on 127.0.0.1:0; its base URL.
async fn fake_server() -> String {
    let router = axum::Router::new()
        .route("/{mode}/v1", axum::routing::post(fake_v1))
        .route("/{mode}/files/f1", axum::routing::get(fake_download));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn fake_client(base: &str, mode: &str) -> Client {
    Client::new(&format!("{base}/{mode}"), "app_fake", "ak_fake", &fake_pem()).unwrap()
}

#[tokio::test]
async fn sdk_refuses_every_answer_that_does_not_verify() {
    let base = fake_server().await;
    // The control: the fake server's correct answer is accepted, so each refusal below is the
    // defect's doing.
    let app = fake_client(&base, "good").init(None, None).await.unwrap();
    assert_eq!((app.name.as_str(), app.version.as_str(), app.hwid_lock), ("Forged", "9.9", false));

    for (mode, why) in [
        ("unsigned", "not signed"),
        ("other-key", "does not verify"),
        ("tampered", "does not verify"),
        ("wrong-request-id", "another request id"),
        ("wrong-nonce", "another nonce"),
        ("missing-echo", "does not echo the request id"),
        ("missing-request-id", "does not echo the request id"),
        ("missing-nonce", "does not echo the nonce"),
        // A refusal that is not signed is not a refusal: the code in it is never read.
        ("error-unsigned", "not signed"),
        ("stale", "away from this machine's clock"),
    ] {
        let r = fake_client(&base, mode).init(None, None).await;
        assert!(matches!(r, Err(Error::Untrusted(_))), "{mode}: {r:?}");
        assert_untrusted(r, why);
    }
    // The clock check can be turned off for machines whose clock is wrong; the signature is
    // still checked.
    let lax = fake_client(&base, "stale").with_max_clock_skew(None);
    assert_eq!(lax.init(None, None).await.unwrap().name, "Forged");
    let lax = fake_client(&base, "tampered").with_max_clock_skew(None);
    assert_untrusted(lax.init(None, None).await, "does not verify");
}

#[tokio::test]
async fn sdk_download_trusts_only_the_signed_hash_and_the_server() {
    let base = fake_server().await;
    let dir = tempfile::tempdir().unwrap();

    let dest = dir.path().join("good.bin");
    let info = fake_client(&base, "good").download(FAKE_SESSION, "f1", &dest).await.unwrap();
    assert_eq!((info.name.as_str(), info.size), ("app.bin", FAKE_FILE.len() as u64));
    assert_eq!(std::fs::read(&dest).unwrap(), FAKE_FILE);

    // Other bytes than the signed hash names: nothing at dest, no `.part` left.
    let dest = dir.path().join("wrong.bin");
    match fake_client(&base, "wrong-bytes").download(FAKE_SESSION, "f1", &dest).await {
        Err(Error::Integrity { expected, actual }) => {
            assert_eq!(expected, sha_hex(FAKE_FILE));
            assert_eq!(actual, sha_hex(&FAKE_FILE.to_ascii_uppercase()));
        }
        other => panic!("expected Integrity, got {other:?}"),
    }
    assert!(!dest.exists() && !part(&dest).exists());

    // More bytes than the signed size: stopped, nothing kept.
    let dest = dir.path().join("long.bin");
    let r = fake_client(&base, "too-long").download(FAKE_SESSION, "f1", &dest).await;
    assert!(matches!(r, Err(Error::Protocol(_))), "{r:?}");
    assert!(!dest.exists() && !part(&dest).exists());

    // A download URL on another host: the session token is not sent there.
    let dest = dir.path().join("foreign.bin");
    let r = fake_client(&base, "foreign-url").download(FAKE_SESSION, "f1", &dest).await;
    assert!(matches!(r, Err(Error::Protocol(_))), "{r:?}");
    assert!(!dest.exists() && !part(&dest).exists());
}

// ---------------------------------------------------------------------------------------------
// License files

#[tokio::test]
async fn sdk_license_file_verifies_offline() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let c = client(&s, &app);
    let key = keys(&s, &app, 1, json!({ "level": 3 })).await.remove(0);
    let t = c.license(&key).await.unwrap().token;

    let issued = c.issue_license_file(&t).await.unwrap();
    assert_eq!(issued.kid, s.state.signer.get().kid());
    assert!(issued.ttl > 0);
    let text = c.license_file(&t).await.unwrap();
    let lf = c.verify_license_file(&text).unwrap();
    assert_eq!((lf.app_id.as_str(), lf.level), (app.id.as_str(), 3));
    assert_eq!(lf.devices, vec![HWID.to_owned()]);
    assert_eq!(lf.license.as_ref().map(|l| l.key.as_str()), Some(key.as_str()));

    // Another machine, another app, another pinned key: refused with no network.
    let other_machine = client(&s, &app).with_hwid("another-machine");
    assert!(matches!(
        other_machine.verify_license_file(&text),
        Err(Error::LicenseFile(LicenseFileError::WrongMachine))
    ));
    let other_app = Client::new(&s.base, "app_other", &app.secret, s.state.signer.get().public_key_pem()).unwrap();
    assert!(matches!(
        other_app.with_hwid(HWID).verify_license_file(&text),
        Err(Error::LicenseFile(LicenseFileError::WrongApp))
    ));
    let other_key = Client::new(&s.base, &app.id, &app.secret, &fake_pem()).unwrap().with_hwid(HWID);
    assert!(matches!(other_key.verify_license_file(&text), Err(Error::LicenseFile(LicenseFileError::BadSignature))));

    // Tampered: one more level in the payload, re-armoured with the old signature.
    let (_, mut payload) = tollgate_core::license_file::inspect(&text).unwrap();
    payload.level = 9;
    let forged = tollgate_core::license_file::issue(&payload, "k1", |_| [0u8; 64]);
    assert!(matches!(c.verify_license_file(&forged), Err(Error::LicenseFile(LicenseFileError::BadSignature))));
    assert!(matches!(c.verify_license_file("garbage"), Err(Error::LicenseFile(LicenseFileError::Malformed(_)))));

    // Expired: the same entitlement signed by the server's own key, with a past expiry.
    let (_, mut payload) = tollgate_core::license_file::inspect(&text).unwrap();
    let past = tollgate_core::time::now() - chrono::Duration::days(10);
    (payload.issued, payload.expiry) = tollgate_core::license_file::validity(&past, 3600);
    payload.ttl = 3600;
    let expired = s.state.signer.get().sign_license_file(&payload);
    assert!(matches!(c.verify_license_file(&expired), Err(Error::LicenseFile(LicenseFileError::Expired(_)))));

    // After logout, no new file.
    c.logout(&t).await.unwrap();
    assert_refused(c.license_file(&t).await, 401, "INVALID_SESSION");
}
