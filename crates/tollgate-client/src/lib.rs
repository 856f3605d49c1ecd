//! `tollgate-client`: the Rust SDK for client programs licensed through a Tollgate server.
//!
//! A [`Client`] speaks the server's Authon v1 client API (`POST {base}/v1`) for one app. It pins
//! the server's Ed25519 public key, and every answer — refusals included — must carry a valid
//! signature by that key over this request's own id and nonce before anything in it is read;
//! anything else is [`Error::Untrusted`]. Each call sends a fresh request id, nonce and
//! timestamp, so a recorded answer can never be replayed as the answer to another request, and
//! a recorded request is refused by the server.
//!
//! # Example
//!
//! ```no_run
//! use std::path::Path;
//! use tollgate_client::{Client, Error};
//!
//! # async fn run() -> Result<(), Error> {
//! // The app's id and API key from the admin API, and the server's public key
//! // (`tollgate keys show`, or the app's `publicKeyPem`), built into the program.
//! const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
//! MCowBQYDK2VwAyEA...
//! -----END PUBLIC KEY-----";
//! let client = Client::new("https://licensing.example.com", "app_...", "ak_...", PUBLIC_KEY)?;
//!
//! // Start-up checks: the app is enabled, this address and machine are not blocked, this
//! // version is still supported.
//! let app = client.init(Some("1.4.0"), None).await?;
//! println!("{} (current version {})", app.name, app.version);
//!
//! // Sign in with a license key alone, or with an account.
//! let session = match client.license("ABCDE-FGHIJ-KLMNO-PQRST").await {
//!     Ok(s) => s,
//!     Err(Error::Refused { code, message, .. }) if code == "LICENSE_IN_USE" => {
//!         eprintln!("{message}; signing in with the account instead");
//!         client.login("alice", "correct horse").await?
//!     }
//!     Err(e) => return Err(e),
//! };
//! println!("level {} ({}), until {:?}", session.level, session.subscription, session.expires_at);
//!
//! // The heartbeat: is the session still good?
//! let info = client.check(&session.token).await?;
//! assert_eq!(info.level, session.level);
//!
//! // An app variable the seller set, and this user's own variable.
//! let motd = client.variable(&session.token, "motd").await?;
//! client.set_user_variable(&session.token, "theme", "dark").await?;
//! assert_eq!(client.user_variable(&session.token, "theme").await?, "dark");
//!
//! // A protected file, streamed to disk, resumed if a previous attempt broke off, and renamed
//! // into place only when its SHA-256 equals the signed one.
//! let file = client.download(&session.token, "file_...", Path::new("payload.bin")).await?;
//! println!("{} bytes, sha256 {}", file.size, file.sha256);
//!
//! // An offline license file: keep it, and check it later with no network at all.
//! let text = client.license_file(&session.token).await?;
//! std::fs::write("license.tollgate", &text)?;
//! let offline = client.verify_license_file(&std::fs::read_to_string("license.tollgate")?)?;
//! println!("valid offline until {}, level {}", offline.expiry, offline.level);
//!
//! client.log(&session.token, "started").await?;
//! client.logout(&session.token).await?;
//! # let _ = motd;
//! # Ok(())
//! # }
//! ```
//!
//! # What is checked
//!
//! - The answer echoes this request's id (`x-v2-request-id`) and nonce (`x-v2-nonce`).
//! - `x-v2-signature` is a valid Ed25519 signature by the pinned key of
//!   `"{x-v2-signature-ts}\n{request id}\n{nonce}\n{canonical JSON of the body}"`.
//! - The signature's timestamp is within five minutes of this machine's clock (change it with
//!   [`Client::with_max_clock_skew`]).
//! - Downloads: the bytes' SHA-256 equals the `sha256` of the signed `file` answer.
//! - License files: [`tollgate_core::license_file::verify`] with the pinned key, this app, this
//!   client's HWID and the current time.

#![warn(missing_docs)]

mod download;
mod machine;
mod signed;

use std::path::Path;
use std::time::Duration;

use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::VerifyingKey;
use serde_json::{json, Map, Value};

pub use machine::machine_id;
pub use tollgate_core::license_file::{LicenseFileError, Payload as LicenseFile};

