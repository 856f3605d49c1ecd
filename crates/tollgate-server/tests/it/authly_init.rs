//! Authly v2 `init` over HTTP: every row of the init error table with its
//! exact body, the pipeline's order step by step, version control's bodies, the success body,
//! the session quota, and which address is the caller's behind a proxy. Every answer's signature
//! is checked by the test client.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Map, Value};
use tempfile::TempDir;

use crate::authly::{self, call, client_app, init, settings, ClientApp};
use crate::harness::{Resp, TestServer};
use crate::mmdb::{self, Layout};

/// An approved executable hash (lowercase hex, as stored).
pub const HASH: &str = "3f2c1a0b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";

// Authly v2's documented init errors: status, code, exact message.
type Row = (u16, &'static str, &'static str);
const MISSING_FIELDS: Row = (400, "MISSING_FIELDS", "Required fields are missing");
const OWNER_NOT_FOUND: Row = (404, "OWNER_NOT_FOUND", "Owner not found");
const APP_NOT_FOUND: Row = (404, "APP_NOT_FOUND", "Application not found");
const APP_DISABLED: Row = (403, "APP_DISABLED", "This application is currently disabled");
const IP_BLOCKED: Row = (403, "IP_BLOCKED", "Access denied from this IP address");
const IP_NOT_WHITELISTED: Row = (403, "IP_NOT_WHITELISTED", "IP address is not whitelisted");
const VPN_BLOCKED: Row = (403, "VPN_BLOCKED", "VPN/proxy connections are not allowed");
const COUNTRY_BLOCKED: Row = (403, "COUNTRY_BLOCKED", "Access denied from this location");
const HASH_REQUIRED: Row = (400, "HASH_REQUIRED", "Hash is required for this application");
const INVALID_HASH: Row = (401, "INVALID_HASH", "Hash does not match");
const INVALID_SECRET: Row = (401, "INVALID_SECRET", "Invalid secret key");
const UPDATE_REQUIRED: Row = (426, "UPDATE_REQUIRED", "Please update your app to the latest version");
const VERSION_MISMATCH: Row = (426, "VERSION_MISMATCH", "This app version is not supported by the developer");
const SESSION_LIMIT_REACHED: Row = (403, "SESSION_LIMIT_REACHED", "This application has reached its session limit");

/// The answer is exactly Authly v2's error body for `row`.
#[track_caller]
pub fn assert_row(r: &Resp, (status, code, message): Row) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.body, json!({ "success": false, "code": code, "message": message }));
}

/// `base` with the fields of `patch` set (a `null` in the patch sets null, it does not remove).
pub fn with(base: Value, patch: Value) -> Value {
    let (Value::Object(mut b), Value::Object(p)) = (base, patch) else { panic!("objects only") };
    b.extend(p);
    Value::Object(b)
}

/// `base` without `field`.
pub fn without(base: Value, field: &str) -> Value {
    let Value::Object(mut b) = base else { panic!("objects only") };
    b.remove(field);
    Value::Object(b)
}

/// Init with the app's body changed by `patch`.
async fn init_with(s: &TestServer, app: &ClientApp, patch: Value) -> Resp {
    call(s, "init", with(app.init_body(), patch)).await
}

