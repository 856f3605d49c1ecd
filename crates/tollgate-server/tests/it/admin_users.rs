//! Users admin API: list/search/paginate, show, update, delete, ban/unban (sessions killed),
//! pause/unpause, reset-hwid, extend, per-user variables; bad input; tenant isolation.
//!
//! No admin route creates end users (the client protocols do), so fixtures write them through
//! the store.

use std::collections::HashSet;
use std::sync::OnceLock;

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use tollgate_core::ids;
use tollgate_core::model::{Session, User, UserVariable};
use tollgate_core::password;
use tollgate_core::time::{now, parse_rfc3339, rfc3339, Timestamp};

use crate::harness::{SellerLogin, TestServer};

const USER_FIELDS: &[&str] = &[
    "id",
    "username",
    "email",
    "hwid",
    "devices",
    "ip",
    "level",
    "status",
    "banReason",
    "lastLogin",
    "expiresAt",
    "createdAt",
    "note",
];
const PASSWORD: &str = "old secret";

/// One argon2 hash for every fixture user: hashing is slow by design.
fn old_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash(PASSWORD).unwrap()).clone()
}

fn user(app_id: &str, username: &str) -> User {
    crate::harness::user_row(app_id, username, old_hash())
}

struct Fx {
    s: TestServer,
    seller: SellerLogin,
    app_id: String,
}

impl Fx {
    async fn new() -> Fx {
        let s = TestServer::start().await;
        let seller = s.seller().await;
        let app = s.create_app(&seller, "Users").await;
        let app_id = app["id"].as_str().unwrap().to_owned();
        Fx { s, seller, app_id }
    }

    fn path(&self) -> String {
        format!("/v1/admin/apps/{}/users", self.app_id)
    }

    fn usr(&self, id: &str) -> String {
        format!("{}/{id}", self.path())
    }

    async fn add(&self, u: User) -> User {
        self.s.state.store.create_user(&u, &[]).await.unwrap();
        u
    }

    async fn add_named(&self, username: &str) -> User {
        self.add(user(&self.app_id, username)).await
    }

    async fn add_session(&self, user_id: &str) -> Session {
        let t = now();
        let sess = Session {
            id: ids::new_id("sess"),
            app_id: self.app_id.clone(),
            token: ids::new_token(),
            user_id: Some(user_id.to_owned()),
            license_id: None,
            ip: Some("203.0.113.9".into()),
            hwid: Some("HWID-A".into()),
            client_id: None,
            created_at: t,
            expires_at: t + Duration::hours(24),
            last_seen: t,
        };
        self.s.state.store.create_session(&sess, &[]).await.unwrap();
        sess
    }

    async fn live_session_ids(&self) -> HashSet<String> {
        let live = self.s.state.store.list_live_sessions(&self.app_id, now()).await.unwrap();
        live.into_iter().map(|v| v.session.id).collect()
    }

    async fn list(&self, query: &str) -> Value {
        let r = self.s.get(&format!("{}{query}", self.path()), &self.seller.token).await;
        r.assert_status(200);
        r.body.clone()
    }

    async fn show(&self, id: &str) -> Value {
        let r = self.s.get(&self.usr(id), &self.seller.token).await;
        r.assert_status(200);
        r.data().clone()
    }

    async fn action(&self, id: &str, action: &str, body: Value) -> Value {
        let r = self.s.post(&format!("{}/{action}", self.usr(id)), &self.seller.token, body).await;
        r.assert_status(200);
        r.body.clone()
    }

    async fn stored_hash(&self, id: &str) -> String {
        self.s.state.store.get_user(&self.app_id, id).await.unwrap().unwrap().password_hash
    }
}

