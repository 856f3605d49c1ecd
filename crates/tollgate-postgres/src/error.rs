//! sqlx errors to `StoreError`.

use tollgate_store::{constraint, StoreError};

/// `unique_violation`: PostgreSQL names the violated constraint, which is one of
/// `tollgate_store::constraint` (the migrations declare them by those names).
const UNIQUE_VIOLATION: &str = "23505";

/// SQLSTATEs meaning "the database cannot serve this now; try again later", the counterpart of
/// SQLite's BUSY/LOCKED/IOERR family.
fn is_unavailable(sqlstate: &str) -> bool {
    // Class 08: connection exception. Class 53: insufficient resources (too many connections,
    // disk full, out of memory).
    sqlstate.starts_with("08")
        || sqlstate.starts_with("53")
        || matches!(
            sqlstate,
            // admin_shutdown (pg_terminate_backend, fast shutdown), crash_shutdown,
            // cannot_connect_now (starting up or recovering)
            "57P01" | "57P02" | "57P03"
            // query_canceled: `statement_timeout` fired
            | "57014"
            // lock_not_available, serialization_failure, deadlock_detected: contention, the
            // statement may succeed when retried
            | "55P03" | "40001" | "40P01"
            // object_not_in_prerequisite_state: at connect time, "database is not currently
            // accepting connections" (ALTER DATABASE ... ALLOW_CONNECTIONS false, maintenance)
            | "55000"
        )
}

/// SQLSTATEs for text the database cannot hold: character_not_in_repertoire (22021, "invalid
/// byte sequence for encoding UTF8: 0x00") and untranslatable_character (22P05, `\u0000` in
/// JSON text).
fn is_unstorable(sqlstate: &str) -> bool {
    matches!(sqlstate, "22021" | "22P05")
}

/// The `Conflict` for a unique violation of one of the named constraints. Any other unique
/// violation (a duplicate primary key) is a bug in the caller, reported as `Other`.
fn conflict(name: Option<&str>) -> Option<StoreError> {
    // The look-alike keys' unique indexes (migration 0005) guard the same rule as the
    // case-insensitive constraints.
    let name = match name? {
        "app_users_username_key_idx" => constraint::USER_APP_USERNAME,
        "resellers_username_key_idx" => constraint::RESELLER_APP_USERNAME,
        other => other,
    };
    constraint::ALL.iter().find(|c| **c == name).map(|c| StoreError::Conflict { constraint: (*c).to_owned() })
}

/// Map an sqlx error. Only the server's primary message is kept: it names tables and
/// constraints, while bound values (a password hash, a token) appear only in its DETAIL.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            if code == UNIQUE_VIOLATION {
                if let Some(conflict) = conflict(d.constraint()) {
                    return conflict;
                }
            }
            if is_unavailable(&code) {
                StoreError::Unavailable(d.message().to_owned())
            } else if is_unstorable(&code) {
                StoreError::Unstorable(d.message().to_owned())
            } else {
                StoreError::Other(d.message().to_owned())
            }
        }
        // Refused or dropped connections, TLS failures, a pool that timed out waiting for a
        // connection or was closed, or a connection that broke mid-statement.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
        other => StoreError::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_constraint_is_a_conflict_and_nothing_else_is() {
        for name in constraint::ALL {
            match conflict(Some(name)) {
                Some(StoreError::Conflict { constraint }) => assert_eq!(constraint, *name),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(conflict(Some("sellers_pkey")).is_none());
        assert!(conflict(None).is_none());
    }

    #[test]
    fn outage_codes_are_unavailable_and_faults_are_not() {
        for code in ["08000", "08006", "08001", "53300", "57P01", "57P02", "57P03", "57014", "40001", "40P01", "55000"]
        {
            assert!(is_unavailable(code), "{code}");
        }
        // unique, foreign key, not null, check, syntax, undefined table
        for code in ["23505", "23503", "23502", "23514", "42601", "42P01", ""] {
            assert!(!is_unavailable(code), "{code}");
        }
    }

    #[test]
    fn io_and_pool_errors_are_unavailable() {
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(db_err(refused), StoreError::Unavailable(_)));
        assert!(matches!(db_err(sqlx::Error::PoolTimedOut), StoreError::Unavailable(_)));
        assert!(matches!(db_err(sqlx::Error::PoolClosed), StoreError::Unavailable(_)));
        assert!(matches!(db_err(sqlx::Error::RowNotFound), StoreError::Other(_)));
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
