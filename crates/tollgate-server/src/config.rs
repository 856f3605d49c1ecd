//! Configuration: built-in defaults, then a TOML file (`--config`), then `TOLLGATE_*`
//! environment variables, then command-line flags. Every value is checked at start-up and a bad
//! one stops the server with a message naming the setting. Secrets are never printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use ipnet::IpNet;
use serde::Deserialize;

/// Settings as they arrive from any one layer; `None` leaves the lower layer's value.
#[derive(Debug, Clone, Default, Deserialize, Args)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub listen: Option<String>,
    /// sqlite://PATH or postgres://... [default: sqlite://<data-dir>/tollgate.db]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub database_url: Option<String>,
    /// Where the embedded database, encrypted files and generated keys live [default: ./tollgate-data]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub data_dir: Option<String>,
    /// Public base URL, used in download links and built loaders
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub public_url: Option<String>,
    /// CIDR of a reverse proxy whose X-Forwarded-For / CF-Connecting-IP is believed (repeatable)
    #[arg(long = "trusted-proxy", global = true)]
    #[serde(default)]
    pub trusted_proxies: Option<Vec<String>>,
    /// MaxMind-format country database (.mmdb)
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub geoip_db: Option<String>,
    /// File of VPN/proxy CIDRs, one a line, '#' comments
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub vpn_ranges: Option<String>,
    /// File holding the 32-byte master key (64 hex characters)
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub master_key_file: Option<String>,
    /// The master key itself (64 hex characters); prefer master_key_file
    #[arg(skip)]
    #[serde(default, deserialize_with = "scalar")]
    pub master_key: Option<String>,
    /// open: anyone may register a seller account; closed: only `tollgate seller create`
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub seller_signup: Option<String>,
    /// Database connection pool size [default: 16]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub db_pool_size: Option<String>,
    /// Largest JSON body accepted, in bytes [default: 1048576]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub max_body_bytes: Option<String>,
    /// Largest file upload accepted, in bytes [default: 536870912]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub max_upload_bytes: Option<String>,
    /// Client API requests per second per IP address, with bursts of 10x; 0 turns it off [default: 50]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub client_rate_limit: Option<String>,
    /// Seconds a client has to send a complete request head [default: 10]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub header_read_timeout: Option<String>,
    /// Seconds a request body may go without a byte arriving before the request is answered 408 [default: 30]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub body_timeout: Option<String>,
    /// Seconds an idle keep-alive connection stays open [default: 60]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub idle_timeout: Option<String>,
    /// Open connections at most; past it new ones are answered 503 and closed [default: 1024]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub max_connections: Option<String>,
    /// Bearer token /metrics requires; unset, /metrics is open (bind to a private address)
    #[arg(skip)]
    #[serde(default, deserialize_with = "scalar")]
    pub metrics_token: Option<String>,
    /// Waits between webhook delivery attempts after a failure, e.g. 5s,5m,30m,2h,5h,10h,10h [default: 5s,5m,30m,2h,5h,10h,10h]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub webhook_retry_schedule: Option<String>,
    /// Allow webhook deliveries to loopback, private, link-local and cloud metadata addresses [default: false]
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    #[serde(default, deserialize_with = "scalar")]
    pub webhook_allow_private: Option<String>,
    /// Disable a webhook whose every delivery has failed for this long, e.g. 5d, 12h [default: 5d]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub webhook_disable_after: Option<String>,
    /// Seconds a webhook receiver has to answer [default: 10]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub webhook_timeout: Option<String>,
    /// Webhook deliveries in flight at once, per server process [default: 16]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub webhook_concurrency: Option<String>,
    /// Seconds a new Blazeauth WebSocket connection has to initialize before it is closed 4202 [default: 15]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub ws_init_timeout: Option<String>,
    /// Blazeauth WebSocket client actions (packets and pings) per minute per session; past it the socket is closed 4201 [default: 60]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub ws_rate_limit: Option<String>,
    /// Seconds a dropped Blazeauth WebSocket session can be resumed with its Resume-Id [default: 300]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub ws_resume_window: Option<String>,
    /// Open Blazeauth WebSocket connections at most; past it an upgrade is answered 503 SERVER_BUSY with Retry-After [default: 20000]
    #[arg(long, global = true)]
    #[serde(default, deserialize_with = "scalar")]
    pub ws_max_connections: Option<String>,
}

