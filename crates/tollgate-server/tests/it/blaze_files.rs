//! Blazeauth files over the real socket: metadata (9), transfer (7) with its chunk frames,
//! resume and refusals, stop (8), and back-pressure from a client that does not read.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tollgate_server::files::FileVault;

use crate::harness::TestServer;
use crate::ws::{BlazeApp, Frame, Ws};

const CHUNK: usize = 64 * 1024;
const MIB: usize = 1024 * 1024;

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    tollgate_core::ids::fill_random(&mut v);
    v
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Upload through the admin API; the file's id.
async fn upload(s: &TestServer, app: &BlazeApp, name: &str, data: &[u8], min_level: i64) -> String {
    let form = Form::new()
        .part("file", Part::bytes(data.to_vec()).file_name("upload.bin"))
        .text("name", name.to_owned())
        .text("minLevel", min_level.to_string());
    let res =
        s.http.post(s.url(&app.path("/files"))).bearer_auth(&app.seller.token).multipart(form).send().await.unwrap();
    let r = TestServer::into_resp(res).await;
    r.assert_status(201);
    r.data()["id"].as_str().unwrap().to_owned()
}

/// A fresh license of `level` for the app.
async fn license(s: &TestServer, app: &BlazeApp, level: i64) -> String {
    let body = json!({ "count": 1, "durationType": "30d", "level": level });
    let r = s.post(&app.path("/licenses"), &app.seller.token, body).await;
    r.assert_status(201);
    let list = r.data()["keys"].as_array().or_else(|| r.data().as_array()).cloned().unwrap_or_default();
    let k = &list[0];
    k.as_str().or_else(|| k["key"].as_str()).unwrap().to_owned()
}

/// A connection initialized and authorized by a fresh license of `level`.
async fn authorized(s: &TestServer, app: &BlazeApp, client_id: &str, level: i64) -> Ws {
    let key = license(s, app, level).await;
    let mut ws = app.connect(s, client_id).await;
    let a = ws.call(2, json!({ "license": key })).await;
    assert_eq!(a["status"], 1, "authorize by license: {a}");
    ws
}

/// A chunk frame taken apart: its header and its bytes.
fn chunk(frame: &[u8]) -> (Value, Vec<u8>) {
    assert!(frame.len() >= 4, "a chunk frame starts with its header's length");
    let n = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&frame[4..4 + n]).expect("the header is JSON");
    let data = frame[4 + n..].to_vec();
    assert_eq!(header["length"].as_u64(), Some(data.len() as u64), "length says the bytes that follow: {header}");
    (header, data)
}

/// What a transfer sent after its first answer: the chunks in order and the packet that ended it.
struct Received {
    headers: Vec<Value>,
    bytes: Vec<u8>,
    end: Value,
}

/// Read chunk frames of transfer `id` until a text packet with that id ends them; other packets
/// are returned apart.
async fn receive(ws: &mut Ws, id: u64) -> (Received, Vec<Value>) {
    let (mut headers, mut bytes, mut others) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        match ws.next().await {
            Frame::Binary(b) => {
                let (h, data) = chunk(&b);
                assert_eq!(h["id"], json!(id), "a chunk carries its transfer's id");
                headers.push(h);
                bytes.extend_from_slice(&data);
            }
            Frame::Packet(p) if p["id"] == json!(id) => return (Received { headers, bytes, end: p }, others),
            Frame::Packet(p) => others.push(p),
            other => panic!("the transfer ended with {other:?}"),
        }
    }
}

/// Send a Transfer file packet; its first answer.
async fn transfer(ws: &mut Ws, filename: &str, resume_at: u64) -> (u64, Value) {
    let id = ws.id();
    ws.send(json!({ "type": 7, "id": id, "filename": filename, "resume_at": resume_at })).await;
    let a = ws.packet().await;
    assert_eq!(a["id"], json!(id), "{a}");
    (id, a)
}

/// Offsets follow each other from `start`; every chunk holds at most 64 KiB and ends on a
/// multiple of 64 KiB (or at the end of the file).
fn check_chunks(headers: &[Value], start: u64, size: u64) {
    let mut at = start;
    for h in headers {
        assert_eq!(h["offset"].as_u64(), Some(at), "{h}");
        let len = h["length"].as_u64().unwrap();
        assert!(len > 0 && len <= CHUNK as u64, "{h}");
        at += len;
        assert!(at.is_multiple_of(CHUNK as u64) || at == size, "{h}");
    }
    assert_eq!(at, size, "the chunks reach the end of the file");
}

