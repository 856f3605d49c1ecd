//! File downloads: the client route `GET /v1/files/download/{fileId}` (session token as
//! `?token=` or `X-Session-Token`) and the seller's `GET /v1/admin/apps/{appId}/files/{fileId}/download`:
//! whole files, ranges across chunk boundaries, 416, the refusals, and the seller's log entry.

use chrono::Duration;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tollgate_core::time::now;

use crate::authly::{call, client_app, init, keys, registered, ClientApp};
use crate::authly_accounts::{admin, store_session, user_action, user_id};
use crate::harness::TestServer;

const PW: &str = "hunter2-pass";
const CHUNK: usize = 64 * 1024;

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    tollgate_core::ids::fill_random(&mut v);
    v
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Upload through the admin API; returns the file's id.
pub(crate) async fn upload(s: &TestServer, app: &ClientApp, name: &str, data: &[u8], min_level: i64) -> String {
    let form = Form::new()
        .part("file", Part::bytes(data.to_vec()).file_name("upload.bin"))
        .text("name", name.to_owned())
        .text("minLevel", min_level.to_string());
    let res =
        s.http.post(s.url(&admin(app, "/files"))).bearer_auth(&app.seller.token).multipart(form).send().await.unwrap();
    let r = TestServer::into_resp(res).await;
    r.assert_status(201);
    r.data()["id"].as_str().unwrap().to_owned()
}

/// A raw answer: status, headers and the exact body bytes.
struct Raw {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&self.body)))
    }
    #[track_caller]
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", String::from_utf8_lossy(&self.body));
        assert!(self.header("content-type").starts_with("application/json"), "{:?}", self.headers);
        let body = self.json();
        assert_eq!(body["success"], false, "{body}");
        assert_eq!(body["code"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
}

/// How the client sends its session token.
#[derive(Clone, Copy)]
enum Via {
    Query,
    Header,
}

async fn fetch(rb: reqwest::RequestBuilder) -> Raw {
    let res = rb.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.bytes().await.unwrap().to_vec();
    Raw { status, headers, body }
}

async fn download(s: &TestServer, file_id: &str, token: &str, via: Via, range: Option<&str>) -> Raw {
    let url = s.url(&format!("/v1/files/download/{file_id}"));
    let mut rb = match via {
        Via::Query => s.http.get(url).query(&[("token", token)]),
        Via::Header => s.http.get(url).header("x-session-token", token),
    };
    if let Some(r) = range {
        rb = rb.header("range", r);
    }
    fetch(rb).await
}

async fn admin_download(s: &TestServer, token: &str, app_id: &str, file_id: &str, range: Option<&str>) -> Raw {
    let mut rb = s.http.get(s.url(&format!("/v1/admin/apps/{app_id}/files/{file_id}/download"))).bearer_auth(token);
    if let Some(r) = range {
        rb = rb.header("range", r);
    }
    fetch(rb).await
}

#[track_caller]
fn assert_whole(r: &Raw, data: &[u8], name: &str) {
    assert_eq!(r.status, StatusCode::OK, "body: {}", String::from_utf8_lossy(&r.body[..r.body.len().min(300)]));
    assert!(r.body == data, "{} bytes, expected {}", r.body.len(), data.len());
    assert_eq!(r.header("content-type"), "application/octet-stream");
    assert_eq!(r.header("content-length"), data.len().to_string());
    assert_eq!(r.header("x-content-sha256"), sha_hex(data));
    assert_eq!(r.header("etag"), format!("\"{}\"", sha_hex(data)));
    assert_eq!(r.header("accept-ranges"), "bytes");
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("content-disposition"), format!("attachment; filename=\"{name}\""));
    assert!(r.headers.get("content-range").is_none());
}

#[track_caller]
fn assert_part(r: &Raw, data: &[u8], start: usize, end: usize) {
    assert_eq!(
        r.status,
        StatusCode::PARTIAL_CONTENT,
        "body: {}",
        String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
    );
    assert!(r.body == data[start..=end], "range {start}-{end}: got {} bytes", r.body.len());
    assert_eq!(r.header("content-range"), format!("bytes {start}-{end}/{}", data.len()));
    assert_eq!(r.header("content-length"), (end - start + 1).to_string());
    assert_eq!(r.header("content-type"), "application/octet-stream");
    // the hash is the whole file's, on a part too
    assert_eq!(r.header("x-content-sha256"), sha_hex(data));
    assert_eq!(r.header("accept-ranges"), "bytes");
}

#[track_caller]
fn assert_unsatisfiable(r: &Raw, size: usize) {
    r.assert_error(416, "RANGE_NOT_SATISFIABLE");
    assert_eq!(r.header("content-range"), format!("bytes */{size}"));
}

