//! Signed responses checked by the verifier that matters: the official Authly Python
//! SDK (`authlyx-api` 2.2.0), running its own response path (`Auth._post_json`: parse the body,
//! re-serialize it canonically, verify the Ed25519 signature) on answers this module signs. Only
//! the network is replaced: `requests.Session.post` returns the prepared response, and the SDK's
//! request id and nonce are the ones the response was signed for.
//!
//! The SDK tests need a Python that can `import authlyx_api`: `TOLLGATE_TEST_PYTHON` names it
//! (e.g. a virtual environment's `bin/python`), else `python3` is tried; without one they say so
//! and pass. The canonical JSON comparison needs only `python3`'s standard library.

use std::process::Stdio;
use std::sync::Arc;

use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Map, Value};
use tokio::io::AsyncWriteExt;
use tollgate_core::canonical::canonical_json;
use tollgate_server::dialect::authly::envelope::header;
use tollgate_server::signing::Signer;
use tollgate_store::Store;

use crate::harness::TestServer;

/// Run `script` with `input` on stdin; its stdout. Panics with stderr when it fails.
pub async fn run_python(python: &str, script: &str, input: &str) -> String {
    let mut child = tokio::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .env("PYTHONIOENCODING", "utf-8")
        // The SDK writes a log file under PROGRAMDATA when logging is on; it is off, but keep
        // any stray file out of the source tree.
        .env("PROGRAMDATA", std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{python} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Whether `python` can import `module`.
pub(crate) async fn imports(python: &str, module: &str) -> bool {
    tokio::process::Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A Python with the official SDK, or `None` (after saying so) when there is none.
pub async fn sdk_python() -> Option<String> {
    if let Ok(python) = std::env::var("TOLLGATE_TEST_PYTHON") {
        // Asked for explicitly: a broken one is a failure, not a skip.
        assert!(imports(&python, "authlyx_api").await, "TOLLGATE_TEST_PYTHON={python} cannot import authlyx_api");
        return Some(python);
    }
    if imports("python3", "authlyx_api").await {
        return Some("python3".into());
    }
    static SKIPPED: std::sync::Once = std::sync::Once::new();
    SKIPPED.call_once(|| {
        // Straight to the process's stderr, once: the test harness captures `eprintln!`.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "Authly SDK tests skipped: TOLLGATE_TEST_PYTHON is unset and python3 lacks authlyx-api; set it to a Python \
             with authlyx-api==2.2.0 (python3 -m venv /tmp/v && /tmp/v/bin/pip install authlyx-api==2.2.0)"
        );
    });
    None
}

/// For each case: build an `Auth` pinned to `pem` (the SDK's built-in key when null), make its
/// next request id and nonce the case's, answer its POST with the case's status, headers and
/// body, and report what the SDK concluded.
const SDK_HARNESS: &str = r#"
import json, sys
import requests
from authlyx_api import sdk

current = {}

def answer(self, url, data=None, headers=None, **kwargs):
    r = requests.models.Response()
    r.status_code = current["status"]
    r._content = current["body"].encode("utf-8")
    r.headers = requests.structures.CaseInsensitiveDict(current["headers"])
    r.encoding = requests.utils.get_encoding_from_headers(r.headers)
    r.url = url
    r.reason = "OK"
    return r

requests.Session.post = answer

out = []
for case in json.load(sys.stdin):
    current.clear()
    current.update(case)
    auth = sdk.Auth("owner", "app", "1.0.0", "secret", debug=False, api="http://127.0.0.1:9/api/v2",
                    serverPublicKeyPem=case["pem"], requireSignedResponses=True, anti_debug=False)
    auth._create_security_context = lambda: (case["request_id"], case["nonce"], 1700000000000)
    auth._get_public_ip = lambda: ""
    ok = auth._post_json("init", {"owner_id": "owner"})
    out.append({"ok": ok, "code": auth.response["code"], "kid": auth.response["signature_kid"]})
print(json.dumps(out))
"#;

/// One prepared answer and what the SDK must conclude from it.
struct Case {
    what: String,
    pem: Option<String>,
    request_id: String,
    nonce: String,
    status: u16,
    headers: Map<String, Value>,
    /// The body as sent on the wire.
    body: String,
    /// `(ok, code, kid)` the SDK must report.
    want: (bool, String, String),
}

impl Case {
    fn to_json(&self) -> Value {
        json!({
            "pem": self.pem, "request_id": self.request_id, "nonce": self.nonce,
            "status": self.status, "headers": self.headers, "body": self.body,
        })
    }
}

/// A correctly signed answer to the request `(request_id, nonce)`, the body sent as serde_json
/// writes it.
fn signed(what: &str, signer: &Signer, body: &Value, status: u16) -> Case {
    let request_id = uuid_like();
    let nonce = tollgate_core::ids::random_hex(16);
    let ts = tollgate_core::time::to_millis(&tollgate_core::time::now());
    let (signature, kid) = signer.sign(ts, &request_id, &nonce, body);
    let mut headers = Map::new();
    headers.insert("Content-Type".into(), json!("application/json"));
    headers.insert(header::REQUEST_ID.into(), json!(request_id));
    headers.insert(header::NONCE.into(), json!(nonce));
    headers.insert(header::SIGNATURE.into(), json!(signature));
    headers.insert(header::SIGNATURE_TS.into(), json!(ts.to_string()));
    headers.insert(header::SIGNATURE_KID.into(), json!(kid));
    let code = body["code"].as_str().unwrap_or("").to_owned();
    Case {
        what: what.into(),
        pem: Some(signer.public_key_pem().to_owned()),
        want: (body["success"] == json!(true), code, kid.to_owned()),
        request_id,
        nonce,
        status,
        headers,
        body: serde_json::to_string(body).unwrap(),
    }
}

fn rejected(mut case: Case) -> Case {
    case.want = (false, "AUTH_INVALID_SIGNATURE".into(), case.want.2);
    case
}

fn uuid_like() -> String {
    let h = tollgate_core::ids::random_hex(16);
    format!("{}-{}-4{}-a{}-{}", &h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..])
}

async fn run_cases(python: &str, cases: &[Case]) {
    let input = Value::Array(cases.iter().map(Case::to_json).collect()).to_string();
    let out: Vec<Value> = serde_json::from_str(&run_python(python, SDK_HARNESS, &input).await).unwrap();
    assert_eq!(out.len(), cases.len());
    let mut wrong = Vec::new();
    for (case, got) in cases.iter().zip(&out) {
        let got = (got["ok"].as_bool().unwrap(), got["code"].as_str().unwrap(), got["kid"].as_str().unwrap());
        let want = (case.want.0, case.want.1.as_str(), case.want.2.as_str());
        if got != want {
            wrong.push(format!("{}: SDK said {got:?}, expected {want:?}; body {}", case.what, case.body));
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

fn typical_body() -> Value {
    json!({
        "success": true,
        "code": "OK",
        "message": "Initialized ✓ — bienvenue, Zoë! 欢迎 😀",
        "session_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "update": {"available": false, "latest_version": "1.0.0", "force_update": false, "allowed_until": null},
        "user": {"username": "zoë", "subscription": "Premium 💎", "subscription_level": 3,
                 "expiry_date": "2027-01-01T00:00:00.000Z", "ratio": 0.1, "big": 1e21, "small": 1.5e-7,
                 "devices": [], "tags": ["a\u{2028}b", "tab\there", "quote\"back\\slash", "nul\u{0}"]},
        "data": {"messages": [{"id": 1, "message": "line1\nline2"}], "has_more": false, "next_cursor": null}
    })
}

#[tokio::test]
async fn the_official_sdk_accepts_signed_responses_and_rejects_forgeries() {
    let Some(python) = sdk_python().await else { return };
    let server = TestServer::start().await;
    let (store, master) = (server.state.store.as_ref(), server.state.master.as_ref());
    let signer = Signer::load_or_create(store, master).await.unwrap();
    let body = typical_body();
    let mut cases = Vec::new();

    cases.push(signed("a success with Unicode, floats and nesting", &signer, &body, 200));
    let error = json!({"success": false, "code": "INVALID_SESSION", "message": "Session not found"});
    cases.push(signed("an error answer", &signer, &error, 401));

    // The SDK parses and re-serializes: any spelling of the same JSON verifies.
    let mut respelled = signed("the body pretty-printed", &signer, &body, 200);
    respelled.body = serde_json::to_string_pretty(&body).unwrap();
    cases.push(respelled);
    let small = json!({"success": true, "code": "OK", "message": "é"});
    let mut respelled = signed("keys out of order, spaces, \\u escapes", &signer, &small, 200);
    respelled.body = r#"{ "message" : "\u00e9", "success" : true,  "code":"OK" }"#.into();
    cases.push(respelled);
    let mut canonical = signed("the canonical text itself as the body", &signer, &body, 200);
    canonical.body = canonical_json(&body);
    cases.push(canonical);

    // Forgeries and mistakes.
    let mut tampered = signed("a tampered body", &signer, &body, 200);
    tampered.body = tampered.body.replace("Premium", "Lifetime");
    cases.push(rejected(tampered));
    let mut other_nonce = signed("signed over another nonce", &signer, &body, 200);
    other_nonce.nonce = tollgate_core::ids::random_hex(16);
    other_nonce.headers.remove(header::NONCE);
    cases.push(rejected(other_nonce));
    let mut other_ts = signed("the timestamp header changed", &signer, &body, 200);
    let ts = other_ts.headers[header::SIGNATURE_TS].as_str().unwrap().parse::<i64>().unwrap();
    other_ts.headers.insert(header::SIGNATURE_TS.into(), json!((ts + 1).to_string()));
    cases.push(rejected(other_ts));
    let mut unsigned = signed("no signature", &signer, &body, 200);
    unsigned.headers.remove(header::SIGNATURE);
    cases.push(rejected(unsigned));
    let mut default_key = signed("the SDK's built-in key pinned", &signer, &body, 200);
    default_key.pem = None;
    cases.push(rejected(default_key));
    let (_dir, other_store) = other_sqlite().await;
    let stranger = Signer::load_or_create(other_store.as_ref(), master).await.unwrap();
    let mut wrong_key = signed("another server's key pinned", &signer, &body, 200);
    wrong_key.pem = Some(stranger.public_key_pem().to_owned());
    cases.push(rejected(wrong_key));

    // After a rotation: the new key verifies with its PEM; clients pinned to the old one refuse.
    let rotated = Signer::rotate(store, master).await.unwrap();
    assert_eq!(rotated.kid(), "k2");
    cases.push(signed("signed by the rotated key", &rotated, &body, 200));
    let mut stale_pin = signed("rotated key, old key pinned", &rotated, &body, 200);
    stale_pin.pem = Some(signer.public_key_pem().to_owned());
    cases.push(rejected(stale_pin));

    // Random bodies: every string escape, code point and float the generator can think of.
    let mut rng = rand::rng();
    for i in 0..150 {
        let mut fields = Map::new();
        fields.insert("success".into(), json!(true));
        fields.insert("code".into(), json!("OK"));
        for _ in 0..4 {
            fields.insert(random_string(&mut rng), random_value(&mut rng, 3));
        }
        cases.push(signed(&format!("random body {i}"), &signer, &Value::Object(fields), 200));
    }

    run_cases(&python, &cases).await;
    server.stop().await;
}

async fn other_sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("other.db").display());
    (dir, Arc::new(tollgate_sqlite::SqliteStore::open(&url, 2).await.unwrap()))
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON against CPython's `json.dumps(..., sort_keys=True, separators=(",", ":"),
// ensure_ascii=False)` on random values, sent as serde_json writes them.

const CANONICAL: &str = r#"
import json, sys
texts = json.load(sys.stdin)
out = [json.dumps(json.loads(t), sort_keys=True, separators=(",", ":"), ensure_ascii=False) for t in texts]
print(json.dumps(out))
"#;

fn random_char(rng: &mut impl Rng) -> char {
    const SPECIAL: &[char] = &[
        '"',
        '\\',
        '/',
        '\n',
        '\r',
        '\t',
        '\u{8}',
        '\u{c}',
        '\u{0}',
        '\u{1}',
        '\u{1f}',
        '\u{7f}',
        '\u{80}',
        'é',
        'ß',
        '中',
        '文',
        '😀',
        '💎',
        '\u{2028}',
        '\u{2029}',
        '\u{e000}',
        '\u{fffd}',
        '\u{ffff}',
        '\u{10000}',
        '\u{10ffff}',
        '\u{feff}',
        '\u{200b}',
        ' ',
        'a',
        'Z',
        '0',
        '_',
    ];
    match rng.random_range(0..4) {
        0 => *SPECIAL.choose(rng).unwrap(),
        1 => char::from(rng.random_range(0u8..0x80)),
        2 => char::from_u32(rng.random_range(0x80..0x10000)).unwrap_or('?'),
        _ => char::from_u32(rng.random_range(0x10000..0x110000)).unwrap_or('?'),
    }
}

fn random_string(rng: &mut impl Rng) -> String {
    let n = rng.random_range(0..12);
    (0..n).map(|_| random_char(rng)).collect()
}

fn random_float(rng: &mut impl Rng) -> f64 {
    loop {
        let f = match rng.random_range(0..4) {
            // Any bit pattern: subnormals, huge and tiny exponents.
            0 => f64::from_bits(rng.random()),
            // Short decimals around the fixed/exponent switch of Python's repr (1e-4, 1e16).
            1 => rng.random_range(1..100_000) as f64 * 10f64.powi(rng.random_range(-25..25)),
            2 => rng.random_range(-1e6..1e6),
            _ => *[0.0, -0.0, 1e16, 1e15, 9999999999999998.0, 1e-4, 9.999e-5, 0.1, 1e22, 5e-324].choose(rng).unwrap(),
        };
        if f.is_finite() {
            return f;
        }
    }
}

fn random_value(rng: &mut impl Rng, depth: u32) -> Value {
    let kinds = if depth == 0 { 6 } else { 8 };
    match rng.random_range(0..kinds) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random::<i64>() >> rng.random_range(0..63)),
        3 => json!(rng.random::<u64>()),
        4 => json!(random_float(rng)),
        5 => json!(random_string(rng)),
        6 => Value::Array((0..rng.random_range(0..5)).map(|_| random_value(rng, depth - 1)).collect()),
        _ => Value::Object(
            (0..rng.random_range(0..5)).map(|_| (random_string(rng), random_value(rng, depth - 1))).collect(),
        ),
    }
}

#[tokio::test]
async fn canonical_json_is_byte_identical_to_python_on_random_values() {
    if !imports("python3", "json").await {
        eprintln!("canonical JSON comparison skipped: no python3");
        return;
    }
    let mut rng = rand::rng();
    let values: Vec<Value> = (0..3000).map(|_| random_value(&mut rng, 4)).collect();
    let wire: Vec<String> = values.iter().map(|v| serde_json::to_string(v).unwrap()).collect();
    let out = run_python("python3", CANONICAL, &serde_json::to_string(&wire).unwrap()).await;
    let python: Vec<String> = serde_json::from_str(&out).unwrap();
    assert_eq!(python.len(), values.len());
    for ((value, text), expected) in values.iter().zip(&wire).zip(&python) {
        assert_eq!(&canonical_json(value), expected, "sent {text}");
    }
}

// ---------------------------------------------------------------------------------------------

/// A second process on the same database: another node on PostgreSQL, another pool on the same
/// file on SQLite.
async fn second_store(server: &TestServer) -> (Option<TestServer>, Arc<dyn Store>) {
    if server.pg.is_some() {
        let node = server.second_node().await;
        let store = node.state.store.clone();
        (Some(node), store)
    } else {
        let url = server.state.config.database_url.clone();
        (None, Arc::new(tollgate_sqlite::SqliteStore::open(&url, 4).await.unwrap()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_sign_with_one_key_and_see_a_rotation() {
    let server = TestServer::start().await;
    let (node, other) = second_store(&server).await;
    let master = server.state.master.clone();
    let stores = [server.state.store.clone(), other.clone()];
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, master) = (stores[i % 2].clone(), master.clone());
            tokio::spawn(async move { Signer::load_or_create(store.as_ref(), &master).await.unwrap() })
        })
        .collect();
    let signers: Vec<Signer> = futures::future::join_all(tasks).await.into_iter().map(|t| t.unwrap()).collect();
    for s in &signers {
        assert_eq!((s.kid(), s.public_key_pem()), ("k1", signers[0].public_key_pem()));
    }
    assert_eq!(other.list_signing_keys().await.unwrap().len(), 1);

    // A signature made on one node verifies with the key the other node loads.
    let body = json!({"success": true, "code": "OK"});
    let (sig, _) = signers[0].sign(1, "r", "n", &body);
    let loaded = Signer::load_or_create(other.as_ref(), &master).await.unwrap();
    assert!(tollgate_server::signing::verify(loaded.public_key_pem(), "1", "r", "n", &body, &sig));

    // Rotated on one node, loaded on the other.
    let rotated = Signer::rotate(server.state.store.as_ref(), &master).await.unwrap();
    let loaded = Signer::load_or_create(other.as_ref(), &master).await.unwrap();
    assert_eq!((loaded.kid(), loaded.public_key_pem()), ("k2", rotated.public_key_pem()));
    assert!(!tollgate_server::signing::verify(loaded.public_key_pem(), "1", "r", "n", &body, &sig));

    if let Some(node) = node {
        node.stop().await;
    }
    server.stop().await;
}