fn usernames(body: &Value) -> HashSet<String> {
    body["data"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect()
}

fn ts(v: &Value) -> Timestamp {
    parse_rfc3339(v.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn list_searches_paginates_and_filters() {
    let fx = Fx::new().await;
    for i in 0..25 {
        let mut u = user(&fx.app_id, &format!("user{i:02}"));
        if i % 5 == 0 {
            u.email = Some(format!("u{i}@Mail.example"));
        }
        fx.add(u).await;
    }
    let p = fx.list("").await;
    assert_eq!(p["pagination"], json!({"page": 1, "limit": 20, "total": 25}));
    assert_eq!(p["data"].as_array().unwrap().len(), 20);
    for u in p["data"].as_array().unwrap() {
        let mut fields: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        let mut want = USER_FIELDS.to_vec();
        want.sort_unstable();
        assert_eq!(fields, want, "no password hash or other field: {u}");
    }
    let p2 = fx.list("?page=2").await;
    assert_eq!(p2["pagination"], json!({"page": 2, "limit": 20, "total": 25}));
    assert_eq!(p2["data"].as_array().unwrap().len(), 5);
    let all: HashSet<String> = usernames(&p).union(&usernames(&p2)).cloned().collect();
    assert_eq!(all.len(), 25, "pages do not overlap");
    let p = fx.list("?page=3&limit=10").await;
    assert_eq!(p["pagination"], json!({"page": 3, "limit": 10, "total": 25}));
    assert_eq!(p["data"].as_array().unwrap().len(), 5);
    assert_eq!(fx.list("?page=9").await["data"], json!([]));

    // search: username substring, email (case-insensitive)
    let r = fx.list("?search=user1").await;
    assert_eq!(r["pagination"]["total"], 10);
    assert!(usernames(&r).iter().all(|n| n.starts_with("user1")));
    assert_eq!(fx.list("?search=USER07").await["data"][0]["username"], "user07");
    assert_eq!(fx.list("?search=mail.EXAMPLE").await["pagination"]["total"], 5);
    assert_eq!(fx.list("?search=nobody").await["pagination"]["total"], 0);

    // status filter
    let ids: Vec<String> = fx.list("?search=user2").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 5);
    fx.action(&ids[0], "ban", json!({"reason": "cheating"})).await;
    fx.action(&ids[1], "ban", json!({})).await;
    fx.action(&ids[2], "pause", json!({})).await;
    let banned = fx.list("?status=BANNED").await;
    assert_eq!(banned["pagination"]["total"], 2);
    assert!(banned["data"].as_array().unwrap().iter().all(|u| u["status"] == "BANNED"));
    assert_eq!(fx.list("?status=PAUSED").await["pagination"]["total"], 1);
    assert_eq!(fx.list("?status=ACTIVE").await["pagination"]["total"], 22);
    assert_eq!(fx.list("?status=active&search=user2").await["pagination"]["total"], 2);

    for (q, field) in
        [("?status=GONE", "status"), ("?status=USED", "status"), ("?page=x", "page"), ("?limit=abc", "limit")]
    {
        let r = fx.s.get(&format!("{}{q}", fx.path()), &fx.seller.token).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with(&format!("{field}:")), "{q} -> {}", r.body);
    }
}

#[tokio::test]
async fn show_update_and_delete() {
    let fx = Fx::new().await;
    let t = now();
    let mut u = user(&fx.app_id, "john");
    u.email = Some("john@example.com".into());
    u.devices = vec!["HWID-A1".into(), "HWID-B2".into()];
    u.last_ip = Some("192.168.1.1".into());
    u.level = 2;
    u.expires_at = Some(t + Duration::days(30));
    u.last_login = Some(t);
    u.note = Some("made on the desktop".into());
    let u = fx.add(u).await;

    let got = fx.show(&u.id).await;
    assert_eq!(
        got,
        json!({
            "id": u.id, "username": "john", "email": "john@example.com", "hwid": "HWID-A1",
            "devices": ["HWID-A1", "HWID-B2"], "ip": "192.168.1.1", "level": 2, "status": "ACTIVE",
            "banReason": null, "lastLogin": rfc3339(&t), "expiresAt": rfc3339(&(t + Duration::days(30))),
            "createdAt": rfc3339(&u.created_at), "note": "made on the desktop"
        })
    );

    // PATCH level and email (normalised); the answer is the user
    let r = fx.s.patch(&fx.usr(&u.id), &fx.seller.token, json!({"level": 5, "email": " New@Example.COM "})).await;
    r.assert_status(200);
    assert_eq!(r.data()["level"], 5);
    assert_eq!(r.data()["email"], "new@example.com");
    assert!(r.data().get("password").is_none() && r.data().get("passwordHash").is_none());
    let got = fx.show(&u.id).await;
    assert_eq!((got["level"].clone(), got["email"].clone()), (json!(5), json!("new@example.com")));

    // absent fields stay; null clears the email
    fx.s.patch(&fx.usr(&u.id), &fx.seller.token, json!({})).await.assert_status(200);
    assert_eq!(fx.show(&u.id).await["email"], "new@example.com");
    fx.s.patch(&fx.usr(&u.id), &fx.seller.token, json!({"email": null})).await.assert_status(200);
    let got = fx.show(&u.id).await;
    assert_eq!((got["email"].clone(), got["level"].clone()), (Value::Null, json!(5)));

    // password: stored hashed, the new one verifies and the old one does not
    let r = fx.s.patch(&fx.usr(&u.id), &fx.seller.token, json!({"password": "brand new pass"})).await;
    r.assert_status(200);
    assert!(!r.body.to_string().contains("argon2"), "no hash in the answer");
    let hash = fx.stored_hash(&u.id).await;
    assert!(hash.starts_with("$argon2id$"));
    assert!(password::verify("brand new pass", &hash));
    assert!(!password::verify(PASSWORD, &hash));

    // delete: user, sessions and variables go
    let sess = fx.add_session(&u.id).await;
    fx.s.state
        .store
        .set_user_variable(&UserVariable {
            app_id: fx.app_id.clone(),
            user_id: u.id.clone(),
            key: "k".into(),
            value: "v".into(),
            updated_at: now(),
        })
        .await
        .unwrap();
    let r = fx.s.delete(&fx.usr(&u.id), &fx.seller.token).await;
    r.assert_status(200);
    assert_eq!(r.body, json!({"success": true, "message": "User deleted"}));
    fx.s.get(&fx.usr(&u.id), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    fx.s.delete(&fx.usr(&u.id), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    fx.s.patch(&fx.usr(&u.id), &fx.seller.token, json!({"level": 1})).await.assert_error(404, "NOT_FOUND");
    assert!(!fx.live_session_ids().await.contains(&sess.id));
    assert!(fx.s.state.store.list_user_variables(&fx.app_id, &u.id).await.unwrap().is_empty());
    assert_eq!(fx.list("").await["pagination"]["total"], 0);
}

#[tokio::test]
async fn patch_bad_input_names_the_field_and_changes_nothing() {
    let fx = Fx::new().await;
    let mut u = user(&fx.app_id, "strict");
    u.email = Some("strict@example.com".into());
    let u = fx.add(u).await;
    let before = fx.show(&u.id).await;
    let cases = [
        (json!({"level": -1}), "level"),
        (json!({"level": 1_000_001}), "level"),
        (json!({"level": "high"}), "level"),
        (json!({"level": 2.5}), "level"),
        (json!({"email": "not-an-email"}), "email"),
        (json!({"email": ""}), "email"),
        (json!({"email": 5}), "email"),
        (json!({"password": ""}), "password"),
        (json!({"password": "p".repeat(1025)}), "password"),
        (json!({"password": 12345678}), "password"),
        // a valid field beside an invalid one is not applied either
        (json!({"level": 9, "email": "bad"}), "email"),
        (json!({"email": "ok@example.com", "password": ""}), "password"),
    ];
    for (body, field) in cases {
        let r = fx.s.patch(&fx.usr(&u.id), &fx.seller.token, body.clone()).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with(&format!("{field}:")), "{body} -> {}", r.body);
    }
    fx.s.raw(Method::PATCH, &fx.usr(&u.id), Some(&fx.seller.token), b"{\"level\": ".to_vec())
        .await
        .assert_error(400, "INVALID_JSON");
    fx.s.raw(Method::PATCH, &fx.usr(&u.id), Some(&fx.seller.token), b"\"level\"".to_vec())
        .await
        .assert_error(400, "VALIDATION_ERROR");
    assert_eq!(fx.show(&u.id).await, before);
    assert!(password::verify(PASSWORD, &fx.stored_hash(&u.id).await), "password unchanged");
}

#[tokio::test]
async fn ban_kills_sessions_unban_pause_unpause() {
    let fx = Fx::new().await;
    let u = fx.add_named("cheater").await;
    let bystander = fx.add_named("honest").await;
    let s1 = fx.add_session(&u.id).await;
    let s2 = fx.add_session(&u.id).await;
    let kept = fx.add_session(&bystander.id).await;
    assert_eq!(fx.live_session_ids().await, HashSet::from([s1.id.clone(), s2.id.clone(), kept.id.clone()]));

    let r = fx.action(&u.id, "ban", json!({"reason": "Terms violation"})).await;
    assert_eq!(r, json!({"success": true, "message": "User banned"}));
    let got = fx.show(&u.id).await;
    assert_eq!((got["status"].clone(), got["banReason"].clone()), (json!("BANNED"), json!("Terms violation")));
    assert_eq!(fx.live_session_ids().await, HashSet::from([kept.id.clone()]), "only the banned user's sessions died");
    assert_eq!(fx.show(&bystander.id).await["status"], "ACTIVE");

    // a banned user cannot be paused, and unpause does not lift the ban
    fx.s.post(&format!("{}/pause", fx.usr(&u.id)), &fx.seller.token, json!({})).await.assert_error(409, "CONFLICT");
    assert_eq!(fx.action(&u.id, "unpause", json!({})).await["message"], "User unpaused");
    assert_eq!(fx.show(&u.id).await["status"], "BANNED");

    assert_eq!(fx.action(&u.id, "unban", json!({})).await, json!({"success": true, "message": "User unbanned"}));
    let got = fx.show(&u.id).await;
    assert_eq!((got["status"].clone(), got["banReason"].clone()), (json!("ACTIVE"), Value::Null));

    // pause also ends sessions
    let s3 = fx.add_session(&u.id).await;
    assert_eq!(fx.action(&u.id, "pause", json!({})).await, json!({"success": true, "message": "User paused"}));
    assert_eq!(fx.show(&u.id).await["status"], "PAUSED");
    assert!(!fx.live_session_ids().await.contains(&s3.id));
    assert_eq!(fx.action(&u.id, "unpause", json!({})).await, json!({"success": true, "message": "User unpaused"}));
    assert_eq!(fx.show(&u.id).await["status"], "ACTIVE");

    // ban with no body at all
    fx.s.req(Method::POST, &format!("{}/ban", fx.usr(&u.id)), Some(&fx.seller.token), None).await.assert_status(200);
    assert_eq!(fx.show(&u.id).await["status"], "BANNED");
    fx.action(&u.id, "unban", json!({})).await;

    // bad reason: named, nothing changes
    for body in [json!({"reason": "r".repeat(501)}), json!({"reason": false})] {
        let r = fx.s.post(&format!("{}/ban", fx.usr(&u.id)), &fx.seller.token, body.clone()).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert!(r.body["message"].as_str().unwrap().starts_with("reason:"), "{body} -> {}", r.body);
    }
    fx.s.raw(Method::POST, &format!("{}/ban", fx.usr(&u.id)), Some(&fx.seller.token), b"{".to_vec())
        .await
        .assert_error(400, "INVALID_JSON");
    assert_eq!(fx.show(&u.id).await["status"], "ACTIVE");

    for action in ["ban", "unban", "pause", "unpause", "reset-hwid"] {
        fx.s.post(&format!("{}/{action}", fx.usr("usr_nope")), &fx.seller.token, json!({}))
            .await
            .assert_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn reset_hwid_is_idempotent() {
    let fx = Fx::new().await;
    let mut u = user(&fx.app_id, "mover");
    u.devices = vec!["HWID-OLD".into(), "HWID-OTHER".into()];
    let u = fx.add(u).await;
    assert_eq!(fx.show(&u.id).await["hwid"], "HWID-OLD");
    for _ in 0..2 {
        assert_eq!(fx.action(&u.id, "reset-hwid", json!({})).await, json!({"success": true, "message": "HWID reset"}));
        let got = fx.show(&u.id).await;
        assert_eq!((got["hwid"].clone(), got["devices"].clone()), (Value::Null, json!([])));
        assert_eq!(got["status"], "ACTIVE");
    }
}

#[tokio::test]
async fn extend_adds_days_to_the_later_of_expiry_and_now() {
    let fx = Fx::new().await;
    let t = now();
    let mut active = user(&fx.app_id, "active");
    active.expires_at = Some(t + Duration::days(10));
    let active = fx.add(active).await;
    let mut lapsed = user(&fx.app_id, "lapsed");
    lapsed.expires_at = Some(t - Duration::days(5));
    let lapsed = fx.add(lapsed).await;
    let forever = fx.add_named("forever").await;

    // from the current expiry
    let r = fx.action(&active.id, "extend", json!({"days": 30})).await;
    assert_eq!(r["message"], "Subscription extended by 30 days");
    assert_eq!(r["success"], true);
    let want = rfc3339(&(t + Duration::days(40)));
    assert_eq!(r["data"], json!({"expiresAt": want}));
    assert_eq!(fx.show(&active.id).await["expiresAt"], want);
    let r = fx.action(&active.id, "extend", json!({"days": 1})).await;
    assert_eq!(r["message"], "Subscription extended by 1 days");
    assert_eq!(fx.show(&active.id).await["expiresAt"], rfc3339(&(t + Duration::days(41))));

    // from now when already expired
    let before = now();
    let r = fx.action(&lapsed.id, "extend", json!({"days": 7})).await;
    let after = now();
    let got = ts(&fx.show(&lapsed.id).await["expiresAt"]);
    assert_eq!(ts(&r["data"]["expiresAt"]), got);
    assert!(got >= before + Duration::days(7) && got <= after + Duration::days(7), "{got}");

    // a subscription that never ends stays that way
    let r = fx.action(&forever.id, "extend", json!({"days": 30})).await;
    assert_eq!(r["data"], json!({"expiresAt": null}));
    assert_eq!(fx.show(&forever.id).await["expiresAt"], Value::Null);

    // bad days: named, nothing changes
    let path = format!("{}/extend", fx.usr(&active.id));
    let unchanged = fx.show(&active.id).await["expiresAt"].clone();
    for (body, code) in [
        (json!({"days": 0}), "VALIDATION_ERROR"),
        (json!({"days": -30}), "VALIDATION_ERROR"),
        (json!({"days": 36_501}), "VALIDATION_ERROR"),
        (json!({"days": "30"}), "VALIDATION_ERROR"),
        (json!({"days": 1.5}), "VALIDATION_ERROR"),
        (json!({"days": null}), "VALIDATION_ERROR"),
        (json!({}), "MISSING_FIELDS"),
    ] {
        let r = fx.s.post(&path, &fx.seller.token, body.clone()).await;
        r.assert_error(400, code);
        let msg = r.body["message"].as_str().unwrap();
        assert!(msg.starts_with("days:") || msg == "Missing field: days", "{body} -> {msg}");
    }
    fx.s.raw(Method::POST, &path, Some(&fx.seller.token), b"{\"days\": 3".to_vec())
        .await
        .assert_error(400, "INVALID_JSON");
    assert_eq!(fx.show(&active.id).await["expiresAt"], unchanged);
    // the upper bound itself is fine
    fx.action(&active.id, "extend", json!({"days": 36_500})).await;
    fx.s.post(&format!("{}/extend", fx.usr("usr_nope")), &fx.seller.token, json!({"days": 1}))
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn user_variables_list_and_delete() {
    let fx = Fx::new().await;
    let u = fx.add_named("vars").await;
    let other = fx.add_named("other").await;
    let t = now();
    for (user_id, key, value) in [(&u.id, "theme", "dark"), (&u.id, "lang", "en"), (&other.id, "theme", "light")] {
        let var = UserVariable {
            app_id: fx.app_id.clone(),
            user_id: user_id.clone(),
            key: key.into(),
            value: value.into(),
            updated_at: t,
        };
        fx.s.state.store.set_user_variable(&var).await.unwrap();
    }
    let vars_path = format!("{}/variables", fx.usr(&u.id));
    let r = fx.s.get(&vars_path, &fx.seller.token).await;
    r.assert_status(200);
    assert_eq!(
        r.data(),
        &json!([
            {"key": "lang", "value": "en", "updatedAt": rfc3339(&t)},
            {"key": "theme", "value": "dark", "updatedAt": rfc3339(&t)}
        ])
    );
    let r = fx.s.delete(&format!("{vars_path}/theme"), &fx.seller.token).await;
    r.assert_status(200);
    assert_eq!(r.body, json!({"success": true, "message": "Variable deleted"}));
    assert_eq!(
        fx.s.get(&vars_path, &fx.seller.token).await.data(),
        &json!([{"key": "lang", "value": "en", "updatedAt": rfc3339(&t)}])
    );
    fx.s.delete(&format!("{vars_path}/theme"), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    fx.s.delete(&format!("{vars_path}/never"), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    // the other user's variable of the same key is untouched
    let theirs = fx.s.get(&format!("{}/variables", fx.usr(&other.id)), &fx.seller.token).await;
    assert_eq!(theirs.data()[0]["value"], "light");
    // an absent user has no variables to list
    fx.s.get(&format!("{}/variables", fx.usr("usr_nope")), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    fx.s.delete(&format!("{}/variables/lang", fx.usr("usr_nope")), &fx.seller.token)
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn another_sellers_users_are_invisible() {
    let fx = Fx::new().await;
    let mut u = user(&fx.app_id, "victim");
    u.devices = vec!["HWID-V".into()];
    u.expires_at = Some(now() + Duration::days(3));
    u.email = Some("victim@example.com".into());
    let u = fx.add(u).await;
    let sess = fx.add_session(&u.id).await;
    fx.s.state
        .store
        .set_user_variable(&UserVariable {
            app_id: fx.app_id.clone(),
            user_id: u.id.clone(),
            key: "k".into(),
            value: "v".into(),
            updated_at: now(),
        })
        .await
        .unwrap();
    let before_user = fx.show(&u.id).await;
    let before_list = fx.list("").await;

    let intruder = fx.s.seller().await;
    let theirs = fx.s.create_app(&intruder, "Theirs").await;
    let their_app = theirs["id"].as_str().unwrap();
    let t = &intruder.token;
    // the owner's app through the intruder's token, and the owner's user through the intruder's
    // own app: both 404 on every route
    let bases = [fx.path(), format!("/v1/admin/apps/{their_app}/users")];
    for (i, base) in bases.iter().enumerate() {
        if i == 0 {
            fx.s.get(base, t).await.assert_error(404, "NOT_FOUND");
            fx.s.get(&format!("{base}?search=victim"), t).await.assert_error(404, "NOT_FOUND");
        }
        let one = format!("{base}/{}", u.id);
        fx.s.get(&one, t).await.assert_error(404, "NOT_FOUND");
        fx.s.patch(&one, t, json!({"level": 99, "email": null, "password": "stolen!"}))
            .await
            .assert_error(404, "NOT_FOUND");
        fx.s.delete(&one, t).await.assert_error(404, "NOT_FOUND");
        for action in ["ban", "unban", "pause", "unpause", "reset-hwid"] {
            fx.s.post(&format!("{one}/{action}"), t, json!({"reason": "x"})).await.assert_error(404, "NOT_FOUND");
        }
        fx.s.post(&format!("{one}/extend"), t, json!({"days": 365})).await.assert_error(404, "NOT_FOUND");
        fx.s.get(&format!("{one}/variables"), t).await.assert_error(404, "NOT_FOUND");
        fx.s.delete(&format!("{one}/variables/k"), t).await.assert_error(404, "NOT_FOUND");
    }
    let listed = fx.s.get(&bases[1], t).await;
    listed.assert_status(200);
    assert_eq!(listed.body["pagination"]["total"], 0);
    assert_eq!(fx.s.get(&format!("{}?search=victim", bases[1]), t).await.body["pagination"]["total"], 0);

    // nothing changed for the owner
    assert_eq!(fx.show(&u.id).await, before_user);
    assert_eq!(fx.list("").await, before_list);
    assert!(fx.live_session_ids().await.contains(&sess.id));
    assert!(password::verify(PASSWORD, &fx.stored_hash(&u.id).await));
    let vars = fx.s.get(&format!("{}/variables", fx.usr(&u.id)), &fx.seller.token).await;
    assert_eq!(vars.data().as_array().unwrap().len(), 1);
}
