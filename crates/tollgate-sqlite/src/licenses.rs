//! Licenses, scoped by app.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use tollgate_core::events::Event;
use tollgate_core::model::{License, LicenseStatus, User};
use tollgate_core::time::Timestamp;
use tollgate_core::DurationType;
use tollgate_sql::{count, creator_kind, limit_offset, ms, ms_opt, to_json, IntoModel, LicenseRow, UserRow};
use tollgate_store::{constraint, Activation, DeviceBinding, LicenseFilter, LicenseStore, Page, PageRequest};
use tollgate_store::{LicenseExtendOutcome, LicensePatch, RegisterOutcome, StoreError, StoreResult, SEARCH_COUNT_CAP};

use crate::sessions::bind_session_in;

use crate::binding::{bind_device, Owner};
use crate::error::db_err;
use crate::users::insert_user;
use crate::webhooks::queue_events;
use crate::SqliteStore;

/// Rows per multi-row INSERT: 500 rows x 17 columns = 8,500 variables, well under SQLite's
/// limit of 32,766, and few enough statements that a million keys insert in seconds.
const INSERT_CHUNK: usize = 500;

/// The search text of a filter, if it has one (an empty search is no search).
fn search(filter: &LicenseFilter) -> Option<&str> {
    filter.search.as_deref().filter(|s| !s.is_empty())
}

/// How a listing's search is served.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// At most `SEARCH_COUNT_CAP` matches of the key and of the note: read them through the
    /// key and note indexes (a range on `lower(key)` and on `lower(note)`), then sort them.
    Few,
    /// More: walk the listing's own index in order and test each row, which meets a page of
    /// matches quickly because they are that many.
    Many,
}

/// ` AND lower(key) >= lower(?) AND lower(key) < lower(?) || char(0x10FFFF)` over `column`: the
/// rows whose `column` starts with `search` (case-insensitive, ASCII letters as SQLite's
/// `lower`). Strings compare byte-wise (BINARY), so every string starting with the prefix lies
/// in that range (a prefix followed by U+10FFFF itself excepted).
fn push_prefix<'a>(qb: &mut QueryBuilder<'a, Sqlite>, column: &str, search: &'a str) {
    qb.push(format_args!(" AND lower({column}) >= lower("))
        .push_bind(search)
        .push(format_args!(") AND lower({column}) < lower("))
        .push_bind(search)
        .push(") || char(1114111)");
}

/// `status` and `created_by` of a filter; `unindexed` writes them `+status`, so that no index
/// serves them.
fn push_columns<'a>(qb: &mut QueryBuilder<'a, Sqlite>, filter: &'a LicenseFilter, unindexed: bool) {
    let plus = if unindexed { "+" } else { "" };
    if let Some(status) = filter.status {
        qb.push(format_args!(" AND {plus}status = ")).push_bind(status.as_str());
    }
    if let Some(creator) = &filter.created_by {
        qb.push(format_args!(" AND {plus}created_by = ")).push_bind(creator.as_str());
    }
}

/// `WHERE ...` of a license listing; the same for the page and its total (`filter.after` is not
/// part of it: see `list_licenses`).
fn push_filter<'a>(qb: &mut QueryBuilder<'a, Sqlite>, app_id: &'a str, filter: &'a LicenseFilter, plan: Plan) {
    let Some(search) = search(filter) else {
        qb.push(" WHERE app_id = ").push_bind(app_id);
        push_columns(qb, filter, false);
        return;
    };
    match plan {
        Plan::Few => {
            // Driven by the matches: `+app_id` (and `+status`...) keep the planner from walking
            // an app index and testing every license against the `rowid IN` set (a full scan
            // of a large app); `INDEXED BY` pins each arm to its index.
            qb.push(" WHERE +app_id = ").push_bind(app_id);
            push_columns(qb, filter, true);
            qb.push(" AND rowid IN (SELECT rowid FROM licenses INDEXED BY licenses_app_key_lower_idx WHERE app_id = ")
                .push_bind(app_id);
            push_prefix(qb, "key", search);
            qb.push(" UNION ALL SELECT rowid FROM licenses INDEXED BY licenses_app_note_lower_idx WHERE app_id = ")
                .push_bind(app_id);
            push_prefix(qb, "note", search);
            qb.push(")");
        }
        Plan::Many => {
            // `+key`: not the indexed expression, so the planner keeps to the listing's index.
            qb.push(" WHERE app_id = ").push_bind(app_id);
            push_columns(qb, filter, false);
            qb.push(" AND ((1");
            push_prefix(qb, "+key", search);
            qb.push(") OR (1");
            push_prefix(qb, "+note", search);
            qb.push("))");
        }
    }
}

