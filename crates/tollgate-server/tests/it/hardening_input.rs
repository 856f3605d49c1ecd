//! Text no backend can store, ambiguous JSON and look-alike usernames, over the wire.
//!
//! - A NUL character in any text field of any route (every JSON field, query parameter and path
//!   parameter of the admin API, read from the OpenAPI document so a new route is covered the
//!   day it is added; every field of every client endpoint) answers the API's 400 naming the
//!   field, on both backends, and writes nothing.
//! - A key given twice in a body answers 400, in both APIs.
//! - Usernames that look alike (case, NFKC, confusables) are one name; invisible or reordering
//!   characters are refused.

use reqwest::header::HeaderMap;
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

use crate::authly::{assert_signed, call, client_app, fresh_meta, init, keys, send, ClientApp};
use crate::authly_accounts::{admin, license_id};
use crate::harness::{Resp, TestServer};
use crate::tenant_isolation::{body_for, fill, populate, snapshot};

const NUL: &str = "a\u{0}b";

#[track_caller]
fn assert_nul_refused(r: &Resp, field: &str, what: &str) {
    assert_eq!(r.status.as_u16(), 400, "{what}: {}", r.body);
    assert_eq!(r.code(), "VALIDATION_ERROR", "{what}: {}", r.body);
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(&format!("{field}: ")), "{what}: the message names `{field}`: {message}");
    assert!(!message.contains('\u{0}'), "{what}: the NUL is not echoed");
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &spec["components"]["schemas"][name],
        None => schema,
    }
}

fn has_type(schema: &Value, t: &str) -> bool {
    match &schema["type"] {
        Value::String(s) => s == t,
        Value::Array(a) => a.iter().any(|x| x == t),
        _ => false,
    }
}

/// Every place a string can go in a body of `schema`: `(path as the API names it, JSON pointer
/// segments)`. Nested objects and arrays of strings included.
fn string_fields(spec: &Value, schema: &Value, prefix: &str, out: &mut Vec<(String, Vec<String>)>, at: &[String]) {
    let schema = resolve(spec, schema);
    let Some(props) = schema["properties"].as_object() else { return };
    for (name, prop) in props {
        let prop = match prop["oneOf"].as_array() {
            Some(alts) => alts.iter().find(|a| a["type"] != "null").unwrap_or(prop),
            None => prop,
        };
        let prop = resolve(spec, prop);
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        let mut seg = at.to_vec();
        seg.push(name.clone());
        if has_type(prop, "string") {
            out.push((path, seg));
        } else if has_type(prop, "array") && has_type(resolve(spec, &prop["items"]), "string") {
            seg.push("0".into());
            out.push((format!("{path}[0]"), seg));
        } else if prop["properties"].is_object() {
            string_fields(spec, prop, &path, out, &seg);
        }
    }
}

/// `body` with the string at `seg` set to [`NUL`] (objects and arrays made as needed).
fn with_nul(mut body: Value, seg: &[String]) -> Value {
    let mut cur = &mut body;
    for (i, s) in seg.iter().enumerate() {
        let last = i + 1 == seg.len();
        if let Ok(idx) = s.parse::<usize>() {
            if !cur.is_array() {
                *cur = json!([]);
            }
            let arr = cur.as_array_mut().unwrap();
            while arr.len() <= idx {
                arr.push(json!("ok"));
            }
            cur = &mut arr[idx];
        } else {
            if !cur.is_object() {
                *cur = json!({});
            }
            let next_is_index = seg.get(i + 1).is_some_and(|n| n.parse::<usize>().is_ok());
            let obj = cur.as_object_mut().unwrap();
            cur = obj.entry(s.clone()).or_insert_with(|| if next_is_index { json!([]) } else { json!({}) });
        }
        if last {
            *cur = json!(NUL);
        }
    }
    body
}