/// A setting's value from a TOML file as text: `pool = 8` and `allow = true` read as `"8"` and
/// `"true"`, as the same value from a flag or the environment would.
fn scalar<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(Some(match Scalar::deserialize(d)? {
        Scalar::Text(s) => s,
        Scalar::Int(n) => n.to_string(),
        Scalar::Float(x) => x.to_string(),
        Scalar::Bool(b) => b.to_string(),
    }))
}

/// Every setting: TOML key, environment variable, flag.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("listen", "TOLLGATE_LISTEN", "--listen"),
    ("database_url", "TOLLGATE_DATABASE_URL", "--database-url"),
    ("data_dir", "TOLLGATE_DATA_DIR", "--data-dir"),
    ("public_url", "TOLLGATE_PUBLIC_URL", "--public-url"),
    ("trusted_proxies", "TOLLGATE_TRUSTED_PROXIES", "--trusted-proxy"),
    ("geoip_db", "TOLLGATE_GEOIP_DB", "--geoip-db"),
    ("vpn_ranges", "TOLLGATE_VPN_RANGES", "--vpn-ranges"),
    ("master_key_file", "TOLLGATE_MASTER_KEY_FILE", "--master-key-file"),
    ("master_key", "TOLLGATE_MASTER_KEY", "(none)"),
    ("seller_signup", "TOLLGATE_SELLER_SIGNUP", "--seller-signup"),
    ("db_pool_size", "TOLLGATE_DB_POOL_SIZE", "--db-pool-size"),
    ("max_body_bytes", "TOLLGATE_MAX_BODY_BYTES", "--max-body-bytes"),
    ("max_upload_bytes", "TOLLGATE_MAX_UPLOAD_BYTES", "--max-upload-bytes"),
    ("client_rate_limit", "TOLLGATE_CLIENT_RATE_LIMIT", "--client-rate-limit"),
    ("header_read_timeout", "TOLLGATE_HEADER_READ_TIMEOUT", "--header-read-timeout"),
    ("body_timeout", "TOLLGATE_BODY_TIMEOUT", "--body-timeout"),
    ("idle_timeout", "TOLLGATE_IDLE_TIMEOUT", "--idle-timeout"),
    ("max_connections", "TOLLGATE_MAX_CONNECTIONS", "--max-connections"),
    ("metrics_token", "TOLLGATE_METRICS_TOKEN", "(none)"),
    ("webhook_retry_schedule", "TOLLGATE_WEBHOOK_RETRY_SCHEDULE", "--webhook-retry-schedule"),
    ("webhook_allow_private", "TOLLGATE_WEBHOOK_ALLOW_PRIVATE", "--webhook-allow-private"),
    ("webhook_disable_after", "TOLLGATE_WEBHOOK_DISABLE_AFTER", "--webhook-disable-after"),
    ("webhook_timeout", "TOLLGATE_WEBHOOK_TIMEOUT", "--webhook-timeout"),
    ("webhook_concurrency", "TOLLGATE_WEBHOOK_CONCURRENCY", "--webhook-concurrency"),
    ("ws_init_timeout", "TOLLGATE_WS_INIT_TIMEOUT", "--ws-init-timeout"),
    ("ws_rate_limit", "TOLLGATE_WS_RATE_LIMIT", "--ws-rate-limit"),
    ("ws_resume_window", "TOLLGATE_WS_RESUME_WINDOW", "--ws-resume-window"),
    ("ws_max_connections", "TOLLGATE_WS_MAX_CONNECTIONS", "--ws-max-connections"),
];

impl RawConfig {
    /// Overlay `top` on `self`: every value `top` sets wins.
    pub fn merge(mut self, top: RawConfig) -> RawConfig {
        macro_rules! take {
            ($($f:ident),*) => { $( if top.$f.is_some() { self.$f = top.$f; } )* };
        }
        take!(
            listen,
            database_url,
            data_dir,
            public_url,
            trusted_proxies,
            geoip_db,
            vpn_ranges,
            master_key_file,
            master_key,
            seller_signup,
            db_pool_size,
            max_body_bytes,
            max_upload_bytes,
            client_rate_limit,
            header_read_timeout,
            body_timeout,
            idle_timeout,
            max_connections,
            metrics_token,
            webhook_retry_schedule,
            webhook_allow_private,
            webhook_disable_after,
            webhook_timeout,
            webhook_concurrency,
            ws_init_timeout,
            ws_rate_limit,
            ws_resume_window,
            ws_max_connections
        );
        self
    }

