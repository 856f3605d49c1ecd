//! Client sessions, scoped by app (except the global purge).

use async_trait::async_trait;
use tollgate_core::events::Event;
use tollgate_core::model::{Session, SessionView};
use tollgate_core::time::Timestamp;
use tollgate_sql::{count, ms, ms_opt, IntoModel, SessionRow, SessionViewRow};
use tollgate_store::{SessionStore, StoreError, StoreResult};

use crate::error::db_err;
use crate::webhooks::queue_events;
use crate::PgStore;

async fn insert_session<'e, E>(exec: E, session: &Session) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    match insert_session_of_live_app(exec, session).await? {
        true => Ok(()),
        false => Err(StoreError::NotFound),
    }
}

/// Insert `session` unless its app is gone (then `false`, and nothing is written).
async fn insert_session_of_live_app<'e, E>(exec: E, session: &Session) -> StoreResult<bool>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    let done = sqlx::query(
        "INSERT INTO sessions
            (id, app_id, token, user_id, license_id, ip, hwid, client_id,
             created_at, expires_at, last_seen)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
         WHERE EXISTS (SELECT 1 FROM apps WHERE id = $2)",
    )
    .bind(&session.id)
    .bind(&session.app_id)
    .bind(&session.token)
    .bind(&session.user_id)
    .bind(&session.license_id)
    .bind(&session.ip)
    .bind(&session.hwid)
    .bind(&session.client_id)
    .bind(ms(&session.created_at))
    .bind(ms(&session.expires_at))
    .bind(ms(&session.last_seen))
    .execute(exec)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

