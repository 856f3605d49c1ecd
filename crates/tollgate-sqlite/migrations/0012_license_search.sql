-- A license search matches the beginning of the key or of the note, case-insensitively. The
-- key's prefix is a range on `licenses_app_key_lower_idx` (0007); this index gives the note
-- the same, so a search reads only its matches however many licenses the app has. Kept as a
-- pair with tollgate-postgres/migrations/0012_license_search.sql.
CREATE INDEX licenses_app_note_lower_idx ON licenses (app_id, lower(note));