async fn logs(s: &TestServer, app: &ClientApp) -> Vec<Value> {
    let r = s.get(&admin(app, "/logs?limit=100"), &app.seller.token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().clone()
}

#[tokio::test]
async fn whole_download_by_query_or_header_gives_the_uploaded_bytes() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let data = random_bytes(3 * CHUNK + 1234);
    let file_id = upload(&s, &app, "module.bin", &data, 0).await;
    let sid = registered(&s, &app, "bob", PW).await;

    for via in [Via::Query, Via::Header] {
        assert_whole(&download(&s, &file_id, &sid, via, None).await, &data, "module.bin");
    }
    // an empty file downloads as zero bytes
    let empty = upload(&s, &app, "empty.txt", b"", 0).await;
    let r = download(&s, &empty, &sid, Via::Header, None).await;
    assert_whole(&r, b"", "empty.txt");
    assert_unsatisfiable(&download(&s, &empty, &sid, Via::Header, Some("bytes=0-0")).await, 0);

    // HEAD: the same headers, no body, no log entry
    let before = logs(&s, &app).await.len();
    let res = s
        .http
        .head(s.url(&format!("/v1/files/download/{file_id}")))
        .header("x-session-token", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-length"], data.len().to_string().as_str());
    assert_eq!(res.headers()["x-content-sha256"], sha_hex(&data).as_str());
    assert!(res.bytes().await.unwrap().is_empty());
    assert_eq!(logs(&s, &app).await.len(), before);
}

#[tokio::test]
async fn non_ascii_names_get_an_ascii_fallback_and_the_exact_name() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let file_id = upload(&s, &app, "résumé \"final\".pdf", b"%PDF-1.7", 0).await;
    let sid = registered(&s, &app, "bob", PW).await;
    let r = download(&s, &file_id, &sid, Via::Query, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, b"%PDF-1.7");
    assert_eq!(
        r.header("content-disposition"),
        "attachment; filename=\"r_sum_ _final_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf"
    );
}

#[tokio::test]
async fn ranges_across_chunk_boundaries_answer_exact_bytes() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let data = random_bytes(3 * CHUNK + 777);
    let len = data.len();
    let file_id = upload(&s, &app, "big.bin", &data, 0).await;
    let sid = registered(&s, &app, "bob", PW).await;

    for (range, start, end) in [
        ("bytes=0-0".to_owned(), 0, 0),
        ("bytes=10-99".to_owned(), 10, 99),
        (format!("bytes={}-{}", CHUNK - 1, CHUNK), CHUNK - 1, CHUNK),
        (format!("bytes={}-{}", CHUNK - 10, 2 * CHUNK + 10), CHUNK - 10, 2 * CHUNK + 10),
        (format!("bytes={}-{}", CHUNK, 2 * CHUNK - 1), CHUNK, 2 * CHUNK - 1),
        (format!("bytes={}-", 2 * CHUNK + 5), 2 * CHUNK + 5, len - 1),
        (format!("bytes={}-", 3 * CHUNK), 3 * CHUNK, len - 1),
        ("bytes=-100".to_owned(), len - 100, len - 1),
        (format!("bytes=-{}", CHUNK + 800), len - CHUNK - 800, len - 1),
        (format!("bytes=-{}", len + 50), 0, len - 1),
        (format!("bytes=5-{}", len + 1000), 5, len - 1),
        (format!("bytes={}-{}", len - 1, len - 1), len - 1, len - 1),
    ] {
        let r = download(&s, &file_id, &sid, Via::Header, Some(&range)).await;
        assert_part(&r, &data, start, end);
    }

    // several ranges: the whole file, 200
    let r = download(&s, &file_id, &sid, Via::Query, Some("bytes=0-9,20-29")).await;
    assert_whole(&r, &data, "big.bin");
    // If-Range: the range only while the ETag matches
    let etag = format!("\"{}\"", sha_hex(&data));
    let url = s.url(&format!("/v1/files/download/{file_id}"));
    let with = |if_range: &str| {
        s.http.get(&url).header("x-session-token", &sid).header("range", "bytes=1-3").header("if-range", if_range)
    };
    assert_part(&fetch(with(&etag)).await, &data, 1, 3);
    assert_whole(&fetch(with("\"something-else\"")).await, &data, "big.bin");

    // malformed or unsatisfiable: 416, Content-Range names the size
    for bad in [
        format!("bytes={len}-"),
        format!("bytes={}-{}", len, len + 10),
        "bytes=-0".to_owned(),
        "bytes=9-3".to_owned(),
        "bytes=abc".to_owned(),
        "bytes=".to_owned(),
        "pages=1-2".to_owned(),
        "bytes=1-2,zz".to_owned(),
    ] {
        let r = download(&s, &file_id, &sid, Via::Header, Some(&bad)).await;
        assert_unsatisfiable(&r, len);
    }
}