async fn logs(s: &TestServer, app: &BlazeApp) -> Vec<String> {
    let r = s.get(&app.path("/logs?limit=100"), &app.seller.token).await;
    r.assert_status(200);
    r.data().as_array().unwrap().iter().filter_map(|l| l["message"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn blaze_file_metadata_statuses_and_fields() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let data = random_bytes(3 * CHUNK + 77);
    upload(&s, &app, "tool.bin", &data, 0).await;
    // no authorization needed
    let mut ws = app.connect(&s, "client-meta").await;
    let a = ws.call(9, json!({ "filename": "abc" })).await;
    assert_eq!(a["status"], 301, "a name shorter than 4 characters: {a}");
    let a = ws.call(9, json!({ "filename": "nope.bin" })).await;
    assert_eq!(a["status"], 300, "{a}");
    let a = ws.call(9, json!({ "filename": "TOOL.BIN" })).await;
    assert_eq!(a["status"], 300, "names match exactly: {a}");
    let a = ws.call(9, json!({ "filename": "tool.bin" })).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_eq!(a["checksum"], sha_hex(&data));
    assert_eq!(a["size"], data.len());
    assert_eq!(a["transfer_count"], 0);
    assert!(a["last_transferred_at"].is_null(), "never transferred: {a}");

    // a transfer from the first byte counts; a resumed one does not
    let before = chrono::Utc::now().timestamp();
    let mut ws = authorized(&s, &app, "client-meta-2", 0).await;
    let (id, a) = transfer(&mut ws, "tool.bin", 0).await;
    assert_eq!(a["status"], 1, "{a}");
    let (got, _) = receive(&mut ws, id).await;
    assert_eq!(got.end["status"], 1);
    let (id, _) = transfer(&mut ws, "tool.bin", 10).await;
    receive(&mut ws, id).await;
    let a = ws.call(9, json!({ "filename": "tool.bin" })).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_eq!(a["transfer_count"], 1, "{a}");
    let at = a["last_transferred_at"].as_i64().expect("unix seconds once transferred");
    assert!(at >= before - 1 && at <= chrono::Utc::now().timestamp() + 1, "{a}");
}

#[tokio::test]
async fn blaze_whole_transfer_reassembles_the_upload() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let data = random_bytes(5 * CHUNK + 12_345);
    upload(&s, &app, "module.dll", &data, 0).await;
    let mut ws = authorized(&s, &app, "client-whole", 0).await;
    let (id, a) = transfer(&mut ws, "module.dll", 0).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_eq!(a["file_size"], data.len(), "{a}");
    let (got, others) = receive(&mut ws, id).await;
    assert!(others.is_empty(), "{others:?}");
    assert_eq!(got.headers.len(), 6, "five full chunks and the rest");
    check_chunks(&got.headers, 0, data.len() as u64);
    assert!(got.bytes == data, "the bytes are the upload's");
    assert_eq!(got.end["status"], 1, "{}", got.end);
    assert_eq!(got.end["file_checksum"], sha_hex(&data));
    assert_eq!(got.end["range_checksum"], sha_hex(&data));
    // the download is in the seller's logs, as the HTTP route logs it
    assert!(logs(&s, &app).await.contains(&"file.download module.dll".to_owned()));

    // an empty file: the answer, no chunk, the final packet
    upload(&s, &app, "empty.dat", b"", 0).await;
    let (id, a) = transfer(&mut ws, "empty.dat", 0).await;
    assert_eq!((a["status"].clone(), a["file_size"].clone()), (json!(1), json!(0)), "{a}");
    let (got, _) = receive(&mut ws, id).await;
    assert!(got.headers.is_empty());
    assert_eq!(got.end["range_checksum"], sha_hex(b""));
    assert_eq!(got.end["file_checksum"], sha_hex(b""));
}

#[tokio::test]
async fn blaze_transfer_resumes_inside_a_chunk_and_refuses_past_the_end() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let data = random_bytes(4 * CHUNK + 999);
    let size = data.len() as u64;
    upload(&s, &app, "patch.pak", &data, 0).await;
    let mut ws = authorized(&s, &app, "client-resume", 0).await;
    let from = CHUNK as u64 + 1000;
    let (id, a) = transfer(&mut ws, "patch.pak", from).await;
    assert_eq!(a["status"], 1, "{a}");
    assert_eq!(a["file_size"], size, "the whole file's size: {a}");
    let (got, _) = receive(&mut ws, id).await;
    assert_eq!(got.headers[0]["offset"], from);
    assert_eq!(got.headers[0]["length"], CHUNK as u64 - 1000, "the first chunk ends on the store's boundary");
    check_chunks(&got.headers, from, size);
    assert!(got.bytes == data[from as usize..]);
    assert_eq!(got.end["file_checksum"], sha_hex(&data));
    assert_eq!(got.end["range_checksum"], sha_hex(&data[from as usize..]));
    assert!(logs(&s, &app).await.contains(&format!("file.download patch.pak bytes {from}-{}/{size}", size - 1)));

    // at the end: nothing to send, the final packet at once
    let (id, a) = transfer(&mut ws, "patch.pak", size).await;
    assert_eq!(a["status"], 1, "{a}");
    let (got, _) = receive(&mut ws, id).await;
    assert!(got.headers.is_empty());
    assert_eq!(got.end["status"], 1);
    assert_eq!(got.end["range_checksum"], sha_hex(b""));
    // past the end: 302, nothing sent
    let (_, a) = transfer(&mut ws, "patch.pak", size + 1).await;
    assert_eq!(a["status"], 302, "{a}");
    let a = ws.call(9, json!({ "filename": "patch.pak" })).await;
    assert_eq!(a["status"], 1, "the next answer follows at once: {a}");
}

