//! Dropped WebSocket sessions kept for resumption.

use async_trait::async_trait;
use tollgate_core::time::Timestamp;
use tollgate_store::{ResumeRecord, ResumeStore, StoreError, StoreResult};

use crate::SqliteStore;

// STUB(store helper): replace with the real SQL.
#[async_trait]
impl ResumeStore for SqliteStore {
    async fn save_resume(&self, _record: &ResumeRecord) -> StoreResult<()> {
        Err(StoreError::Other("resume store not built yet".into()))
    }
    async fn take_resume(&self, _id_hash: &str, _now: Timestamp) -> StoreResult<Option<ResumeRecord>> {
        Err(StoreError::Other("resume store not built yet".into()))
    }
    async fn purge_resumes(&self, _now: Timestamp) -> StoreResult<u64> {
        Ok(0)
    }
}