#[tokio::test]
async fn refusals_answer_json_with_the_right_status_and_code() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let data = random_bytes(1000);
    let open = upload(&s, &app, "open.bin", &data, 0).await;
    let gold = upload(&s, &app, "gold.bin", &data, 5).await;
    let sid = registered(&s, &app, "bob", PW).await;
    let before = logs(&s, &app).await.len();

    // no token, a malformed one, an unknown one
    let r = fetch(s.http.get(s.url(&format!("/v1/files/download/{open}")))).await;
    r.assert_error(401, "INVALID_SESSION");
    for via in [Via::Query, Via::Header] {
        download(&s, &open, "", via, None).await.assert_error(401, "INVALID_SESSION");
        download(&s, &open, "not-a-token", via, None).await.assert_error(401, "INVALID_SESSION");
        download(&s, &open, &"ab".repeat(32), via, None).await.assert_error(401, "INVALID_SESSION");
    }
    // an expired session, and one the seller killed
    let expired = store_session(&s, &app, now() - Duration::minutes(1)).await;
    let r = download(&s, &open, &expired, Via::Query, None).await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.json());
    let killed = registered(&s, &app, "carol", PW).await;
    download(&s, &open, &killed, Via::Query, None).await.assert_status_ok();
    let r = s.get(&admin(&app, "/sessions"), &app.seller.token).await;
    let session = r.data().as_array().unwrap().iter().find(|x| x["token"] == killed.as_str()).unwrap().clone();
    let id = session["id"].as_str().unwrap();
    s.delete(&admin(&app, &format!("/sessions/{id}")), &app.seller.token).await.assert_status(200);
    download(&s, &open, &killed, Via::Header, None).await.assert_error(401, "INVALID_SESSION");

    // a session that never signed in reaches no file
    let anonymous = init(&s, &app).await;
    download(&s, &open, &anonymous, Via::Header, None).await.assert_error(401, "LOGIN_REQUIRED");

    // level too low (bob is level 1), then raised by the seller
    download(&s, &gold, &sid, Via::Header, None).await.assert_error(403, "LEVEL_TOO_LOW");
    let bob = user_id(&s, &app, "bob").await;
    s.patch(&admin(&app, &format!("/users/{bob}")), &app.seller.token, json!({ "level": 5 })).await.assert_status(200);
    assert_whole(&download(&s, &gold, &sid, Via::Header, None).await, &data, "gold.bin");

    // nonexistent, and another app's file (even with its real id)
    download(&s, "file_doesnotexist", &sid, Via::Header, None).await.assert_error(404, "FILE_NOT_FOUND");
    let other = client_app(&s).await;
    let theirs = upload(&s, &other, "theirs.bin", &data, 0).await;
    download(&s, &theirs, &sid, Via::Header, None).await.assert_error(404, "FILE_NOT_FOUND");

    // a ban ends the user's sessions: 401 from then on
    user_action(&s, &app, "bob", "ban", json!({ "reason": "chargeback" })).await;
    download(&s, &open, &sid, Via::Header, None).await.assert_error(401, "INVALID_SESSION");

    // an account that expired while its session was live: 403
    let mut dave = crate::harness::user_row(&app.id, "dave", "x".into());
    dave.expires_at = Some(now() - Duration::minutes(1));
    s.state.store.create_user(&dave, &[]).await.unwrap();
    let dave_sid = store_session(&s, &app, now() + Duration::hours(1)).await;
    let session = s.state.store.session_by_token_any(&dave_sid).await.unwrap().unwrap();
    s.state
        .store
        .bind_session(&app.id, &session.id, Some(&dave.id), None, None, now() + Duration::hours(1))
        .await
        .unwrap();
    download(&s, &open, &dave_sid, Via::Header, None).await.assert_error(403, "USER_EXPIRED");
    let sid = registered(&s, &app, "erin", PW).await;

    // app paused: 403 for every session
    let r = s.patch(&format!("/v1/admin/apps/{}", app.id), &app.seller.token, json!({ "status": "PAUSED" })).await;
    r.assert_status(200);
    download(&s, &open, &sid, Via::Query, None).await.assert_error(403, "APP_PAUSED");

    // none of the refusals was logged as a download; the two that went through were
    let after: Vec<Value> = logs(&s, &app).await;
    let downloads: Vec<&Value> =
        after.iter().filter(|l| l["message"].as_str().unwrap_or("").starts_with("file.download")).collect();
    assert_eq!(after.len() - before, downloads.len(), "{after:?}");
    assert_eq!(downloads.len(), 2, "{downloads:?}");
}

