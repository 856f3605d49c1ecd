//! Webhook endpoints, scoped by app, and their outbox: the deliveries queued for them, claimed
//! by delivery workers under a lease, and the attempts made.

use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use tollgate_core::events::Event;
use tollgate_core::model::{Delivery, DeliveryAttempt, Webhook};
use tollgate_core::time::Timestamp;
use tollgate_sql::outbox::{self, NewDelivery};
use tollgate_sql::{count, limit_offset, ms, ms_opt, to_json, DeliveryAttemptRow, DeliveryRow, IntoModel, WebhookRow};
use tollgate_store::{
    AttemptOutcome, Claim, DeliveryRecord, EndpointHealth, Invalidation, Page, PageRequest, StoreError, StoreResult,
    WebhookPatch, WebhookStore,
};

use crate::error::db_err;
use crate::notify::CHANNEL;
use crate::{PgStore, BEGIN};

/// Rows per multi-row INSERT of deliveries: 1,000 rows x 7 parameters, well under PostgreSQL's
/// limit of 65,535.
const INSERT_CHUNK: usize = 1000;

/// Queue `events` in the caller's transaction: one `PENDING` delivery, due at the event's time,
/// per event and per enabled webhook of its app subscribed to its kind. Returns how many. When
/// that is more than zero it also notifies `WebhooksDue` in the transaction, so the delivery
/// workers of every node hear of it at the commit (and nothing on a rollback). No query at all
/// when `events` is empty.
///
/// The webhooks are read `FOR KEY SHARE`: one being deleted meanwhile is waited for and skipped,
/// so a delivery is never inserted for a webhook that is gone.
pub(crate) async fn queue_events(conn: &mut PgConnection, events: &[Event]) -> StoreResult<u64> {
    let mut queued = 0u64;
    for app_id in outbox::apps_of(events) {
        let hooks: Vec<(String, String)> = sqlx::query_as(
            r#"SELECT id, events FROM webhooks WHERE app_id = $1 AND enabled
                   ORDER BY created_at, id COLLATE "C" FOR KEY SHARE"#,
        )
        .bind(app_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        if hooks.is_empty() {
            continue;
        }
        let rows = outbox::deliveries_for(app_id, events, &hooks)?;
        for chunk in rows.chunks(INSERT_CHUNK) {
            insert_new(conn, chunk).await?;
        }
        queued += rows.len() as u64;
    }
    if queued > 0 {
        notify_due(conn).await?;
    }
    Ok(queued)
}

async fn insert_new(conn: &mut PgConnection, rows: &[NewDelivery]) -> StoreResult<()> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "INSERT INTO webhook_deliveries
            (id, webhook_id, app_id, event, payload, state, attempts, failures, next_attempt_at, created_at) ",
    );
    qb.push_values(rows, |mut row, d| {
        row.push_bind(&d.id)
            .push_bind(&d.webhook_id)
            .push_bind(&d.app_id)
            .push_bind(d.event)
            .push_bind(&d.payload)
            .push_bind(outbox::PENDING)
            .push("0")
            .push("0")
            .push_bind(d.at)
            .push_bind(d.at);
    });
    qb.build().execute(conn).await.map_err(db_err)?;
    Ok(())
}

