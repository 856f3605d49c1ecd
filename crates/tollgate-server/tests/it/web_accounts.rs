//! The dashboard's users, sessions (live), variables and files pages: every page and form,
//! the change checked through the admin API, the client API or the store; CSRF refusals and
//! another seller's app.

use chrono::Duration;
use serde_json::json;
use tollgate_core::model::{User, UserStatus, UserVariable};
use tollgate_core::password;
use tollgate_core::time::{now, parse_rfc3339};

use crate::authly::{call, client_app, init, keys, registered};
use crate::harness::{user_row, TestServer};
use crate::web::Web;
use crate::ws::BlazeApp;

async fn add_user(srv: &TestServer, app_id: &str, username: &str, hash: &str, f: impl FnOnce(&mut User)) -> User {
    let mut u = user_row(app_id, username, hash.to_owned());
    f(&mut u);
    srv.state.store.create_user(&u, &[]).await.unwrap();
    u
}

#[tokio::test]
async fn users_list_searches_filters_and_pages() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let app = web.create_app("Users").await;
    let hash = password::hash("old secret").unwrap();
    for i in 0..50 {
        add_user(&srv, &app, &format!("filler{i:02}"), &hash, |_| {}).await;
    }
    add_user(&srv, &app, "alice", &hash, |u| u.email = Some("alice@example.com".into())).await;
    add_user(&srv, &app, "carol", &hash, |u| u.status = UserStatus::Banned).await;

    let page = web.get(&format!("/apps/{app}/users")).await;
    page.assert_status(200)
        .assert_contains("id=\"users\"")
        .assert_contains("data-username=\"carol\"")
        .assert_contains("data-username=\"alice\"")
        .assert_contains("52 found")
        .assert_contains("id=\"next-page\"")
        .assert_lacks("id=\"prev-page\"");
    assert_eq!(page.body.matches("data-username=").count(), 50, "pages of 50");
    let second = web.get(&format!("/apps/{app}/users?page=2")).await;
    second.assert_status(200).assert_contains("id=\"prev-page\"").assert_lacks("id=\"next-page\"");
    assert_eq!(second.body.matches("data-username=").count(), 2);

    // Search over username and email, status filter.
    let found = web.get(&format!("/apps/{app}/users?search=ALICE%40example")).await;
    found.assert_status(200).assert_contains("data-username=\"alice\"").assert_lacks("data-username=\"carol\"");
    assert_eq!(found.body.matches("data-username=").count(), 1);
    let banned = web.get(&format!("/apps/{app}/users?status=banned")).await;
    banned.assert_status(200).assert_contains("data-username=\"carol\"").assert_lacks("data-username=\"alice\"");
    web.get(&format!("/apps/{app}/users?status=GONE")).await.assert_status(400).assert_contains("status");
    web.get(&format!("/apps/{app}/users?search=nobody")).await.assert_status(200).assert_contains("id=\"no-users\"");
    // The admin API's listing agrees (the same rules in manage::users).
    let api = srv.get(&format!("/v1/admin/apps/{app}/users?status=BANNED"), &seller.token).await;
    assert_eq!(api.data().as_array().unwrap().len(), 1);

    let (other, _) = Web::new_seller(&srv).await;
    other.get(&format!("/apps/{app}/users")).await.assert_status(404);
}