/// The app's live sessions, through the admin API.
pub async fn sessions(s: &TestServer, app: &ClientApp) -> Vec<Value> {
    let r = s.get(&format!("/v1/admin/apps/{}/sessions", app.id), &app.seller.token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().clone()
}

/// Add an IP blacklist entry (an address or a CIDR); returns its id.
pub async fn blacklist_ip(s: &TestServer, app: &ClientApp, value: &str) -> String {
    let r = s
        .post(
            &format!("/v1/admin/apps/{}/blacklist", app.id),
            &app.seller.token,
            json!({ "type": "IP", "value": value, "reason": "test" }),
        )
        .await;
    r.assert_status(201);
    r.data()["id"].as_str().unwrap().to_owned()
}

async fn unblacklist(s: &TestServer, app: &ClientApp, id: &str) {
    s.delete(&format!("/v1/admin/apps/{}/blacklist/{id}", app.id), &app.seller.token).await.assert_status(200);
}

/// A server whose VPN ranges and/or country database put 127.0.0.0/8 (every test caller) in a
/// VPN range and in `country`. The files' directory must outlive the server.
async fn net_server(vpn: bool, country: Option<(&str, Layout)>) -> (TestServer, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let vpn_file = vpn.then(|| {
        let path = dir.path().join("vpn.txt");
        std::fs::write(&path, "# loopback counts as a VPN exit here\n127.0.0.0/8\n").unwrap();
        path.display().to_string()
    });
    let geo_file = country.map(|(code, layout)| {
        let path = dir.path().join("country.mmdb");
        mmdb::write_country_db(&path, &[("127.0.0.0/8", code), ("198.51.100.0/24", "ZZ")], layout);
        path.display().to_string()
    });
    let s = TestServer::start_with(|c| {
        c.vpn_ranges = vpn_file;
        c.geoip_db = geo_file;
    })
    .await;
    (s, dir)
}

/// `call` with extra request headers (forwarding headers).
async fn call_with_headers(s: &TestServer, body: Value, extra: &[(&'static str, &str)]) -> Resp {
    let (request_id, nonce, ts) = authly::fresh_meta();
    let body = with(body, json!({ "request_id": request_id, "nonce": nonce, "timestamp": ts }));
    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", request_id.parse().unwrap());
    headers.insert("x-auth-nonce", nonce.parse().unwrap());
    for (name, value) in extra {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_str(value).unwrap());
    }
    let r = authly::send(s, "init", serde_json::to_vec(&body).unwrap(), headers).await;
    authly::assert_signed(s, &r, &request_id, &nonce);
    r
}

// ---------------------------------------------------------------------------------------------
// The error table, row by row

#[tokio::test]
async fn each_required_field_missing_null_or_blank() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    for field in ["owner_id", "app_name", "secret", "version"] {
        let r = call(&s, "init", without(app.init_body(), field)).await;
        assert_row(&r, MISSING_FIELDS);
        for blank in [Value::Null, json!(""), json!("   ")] {
            let r = init_with(&s, &app, json!({ field: blank })).await;
            assert_row(&r, MISSING_FIELDS);
        }
    }
    // every field missing at once, and an empty object
    assert_row(&call(&s, "init", json!({})).await, MISSING_FIELDS);
    assert!(sessions(&s, &app).await.is_empty(), "no refused init opened a session");
    // the hash is optional: absent, null or blank is fine while hash checking is off
    for hash in [Value::Null, json!("")] {
        init_with(&s, &app, json!({ "hash": hash })).await.assert_status(200);
    }
    call(&s, "init", without(app.init_body(), "hash")).await.assert_status(200);
}

#[tokio::test]
async fn unknown_owner_and_unknown_app() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let other = client_app(&s).await;

    let r = init_with(&s, &app, json!({ "owner_id": "seller_0000000000000000" })).await;
    assert_row(&r, OWNER_NOT_FOUND);
    // an owner id that is not even shaped like one
    assert_row(&init_with(&s, &app, json!({ "owner_id": "12345678" })).await, OWNER_NOT_FOUND);

    assert_row(&init_with(&s, &app, json!({ "app_name": "No Such App" })).await, APP_NOT_FOUND);
    // another seller's app is not under this owner, even with its own secret
    let r = init_with(&s, &app, json!({ "app_name": other.name, "secret": other.secret })).await;
    assert_row(&r, APP_NOT_FOUND);
}

#[tokio::test]
async fn app_names_are_case_sensitive() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    // found once (and cached) under its exact name...
    init(&s, &app).await;
    // ...but never under another spelling
    for name in [app.name.to_lowercase(), app.name.to_uppercase(), format!("{} ", app.name), format!(" {}", app.name)] {
        assert_ne!(name, app.name);
        assert_row(&init_with(&s, &app, json!({ "app_name": name })).await, APP_NOT_FOUND);
    }
}

#[tokio::test]
async fn renamed_and_deleted_apps() {
    let s = TestServer::start().await;
    let mut app = client_app(&s).await;
    // cached under its first name...
    init(&s, &app).await;
    let old = app.name.clone();
    app.name = format!("{old} v2");
    settings(&s, &app, json!({ "name": app.name })).await;
    // ...which no longer finds it
    assert_row(&init_with(&s, &app, json!({ "app_name": old })).await, APP_NOT_FOUND);
    init(&s, &app).await;
    s.delete(&format!("/v1/admin/apps/{}", app.id), &app.seller.token).await.assert_status(200);
    // the owner is still there, the app is not
    assert_row(&call(&s, "init", app.init_body()).await, APP_NOT_FOUND);
}

#[tokio::test]
async fn disabled_and_paused_apps_are_refused() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    for status in ["DISABLED", "PAUSED"] {
        settings(&s, &app, json!({ "status": status })).await;
        assert_row(&call(&s, "init", app.init_body()).await, APP_DISABLED);
        settings(&s, &app, json!({ "status": "ACTIVE" })).await;
        init(&s, &app).await;
    }
}