/// Whether `search` matches more than `SEARCH_COUNT_CAP` keys or notes in the listing: counts
/// at most that many + 1 of each through the key and note indexes.
async fn plan(store: &SqliteStore, app_id: &str, filter: &LicenseFilter, search: &str) -> StoreResult<Plan> {
    let cap = i64::try_from(SEARCH_COUNT_CAP).unwrap_or(i64::MAX) + 1;
    let mut qb = QueryBuilder::<Sqlite>::new(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM licenses INDEXED BY licenses_app_key_lower_idx WHERE app_id = ",
    );
    qb.push_bind(app_id);
    push_prefix(&mut qb, "key", search);
    push_columns(&mut qb, filter, false);
    qb.push(" LIMIT ").push_bind(cap);
    qb.push(")), (SELECT COUNT(*) FROM (SELECT 1 FROM licenses INDEXED BY licenses_app_note_lower_idx WHERE app_id = ");
    qb.push_bind(app_id);
    push_prefix(&mut qb, "note", search);
    push_columns(&mut qb, filter, false);
    qb.push(" LIMIT ").push_bind(cap).push("))");
    let (keys, notes): (i64, i64) = qb.build_query_as().fetch_one(&store.pool).await.map_err(db_err)?;
    Ok(if keys.max(notes) >= cap { Plan::Many } else { Plan::Few })
}

/// Add each delta to the `license_counts` row of its `(app_id, status)`, creating the row if
/// needed. Called in the transaction that inserts, deletes or re-statuses the licenses, so the
/// counts move with them or not at all; zero deltas are skipped.
async fn add_counts(conn: &mut SqliteConnection, deltas: &BTreeMap<(&str, &str), i64>) -> StoreResult<()> {
    let deltas: Vec<(&(&str, &str), &i64)> = deltas.iter().filter(|(_, n)| **n != 0).collect();
    if deltas.is_empty() {
        return Ok(());
    }
    let mut qb = QueryBuilder::<Sqlite>::new("INSERT INTO license_counts (app_id, status, n) ");
    qb.push_values(deltas, |mut row, ((app_id, status), n)| {
        row.push_bind(*app_id).push_bind(*status).push_bind(*n);
    });
    qb.push(" ON CONFLICT (app_id, status) DO UPDATE SET n = license_counts.n + excluded.n");
    qb.build().execute(conn).await.map_err(db_err)?;
    Ok(())
}

/// The counts' move of one first use.
fn redeemed(app_id: &str) -> BTreeMap<(&str, &str), i64> {
    BTreeMap::from([((app_id, LicenseStatus::Unused.as_str()), -1), ((app_id, LicenseStatus::Used.as_str()), 1)])
}

/// A license's first use: `UNUSED` -> `USED`, linked to `user_id` (which must be a user of the
/// app) when given, with `activation` written. `None` when the license is not `UNUSED` (or not
/// in the app, or the user is not): nothing is written then. The caller moves the counts.
async fn activate(
    conn: &mut SqliteConnection,
    app_id: &str,
    license_id: &str,
    user_id: Option<&str>,
    activation: &Activation,
) -> StoreResult<Option<LicenseRow>> {
    let devices = activation.device.as_ref().map(|d| to_json(&[d])).transpose()?;
    sqlx::query_as(
        "UPDATE licenses
         SET status = 'USED', user_id = $1, activated_at = $2, expires_at = $3,
             devices = COALESCE($4, devices)
         WHERE app_id = $5 AND id = $6 AND status = 'UNUSED'
           AND ($1 IS NULL OR EXISTS (SELECT 1 FROM app_users WHERE app_id = $5 AND id = $1))
         RETURNING *",
    )
    .bind(user_id)
    .bind(ms(&activation.at))
    .bind(ms_opt(&activation.expires_at))
    .bind(devices)
    .bind(app_id)
    .bind(license_id)
    .fetch_optional(conn)
    .await
    .map_err(db_err)
}

