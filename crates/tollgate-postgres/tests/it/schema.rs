//! The two migration trees are a pair: migrate a fresh PostgreSQL database and a temporary
//! SQLite file, read back what each server built, and require the same schema.
//!
//! Compared, per table: columns in order (name, type by the pairing rule below, NOT NULL), the
//! primary key, unique constraints by name and columns, foreign keys (columns, target, ON DELETE)
//! and indexes by name (columns, direction, uniqueness). Not compared: CHECK constraints and
//! collations, which SQLite reports only as SQL text.
//!
//! Type pairing rule (what a PostgreSQL column type must be for a given SQLite type):
//!
//! | SQLite  | PostgreSQL | why                                                            |
//! |---------|------------|----------------------------------------------------------------|
//! | TEXT    | text       | ids, enums, JSON (kept TEXT in both, not JSONB)                |
//! | INTEGER | bigint     | SQLite integers are 64-bit; timestamps are unix ms in both     |
//! | INTEGER | boolean    | SQLite has no boolean (0/1); sqlx reads either as `bool`       |
//!
//! Any other PostgreSQL type (`integer`, `jsonb`, `timestamptz`, ...) has no pair and fails.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use tempfile::TempDir;
use tollgate_sqlite::SqliteStore;

use crate::fresh_store;

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// `(name, SQLite type, NOT NULL)` in column order.
    columns: Vec<(String, String, bool)>,
    primary_key: Vec<String>,
    /// Constraint name -> columns.
    unique: BTreeMap<String, Vec<String>>,
    /// `(columns, referenced table, referenced columns, ON DELETE)`.
    foreign_keys: BTreeSet<(Vec<String>, String, Vec<String>, String)>,
    /// Index name -> (unique, columns with ` DESC` where descending).
    indexes: BTreeMap<String, (bool, Vec<String>)>,
}

type Schema = BTreeMap<String, Table>;

/// The pairing rule of the module docs, as the SQLite type a PostgreSQL type stands for.
fn sqlite_pair(pg_type: &str) -> String {
    match pg_type {
        "text" => "TEXT".into(),
        "bigint" | "boolean" => "INTEGER".into(),
        other => format!("(PostgreSQL {other}: no SQLite pair)"),
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: the catalogs of the current schema.

const PG_COLUMNS: &str = "
    SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
    FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'
    ORDER BY table_name, ordinal_position";

/// Primary keys, unique constraints and foreign keys, with their columns in key order.
const PG_CONSTRAINTS: &str = "
    SELECT t.relname::text AS table_name, c.conname::text AS name, c.contype::text AS kind,
           ARRAY(SELECT a.attname::text
                 FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, i)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                 ORDER BY k.i) AS columns,
           r.relname::text AS ref_table,
           ARRAY(SELECT a.attname::text
                 FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, i)
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum
                 ORDER BY k.i) AS ref_columns,
           c.confdeltype::text AS on_delete
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    LEFT JOIN pg_class r ON r.oid = c.confrelid
    WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
      AND t.relname <> '_sqlx_migrations'
      AND c.contype IN ('p', 'u', 'f')";

/// Indexes that no primary key or unique constraint owns (those are compared above). A column
/// that is an expression (`lower(key)`) is named by its text.
const PG_INDEXES: &str = "
    SELECT t.relname::text AS table_name, i.relname::text AS name, x.indisunique AS is_unique,
           ARRAY(SELECT COALESCE(a.attname::text, pg_get_indexdef(x.indexrelid, k.i::int, true))
                        || CASE WHEN pg_index_column_has_property(x.indexrelid, k.i::int, 'desc')
                                THEN ' DESC' ELSE '' END
                 FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, i)
                 LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                 ORDER BY k.i) AS columns
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
      AND t.relname <> '_sqlx_migrations'
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                      WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u'))";

fn pg_on_delete(code: &str) -> String {
    match code {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        other => other,
    }
    .into()
}

async fn pg_schema(conn: &mut PgConnection) -> Schema {
    let mut schema = Schema::new();
    for row in sqlx::query(PG_COLUMNS).fetch_all(&mut *conn).await.unwrap() {
        let table: String = row.get(0);
        let pg_type: String = row.get(2);
        let nullable: String = row.get(3);
        schema.entry(table).or_default().columns.push((row.get(1), sqlite_pair(&pg_type), nullable == "NO"));
    }
    for row in sqlx::query(PG_CONSTRAINTS).fetch_all(&mut *conn).await.unwrap() {
        let table = schema.entry(row.get("table_name")).or_default();
        let columns: Vec<String> = row.get("columns");
        match row.get::<String, _>("kind").as_str() {
            "p" => table.primary_key = columns,
            "u" => {
                table.unique.insert(row.get("name"), columns);
            }
            _ => {
                let on_delete = pg_on_delete(&row.get::<String, _>("on_delete"));
                table.foreign_keys.insert((columns, row.get("ref_table"), row.get("ref_columns"), on_delete));
            }
        }
    }
    for row in sqlx::query(PG_INDEXES).fetch_all(&mut *conn).await.unwrap() {
        let table = schema.entry(row.get("table_name")).or_default();
        table.indexes.insert(row.get("name"), (row.get("is_unique"), row.get("columns")));
    }
    schema
}