#[tokio::test]
async fn blaze_transfer_refusals() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let other = BlazeApp::create(&s).await;
    let data = random_bytes(1000);
    upload(&s, &app, "open.bin", &data, 0).await;
    upload(&s, &app, "gold.bin", &data, 5).await;
    upload(&s, &other, "theirs.bin", &data, 0).await;

    // initialized, not authorized: 3 (the name rules come after)
    let mut ws = app.connect(&s, "client-anon").await;
    for name in ["open.bin", "abc", "nope.bin"] {
        let (_, a) = transfer(&mut ws, name, 0).await;
        assert_eq!(a["status"], 3, "{name}: {a}");
    }
    let a = ws.call(8, json!({ "filename": "open.bin" })).await;
    assert_eq!(a["status"], 305, "{a}");

    let mut ws = authorized(&s, &app, "client-level1", 1).await;
    let (_, a) = transfer(&mut ws, "abc", 0).await;
    assert_eq!(a["status"], 301, "{a}");
    let (_, a) = transfer(&mut ws, "nope.bin", 0).await;
    assert_eq!(a["status"], 300, "{a}");
    let (_, a) = transfer(&mut ws, "theirs.bin", 0).await;
    assert_eq!(a["status"], 300, "another app's file: {a}");
    let (_, a) = transfer(&mut ws, "gold.bin", 0).await;
    assert_eq!(a["status"], 3, "level 1 below the file's 5: {a}");
    let a = ws.call(9, json!({ "filename": "theirs.bin" })).await;
    assert_eq!(a["status"], 300, "{a}");
    // nothing running: 305
    let a = ws.call(8, json!({ "filename": "open.bin" })).await;
    assert_eq!(a["status"], 305, "{a}");
    // a transfer that has ended is not running either
    let (id, a) = transfer(&mut ws, "open.bin", 0).await;
    assert_eq!(a["status"], 1);
    receive(&mut ws, id).await;
    let a = ws.call(8, json!({ "filename": "open.bin" })).await;
    assert_eq!(a["status"], 305, "{a}");
    // none of the refusals was logged as a download
    let downloads: Vec<String> = logs(&s, &app).await.into_iter().filter(|m| m.starts_with("file.download")).collect();
    assert_eq!(downloads, vec!["file.download open.bin".to_owned()]);

    // a high enough level reaches the file
    let mut ws = authorized(&s, &app, "client-level5", 5).await;
    let (id, a) = transfer(&mut ws, "gold.bin", 0).await;
    assert_eq!(a["status"], 1, "{a}");
    let (got, _) = receive(&mut ws, id).await;
    assert!(got.bytes == data);
}

/// Read frames until every id in `want` has had a text packet: the chunk frames of transfer
/// `id` met on the way (their bytes appended to `bytes`), and the packets by id.
async fn until_answered(ws: &mut Ws, id: u64, want: &[u64], bytes: &mut Vec<u8>) -> Vec<Value> {
    let mut packets: Vec<Value> = Vec::new();
    while !want.iter().all(|w| packets.iter().any(|p| p["id"] == json!(w))) {
        match ws.next().await {
            Frame::Binary(b) => {
                let (h, data) = chunk(&b);
                assert_eq!(h["id"], json!(id), "{h}");
                assert_eq!(h["offset"].as_u64(), Some(bytes.len() as u64), "{h}");
                bytes.extend_from_slice(&data);
            }
            Frame::Packet(p) => packets.push(p),
            other => panic!("unexpected {other:?}"),
        }
    }
    packets
}

fn answer(packets: &[Value], id: u64) -> &Value {
    packets.iter().find(|p| p["id"] == json!(id)).unwrap()
}

