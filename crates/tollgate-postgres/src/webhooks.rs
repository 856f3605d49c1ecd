//! Webhook endpoints, scoped by app.

use async_trait::async_trait;
use tollgate_core::model::Webhook;
use tollgate_sql::{ms, to_json, IntoModel, WebhookRow};
use tollgate_core::events::Event;
use tollgate_core::model::{Delivery, DeliveryAttempt};
use tollgate_core::time::Timestamp;
use tollgate_store::{AttemptOutcome, Claim, DeliveryRecord, EndpointHealth, Page, PageRequest, StoreResult, WebhookPatch, WebhookStore};

use crate::error::db_err;
use crate::PgStore;

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook(&self, hook: &Webhook) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhooks (id, app_id, url, events, secret, enabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&hook.id)
        .bind(&hook.app_id)
        .bind(&hook.url)
        .bind(to_json(&hook.events)?)
        .bind(&hook.secret)
        .bind(hook.enabled)
        .bind(ms(&hook.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_webhooks(&self, app_id: &str) -> StoreResult<Vec<Webhook>> {
        sqlx::query(r#"SELECT * FROM webhooks WHERE app_id = $1 ORDER BY created_at, id COLLATE "C""#)
            .bind(app_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(WebhookRow::decode)
            .collect()
    }

    async fn get_webhook(&self, app_id: &str, id: &str) -> StoreResult<Option<Webhook>> {
        sqlx::query("SELECT * FROM webhooks WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(WebhookRow::decode)
            .transpose()
    }

    async fn update_webhook(&self, app_id: &str, id: &str, patch: &WebhookPatch) -> StoreResult<Option<Webhook>> {
        let events = patch.events.as_ref().map(to_json).transpose()?;
        sqlx::query(
            "UPDATE webhooks
             SET url = COALESCE($1, url),
                 events = COALESCE($2, events),
                 enabled = COALESCE($3, enabled)
             WHERE app_id = $4 AND id = $5
             RETURNING *",
        )
        .bind(&patch.url)
        .bind(events)
        .bind(patch.enabled)
        .bind(app_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(WebhookRow::decode)
        .transpose()
    }

    async fn delete_webhook(&self, app_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM webhooks WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    // BRANCH-ONLY STUBS: the store helper replaces these before merging.
    async fn emit(&self, _events: &[Event]) -> StoreResult<u64> {
        todo!()
    }
    async fn insert_delivery(&self, _delivery: &Delivery, _lease: &str) -> StoreResult<()> {
        todo!()
    }
    async fn claim_deliveries(&self, _now: Timestamp, _lease: &str, _lease_until: Timestamp, _limit: u32) -> StoreResult<Vec<Claim>> {
        todo!()
    }
    async fn finish_attempt(&self, _lease: &str, _attempt: &DeliveryAttempt, _outcome: AttemptOutcome, _health: EndpointHealth) -> StoreResult<bool> {
        todo!()
    }
    async fn list_deliveries(&self, _app_id: &str, _webhook_id: &str, _page: PageRequest) -> StoreResult<Page<DeliveryRecord>> {
        todo!()
    }
    async fn get_delivery(&self, _app_id: &str, _webhook_id: &str, _id: &str) -> StoreResult<Option<DeliveryRecord>> {
        todo!()
    }
    async fn redeliver(&self, _app_id: &str, _webhook_id: &str, _id: &str, _now: Timestamp) -> StoreResult<Option<Delivery>> {
        todo!()
    }
    async fn purge_deliveries(&self, _before: Timestamp) -> StoreResult<u64> {
        todo!()
    }
}