#[tokio::test]
async fn blacklisted_address_and_range() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    // an entry that does not cover the caller changes nothing
    blacklist_ip(&s, &app, "10.0.0.0/8").await;
    init(&s, &app).await;

    let id = blacklist_ip(&s, &app, "127.0.0.1").await;
    assert_row(&call(&s, "init", app.init_body()).await, IP_BLOCKED);
    unblacklist(&s, &app, &id).await;
    init(&s, &app).await;

    let id = blacklist_ip(&s, &app, "127.0.0.0/8").await;
    assert_row(&call(&s, "init", app.init_body()).await, IP_BLOCKED);
    unblacklist(&s, &app, &id).await;
    init(&s, &app).await;

    // another app's blacklist is not this app's
    let other = client_app(&s).await;
    blacklist_ip(&s, &other, "127.0.0.1").await;
    init(&s, &app).await;
    assert_row(&call(&s, "init", other.init_body()).await, IP_BLOCKED);
}

#[tokio::test]
async fn ip_whitelist() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "ipWhitelist": ["10.0.0.0/8", "192.0.2.1"] })).await;
    assert_row(&call(&s, "init", app.init_body()).await, IP_NOT_WHITELISTED);
    settings(&s, &app, json!({ "ipWhitelist": ["10.0.0.0/8", "127.0.0.1"] })).await;
    init(&s, &app).await;
    settings(&s, &app, json!({ "ipWhitelist": ["127.0.0.0/8"] })).await;
    init(&s, &app).await;
    // an empty whitelist is no whitelist
    settings(&s, &app, json!({ "ipWhitelist": [] })).await;
    init(&s, &app).await;
}

#[tokio::test]
async fn vpn_blocking() {
    let (s, _files) = net_server(true, None).await;
    let app = client_app(&s).await;
    // the caller is in the VPN ranges, but blocking is off
    init(&s, &app).await;
    settings(&s, &app, json!({ "blockVpn": true })).await;
    assert_row(&call(&s, "init", app.init_body()).await, VPN_BLOCKED);
    settings(&s, &app, json!({ "blockVpn": false })).await;
    init(&s, &app).await;

    // without VPN ranges configured nobody is a VPN
    let plain = TestServer::start().await;
    let app = client_app(&plain).await;
    settings(&plain, &app, json!({ "blockVpn": true })).await;
    init(&plain, &app).await;
}

#[tokio::test]
async fn country_blocking_in_both_database_layouts() {
    for layout in [Layout::MaxMind, Layout::CountryCode] {
        let (s, _files) = net_server(false, Some(("DE", layout))).await;
        let app = client_app(&s).await;
        settings(&s, &app, json!({ "blockedCountries": ["FR", "US"] })).await;
        init(&s, &app).await;
        settings(&s, &app, json!({ "blockedCountries": ["FR", "DE"] })).await;
        let r = call(&s, "init", app.init_body()).await;
        assert_row(&r, COUNTRY_BLOCKED);
        // codes are stored upper-case, whatever the seller typed
        settings(&s, &app, json!({ "blockedCountries": ["de"] })).await;
        assert_row(&call(&s, "init", app.init_body()).await, COUNTRY_BLOCKED);
        settings(&s, &app, json!({ "blockedCountries": [] })).await;
        init(&s, &app).await;
    }
    // without a country database the caller's country is unknown, and unknown passes
    let plain = TestServer::start().await;
    let app = client_app(&plain).await;
    settings(&plain, &app, json!({ "blockedCountries": ["DE"] })).await;
    init(&plain, &app).await;
}

#[tokio::test]
async fn hash_checking() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    // off: any hash, or none, is ignored
    init_with(&s, &app, json!({ "hash": "not a hash at all" })).await.assert_status(200);

    settings(&s, &app, json!({ "hashCheck": true, "hashes": [HASH] })).await;
    assert_row(&init_with(&s, &app, json!({ "hash": "" })).await, HASH_REQUIRED);
    assert_row(&init_with(&s, &app, json!({ "hash": "  " })).await, HASH_REQUIRED);
    assert_row(&init_with(&s, &app, json!({ "hash": null })).await, HASH_REQUIRED);
    assert_row(&call(&s, "init", without(app.init_body(), "hash")).await, HASH_REQUIRED);
    assert_row(&init_with(&s, &app, json!({ "hash": "ab".repeat(32) })).await, INVALID_HASH);
    assert_row(&init_with(&s, &app, json!({ "hash": &HASH[..63] })).await, INVALID_HASH);
    init_with(&s, &app, json!({ "hash": HASH })).await.assert_status(200);
    init_with(&s, &app, json!({ "hash": HASH.to_uppercase() })).await.assert_status(200);

    // turned off again, the approved list no longer matters
    settings(&s, &app, json!({ "hashCheck": false })).await;
    init_with(&s, &app, json!({ "hash": "deadbeef" })).await.assert_status(200);
}