#[tokio::test]
async fn blaze_stop_mid_transfer_and_a_second_transfer_of_the_same_file() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let data = random_bytes(16 * MIB);
    upload(&s, &app, "large.iso", &data, 0).await;
    upload(&s, &app, "small.txt", b"hello, world", 0).await;
    let mut ws = authorized(&s, &app, "client-stop", 0).await;
    let (id, a) = transfer(&mut ws, "large.iso", 0).await;
    assert_eq!(a["status"], 1, "{a}");
    let mut bytes = Vec::new();

    // the same file again while it runs: 306; other packets are answered meanwhile
    let again = ws.id();
    ws.send(json!({ "type": 7, "id": again, "filename": "large.iso", "resume_at": 0 })).await;
    let meta = ws.id();
    ws.send(json!({ "type": 9, "id": meta, "filename": "small.txt" })).await;
    let packets = until_answered(&mut ws, id, &[again, meta], &mut bytes).await;
    assert_eq!(answer(&packets, again)["status"], 306, "{packets:?}");
    assert_eq!(answer(&packets, meta)["status"], 1, "{packets:?}");
    assert_eq!(answer(&packets, meta)["size"], 12, "{packets:?}");
    assert_eq!(packets.len(), 2, "{packets:?}");

    // at least one chunk in, stop it: answered 1, then the transfer ends with 304
    while bytes.is_empty() {
        let Frame::Binary(b) = ws.next().await else { panic!("a chunk") };
        bytes.extend_from_slice(&chunk(&b).1);
    }
    let stop = ws.id();
    ws.send(json!({ "type": 8, "id": stop, "filename": "large.iso" })).await;
    let packets = until_answered(&mut ws, id, &[stop, id], &mut bytes).await;
    assert_eq!(answer(&packets, stop)["status"], 1, "{packets:?}");
    let end = answer(&packets, id);
    assert_eq!(end["status"], 304, "{end}");
    assert!(end.get("file_checksum").is_none() && end.get("range_checksum").is_none(), "{end}");
    assert_eq!(packets.len(), 2, "no final status-1 packet: {packets:?}");
    assert!(bytes.len() < data.len(), "stopped before the end");
    assert!(bytes[..] == data[..bytes.len()], "what was sent is the file's beginning");
    // nothing follows: the next answer is the next packet's
    let a = ws.call(8, json!({ "filename": "large.iso" })).await;
    assert_eq!(a["status"], 305, "nothing runs any more: {a}");

    // the client resumes where it stopped, and the two parts are the file
    let from = bytes.len() as u64;
    let (id, a) = transfer(&mut ws, "large.iso", from).await;
    assert_eq!(a["status"], 1, "{a}");
    let (got, _) = receive(&mut ws, id).await;
    check_chunks(&got.headers, from, data.len() as u64);
    bytes.extend_from_slice(&got.bytes);
    assert!(bytes == data);
    assert_eq!(got.end["range_checksum"], sha_hex(&data[from as usize..]));
    assert_eq!(got.end["file_checksum"], sha_hex(&data));
}

/// The server's read position in the file at `path`, when one of this process's descriptors
/// has it open (the tests run the server in this process).
#[cfg(target_os = "linux")]
fn read_position(path: &std::path::Path) -> Option<u64> {
    for fd in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
        if std::fs::read_link(fd.path()).ok().as_deref() == Some(path) {
            let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.file_name().to_str()?)).ok()?;
            return info.lines().find_map(|l| l.strip_prefix("pos:")).and_then(|p| p.trim().parse().ok());
        }
    }
    None
}

/// A client that stops reading holds the server's reading back: after a second of silence the
/// server still has the encrypted file open with most of it unread (its descriptor's position,
/// from `/proc`), bounded by the writer's queue and the sockets' buffers; then the client reads
/// on and gets every byte.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn blaze_a_client_that_does_not_read_holds_the_server_back() {
    let s = TestServer::start().await;
    let app = BlazeApp::create(&s).await;
    let data = random_bytes(24 * MIB);
    let file_id = upload(&s, &app, "huge.bin", &data, 0).await;
    let blob = FileVault::from_state(&s.state).blob_path(&app.id, &file_id).unwrap();
    let blob_len = std::fs::metadata(&blob).unwrap().len();
    let mut ws = authorized(&s, &app, "client-slow", 0).await;
    let (id, a) = transfer(&mut ws, "huge.bin", 0).await;
    assert_eq!(a["status"], 1, "{a}");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let pos = read_position(&blob).expect("the server still has the file open: the transfer is in progress");
    assert!(pos > 0, "it has started");
    assert!(pos < blob_len / 2, "read {pos} of {blob_len} bytes while the client read nothing");
    let (got, _) = receive(&mut ws, id).await;
    assert_eq!(got.end["status"], 1, "{}", got.end);
    assert!(got.bytes == data);
    assert_eq!(read_position(&blob), None, "the file is closed once sent");
}
