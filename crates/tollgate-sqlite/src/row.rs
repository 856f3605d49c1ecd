//! Column encodings shared by every table: timestamps as unix milliseconds, JSON as text,
//! enums as their upper-case names.

use std::str::FromStr;

use serde::{de::DeserializeOwned, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, Type};
use tollgate_core::time::{from_millis, to_millis, Timestamp};
use tollgate_store::{PageRequest, StoreError, StoreResult};

use crate::error::db_err;

pub(crate) fn ms(t: &Timestamp) -> i64 {
    to_millis(t)
}

pub(crate) fn ms_opt(t: &Option<Timestamp>) -> Option<i64> {
    t.as_ref().map(to_millis)
}

pub(crate) fn col<'r, T>(row: &'r SqliteRow, name: &str) -> StoreResult<T>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(name).map_err(db_err)
}

pub(crate) fn ts(row: &SqliteRow, name: &str) -> StoreResult<Timestamp> {
    Ok(from_millis(col::<i64>(row, name)?))
}

pub(crate) fn ts_opt(row: &SqliteRow, name: &str) -> StoreResult<Option<Timestamp>> {
    Ok(col::<Option<i64>>(row, name)?.map(from_millis))
}

/// An enum stored as its `as_str()` name.
pub(crate) fn parsed<T: FromStr>(row: &SqliteRow, name: &str) -> StoreResult<T> {
    let text: String = col(row, name)?;
    text.parse().map_err(|_| StoreError::Other(format!("unexpected value in column {name}")))
}

pub(crate) fn json<T: DeserializeOwned>(row: &SqliteRow, name: &str) -> StoreResult<T> {
    let text: String = col(row, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Other(format!("invalid JSON in column {name}: {e}")))
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(format!("cannot encode JSON: {e}")))
}

/// Lower-cased form of a case-insensitive unique value (`*_norm` columns).
pub(crate) fn norm(s: &str) -> String {
    s.to_lowercase()
}

/// The look-alike key usernames are unique by (`tollgate_core::username::key`).
pub(crate) fn username_key(s: &str) -> String {
    tollgate_core::username::key(s)
}

/// The argument of `LIKE '%' || ? || '%' ESCAPE '\'`: the search text with LIKE's wildcards
/// escaped, so `50%` finds "50%" and not every key with a 50 in it.
pub(crate) fn like_escaped(search: &str) -> String {
    let mut out = String::with_capacity(search.len());
    for c in search.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `LIMIT` and `OFFSET` as SQLite integers.
pub(crate) fn limit_offset(page: PageRequest) -> (i64, i64) {
    (i64::from(page.limit), i64::try_from(page.offset()).unwrap_or(i64::MAX))
}

pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escaped(r"50%_a\b"), r"50\%\_a\\b");
        assert_eq!(like_escaped("ABC-123"), "ABC-123");
    }
}
