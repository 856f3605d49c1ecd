//! Chats admin API: channels (create, list, show, delete), messages newest first by cursor,
//! mutes (mute, list, unmute); bad input; tenant isolation.
//!
//! Messages and end users are written by the client protocols, so fixtures put them in through
//! the store.

use std::collections::HashSet;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use tollgate_core::model::{ChatMessage, User};
use tollgate_core::time::{now, rfc3339, Timestamp};
use tollgate_core::{ids, password};
use tollgate_store::PageRequest;

use crate::harness::{SellerLogin, TestServer};

fn user(app_id: &str, username: &str) -> User {
    static HASH: OnceLock<String> = OnceLock::new();
    crate::harness::user_row(app_id, username, HASH.get_or_init(|| password::hash("pw").unwrap()).clone())
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
        let app_id = s.create_app(&seller, "Chats").await["id"].as_str().unwrap().to_owned();
        Fx { s, seller, app_id }
    }

    fn path(&self) -> String {
        format!("/v1/admin/apps/{}/chats", self.app_id)
    }

    fn chan(&self, id: &str) -> String {
        format!("{}/{id}", self.path())
    }

    async fn channel(&self, name: &str) -> String {
        let r = self.s.post(&self.path(), &self.seller.token, json!({ "name": name })).await;
        r.assert_status(201);
        r.data()["id"].as_str().unwrap().to_owned()
    }

    async fn list(&self) -> Value {
        let r = self.s.get(&self.path(), &self.seller.token).await;
        r.assert_status(200);
        r.data().clone()
    }

    async fn add_user(&self, username: &str) -> User {
        let u = user(&self.app_id, username);
        self.s.state.store.create_user(&u, &[]).await.unwrap();
        u
    }

    async fn post(&self, channel_id: &str, author: Option<&User>, text: &str, at: Timestamp) -> ChatMessage {
        let m = ChatMessage {
            id: ids::new_id(ids::prefix::MESSAGE),
            app_id: self.app_id.clone(),
            channel_id: channel_id.to_owned(),
            user_id: author.map(|u| u.id.clone()),
            username: author.map_or("ghost".to_owned(), |u| u.username.clone()),
            message: text.to_owned(),
            created_at: at,
        };
        self.s.state.store.post_message(&m).await.unwrap();
        m
    }

    async fn messages(&self, channel_id: &str, query: &str) -> Value {
        let r = self.s.get(&format!("{}/messages{query}", self.chan(channel_id)), &self.seller.token).await;
        r.assert_status(200);
        r.body.clone()
    }

    async fn mutes(&self, channel_id: &str) -> Value {
        let r = self.s.get(&format!("{}/mutes", self.chan(channel_id)), &self.seller.token).await;
        r.assert_status(200);
        r.data().clone()
    }
}

#[track_caller]
fn assert_field_error(r: &crate::harness::Resp, field: &str) {
    r.assert_error(400, "VALIDATION_ERROR");
    assert!(r.body["message"].as_str().unwrap().starts_with(&format!("{field}:")), "{}", r.body);
}

