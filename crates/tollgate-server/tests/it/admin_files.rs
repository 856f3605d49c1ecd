//! Files: encrypted, streamed uploads; list; delete; limits; bad input; tenant isolation.

use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tollgate_server::files::FileVault;

use crate::harness::{Resp, SellerLogin, TestServer};

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    tollgate_core::ids::fill_random(&mut v);
    v
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn file_part(bytes: Vec<u8>, filename: &str) -> Part {
    Part::bytes(bytes).file_name(filename.to_owned())
}

async fn upload(s: &TestServer, token: &str, app_id: &str, form: Form) -> Resp {
    let res = s
        .http
        .post(s.url(&format!("/v1/admin/apps/{app_id}/files")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    TestServer::into_resp(res).await
}

async fn list(s: &TestServer, token: &str, app_id: &str) -> Vec<Value> {
    let r = s.get(&format!("/v1/admin/apps/{app_id}/files"), token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().clone()
}

/// Every regular file under `<data_dir>/files`, temporary ones included.
fn files_on_disk(s: &TestServer) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        for e in rd.flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path());
            }
        }
    }
    let mut out = Vec::new();
    walk(&s.dir.path().join("files"), &mut out);
    out.sort();
    out
}

async fn decrypt(s: &TestServer, app_id: &str, file_id: &str) -> std::io::Result<Vec<u8>> {
    let vault = FileVault::from_state(&s.state);
    let chunks: Vec<bytes::Bytes> = vault.open_decrypted(app_id, file_id).await?.try_collect().await?;
    Ok(chunks.concat())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn setup(s: &TestServer) -> (SellerLogin, String) {
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Files App").await;
    (seller, app["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn upload_several_mib_round_trips_encrypted() {
    let s = TestServer::start().await;
    let (seller, app_id) = setup(&s).await;
    // 5 MiB + a bit: many 64 KiB chunks and a partial last one, well over the 1 MiB JSON limit.
    let data = random_bytes(5 * 1024 * 1024 + 12345);
    let form = Form::new()
        .part("file", file_part(data.clone(), "upload.bin"))
        .text("name", "module.exe")
        .text("minLevel", "2");
    let r = upload(&s, &seller.token, &app_id, form).await;
    r.assert_status(201);
    assert_eq!(r.body["success"], true);
    let d = r.data().clone();
    let id = d["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("file_"), "{id}");
    assert_eq!(d["name"], "module.exe");
    assert_eq!(d["size"], data.len() as u64);
    assert_eq!(d["minLevel"], 2);
    assert_eq!(d["sha256"], sha_hex(&data));
    assert!(chrono::DateTime::parse_from_rfc3339(d["createdAt"].as_str().unwrap()).is_ok());
    assert_eq!(d["transferCount"], 0);
    assert_eq!(d["lastTransferredAt"], serde_json::Value::Null);
    assert_eq!(d.as_object().unwrap().len(), 8, "{d}");

    // the blob is where it should be, and holds none of the plaintext
    let blob_path = s.dir.path().join("files").join(&app_id).join(format!("{id}.bin"));
    assert_eq!(files_on_disk(&s), vec![blob_path.clone()]);
    let blob = std::fs::read(&blob_path).unwrap();
    assert!(blob.len() > data.len());
    for at in [0, 65536 * 3 + 7, data.len() - 40] {
        assert!(!contains(&blob, &data[at..at + 32]), "plaintext at {at} found in the blob");
    }

    // decrypting through the vault gives the bytes back
    let plain = decrypt(&s, &app_id, &id).await.unwrap();
    assert_eq!(plain.len(), data.len());
    assert!(plain == data);
    assert_eq!(sha_hex(&plain), d["sha256"].as_str().unwrap());

    let files = list(&s, &seller.token, &app_id).await;
    assert_eq!(files, vec![d.clone()]);

    // delete removes row and blob
    let del = s.delete(&format!("/v1/admin/apps/{app_id}/files/{id}"), &seller.token).await;
    del.assert_status(200);
    assert_eq!(del.body, json!({"success": true, "message": "File deleted"}));
    assert!(list(&s, &seller.token, &app_id).await.is_empty());
    assert!(files_on_disk(&s).is_empty());
    assert_eq!(decrypt(&s, &app_id, &id).await.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    s.delete(&format!("/v1/admin/apps/{app_id}/files/{id}"), &seller.token).await.assert_error(404, "NOT_FOUND");

    // both actions are in the audit trail, naming the file
    let audit = s.get("/v1/admin/audit?limit=100", &seller.token).await;
    audit.assert_status(200);
    for action in ["file.upload", "file.delete"] {
        let found =
            audit.data().as_array().unwrap().iter().any(|e| e["action"] == action && e["target"] == id.as_str());
        assert!(found, "{action} not audited: {}", audit.body);
    }
}

#[tokio::test]
async fn text_is_not_readable_on_disk_and_defaults_apply() {
    let s = TestServer::start().await;
    let (seller, app_id) = setup(&s).await;
    let text = "the secret plaintext of a loader module\n".repeat(100).into_bytes();
    let r = upload(&s, &seller.token, &app_id, Form::new().part("file", file_part(text.clone(), "notes.txt"))).await;
    r.assert_status(201);
    let d = r.data();
    assert_eq!(d["name"], "notes.txt");
    assert_eq!(d["minLevel"], 0);
    assert_eq!(d["size"], text.len() as u64);
    let id = d["id"].as_str().unwrap();
    let blob = std::fs::read(&files_on_disk(&s)[0]).unwrap();
    assert!(!contains(&blob, b"secret plaintext"));
    assert_eq!(decrypt(&s, &app_id, id).await.unwrap(), text);

    // an empty file is a file too
    let r = upload(&s, &seller.token, &app_id, Form::new().part("file", file_part(Vec::new(), "empty.dat"))).await;
    r.assert_status(201);
    assert_eq!(r.data()["size"], 0);
    assert_eq!(r.data()["sha256"], sha_hex(b""));
    assert_eq!(decrypt(&s, &app_id, r.data()["id"].as_str().unwrap()).await.unwrap(), b"");
    assert_eq!(list(&s, &seller.token, &app_id).await.len(), 2);
}

#[tokio::test]
async fn tampered_blob_fails_to_decrypt() {
    let s = TestServer::start().await;
    let (seller, app_id) = setup(&s).await;
    let data = random_bytes(200_000);
    let r = upload(&s, &seller.token, &app_id, Form::new().part("file", file_part(data.clone(), "a.bin"))).await;
    r.assert_status(201);
    let id = r.data()["id"].as_str().unwrap().to_owned();
    let path = files_on_disk(&s)[0].clone();
    let original = std::fs::read(&path).unwrap();
    assert_eq!(decrypt(&s, &app_id, &id).await.unwrap(), data);
    // one flipped bit anywhere (header, first chunk, a middle chunk, the last tag) is caught
    for at in [5, 100, 70_000, original.len() - 1] {
        let mut bad = original.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        let err = decrypt(&s, &app_id, &id).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "flip at {at}");
    }
    // a truncated blob too
    std::fs::write(&path, &original[..original.len() - 20]).unwrap();
    assert!(decrypt(&s, &app_id, &id).await.is_err());
    std::fs::write(&path, &original).unwrap();
    assert_eq!(decrypt(&s, &app_id, &id).await.unwrap(), data);
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_kept() {
    let s = TestServer::start().await;
    let (seller, app_id) = setup(&s).await;
    let t = &seller.token;
    let small = || file_part(b"content".to_vec(), "f.bin");

    let cases: Vec<(Form, &str, &str)> = vec![
        (Form::new().text("name", "x.bin").text("minLevel", "1"), "MISSING_FIELDS", "file"),
        (Form::new().part("file", small()).text("minLevel", "-1"), "VALIDATION_ERROR", "minLevel"),
        (Form::new().part("file", small()).text("minLevel", "abc"), "VALIDATION_ERROR", "minLevel"),
        (Form::new().text("minLevel", "1.5").part("file", small()), "VALIDATION_ERROR", "minLevel"),
        (Form::new().part("file", small()).text("name", "../etc/passwd"), "VALIDATION_ERROR", "name"),
        (Form::new().part("file", small()).text("name", "a\\b"), "VALIDATION_ERROR", "name"),
        (Form::new().part("file", small()).text("name", "tab\there"), "VALIDATION_ERROR", "name"),
        (Form::new().part("file", small()).text("name", "   "), "VALIDATION_ERROR", "name"),
        (Form::new().part("file", small()).text("name", "x".repeat(256)), "VALIDATION_ERROR", "name"),
        (Form::new().part("file", file_part(b"x".to_vec(), "a/b.bin")), "VALIDATION_ERROR", "name"),
        // a file part without a filename and no name part: there is no name
        (Form::new().part("file", Part::bytes(b"x".to_vec())), "MISSING_FIELDS", "name"),
        (Form::new().part("file", small()).part("file", small()), "VALIDATION_ERROR", "file"),
    ];
    for (form, code, field) in cases {
        let r = upload(&s, t, &app_id, form).await;
        r.assert_error(400, code);
        assert!(r.body["message"].as_str().unwrap().contains(field), "{field}: {}", r.body);
    }

    // not multipart at all
    let path = format!("/v1/admin/apps/{app_id}/files");
    let r = s.post(&path, t, json!({"name": "x", "size": 3, "minLevel": 1})).await;
    r.assert_error(400, "INVALID_BODY");
    let r = s.raw(reqwest::Method::POST, &path, Some(t), b"garbage".to_vec()).await;
    r.assert_error(400, "INVALID_BODY");
    // multipart header but a broken body
    let res = s
        .http
        .post(s.url(&path))
        .bearer_auth(t)
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\npartial data")
        .send()
        .await
        .unwrap();
    TestServer::into_resp(res).await.assert_error(400, "INVALID_BODY");

    assert!(list(&s, t, &app_id).await.is_empty());
    assert!(files_on_disk(&s).is_empty(), "{:?}", files_on_disk(&s));

    // unknown parts are ignored
    let r =
        upload(&s, t, &app_id, Form::new().text("color", "blue").part("file", small()).text("minLevel", " 4 ")).await;
    r.assert_status(201);
    assert_eq!(r.data()["minLevel"], 4);
}

#[tokio::test]
async fn size_limit_gives_413_and_keeps_nothing() {
    let s = TestServer::start_with(|c| c.max_upload_bytes = Some("4096".into())).await;
    let (seller, app_id) = setup(&s).await;
    let t = &seller.token;
    let r = upload(&s, t, &app_id, Form::new().part("file", file_part(random_bytes(4096), "max.bin"))).await;
    r.assert_status(201);
    let kept = files_on_disk(&s);
    assert_eq!(kept.len(), 1);

    // one byte over: caught while streaming
    let r = upload(&s, t, &app_id, Form::new().part("file", file_part(random_bytes(4097), "over.bin"))).await;
    r.assert_error(413, "PAYLOAD_TOO_LARGE");
    // far over: refused from Content-Length before reading
    let r = upload(&s, t, &app_id, Form::new().part("file", file_part(random_bytes(300_000), "big.bin"))).await;
    r.assert_error(413, "PAYLOAD_TOO_LARGE");
    // far over without a Content-Length (chunked): caught by the body limit
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..40).map(|_| Ok(random_bytes(8192))).collect();
    let part = Part::stream(reqwest::Body::wrap_stream(futures::stream::iter(chunks))).file_name("chunked.bin");
    let r = upload(&s, t, &app_id, Form::new().part("file", part)).await;
    r.assert_error(413, "PAYLOAD_TOO_LARGE");

    assert_eq!(list(&s, t, &app_id).await.len(), 1);
    assert_eq!(files_on_disk(&s), kept);
}

#[tokio::test]
async fn aborted_upload_leaves_nothing_behind() {
    let s = TestServer::start().await;
    let (seller, app_id) = setup(&s).await;
    // The client sends 512 KiB and then its body fails: the connection is cut mid-upload.
    let good: Vec<Result<Vec<u8>, std::io::Error>> = (0..8).map(|_| Ok(random_bytes(65536))).collect();
    let body = futures::stream::iter(good).chain(futures::stream::once(async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        Err(std::io::Error::other("client gave up"))
    }));
    let part = Part::stream(reqwest::Body::wrap_stream(body)).file_name("cut.bin");
    let res = s
        .http
        .post(s.url(&format!("/v1/admin/apps/{app_id}/files")))
        .bearer_auth(&seller.token)
        .multipart(Form::new().part("file", part))
        .send()
        .await;
    if let Ok(res) = res {
        assert!(!res.status().is_success(), "{}", res.status());
    }
    // the handler notices the cut and drops the upload; give it a bounded moment
    for _ in 0..100 {
        if files_on_disk(&s).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(files_on_disk(&s).is_empty(), "{:?}", files_on_disk(&s));
    assert!(list(&s, &seller.token, &app_id).await.is_empty());
}

#[tokio::test]
async fn another_sellers_token_sees_404_and_changes_nothing() {
    let s = TestServer::start().await;
    let (owner, app_id) = setup(&s).await;
    let r = upload(&s, &owner.token, &app_id, Form::new().part("file", file_part(b"mine".to_vec(), "m.bin"))).await;
    r.assert_status(201);
    let file_id = r.data()["id"].as_str().unwrap().to_owned();
    let before_disk = files_on_disk(&s);

    let intruder = s.seller().await;
    let their_app = s.create_app(&intruder, "Theirs").await["id"].as_str().unwrap().to_owned();

    let r = upload(&s, &intruder.token, &app_id, Form::new().part("file", file_part(b"evil".to_vec(), "e.bin"))).await;
    r.assert_error(404, "NOT_FOUND");
    s.get(&format!("/v1/admin/apps/{app_id}/files"), &intruder.token).await.assert_error(404, "NOT_FOUND");
    s.delete(&format!("/v1/admin/apps/{app_id}/files/{file_id}"), &intruder.token).await.assert_error(404, "NOT_FOUND");
    // the owner's file id under the intruder's own app is not found either
    s.delete(&format!("/v1/admin/apps/{their_app}/files/{file_id}"), &intruder.token)
        .await
        .assert_error(404, "NOT_FOUND");
    assert!(list(&s, &intruder.token, &their_app).await.is_empty());

    let files = list(&s, &owner.token, &app_id).await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["id"], file_id.as_str());
    assert_eq!(files_on_disk(&s), before_disk);
    assert_eq!(decrypt(&s, &app_id, &file_id).await.unwrap(), b"mine");
}

#[tokio::test]
async fn deleting_the_app_removes_its_blobs() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let keep = s.create_app(&seller, "keep").await["id"].as_str().unwrap().to_owned();
    let gone = s.create_app(&seller, "gone").await["id"].as_str().unwrap().to_owned();
    for app in [&keep, &gone] {
        upload(&s, &seller.token, app, Form::new().part("file", file_part(random_bytes(1000), "a.bin")))
            .await
            .assert_status(201);
    }
    assert_eq!(files_on_disk(&s).len(), 2);
    s.delete(&format!("/v1/admin/apps/{gone}"), &seller.token).await.assert_status(200);
    let left = files_on_disk(&s);
    assert_eq!(left.len(), 1);
    assert!(left[0].to_string_lossy().contains(&keep));
}