/// `bind_session` on any connection, so a redemption can sign its session in inside its own
/// transaction. `false` when no such session of the app (or no such user or license in it).
pub(crate) async fn bind_session_in<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    app_id: &str,
    session_id: &str,
    user_id: Option<&str>,
    license_id: Option<&str>,
    hwid: Option<&str>,
    expires_at: Timestamp,
) -> StoreResult<bool> {
    // Only to a user or license of the session's own app; expiry only moves forward.
    let done = sqlx::query(
        "UPDATE sessions
         SET user_id = COALESCE($1, user_id),
             license_id = COALESCE($2, license_id),
             hwid = COALESCE($3, hwid),
             expires_at = GREATEST(expires_at, $4)
         WHERE app_id = $5 AND id = $6
           AND ($1::TEXT IS NULL OR EXISTS (SELECT 1 FROM app_users WHERE app_id = $5 AND id = $1))
           AND ($2::TEXT IS NULL OR EXISTS (SELECT 1 FROM licenses WHERE app_id = $5 AND id = $2))",
    )
    .bind(user_id)
    .bind(license_id)
    .bind(hwid)
    .bind(ms(&expires_at))
    .bind(app_id)
    .bind(session_id)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, session: &Session, events: &[Event]) -> StoreResult<()> {
        if events.is_empty() {
            return insert_session(&self.pool, session).await;
        }
        let mut tx = self.pool.begin_with(crate::BEGIN).await.map_err(db_err)?;
        insert_session(&mut *tx, session).await?;
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn create_sessions(&self, batch: &[(Session, Vec<Event>)]) -> StoreResult<Vec<bool>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin_with(crate::BEGIN).await.map_err(db_err)?;
        let mut created = Vec::with_capacity(batch.len());
        for (session, events) in batch {
            let done = insert_session_of_live_app(&mut *tx, session).await?;
            if done {
                queue_events(&mut tx, events).await?;
            }
            created.push(done);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn create_session_capped(
        &self,
        session: &Session,
        max_live: u32,
        now: Timestamp,
        events: &[Event],
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin_with(crate::BEGIN).await.map_err(db_err)?;
        // Inits of a capped app queue on its row (NO KEY UPDATE conflicts with itself, not with
        // the KEY SHARE that ordinary inserts under the app take), so each counts what the one
        // before it committed.
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM apps WHERE id = $1 FOR NO KEY UPDATE")
            .bind(&session.app_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if found.is_none() {
            return Ok(false);
        }
        let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE app_id = $1 AND expires_at > $2")
            .bind(&session.app_id)
            .bind(ms(&now))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if live >= i64::from(max_live) {
            return Ok(false);
        }
        insert_session(&mut *tx, session).await?;
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn session_by_token(&self, app_id: &str, token: &str) -> StoreResult<Option<Session>> {
        // Expired sessions are returned too: the caller tells "expired" from "unknown".
        sqlx::query("SELECT * FROM sessions WHERE app_id = $1 AND token = $2")
            .bind(app_id)
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(SessionRow::decode)
            .transpose()
    }

    async fn session_by_token_any(&self, token: &str) -> StoreResult<Option<Session>> {
        sqlx::query("SELECT * FROM sessions WHERE token = $1")
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(SessionRow::decode)
            .transpose()
    }

    async fn sessions_by_tokens_any(&self, tokens: &[String]) -> StoreResult<Vec<Option<Session>>> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        // One index lookup per token, whatever the planner thinks of the table: `token = ANY`
        // was planned as a scan of the whole table while its statistics still said it was small
        // (a busy app's sessions table grows fast), and the LIMIT keeps the lateral from being
        // flattened into such a join.
        let rows = sqlx::query(
            "SELECT s.* FROM UNNEST($1::text[]) AS t(token)
             CROSS JOIN LATERAL (SELECT * FROM sessions WHERE sessions.token = t.token LIMIT 1) AS s",
        )
        .bind(tokens)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let session = SessionRow::decode(row)?;
            found.insert(session.token.clone(), session);
        }
        Ok(tokens.iter().map(|t| found.get(t).cloned()).collect())
    }

    async fn bind_session(
        &self,
        app_id: &str,
        session_id: &str,
        user_id: Option<&str>,
        license_id: Option<&str>,
        hwid: Option<&str>,
        expires_at: Timestamp,
    ) -> StoreResult<bool> {
        bind_session_in(&self.pool, app_id, session_id, user_id, license_id, hwid, expires_at).await
    }

    async fn list_live_sessions(&self, app_id: &str, now: Timestamp) -> StoreResult<Vec<SessionView>> {
        sqlx::query(
            r#"SELECT s.*, u.username AS username
             FROM sessions s
             LEFT JOIN app_users u ON u.id = s.user_id
             WHERE s.app_id = $1 AND s.expires_at > $2
             ORDER BY s.created_at DESC, s.id COLLATE "C" DESC"#,
        )
        .bind(app_id)
        .bind(ms(&now))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(SessionViewRow::decode)
        .collect()
    }

    async fn count_live_sessions(&self, app_id: &str, now: Timestamp) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE app_id = $1 AND expires_at > $2")
            .bind(app_id)
            .bind(ms(&now))
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(count(n))
    }

    async fn touch_session(
        &self,
        app_id: &str,
        session_id: &str,
        now: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<bool> {
        // Expiry only moves forward: a heartbeat never shortens a login's extension.
        // (GREATEST ignores a NULL argument: no new expiry keeps the old one.)
        let done = sqlx::query(
            "UPDATE sessions
             SET last_seen = $1,
                 expires_at = GREATEST(expires_at, $2)
             WHERE app_id = $3 AND id = $4",
        )
        .bind(ms(&now))
        .bind(ms_opt(&expires_at))
        .bind(app_id)
        .bind(session_id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_session(&self, app_id: &str, session_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(session_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_app_sessions(&self, app_id: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE app_id = $1")
            .bind(app_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn purge_expired_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        // `<=`: exactly the sessions `list_live_sessions` no longer shows.
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(ms(&now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn unbind_session(&self, app_id: &str, session_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE sessions SET user_id = NULL, license_id = NULL WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(session_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_session_expiry(&self, app_id: &str, session_id: &str, expires_at: Timestamp) -> StoreResult<bool> {
        // Exactly the value given, earlier or later (unlike `touch_session`).
        let done = sqlx::query("UPDATE sessions SET expires_at = $1 WHERE app_id = $2 AND id = $3")
            .bind(ms(&expires_at))
            .bind(app_id)
            .bind(session_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}