/// Insert `licenses` and move the counts, inside the caller's transaction (`insert_licenses`, a
/// reseller's purchase). `Conflict(licenses_app_key_key)` on a duplicate key.
pub(crate) async fn insert_licenses_in(conn: &mut SqliteConnection, licenses: &[License]) -> StoreResult<()> {
    for chunk in licenses.chunks(INSERT_CHUNK) {
        let devices: Vec<String> = chunk.iter().map(|l| to_json(&l.devices)).collect::<StoreResult<_>>()?;
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO licenses
                (id, app_id, key, status, level, duration, max_devices, note, prefix,
                 created_by_kind, created_by, created_at, activated_at, expires_at,
                 user_id, devices, ban_reason) ",
        );
        qb.push_values(chunk.iter().zip(devices), |mut row, (l, devices)| {
            row.push_bind(&l.id)
                .push_bind(&l.app_id)
                .push_bind(&l.key)
                .push_bind(l.status.as_str())
                .push_bind(l.level)
                .push_bind(l.duration.to_string())
                .push_bind(l.max_devices)
                .push_bind(&l.note)
                .push_bind(&l.prefix)
                .push_bind(creator_kind(&l.created_by))
                .push_bind(l.created_by.id())
                .push_bind(ms(&l.created_at))
                .push_bind(ms_opt(&l.activated_at))
                .push_bind(ms_opt(&l.expires_at))
                .push_bind(&l.user_id)
                .push_bind(devices)
                .push_bind(&l.ban_reason);
        });
        qb.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    let mut deltas: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for l in licenses {
        *deltas.entry((l.app_id.as_str(), l.status.as_str())).or_default() += 1;
    }
    add_counts(conn, &deltas).await
}