#[tokio::test]
async fn user_page_actions_change_the_user() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let app = web.create_app("Users").await;
    let hash = password::hash("old secret").unwrap();
    let expiry = now() + Duration::days(1);
    let bob = add_user(&srv, &app, "bob", &hash, |u| {
        u.devices = vec!["HW-BOB".into()];
        u.expires_at = Some(expiry);
        u.last_ip = Some("198.51.100.7".into());
    })
    .await;
    srv.state
        .store
        .set_user_variable(&UserVariable {
            app_id: app.clone(),
            user_id: bob.id.clone(),
            key: "theme".into(),
            value: "dark".into(),
            updated_at: now(),
        })
        .await
        .unwrap();
    let url = format!("/apps/{app}/users/{}", bob.id);
    let api_url = format!("/v1/admin/apps/{app}/users/{}", bob.id);

    let page = web.get(&url).await;
    page.assert_status(200)
        .assert_contains("<h1>bob</h1>")
        .assert_contains("id=\"user-status\" class=\"badge s-active\">ACTIVE")
        .assert_contains("HW-BOB")
        .assert_contains("198.51.100.7")
        .assert_contains("theme")
        .assert_contains("id=\"ban-reason\"")
        .assert_contains("id=\"ban\"")
        .assert_lacks("id=\"unban\"");

    // Ban: refused without the CSRF field, done with it.
    web.post_raw(&format!("{url}/ban"), &[("reason", "abuse")]).await.assert_status(403);
    assert_eq!(srv.get(&api_url, &seller.token).await.data()["status"], "ACTIVE");
    let long = "x".repeat(501);
    web.post(&format!("{url}/ban"), &[("reason", &long)])
        .await
        .assert_status(400)
        .assert_contains("id=\"reason-error\"")
        .assert_contains("aria-invalid=\"true\"");
    assert_eq!(srv.get(&api_url, &seller.token).await.data()["status"], "ACTIVE");
    web.post(&format!("{url}/ban"), &[("reason", "abuse")]).await.assert_redirect(&url);
    let u = srv.get(&api_url, &seller.token).await;
    assert_eq!((u.data()["status"].as_str(), u.data()["banReason"].as_str()), (Some("BANNED"), Some("abuse")));
    web.get(&url)
        .await
        .assert_contains("User banned.")
        .assert_contains(">BANNED")
        .assert_contains("id=\"unban\"")
        .assert_lacks("id=\"ban\"");
    web.post(&format!("{url}/unban"), &[]).await.assert_redirect(&url);
    assert_eq!(srv.get(&api_url, &seller.token).await.data()["status"], "ACTIVE");
    web.post(&format!("{url}/pause"), &[]).await.assert_redirect(&url);
    assert_eq!(srv.get(&api_url, &seller.token).await.data()["status"], "PAUSED");
    web.get(&url).await.assert_contains("id=\"unpause\"");
    web.post(&format!("{url}/unpause"), &[]).await.assert_redirect(&url);
    assert_eq!(srv.get(&api_url, &seller.token).await.data()["status"], "ACTIVE");

    // Extend: a bad number is shown beside the field; 10 days move the expiry.
    web.post(&format!("{url}/extend"), &[("days", "lots")])
        .await
        .assert_status(400)
        .assert_contains("id=\"days-error\"")
        .assert_contains("value=\"lots\"");
    web.post(&format!("{url}/extend"), &[("days", "0")]).await.assert_status(400).assert_contains("days-error");
    web.post(&format!("{url}/extend"), &[("days", "10")]).await.assert_redirect(&url);
    let expires = parse_rfc3339(srv.get(&api_url, &seller.token).await.data()["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires, expiry + Duration::days(10));

    // Reset devices.
    web.post_raw(&format!("{url}/reset-devices"), &[]).await.assert_status(403);
    assert_eq!(srv.get(&api_url, &seller.token).await.data()["devices"], json!(["HW-BOB"]));
    web.post(&format!("{url}/reset-devices"), &[]).await.assert_redirect(&url);
    assert_eq!(srv.get(&api_url, &seller.token).await.data()["devices"], json!([]));

    // Edit: errors beside their fields with what was typed kept, then a real change.
    web.post(&format!("{url}/edit"), &[("level", "high"), ("email", ""), ("password", "")])
        .await
        .assert_status(400)
        .assert_contains("id=\"level-error\"")
        .assert_contains("value=\"high\"");
    web.post(&format!("{url}/edit"), &[("level", "2"), ("email", "not-an-email"), ("password", "")])
        .await
        .assert_status(400)
        .assert_contains("id=\"email-error\"")
        .assert_contains("value=\"not-an-email\"");
    let u = srv.get(&api_url, &seller.token).await;
    assert_eq!((u.data()["level"].as_i64(), u.data()["email"].is_null()), (Some(1), true), "nothing changed");
    web.post(&format!("{url}/edit"), &[("level", "5"), ("email", "bob@example.com"), ("password", "new secret")])
        .await
        .assert_redirect(&url);
    let u = srv.get(&api_url, &seller.token).await;
    assert_eq!((u.data()["level"].as_i64(), u.data()["email"].as_str()), (Some(5), Some("bob@example.com")));
    let stored = srv.state.store.get_user(&app, &bob.id).await.unwrap().unwrap();
    assert!(password::verify("new secret", &stored.password_hash), "the password changed");
    // A blank email removes it; the blank password keeps the current one.
    web.post(&format!("{url}/edit"), &[("level", "5"), ("email", ""), ("password", "")]).await.assert_redirect(&url);
    let stored = srv.state.store.get_user(&app, &bob.id).await.unwrap().unwrap();
    assert!(stored.email.is_none() && password::verify("new secret", &stored.password_hash));

    // User variables.
    web.post_raw(&format!("{url}/variables/delete"), &[("key", "theme")]).await.assert_status(403);
    web.post(&format!("{url}/variables/delete"), &[("key", "theme")]).await.assert_redirect(&url);
    let vars = srv.get(&format!("{api_url}/variables"), &seller.token).await;
    assert_eq!(vars.data().as_array().unwrap().len(), 0);
    web.get(&url).await.assert_contains("id=\"no-user-variables\"");
    web.post(&format!("{url}/variables/delete"), &[("key", "theme")]).await.assert_status(404);

    // Another seller: 404 for the page and for every action, nothing changes.
    let (other, _) = Web::new_seller(&srv).await;
    other.get(&url).await.assert_status(404);
    other.post(&format!("{url}/ban"), &[("reason", "x")]).await.assert_status(404);
    other.post(&format!("{url}/delete"), &[]).await.assert_status(404);
    assert_eq!(srv.get(&api_url, &seller.token).await.data()["status"], "ACTIVE");

    // Delete.
    web.post_raw(&format!("{url}/delete"), &[]).await.assert_status(403);
    srv.get(&api_url, &seller.token).await.assert_status(200);
    web.post(&format!("{url}/delete"), &[]).await.assert_redirect(&format!("/apps/{app}/users"));
    srv.get(&api_url, &seller.token).await.assert_status(404);
    web.get(&format!("/apps/{app}/users")).await.assert_contains("User deleted.").assert_lacks("data-username=\"bob\"");
    web.get(&url).await.assert_status(404);
}

/// The admin API's id of the session whose client token is `token`.
async fn session_id(srv: &TestServer, app: &str, seller_token: &str, token: &str) -> String {
    let r = srv.get(&format!("/v1/admin/apps/{app}/sessions"), seller_token).await;
    let found = r.data().as_array().unwrap().iter().find(|s| s["token"] == token).cloned();
    found.unwrap_or_else(|| panic!("no session {token}: {}", r.data()))["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sessions_are_listed_live_and_killed() {
    let srv = TestServer::start().await;
    let app = client_app(&srv).await;
    let web = Web::signed_in(&srv, &app.seller).await;
    let (id, tok) = (app.id.clone(), app.seller.token.clone());

    web.get(&format!("/apps/{id}/sessions")).await.assert_status(200).assert_contains("id=\"no-sessions\"");

    let bob_sid = registered(&srv, &app, "bob", "secret pass").await;
    let key = keys(&srv, &app, 1, json!({})).await.remove(0);
    let lic_sid = init(&srv, &app).await;
    call(&srv, "licenses", json!({ "session_id": lic_sid, "license_key": key, "sid": "HWID-L" }))
        .await
        .assert_status(200);
    let bob_id = session_id(&srv, &id, &tok, &bob_sid).await;
    let lic_id = session_id(&srv, &id, &tok, &lic_sid).await;

    let page = web.get(&format!("/apps/{id}/sessions")).await;
    page.assert_status(200)
        .assert_contains(&format!("<div id=\"sessions\" data-refresh=\"/apps/{id}/sessions/live\" data-every=\"3\""))
        .assert_contains("id=\"sessions-table\"")
        .assert_contains(&format!("data-session-id=\"{bob_id}\""))
        .assert_contains(&format!("data-session-id=\"{lic_id}\""))
        .assert_contains("bob")
        .assert_contains(&key)
        .assert_contains("HWID-L")
        .assert_contains("kill-session")
        .assert_contains("id=\"kill-all\"")
        .assert_lacks("id=\"no-sessions\"");
    let live = web.get(&format!("/apps/{id}/sessions/live")).await;
    live.assert_status(200)
        .assert_contains("id=\"sessions-table\"")
        .assert_contains(&format!("data-session-id=\"{bob_id}\""))
        .assert_contains(&key)
        .assert_lacks("<html")
        .assert_lacks("id=\"kill-all\"");

    // Kill one: refused without the token; then gone from the partial and refused to the client.
    let kill = format!("/apps/{id}/sessions/{bob_id}/kill");
    web.post_raw(&kill, &[]).await.assert_status(403);
    call(&srv, "validate-session", json!({ "session_id": bob_sid })).await.assert_status(200);
    web.post(&kill, &[]).await.assert_redirect(&format!("/apps/{id}/sessions"));
    web.get(&format!("/apps/{id}/sessions"))
        .await
        .assert_contains("Session ended.")
        .assert_lacks(&format!("data-session-id=\"{bob_id}\""));
    web.get(&format!("/apps/{id}/sessions/live"))
        .await
        .assert_lacks(&format!("data-session-id=\"{bob_id}\""))
        .assert_contains(&format!("data-session-id=\"{lic_id}\""));
    call(&srv, "validate-session", json!({ "session_id": bob_sid })).await.assert_status(401);
    web.post(&kill, &[]).await.assert_status(404);

    // Another seller sees none of it and cannot kill.
    let (other, _) = Web::new_seller(&srv).await;
    other.get(&format!("/apps/{id}/sessions")).await.assert_status(404);
    other.get(&format!("/apps/{id}/sessions/live")).await.assert_status(404);
    other.post(&format!("/apps/{id}/sessions/kill-all"), &[]).await.assert_status(404);
    other.post(&format!("/apps/{id}/sessions/{lic_id}/kill"), &[]).await.assert_status(404);
    call(&srv, "validate-session", json!({ "session_id": lic_sid })).await.assert_status(200);

    // Kill all.
    web.post_raw(&format!("/apps/{id}/sessions/kill-all"), &[]).await.assert_status(403);
    call(&srv, "validate-session", json!({ "session_id": lic_sid })).await.assert_status(200);
    web.post(&format!("/apps/{id}/sessions/kill-all"), &[]).await.assert_redirect(&format!("/apps/{id}/sessions"));
    web.get(&format!("/apps/{id}/sessions")).await.assert_contains("1 session ended.");
    web.get(&format!("/apps/{id}/sessions/live")).await.assert_contains("id=\"no-sessions\"");
    call(&srv, "validate-session", json!({ "session_id": lic_sid })).await.assert_status(401);
}

#[tokio::test]
async fn a_blazeauth_session_killed_from_the_page_is_closed_at_once() {
    let srv = TestServer::start().await;
    let app = BlazeApp::create(&srv).await;
    let mut ws = app.connect(&srv, "client-web").await;
    let web = Web::signed_in(&srv, &app.seller).await;
    let r = srv.get(&app.path("/sessions"), &app.seller.token).await;
    let sid = r.data().as_array().unwrap().iter().find(|s| s["clientId"] == "client-web").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    web.get(&format!("/apps/{}/sessions/live", app.id))
        .await
        .assert_contains(&format!("data-session-id=\"{sid}\""))
        .assert_contains("client-web");
    web.post(&format!("/apps/{}/sessions/{sid}/kill", app.id), &[]).await.assert_status(303);
    let (code, reason, _) = ws.closed().await;
    assert_eq!((code, reason.as_str()), (4100, "disconnected from panel"));
}

#[tokio::test]
async fn variables_are_created_edited_and_deleted() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let app = web.create_app("Vars").await;
    let url = format!("/apps/{app}/variables");
    let api = format!("/v1/admin/apps/{app}/variables");
    let listed = |r: &crate::harness::Resp| r.data().as_array().unwrap().clone();

    web.get(&url)
        .await
        .assert_status(200)
        .assert_contains("id=\"no-variables\"")
        .assert_contains("id=\"variable-form\"")
        .assert_contains("id=\"var-key\"")
        .assert_contains("id=\"var-value\"");

    web.post_raw(&url, &[("key", "motd"), ("value", "hello")]).await.assert_status(403);
    assert!(listed(&srv.get(&api, &seller.token).await).is_empty());
    web.post(&url, &[("key", "bad key!"), ("value", "kept text")])
        .await
        .assert_status(400)
        .assert_contains("id=\"key-error\"")
        .assert_contains("aria-invalid=\"true\"")
        .assert_contains("kept text");
    assert!(listed(&srv.get(&api, &seller.token).await).is_empty());

    web.post(&url, &[("key", "motd"), ("value", "hello <b>"), ("readOnly", "1")]).await.assert_redirect(&url);
    let vars = listed(&srv.get(&api, &seller.token).await);
    assert_eq!(vars.len(), 1);
    assert_eq!(
        (&vars[0]["key"], &vars[0]["value"], &vars[0]["readOnly"], &vars[0]["authRequired"]),
        (&json!("motd"), &json!("hello <b>"), &json!(true), &json!(false))
    );
    let page = web.get(&url).await;
    page.assert_status(200)
        .assert_contains("Variable motd created.")
        .assert_contains("id=\"variables\"")
        .assert_contains("data-key=\"motd\"")
        .assert_contains("hello &#60;b&#62;")
        .assert_lacks("hello <b>");
    // The same key again: beside the field.
    web.post(&url, &[("key", "motd"), ("value", "x")]).await.assert_status(400).assert_contains("already used");

    // Edit the value and flags.
    web.post_raw(&format!("{url}/motd"), &[("value", "changed")]).await.assert_status(403);
    web.post(&format!("{url}/motd"), &[("value", "changed"), ("authRequired", "1")]).await.assert_redirect(&url);
    let vars = listed(&srv.get(&api, &seller.token).await);
    assert_eq!(
        (&vars[0]["value"], &vars[0]["readOnly"], &vars[0]["authRequired"]),
        (&json!("changed"), &json!(false), &json!(true))
    );
    web.post(&format!("{url}/nope"), &[("value", "x")]).await.assert_status(404);

    // Another seller.
    let (other, _) = Web::new_seller(&srv).await;
    other.get(&url).await.assert_status(404);
    other.post(&url, &[("key", "x"), ("value", "y")]).await.assert_status(404);
    other.post(&format!("{url}/motd/delete"), &[]).await.assert_status(404);

    // Delete.
    web.post_raw(&format!("{url}/motd/delete"), &[]).await.assert_status(403);
    assert_eq!(listed(&srv.get(&api, &seller.token).await).len(), 1);
    web.post(&format!("{url}/motd/delete"), &[]).await.assert_redirect(&url);
    assert!(listed(&srv.get(&api, &seller.token).await).is_empty());
    web.get(&url).await.assert_contains("Variable motd deleted.").assert_contains("id=\"no-variables\"");
}

fn file_form(bytes: Vec<u8>, min_level: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name("tool.bin"))
        .text("minLevel", min_level.to_owned())
}