#[tokio::test]
async fn wrong_secret() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let other = client_app(&s).await;
    // The secret with its last character changed (to one it is not).
    let last = if app.secret.ends_with('x') { 'y' } else { 'x' };
    let near = format!("{}{last}", &app.secret[..app.secret.len() - 1]);
    for secret in [near, other.secret.clone(), app.secret.to_uppercase(), format!("{} ", app.secret), "as_".into()] {
        assert_ne!(secret, app.secret);
        assert_row(&init_with(&s, &app, json!({ "secret": secret })).await, INVALID_SECRET);
    }
    assert!(sessions(&s, &app).await.is_empty());
    // a regenerated secret: the old one is refused, the new one works
    init(&s, &app).await;
    let r = s.post(&format!("/v1/admin/apps/{}/regenerate-key", app.id), &app.seller.token, json!({})).await;
    r.assert_status(200);
    let new = r.data()["apiKey"].as_str().unwrap().to_owned();
    assert_row(&call(&s, "init", app.init_body()).await, INVALID_SECRET);
    init_with(&s, &app, json!({ "secret": new })).await.assert_status(200);
}

// ---------------------------------------------------------------------------------------------
// The order of the steps

/// How a pipeline case removes its first failure, to show the second one was really there.
enum Fix {
    Settings(Value),
    Unblacklist,
    Body(Value),
}

struct Case {
    steps: &'static str,
    settings: Value,
    blacklisted: bool,
    body: Value,
    first: Row,
    fix: Fix,
    second: Row,
}

#[tokio::test]
async fn the_earlier_of_two_failing_steps_answers() {
    // 127.0.0.0/8 is in the VPN ranges and in DE.
    let (s, _files) = net_server(true, Some(("DE", Layout::MaxMind))).await;
    let wrong_hash = "ab".repeat(32);
    let cases = [
        Case {
            steps: "4/5",
            settings: json!({ "status": "DISABLED" }),
            blacklisted: true,
            body: json!({}),
            first: APP_DISABLED,
            fix: Fix::Settings(json!({ "status": "ACTIVE" })),
            second: IP_BLOCKED,
        },
        Case {
            steps: "5/6",
            settings: json!({ "ipWhitelist": ["10.0.0.0/8"] }),
            blacklisted: true,
            body: json!({}),
            first: IP_BLOCKED,
            fix: Fix::Unblacklist,
            second: IP_NOT_WHITELISTED,
        },
        Case {
            steps: "6/7",
            settings: json!({ "ipWhitelist": ["10.0.0.0/8"], "blockVpn": true }),
            blacklisted: false,
            body: json!({}),
            first: IP_NOT_WHITELISTED,
            fix: Fix::Settings(json!({ "ipWhitelist": [] })),
            second: VPN_BLOCKED,
        },
        Case {
            steps: "7/8",
            settings: json!({ "blockVpn": true, "blockedCountries": ["DE"] }),
            blacklisted: false,
            body: json!({}),
            first: VPN_BLOCKED,
            fix: Fix::Settings(json!({ "blockVpn": false })),
            second: COUNTRY_BLOCKED,
        },
        Case {
            steps: "8/9a",
            settings: json!({ "blockedCountries": ["DE"], "hashCheck": true, "hashes": [HASH] }),
            blacklisted: false,
            body: json!({ "hash": "" }),
            first: COUNTRY_BLOCKED,
            fix: Fix::Settings(json!({ "blockedCountries": [] })),
            second: HASH_REQUIRED,
        },
        // A missing hash cannot also be a wrong one: it is "required", never "does not match".
        Case {
            steps: "9a/9b",
            settings: json!({ "hashCheck": true, "hashes": [HASH] }),
            blacklisted: false,
            body: json!({ "hash": "" }),
            first: HASH_REQUIRED,
            fix: Fix::Body(json!({ "hash": wrong_hash })),
            second: INVALID_HASH,
        },
        Case {
            steps: "9b/10",
            settings: json!({ "hashCheck": true, "hashes": [HASH] }),
            blacklisted: false,
            body: json!({ "hash": wrong_hash, "secret": "as_wrong" }),
            first: INVALID_HASH,
            fix: Fix::Body(json!({ "hash": HASH })),
            second: INVALID_SECRET,
        },
        Case {
            steps: "10/11",
            settings: json!({ "version": "1.3", "versionControl": { "enabled": true } }),
            blacklisted: false,
            body: json!({ "secret": "as_wrong", "version": "1.1" }),
            first: INVALID_SECRET,
            fix: Fix::Body(json!({ "secret": null })),
            second: UPDATE_REQUIRED,
        },
    ];
    for case in cases {
        let app = client_app(&s).await;
        settings(&s, &app, case.settings.clone()).await;
        let entry = if case.blacklisted { Some(blacklist_ip(&s, &app, "127.0.0.1").await) } else { None };
        let body = with(app.init_body(), case.body.clone());
        let r = call(&s, "init", body.clone()).await;
        assert_eq!(r.code(), case.first.1, "steps {}: {}", case.steps, r.body);
        assert_row(&r, case.first);

        let body = match case.fix {
            Fix::Settings(patch) => {
                settings(&s, &app, patch).await;
                body
            }
            Fix::Unblacklist => {
                unblacklist(&s, &app, entry.as_deref().unwrap()).await;
                body
            }
            // a null restores the app's own value
            Fix::Body(patch) => {
                let own = app.init_body();
                let Value::Object(p) = patch else { unreachable!() };
                let restored: Map<String, Value> = p
                    .into_iter()
                    .map(|(k, v)| if v.is_null() { (k.clone(), own[&k].clone()) } else { (k, v) })
                    .collect();
                with(body, Value::Object(restored))
            }
        };
        let r = call(&s, "init", body).await;
        assert_eq!(r.code(), case.second.1, "steps {} after the fix: {}", case.steps, r.body);
        assert_eq!(r.status.as_u16(), case.second.0, "steps {}: {}", case.steps, r.body);
        assert!(sessions(&s, &app).await.is_empty(), "steps {}: no session", case.steps);
    }
}