#[tokio::test]
async fn nul_in_every_admin_text_field_query_and_path_is_a_400_and_writes_nothing() {
    let s = TestServer::start().await;
    let owner = s.seller().await;
    let fx = populate(&s, &owner, "nul").await;
    // The reseller routes take a reseller's token: one of the app's resellers, signed in.
    let api_key = s.get(&format!("/v1/admin/apps/{}", fx.app), &owner.token).await.data()["apiKey"].clone();
    s.post(
        &format!("/v1/admin/apps/{}/resellers", fx.app),
        &owner.token,
        json!({"username": "nulreseller", "password": "password123", "balance": 5}),
    )
    .await
    .assert_status(201);
    let login = json!({"appId": fx.app, "apiKey": api_key, "username": "nulreseller", "password": "password123"});
    let r = s.req(Method::POST, "/v1/reseller/login", None, Some(login)).await;
    r.assert_status(200);
    let reseller_token = r.data()["token"].as_str().unwrap().to_owned();
    let before = snapshot(&s, &owner, &fx).await;
    let apps_before = s.get("/v1/admin/apps", &owner.token).await.body;

    let spec = s.req(Method::GET, "/openapi.json", None, None).await.body;
    let (mut bodies, mut queries, mut paths) = (0, 0, 0);
    for (template, item) in spec["paths"].as_object().unwrap() {
        if !template.starts_with("/v1/") {
            continue;
        }
        for m in ["get", "post", "patch", "delete", "put"] {
            let Some(op) = item.get(m) else { continue };
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let path = fill(template, &fx.app, &fx.ids);
            let what = format!("{m} {template}");
            let token = if template.starts_with("/v1/reseller/") { &reseller_token } else { &owner.token };

            // Every string field of the JSON body, on top of a body that is otherwise valid.
            if let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") {
                let mut fields = Vec::new();
                string_fields(&spec, schema, "", &mut fields, &[]);
                if template == "/v1/admin/apps/{appId}" && m == "patch" {
                    // Documented as a free-form object: its text fields by hand.
                    for f in ["name", "version"] {
                        fields.push((f.into(), vec![f.into()]));
                    }
                    fields.push((
                        "settings.ipWhitelist[0]".into(),
                        vec!["settings".into(), "ipWhitelist".into(), "0".into()],
                    ));
                }

                let base = match template.as_str() {
                    "/v1/admin/apps" => json!({"name": "Another", "version": "1.0"}),
                    "/v1/auth/register" => json!({"email": "nul@example.com", "password": "password123", "name": "N"}),
                    "/v1/auth/login" => json!({"email": owner.email, "password": "correct horse"}),
                    "/v1/auth/refresh" => json!({"refreshToken": owner.refresh}),
                    _ => body_for(&method, template, &fx.ids["userId"]).unwrap_or_else(|| json!({})),
                };
                for (field, seg) in fields {
                    let body = with_nul(base.clone(), &seg);
                    let r = s.req(method.clone(), &path, Some(token), Some(body)).await;
                    assert_nul_refused(&r, &field, &format!("{what} body.{field}"));
                    bodies += 1;
                }
            }
            // Every query parameter.
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                match p["in"].as_str() {
                    Some("query") => {
                        let r = s.req(method.clone(), &format!("{path}?{name}=a%00b"), Some(token), None).await;
                        assert_nul_refused(&r, name, &format!("{what} ?{name}"));
                        queries += 1;
                    }
                    Some("path") => {
                        let t = template.replace(&format!("{{{name}}}"), "a%00b");
                        let p = fill(&t, &fx.app, &fx.ids);
                        let r = s.req(method.clone(), &p, Some(&owner.token), None).await;
                        assert_nul_refused(&r, "path", &format!("{what} {{{name}}}"));
                        paths += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    // A file's name, from its part or from the file part's name.
    let files = format!("/v1/admin/apps/{}/files", fx.app);
    let form = Form::new().text("name", NUL).part("file", Part::bytes(b"x".to_vec()).file_name("x.bin"));
    let r = TestServer::into_resp(
        s.http.post(s.url(&files)).bearer_auth(&owner.token).multipart(form).send().await.unwrap(),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "VALIDATION_ERROR"), "{}", r.body);
    let form = Form::new().part("file", Part::bytes(b"x".to_vec()).file_name(NUL));
    let r = TestServer::into_resp(
        s.http.post(s.url(&files)).bearer_auth(&owner.token).multipart(form).send().await.unwrap(),
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.body);

    assert!(
        bodies >= 40 && queries >= 10 && paths >= 60,
        "only {bodies} fields, {queries} queries, {paths} path params"
    );
    assert_eq!(snapshot(&s, &owner, &fx).await, before, "a refused request changed the app");
    assert_eq!(s.get("/v1/admin/apps", &owner.token).await.body, apps_before, "a refused request made an app");
    // The refresh token was not spent, and no seller was registered.
    let r = s.req(Method::POST, "/v1/auth/refresh", None, Some(json!({"refreshToken": owner.refresh}))).await;
    r.assert_status(200);
    let body = json!({"email": "nul@example.com", "password": "password123", "name": "N"});
    s.req(Method::POST, "/v1/auth/register", None, Some(body)).await.assert_status(201);
}

/// Every text field of every client endpoint, with a body that is otherwise valid.
const CLIENT_FIELDS: &[(&str, &[&str])] = &[
    ("init", &["owner_id", "app_name", "secret", "version", "hash"]),
    ("register", &["session_id", "username", "password", "key", "license_key", "email", "hwid", "sid"]),
    ("login", &["session_id", "username", "password", "hwid", "sid", "ip", "ip_address"]),
    ("licenses", &["session_id", "license_key", "key", "hwid", "sid"]),
    ("license-login", &["session_id", "license_key", "key", "hwid", "sid"]),
    ("extend", &["session_id", "username", "license_key", "key", "hwid", "sid"]),
    ("change-password", &["session_id", "old_password", "new_password"]),
    ("variables", &["session_id", "var_key"]),
    ("variables/get", &["session_id", "var_key"]),
    ("variables/set", &["session_id", "var_key", "var_value"]),
    ("logs", &["session_id", "message"]),
    ("validate-session", &["session_id"]),
    ("validate", &["session_id"]),
    ("blacklist/check", &["session_id", "hwid", "sid", "ip"]),
    ("device-auth", &["session_id", "device_type", "device_id", "ip"]),
    ("chats/send", &["session_id", "channel_name", "message", "cursor"]),
    ("chats/get", &["session_id", "channel_name", "cursor"]),
    // The envelope's own fields.
    ("validate", &["request_id", "nonce"]),
];

/// The three request-integrity values as the SDKs send them, in headers.
fn meta_headers(request_id: &str, nonce: &str, ts: i64) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-request-id", request_id.parse().unwrap());
    h.insert("x-auth-nonce", nonce.parse().unwrap());
    h.insert("x-auth-timestamp", ts.to_string().parse().unwrap());
    h
}

fn client_body(app: &ClientApp, endpoint: &str, sid: &str, key: &str) -> Value {
    match endpoint {
        "init" => app.init_body(),
        _ => json!({
            "session_id": sid, "username": "nul-user", "password": "hunter2-pass", "key": key,
            "license_key": key, "email": "nul@example.com", "hwid": "HWID-N", "sid": "HWID-N",
            "ip": "", "old_password": "hunter2-pass", "new_password": "other-pass-1", "var_key": "v1",
            "var_value": "x", "message": "hello", "device_type": "motherboard", "device_id": "MB-1",
            "channel_name": "general", "cursor": "c",
        }),
    }
}

#[tokio::test]
async fn nul_in_every_client_field_is_a_400_and_writes_nothing() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let sid = init(&s, &app).await;
    let key = keys(&s, &app, 1, json!({})).await.remove(0);
    let lic = license_id(&s, &app, &key).await;
    let sessions_before = s.get(&admin(&app, "/sessions"), &app.seller.token).await.body;

    let mut checked = 0;
    for (endpoint, fields) in CLIENT_FIELDS {
        for field in *fields {
            let body = with_nul(client_body(&app, endpoint, &sid, &key), &[field.to_string()]);
            let r = if ["request_id", "nonce"].contains(field) {
                // `call` would overwrite them: sent raw, the answer is still signed.
                let r = send(&s, endpoint, serde_json::to_vec(&body).unwrap(), HeaderMap::new()).await;
                assert_signed(&s, &r, "", "");
                r
            } else {
                call(&s, endpoint, body).await
            };
            assert_nul_refused(&r, field, &format!("{endpoint} {field}"));
            checked += 1;
        }
    }
    // Nested too: an unknown object field with a NUL deep inside.
    let mut body = client_body(&app, "register", &sid, &key);
    body["extra"] = json!({ "list": ["ok", NUL] });
    assert_nul_refused(&call(&s, "register", body).await, "extra.list[1]", "nested");
    assert!(checked >= 60, "only {checked} fields");

    // Nothing was written: the key is unused, no account exists, the session is as it was, no
    // log line, no variable, no chat message, no device license.
    let l = s.get(&admin(&app, &format!("/licenses/{lic}")), &app.seller.token).await;
    assert_eq!(l.data()["status"], "UNUSED", "{}", l.body);
    let users = s.get(&admin(&app, "/users"), &app.seller.token).await;
    assert_eq!(users.body["pagination"]["total"], 0, "{}", users.body);
    assert_eq!(s.get(&admin(&app, "/sessions"), &app.seller.token).await.body, sessions_before);
    let logs = s.get(&admin(&app, "/logs"), &app.seller.token).await;
    assert_eq!(logs.body["pagination"]["total"], 0, "{}", logs.body);
    let devices = s.get(&admin(&app, "/devices"), &app.seller.token).await;
    assert_eq!(devices.body["pagination"]["total"], 0, "{}", devices.body);

    // And the same key and session still register cleanly.
    let r = call(&s, "register", client_body(&app, "register", &sid, &key)).await;
    r.assert_status(200);
}

