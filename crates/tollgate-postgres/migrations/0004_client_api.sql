-- The client API of the Authly dialect (issue 4): per-user device limits, request nonces, chats
-- and device licenses. Kept as a pair with tollgate-sqlite/migrations/0004_client_api.sql; the
-- conventions of 0001_init.sql hold (BIGINT integers and unix-ms timestamps, TEXT ids, named
-- unique constraints, `COLLATE "C"` on the text sort keys of indexes).

-- How many devices a user may bind at once; set from the license they redeemed.
ALTER TABLE app_users ADD COLUMN max_devices BIGINT NOT NULL DEFAULT 1;

-- Request nonces seen by the client API, remembered for the replay window and then purged.
CREATE TABLE request_nonces (
    nonce      TEXT   NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX request_nonces_expires_idx ON request_nonces (expires_at);

CREATE TABLE chat_channels (
    id         TEXT   NOT NULL PRIMARY KEY,
    app_id     TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT chat_channels_app_name_key UNIQUE (app_id, name)
);

-- `user_id` and `username` are a record of who wrote it: a message outlives its author.
CREATE TABLE chat_messages (
    id         TEXT   NOT NULL PRIMARY KEY,
    app_id     TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    channel_id TEXT   NOT NULL REFERENCES chat_channels (id) ON DELETE CASCADE,
    user_id    TEXT,
    username   TEXT   NOT NULL,
    message    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX chat_messages_channel_created_idx ON chat_messages (channel_id, created_at DESC, id COLLATE "C" DESC);

CREATE TABLE chat_mutes (
    app_id     TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    channel_id TEXT   NOT NULL REFERENCES chat_channels (id) ON DELETE CASCADE,
    user_id    TEXT   NOT NULL REFERENCES app_users (id) ON DELETE CASCADE,
    reason     TEXT,
    -- NULL: muted until unmuted.
    until      BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);
-- Deleting a user deletes their mutes.
CREATE INDEX chat_mutes_user_idx ON chat_mutes (user_id);

CREATE TABLE device_licenses (
    id           TEXT   NOT NULL PRIMARY KEY,
    app_id       TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    device_type  TEXT   NOT NULL CHECK (device_type IN ('motherboard', 'processor')),
    device_id    TEXT   NOT NULL,
    name         TEXT,
    email        TEXT,
    level        BIGINT NOT NULL,
    status       TEXT   NOT NULL,
    ban_reason   TEXT,
    note         TEXT,
    created_at   BIGINT NOT NULL,
    activated_at BIGINT,
    -- NULL: never expires.
    expires_at   BIGINT,
    last_login   BIGINT,
    last_ip      TEXT,
    hwid         TEXT,
    CONSTRAINT device_licenses_app_device_key UNIQUE (app_id, device_type, device_id)
);
CREATE INDEX device_licenses_app_created_idx ON device_licenses (app_id, created_at DESC, id COLLATE "C" DESC);
