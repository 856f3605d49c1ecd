//! The official Authly Python SDK (`authlyx-api` 2.2.0, unmodified) against a real Tollgate over
//! HTTP: `api="http://127.0.0.1:PORT/api/v2"`, signature checking on, pinned to Tollgate's key.
//! Every call the issue names must succeed; pinned to another key, Init must fail with the
//! SDK's own `AUTH_INVALID_SIGNATURE`. Needs `TOLLGATE_TEST_PYTHON` (see `signing.rs`).

use ed25519_dalek::pkcs8::EncodePublicKey;
use serde_json::{json, Value};

use crate::authly::{client_app, keys, settings};
use crate::harness::TestServer;
use crate::signing::{run_python, sdk_python};

/// Runs the SDK through every call and prints one JSON line of results.
const SCRIPT: &str = r#"
import json, sys
from authlyx_api import Auth

cfg = json.loads(sys.stdin.read())

def client(pem):
    return Auth(cfg["owner_id"], cfg["app_name"], cfg["version"], cfg["secret"], debug=False,
                api=cfg["api"], serverPublicKeyPem=pem, anti_debug=False)

out = {}
a = client(cfg["pem"])
def step(name, ok):
    r = a.response
    out[name] = {"ok": bool(ok), "code": r.get("code"), "message": r.get("message"),
                 "status": r.get("status_code"), "kid": r.get("signature_kid")}

step("Init", a.Init())
out["session"] = a.GetSessionId()
step("Register", a.Register("sdk-user", "first-pass-1", cfg["keys"][0], "sdk@example.com"))
out["register_user"] = dict(a.userData)
step("Login", a.Login("sdk-user", "first-pass-1"))
out["login_user"] = dict(a.userData)
step("LicenseLogin", a.LicenseLogin(cfg["keys"][1]))
step("ExtendTime", a.ExtendTime("sdk-user", cfg["keys"][2]))
step("Relogin", a.Login("sdk-user", "first-pass-1"))
step("ChangePassword", a.ChangePassword("first-pass-1", "second-pass-2"))
value = a.GetVariable("motd")
step("GetVariable", value == "Grüße, 世界 ✓")
step("SetVariable", a.SetVariable("theme", "dark"))
step("GetUserVariable", a.GetVariable("theme") == "dark")
step("Log", a.Log("hello from the SDK"))
step("ValidateSession", a.ValidateSession())
step("CheckBlacklist", a.CheckBlacklist())
step("SendChat", a.SendChat("hi all", "general"))
step("GetChats", a.GetChats("general"))
out["chats"] = dict(a.chatMessages)
step("NewPasswordLogin", a.Login("sdk-user", "second-pass-2"))

other = client(cfg["other_pem"])
ok = other.Init()
out["OtherKeyInit"] = {"ok": bool(ok), "code": other.response.get("code")}
builtin = client(None)
ok = builtin.Init()
out["BuiltinKeyInit"] = {"ok": bool(ok), "code": builtin.response.get("code")}
print(json.dumps(out))
"#;

#[tokio::test]
async fn official_python_sdk_runs_every_call_against_tollgate() {
    let Some(python) = sdk_python().await else { return };
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let t = &app.seller.token;
    settings(&s, &app, json!({ "levelNames": { "2": "Premium" } })).await;
    let keys = keys(&s, &app, 3, json!({ "level": 2, "maxDevices": 2 })).await;
    let r = s
        .post(
            &format!("/v1/admin/apps/{}/variables", app.id),
            t,
            json!({ "key": "motd", "value": "Grüße, 世界 ✓", "readOnly": true }),
        )
        .await;
    r.assert_status(201);
    s.post(&format!("/v1/admin/apps/{}/chats", app.id), t, json!({ "name": "general" })).await.assert_status(201);

    // The admin API hands the seller the key to pin.
    let shown = s.get(&format!("/v1/admin/apps/{}", app.id), t).await;
    let pem = shown.data()["publicKeyPem"].as_str().unwrap().to_owned();
    assert_eq!(pem, s.state.signer.get().public_key_pem());
    // Some other server's key: a valid Ed25519 key that did not sign these answers.
    let other = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])
        .verifying_key()
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap();

    let cfg = json!({
        "owner_id": app.owner_id, "app_name": app.name, "version": app.version, "secret": app.secret,
        "api": s.url("/api/v2"), "pem": pem, "other_pem": other, "keys": keys,
    });
    let out: Value = serde_json::from_str(run_python(&python, SCRIPT, &cfg.to_string()).await.trim()).unwrap();

    for step in [
        "Init",
        "Register",
        "Login",
        "LicenseLogin",
        "ExtendTime",
        "Relogin",
        "ChangePassword",
        "GetVariable",
        "SetVariable",
        "GetUserVariable",
        "Log",
        "ValidateSession",
        "CheckBlacklist",
        "SendChat",
        "GetChats",
        "NewPasswordLogin",
    ] {
        let r = &out[step];
        assert_eq!(r["ok"], true, "{step}: {r}");
        assert_eq!(r["status"], 200, "{step}: {r}");
        assert_eq!(r["kid"], s.state.signer.get().kid(), "{step} signed with the active key");
    }
    assert_eq!(out["register_user"]["Subscription"], "Premium");
    assert_eq!(out["register_user"]["SubscriptionLevel"], "2");
    assert_eq!(out["login_user"]["Username"], "sdk-user");
    assert_eq!(out["chats"]["ChannelName"], "general");
    assert_eq!(out["chats"]["Messages"][0]["Message"], "hi all");
    assert_eq!(out["chats"]["Messages"][0]["Username"], "sdk-user");
    assert_eq!(out["OtherKeyInit"], json!({ "ok": false, "code": "AUTH_INVALID_SIGNATURE" }));
    assert_eq!(out["BuiltinKeyInit"], json!({ "ok": false, "code": "AUTH_INVALID_SIGNATURE" }));

    // The server saw it all: one user, the log line, the message.
    let users = s.get(&format!("/v1/admin/apps/{}/users", app.id), t).await;
    assert_eq!(users.data()[0]["username"], "sdk-user");
    let logs = s.get(&format!("/v1/admin/apps/{}/logs", app.id), t).await;
    assert_eq!(logs.data()[0]["message"], "hello from the SDK");
    assert_eq!(logs.data()[0]["username"], "sdk-user");
}
