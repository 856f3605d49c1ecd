-- Tollgate schema, PostgreSQL dialect. Kept as a pair with tollgate-sqlite/migrations/0001_init.sql:
-- same tables, columns (in the same order), keys, indexes and constraint names. The test
-- tests/it/schema.rs compares the two migrated schemas and fails when they drift.
--
-- Conventions (the SQLite file's, in PostgreSQL types):
--   * ids are TEXT with a type prefix (`app_...`, `lic_...`);
--   * timestamps are BIGINT unix milliseconds (UTC), the same numbers SQLite stores;
--   * every integer is BIGINT (SQLite's INTEGER is 64-bit; the Rust side reads i64);
--   * JSON (settings, device lists, webhook events) is TEXT, not JSONB, so both backends store
--     the same text;
--   * booleans are BOOLEAN (SQLite: INTEGER 0/1);
--   * unique constraints are named table constraints, with the names in
--     `tollgate_store::constraint`; PostgreSQL reports that name on a violation;
--   * case-insensitive uniqueness is a unique constraint on a lowercased `*_norm` column,
--     filled by the application;
--   * text sort keys sort by bytes, as in SQLite: queries say `COLLATE "C"` and the indexes
--     that serve them are built with the same collation, whatever the database's default;
--   * no triggers.

CREATE TABLE sellers (
    id            TEXT   NOT NULL PRIMARY KEY,
    email         TEXT   NOT NULL,
    email_norm    TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    plan          TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    CONSTRAINT sellers_email_key UNIQUE (email_norm)
);

-- Refresh tokens are stored as SHA-256 hashes; `used_at` makes each one single-use.
CREATE TABLE refresh_tokens (
    id         TEXT   NOT NULL PRIMARY KEY,
    seller_id  TEXT   NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    token_hash TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_seller_idx ON refresh_tokens (seller_id);

CREATE TABLE apps (
    id         TEXT   NOT NULL PRIMARY KEY,
    owner_id   TEXT   NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    -- Case-sensitive: Authly init finds the app by exact owner and name.
    name       TEXT   NOT NULL,
    api_key    TEXT   NOT NULL,
    ws_key     TEXT   NOT NULL,
    version    TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    -- serde_json of tollgate_core::settings::AppSettings
    settings   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT apps_owner_name_key UNIQUE (owner_id, name),
    CONSTRAINT apps_api_key_key UNIQUE (api_key),
    CONSTRAINT apps_ws_key_key UNIQUE (ws_key)
);
CREATE INDEX apps_owner_created_idx ON apps (owner_id, created_at, id COLLATE "C");

CREATE TABLE app_users (
    id            TEXT   NOT NULL PRIMARY KEY,
    app_id        TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    username      TEXT   NOT NULL,
    username_norm TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    email         TEXT,
    level         BIGINT NOT NULL,
    -- NULL: the subscription never ends.
    expires_at    BIGINT,
    -- JSON array of bound device ids
    devices       TEXT   NOT NULL,
    last_ip       TEXT,
    status        TEXT   NOT NULL,
    ban_reason    TEXT,
    last_login    BIGINT,
    created_at    BIGINT NOT NULL,
    CONSTRAINT app_users_app_username_key UNIQUE (app_id, username_norm)
);
CREATE INDEX app_users_app_created_idx ON app_users (app_id, created_at DESC, id COLLATE "C" DESC);

CREATE TABLE licenses (
    id              TEXT   NOT NULL PRIMARY KEY,
    app_id          TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    key             TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    level           BIGINT NOT NULL,
    duration        TEXT   NOT NULL,
    max_devices     BIGINT NOT NULL,
    note            TEXT,
    prefix          TEXT,
    created_by_kind TEXT   NOT NULL CHECK (created_by_kind IN ('seller', 'reseller')),
    created_by      TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    activated_at    BIGINT,
    expires_at      BIGINT,
    -- A deleted user leaves their licenses in place, unlinked.
    user_id         TEXT   REFERENCES app_users (id) ON DELETE SET NULL,
    -- JSON array of bound device ids
    devices         TEXT   NOT NULL,
    ban_reason      TEXT,
    CONSTRAINT licenses_app_key_key UNIQUE (app_id, key)
);
CREATE INDEX licenses_app_created_idx ON licenses (app_id, created_at DESC, id COLLATE "C" DESC);
CREATE INDEX licenses_app_status_created_idx ON licenses (app_id, status, created_at DESC, id COLLATE "C" DESC);
CREATE INDEX licenses_app_creator_created_idx ON licenses (app_id, created_by, created_at DESC, id COLLATE "C" DESC);
CREATE INDEX licenses_user_idx ON licenses (user_id);

CREATE TABLE sessions (
    id         TEXT   NOT NULL PRIMARY KEY,
    app_id     TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    token      TEXT   NOT NULL,
    -- Deleting the user or the license a session was opened with ends the session.
    user_id    TEXT   REFERENCES app_users (id) ON DELETE CASCADE,
    license_id TEXT   REFERENCES licenses (id) ON DELETE CASCADE,
    ip         TEXT,
    hwid       TEXT,
    client_id  TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    CONSTRAINT sessions_token_key UNIQUE (token)
);
CREATE INDEX sessions_app_expires_idx ON sessions (app_id, expires_at);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_license_idx ON sessions (license_id);

CREATE TABLE app_variables (
    id            TEXT    NOT NULL PRIMARY KEY,
    app_id        TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    read_only     BOOLEAN NOT NULL,
    auth_required BOOLEAN NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    CONSTRAINT app_variables_app_key_key UNIQUE (app_id, key)
);

CREATE TABLE user_variables (
    app_id     TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id    TEXT   NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    key        TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id, key)
);
CREATE INDEX user_variables_user_idx ON user_variables (user_id);

CREATE TABLE blacklist (
    id         TEXT   NOT NULL PRIMARY KEY,
    app_id     TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    reason     TEXT,
    created_at BIGINT NOT NULL,
    CONSTRAINT blacklist_app_kind_value_key UNIQUE (app_id, kind, value)
);
CREATE INDEX blacklist_app_created_idx ON blacklist (app_id, created_at, id COLLATE "C");

CREATE TABLE resellers (
    id            TEXT   NOT NULL PRIMARY KEY,
    app_id        TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    username      TEXT   NOT NULL,
    username_norm TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    balance       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    CONSTRAINT resellers_app_username_key UNIQUE (app_id, username_norm)
);
CREATE INDEX resellers_app_created_idx ON resellers (app_id, created_at, id COLLATE "C");

CREATE TABLE files (
    id         TEXT   NOT NULL PRIMARY KEY,
    app_id     TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    size       BIGINT NOT NULL,
    min_level  BIGINT NOT NULL,
    sha256     TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX files_app_created_idx ON files (app_id, created_at, id COLLATE "C");

CREATE TABLE webhooks (
    id         TEXT    NOT NULL PRIMARY KEY,
    app_id     TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    url        TEXT    NOT NULL,
    -- JSON array of event names
    events     TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    enabled    BOOLEAN NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX webhooks_app_created_idx ON webhooks (app_id, created_at, id COLLATE "C");

-- Client log messages. `user_id` and `username` are a record of who it was, not a link:
-- the log outlives the user.
CREATE TABLE logs (
    id         TEXT   NOT NULL PRIMARY KEY,
    app_id     TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id    TEXT,
    username   TEXT,
    message    TEXT   NOT NULL,
    ip         TEXT,
    hwid       TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX logs_app_created_idx ON logs (app_id, created_at DESC, id COLLATE "C" DESC);

-- The seller's audit trail. `app_id` is a record, not a link: deleting an app is itself audited.
CREATE TABLE audit_log (
    id         TEXT   NOT NULL PRIMARY KEY,
    seller_id  TEXT   NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    target     TEXT,
    app_id     TEXT,
    ip         TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_seller_created_idx ON audit_log (seller_id, created_at DESC, id COLLATE "C" DESC);