// ---------------------------------------------------------------------------------------------
// SQLite: sqlite_master and the pragma table functions.

/// `CONSTRAINT name UNIQUE (a, b)` clauses of a `CREATE TABLE`, as name -> columns: SQLite keeps
/// a table constraint's name only in the SQL text.
fn named_uniques(create_table: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for rest in create_table.split("CONSTRAINT ").skip(1) {
        let Some((name, rest)) = rest.trim_start().split_once(char::is_whitespace) else { continue };
        let Some(rest) = rest.trim_start().strip_prefix("UNIQUE") else { continue };
        let Some((columns, _)) = rest.trim_start().strip_prefix('(').and_then(|r| r.split_once(')')) else {
            continue;
        };
        out.insert(name.to_owned(), columns.split(',').map(|c| c.trim().to_owned()).collect());
    }
    out
}

/// The column list of a `CREATE INDEX name ON table (a, lower(b) DESC)`, each without its
/// order: `["a", "lower(b)"]`.
fn index_terms(create_index: &str) -> Vec<String> {
    let Some(open) = create_index.find('(') else { return vec![] };
    let Some(close) = create_index.rfind(')') else { return vec![] };
    let (mut terms, mut depth, mut term) = (Vec::new(), 0, String::new());
    for c in create_index[open + 1..close].chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(std::mem::take(&mut term));
                continue;
            }
            _ => {}
        }
        term.push(c);
    }
    terms.push(term);
    terms.iter().map(|t| t.trim().trim_end_matches(" DESC").trim_end_matches(" ASC").trim().to_owned()).collect()
}

#[test]
fn index_terms_reads_expressions() {
    assert_eq!(index_terms("CREATE INDEX i ON t (app_id, lower(key))"), ["app_id", "lower(key)"]);
    assert_eq!(index_terms("CREATE INDEX i ON t (a, b DESC)"), ["a", "b"]);
}

async fn sqlite_index_columns(conn: &mut SqliteConnection, index: &str) -> Vec<String> {
    // An expression column has no name (cid -2): its text is in the index's SQL.
    let sql: Option<String> = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1")
        .bind(index)
        .fetch_optional(&mut *conn)
        .await
        .unwrap()
        .flatten();
    let terms = sql.as_deref().map(index_terms).unwrap_or_default();
    sqlx::query("SELECT name, \"desc\", seqno FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno")
        .bind(index)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let seqno: i64 = r.get(2);
            let name: String = r.get::<Option<String>, _>(0).unwrap_or_else(|| {
                usize::try_from(seqno).ok().and_then(|i| terms.get(i)).cloned().unwrap_or_else(|| "(expression)".into())
            });
            if r.get::<bool, _>(1) {
                format!("{name} DESC")
            } else {
                name
            }
        })
        .collect()
}