#[tokio::test]
async fn steps_around_the_pipeline_keep_their_order() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    // 1/2: a missing field answers before the owner is looked up
    let r = call(&s, "init", without(with(app.init_body(), json!({ "owner_id": "seller_nobody" })), "version")).await;
    assert_row(&r, MISSING_FIELDS);
    // 2/3: an unknown owner is told as such, not as an unknown app
    let r = init_with(&s, &app, json!({ "owner_id": "seller_nobody", "app_name": "Nope" })).await;
    assert_row(&r, OWNER_NOT_FOUND);
    // 3/4: a disabled app under another name is still "not found"
    settings(&s, &app, json!({ "status": "DISABLED" })).await;
    assert_row(&init_with(&s, &app, json!({ "app_name": "Nope" })).await, APP_NOT_FOUND);
    settings(&s, &app, json!({ "status": "ACTIVE" })).await;
    // 11/12: an outdated version is refused before the session quota counts
    settings(&s, &app, json!({ "sessionQuota": 1 })).await;
    init(&s, &app).await;
    settings(&s, &app, json!({ "version": "1.3", "versionControl": { "enabled": true } })).await;
    let r = init_with(&s, &app, json!({ "version": "1.0" })).await;
    assert_eq!((r.status.as_u16(), r.code()), (426, "UPDATE_REQUIRED"), "{}", r.body);
    assert_row(&init_with(&s, &app, json!({ "version": "1.3" })).await, SESSION_LIMIT_REACHED);
}

// ---------------------------------------------------------------------------------------------
// Version control

const DOWNLOAD: &str = "https://example.com/download";

/// An app at version 1.3 with version control enabled and `vc` merged in.
async fn versioned_app(s: &TestServer, vc: Value) -> ClientApp {
    let app = client_app(s).await;
    settings(s, &app, json!({ "version": "1.3", "versionControl": with(json!({ "enabled": true }), vc) })).await;
    app
}

/// The success body without its session id, which is random.
fn without_session(r: &Resp) -> Value {
    r.assert_status(200);
    let sid = r.body["session_id"].as_str().unwrap_or_default();
    assert!(sid.len() >= 32 && sid.bytes().all(|b| b.is_ascii_hexdigit()), "session_id {sid:?}");
    without(r.body.clone(), "session_id")
}