/// `WebhooksDue` to every node, sent when the caller's transaction commits.
async fn notify_due(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(Invalidation::WebhooksDue.to_payload())
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The attempts of these deliveries, in one query, in number order.
async fn attempts_of(conn: &mut PgConnection, ids: Vec<String>) -> StoreResult<Vec<DeliveryAttempt>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query("SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, number")
        .bind(ids)
        .fetch_all(conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(DeliveryAttemptRow::decode)
        .collect()
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook(&self, hook: &Webhook) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhooks
                (id, app_id, url, events, secret, enabled, format, failing_since, disabled_reason, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&hook.id)
        .bind(&hook.app_id)
        .bind(&hook.url)
        .bind(to_json(&hook.events)?)
        .bind(&hook.secret)
        .bind(hook.enabled)
        .bind(hook.format.as_str())
        .bind(ms_opt(&hook.failing_since))
        .bind(&hook.disabled_reason)
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
        // Enabling clears why the server disabled it and since when it failed: its clock starts over.
        sqlx::query(
            "UPDATE webhooks
             SET url = COALESCE($1, url),
                 events = COALESCE($2, events),
                 enabled = COALESCE($3, enabled),
                 format = COALESCE($4, format),
                 disabled_reason = CASE WHEN $3 THEN NULL ELSE disabled_reason END,
                 failing_since = CASE WHEN $3 THEN NULL ELSE failing_since END
             WHERE app_id = $5 AND id = $6
             RETURNING *",
        )
        .bind(&patch.url)
        .bind(events)
        .bind(patch.enabled)
        .bind(patch.format.map(|f| f.as_str()))
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
        // Its deliveries and their attempts cascade.
        let done = sqlx::query("DELETE FROM webhooks WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn emit(&self, events: &[Event]) -> StoreResult<u64> {
        if events.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        let queued = queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(queued)
    }

    async fn insert_delivery(&self, delivery: &Delivery, lease: &str) -> StoreResult<()> {
        // Held until the attempt is reported: no expiry (`lease_until` past any time), so a
        // worker never takes it even if it is due.
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries
                (id, webhook_id, app_id, event, payload, state, attempts, failures, next_attempt_at,
                 last_attempt_at, lease, lease_until, created_at)
             SELECT $1, id, app_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
             FROM webhooks WHERE id = $12 AND app_id = $13",
        )
        .bind(&delivery.id)
        .bind(&delivery.event)
        .bind(&delivery.payload)
        .bind(delivery.state.as_str())
        .bind(i64::from(delivery.attempts))
        .bind(i64::from(delivery.failures))
        .bind(ms_opt(&delivery.next_attempt_at))
        .bind(ms_opt(&delivery.last_attempt_at))
        .bind(lease)
        .bind(i64::MAX)
        .bind(ms(&delivery.created_at))
        .bind(&delivery.webhook_id)
        .bind(&delivery.app_id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Claim>> {
        // One statement. The rows are locked as they are picked, and one another caller has
        // locked is skipped, not waited for (SKIP LOCKED); a row another caller claimed and
        // committed meanwhile is re-checked against its new version (its lease now runs) and
        // left out.
        let mut deliveries = sqlx::query(
            r#"UPDATE webhook_deliveries SET lease = $1, lease_until = $2
             WHERE id IN (
                 SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                 WHERE d.state = 'PENDING' AND d.next_attempt_at <= $3
                   AND (d.lease_until IS NULL OR d.lease_until <= $3) AND w.enabled
                 ORDER BY d.next_attempt_at, d.id COLLATE "C"
                 LIMIT $4
                 FOR UPDATE OF d SKIP LOCKED)
             RETURNING *"#,
        )
        .bind(lease)
        .bind(ms(&lease_until))
        .bind(ms(&now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(DeliveryRow::decode)
        .collect::<StoreResult<Vec<Delivery>>>()?;
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        deliveries.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));

        let ids: Vec<String> = deliveries.iter().map(|d| d.webhook_id.clone()).collect();
        let hooks = sqlx::query("SELECT * FROM webhooks WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(WebhookRow::decode)
            .collect::<StoreResult<Vec<Webhook>>>()?;

        // A webhook deleted since took its deliveries with it: nothing to send.
        Ok(deliveries
            .into_iter()
            .filter_map(|delivery| {
                let webhook = hooks.iter().find(|h| h.id == delivery.webhook_id)?.clone();
                Some(Claim { delivery, webhook })
            })
            .collect())
    }

    async fn finish_attempt(
        &self,
        lease: &str,
        attempt: &DeliveryAttempt,
        outcome: AttemptOutcome,
        health: EndpointHealth,
    ) -> StoreResult<bool> {
        let (state, reset, next) = outbox::outcome_columns(outcome);
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        // The webhook's row before the delivery's, the order `delete_webhook` takes them in (the
        // webhook, then its deliveries through the cascade), so the two cannot deadlock. A
        // webhook deleted meanwhile is waited for and then not found: its delivery is gone too.
        let hook: Option<String> = sqlx::query_scalar(
            "SELECT w.id FROM webhooks w JOIN webhook_deliveries d ON d.webhook_id = w.id
             WHERE d.id = $1
             FOR NO KEY UPDATE OF w",
        )
        .bind(&attempt.delivery_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if hook.is_none() {
            return Ok(false);
        }
        let webhook_id: Option<String> = sqlx::query_scalar(
            "UPDATE webhook_deliveries
             SET state = $1,
                 failures = CASE WHEN $2 THEN 0 ELSE failures + 1 END,
                 next_attempt_at = $3,
                 attempts = $4,
                 last_attempt_at = $5,
                 lease = NULL,
                 lease_until = NULL
             WHERE id = $6 AND lease = $7
             RETURNING webhook_id",
        )
        .bind(state)
        .bind(reset)
        .bind(next)
        .bind(i64::from(attempt.number))
        .bind(ms(&attempt.at))
        .bind(&attempt.delivery_id)
        .bind(lease)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(webhook_id) = webhook_id else {
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, number, at, status_code, latency_ms, response, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&attempt.delivery_id)
        .bind(i64::from(attempt.number))
        .bind(ms(&attempt.at))
        .bind(outbox::status_code(attempt.status_code))
        .bind(i64::from(attempt.latency_ms))
        .bind(&attempt.response)
        .bind(&attempt.error)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let (healthy, reason) = match &health {
            EndpointHealth::Unchanged => (None, None),
            EndpointHealth::Healthy => (Some(true), None),
            EndpointHealth::Failing => (Some(false), None),
            EndpointHealth::Disable { reason } => (Some(false), Some(reason.as_str())),
        };
        if let Some(healthy) = healthy {
            sqlx::query(
                "UPDATE webhooks
                 SET failing_since = CASE WHEN $1 THEN NULL ELSE COALESCE(failing_since, $2) END,
                     enabled = CASE WHEN $3::TEXT IS NULL THEN enabled ELSE FALSE END,
                     disabled_reason = COALESCE($3, disabled_reason)
                 WHERE id = $4",
            )
            .bind(healthy)
            .bind(ms(&attempt.at))
            .bind(reason)
            .bind(&webhook_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn list_deliveries(
        &self,
        app_id: &str,
        webhook_id: &str,
        page: PageRequest,
    ) -> StoreResult<Page<DeliveryRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE app_id = $1 AND webhook_id = $2")
                .bind(app_id)
                .bind(webhook_id)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
        let (limit, offset) = limit_offset(page);
        let deliveries = sqlx::query(
            "SELECT * FROM webhook_deliveries WHERE app_id = $1 AND webhook_id = $2
             ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $3 OFFSET $4",
        )
        .bind(app_id)
        .bind(webhook_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(DeliveryRow::decode)
        .collect::<StoreResult<Vec<Delivery>>>()?;
        let ids: Vec<String> = deliveries.iter().map(|d| d.id.clone()).collect();
        let attempts = attempts_of(&mut conn, ids).await?;
        Ok(Page { items: outbox::with_attempts(deliveries, attempts), total: count(total) })
    }

    async fn get_delivery(&self, app_id: &str, webhook_id: &str, id: &str) -> StoreResult<Option<DeliveryRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let delivery =
            sqlx::query("SELECT * FROM webhook_deliveries WHERE app_id = $1 AND webhook_id = $2 AND id = $3")
                .bind(app_id)
                .bind(webhook_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?
                .as_ref()
                .map(DeliveryRow::decode)
                .transpose()?;
        let Some(delivery) = delivery else {
            return Ok(None);
        };
        let attempts = attempts_of(&mut conn, vec![delivery.id.clone()]).await?;
        Ok(outbox::with_attempts(vec![delivery], attempts).pop())
    }

    async fn redeliver(
        &self,
        app_id: &str,
        webhook_id: &str,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Delivery>> {
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        let delivery = sqlx::query(
            "UPDATE webhook_deliveries
             SET state = 'PENDING', next_attempt_at = $1, failures = 0, lease = NULL, lease_until = NULL
             WHERE app_id = $2 AND webhook_id = $3 AND id = $4
             RETURNING *",
        )
        .bind(ms(&now))
        .bind(app_id)
        .bind(webhook_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(DeliveryRow::decode)
        .transpose()?;
        if delivery.is_some() {
            notify_due(&mut tx).await?;
            tx.commit().await.map_err(db_err)?;
        }
        Ok(delivery)
    }

    async fn purge_deliveries(&self, before: Timestamp) -> StoreResult<u64> {
        // Their attempts cascade.
        let done =
            sqlx::query("DELETE FROM webhook_deliveries WHERE state IN ('DELIVERED', 'FAILED') AND created_at < $1")
                .bind(ms(&before))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