/// What can go wrong on a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a refusal (its `code` and `message`), properly signed.
    #[error("{message} ({code})")]
    Refused {
        /// The HTTP status of the answer.
        status: u16,
        /// Machine-readable, e.g. `INVALID_SESSION` (the server's error table).
        code: String,
        /// For people: what to show the user.
        message: String,
    },
    /// The answer is not signed by the pinned key, or echoes another request id or nonce.
    #[error("the answer failed verification: {0}")]
    Untrusted(String),
    /// The server could not be reached or the connection broke.
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The answer is signed but not what the protocol says.
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// A downloaded file does not match its SHA-256.
    #[error("downloaded file does not match its SHA-256 (expected {expected}, got {actual})")]
    Integrity {
        /// The signed SHA-256, lowercase hex.
        expected: String,
        /// The SHA-256 of the bytes received, lowercase hex.
        actual: String,
    },
    /// Reading or writing a local file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// An offline license file was refused.
    #[error("{0}")]
    LicenseFile(#[from] LicenseFileError),
    /// The client cannot be set up as asked: a public key that is not an Ed25519 SPKI PEM, a
    /// base URL that is not http(s), no machine id to read.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// How far the signature time of an answer may be from this machine's clock by default.
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// A client for one app on one server.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The server's root, without a trailing `/`.
    base: String,
    /// `{base}/v1`.
    endpoint: String,
    app_id: String,
    api_key: String,
    key: VerifyingKey,
    hwid: Option<String>,
    max_skew: Option<Duration>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key stays out of logs.
        f.debug_struct("Client").field("base", &self.base).field("app_id", &self.app_id).finish_non_exhaustive()
    }
}

/// The app as `init` answers it.
#[derive(Debug, Clone)]
pub struct AppInfo {
    /// The app's name.
    pub name: String,
    /// The app's current version (as the seller set it).
    pub version: String,
    /// Where to get a newer version, when the seller set one.
    pub update_url: Option<String>,
    /// Sign-ins are bound to the devices (HWIDs) they come from.
    pub hwid_lock: bool,
    /// `init` must send the executable's hash.
    pub hash_check: bool,
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session token every later call takes. A secret: do not log it.
    pub token: String,
    /// The account's name; `None` for a session signed in with a license key alone.
    pub username: Option<String>,
    /// The subscription level.
    pub level: i64,
    /// The app's name for the level (`Level N` when the seller named none).
    pub subscription: String,
    /// RFC 3339, `None` for a subscription that never ends.
    pub expires_at: Option<String>,
}

/// A session's state as `check` answers it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The account's name; `None` for a session signed in with a license key alone.
    pub username: Option<String>,
    /// The subscription level.
    pub level: i64,
    /// RFC 3339, `None` for a subscription that never ends.
    pub expires_at: Option<String>,
}

/// A file as the server describes it.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// The file's id.
    pub id: String,
    /// The file's name as uploaded.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// The server's answer to `license_file`, with the armoured file itself.
#[derive(Debug, Clone)]
pub struct IssuedLicenseFile {
    /// The armoured file (`-----BEGIN TOLLGATE LICENSE FILE-----`...).
    pub license_file: String,
    /// When it was issued (RFC 3339).
    pub issued: String,
    /// When it stops being valid (RFC 3339).
    pub expiry: String,
    /// Its lifetime in seconds.
    pub ttl: i64,
    /// The id of the key that signed it.
    pub kid: String,
}

