//! What the SQL backends share: the row types of every table the store reads, with their
//! conversion to the core model, and the encodings of the values they write.
//!
//! Both backends store the same column types (timestamps as unix milliseconds in a 64-bit
//! integer, JSON as text, enums as their upper-case names, bytes as base64 text), so one row type
//! per table decodes from either: `#[derive(sqlx::FromRow)]` is generic over the database. A
//! backend crate keeps its SQL and its locking, and reads a row with `LicenseRow::decode(&row)`
//! (or `sqlx::query_as::<_, LicenseRow>` and [`IntoModel::into_model`]).
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod encode;
pub mod nonces;
pub mod outbox;
mod rows;

pub use encode::*;
pub use rows::*;

use tollgate_store::{StoreError, StoreResult};

/// A row as the database returns it, turned into the model it stores.
pub trait IntoModel: Sized {
    type Model;

    /// Parse the columns that are text or integers in the database (enums, JSON, timestamps)
    /// into the model's types.
    fn into_model(self) -> StoreResult<Self::Model>;

    /// Read the row's columns by name and convert them: one row of a `SELECT *` (or
    /// `RETURNING *`) on any backend.
    fn decode<'r, R>(row: &'r R) -> StoreResult<Self::Model>
    where
        R: sqlx::Row,
        Self: sqlx::FromRow<'r, R>,
    {
        Self::from_row(row).map_err(|e| StoreError::Other(e.to_string()))?.into_model()
    }
}

/// A migration whose file was edited after it was released, in its comments only, and the
/// checksum databases recorded when they applied it: the SHA-384 (hex) of the file as released.
pub struct Released {
    pub version: i64,
    pub sha384: &'static str,
}

/// The embedded migrations, with the released checksum of each migration in `released`: sqlx
/// refuses to run on a database whose applied migration's checksum differs from the file's, so
/// rewording a comment in a shipped migration would otherwise lock every existing database out.
/// Databases created from now on record the released checksum too, so all agree.
pub fn with_released_checksums(
    mut migrator: sqlx::migrate::Migrator,
    released: &[Released],
) -> sqlx::migrate::Migrator {
    let mut migrations = migrator.migrations.into_owned();
    for m in &mut migrations {
        if let Some(r) = released.iter().find(|r| r.version == m.version) {
            if let Ok(sum) = hex::decode(r.sha384) {
                m.checksum = std::borrow::Cow::Owned(sum);
            }
        }
    }
    migrator.migrations = std::borrow::Cow::Owned(migrations);
    migrator
}