#[tokio::test]
async fn duplicate_keys_are_refused_in_both_apis() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;

    // Authly: `"secret":"WRONG","secret":"<real>"` used to initialise (the last one won).
    for (first, second) in [("WRONG", app.secret.as_str()), (app.secret.as_str(), "WRONG")] {
        let (request_id, nonce, ts) = fresh_meta();
        let raw = format!(
            r#"{{"owner_id":"{}","app_name":"{}","version":"{}","secret":"{first}","secret":"{second}"}}"#,
            app.owner_id, app.name, app.version
        );
        let r = send(&s, "init", raw.into_bytes(), meta_headers(&request_id, &nonce, ts)).await;
        assert_signed(&s, &r, &request_id, &nonce);
        r.assert_error(400, "INVALID_REQUEST");
        assert_eq!(r.body["message"], "Field `secret` appears more than once");
    }
    // Nested, and the envelope's own fields.
    let (request_id, nonce, ts) = fresh_meta();
    let raw = br#"{"session_id":"x","a":{"b":1,"b":2}}"#.to_vec();
    let r = send(&s, "validate", raw, meta_headers(&request_id, &nonce, ts)).await;
    assert_signed(&s, &r, &request_id, &nonce);
    r.assert_error(400, "INVALID_REQUEST");
    assert_eq!(r.body["message"], "Field `a.b` appears more than once");
    let raw = br#"{"session_id":"x","nonce":"n1","nonce":"n2"}"#.to_vec();
    send(&s, "validate", raw, HeaderMap::new()).await.assert_error(400, "INVALID_REQUEST");
    let sessions = s.get(&admin(&app, "/sessions"), &app.seller.token).await;
    assert_eq!(sessions.data().as_array().map(Vec::len), Some(0), "no session was made: {}", sessions.body);

    // Admin: refused with the field named, nothing created.
    let raw = br#"{"name":"One","name":"Two"}"#.to_vec();
    let r = s.raw(Method::POST, "/v1/admin/apps", Some(&app.seller.token), raw).await;
    r.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(r.body["message"], "name: appears more than once");
    let raw = br#"{"count":1,"durationType":"1d","extra":{"k":1,"k":1}}"#.to_vec();
    let r = s.raw(Method::POST, &admin(&app, "/licenses"), Some(&app.seller.token), raw).await;
    r.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(r.body["message"], "extra.k: appears more than once");
    let apps = s.get("/v1/admin/apps", &app.seller.token).await;
    assert_eq!(apps.data().as_array().map(Vec::len), Some(1), "{}", apps.body);
    let lic = s.get(&admin(&app, "/licenses"), &app.seller.token).await;
    assert_eq!(lic.body["pagination"]["total"], 0, "{}", lic.body);
    let raw = format!(r#"{{"email":"{e}","password":"x","password":"y"}}"#, e = app.seller.email).into_bytes();
    s.raw(Method::POST, "/v1/auth/login", None, raw).await.assert_error(400, "VALIDATION_ERROR");
}

