-- Per-app license totals by status, so a listing's `total` is a lookup of a few rows instead of
-- a count over every license of the app. Kept as a pair with
-- tollgate-sqlite/migrations/0002_license_counts.sql.
--
-- No triggers: the store changes `n` in the same transaction as every insert, delete and status
-- change of a license (`INSERT ... ON CONFLICT (app_id, status) DO UPDATE SET n = n + delta`).
-- Deleting the app deletes its counts. A row may hold 0 once its licenses are gone.

CREATE TABLE license_counts (
    app_id TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    status TEXT   NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (app_id, status)
);

-- The licenses already there. The lock (which lets reads through) keeps a node still running
-- the previous version from changing licenses between the count and the commit.
LOCK TABLE licenses IN SHARE MODE;
INSERT INTO license_counts (app_id, status, n)
SELECT app_id, status, COUNT(*) FROM licenses GROUP BY app_id, status;
