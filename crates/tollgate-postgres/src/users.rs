//! App users and their variables, scoped by app.

use async_trait::async_trait;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use tollgate_core::events::Event;
use tollgate_core::model::{LicenseVariable, User, UserStatus, UserVariable};
use tollgate_core::time::Timestamp;
use tollgate_sql::{
    count, like_escaped, limit_offset, ms, ms_opt, norm, to_json, username_key, IntoModel, LicenseVariableRow, UserRow,
    UserVariableRow,
};
use tollgate_store::{
    constraint, DeviceBinding, Page, PageRequest, StoreError, StoreResult, UnlicensedSignup, UserFilter, UserPatch,
    UserStore,
};

use crate::binding::{bind_device, Owner};
use crate::error::db_err;
use crate::webhooks::queue_events;
use crate::{PgStore, BEGIN};

const DAY_MS: i64 = 86_400_000;

/// `WHERE ...` of a user listing; the same for the page and its total.
fn push_filter<'a>(qb: &mut QueryBuilder<'a, Postgres>, app_id: &'a str, filter: &'a UserFilter) {
    qb.push(" WHERE app_id = ").push_bind(app_id);
    if let Some(status) = filter.status {
        qb.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        // ILIKE: case-insensitive, as SQLite's LIKE (which folds ASCII only; ILIKE folds all letters).
        let pattern = like_escaped(search);
        qb.push(" AND (username ILIKE '%' || ")
            .push_bind(pattern.clone())
            .push(" || '%' ESCAPE '\\' OR email ILIKE '%' || ")
            .push_bind(pattern)
            .push(" || '%' ESCAPE '\\')");
    }
}

/// Insert `user`; `Conflict(app_users_app_username_key)` when the name is taken in the app.
///
/// The unique constraint takes the name atomically: of concurrent registrations one inserts; the
/// others wait for it at the index and get the Conflict once it commits.
pub(crate) async fn insert_user<'c>(conn: impl PgExecutor<'c>, user: &User) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO app_users
            (id, app_id, username, username_norm, password_hash, email, level, expires_at,
             devices, last_ip, status, ban_reason, last_login, created_at, max_devices, username_key, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&user.id)
    .bind(&user.app_id)
    .bind(&user.username)
    .bind(norm(&user.username))
    .bind(&user.password_hash)
    .bind(&user.email)
    .bind(user.level)
    .bind(ms_opt(&user.expires_at))
    .bind(to_json(&user.devices)?)
    .bind(&user.last_ip)
    .bind(user.status.as_str())
    .bind(&user.ban_reason)
    .bind(ms_opt(&user.last_login))
    .bind(ms(&user.created_at))
    .bind(user.max_devices)
    .bind(username_key(&user.username))
    .bind(&user.note)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Whether `username` (or a look-alike of it) is taken in the app, as `user_by_username` finds it.
async fn username_taken(conn: &mut PgConnection, app_id: &str, username: &str) -> StoreResult<bool> {
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM app_users
         WHERE app_id = $1 AND (username_key = $2 OR username_norm = $3)
         LIMIT 1",
    )
    .bind(app_id)
    .bind(username_key(username))
    .bind(norm(username))
    .fetch_optional(conn)
    .await
    .map_err(db_err)?;
    Ok(found.is_some())
}