impl Raw {
    #[track_caller]
    fn assert_status_ok(&self) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "body: {}",
            String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
        );
    }
}

#[tokio::test]
async fn a_key_only_session_downloads_at_its_key_level_until_the_key_is_banned() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let data = random_bytes(500);
    let low = upload(&s, &app, "low.bin", &data, 2).await;
    let high = upload(&s, &app, "high.bin", &data, 3).await;
    let key = keys(&s, &app, 1, json!({ "level": 2 })).await.remove(0);
    let sid = init(&s, &app).await;
    call(&s, "licenses", json!({ "session_id": sid, "license_key": key, "sid": "HWID-9" })).await.assert_status(200);
    assert_whole(&download(&s, &low, &sid, Via::Query, None).await, &data, "low.bin");
    download(&s, &high, &sid, Via::Query, None).await.assert_error(403, "LEVEL_TOO_LOW");

    let r = s.get(&admin(&app, &format!("/licenses?search={key}")), &app.seller.token).await;
    let license_id = r.data()[0]["id"].as_str().unwrap().to_owned();
    s.post(&admin(&app, &format!("/licenses/{license_id}/ban")), &app.seller.token, json!({})).await.assert_status(200);
    // the ban ends the key's sessions
    download(&s, &low, &sid, Via::Query, None).await.assert_error(401, "INVALID_SESSION");
}

#[tokio::test]
async fn each_download_is_logged_for_the_seller() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let data = random_bytes(2 * CHUNK);
    let file_id = upload(&s, &app, "tool.exe", &data, 0).await;
    let sid = registered(&s, &app, "bob", PW).await;
    download(&s, &file_id, &sid, Via::Query, None).await.assert_status_ok();
    let r = download(&s, &file_id, &sid, Via::Header, Some("bytes=100-199")).await;
    assert_part(&r, &data, 100, 199);

    let entries: Vec<Value> = logs(&s, &app)
        .await
        .into_iter()
        .filter(|l| l["message"].as_str().unwrap_or("").starts_with("file.download"))
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let messages: Vec<&str> = entries.iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert!(messages.contains(&"file.download tool.exe"), "{messages:?}");
    assert!(
        messages.contains(&format!("file.download tool.exe bytes 100-199/{}", data.len()).as_str()),
        "{messages:?}"
    );
    let bob = user_id(&s, &app, "bob").await;
    for e in &entries {
        assert_eq!(e["username"], "bob", "{e}");
        assert_eq!(e["userId"], bob.as_str(), "{e}");
        assert_eq!(e["ip"], "127.0.0.1", "{e}");
        assert_eq!(e["hwid"], "HWID-1", "{e}");
    }
}

#[tokio::test]
async fn the_seller_downloads_own_files_with_ranges_and_never_another_sellers() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let data = random_bytes(2 * CHUNK + 99);
    let file_id = upload(&s, &app, "seller.bin", &data, 9).await;
    let token = app.seller.token.clone();

    // whole, whatever the level, and a range across a boundary
    assert_whole(&admin_download(&s, &token, &app.id, &file_id, None).await, &data, "seller.bin");
    let r = admin_download(&s, &token, &app.id, &file_id, Some(&format!("bytes={}-{}", CHUNK - 2, CHUNK + 2))).await;
    assert_part(&r, &data, CHUNK - 2, CHUNK + 2);
    let r = admin_download(&s, &token, &app.id, &file_id, Some("bytes=-1")).await;
    assert_part(&r, &data, data.len() - 1, data.len() - 1);
    assert_unsatisfiable(&admin_download(&s, &token, &app.id, &file_id, Some("bytes=999999-")).await, data.len());

    // another seller: 404 for the app, whatever the file id
    let other = client_app(&s).await;
    admin_download(&s, &other.seller.token, &app.id, &file_id, None).await.assert_error(404, "NOT_FOUND");
    // their own app, this file's id: not theirs either
    admin_download(&s, &other.seller.token, &other.id, &file_id, None).await.assert_error(404, "NOT_FOUND");
    admin_download(&s, &token, &app.id, "file_nope", None).await.assert_error(404, "NOT_FOUND");
    // no or a bad token
    let r = fetch(s.http.get(s.url(&format!("/v1/admin/apps/{}/files/{file_id}/download", app.id)))).await;
    r.assert_error(401, "UNAUTHORIZED");
    admin_download(&s, "nope", &app.id, &file_id, None).await.assert_error(401, "UNAUTHORIZED");
    // a seller download is not a client download: nothing in the app's logs
    assert!(logs(&s, &app).await.iter().all(|l| !l["message"].as_str().unwrap_or("").starts_with("file.download")));
}

