//! Tollgate's domain: types and rules with no I/O.
//!
//! Dialect adapters (Authly, Authon, Blazeauth) and the admin API call into this crate; it knows
//! nothing of HTTP, JSON field names of any wire protocol, or status numbers.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod app_patch;
pub mod canonical;
pub mod device;
pub mod duration;
pub mod error;
pub mod events;
pub mod ids;
pub mod integrity;
pub mod keys;
pub mod license;
pub mod license_file;
pub mod loader_config;
pub mod model;
pub mod net;
pub mod password;
pub mod pipeline;
pub mod redeem;
pub mod replay;
pub mod rules;
pub mod session;
pub mod session_store;
pub mod settings;
pub mod status;
mod string_enum;
pub mod throttle;
pub mod time;
pub mod username;
pub mod validate;
pub mod version;

pub use duration::DurationType;
pub use error::DomainError;
