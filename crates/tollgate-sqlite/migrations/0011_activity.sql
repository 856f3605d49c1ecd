-- Client activity for the seller's overview. Kept as a pair with
-- tollgate-postgres/migrations/0011_activity.sql.
--
-- Hourly counters: calls of a kind (init, login, register, refused) per app and hour, with the
-- refusal's code and the client protocol where they apply ('' otherwise). The server adds to
-- them in batches (INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n). Purged after 35 days.
CREATE TABLE activity_counts (
    app_id  TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    hour    INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    reason  TEXT    NOT NULL DEFAULT '',
    dialect TEXT    NOT NULL DEFAULT '',
    n       INTEGER NOT NULL,
    CONSTRAINT activity_counts_pkey PRIMARY KEY (app_id, hour, kind, reason, dialect)
);
CREATE INDEX activity_counts_hour_idx ON activity_counts (hour);

-- Refused client calls (capped per app and flush by the server), newest kept: 30 days and at
-- most 10,000 per app.
CREATE TABLE activity_refused (
    id      TEXT    NOT NULL PRIMARY KEY,
    app_id  TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    dialect TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    ip      TEXT    NOT NULL
);
CREATE INDEX activity_refused_app_at_idx ON activity_refused (app_id, at, id);
CREATE INDEX activity_refused_at_idx ON activity_refused (at);
