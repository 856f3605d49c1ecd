-- WebSocket clients: account notes, file transfer counts, the cap on accounts made without a
-- license, and dropped sessions kept for resumption.

-- The account's note (a client may give one when it creates the account).
ALTER TABLE app_users ADD COLUMN note TEXT;

-- Downloads started from the file's first byte, by any client protocol, and when the last began.
ALTER TABLE files ADD COLUMN transfer_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE files ADD COLUMN last_transferred_at INTEGER;

-- One row per account created without a license, with the address it came from: the cap per
-- app and address counts these. No foreign key to the user: the row outlives the account, so
-- deleting and recreating accounts does not reset the count. Rows older than a day are purged.
CREATE TABLE unlicensed_signups (
    user_id    TEXT    NOT NULL PRIMARY KEY,
    app_id     TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    ip         TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX unlicensed_signups_app_ip_idx ON unlicensed_signups (app_id, ip, created_at);
CREATE INDEX unlicensed_signups_created_idx ON unlicensed_signups (created_at);

-- Dropped WebSocket sessions that may still be resumed, by the SHA-256 (hex) of the resume id
-- the client holds; `state` is the connection's state as the server serialised it.
CREATE TABLE ws_resumes (
    id_hash    TEXT    NOT NULL PRIMARY KEY,
    app_id     TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    session_id TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX ws_resumes_expires_idx ON ws_resumes (expires_at);
