-- License keys are looked up case-insensitively: this index serves
-- `WHERE app_id = ? AND lower(key) = lower(?)`. The unique constraint on (app_id, key) stays as
-- it is; keys are generated in upper case only, so no two new keys differ only by case, and
-- older keys that do are still found (the exact spelling first). Kept as a pair with
-- tollgate-sqlite/migrations/0007_license_key_case.sql.
CREATE INDEX licenses_app_key_lower_idx ON licenses (app_id, lower(key));
