//! sqlx errors to `StoreError`.

use sqlx::error::ErrorKind;
use tollgate_store::{constraint, StoreError};

/// SQLite reports a unique violation by table and columns
/// (`UNIQUE constraint failed: licenses.app_id, licenses.key`), not by the constraint's name,
/// so this maps them back to the names in `migrations/` and `tollgate_store::constraint`.
const UNIQUE_CONSTRAINTS: &[(&str, &str)] = &[
    ("sellers.email_norm", constraint::SELLER_EMAIL),
    ("refresh_tokens.token_hash", constraint::REFRESH_TOKEN_HASH),
    ("apps.owner_id, apps.name", constraint::APP_OWNER_NAME),
    ("apps.api_key", constraint::APP_API_KEY),
    ("apps.ws_key", constraint::APP_WS_KEY),
    ("licenses.app_id, licenses.key", constraint::LICENSE_APP_KEY),
    ("app_users.app_id, app_users.username_norm", constraint::USER_APP_USERNAME),
    ("app_variables.app_id, app_variables.key", constraint::VARIABLE_APP_KEY),
    ("blacklist.app_id, blacklist.kind, blacklist.value", constraint::BLACKLIST_APP_KIND_VALUE),
    ("resellers.app_id, resellers.username_norm", constraint::RESELLER_APP_USERNAME),
    ("sessions.token", constraint::SESSION_TOKEN),
    ("chat_channels.app_id, chat_channels.name", constraint::CHAT_CHANNEL_APP_NAME),
    (
        "device_licenses.app_id, device_licenses.device_type, device_licenses.device_id",
        constraint::DEVICE_LICENSE_APP_DEVICE,
    ),
];

/// The unique indexes on usernames' look-alike keys (migration 0005) guard the same rule as the
/// case-insensitive constraints and report as them.
const UNIQUE_INDEXES: &[(&str, &str)] = &[
    ("app_users.app_id, app_users.username_key", constraint::USER_APP_USERNAME),
    ("resellers.app_id, resellers.username_key", constraint::RESELLER_APP_USERNAME),
];

// Primary result codes (the low byte of an extended code) meaning "try again later".
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOMEM: i64 = 7;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;

/// Map an sqlx error. SQLite's messages name tables and columns, never bound values, so they
/// are safe to keep (a bound value may be a password hash or a token).
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(d) => {
            if d.kind() == ErrorKind::UniqueViolation {
                let columns = d.message().strip_prefix("UNIQUE constraint failed: ").unwrap_or_default();
                if let Some((_, name)) = UNIQUE_CONSTRAINTS.iter().chain(UNIQUE_INDEXES).find(|(c, _)| *c == columns) {
                    return StoreError::Conflict { constraint: (*name).to_owned() };
                }
            }
            let code = d.code().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
            match code & 0xff {
                SQLITE_BUSY | SQLITE_LOCKED | SQLITE_NOMEM | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN => {
                    StoreError::Unavailable(d.message().to_owned())
                }
                _ => StoreError::Other(d.message().to_owned()),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constraint_is_mapped_once() {
        for name in constraint::ALL {
            let n = UNIQUE_CONSTRAINTS.iter().filter(|(_, c)| c == name).count();
            assert_eq!(n, 1, "{name}");
        }
        assert_eq!(UNIQUE_CONSTRAINTS.len(), constraint::ALL.len());
    }

    #[test]
    fn migrations_declare_exactly_the_named_constraints() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut sql = String::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            sql.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
        let mut declared: Vec<&str> = sql
            .split("CONSTRAINT ")
            .skip(1)
            .filter_map(|rest| rest.split_once(" UNIQUE"))
            .map(|(name, _)| name)
            .collect();
        declared.sort_unstable();
        let mut expected = constraint::ALL.to_vec();
        expected.sort_unstable();
        assert_eq!(declared, expected);
    }
}