#[tokio::test]
async fn files_are_uploaded_listed_downloaded_and_deleted() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let app = web.create_app("Files").await;
    let url = format!("/apps/{app}/files");
    let api = format!("/v1/admin/apps/{app}/files");
    let page = web.get(&url).await;
    page.assert_status(200)
        .assert_contains("id=\"no-files\"")
        .assert_contains("id=\"upload-form\" data-upload")
        .assert_contains("enctype=\"multipart/form-data\"")
        .assert_contains("<progress hidden")
        .assert_contains("data-upload-status")
        .assert_contains("id=\"file\"")
        .assert_contains("id=\"minLevel\"");

    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    // Without the header: 403 and nothing stored.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(srv.url(&url))
        .header(
            "cookie",
            format!("tollgate_session={}; tollgate_csrf={}", web.cookie("tollgate_session").unwrap(), web.csrf()),
        )
        .multipart(file_form(bytes.clone(), "0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // A wrong token in the action's query: 403 too.
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let cookies = format!("tollgate_session={}; tollgate_csrf={}", web.cookie("tollgate_session").unwrap(), web.csrf());
    let res = raw
        .post(srv.url(&format!("{url}?csrf=00000000000000000000000000000000")))
        .header("cookie", &cookies)
        .multipart(file_form(bytes.clone(), "0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert!(srv.get(&api, &seller.token).await.data().as_array().unwrap().is_empty());
    // The page's form action carries the token for a browser without script.
    page.assert_contains(&format!("action=\"/apps/{app}/files?csrf={}\"", web.csrf()));

    // A bad level: the form again with the error beside the field, nothing stored.
    web.post_multipart(&url, file_form(bytes.clone(), "-3"))
        .await
        .assert_status(400)
        .assert_contains("id=\"minLevel-error\"");
    assert!(srv.get(&api, &seller.token).await.data().as_array().unwrap().is_empty());

    web.post_multipart(&url, file_form(bytes.clone(), "2")).await.assert_redirect(&url);
    let files = srv.get(&api, &seller.token).await.data().as_array().unwrap().clone();
    assert_eq!(files.len(), 1);
    // Without script: the token in the action's query, no header.
    let res = raw
        .post(srv.url(&format!("{url}?csrf={}", web.csrf())))
        .header("cookie", &cookies)
        .multipart(file_form(vec![9; 10], "0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let id = srv
        .get(&api, &seller.token)
        .await
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] != files[0]["id"])
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .expect("the script-less upload is stored");
    srv.delete(&format!("{api}/{id}"), &seller.token).await.assert_status(200);
    let f = &files[0];
    assert_eq!(
        (f["name"].as_str(), f["size"].as_i64(), f["minLevel"].as_i64()),
        (Some("tool.bin"), Some(300_000), Some(2))
    );
    let fid = f["id"].as_str().unwrap().to_owned();
    let sha = f["sha256"].as_str().unwrap().to_owned();
    web.get(&url)
        .await
        .assert_contains("Uploaded tool.bin")
        .assert_contains("id=\"files\"")
        .assert_contains(&sha)
        .assert_contains("293.0 KiB")
        .assert_contains(&format!("/apps/{app}/files/{fid}/download"));

    let dl = web.get(&format!("{url}/{fid}/download")).await;
    dl.assert_status(200);
    assert!(dl.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let got = reqwest::Client::new()
        .get(srv.url(&format!("{url}/{fid}/download")))
        .header("cookie", format!("tollgate_session={}", web.cookie("tollgate_session").unwrap()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), bytes.as_slice(), "the downloaded bytes are the uploaded ones");

    // Another seller.
    let (other, _) = Web::new_seller(&srv).await;
    other.get(&url).await.assert_status(404);
    other.get(&format!("{url}/{fid}/download")).await.assert_status(404);
    other.post(&format!("{url}/{fid}/delete"), &[]).await.assert_status(404);
    other.post_multipart(&url, file_form(vec![1, 2, 3], "0")).await.assert_status(404);
    assert_eq!(srv.get(&api, &seller.token).await.data().as_array().unwrap().len(), 1);

    // Delete.
    web.post_raw(&format!("{url}/{fid}/delete"), &[]).await.assert_status(403);
    assert_eq!(srv.get(&api, &seller.token).await.data().as_array().unwrap().len(), 1);
    web.post(&format!("{url}/{fid}/delete"), &[]).await.assert_redirect(&url);
    assert!(srv.get(&api, &seller.token).await.data().as_array().unwrap().is_empty());
    web.get(&url).await.assert_contains("Deleted tool.bin.").assert_contains("id=\"no-files\"");
    web.get(&format!("{url}/{fid}/download")).await.assert_status(404);
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_and_not_kept() {
    let srv = TestServer::start_with(|c| c.max_upload_bytes = Some("1024".into())).await;
    let (web, seller) = Web::new_seller(&srv).await;
    let app = web.create_app("Files").await;
    web.post_multipart(&format!("/apps/{app}/files"), file_form(vec![7; 5000], "0")).await.assert_status(413);
    let files = srv.get(&format!("/v1/admin/apps/{app}/files"), &seller.token).await;
    assert!(files.data().as_array().unwrap().is_empty());
}