#[tokio::test]
async fn channels_create_list_show_delete() {
    let fx = Fx::new().await;
    assert_eq!(fx.list().await, json!([]));

    let before = now();
    let r = fx.s.post(&fx.path(), &fx.seller.token, json!({"name": "  General "})).await;
    r.assert_status(201);
    assert_eq!(r.body["success"], true);
    let general = r.data().clone();
    let id = general["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("chan_"), "{id}");
    assert_eq!(general["name"], "General", "trimmed");
    assert_eq!(general.as_object().unwrap().len(), 3, "{general}");
    let created = tollgate_core::time::parse_rfc3339(general["createdAt"].as_str().unwrap()).unwrap();
    assert!(created >= before && created <= now());

    // names are case-sensitive: another case is another channel; the same name is a conflict
    let lower = fx.channel("general").await;
    let r = fx.s.post(&fx.path(), &fx.seller.token, json!({"name": "General"})).await;
    r.assert_error(409, "CONFLICT");
    assert_eq!(r.body["message"], "A channel with this name already exists");
    let r = fx.s.post(&fx.path(), &fx.seller.token, json!({"name": " General\t"})).await;
    r.assert_error(409, "CONFLICT");

    // oldest first; two made in the same millisecond are ordered by id
    let listed = fx.list().await;
    let both = listed.as_array().unwrap();
    assert_eq!(both.len(), 2);
    let order = |c: &Value| (c["createdAt"].as_str().unwrap().to_owned(), c["id"].as_str().unwrap().to_owned());
    assert!(order(&both[0]) < order(&both[1]), "{listed}");
    assert_eq!(both.iter().find(|c| c["id"] == general["id"]), Some(&general));
    assert!(both.iter().any(|c| c["id"] == lower.as_str()), "{listed}");

    let r = fx.s.get(&fx.chan(&id), &fx.seller.token).await;
    r.assert_status(200);
    assert_eq!(r.data(), &general);

    // delete takes the channel's messages and mutes with it, and nothing of the other channel
    let u = fx.add_user("talker").await;
    fx.post(&id, Some(&u), "hello", now()).await;
    fx.post(&lower, Some(&u), "kept", now()).await;
    fx.s.post(&format!("{}/mutes", fx.chan(&id)), &fx.seller.token, json!({"userId": u.id})).await.assert_status(201);
    let r = fx.s.delete(&fx.chan(&id), &fx.seller.token).await;
    r.assert_status(200);
    assert_eq!(r.body, json!({"success": true, "message": "Channel deleted"}));
    let store = &fx.s.state.store;
    assert!(store.list_messages(&fx.app_id, &id, None, 10).await.unwrap().is_empty());
    assert!(store.list_mutes(&fx.app_id, &id).await.unwrap().is_empty());
    assert_eq!(store.list_messages(&fx.app_id, &lower, None, 10).await.unwrap().len(), 1);
    assert_eq!(fx.list().await.as_array().unwrap().len(), 1);
    // and the name is free again
    fx.channel("General").await;

    // an unknown or deleted channel: 404 everywhere
    for ch in [id.as_str(), "chan_nope"] {
        fx.s.get(&fx.chan(ch), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
        fx.s.delete(&fx.chan(ch), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
        fx.s.get(&format!("{}/messages", fx.chan(ch)), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
        fx.s.get(&format!("{}/mutes", fx.chan(ch)), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
        fx.s.post(&format!("{}/mutes", fx.chan(ch)), &fx.seller.token, json!({"userId": u.id}))
            .await
            .assert_error(404, "NOT_FOUND");
        fx.s.delete(&format!("{}/mutes/{}", fx.chan(ch), u.id), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    }

    let audit = fx.s.state.store.list_audit(&fx.seller.id, PageRequest { page: 1, limit: 100 }).await.unwrap();
    let actions: HashSet<&str> = audit.items.iter().map(|a| a.action.as_str()).collect();
    for a in ["chat.channel.create", "chat.channel.delete", "chat.mute"] {
        assert!(actions.contains(a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn bad_channel_names_are_named_and_create_nothing() {
    let fx = Fx::new().await;
    fx.channel("existing").await;
    let before = fx.list().await;
    for body in [
        json!({"name": ""}),
        json!({"name": "    "}),
        json!({"name": "c".repeat(65)}),
        json!({"name": "line\nbreak"}),
        json!({"name": "nul\u{0}"}),
        json!({"name": 5}),
        json!({"name": null}),
    ] {
        let r = fx.s.post(&fx.path(), &fx.seller.token, body.clone()).await;
        assert_field_error(&r, "name");
    }
    fx.s.post(&fx.path(), &fx.seller.token, json!({})).await.assert_error(400, "MISSING_FIELDS");
    fx.s.raw(Method::POST, &fx.path(), Some(&fx.seller.token), b"{\"name\": ".to_vec())
        .await
        .assert_error(400, "INVALID_JSON");
    assert_eq!(fx.list().await, before);
    // the bounds themselves are fine
    fx.channel(&"é".repeat(64)).await;
}

#[tokio::test]
async fn messages_walk_newest_first_by_cursor() {
    let fx = Fx::new().await;
    let ch = fx.channel("lobby").await;
    let other = fx.channel("other").await;
    let alice = fx.add_user("alice").await;
    let bob = fx.add_user("bob").await;
    let t0 = now() - Duration::hours(1);
    let mut posted = Vec::new();
    for i in 0..23i64 {
        // pairs share an instant, so the id breaks the tie
        let at = t0 + Duration::seconds(i / 2);
        let author = if i % 3 == 0 {
            None
        } else if i % 2 == 0 {
            Some(&alice)
        } else {
            Some(&bob)
        };
        posted.push(fx.post(&ch, author, &format!("message {i}"), at).await);
    }
    fx.post(&other, Some(&alice), "elsewhere", now()).await;
    posted.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    let want: Vec<String> = posted.iter().map(|m| m.id.clone()).collect();

    // one page with everything, and the item shape
    let all = fx.messages(&ch, "").await;
    assert_eq!(all["pagination"], json!({"limit": 50, "nextCursor": null}));
    let items = all["data"].as_array().unwrap();
    let got: Vec<String> = items.iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(got, want, "newest first, ties by id, only this channel");
    let newest = &posted[0];
    assert_eq!(
        items[0],
        json!({
            "id": newest.id, "userId": newest.user_id, "username": newest.username,
            "message": newest.message, "createdAt": rfc3339(&newest.created_at)
        })
    );
    let ghost = items.iter().find(|m| m["username"] == "ghost").unwrap();
    assert_eq!(ghost["userId"], Value::Null);

    // walking by cursor visits every message once, in order, for several page sizes
    for limit in [1usize, 5, 7, 23] {
        let mut walked = Vec::new();
        let mut query = format!("?limit={limit}");
        loop {
            let page = fx.messages(&ch, &query).await;
            assert_eq!(page["pagination"]["limit"], limit);
            let ids: Vec<String> =
                page["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
            assert!(ids.len() <= limit);
            walked.extend(ids);
            match page["pagination"]["nextCursor"].as_str() {
                Some(c) => query = format!("?limit={limit}&cursor={c}"),
                None => break,
            }
            assert!(walked.len() < want.len() + 1, "limit {limit}: the walk does not end");
        }
        assert_eq!(walked, want, "limit {limit}");
    }
    // a full last page says there is nothing after it
    assert_eq!(fx.messages(&ch, "?limit=23").await["pagination"]["nextCursor"], Value::Null);
    // limits outside 1..=100 are refused, naming `limit`
    for bad in ["?limit=0", "?limit=1000"] {
        let r = fx.s.get(&format!("{}/messages{bad}", fx.chan(&ch)), &fx.seller.token).await;
        r.assert_status(400);
        assert!(r.body["message"].as_str().unwrap().starts_with("limit"), "{}", r.body);
    }
    assert_eq!(fx.messages(&ch, "?limit=1").await["pagination"]["limit"], 1);
    assert_eq!(fx.messages(&ch, "?limit=100").await["pagination"]["limit"], 100);
    // an empty cursor is no cursor
    assert_eq!(fx.messages(&ch, "?cursor=").await["data"].as_array().unwrap().len(), 23);

    let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
    for bad in
        ["not-a-cursor!".to_owned(), "%00".to_owned(), b64("1234"), b64("soon:msg_x"), b64("1:"), "A".repeat(300)]
    {
        let r = fx.s.get(&format!("{}/messages?cursor={bad}", fx.chan(&ch)), &fx.seller.token).await;
        assert_field_error(&r, "cursor");
    }
    let r = fx.s.get(&format!("{}/messages?limit=many", fx.chan(&ch)), &fx.seller.token).await;
    assert_field_error(&r, "limit");
    // an empty channel
    assert_eq!(fx.messages(&fx.channel("quiet").await, "").await["data"], json!([]));
}

#[tokio::test]
async fn mute_list_replace_and_unmute() {
    let fx = Fx::new().await;
    let ch = fx.channel("lobby").await;
    let other_ch = fx.channel("other").await;
    let troll = fx.add_user("troll").await;
    let spammer = fx.add_user("spammer").await;
    let mutes = format!("{}/mutes", fx.chan(&ch));

    let until = now() + Duration::hours(2);
    let before = now();
    let r =
        fx.s.post(&mutes, &fx.seller.token, json!({"userId": troll.id, "reason": " spam ", "until": rfc3339(&until)}))
            .await;
    r.assert_status(201);
    let created_at = r.data()["createdAt"].clone();
    assert_eq!(
        r.data(),
        &json!({"userId": troll.id, "reason": "spam", "until": rfc3339(&until), "createdAt": created_at})
    );
    let t = tollgate_core::time::parse_rfc3339(created_at.as_str().unwrap()).unwrap();
    assert!(t >= before && t <= now());
    // until unmuted: no `until`, or null; no reason
    fx.s.post(&mutes, &fx.seller.token, json!({"userId": spammer.id, "until": null})).await.assert_status(201);

    // Listed oldest first; two mutes made in the same millisecond are ordered by user id.
    let listed = fx.mutes(&ch).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (first, second) = if listed[0]["createdAt"] == listed[1]["createdAt"] {
        let troll_first = troll.id < spammer.id;
        if troll_first {
            (0, 1)
        } else {
            (1, 0)
        }
    } else {
        (0, 1)
    };
    assert_eq!(listed[first]["userId"], troll.id.as_str());
    assert_eq!(listed[first]["until"], rfc3339(&until));
    assert_eq!(
        listed[second],
        json!({"userId": spammer.id, "reason": null, "until": null, "createdAt": listed[second]["createdAt"]})
    );
    assert_eq!(fx.mutes(&other_ch).await, json!([]), "mutes are per channel");

    // muting again replaces the mute
    let r = fx.s.post(&mutes, &fx.seller.token, json!({"userId": troll.id, "reason": "again"})).await;
    r.assert_status(201);
    let listed = fx.mutes(&ch).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let t = listed.as_array().unwrap().iter().find(|m| m["userId"] == troll.id.as_str()).unwrap();
    assert_eq!((t["reason"].clone(), t["until"].clone()), (json!("again"), Value::Null));

    // unmute
    let r = fx.s.delete(&format!("{mutes}/{}", troll.id), &fx.seller.token).await;
    r.assert_status(200);
    assert_eq!(r.body, json!({"success": true, "message": "User unmuted"}));
    let listed = fx.mutes(&ch).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["userId"], spammer.id.as_str());
    fx.s.delete(&format!("{mutes}/{}", troll.id), &fx.seller.token).await.assert_error(404, "NOT_FOUND");
    fx.s.delete(&format!("{mutes}/usr_nope"), &fx.seller.token).await.assert_error(404, "NOT_FOUND");

    let audit = fx.s.state.store.list_audit(&fx.seller.id, PageRequest { page: 1, limit: 100 }).await.unwrap();
    assert!(audit.items.iter().any(|a| a.action == "chat.unmute" && a.target.as_deref() == Some(troll.id.as_str())));
}

#[tokio::test]
async fn bad_mutes_are_refused_and_change_nothing() {
    let fx = Fx::new().await;
    let ch = fx.channel("lobby").await;
    let u = fx.add_user("someone").await;
    let mutes = format!("{}/mutes", fx.chan(&ch));
    let past = rfc3339(&(now() - Duration::minutes(1)));
    for (body, field) in [
        (json!({"userId": u.id, "until": past}), "until"),
        (json!({"userId": u.id, "until": "tomorrow"}), "until"),
        (json!({"userId": u.id, "until": "2099-13-01T00:00:00Z"}), "until"),
        (json!({"userId": u.id, "until": 4_102_444_800_i64}), "until"),
        (json!({"userId": u.id, "reason": "r".repeat(501)}), "reason"),
        (json!({"userId": u.id, "reason": false}), "reason"),
        (json!({"userId": 7}), "userId"),
    ] {
        let r = fx.s.post(&mutes, &fx.seller.token, body.clone()).await;
        assert_field_error(&r, field);
    }
    fx.s.post(&mutes, &fx.seller.token, json!({"reason": "x"})).await.assert_error(400, "MISSING_FIELDS");
    fx.s.raw(Method::POST, &mutes, Some(&fx.seller.token), b"{".to_vec()).await.assert_error(400, "INVALID_JSON");

    // the user must be one of this app's
    let r = fx.s.post(&mutes, &fx.seller.token, json!({"userId": "usr_nope"})).await;
    r.assert_error(404, "NOT_FOUND");
    assert_eq!(r.body["message"], "User not found");
    let other_app = fx.s.create_app(&fx.seller, "Other").await["id"].as_str().unwrap().to_owned();
    let stranger = user(&other_app, "stranger");
    fx.s.state.store.create_user(&stranger, &[]).await.unwrap();
    fx.s.post(&mutes, &fx.seller.token, json!({"userId": stranger.id})).await.assert_error(404, "NOT_FOUND");

    assert_eq!(fx.mutes(&ch).await, json!([]));
}

#[tokio::test]
async fn another_sellers_chats_are_invisible() {
    let fx = Fx::new().await;
    let ch = fx.channel("private").await;
    let u = fx.add_user("member").await;
    fx.post(&ch, Some(&u), "secret", now()).await;
    let mutes = format!("{}/mutes", fx.chan(&ch));
    fx.s.post(&mutes, &fx.seller.token, json!({"userId": u.id, "reason": "x"})).await.assert_status(201);
    let before = (fx.list().await, fx.messages(&ch, "").await, fx.mutes(&ch).await);

    let intruder = fx.s.seller().await;
    let their_app = fx.s.create_app(&intruder, "Theirs").await["id"].as_str().unwrap().to_owned();
    let t = &intruder.token;
    let bases = [fx.path(), format!("/v1/admin/apps/{their_app}/chats")];
    for (i, base) in bases.iter().enumerate() {
        if i == 0 {
            fx.s.get(base, t).await.assert_error(404, "NOT_FOUND");
            fx.s.post(base, t, json!({"name": "hijack"})).await.assert_error(404, "NOT_FOUND");
        }
        let one = format!("{base}/{ch}");
        fx.s.get(&one, t).await.assert_error(404, "NOT_FOUND");
        fx.s.delete(&one, t).await.assert_error(404, "NOT_FOUND");
        fx.s.get(&format!("{one}/messages"), t).await.assert_error(404, "NOT_FOUND");
        fx.s.get(&format!("{one}/mutes"), t).await.assert_error(404, "NOT_FOUND");
        fx.s.post(&format!("{one}/mutes"), t, json!({"userId": u.id})).await.assert_error(404, "NOT_FOUND");
        fx.s.delete(&format!("{one}/mutes/{}", u.id), t).await.assert_error(404, "NOT_FOUND");
    }
    let theirs = fx.s.get(&bases[1], t).await;
    theirs.assert_status(200);
    assert_eq!(theirs.data(), &json!([]));

    assert_eq!((fx.list().await, fx.messages(&ch, "").await, fx.mutes(&ch).await), before);
}
