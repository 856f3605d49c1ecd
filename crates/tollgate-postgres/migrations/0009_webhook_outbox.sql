-- The webhook outbox. A change that causes an event queues one delivery per subscribed webhook
-- in its own transaction; delivery workers take due deliveries under a lease, send them and
-- record each attempt.
ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'standard';
-- Since when every attempt has failed (NULL while the endpoint answers), and why the server
-- disabled the webhook.
ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT;

CREATE TABLE webhook_deliveries (
    id              TEXT    NOT NULL PRIMARY KEY,
    webhook_id      TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    app_id          TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    event           TEXT    NOT NULL,
    -- the standard body, exactly as signed and sent
    payload         TEXT    NOT NULL,
    -- PENDING, DELIVERED or FAILED
    state           TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    failures        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_attempt_at BIGINT,
    -- the worker holding it, and until when
    lease           TEXT,
    lease_until     BIGINT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_hook_idx ON webhook_deliveries (webhook_id, created_at DESC, id COLLATE "C" DESC);
CREATE INDEX webhook_deliveries_done_idx ON webhook_deliveries (created_at) WHERE state <> 'PENDING';

CREATE TABLE webhook_attempts (
    delivery_id TEXT    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number      BIGINT  NOT NULL,
    at          BIGINT  NOT NULL,
    status_code BIGINT,
    latency_ms  BIGINT  NOT NULL,
    -- the first bytes of the answer
    response    TEXT    NOT NULL,
    error       TEXT,
    PRIMARY KEY (delivery_id, number)
);