fn init_success(app: &ClientApp, version: &str) -> Value {
    json!({
        "success": true,
        "message": "Init success",
        "owner_id": app.owner_id,
        "app_name": app.name,
        "version": version,
    })
}

#[tokio::test]
async fn outdated_and_newer_clients_without_a_rule() {
    let s = TestServer::start().await;
    // the download URL is not disclosed while auto-update is off
    let app = versioned_app(&s, json!({ "downloadUrl": DOWNLOAD })).await;
    let r = init_with(&s, &app, json!({ "version": "1.1" })).await;
    assert_eq!(r.status.as_u16(), 426);
    assert_eq!(
        r.body,
        json!({
            "success": false,
            "code": "UPDATE_REQUIRED",
            "message": UPDATE_REQUIRED.2,
            "server_version": "1.3",
            "client_version": "1.1",
            "auto_update_enabled": false,
            "auto_update_download_url": null
        })
    );
    let r = init_with(&s, &app, json!({ "version": "2.0" })).await;
    assert_eq!(r.status.as_u16(), 426);
    assert_eq!(
        r.body,
        json!({
            "success": false,
            "code": "VERSION_MISMATCH",
            "message": VERSION_MISMATCH.2,
            "server_version": "1.3",
            "client_version": "2.0",
            "auto_update_enabled": false,
            "auto_update_download_url": null
        })
    );
    assert!(sessions(&s, &app).await.is_empty());
}

#[tokio::test]
async fn outdated_client_with_auto_update() {
    let s = TestServer::start().await;
    let app = versioned_app(&s, json!({ "autoUpdate": true, "downloadUrl": DOWNLOAD })).await;
    let r = init_with(&s, &app, json!({ "version": "1.1" })).await;
    assert_eq!(r.status.as_u16(), 426);
    assert_eq!(
        r.body,
        json!({
            "success": false,
            "code": "UPDATE_REQUIRED",
            "message": "Please update your app to the latest version",
            "server_version": "1.3",
            "client_version": "1.1",
            "auto_update_enabled": true,
            "auto_update_download_url": "https://example.com/download",
            "update": {
                "available": true,
                "latest_version": "1.3",
                "download_url": "https://example.com/download",
                "force_update": true,
                "auto_update_enabled": true
            }
        })
    );
    // a newer client with auto-update on is a mismatch, and carries the same update object
    let r = init_with(&s, &app, json!({ "version": "1.4" })).await;
    assert_eq!((r.status.as_u16(), r.code()), (426, "VERSION_MISMATCH"), "{}", r.body);
    assert_eq!(r.body["server_version"], "1.3");
    assert_eq!(r.body["client_version"], "1.4");
    assert_eq!(r.body["update"]["download_url"], DOWNLOAD);
}

#[tokio::test]
async fn equal_versions_pass_without_update() {
    let s = TestServer::start().await;
    let app = versioned_app(&s, json!({ "autoUpdate": true, "downloadUrl": DOWNLOAD })).await;
    for v in ["1.3", "1.3.0", "1.3.0.0"] {
        let r = init_with(&s, &app, json!({ "version": v })).await;
        // the client's own spelling is echoed
        assert_eq!(without_session(&r), init_success(&app, v), "{v}");
    }
}

#[tokio::test]
async fn versions_compare_numerically() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "version": "1.9", "versionControl": { "enabled": true } })).await;
    for (client, code) in [
        ("1.10", "VERSION_MISMATCH"),
        ("1.9.1", "VERSION_MISMATCH"),
        ("1.8.99", "UPDATE_REQUIRED"),
        ("1", "UPDATE_REQUIRED"),
    ] {
        let r = init_with(&s, &app, json!({ "version": client })).await;
        assert_eq!((r.status.as_u16(), r.code()), (426, code), "{client}: {}", r.body);
        assert_eq!(r.body["client_version"], client);
        assert_eq!(r.body["server_version"], "1.9");
    }
    init_with(&s, &app, json!({ "version": "1.9.0" })).await.assert_status(200);
    settings(&s, &app, json!({ "version": "1.10" })).await;
    let r = init_with(&s, &app, json!({ "version": "1.9" })).await;
    assert_eq!(r.code(), "UPDATE_REQUIRED", "{}", r.body);
    init_with(&s, &app, json!({ "version": "1.10.0" })).await.assert_status(200);
}

