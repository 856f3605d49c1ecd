//! Column encodings shared by every table: timestamps as unix milliseconds, JSON as text,
//! enums as their upper-case names, case-insensitive values in lower case.

use std::str::FromStr;

use serde::{de::DeserializeOwned, Serialize};
use tollgate_core::model::Creator;
use tollgate_core::time::{from_millis, to_millis, Timestamp};
use tollgate_store::{PageRequest, StoreError, StoreResult};

pub fn ms(t: &Timestamp) -> i64 {
    to_millis(t)
}

pub fn ms_opt(t: &Option<Timestamp>) -> Option<i64> {
    t.as_ref().map(to_millis)
}

pub(crate) fn ts(ms: i64) -> Timestamp {
    from_millis(ms)
}

pub(crate) fn ts_opt(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(from_millis)
}

/// An enum stored as its `as_str()` name.
pub(crate) fn parsed<T: FromStr>(text: &str, column: &str) -> StoreResult<T> {
    text.parse().map_err(|_| StoreError::Other(format!("unexpected value in column {column}")))
}

pub(crate) fn json<T: DeserializeOwned>(text: &str, column: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Other(format!("invalid JSON in column {column}: {e}")))
}

pub fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(format!("cannot encode JSON: {e}")))
}

/// Lower-cased form of a case-insensitive unique value (`*_norm` columns), computed here rather
/// than in SQL so every backend stores the same bytes.
pub fn norm(s: &str) -> String {
    s.to_lowercase()
}

/// The look-alike key usernames are unique by (`tollgate_core::username::key`).
pub fn username_key(s: &str) -> String {
    tollgate_core::username::key(s)
}

/// The argument of `LIKE '%' || $n || '%' ESCAPE '\'` (PostgreSQL: `ILIKE`): the search text
/// with the wildcards escaped, so `50%` finds "50%" and not every key with a 50 in it.
pub fn like_escaped(search: &str) -> String {
    let mut out = String::with_capacity(search.len());
    for c in search.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `LIMIT` and `OFFSET` as 64-bit integers.
pub fn limit_offset(page: PageRequest) -> (i64, i64) {
    (i64::from(page.limit), i64::try_from(page.offset()).unwrap_or(i64::MAX))
}

/// A `COUNT(*)` as the unsigned count the store returns.
pub fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `created_by_kind` of a license: who made it.
pub fn creator_kind(c: &Creator) -> &'static str {
    match c {
        Creator::Seller(_) => "seller",
        Creator::Reseller(_) => "reseller",
    }
}

/// The creator back from `created_by_kind` and `created_by`.
pub(crate) fn creator(kind: &str, id: String) -> StoreResult<Creator> {
    match kind {
        "seller" => Ok(Creator::Seller(id)),
        "reseller" => Ok(Creator::Reseller(id)),
        _ => Err(StoreError::Other("unexpected value in column created_by_kind".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escaped(r"50%_a\b"), r"50\%\_a\\b");
        assert_eq!(like_escaped("ABC-123"), "ABC-123");
    }

    #[test]
    fn creator_kinds_round_trip() {
        for c in [Creator::Seller("s".into()), Creator::Reseller("r".into())] {
            assert_eq!(creator(creator_kind(&c), c.id().to_owned()).unwrap(), c);
        }
        assert!(creator("admin", "x".into()).is_err());
    }
}
