//! What the store keeps for WebSocket clients, as the seller sees it: a file's transfer count
//! (downloads started from the first byte, by any client protocol) and an account's note.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use tollgate_core::ids;
use tollgate_core::model::{User, UserStatus};
use tollgate_core::time::{now, rfc3339};
use tollgate_store::UnlicensedSignup;

use crate::authly::{client_app, registered, ClientApp};
use crate::authly_accounts::{admin, near, ts};
use crate::harness::TestServer;

async fn upload(s: &TestServer, app: &ClientApp, name: &str, data: &[u8]) -> String {
    let form =
        Form::new().part("file", Part::bytes(data.to_vec()).file_name("upload.bin")).text("name", name.to_owned());
    let res =
        s.http.post(s.url(&admin(app, "/files"))).bearer_auth(&app.seller.token).multipart(form).send().await.unwrap();
    let r = TestServer::into_resp(res).await;
    r.assert_status(201);
    assert_eq!(r.data()["transferCount"], 0, "{}", r.body);
    assert_eq!(r.data()["lastTransferredAt"], Value::Null, "{}", r.body);
    r.data()["id"].as_str().unwrap().to_owned()
}

/// The file as the admin file list shows it.
async fn listed(s: &TestServer, app: &ClientApp, file_id: &str) -> Value {
    let r = s.get(&admin(app, "/files"), &app.seller.token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().iter().find(|f| f["id"] == file_id).cloned().expect("the file is listed")
}

/// A client download with the session token; returns the HTTP status.
async fn download(s: &TestServer, file_id: &str, token: &str, range: Option<&str>, head: bool) -> u16 {
    let url = s.url(&format!("/v1/files/download/{file_id}"));
    let mut rb = if head { s.http.head(url) } else { s.http.get(url) };
    rb = rb.header("x-session-token", token);
    if let Some(r) = range {
        rb = rb.header("range", r);
    }
    let res = rb.send().await.unwrap();
    let status = res.status().as_u16();
    res.bytes().await.unwrap();
    status
}

#[tokio::test]
async fn downloads_from_the_first_byte_count_as_transfers() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let data = vec![7u8; 5000];
    let file_id = upload(&s, &app, "module.bin", &data).await;
    let sid = registered(&s, &app, "bob", "hunter2-pass").await;

    let before = now();
    assert_eq!(download(&s, &file_id, &sid, None, false).await, 200);
    let f = listed(&s, &app, &file_id).await;
    assert_eq!(f["transferCount"], 1, "{f}");
    let last = ts(&f["lastTransferredAt"]);
    near(last, before);
    assert!(last >= before - chrono::Duration::seconds(1), "{f}");
    // The same format as the file's other timestamp.
    assert_eq!(f["lastTransferredAt"].as_str().unwrap(), rfc3339(&last));
    assert_eq!(f["createdAt"].as_str().unwrap().len(), f["lastTransferredAt"].as_str().unwrap().len(), "{f}");

    // A range from byte 0 starts a download; a later range (a resume) does not.
    assert_eq!(download(&s, &file_id, &sid, Some("bytes=0-99"), false).await, 206);
    assert_eq!(listed(&s, &app, &file_id).await["transferCount"], 2);
    assert_eq!(download(&s, &file_id, &sid, Some("bytes=100-"), false).await, 206);
    // Neither does a HEAD, a refused download, or the seller's own download.
    assert_eq!(download(&s, &file_id, &sid, None, true).await, 200);
    assert_eq!(download(&s, &file_id, "not-a-session", None, false).await, 401);
    let res = s
        .http
        .get(s.url(&admin(&app, &format!("/files/{file_id}/download"))))
        .bearer_auth(&app.seller.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.bytes().await.unwrap();
    let f = listed(&s, &app, &file_id).await;
    assert_eq!(f["transferCount"], 2, "{f}");

    // Another file of the app is counted apart.
    let other = upload(&s, &app, "other.bin", b"x").await;
    assert_eq!(download(&s, &other, &sid, None, false).await, 200);
    assert_eq!(listed(&s, &app, &other).await["transferCount"], 1);
    assert_eq!(listed(&s, &app, &file_id).await["transferCount"], 2);
}

#[tokio::test]
async fn the_admin_user_view_shows_the_accounts_note() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    // An account registered with a key has no note.
    registered(&s, &app, "keyed", "hunter2-pass").await;
    let r = s.get(&admin(&app, "/users?search=keyed"), &app.seller.token).await;
    r.assert_status(200);
    let keyed = &r.data()[0];
    assert!(keyed.as_object().unwrap().contains_key("note"), "{keyed}");
    assert_eq!(keyed["note"], Value::Null);

    // An account made without a license, with a note.
    let t = now();
    let user = User {
        id: ids::new_id(ids::prefix::USER),
        app_id: app.id.clone(),
        username: "noted".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$dXNlcg$aGFzaA".into(),
        email: None,
        level: 1,
        expires_at: None,
        devices: Vec::new(),
        max_devices: 1,
        last_ip: Some("127.0.0.1".into()),
        status: UserStatus::Active,
        ban_reason: None,
        last_login: None,
        created_at: t,
        note: Some("made on the desktop \u{e9}dition".into()),
    };
    let made = s
        .state
        .store
        .create_unlicensed_user(&user, "127.0.0.1", t - chrono::Duration::hours(24), 3, None, &[])
        .await
        .unwrap();
    assert_eq!(made, UnlicensedSignup::Created);
    let r = s.get(&admin(&app, &format!("/users/{}", user.id)), &app.seller.token).await;
    r.assert_status(200);
    assert_eq!(r.data()["note"], json!("made on the desktop \u{e9}dition"), "{}", r.body);
    assert_eq!(r.data()["username"], "noted");
    assert!(r.data().get("passwordHash").is_none());
}
