//! `tollgate-loader`: the program the builder hands out.
//!
//! Its configuration (server URL, app id and API key, the server's public key, title, what to
//! ask, the file to fetch) is written into the executable by the builder
//! (`POST /v1/builder/build`). It asks the end user for a license key or an account, signs in
//! through the Rust SDK (every answer checked against the pinned key), then downloads the
//! app's file, checks its SHA-256, and runs it, or saves it when it is not a program.
//!
//! Exit codes (docs/builder.md): 0 success (or the protected program's own code), 1 refused by
//! the server, 2 not configured / bad configuration, 3 an answer not signed by the pinned key,
//! 4 a download that fails its SHA-256, 5 the server cannot be reached or answers nonsense,
//! 6 a local failure (writing, starting the program). The loader's own messages go to stderr.

mod prompt;
mod region;
mod run;

use std::process::ExitCode;

use tollgate_client::{Client, Error, Session};
use tollgate_core::loader_config::{AuthType, LoaderConfig};

pub const REFUSED: u8 = 1;
pub const CONFIG: u8 = 2;
pub const UNTRUSTED: u8 = 3;
pub const INTEGRITY: u8 = 4;
pub const NETWORK: u8 = 5;
pub const LOCAL: u8 = 6;

/// Why the loader stops: the exit code and what the user reads.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into() }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        match e {
            Error::Refused { message, .. } => Failure::new(REFUSED, message),
            Error::Untrusted(_) => {
                Failure::new(UNTRUSTED, "the server's answer is not signed by the key this loader trusts")
            }
            Error::Integrity { .. } => Failure::new(INTEGRITY, "the download was tampered with"),
            Error::Transport(cause) => Failure::new(NETWORK, format!("cannot reach the server: {cause}")),
            Error::Protocol(cause) => Failure::new(NETWORK, format!("the server's answer is not understood: {cause}")),
            Error::Config(cause) => Failure::new(CONFIG, format!("this loader's configuration is invalid: {cause}")),
            Error::Io(e) => Failure::new(LOCAL, e.to_string()),
            other => Failure::new(LOCAL, other.to_string()),
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("tollgate-loader: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run() -> Result<u8, Failure> {
    let config = match region::embedded() {
        Ok(Some(config)) => config,
        Ok(None) => {
            return Err(Failure::new(CONFIG, "this is a loader template; build a loader with POST /v1/builder/build"))
        }
        Err(e) => return Err(Failure::new(CONFIG, e.to_string())),
    };
    if let Err(e) = config.validate() {
        return Err(Failure::new(CONFIG, format!("this loader's configuration is invalid: {e}")));
    }
    eprintln!("{}", config.title);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(LOCAL, format!("cannot start: {e}")))?;
    let client = client(&config)?;
    runtime.block_on(client.init(None, None))?;

    let session = sign_in(&runtime, &client, config.auth_type)?;
    let Some(file_id) = &config.file_id else {
        println!("authenticated");
        return Ok(0);
    };
    runtime.block_on(run::fetch_and_run(&client, &session, file_id))
}

fn client(config: &LoaderConfig) -> Result<Client, Failure> {
    let client = Client::new(&config.url, &config.app_id, &config.api_key, &config.public_key_pem)?;
    Ok(match tollgate_client::machine_id() {
        Ok(id) => client.with_hwid(id),
        Err(e) => {
            eprintln!("tollgate-loader: cannot read this machine's id ({e}); signing in without one");
            client
        }
    })
}

fn sign_in(runtime: &tokio::runtime::Runtime, client: &Client, auth: AuthType) -> Result<Session, Failure> {
    let use_license = match auth {
        AuthType::License => true,
        AuthType::Login => false,
        AuthType::Both => loop {
            eprintln!("[1] license key  [2] username and password");
            match answer(prompt::ask("Choose 1 or 2: "), "choice")?.trim() {
                "1" => break true,
                "2" => break false,
                _ => eprintln!("Please answer 1 or 2."),
            }
        },
    };
    let session = if use_license {
        let key = answer(prompt::ask("License key: "), "license key")?;
        runtime.block_on(client.license(key.trim()))?
    } else {
        let username = answer(prompt::ask("Username: "), "username")?;
        let password = answer(prompt::ask_secret("Password: "), "password")?;
        runtime.block_on(client.login(username.trim(), &password))?
    };
    Ok(session)
}

/// An answer read from stdin; closed stdin or an empty answer stops the loader.
fn answer(read: std::io::Result<Option<String>>, what: &str) -> Result<String, Failure> {
    match read {
        Ok(Some(line)) if !line.trim().is_empty() => Ok(line),
        Ok(_) => Err(Failure::new(REFUSED, format!("no {what} given"))),
        Err(e) => Err(Failure::new(LOCAL, format!("cannot read the {what}: {e}"))),
    }
}