#[async_trait]
impl LicenseStore for SqliteStore {
    async fn insert_licenses(&self, licenses: &[License]) -> StoreResult<()> {
        // All or none: one IMMEDIATE transaction (takes the write lock up front, so it waits
        // for other writers under busy_timeout instead of failing half way).
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        insert_licenses_in(&mut tx, licenses).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn list_licenses(
        &self,
        app_id: &str,
        filter: &LicenseFilter,
        page: PageRequest,
    ) -> StoreResult<Page<License>> {
        // The total: from the per-app counts when the filter is at most a status; a search
        // counts its matches when they are few, else says "more than the cap".
        let plan = match search(filter) {
            Some(search) => plan(self, app_id, filter, search).await?,
            None => Plan::Few,
        };
        let total = if plan == Plan::Many {
            SEARCH_COUNT_CAP + 1
        } else {
            let mut q = if search(filter).is_none() && filter.created_by.is_none() {
                let mut q =
                    QueryBuilder::<Sqlite>::new("SELECT COALESCE(SUM(n), 0) FROM license_counts WHERE app_id = ");
                q.push_bind(app_id);
                if let Some(status) = filter.status {
                    q.push(" AND status = ").push_bind(status.as_str());
                }
                q
            } else {
                let mut q = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM licenses");
                push_filter(&mut q, app_id, filter, plan);
                q
            };
            count(q.build_query_scalar().fetch_one(&self.pool).await.map_err(db_err)?)
        };

        let (limit, offset) = limit_offset(page);
        let mut items;
        if let Some(after) = &filter.after {
            // Keyset: seek to the position in the listing's index and read `limit` rows from
            // there, however deep it is. SQLite compares the row value on the index itself.
            items = QueryBuilder::<Sqlite>::new("SELECT * FROM licenses");
            push_filter(&mut items, app_id, filter, plan);
            items
                .push(" AND (created_at, id) < (")
                .push_bind(ms(&after.created_at))
                .push(", ")
                .push_bind(after.id.as_str())
                .push(") ORDER BY created_at DESC, id DESC LIMIT ")
                .push_bind(limit);
        } else {
            // Offset: a deferred join. The inner query steps over `offset` entries of a covering
            // index (`(app_id[, status | created_by], created_at, id)` holds the rowid) without
            // touching the table, and only the page's rows are read whole: ~10 % faster than
            // `SELECT * ... OFFSET` at offset 999,900 of 1,000,000 (docs/benchmarks.md). Still
            // linear in the offset; deep listings use the cursor above.
            items = QueryBuilder::<Sqlite>::new("SELECT * FROM licenses WHERE rowid IN (SELECT rowid FROM licenses");
            push_filter(&mut items, app_id, filter, plan);
            items
                .push(" ORDER BY created_at DESC, id DESC LIMIT ")
                .push_bind(limit)
                .push(" OFFSET ")
                .push_bind(offset)
                .push(") ORDER BY created_at DESC, id DESC");
        }
        let items = items
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(LicenseRow::decode)
            .collect::<StoreResult<_>>()?;

        Ok(Page { items, total })
    }

    async fn get_license(&self, app_id: &str, license_id: &str) -> StoreResult<Option<License>> {
        sqlx::query("SELECT * FROM licenses WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(license_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(LicenseRow::decode)
            .transpose()
    }

    async fn license_by_key(&self, app_id: &str, key: &str) -> StoreResult<Option<License>> {
        // `lower(key)` is the expression of `licenses_app_key_lower_idx`; an exact spelling
        // wins over another that differs only by case, then the oldest.
        sqlx::query(
            "SELECT * FROM licenses WHERE app_id = $1 AND lower(key) = lower($2)
             ORDER BY key = $2 DESC, created_at, id LIMIT 1",
        )
        .bind(app_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(LicenseRow::decode)
        .transpose()
    }

    async fn update_license(
        &self,
        app_id: &str,
        license_id: &str,
        patch: &LicensePatch,
    ) -> StoreResult<Option<License>> {
        // `note` is an `Option<Option<_>>`: a flag says whether to write, then the new value.
        sqlx::query(
            "UPDATE licenses
             SET note = CASE WHEN $1 THEN $2 ELSE note END,
                 level = COALESCE($3, level),
                 max_devices = COALESCE($4, max_devices)
             WHERE app_id = $5 AND id = $6
             RETURNING *",
        )
        .bind(patch.note.is_some())
        .bind(patch.note.clone().flatten())
        .bind(patch.level)
        .bind(patch.max_devices)
        .bind(app_id)
        .bind(license_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(LicenseRow::decode)
        .transpose()
    }

    async fn extend_license(
        &self,
        app_id: &str,
        license_id: &str,
        by: DurationType,
        now: Timestamp,
    ) -> StoreResult<LicenseExtendOutcome> {
        // IMMEDIATE takes the write lock before the read, so no other writer can change the row
        // between the decision and the write: concurrent extensions queue and each counts.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        let row = sqlx::query("SELECT * FROM licenses WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(license_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(LicenseExtendOutcome::Missing);
        };
        let license = LicenseRow::decode(&row)?;
        let change = match tollgate_core::license::extend(&license, by, now) {
            Ok(change) => change,
            Err(refusal) => return Ok(LicenseExtendOutcome::Refused(refusal)),
        };
        let row = sqlx::query(
            "UPDATE licenses SET duration = $1, expires_at = $2, status = $3
             WHERE app_id = $4 AND id = $5
             RETURNING *",
        )
        .bind(change.duration.to_string())
        .bind(ms_opt(&change.expires_at))
        .bind(change.status.as_str())
        .bind(app_id)
        .bind(license_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let updated = LicenseRow::decode(&row)?;
        let user = match (&updated.user_id, updated.activated_at, by.span()) {
            (Some(user_id), Some(_), Some(span)) => sqlx::query(
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
            .bind(span.num_milliseconds())
            .bind(app_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(UserRow::decode)
            .transpose()?,
            _ => None,
        };
        if change.status != license.status {
            let mut deltas = BTreeMap::new();
            *deltas.entry((app_id, license.status.as_str())).or_default() -= 1;
            *deltas.entry((app_id, change.status.as_str())).or_default() += 1;
            add_counts(&mut tx, &deltas).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(LicenseExtendOutcome::Extended { license: updated, user })
    }

    async fn set_license_status(
        &self,
        app_id: &str,
        license_id: &str,
        from: LicenseStatus,
        to: LicenseStatus,
        ban_reason: Option<&str>,
        events: &[Event],
    ) -> StoreResult<Option<License>> {
        let ban_reason = if to == LicenseStatus::Banned { ban_reason } else { None };
        // Only from the status the caller decided on: if another change came first, nothing is
        // written. Banning or pausing ends the license's sessions in the same transaction, so
        // the next request made with any of them fails, and the counts move from `from` to `to`
        // in it too.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        let row = sqlx::query(
            "UPDATE licenses SET status = $1, ban_reason = $2
             WHERE app_id = $3 AND id = $4 AND status = $5
             RETURNING *",
        )
        .bind(to.as_str())
        .bind(ban_reason)
        .bind(app_id)
        .bind(license_id)
        .bind(from.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        if matches!(to, LicenseStatus::Banned | LicenseStatus::Paused) {
            sqlx::query("DELETE FROM sessions WHERE app_id = $1 AND license_id = $2")
                .bind(app_id)
                .bind(license_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let mut deltas = BTreeMap::new();
        *deltas.entry((app_id, from.as_str())).or_default() -= 1;
        *deltas.entry((app_id, to.as_str())).or_default() += 1;
        add_counts(&mut tx, &deltas).await?;
        let license = LicenseRow::decode(&row)?;
        let queued = queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.webhooks_queued(queued);
        Ok(Some(license))
    }

    async fn reset_license_devices(&self, app_id: &str, license_id: &str) -> StoreResult<Option<License>> {
        sqlx::query(
            "UPDATE licenses SET devices = '[]'
             WHERE app_id = $1 AND id = $2
             RETURNING *",
        )
        .bind(app_id)
        .bind(license_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(LicenseRow::decode)
        .transpose()
    }

    async fn delete_license(&self, app_id: &str, license_id: &str, events: &[Event]) -> StoreResult<bool> {
        // With its count, in one transaction.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        let status: Option<String> =
            sqlx::query_scalar("DELETE FROM licenses WHERE app_id = $1 AND id = $2 RETURNING status")
                .bind(app_id)
                .bind(license_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        let Some(status) = status else {
            return Ok(false);
        };
        add_counts(&mut tx, &BTreeMap::from([((app_id, status.as_str()), -1)])).await?;
        let queued = queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.webhooks_queued(queued);
        Ok(true)
    }

    async fn activate_license(
        &self,
        app_id: &str,
        license_id: &str,
        activation: &Activation,
        events: &[Event],
    ) -> StoreResult<Option<License>> {
        // The conditional UPDATE is the single use; the counts move in the same transaction.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        let Some(row) = activate(&mut tx, app_id, license_id, None, activation).await? else {
            return Ok(None);
        };
        if let Some(link) = &activation.session {
            let (sid, hwid) = (link.session_id.as_str(), link.hwid.as_deref());
            if !bind_session_in(&mut *tx, app_id, sid, None, Some(license_id), hwid, link.expires_at).await? {
                return Err(StoreError::NotFound);
            }
        }
        add_counts(&mut tx, &redeemed(app_id)).await?;
        let queued = queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.webhooks_queued(queued);
        row.into_model().map(Some)
    }

    async fn register_with_license(
        &self,
        user: &User,
        license_id: &str,
        activation: &Activation,
        max_users: Option<u32>,
        events: &[Event],
    ) -> StoreResult<RegisterOutcome> {
        // One IMMEDIATE transaction: redeemers queue for the write lock, and whoever comes
        // second finds the key used, the name taken or the quota full. Returning early rolls back.
        let app_id = user.app_id.as_str();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        if let Some(max) = max_users {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM app_users WHERE app_id = $1")
                .bind(app_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            if n >= i64::from(max) {
                return Ok(RegisterOutcome::QuotaReached);
            }
        }
        if activate(&mut tx, app_id, license_id, None, activation).await?.is_none() {
            return Ok(RegisterOutcome::LicenseTaken);
        }
        match insert_user(&mut *tx, user).await {
            Err(StoreError::Conflict { constraint: c }) if c == constraint::USER_APP_USERNAME => {
                return Ok(RegisterOutcome::UsernameTaken);
            }
            other => other?,
        }
        // Linked only now: the foreign key needs the user row.
        sqlx::query("UPDATE licenses SET user_id = $1 WHERE app_id = $2 AND id = $3")
            .bind(&user.id)
            .bind(app_id)
            .bind(license_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if let Some(link) = &activation.session {
            let (sid, hwid) = (link.session_id.as_str(), link.hwid.as_deref());
            if !bind_session_in(&mut *tx, app_id, sid, Some(&user.id), None, hwid, link.expires_at).await? {
                return Ok(RegisterOutcome::SessionGone);
            }
        }
        add_counts(&mut tx, &redeemed(app_id)).await?;
        let queued = queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.webhooks_queued(queued);
        Ok(RegisterOutcome::Registered)
    }

    async fn extend_with_license(
        &self,
        app_id: &str,
        user_id: &str,
        license_id: &str,
        activation: &Activation,
        add_ms: Option<i64>,
        events: &[Event],
    ) -> StoreResult<Option<User>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        let Some(row) = activate(&mut tx, app_id, license_id, Some(user_id), activation).await? else {
            return Ok(None);
        };
        let level = row.level;
        let updated = sqlx::query(
            "UPDATE app_users
             SET level = MAX(level, $1),
                 expires_at = CASE
                     WHEN $2 IS NULL OR expires_at IS NULL THEN NULL
                     WHEN expires_at > $3 THEN expires_at + $2
                     ELSE $3 + $2
                 END
             WHERE app_id = $4 AND id = $5
             RETURNING *",
        )
        .bind(level)
        .bind(add_ms)
        .bind(ms(&activation.at))
        .bind(app_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(updated) = updated else {
            return Ok(None);
        };
        add_counts(&mut tx, &redeemed(app_id)).await?;
        let queued = queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.webhooks_queued(queued);
        UserRow::decode(&updated).map(Some)
    }

    async fn bind_license_device(
        &self,
        app_id: &str,
        license_id: &str,
        device: &str,
        max_devices: i64,
    ) -> StoreResult<DeviceBinding> {
        bind_device(&self.pool, Owner::License, app_id, license_id, device, max_devices).await
    }
}
