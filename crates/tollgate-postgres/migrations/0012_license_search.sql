-- A license search matches the beginning of the key or of the note, case-insensitively: a
-- range on `lower(key)` and on `lower(note)` in byte order, which these indexes serve, so a
-- search reads only its matches however many licenses the app has. `COLLATE "C"` makes the
-- order byte-wise whatever the database's collation (in a linguistic collation the strings
-- that start with a prefix need not be next to each other). The key index replaces the one of
-- 0007, which the lookup by key now uses in this form. Kept as a pair with
-- tollgate-sqlite/migrations/0012_license_search.sql.
DROP INDEX licenses_app_key_lower_idx;
CREATE INDEX licenses_app_key_lower_idx ON licenses (app_id, (lower(key) COLLATE "C"));
CREATE INDEX licenses_app_note_lower_idx ON licenses (app_id, (lower(note) COLLATE "C"));
