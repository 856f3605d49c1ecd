-- Usernames compare by their look-alike key: NFKC, lowercased, Unicode TS #39 confusable
-- skeleton, lowercased again (tollgate_core::username::key), so `GoodUser`, a fullwidth
-- `ｇooduser` and `gооduser` with Cyrillic о are one name. Kept as a pair with
-- tollgate-sqlite/migrations/0005_usernames.sql.
--
-- SQL cannot compute the key, so the column starts NULL for the rows already there and the
-- store fills it in Rust right after migrating (every open). A row whose key another row of the
-- app already holds (two look-alike names registered before this migration) keeps NULL and is
-- still found by its lowercased name (`username_norm`), as before. NULLs never collide in a
-- unique index, in either database.

ALTER TABLE app_users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX app_users_username_key_idx ON app_users (app_id, username_key);

ALTER TABLE resellers ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX resellers_username_key_idx ON resellers (app_id, username_key);