#[async_trait]
impl UserStore for PgStore {
    async fn create_unlicensed_user(
        &self,
        user: &User,
        ip: &str,
        since: Timestamp,
        cap: u32,
        quota: Option<i64>,
        events: &[Event],
    ) -> StoreResult<UnlicensedSignup> {
        // One transaction; returning early rolls it back.
        let app_id = user.app_id.as_str();
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        // Sign-ups of an app queue on its row (NO KEY UPDATE conflicts with itself, not with the
        // KEY SHARE that ordinary inserts under the app take), so each counts the sign-ups and
        // users the one before it committed.
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM apps WHERE id = $1 FOR NO KEY UPDATE")
            .bind(app_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        let (made, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM unlicensed_signups
             WHERE app_id = $1 AND ip = $2 AND created_at >= $3",
        )
        .bind(app_id)
        .bind(ip)
        .bind(ms(&since))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if made >= i64::from(cap) {
            let oldest = oldest.map_or(since, tollgate_core::time::from_millis);
            return Ok(UnlicensedSignup::Capped { oldest });
        }
        if username_taken(&mut tx, app_id, &user.username).await? {
            return Ok(UnlicensedSignup::UsernameTaken);
        }
        if let Some(quota) = quota {
            let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM app_users WHERE app_id = $1")
                .bind(app_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            if users >= quota {
                return Ok(UnlicensedSignup::QuotaReached);
            }
        }
        // A registration of the same name by another route may still commit first: it waits
        // at the unique index and reports the conflict as the name taken.
        match insert_user(&mut *tx, user).await {
            Err(StoreError::Conflict { constraint: c }) if c == constraint::USER_APP_USERNAME => {
                return Ok(UnlicensedSignup::UsernameTaken);
            }
            other => other?,
        }
        sqlx::query("INSERT INTO unlicensed_signups (user_id, app_id, ip, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&user.id)
            .bind(app_id)
            .bind(ip)
            .bind(ms(&user.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(UnlicensedSignup::Created)
    }

    async fn create_user(&self, user: &User, events: &[Event]) -> StoreResult<()> {
        if events.is_empty() {
            return insert_user(&self.pool, user).await;
        }
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        insert_user(&mut *tx, user).await?;
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn list_users(&self, app_id: &str, filter: &UserFilter, page: PageRequest) -> StoreResult<Page<User>> {
        let mut total = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM app_users");
        push_filter(&mut total, app_id, filter);
        let total: i64 = total.build_query_scalar().fetch_one(&self.pool).await.map_err(db_err)?;

        let (limit, offset) = limit_offset(page);
        let mut items = QueryBuilder::<Postgres>::new("SELECT * FROM app_users");
        push_filter(&mut items, app_id, filter);
        items
            .push(r#" ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT "#)
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let items = items
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(UserRow::decode)
            .collect::<StoreResult<_>>()?;

        Ok(Page { items, total: count(total) })
    }

    async fn get_user(&self, app_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        sqlx::query("SELECT * FROM app_users WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(UserRow::decode)
            .transpose()
    }

    async fn user_by_username(&self, app_id: &str, username: &str) -> StoreResult<Option<User>> {
        // By the look-alike key, which is unique in the app; a row from before the key existed
        // that could not take its key (a look-alike had it) is still found by its own lowercased name,
        // which wins over the look-alike's key.
        sqlx::query(
            "SELECT * FROM app_users
             WHERE app_id = $1 AND (username_key = $2 OR (username_key IS NULL AND username_norm = $3))
             ORDER BY (username_norm = $3) DESC
             LIMIT 1",
        )
        .bind(app_id)
        .bind(username_key(username))
        .bind(norm(username))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(UserRow::decode)
        .transpose()
    }

    async fn update_user(&self, app_id: &str, user_id: &str, patch: &UserPatch) -> StoreResult<Option<User>> {
        // `email` is `Option<Option<_>>`: $3 says whether to write it, $4 is the new value.
        sqlx::query(
            "UPDATE app_users
             SET level = COALESCE($1, level),
                 password_hash = COALESCE($2, password_hash),
                 email = CASE WHEN $3 THEN $4 ELSE email END
             WHERE app_id = $5 AND id = $6
             RETURNING *",
        )
        .bind(patch.level)
        .bind(&patch.password_hash)
        .bind(patch.email.is_some())
        .bind(patch.email.clone().flatten())
        .bind(app_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(UserRow::decode)
        .transpose()
    }

    async fn set_user_status(
        &self,
        app_id: &str,
        user_id: &str,
        from: UserStatus,
        to: UserStatus,
        reason: Option<&str>,
        events: &[Event],
    ) -> StoreResult<Option<User>> {
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        let updated = sqlx::query(
            "UPDATE app_users SET status = $1, ban_reason = $2
             WHERE app_id = $3 AND id = $4 AND status = $5
             RETURNING *",
        )
        .bind(to.as_str())
        .bind(reason)
        .bind(app_id)
        .bind(user_id)
        .bind(from.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = updated else {
            return Ok(None);
        };
        // A banned or paused user's sessions end with the status change, not after it.
        if to != UserStatus::Active {
            sqlx::query("DELETE FROM sessions WHERE app_id = $1 AND user_id = $2")
                .bind(app_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let user = UserRow::decode(&row)?;
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(user))
    }

    async fn reset_user_devices(&self, app_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        sqlx::query(
            "UPDATE app_users SET devices = '[]'
             WHERE app_id = $1 AND id = $2
             RETURNING *",
        )
        .bind(app_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(UserRow::decode)
        .transpose()
    }

    async fn extend_user(&self, app_id: &str, user_id: &str, days: i64, now: Timestamp) -> StoreResult<Option<User>> {
        let add = days.checked_mul(DAY_MS).ok_or_else(|| StoreError::Other("extension out of range".into()))?;
        // One statement, so two concurrent extensions both count: the second waits for the
        // first's row lock, then computes its SET from the row the first committed.
        sqlx::query(
            "UPDATE app_users
             SET expires_at = CASE
                     WHEN expires_at IS NULL THEN NULL
                     WHEN expires_at > $1 THEN expires_at + $2
                     ELSE $1 + $2
                 END
             WHERE app_id = $3 AND id = $4
             RETURNING *",
        )
        .bind(ms(&now))
        .bind(add)
        .bind(app_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(UserRow::decode)
        .transpose()
    }

    async fn delete_user(&self, app_id: &str, user_id: &str) -> StoreResult<bool> {
        // Sessions and variables cascade; licenses are unlinked (ON DELETE SET NULL).
        let done = sqlx::query("DELETE FROM app_users WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn bind_user_device(
        &self,
        app_id: &str,
        user_id: &str,
        device: &str,
        max_devices: i64,
    ) -> StoreResult<DeviceBinding> {
        bind_device(&self.pool, Owner::User, app_id, user_id, device, max_devices).await
    }

    async fn record_login(
        &self,
        app_id: &str,
        user_id: &str,
        ip: Option<&str>,
        now: Timestamp,
        events: &[Event],
    ) -> StoreResult<bool> {
        // No such user (deleted while they logged in) is not an error: there is nothing to record.
        let update = sqlx::query(
            "UPDATE app_users SET last_login = $1, last_ip = COALESCE($2, last_ip)
             WHERE app_id = $3 AND id = $4",
        )
        .bind(ms(&now))
        .bind(ip)
        .bind(app_id)
        .bind(user_id);
        if events.is_empty() {
            let done = update.execute(&self.pool).await.map_err(db_err)?;
            return Ok(done.rows_affected() > 0);
        }
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        let done = update.execute(&mut *tx).await.map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn set_user_variable(&self, var: &UserVariable) -> StoreResult<()> {
        // Insert only for a user of that app (the SELECT yields no row otherwise).
        let done = sqlx::query(
            "INSERT INTO user_variables (app_id, user_id, key, value, updated_at)
             SELECT app_id, id, $3, $4, $5 FROM app_users WHERE app_id = $1 AND id = $2
             ON CONFLICT (app_id, user_id, key)
             DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(&var.app_id)
        .bind(&var.user_id)
        .bind(&var.key)
        .bind(&var.value)
        .bind(ms(&var.updated_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_user_variable(&self, app_id: &str, user_id: &str, key: &str) -> StoreResult<Option<UserVariable>> {
        sqlx::query("SELECT * FROM user_variables WHERE app_id = $1 AND user_id = $2 AND key = $3")
            .bind(app_id)
            .bind(user_id)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(UserVariableRow::decode)
            .transpose()
    }

    async fn list_user_variables(&self, app_id: &str, user_id: &str) -> StoreResult<Vec<UserVariable>> {
        sqlx::query(r#"SELECT * FROM user_variables WHERE app_id = $1 AND user_id = $2 ORDER BY key COLLATE "C""#)
            .bind(app_id)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(UserVariableRow::decode)
            .collect()
    }

    async fn delete_user_variable(&self, app_id: &str, user_id: &str, key: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM user_variables WHERE app_id = $1 AND user_id = $2 AND key = $3")
            .bind(app_id)
            .bind(user_id)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_license_variable(&self, var: &LicenseVariable) -> StoreResult<()> {
        // Insert only for a license of that app (the SELECT yields no row otherwise).
        let done = sqlx::query(
            "INSERT INTO license_variables (app_id, license_id, key, value, updated_at)
             SELECT app_id, id, $3, $4, $5 FROM licenses WHERE app_id = $1 AND id = $2
             ON CONFLICT (app_id, license_id, key)
             DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(&var.app_id)
        .bind(&var.license_id)
        .bind(&var.key)
        .bind(&var.value)
        .bind(ms(&var.updated_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_license_variable(
        &self,
        app_id: &str,
        license_id: &str,
        key: &str,
    ) -> StoreResult<Option<LicenseVariable>> {
        sqlx::query("SELECT * FROM license_variables WHERE app_id = $1 AND license_id = $2 AND key = $3")
            .bind(app_id)
            .bind(license_id)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(LicenseVariableRow::decode)
            .transpose()
    }
}
