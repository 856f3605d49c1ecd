//! Licenses, scoped by app.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, QueryBuilder};
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
use crate::{PgStore, BEGIN};

/// Rows per multi-row INSERT: 1,000 rows x 17 columns = 17,000 parameters, well under
/// PostgreSQL's limit of 65,535, and few enough statements that a million keys insert in seconds.
const INSERT_CHUNK: usize = 1000;

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
    /// More: left to the planner, which walks the listing's own index in order and tests each
    /// row, meeting a page of matches quickly because they are that many.
    Many,
}

/// ` AND lower(column) COLLATE "C" >= lower($n) AND ... < lower($n) || chr(0x10FFFF)`: the rows
/// whose `column` starts with `search`, case-insensitively. `COLLATE "C"` (the collation of the
/// key and note indexes, migration 0012) compares byte-wise whatever the database's collation,
/// so every string starting with the prefix lies in that range (a prefix followed by U+10FFFF
/// itself excepted).
fn push_prefix<'a>(qb: &mut QueryBuilder<'a, Postgres>, column: &str, search: &'a str) {
    qb.push(format_args!(r#" AND lower({column}) COLLATE "C" >= lower("#))
        .push_bind(search)
        .push(format_args!(r#") AND lower({column}) COLLATE "C" < lower("#))
        .push_bind(search)
        .push(") || chr(1114111)");
}

/// `status` and `created_by` of a filter.
fn push_columns<'a>(qb: &mut QueryBuilder<'a, Postgres>, filter: &'a LicenseFilter) {
    if let Some(status) = filter.status {
        qb.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(creator) = &filter.created_by {
        qb.push(" AND created_by = ").push_bind(creator.as_str());
    }
}

/// `WHERE ...` of a license listing; the same for the page and its total (`filter.after` is not
/// part of it: see `list_licenses`).
fn push_filter<'a>(qb: &mut QueryBuilder<'a, Postgres>, app_id: &'a str, filter: &'a LicenseFilter, plan: Plan) {
    qb.push(" WHERE app_id = ").push_bind(app_id);
    push_columns(qb, filter);
    let Some(search) = search(filter) else { return };
    match plan {
        Plan::Few => {
            qb.push(" AND id IN (SELECT id FROM licenses WHERE app_id = ").push_bind(app_id);
            push_prefix(qb, "key", search);
            qb.push(" UNION ALL SELECT id FROM licenses WHERE app_id = ").push_bind(app_id);
            push_prefix(qb, "note", search);
            qb.push(")");
        }
        Plan::Many => {
            qb.push(" AND ((TRUE");
            push_prefix(qb, "key", search);
            qb.push(") OR (TRUE");
            push_prefix(qb, "note", search);
            qb.push("))");
        }
    }
}

/// Whether `search` matches more than `SEARCH_COUNT_CAP` keys or notes in the listing: counts
/// at most that many + 1 of each through the key and note indexes.
async fn plan(store: &PgStore, app_id: &str, filter: &LicenseFilter, search: &str) -> StoreResult<Plan> {
    let cap = i64::try_from(SEARCH_COUNT_CAP).unwrap_or(i64::MAX) + 1;
    let mut qb = QueryBuilder::<Postgres>::new("SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM licenses WHERE app_id = ");
    qb.push_bind(app_id);
    push_prefix(&mut qb, "key", search);
    push_columns(&mut qb, filter);
    qb.push(" LIMIT ").push_bind(cap);
    qb.push(") k), (SELECT COUNT(*) FROM (SELECT 1 FROM licenses WHERE app_id = ");
    qb.push_bind(app_id);
    push_prefix(&mut qb, "note", search);
    push_columns(&mut qb, filter);
    qb.push(" LIMIT ").push_bind(cap).push(") n)");
    let (keys, notes): (i64, i64) = qb.build_query_as().fetch_one(&store.pool).await.map_err(db_err)?;
    Ok(if keys.max(notes) >= cap { Plan::Many } else { Plan::Few })
}

/// Add each delta to the `license_counts` row of its `(app_id, status)`, creating the row if
/// needed. Called last in the transaction that inserts, deletes or re-statuses the licenses, so
/// the counts move with them or not at all, and a count row stays locked only until the commit.
/// Rows are upserted in `(app_id, status)` order (the map's), so two transactions touching the
/// same counts lock them in the same order and cannot deadlock; zero deltas are skipped.
async fn add_counts(conn: &mut PgConnection, deltas: &BTreeMap<(&str, &str), i64>) -> StoreResult<()> {
    let deltas: Vec<(&(&str, &str), &i64)> = deltas.iter().filter(|(_, n)| **n != 0).collect();
    if deltas.is_empty() {
        return Ok(());
    }
    let mut qb = QueryBuilder::<Postgres>::new("INSERT INTO license_counts (app_id, status, n) ");
    qb.push_values(deltas, |mut row, ((app_id, status), n)| {
        row.push_bind(*app_id).push_bind(*status).push_bind(*n);
    });
    qb.push(" ON CONFLICT (app_id, status) DO UPDATE SET n = license_counts.n + excluded.n");
    qb.build().execute(conn).await.map_err(db_err)?;
    Ok(())
}

/// Lock the app's row against deletion (`FOR KEY SHARE`) before a transaction locks one of its
/// licenses; `false` if there is no such app. Writing the counts checks their foreign key, which
/// takes this same lock: taken only then, after the license's row, it could deadlock with a
/// `delete_app` that holds the app's row and waits for the license's (the cascade).
async fn lock_app(conn: &mut PgConnection, app_id: &str) -> StoreResult<bool> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM apps WHERE id = $1 FOR KEY SHARE")
        .bind(app_id)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    Ok(found.is_some())
}

/// The counts' move of one first use.
fn redeemed(app_id: &str) -> BTreeMap<(&str, &str), i64> {
    BTreeMap::from([((app_id, LicenseStatus::Unused.as_str()), -1), ((app_id, LicenseStatus::Used.as_str()), 1)])
}

/// A license's first use: `UNUSED` -> `USED`, linked to `user_id` (which must be a user of the
/// app) when given, with `activation` written. `None` when the license is not `UNUSED` (or not
/// in the app, or the user is not): nothing is written then. The caller moves the counts.
///
/// The single use rests on the `WHERE`: a concurrent redeemer waits for this row's lock, then
/// re-checks `status = 'UNUSED'` against the version this transaction commits, and matches
/// nothing.
async fn activate(
    conn: &mut PgConnection,
    app_id: &str,
    license_id: &str,
    user_id: Option<&str>,
    activation: &Activation,
) -> StoreResult<Option<LicenseRow>> {
    let devices = activation.device.as_ref().map(|d| to_json(&[d])).transpose()?;
    // The row is found by its primary key alone and updated by its ctid: a plan that walked the
    // `(app_id, status)` index instead (what the planner chose on a table without statistics
    // after a bulk `license generate`) read every unused key of the app, 30-100 ms a redeem.
    sqlx::query_as(
        "WITH target AS (SELECT ctid FROM licenses WHERE id = $6 FOR UPDATE)
         UPDATE licenses
         SET status = 'USED', user_id = $1, activated_at = $2, expires_at = $3,
             devices = COALESCE($4, licenses.devices)
         FROM target
         WHERE licenses.ctid = target.ctid AND licenses.app_id = $5 AND licenses.status = 'UNUSED'
           AND ($1::TEXT IS NULL OR EXISTS (SELECT 1 FROM app_users WHERE app_id = $5 AND id = $1))
         RETURNING licenses.*",
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
///
/// A key another transaction is inserting makes this one wait for it at the unique index, then
/// fail with the conflict if it committed. Rows go in key order, so two batches sharing several
/// keys take them in the same order and cannot deadlock (one waits for the other instead).
pub(crate) async fn insert_licenses_in(conn: &mut PgConnection, licenses: &[License]) -> StoreResult<()> {
    let mut sorted: Vec<&License> = licenses.iter().collect();
    sorted.sort_unstable_by(|a, b| (&a.app_id, &a.key).cmp(&(&b.app_id, &b.key)));
    for chunk in sorted.chunks(INSERT_CHUNK) {
        let devices: Vec<String> = chunk.iter().map(|l| to_json(&l.devices)).collect::<StoreResult<_>>()?;
        let mut qb = QueryBuilder::<Postgres>::new(
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
impl LicenseStore for PgStore {
    async fn insert_licenses(&self, licenses: &[License]) -> StoreResult<()> {
        // All or none: one transaction.
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
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
                let mut q = QueryBuilder::<Postgres>::new(
                    "SELECT COALESCE(SUM(n), 0)::BIGINT FROM license_counts WHERE app_id = ",
                );
                q.push_bind(app_id);
                if let Some(status) = filter.status {
                    q.push(" AND status = ").push_bind(status.as_str());
                }
                q
            } else {
                let mut q = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM licenses");
                push_filter(&mut q, app_id, filter, plan);
                q
            };
            count(q.build_query_scalar().fetch_one(&self.pool).await.map_err(db_err)?)
        };

        let (limit, offset) = limit_offset(page);
        let mut items = QueryBuilder::<Postgres>::new("SELECT * FROM licenses");
        push_filter(&mut items, app_id, filter, plan);
        if let Some(after) = &filter.after {
            // Keyset: the row comparison is an index condition on the listing's index (its `id`
            // is `COLLATE "C"`, so the comparison must be too), so the scan starts at the position
            // however deep it is. The offset is ignored.
            items
                .push(r#" AND (created_at, id COLLATE "C") < ("#)
                .push_bind(ms(&after.created_at))
                .push(", ")
                .push_bind(after.id.as_str())
                .push(r#") ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT "#)
                .push_bind(limit);
        } else {
            items
                .push(r#" ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT "#)
                .push_bind(limit)
                .push(" OFFSET ")
                .push_bind(offset);
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
        // `lower(key) COLLATE "C"` is the expression of `licenses_app_key_lower_idx`; an exact
        // spelling wins over another that differs only by case, then the oldest.
        sqlx::query(
            r#"SELECT * FROM licenses WHERE app_id = $1 AND lower(key) COLLATE "C" = lower($2)
             ORDER BY (key = $2) DESC, created_at, id LIMIT 1"#,
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
        // The app first (as every transaction that moves the counts), then the license's row
        // `FOR UPDATE`: a concurrent extension waits here and decides on what this one wrote.
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        if !lock_app(&mut tx, app_id).await? {
            return Ok(LicenseExtendOutcome::Missing);
        }
        let row = sqlx::query("SELECT * FROM licenses WHERE app_id = $1 AND id = $2 FOR UPDATE")
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
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        if !lock_app(&mut tx, app_id).await? {
            return Ok(None);
        }
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
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
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
        // With its count, in one transaction; `RETURNING` gives the status of the version the
        // delete removed (after waiting for a concurrent status change, if any).
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        if !lock_app(&mut tx, app_id).await? {
            return Ok(false);
        }
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
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
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
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        if !lock_app(&mut tx, app_id).await? {
            return Ok(None);
        }
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
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
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
        // One transaction; returning early rolls it back. Redeemers of one key queue for its row
        // (`activate`); takers of one name queue at the unique index and get the conflict once
        // the first commits. The counts come last, so no transaction holds them while it waits
        // at the index for another that needs them.
        let app_id = user.app_id.as_str();
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        if !lock_app(&mut tx, app_id).await? {
            return Ok(RegisterOutcome::LicenseTaken);
        }
        if let Some(max) = max_users {
            // Registers of a capped app queue here (NO KEY UPDATE conflicts with itself, not with
            // the KEY SHARE locks that ordinary inserts under the app take), so each counts the
            // users the one before it committed.
            sqlx::query("SELECT 1 FROM apps WHERE id = $1 FOR NO KEY UPDATE")
                .bind(app_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
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
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
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
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db_err)?;
        if !lock_app(&mut tx, app_id).await? {
            return Ok(None);
        }
        // The user's row before the license's: `delete_user` takes them in that order too (the
        // user, then its licenses through ON DELETE SET NULL), so the two cannot deadlock.
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM app_users WHERE app_id = $1 AND id = $2 FOR NO KEY UPDATE")
                .bind(app_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        if found.is_none() {
            return Ok(None);
        }
        let Some(row) = activate(&mut tx, app_id, license_id, Some(user_id), activation).await? else {
            return Ok(None);
        };
        let level = row.level;
        let updated = sqlx::query(
            "UPDATE app_users
             SET level = GREATEST(level, $1),
                 expires_at = CASE
                     WHEN $2::BIGINT IS NULL OR expires_at IS NULL THEN NULL
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
        queue_events(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
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