#[tokio::test]
async fn many_concurrent_range_downloads_each_get_their_bytes() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let data = std::sync::Arc::new(random_bytes(5 * CHUNK + 3));
    let file_id = upload(&s, &app, "c.bin", &data, 0).await;
    let sid = registered(&s, &app, "bob", PW).await;
    let tasks: Vec<_> = (0..24usize)
        .map(|i| {
            let (http, url, sid, data) =
                (s.http.clone(), s.url(&format!("/v1/files/download/{file_id}")), sid.clone(), data.clone());
            tokio::spawn(async move {
                let start = (i * 13_001) % data.len();
                let end = (start + i * 9_999).min(data.len() - 1);
                let rb = http.get(url).header("x-session-token", sid);
                let rb = if i % 4 == 0 { rb } else { rb.header("range", format!("bytes={start}-{end}")) };
                let r = fetch(rb).await;
                if i % 4 == 0 {
                    assert_eq!(r.status, StatusCode::OK);
                    assert!(r.body == *data);
                } else {
                    assert_part(&r, &data, start, end);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let n = logs(&s, &app)
        .await
        .iter()
        .filter(|l| l["message"].as_str().unwrap_or("").starts_with("file.download"))
        .count();
    assert_eq!(n, 24);
}

#[tokio::test]
async fn a_tampered_blob_never_yields_its_bytes() {
    let s = TestServer::start().await;
    let app = client_app(&s).await;
    let data = random_bytes(3 * CHUNK);
    let file_id = upload(&s, &app, "t.bin", &data, 0).await;
    let sid = registered(&s, &app, "bob", PW).await;
    let path = s.dir.path().join("files").join(&app.id).join(format!("{file_id}.bin"));
    let mut blob = std::fs::read(&path).unwrap();
    // a bit of the second chunk (12-byte header, then 64 KiB + 16-byte tag per chunk)
    blob[12 + CHUNK + 16 + 5] ^= 1;
    std::fs::write(&path, &blob).unwrap();

    // the first chunk is still authentic
    assert_part(&download(&s, &file_id, &sid, Via::Header, Some("bytes=0-99")).await, &data, 0, 99);
    // a range inside the tampered chunk: refused before anything is sent
    let r = download(&s, &file_id, &sid, Via::Header, Some(&format!("bytes={}-{}", CHUNK, CHUNK + 10))).await;
    r.assert_error(500, "INTERNAL");
    // the whole file: the first chunk at most, then the connection is cut (before or after the
    // head reaches the client)
    let res = s.http.get(s.url(&format!("/v1/files/download/{file_id}"))).header("x-session-token", &sid).send().await;
    if let Ok(res) = res {
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.bytes().await.is_err(), "a whole body from a tampered blob");
    }
    // the blob shortened: its size no longer matches the record, refused before any byte
    std::fs::write(&path, &blob[..blob.len() - CHUNK]).unwrap();
    let r = download(&s, &file_id, &sid, Via::Header, None).await;
    r.assert_error(500, "INTERNAL");
}

#[tokio::test]
async fn both_routes_are_documented_with_binary_answers_and_their_errors() {
    let s = TestServer::start().await;
    let doc = s.req(reqwest::Method::GET, "/openapi.json", None, None).await.body;
    for (path, statuses) in [
        ("/v1/files/download/{fileId}", &["200", "206", "401", "403", "404", "416", "429"][..]),
        ("/v1/admin/apps/{appId}/files/{fileId}/download", &["200", "206", "401", "404", "416"][..]),
    ] {
        let op = &doc["paths"][path]["get"];
        assert!(op["operationId"].is_string(), "{path}: {op}");
        for status in statuses {
            let r = &op["responses"][*status];
            assert!(r.is_object(), "{path} {status}");
            if status.starts_with('2') {
                let schema = &r["content"]["application/octet-stream"]["schema"];
                assert_eq!(
                    (schema["type"].as_str(), schema["format"].as_str()),
                    (Some("string"), Some("binary")),
                    "{path} {status}: {r}"
                );
            } else {
                assert_eq!(r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error");
            }
        }
        let params: Vec<&str> =
            op["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert!(params.contains(&"Range") && params.contains(&"fileId"), "{path}: {params:?}");
    }
}