async fn register(s: &TestServer, app: &ClientApp, username: &str) -> (Resp, String) {
    let sid = init(s, app).await;
    let key = keys(s, app, 1, json!({})).await.remove(0);
    let body = json!({ "session_id": sid, "username": username, "password": "hunter2-pass", "key": key, "hwid": "H1" });
    (call(s, "register", body).await, key)
}

async fn key_status(s: &TestServer, app: &ClientApp, key: &str) -> Value {
    let id = license_id(s, app, key).await;
    s.get(&admin(app, &format!("/licenses/{id}")), &app.seller.token).await.data()["status"].clone()
}

#[tokio::test]
async fn look_alike_usernames_are_one_name() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let (r, _) = register(&s, &app, "gooduser").await;
    r.assert_status(200);

    // Case, fullwidth letters, digits for letters: the name is taken, the key unused.
    for alike in ["GoodUser", "\u{ff47}ooduser", "\u{ff27}\u{ff4f}\u{ff4f}\u{ff44}user", "g00duser"] {
        let (r, key) = register(&s, &app, alike).await;
        r.assert_error(409, "USERNAME_TAKEN");
        assert_eq!(key_status(&s, &app, &key).await, "UNUSED", "{alike}");
    }
    // Invisible and reordering characters, and Cyrillic letters among Latin ones (`gооducer`,
    // `gооduser` with Cyrillic о): refused outright.
    for bad in [
        "good\u{200b}user",
        "ab\u{202e}cd",
        "\u{feff}gooduser",
        "good\u{2066}user",
        "good\u{ad}user",
        "g\u{43e}\u{43e}ducer",
        "g\u{43e}\u{43e}duser",
    ] {
        let (r, key) = register(&s, &app, bad).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with("username: "), "{}", r.body);
        assert_eq!(key_status(&s, &app, &key).await, "UNUSED", "{bad:?}");
    }
    let users = s.get(&admin(&app, "/users"), &app.seller.token).await;
    assert_eq!(users.body["pagination"]["total"], 1, "{}", users.body);
    assert_eq!(users.data()[0]["username"], "gooduser", "shown as typed");

    // A look-alike signs in to the one account.
    for alike in ["GoodUser", "g\u{43e}\u{43e}duser"] {
        let sid = init(&s, &app).await;
        let body = json!({ "session_id": sid, "username": alike, "password": "hunter2-pass", "sid": "H1" });
        let r = call(&s, "login", body).await;
        r.assert_status(200);
        assert_eq!(r.body["user"]["username"], "gooduser", "{}", r.body);
    }

    // A banned name bans its look-alikes.
    crate::authly_accounts::blacklist(&s, &app, "USERNAME", "GOODUSER").await;
    let sid = init(&s, &app).await;
    let body =
        json!({ "session_id": sid, "username": "g\u{43e}\u{43e}duser", "password": "hunter2-pass", "sid": "H1" });
    call(&s, "login", body).await.assert_error(403, "USER_BANNED");

    // Resellers: the same rule through the admin API.
    let resellers = admin(&app, "/resellers");
    let tok = &app.seller.token;
    s.post(&resellers, tok, json!({"username": "Seller1", "password": "password123"})).await.assert_status(201);
    for alike in ["seller1", "sellerl", "\u{ff33}eller1"] {
        let r = s.post(&resellers, tok, json!({"username": alike, "password": "password123"})).await;
        r.assert_error(409, "CONFLICT");
    }
    for bad in ["sel\u{200d}ler", "sel\u{202e}ler"] {
        let r = s.post(&resellers, tok, json!({"username": bad, "password": "password123"})).await;
        r.assert_error(400, "VALIDATION_ERROR");
    }
    let list = s.get(&resellers, tok).await;
    assert_eq!(list.data().as_array().map(Vec::len), Some(1), "{}", list.body);
}

#[tokio::test]
async fn look_alike_spellings_share_the_account_login_throttle() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let (r, _) = register(&s, &app, "gooduser").await;
    r.assert_status(200);
    let sid = init(&s, &app).await;
    let spellings = ["gooduser", "GoodUser", "g\u{43e}\u{43e}duser", "\u{ff47}ooduser", "g00duser"];
    for i in 0..10 {
        let body =
            json!({ "session_id": sid, "username": spellings[i % spellings.len()], "password": "wrong", "sid": "H1" });
        call(&s, "login", body).await.assert_error(401, "INVALID_PASSWORD");
    }
    // An eleventh spelling does not get a fresh budget: the account is throttled, whatever the name.
    let body = json!({ "session_id": sid, "username": "g\u{43e}oduser", "password": "hunter2-pass", "sid": "H1" });
    call(&s, "login", body).await.assert_error(429, "RATE_LIMITED");
}