impl Client {
    /// `base_url` is the server's root (`https://licensing.example.com`), `public_key_pem` the
    /// server's SPKI PEM Ed25519 public key to pin.
    ///
    /// The HWID sent on sign-ins defaults to [`machine_id`] (none when it cannot be read; set
    /// one with [`Client::with_hwid`]). [`Error::Config`] when the key is not an Ed25519 SPKI
    /// PEM, the URL is not `http(s)`, or an id is blank.
    pub fn new(base_url: &str, app_id: &str, api_key: &str, public_key_pem: &str) -> Result<Client, Error> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        let url = url::Url::parse(&base).map_err(|_| Error::Config("the base URL is not a URL".into()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::Config("the base URL must be http:// or https:// with a host".into()));
        }
        if app_id.trim().is_empty() || api_key.trim().is_empty() {
            return Err(Error::Config("the app id and API key must not be blank".into()));
        }
        // A PEM copied out of JSON keeps its line breaks as `\n`, as the Authly SDKs accept.
        let pem = public_key_pem.replace("\\n", "\n");
        let key = VerifyingKey::from_public_key_pem(pem.trim())
            .map_err(|_| Error::Config("the public key is not an Ed25519 SPKI PEM (BEGIN PUBLIC KEY)".into()))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            // Between two reads, not for the whole call: a large download may take long.
            .read_timeout(Duration::from_secs(60))
            .user_agent(concat!("tollgate-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot set up HTTP: {e}")))?;
        Ok(Client {
            http,
            endpoint: format!("{base}/v1"),
            base,
            app_id: app_id.trim().to_owned(),
            api_key: api_key.trim().to_owned(),
            key,
            hwid: machine_id().ok(),
            max_skew: Some(DEFAULT_MAX_CLOCK_SKEW),
        })
    }

    /// The HWID sent on sign-ins (default: [`machine_id`]).
    pub fn with_hwid(mut self, hwid: impl Into<String>) -> Client {
        self.hwid = Some(hwid.into()).filter(|h: &String| !h.trim().is_empty());
        self
    }

    /// The HWID sent on sign-ins, if any.
    pub fn hwid(&self) -> Option<&str> {
        self.hwid.as_deref()
    }

    /// How far an answer's signature time may be from this machine's clock
    /// ([`DEFAULT_MAX_CLOCK_SKEW`] unless changed); `None` turns the check off, for machines
    /// whose clock cannot be trusted. The request id and nonce still bind every answer to its
    /// request.
    pub fn with_max_clock_skew(mut self, max: Option<Duration>) -> Client {
        self.max_skew = max;
        self
    }

    /// The app id this client speaks for.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// One call: `type` plus the app's credentials and `fields`; the verified success body.
    async fn call(&self, kind: &str, fields: Value) -> Result<Map<String, Value>, Error> {
        let mut body = json!({ "type": kind, "appId": self.app_id, "apiKey": self.api_key });
        if let (Value::Object(b), Value::Object(extra)) = (&mut body, fields) {
            b.extend(extra.into_iter().filter(|(_, v)| !v.is_null()));
        }
        signed::call(&self.http, &self.endpoint, &self.key, self.max_skew, &body).await?.into_success()
    }

    /// The `data` object of a success body.
    async fn call_data(&self, kind: &str, fields: Value) -> Result<Map<String, Value>, Error> {
        match self.call(kind, fields).await?.remove("data") {
            Some(Value::Object(d)) => Ok(d),
            _ => Err(Error::Protocol(format!("`{kind}` answered no data object"))),
        }
    }

    /// Start-up checks before anything else: the app is enabled, this address and machine are
    /// allowed, the executable's `hash` (when the app checks hashes) and the `version` (when
    /// sent) are accepted. Opens no session.
    pub async fn init(&self, version: Option<&str>, hash: Option<&str>) -> Result<AppInfo, Error> {
        let d = self.call_data("init", json!({ "version": version, "hash": hash, "hwid": self.hwid })).await?;
        Ok(AppInfo {
            name: text(&d, "name")?,
            version: text(&d, "version")?,
            update_url: opt_text(&d, "updateUrl")?,
            hwid_lock: flag(&d, "hwidLock")?,
            hash_check: flag(&d, "hashCheck")?,
        })
    }

    /// Create an account with an unused license key, and sign it in.
    pub async fn register(&self, username: &str, password: &str, license_key: &str) -> Result<Session, Error> {
        let d = self
            .call_data(
                "register",
                json!({ "username": username, "password": password, "licenseKey": license_key, "hwid": self.hwid }),
            )
            .await?;
        session(&d)
    }

    /// Sign in with an account.
    pub async fn login(&self, username: &str, password: &str) -> Result<Session, Error> {
        let d =
            self.call_data("login", json!({ "username": username, "password": password, "hwid": self.hwid })).await?;
        session(&d)
    }

    /// Sign in with a license key alone (activating it on first use).
    pub async fn license(&self, license_key: &str) -> Result<Session, Error> {
        let d = self.call_data("license", json!({ "licenseKey": license_key, "hwid": self.hwid })).await?;
        session(&d)
    }

    /// The heartbeat: the session is still valid, and who it is signed in as. A session ended
    /// or expired is [`Error::Refused`] `INVALID_SESSION` / `SESSION_EXPIRED`; an account
    /// banned, frozen or expired since, its own code.
    pub async fn check(&self, session: &str) -> Result<SessionInfo, Error> {
        let d = self.call_data("check", json!({ "sessionToken": session })).await?;
        Ok(SessionInfo {
            username: opt_text(&d, "username")?,
            level: int(&d, "level")?,
            expires_at: opt_text(&d, "expiresAt")?,
        })
    }

    /// End the session; its token is refused from then on.
    pub async fn logout(&self, session: &str) -> Result<(), Error> {
        self.call("logout", json!({ "sessionToken": session })).await.map(drop)
    }

    /// An app variable the seller set.
    pub async fn variable(&self, session: &str, key: &str) -> Result<String, Error> {
        let d = self.call_data("var", json!({ "sessionToken": session, "key": key })).await?;
        text(&d, "value")
    }

    /// The session's own variable: the account's, or for a key-only session the license's.
    pub async fn user_variable(&self, session: &str, key: &str) -> Result<String, Error> {
        let d = self.call_data("getvar", json!({ "sessionToken": session, "key": key })).await?;
        text(&d, "value")
    }

    /// Set the session's own variable (`value` may be empty).
    pub async fn set_user_variable(&self, session: &str, key: &str, value: &str) -> Result<(), Error> {
        self.call("setvar", json!({ "sessionToken": session, "key": key, "value": value })).await.map(drop)
    }

    /// A file's name, size and SHA-256, as signed by the server.
    pub async fn file(&self, session: &str, file_id: &str) -> Result<FileInfo, Error> {
        let (info, _) = self.file_with_url(session, file_id).await?;
        Ok(info)
    }

    /// [`Client::file`] and the file's download URL (relative to the server).
    async fn file_with_url(&self, session: &str, file_id: &str) -> Result<(FileInfo, String), Error> {
        let d = self.call_data("file", json!({ "sessionToken": session, "fileId": file_id })).await?;
        let size = d
            .get("size")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Protocol("`size` is not a byte count".into()))?;
        let sha256 = text(&d, "sha256")?.to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Protocol("`sha256` is not 64 hex digits".into()));
        }
        let info = FileInfo { id: file_id.to_owned(), name: text(&d, "name")?, size, sha256 };
        Ok((info, text(&d, "downloadUrl")?))
    }

    /// Download a file to `dest`, resuming a partial `dest` download, checking the SHA-256.
    ///
    /// The bytes go to `dest` with `.part` added to its name, and an existing `.part` is
    /// resumed with a `Range` request. The SHA-256 of the whole file (the resumed part
    /// included) must equal the signed `sha256` of [`Client::file`]: then the `.part` is renamed
    /// to `dest`; otherwise it is deleted and the answer is [`Error::Integrity`] (a second
    /// attempt starts from zero). `dest` is replaced when it exists.
    pub async fn download(&self, session: &str, file_id: &str, dest: &Path) -> Result<FileInfo, Error> {
        let (info, url) = self.file_with_url(session, file_id).await?;
        download::fetch(&self.http, &self.base, &url, session, &info, dest).await?;
        Ok(info)
    }

    /// Write a line into the seller's logs for this app, under the session's account.
    pub async fn log(&self, session: &str, message: &str) -> Result<(), Error> {
        self.call("log", json!({ "sessionToken": session, "message": message })).await.map(drop)
    }

    /// An offline license file for the session's license (armoured text).
    ///
    /// Check it with [`Client::verify_license_file`]; it needs no network until it expires.
    pub async fn license_file(&self, session: &str) -> Result<String, Error> {
        Ok(self.issue_license_file(session).await?.license_file)
    }

    /// [`Client::license_file`] with what the server says about the file (issued, expiry, TTL,
    /// the signing key's id). The file is checked here as [`Client::verify_license_file`] does
    /// before it is handed back, so a file that would be refused offline is refused now.
    pub async fn issue_license_file(&self, session: &str) -> Result<IssuedLicenseFile, Error> {
        let d = self.call_data("license_file", json!({ "sessionToken": session })).await?;
        let issued = IssuedLicenseFile {
            license_file: text(&d, "licenseFile")?,
            issued: text(&d, "issued")?,
            expiry: text(&d, "expiry")?,
            ttl: int(&d, "ttl")?,
            kid: text(&d, "kid")?,
        };
        self.verify_license_file(&issued.license_file)?;
        Ok(issued)
    }

    /// Verify a license file with no network: the pinned key, this app, this client's HWID, now.
    pub fn verify_license_file(&self, text: &str) -> Result<LicenseFile, Error> {
        let now = tollgate_core::time::now();
        Ok(tollgate_core::license_file::verify(text, &self.key, &self.app_id, self.hwid.as_deref(), &now)?)
    }
}

fn field<'a>(d: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    d.get(name)
}

fn text(d: &Map<String, Value>, name: &str) -> Result<String, Error> {
    field(d, name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Protocol(format!("`{name}` is not text")))
}

fn opt_text(d: &Map<String, Value>, name: &str) -> Result<Option<String>, Error> {
    match field(d, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::Protocol(format!("`{name}` is not text"))),
    }
}

fn int(d: &Map<String, Value>, name: &str) -> Result<i64, Error> {
    field(d, name).and_then(Value::as_i64).ok_or_else(|| Error::Protocol(format!("`{name}` is not an integer")))
}

fn flag(d: &Map<String, Value>, name: &str) -> Result<bool, Error> {
    field(d, name).and_then(Value::as_bool).ok_or_else(|| Error::Protocol(format!("`{name}` is not true or false")))
}

/// The session of a sign-in answer (`login`, `register`, `license`).
fn session(d: &Map<String, Value>) -> Result<Session, Error> {
    Ok(Session {
        token: text(d, "sessionToken")?,
        username: opt_text(d, "username")?,
        level: int(d, "level")?,
        subscription: text(d, "subscription")?,
        expires_at: opt_text(d, "expiresAt")?,
    })
}
