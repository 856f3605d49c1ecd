//! `tollgate-client`: the Rust SDK for client programs licensed through a Tollgate server.
//!
//! (Skeleton: the public API is fixed here; the bodies are being written.)

#![allow(unused_variables, dead_code)]

use std::path::Path;

pub use tollgate_core::license_file::{LicenseFileError, Payload as LicenseFile};

/// What can go wrong on a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a refusal (its `code` and `message`), properly signed.
    #[error("{message} ({code})")]
    Refused { status: u16, code: String, message: String },
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
    Integrity { expected: String, actual: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    LicenseFile(#[from] LicenseFileError),
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// A client for one app on one server.
#[derive(Clone)]
pub struct Client {}

/// The app as `init` answers it.
#[derive(Debug, Clone)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    pub update_url: Option<String>,
    pub hwid_lock: bool,
    pub hash_check: bool,
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub username: Option<String>,
    pub level: i64,
    pub subscription: String,
    /// RFC 3339, `None` for a subscription that never ends.
    pub expires_at: Option<String>,
}

/// A session's state as `check` answers it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub username: Option<String>,
    pub level: i64,
    pub expires_at: Option<String>,
}

/// A file as the server describes it.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub id: String,
    pub name: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

impl Client {
    /// `base_url` is the server's root (`https://licensing.example.com`), `public_key_pem` the
    /// server's SPKI PEM Ed25519 public key to pin.
    pub fn new(base_url: &str, app_id: &str, api_key: &str, public_key_pem: &str) -> Result<Client, Error> {
        todo!()
    }
    /// The HWID sent on sign-ins (default: [`machine_id`]).
    pub fn with_hwid(self, hwid: impl Into<String>) -> Client {
        todo!()
    }
    pub fn hwid(&self) -> Option<&str> {
        todo!()
    }
    pub async fn init(&self, version: Option<&str>, hash: Option<&str>) -> Result<AppInfo, Error> {
        todo!()
    }
    pub async fn register(&self, username: &str, password: &str, license_key: &str) -> Result<Session, Error> {
        todo!()
    }
    pub async fn login(&self, username: &str, password: &str) -> Result<Session, Error> {
        todo!()
    }
    pub async fn license(&self, license_key: &str) -> Result<Session, Error> {
        todo!()
    }
    pub async fn check(&self, session: &str) -> Result<SessionInfo, Error> {
        todo!()
    }
    pub async fn logout(&self, session: &str) -> Result<(), Error> {
        todo!()
    }
    pub async fn variable(&self, session: &str, key: &str) -> Result<String, Error> {
        todo!()
    }
    pub async fn user_variable(&self, session: &str, key: &str) -> Result<String, Error> {
        todo!()
    }
    pub async fn set_user_variable(&self, session: &str, key: &str, value: &str) -> Result<(), Error> {
        todo!()
    }
    pub async fn file(&self, session: &str, file_id: &str) -> Result<FileInfo, Error> {
        todo!()
    }
    /// Download a file to `dest`, resuming a partial `dest` download, checking the SHA-256.
    pub async fn download(&self, session: &str, file_id: &str, dest: &Path) -> Result<FileInfo, Error> {
        todo!()
    }
    pub async fn log(&self, session: &str, message: &str) -> Result<(), Error> {
        todo!()
    }
    /// An offline license file for the session's license (armoured text).
    pub async fn license_file(&self, session: &str) -> Result<String, Error> {
        todo!()
    }
    /// Verify a license file with no network: the pinned key, this app, this client's HWID, now.
    pub fn verify_license_file(&self, text: &str) -> Result<LicenseFile, Error> {
        todo!()
    }
}

/// This machine's id, for the HWID: a stable hex digest of the OS's machine id.
pub fn machine_id() -> Result<String, Error> {
    todo!()
}