#[tokio::test]
async fn allow_rule_passes_silently() {
    let s = TestServer::start().await;
    let app = versioned_app(
        &s,
        json!({ "autoUpdate": true, "downloadUrl": DOWNLOAD, "rules": [{ "version": "1.2", "mode": "ALLOW" }] }),
    )
    .await;
    for v in ["1.2", "1.2.0"] {
        let r = init_with(&s, &app, json!({ "version": v })).await;
        assert_eq!(without_session(&r), init_success(&app, v));
    }
    // the rule is for 1.2 only
    assert_eq!(init_with(&s, &app, json!({ "version": "1.1" })).await.code(), "UPDATE_REQUIRED");
}

#[tokio::test]
async fn remind_rule_passes_with_the_seed_update_object() {
    let s = TestServer::start().await;
    let app = versioned_app(
        &s,
        json!({
            "autoUpdate": true,
            "downloadUrl": DOWNLOAD,
            "forceUpdate": false,
            "rules": [{ "version": "1.2", "mode": "REMIND", "message": "A new version is available" }]
        }),
    )
    .await;
    let r = init_with(&s, &app, json!({ "version": "1.2" })).await;
    let mut want = init_success(&app, "1.2");
    want["update"] = json!({
        "available": true,
        "latest_version": "1.3",
        "download_url": "https://example.com/download",
        "auto_update_enabled": true,
        "force_update": false,
        "show_reminder": true,
        "reminder_message": "A new version is available",
        "allowed_until": null
    });
    assert_eq!(without_session(&r), want);
    assert_eq!(sessions(&s, &app).await.len(), 1, "a reminder still opens a session");
}

#[tokio::test]
async fn grace_rule_until_its_deadline() {
    let s = TestServer::start().await;
    let app = versioned_app(
        &s,
        json!({
            "autoUpdate": true,
            "downloadUrl": DOWNLOAD,
            "rules": [
                { "version": "1.1", "mode": "GRACE", "message": "Please update before the deadline",
                  "allowedUntil": "2099-07-01T00:00:00Z" },
                { "version": "1.0", "mode": "GRACE", "message": "Too late", "allowedUntil": "2020-01-01T00:00:00Z" }
            ]
        }),
    )
    .await;
    let r = init_with(&s, &app, json!({ "version": "1.1" })).await;
    let body = without_session(&r);
    let until = body["update"]["allowed_until"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&until).ok(),
        chrono::DateTime::parse_from_rfc3339("2099-07-01T00:00:00Z").ok(),
        "allowed_until {until:?} is the rule's instant, RFC 3339"
    );
    let mut want = init_success(&app, "1.1");
    want["update"] = json!({
        "available": true,
        "latest_version": "1.3",
        "download_url": "https://example.com/download",
        "auto_update_enabled": true,
        "force_update": false,
        "show_reminder": true,
        "reminder_message": "Please update before the deadline",
        "allowed_until": until
    });
    assert_eq!(body, want);

    // past its deadline the version is refused like one without a rule
    let r = init_with(&s, &app, json!({ "version": "1.0" })).await;
    assert_eq!(r.status.as_u16(), 426);
    assert_eq!(r.code(), "UPDATE_REQUIRED", "{}", r.body);
    assert_eq!(r.body["message"], UPDATE_REQUIRED.2);
    assert_eq!(r.body["client_version"], "1.0");
    assert_eq!(r.body["auto_update_download_url"], DOWNLOAD);
}

#[tokio::test]
async fn version_control_disabled_lets_any_version_pass() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(
        &s,
        &app,
        json!({ "version": "1.3", "versionControl": { "enabled": false, "autoUpdate": true, "downloadUrl": DOWNLOAD } }),
    )
    .await;
    for v in ["0.1", "1.2", "9.9.9", "not-a-version"] {
        let r = init_with(&s, &app, json!({ "version": v })).await;
        assert_eq!(without_session(&r), init_success(&app, v), "{v}");
    }
    // turned on, the same client is refused
    settings(&s, &app, json!({ "versionControl": { "enabled": true } })).await;
    assert_eq!(init_with(&s, &app, json!({ "version": "1.2" })).await.code(), "UPDATE_REQUIRED");
}

// ---------------------------------------------------------------------------------------------
// Success, sessions, quota