async fn sqlite_schema(conn: &mut SqliteConnection) -> Schema {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master
         WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (name, sql) in tables {
        let mut table = Table::default();

        let mut pk: Vec<(i64, String)> = Vec::new();
        for row in sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")
            .bind(&name)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
        {
            let column: String = row.get(0);
            let position: i64 = row.get(3);
            if position > 0 {
                pk.push((position, column.clone()));
            }
            table.columns.push((column, row.get::<String, _>(1).to_uppercase(), row.get(2)));
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();

        // Foreign keys, one row per column, grouped by `id`.
        let mut fks: BTreeMap<i64, (Vec<String>, String, Vec<String>, String)> = BTreeMap::new();
        for row in sqlx::query(
            "SELECT id, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        {
            let fk = fks.entry(row.get(0)).or_insert_with(|| (vec![], row.get(1), vec![], row.get(4)));
            fk.0.push(row.get(2));
            fk.2.push(row.get::<Option<String>, _>(3).unwrap_or_default());
        }
        table.foreign_keys = fks.into_values().collect();

        // Unique constraints (origin `u`) by the name in the SQL text; explicit indexes (`c`).
        let named = named_uniques(&sql);
        let indexes: Vec<(String, bool, String)> =
            sqlx::query_as("SELECT name, \"unique\", origin FROM pragma_index_list(?1)")
                .bind(&name)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        for (index, unique, origin) in indexes {
            let columns = sqlite_index_columns(conn, &index).await;
            match origin.as_str() {
                "u" => {
                    let name = named
                        .iter()
                        .find(|(_, c)| **c == columns)
                        .map(|(n, _)| n.clone())
                        .unwrap_or_else(|| format!("(unnamed UNIQUE, index {index})"));
                    table.unique.insert(name, columns);
                }
                "c" => {
                    table.indexes.insert(index, (unique, columns));
                }
                _ => {} // `pk`: the primary key, read above
            }
        }
        schema.insert(name, table);
    }
    schema
}

// ---------------------------------------------------------------------------------------------

/// Table by table, so a failure shows the one table that differs.
#[track_caller]
fn assert_same(pg: &Schema, sqlite: &Schema) {
    for name in sqlite.keys().chain(pg.keys()).collect::<BTreeSet<_>>() {
        assert_eq!(pg.get(name), sqlite.get(name), "table {name}: PostgreSQL (left) and SQLite (right) differ");
    }
}

async fn sqlite_migrated() -> Schema {
    let dir = TempDir::new().unwrap();
    let url = format!("sqlite://{}", dir.path().join("parity.db").display());
    let store = SqliteStore::open(&url, 1).await.unwrap();
    store.close().await;
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    sqlite_schema(&mut conn).await
}

#[tokio::test]
async fn both_backends_migrate_to_the_same_schema() {
    let Some((db, store)) = fresh_store(1).await else { return };
    store.close().await;
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    let pg = pg_schema(&mut conn).await;
    let sqlite = sqlite_migrated().await;

    // Not vacuous: every table and every named constraint is there.
    assert_eq!(sqlite.len(), 28, "{:?}", sqlite.keys());
    for table in ["unlicensed_signups", "ws_resumes"] {
        assert!(sqlite.contains_key(table) && pg.contains_key(table), "{table} (0010_websocket)");
    }
    for table in ["activity_counts", "activity_refused"] {
        assert!(sqlite.contains_key(table) && pg.contains_key(table), "{table} (0011_activity)");
    }
    for (table, column) in [("app_users", "note"), ("files", "transfer_count"), ("files", "last_transferred_at")] {
        assert!(sqlite[table].columns.iter().any(|(name, _, _)| name == column), "{table}.{column} (0010_websocket)");
    }
    assert!(sqlite.contains_key("license_variables") && pg.contains_key("license_variables"), "0008");
    for table in ["webhook_deliveries", "webhook_attempts"] {
        assert!(sqlite.contains_key(table) && pg.contains_key(table), "{table} (0009_webhook_outbox)");
    }
    for table in ["request_nonces", "chat_channels", "chat_messages", "chat_mutes", "device_licenses"] {
        assert!(sqlite.contains_key(table) && pg.contains_key(table), "{table} (0004_client_api)");
    }
    assert!(
        sqlite["app_users"].columns.iter().any(|(name, _, _)| name == "max_devices"),
        "app_users.max_devices (0004_client_api)"
    );
    let mut named: Vec<&str> = sqlite.values().flat_map(|t| t.unique.keys().map(String::as_str)).collect();
    named.sort_unstable();
    let mut want = tollgate_store::constraint::ALL.to_vec();
    want.sort_unstable();
    assert_eq!(named, want);

    assert_same(&pg, &sqlite);
    drop(conn);
    db.drop().await;
}

/// The comparison above can fail: each drift, made by hand on a migrated PostgreSQL database,
/// is seen, and undoing it restores equality.
#[tokio::test]
async fn the_comparison_sees_each_kind_of_drift() {
    let Some((db, store)) = fresh_store(1).await else { return };
    store.close().await;
    let sqlite = sqlite_migrated().await;
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    assert_same(&pg_schema(&mut conn).await, &sqlite);

    let drifts: [(&str, &str); 14] = [
        ("ALTER TABLE sellers RENAME COLUMN plan TO tier", "ALTER TABLE sellers RENAME COLUMN tier TO plan"),
        (
            "ALTER TABLE resellers ALTER COLUMN balance TYPE integer",
            "ALTER TABLE resellers ALTER COLUMN balance TYPE bigint",
        ),
        (
            "ALTER TABLE app_users ALTER COLUMN email SET NOT NULL",
            "ALTER TABLE app_users ALTER COLUMN email DROP NOT NULL",
        ),
        (
            "ALTER TABLE licenses RENAME CONSTRAINT licenses_app_key_key TO licenses_key_key",
            "ALTER TABLE licenses RENAME CONSTRAINT licenses_key_key TO licenses_app_key_key",
        ),
        (
            "ALTER TABLE sessions DROP CONSTRAINT sessions_token_key",
            "ALTER TABLE sessions ADD CONSTRAINT sessions_token_key UNIQUE (token)",
        ),
        (
            "ALTER TABLE licenses DROP CONSTRAINT licenses_user_id_fkey,
             ADD CONSTRAINT licenses_user_id_fkey FOREIGN KEY (user_id) REFERENCES app_users (id) ON DELETE CASCADE",
            "ALTER TABLE licenses DROP CONSTRAINT licenses_user_id_fkey,
             ADD CONSTRAINT licenses_user_id_fkey FOREIGN KEY (user_id) REFERENCES app_users (id) ON DELETE SET NULL",
        ),
        ("DROP INDEX sessions_user_idx", "CREATE INDEX sessions_user_idx ON sessions (user_id)"),
        (
            "DROP INDEX logs_app_created_idx; CREATE INDEX logs_app_created_idx ON logs (app_id, created_at, id)",
            r#"DROP INDEX logs_app_created_idx;
               CREATE INDEX logs_app_created_idx ON logs (app_id, created_at DESC, id COLLATE "C" DESC)"#,
        ),
        ("CREATE TABLE extra (id TEXT)", "DROP TABLE extra"),
        // 0004_client_api: a column's type, a key's direction, a cascade.
        (
            "ALTER TABLE app_users ALTER COLUMN max_devices TYPE integer",
            "ALTER TABLE app_users ALTER COLUMN max_devices TYPE bigint",
        ),
        (
            "DROP INDEX chat_messages_channel_created_idx;
             CREATE INDEX chat_messages_channel_created_idx ON chat_messages (channel_id, created_at, id)",
            r#"DROP INDEX chat_messages_channel_created_idx;
               CREATE INDEX chat_messages_channel_created_idx
                   ON chat_messages (channel_id, created_at DESC, id COLLATE "C" DESC)"#,
        ),
        (
            "ALTER TABLE chat_mutes DROP CONSTRAINT chat_mutes_user_id_fkey,
             ADD CONSTRAINT chat_mutes_user_id_fkey FOREIGN KEY (user_id) REFERENCES app_users (id)",
            "ALTER TABLE chat_mutes DROP CONSTRAINT chat_mutes_user_id_fkey,
             ADD CONSTRAINT chat_mutes_user_id_fkey FOREIGN KEY (user_id) REFERENCES app_users (id) ON DELETE CASCADE",
        ),
        // 0010_websocket: a sign-up kept with its user instead of outliving it; a missing index.
        (
            "ALTER TABLE unlicensed_signups ADD CONSTRAINT unlicensed_signups_user_id_fkey
                 FOREIGN KEY (user_id) REFERENCES app_users (id) ON DELETE CASCADE",
            "ALTER TABLE unlicensed_signups DROP CONSTRAINT unlicensed_signups_user_id_fkey",
        ),
        (
            "DROP INDEX unlicensed_signups_app_ip_idx",
            "CREATE INDEX unlicensed_signups_app_ip_idx ON unlicensed_signups (app_id, ip, created_at)",
        ),
    ];
    for (drift, undo) in drifts {
        sqlx::raw_sql(drift).execute(&mut conn).await.unwrap();
        assert_ne!(pg_schema(&mut conn).await, sqlite, "not seen: {drift}");
        sqlx::raw_sql(undo).execute(&mut conn).await.unwrap();
        assert_same(&pg_schema(&mut conn).await, &sqlite);
    }
    drop(conn);
    db.drop().await;
}

#[test]
fn named_unique_clauses_are_parsed_from_the_sql() {
    let sql = "CREATE TABLE t (
        a TEXT,
        b TEXT,
        CONSTRAINT t_a_key UNIQUE (a),
        CONSTRAINT t_ab_key UNIQUE (a, b),
        CONSTRAINT t_check CHECK (a <> b)
    )";
    let got = named_uniques(sql);
    let want: BTreeMap<String, Vec<String>> =
        [("t_a_key".to_owned(), vec!["a".to_owned()]), ("t_ab_key".to_owned(), vec!["a".to_owned(), "b".to_owned()])]
            .into();
    assert_eq!(got, want);
    assert_eq!(sqlite_pair("integer"), "(PostgreSQL integer: no SQLite pair)");
}