    pub fn from_toml_file(path: &Path) -> Result<RawConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new("config", format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ConfigError::new("config", format!("{}: {}", path.display(), e.message())))
    }

    /// Read `TOLLGATE_*` variables through `get` (the process environment in production).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> RawConfig {
        let v = |name: &str| get(name).filter(|s| !s.is_empty());
        RawConfig {
            listen: v("TOLLGATE_LISTEN"),
            database_url: v("TOLLGATE_DATABASE_URL"),
            data_dir: v("TOLLGATE_DATA_DIR"),
            public_url: v("TOLLGATE_PUBLIC_URL"),
            trusted_proxies: v("TOLLGATE_TRUSTED_PROXIES")
                .map(|s| s.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect()),
            geoip_db: v("TOLLGATE_GEOIP_DB"),
            vpn_ranges: v("TOLLGATE_VPN_RANGES"),
            master_key_file: v("TOLLGATE_MASTER_KEY_FILE"),
            master_key: v("TOLLGATE_MASTER_KEY"),
            seller_signup: v("TOLLGATE_SELLER_SIGNUP"),
            db_pool_size: v("TOLLGATE_DB_POOL_SIZE"),
            max_body_bytes: v("TOLLGATE_MAX_BODY_BYTES"),
            max_upload_bytes: v("TOLLGATE_MAX_UPLOAD_BYTES"),
            client_rate_limit: v("TOLLGATE_CLIENT_RATE_LIMIT"),
            header_read_timeout: v("TOLLGATE_HEADER_READ_TIMEOUT"),
            body_timeout: v("TOLLGATE_BODY_TIMEOUT"),
            idle_timeout: v("TOLLGATE_IDLE_TIMEOUT"),
            max_connections: v("TOLLGATE_MAX_CONNECTIONS"),
            metrics_token: v("TOLLGATE_METRICS_TOKEN"),
            webhook_retry_schedule: v("TOLLGATE_WEBHOOK_RETRY_SCHEDULE"),
            webhook_allow_private: v("TOLLGATE_WEBHOOK_ALLOW_PRIVATE"),
            webhook_disable_after: v("TOLLGATE_WEBHOOK_DISABLE_AFTER"),
            webhook_timeout: v("TOLLGATE_WEBHOOK_TIMEOUT"),
            webhook_concurrency: v("TOLLGATE_WEBHOOK_CONCURRENCY"),
            ws_init_timeout: v("TOLLGATE_WS_INIT_TIMEOUT"),
            ws_rate_limit: v("TOLLGATE_WS_RATE_LIMIT"),
            ws_resume_window: v("TOLLGATE_WS_RESUME_WINDOW"),
            ws_max_connections: v("TOLLGATE_WS_MAX_CONNECTIONS"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SellerSignup {
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// A checked configuration. `Debug` leaves the master key out.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub database: DatabaseKind,
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub geoip_db: Option<PathBuf>,
    pub vpn_ranges: Option<PathBuf>,
    pub master_key_file: Option<PathBuf>,
    pub master_key: Option<String>,
    pub seller_signup: SellerSignup,
    pub db_pool_size: u32,
    pub max_body_bytes: usize,
    pub max_upload_bytes: u64,
    /// Client API requests per second per IP (bursts of 10x); 0 = no limit.
    pub client_rate_limit: u32,
    pub header_read_timeout: std::time::Duration,
    pub body_timeout: std::time::Duration,
    pub idle_timeout: std::time::Duration,
    pub max_connections: usize,
    /// Bearer token for /metrics; `None` leaves it open.
    pub metrics_token: Option<String>,
    pub webhooks: WebhookConfig,
    pub ws: WsConfig,
    /// SQLite page cache per connection, in MiB; `None` keeps SQLite's 2 MiB. Not a setting:
    /// bulk commands (`license generate`) raise it for themselves.
    pub sqlite_cache_mib: Option<u32>,
}

/// The Blazeauth WebSocket endpoint's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsConfig {
    /// A connection that has not initialized by then is closed 4202.
    pub init_timeout: std::time::Duration,
    /// Client actions (packets and pings) per minute per session.
    pub rate_limit: u32,
    /// How long a dropped session can be resumed.
    pub resume_window: std::time::Duration,
    /// Open connections at most (upgraded sockets are not counted by `max_connections`).
    pub max_connections: usize,
}

/// How webhook deliveries are sent.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub retry_schedule: tollgate_core::events::RetrySchedule,
    /// Deliver to loopback, private, link-local and metadata addresses too.
    pub allow_private: bool,
    /// A webhook whose deliveries have all failed for this long is disabled.
    pub disable_after: std::time::Duration,
    /// How long a receiver has to answer.
    pub timeout: std::time::Duration,
    /// Deliveries in flight at once in this process.
    pub concurrency: usize,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database", &self.database)
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("seller_signup", &self.seller_signup)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid setting `{setting}`{hint}: {message}")]
pub struct ConfigError {
    pub setting: String,
    hint: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(setting: &str, message: impl Into<String>) -> Self {
        let hint = SETTINGS
            .iter()
            .find(|(k, _, _)| *k == setting)
            .map(|(_, env, flag)| format!(" ({flag} / {env})"))
            .unwrap_or_default();
        ConfigError { setting: setting.to_owned(), hint, message: message.into() }
    }
}

impl Config {
    /// Defaults only: what `tollgate serve` with no flags runs on.
    pub fn defaults() -> Config {
        Config::resolve(RawConfig::default()).unwrap_or_else(|_| unreachable!("defaults are valid"))
    }

    /// Where the master key comes from, for [`crate::crypto::MasterKey::load`].
    pub fn key_source(&self) -> crate::crypto::KeySource<'_> {
        crate::crypto::KeySource {
            key: self.master_key.as_deref(),
            file: self.master_key_file.as_deref(),
            data_dir: &self.data_dir,
        }
    }

    /// Layers in order: defaults, TOML file, environment, flags.
    pub fn load(config_file: Option<&Path>, env: RawConfig, flags: RawConfig) -> Result<Config, ConfigError> {
        let file = match config_file {
            Some(p) => RawConfig::from_toml_file(p)?,
            None => RawConfig::default(),
        };
        Config::resolve(file.merge(env).merge(flags))
    }

    pub fn resolve(raw: RawConfig) -> Result<Config, ConfigError> {
        let listen = raw.listen.as_deref().unwrap_or("127.0.0.1:8080");
        let listen: SocketAddr = listen
            .parse()
            .map_err(|_| ConfigError::new("listen", format!("`{listen}` is not an address such as 127.0.0.1:8080")))?;
        let data_dir = PathBuf::from(raw.data_dir.as_deref().unwrap_or("./tollgate-data"));
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("data_dir", "must not be empty"));
        }
        let database_url =
            raw.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", data_dir.join("tollgate.db").display()));
        let database = if database_url.starts_with("sqlite:") {
            DatabaseKind::Sqlite
        } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            DatabaseKind::Postgres
        } else {
            let scheme = database_url.split(':').next().unwrap_or("");
            return Err(ConfigError::new(
                "database_url",
                format!("unknown scheme `{scheme}`: use sqlite://PATH or postgres://..."),
            ));
        };
        let public_url = match raw.public_url {
            None => None,
            Some(u) => {
                let parsed =
                    url::Url::parse(&u).ok().filter(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
                if parsed.is_none() {
                    return Err(ConfigError::new("public_url", format!("`{u}` is not an http(s) URL")));
                }
                Some(u.trim_end_matches('/').to_owned())
            }
        };
        let trusted_proxies = raw
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|p| {
                tollgate_core::net::parse_cidr(p)
                    .ok_or_else(|| ConfigError::new("trusted_proxies", format!("`{p}` is not an IP address or CIDR")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let existing_file = |setting: &str, v: Option<String>| -> Result<Option<PathBuf>, ConfigError> {
            match v {
                None => Ok(None),
                Some(p) => {
                    let path = PathBuf::from(&p);
                    if path.is_file() {
                        Ok(Some(path))
                    } else {
                        Err(ConfigError::new(setting, format!("no such file: {p}")))
                    }
                }
            }
        };
        let geoip_db = existing_file("geoip_db", raw.geoip_db)?;
        let vpn_ranges = existing_file("vpn_ranges", raw.vpn_ranges)?;
        let master_key_file = raw.master_key_file.map(PathBuf::from);
        if let Some(k) = &raw.master_key {
            if crate::crypto::parse_master_key(k).is_none() {
                // never echo the value
                return Err(ConfigError::new("master_key", "must be 64 hex characters"));
            }
        }
        let seller_signup = match raw.seller_signup.as_deref().unwrap_or("open") {
            "open" => SellerSignup::Open,
            "closed" => SellerSignup::Closed,
            other => return Err(ConfigError::new("seller_signup", format!("`{other}` is not open or closed"))),
        };
        let number = |setting: &str, v: Option<String>, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
            match v {
                None => Ok(default),
                Some(s) => s
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| ConfigError::new(setting, format!("`{s}` is not a number from {min} to {max}"))),
            }
        };
        let db_pool_size = number("db_pool_size", raw.db_pool_size, 16, 1, 1024)? as u32;
        let max_body_bytes = number("max_body_bytes", raw.max_body_bytes, 1 << 20, 1024, 1 << 30)? as usize;
        let max_upload_bytes = number("max_upload_bytes", raw.max_upload_bytes, 512 << 20, 1024, 1 << 40)?;
        let client_rate_limit = number("client_rate_limit", raw.client_rate_limit, 50, 0, 1_000_000)? as u32;
        let secs = std::time::Duration::from_secs;
        let header_read_timeout = secs(number("header_read_timeout", raw.header_read_timeout, 10, 1, 3600)?);
        let body_timeout = secs(number("body_timeout", raw.body_timeout, 30, 1, 3600)?);
        let idle_timeout = secs(number("idle_timeout", raw.idle_timeout, 60, 1, 86_400)?);
        let max_connections = number("max_connections", raw.max_connections, 1024, 1, 1_000_000)? as usize;
        let metrics_token = match raw.metrics_token {
            // never echo the value
            Some(t) if t.len() < 16 || t.chars().any(|c| !c.is_ascii_graphic()) => {
                return Err(ConfigError::new("metrics_token", "must be at least 16 printable characters, no spaces"))
            }
            other => other,
        };
        let webhooks = WebhookConfig {
            retry_schedule: match raw.webhook_retry_schedule.as_deref() {
                None => tollgate_core::events::RetrySchedule::default(),
                Some(s) => tollgate_core::events::RetrySchedule::parse(s)
                    .map_err(|e| ConfigError::new("webhook_retry_schedule", e))?,
            },
            allow_private: match raw.webhook_allow_private.as_deref().map(str::trim) {
                None | Some("false") | Some("0") | Some("no") => false,
                Some("true") | Some("1") | Some("yes") => true,
                Some(other) => {
                    return Err(ConfigError::new("webhook_allow_private", format!("`{other}` is not true or false")))
                }
            },
            disable_after: match raw.webhook_disable_after.as_deref() {
                None => std::time::Duration::from_secs(5 * 86_400),
                Some(s) => tollgate_core::events::parse_span(s.trim())
                    .map_err(|e| ConfigError::new("webhook_disable_after", e))?,
            },
            timeout: secs(number("webhook_timeout", raw.webhook_timeout, 10, 1, 300)?),
            concurrency: number("webhook_concurrency", raw.webhook_concurrency, 16, 1, 1024)? as usize,
        };
        let ws = WsConfig {
            init_timeout: secs(number("ws_init_timeout", raw.ws_init_timeout, 15, 1, 3600)?),
            rate_limit: number("ws_rate_limit", raw.ws_rate_limit, 60, 1, 1_000_000)? as u32,
            resume_window: secs(number("ws_resume_window", raw.ws_resume_window, 300, 1, 86_400)?),
            max_connections: number("ws_max_connections", raw.ws_max_connections, 20_000, 1, 1_000_000)? as usize,
        };
        Ok(Config {
            listen,
            database_url,
            database,
            data_dir,
            public_url,
            trusted_proxies,
            geoip_db,
            vpn_ranges,
            master_key_file,
            master_key: raw.master_key,
            seller_signup,
            db_pool_size,
            max_body_bytes,
            max_upload_bytes,
            client_rate_limit,
            header_read_timeout,
            body_timeout,
            idle_timeout,
            max_connections,
            metrics_token,
            webhooks,
            ws,
            sqlite_cache_mib: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::defaults();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://./tollgate-data/tollgate.db");
        assert_eq!(c.database, DatabaseKind::Sqlite);
        assert_eq!(c.seller_signup, SellerSignup::Open);
        assert_eq!(c.header_read_timeout.as_secs(), 10);
        assert_eq!(c.body_timeout.as_secs(), 30);
        assert_eq!(c.idle_timeout.as_secs(), 60);
        assert_eq!(c.max_connections, 1024);
        assert!(c.metrics_token.is_none());
        assert_eq!(c.webhooks.retry_schedule, tollgate_core::events::RetrySchedule::default());
        assert!(!c.webhooks.allow_private);
        assert_eq!(c.webhooks.disable_after.as_secs(), 5 * 86_400);
        assert_eq!(c.webhooks.timeout.as_secs(), 10);
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:1\"\nseller_signup = \"closed\"\ndata_dir = \"/tmp/x\"\n").unwrap();
        let env = RawConfig::from_env(|k| match k {
            "TOLLGATE_LISTEN" => Some("127.0.0.1:2".into()),
            "TOLLGATE_TRUSTED_PROXIES" => Some("10.0.0.0/8, 192.168.1.1".into()),
            _ => None,
        });
        let flags = RawConfig { listen: Some("127.0.0.1:3".into()), ..Default::default() };
        let c = Config::load(Some(&file), env.clone(), flags).unwrap();
        assert_eq!(c.listen.port(), 3);
        assert_eq!(c.seller_signup, SellerSignup::Closed);
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.database_url, "sqlite:///tmp/x/tollgate.db");
        let c = Config::load(Some(&file), env, RawConfig::default()).unwrap();
        assert_eq!(c.listen.port(), 2);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let cases: Vec<(RawConfig, &str)> = vec![
            (RawConfig { listen: Some("nope".into()), ..Default::default() }, "listen"),
            (RawConfig { database_url: Some("mysql://x".into()), ..Default::default() }, "database_url"),
            (RawConfig { trusted_proxies: Some(vec!["1.2.3".into()]), ..Default::default() }, "trusted_proxies"),
            (RawConfig { geoip_db: Some("/no/such.mmdb".into()), ..Default::default() }, "geoip_db"),
            (RawConfig { vpn_ranges: Some("/no/such.txt".into()), ..Default::default() }, "vpn_ranges"),
            (RawConfig { seller_signup: Some("maybe".into()), ..Default::default() }, "seller_signup"),
            (RawConfig { public_url: Some("ftp://x".into()), ..Default::default() }, "public_url"),
            (RawConfig { db_pool_size: Some("0".into()), ..Default::default() }, "db_pool_size"),
            (RawConfig { master_key: Some("secret-value".into()), ..Default::default() }, "master_key"),
            (RawConfig { header_read_timeout: Some("0".into()), ..Default::default() }, "header_read_timeout"),
            (RawConfig { body_timeout: Some("soon".into()), ..Default::default() }, "body_timeout"),
            (RawConfig { idle_timeout: Some("-1".into()), ..Default::default() }, "idle_timeout"),
            (RawConfig { max_connections: Some("0".into()), ..Default::default() }, "max_connections"),
            (RawConfig { metrics_token: Some("secret-value".into()), ..Default::default() }, "metrics_token"),
        ];
        for (raw, setting) in cases {
            let e = Config::resolve(raw).unwrap_err();
            assert_eq!(e.setting, setting);
            assert!(e.to_string().contains(setting));
            assert!(!e.to_string().contains("secret-value"));
        }
    }

    #[test]
    fn toml_numbers_and_booleans_read_as_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(
            &file,
            "db_pool_size = 8\nwebhook_allow_private = true\nwebhook_timeout = 3\nseller_signup = \"closed\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), RawConfig::default(), RawConfig::default()).unwrap();
        assert_eq!(c.db_pool_size, 8);
        assert!(c.webhooks.allow_private);
        assert_eq!(c.webhooks.timeout.as_secs(), 3);
        assert_eq!(c.seller_signup, SellerSignup::Closed);
        // a table is still no value for a setting
        std::fs::write(&file, "db_pool_size = { n = 8 }\n").unwrap();
        assert!(Config::load(Some(&file), RawConfig::default(), RawConfig::default()).is_err());
    }

    #[test]
    fn unknown_toml_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let e = Config::load(Some(&file), RawConfig::default(), RawConfig::default()).unwrap_err();
        assert_eq!(e.setting, "config");
    }
}