#[tokio::test]
async fn success_body_and_a_new_session_each_time() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let a = call(&s, "init", app.init_body()).await;
    assert_eq!(without_session(&a), init_success(&app, "1.0"));
    let b = call(&s, "init", app.init_body()).await;
    assert_eq!(without_session(&b), init_success(&app, "1.0"));
    let (a, b) = (a.body["session_id"].as_str().unwrap(), b.body["session_id"].as_str().unwrap());
    assert_ne!(a, b);

    let live = sessions(&s, &app).await;
    let mut tokens: Vec<&str> = live.iter().map(|x| x["token"].as_str().unwrap()).collect();
    tokens.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(tokens, want);
    assert!(live.iter().all(|x| x["ip"] == "127.0.0.1" && x["appUser"].is_null()), "{live:?}");

    // the session works
    let r = call(&s, "validate-session", json!({ "session_id": a })).await;
    r.assert_status(200);
    assert_eq!(r.body["valid"], true);
}

#[tokio::test]
async fn session_quota() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "sessionQuota": 2 })).await;
    init(&s, &app).await;
    init(&s, &app).await;
    assert_row(&call(&s, "init", app.init_body()).await, SESSION_LIMIT_REACHED);
    assert_eq!(sessions(&s, &app).await.len(), 2);
    settings(&s, &app, json!({ "sessionQuota": 3 })).await;
    init(&s, &app).await;
    settings(&s, &app, json!({ "sessionQuota": null })).await;
    init(&s, &app).await;
    assert_eq!(sessions(&s, &app).await.len(), 4);
}

// ---------------------------------------------------------------------------------------------
// The caller's address behind proxies

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    blacklist_ip(&s, &app, "203.0.113.7").await;
    settings(&s, &app, json!({ "ipWhitelist": ["127.0.0.1"] })).await;
    for header in ["x-forwarded-for", "cf-connecting-ip"] {
        let r = call_with_headers(&s, app.init_body(), &[(header, "203.0.113.7")]).await;
        r.assert_status(200);
    }
    let r = call_with_headers(&s, app.init_body(), &[("x-forwarded-for", "203.0.113.7, 198.51.100.2")]).await;
    r.assert_status(200);
    assert!(sessions(&s, &app).await.iter().all(|x| x["ip"] == "127.0.0.1"));
}

#[tokio::test]
async fn forwarding_headers_from_a_trusted_proxy_are_believed() {
    let s = TestServer::start_with(|c| c.trusted_proxies = Some(vec!["127.0.0.1/32".into()])).await;
    let app = client_app(&s).await;
    blacklist_ip(&s, &app, "203.0.113.7").await;
    for header in ["x-forwarded-for", "cf-connecting-ip"] {
        let r = call_with_headers(&s, app.init_body(), &[(header, "203.0.113.7")]).await;
        assert_row(&r, IP_BLOCKED);
    }
    // X-Forwarded-For: the right-most hop that is not a trusted proxy is the client
    let r =
        call_with_headers(&s, app.init_body(), &[("x-forwarded-for", "198.51.100.9, 203.0.113.7, 127.0.0.1")]).await;
    assert_row(&r, IP_BLOCKED);
    // CF-Connecting-IP wins over X-Forwarded-For
    let r = call_with_headers(
        &s,
        app.init_body(),
        &[("cf-connecting-ip", "198.51.100.9"), ("x-forwarded-for", "203.0.113.7")],
    )
    .await;
    r.assert_status(200);
    // another forwarded address passes, and the session records it
    let r = call_with_headers(&s, app.init_body(), &[("x-forwarded-for", "198.51.100.4")]).await;
    r.assert_status(200);
    let live = sessions(&s, &app).await;
    let mut ips: Vec<&str> = live.iter().map(|x| x["ip"].as_str().unwrap()).collect();
    ips.sort();
    assert_eq!(ips, ["198.51.100.4", "198.51.100.9"]);
    // without forwarding headers the proxy itself is the caller
    blacklist_ip(&s, &app, "127.0.0.1").await;
    assert_row(&call(&s, "init", app.init_body()).await, IP_BLOCKED);
    call_with_headers(&s, app.init_body(), &[("x-forwarded-for", "198.51.100.4")]).await.assert_status(200);
}

// Count-then-insert would let concurrent inits past the quota (5 of 2 were seen before the
// store counted and inserted in one serialised step).
#[tokio::test]
async fn session_quota_holds_under_concurrent_inits() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    settings(&s, &app, json!({ "sessionQuota": 2 })).await;
    let answers = futures::future::join_all((0..12).map(|_| call(&s, "init", app.init_body()))).await;
    let opened = answers.iter().filter(|r| r.status.as_u16() == 200).count();
    for r in answers.iter().filter(|r| r.status.as_u16() != 200) {
        assert_row(r, SESSION_LIMIT_REACHED);
    }
    assert_eq!(opened, 2);
    assert_eq!(sessions(&s, &app).await.len(), 2);
}
